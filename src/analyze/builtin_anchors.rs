//! Trust anchors built into the binary, so a minimal configuration judges a
//! real MDM against the real FCPCA G2 without anyone hunting for PEM files.
//!
//! Each certificate is pinned by the SHA-256 of its DER, and loading refuses
//! a certificate that does not hash to its pin. A `[trust.NAME]` in the
//! configuration overrides the built-in of the same name.
//!
//! Provenance (checked 2026; the fingerprints are the publishers', the
//! certificates were obtained separately and hash to them):
//! - `fcpca-g2`: Federal Common Policy CA G2. SHA-256 and SHA-1
//!   (`99B4251E...3D116028`) as GSA publishes them on idmanagement.gov
//!   ("Obtain and verify FCPCA G2", `GSA/idmanagement.gov`); serial
//!   `21e5b9a0cc956de278ca012ba8fdc58a98b3fbea`, valid 2020-10-14 to 2040-10-14.
//! - `dod-root-ca-3`: DoD Root CA 3. SHA-256 as DISA publishes it in the
//!   Ubuntu 20.04 STIG rule UBTU-20-010443 (SV-238364r860824, the list of
//!   DoD PKI-established CAs); SHA-1 `D73CA911...D7CE97FB` as in the Windows
//!   STIG rule WN12-PK-000001 (SV-225441r922786). Valid until 2029-12-30.
//! - `dod-root-ca-6`: DoD Root CA 6. DISA publishes its SHA-1
//!   `D37ECF61C0B4ED88681EF3630C4E2FC787B37AEF` (WN12-PK-000001,
//!   SV-225441r922786), which this certificate matches; the SHA-256 pin is
//!   that certificate's. No GSA or DISA text in reach publishes its SHA-256.
//!   Valid 2023-01-24 to 2053-01-24.

use std::path::Path;

use crate::analyze::trust::{TrustError, TrustStore, anchors_from_pem};

/// One built-in store: a single pinned self-signed anchor.
pub(crate) struct BuiltinAnchor {
    pub name: &'static str,
    /// The anchor's subject, as the pin's reader sees it: the test below
    /// checks the embedded certificate is the one named here.
    #[cfg_attr(not(test), allow(dead_code))]
    pub subject: &'static str,
    /// Lower-case hex SHA-256 of the DER.
    pub sha256: &'static str,
    pem: &'static [u8],
}

pub(crate) const BUILTIN_ANCHORS: [BuiltinAnchor; 3] = [
    BuiltinAnchor {
        name: "fcpca-g2",
        subject: "CN=Federal Common Policy CA G2, OU=FPKI, O=U.S. Government, C=US",
        sha256: "5f9aecc24616b2191372600dd80f6dd320c8ca5a0ceb7f09c985ebf0696934fc",
        pem: include_bytes!("../../assets/anchors/fcpca-g2.pem"),
    },
    BuiltinAnchor {
        name: "dod-root-ca-3",
        subject: "CN=DoD Root CA 3, OU=PKI, OU=DoD, O=U.S. Government, C=US",
        sha256: "b107b33f453e5510f68e513110c6f6944bacc263df0137f821c1b3c2f8f863d2",
        pem: include_bytes!("../../assets/anchors/dod-root-ca-3.pem"),
    },
    BuiltinAnchor {
        name: "dod-root-ca-6",
        subject: "CN=DoD Root CA 6, OU=PKI, OU=DoD, O=U.S. Government, C=US",
        sha256: "2a5e41aca93df7cc496d2369b7a0a037045d502f1abaaf76975fc07c6660cf93",
        pem: include_bytes!("../../assets/anchors/dod-root-ca-6.pem"),
    },
];

/// Whether `name` is a built-in store (usable without `[trust.NAME]`).
pub(crate) fn is_builtin(name: &str) -> bool {
    BUILTIN_ANCHORS.iter().any(|a| a.name == name)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The built-in store `name`, its anchor checked against the pin; `None`
/// when `name` is not built in.
pub fn store(name: &str) -> Option<Result<TrustStore, TrustError>> {
    let builtin = BUILTIN_ANCHORS.iter().find(|a| a.name == name)?;
    let origin = format!("built-in {name}");
    Some(
        anchors_from_pem(builtin.pem, Path::new(&origin)).and_then(|anchors| {
            for anchor in &anchors {
                let got = hex(&anchor.sha256);
                if got != builtin.sha256 {
                    return Err(TrustError::Pin {
                        name: name.to_owned(),
                        got,
                        want: builtin.sha256.to_owned(),
                    });
                }
            }
            Ok(TrustStore::new(name, anchors))
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// Recomputes every fingerprint from the embedded PEM, independently of
    /// the loader, and checks the subject and that each is self-signed.
    #[test]
    fn fingerprints_recomputed_from_the_embedded_certificates() {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        for a in &BUILTIN_ANCHORS {
            let ders: Vec<_> = CertificateDer::pem_slice_iter(a.pem)
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(ders.len(), 1, "{}", a.name);
            let digest = hex(&Sha256::digest(ders[0].as_ref()));
            assert_eq!(digest, a.sha256, "{}", a.name);
            let (_, cert) = x509_parser::parse_x509_certificate(ders[0].as_ref()).unwrap();
            let subject = crate::analyze::chain::render_name(cert.subject());
            assert_eq!(subject, a.subject, "{}", a.name);
            assert_eq!(
                cert.subject().as_raw(),
                cert.issuer().as_raw(),
                "{}",
                a.name
            );
            assert!(
                cert.verify_signature(None).is_ok(),
                "{} self-signature",
                a.name
            );
        }
        // The GSA-published value for FCPCA G2, written out independently.
        assert_eq!(
            BUILTIN_ANCHORS[0].sha256.to_uppercase(),
            "5F9AECC24616B2191372600DD80F6DD320C8CA5A0CEB7F09C985EBF0696934FC"
        );
    }

    #[test]
    fn stores_load_pinned_and_unknown_names_are_not_built_in() {
        for a in &BUILTIN_ANCHORS {
            let s = store(a.name).unwrap().unwrap();
            assert_eq!(s.name(), a.name);
            assert_eq!(s.anchors().len(), 1);
            assert!(is_builtin(a.name));
        }
        assert!(store("dod").is_none());
        assert!(!is_builtin("system"));
    }
}

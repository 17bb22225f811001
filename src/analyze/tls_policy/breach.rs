//! What a protocol policy found, as data: each rule the server breaks (or
//! only strains, for warnings) with its subject - the version, the suite
//! family, the suites - and the document's clause. The sentence is made
//! from it only where it is shown ([`Breach`]'s `Display`, and the `text`
//! field next to the data in JSON).

use std::fmt;

use serde::{Serialize, Serializer};

use super::Family;
use crate::wire::tls::Version;

/// One rule of a protocol policy the server's answers break.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Breach {
    /// A version the policy does not allow was accepted (with the suite
    /// it was accepted with, when one answer showed it).
    VersionAccepted {
        version: Version,
        suite: Option<String>,
        cite: String,
    },
    /// A version the policy allows but the document discourages was
    /// accepted (a warning).
    VersionDiscouraged { version: Version, cite: String },
    /// A version the document requires was refused.
    VersionRequired { version: Version, cite: String },
    /// A version the document recommends was refused (a warning).
    VersionRecommended { version: Version, cite: String },
    /// Suites of a family the policy forbids or warns about were accepted.
    FamilyAccepted {
        family: Family,
        suites: Vec<String>,
        cite: String,
    },
    /// Suites outside the document's lists were accepted.
    SuitesOutside { suites: Vec<String>, cite: String },
    /// RSA key-transport suites the lists allow for a transition only.
    KeyTransport { suites: Vec<String>, cite: String },
    /// TLS 1.2 is accepted, but no ECDHE suite with AES-GCM or AES-CCM.
    NoEcdheAead { cite: String },
    /// A CBC suite is negotiated without Encrypt-then-MAC.
    NoEncryptThenMac {
        version: Version,
        suite: String,
        cite: String,
    },
    /// Neither TLS 1.3 nor TLS 1.2 with a suite Apple devices offer.
    AppleCannotConnect { cite: String },
    /// The server certificate's key is below what Apple devices accept
    /// (RSA 2048, ECC 256).
    AppleKey {
        key_type: String,
        key_bits: u32,
        cite: String,
    },
    /// The server certificate is signed with less than SHA-256.
    AppleSignature { algorithm: String, cite: String },
}

impl Breach {
    /// The document's clause the rule comes from ("" when none).
    pub fn cite(&self) -> &str {
        match self {
            Breach::VersionAccepted { cite, .. }
            | Breach::VersionDiscouraged { cite, .. }
            | Breach::VersionRequired { cite, .. }
            | Breach::VersionRecommended { cite, .. }
            | Breach::FamilyAccepted { cite, .. }
            | Breach::SuitesOutside { cite, .. }
            | Breach::KeyTransport { cite, .. }
            | Breach::NoEcdheAead { cite }
            | Breach::NoEncryptThenMac { cite, .. }
            | Breach::AppleCannotConnect { cite }
            | Breach::AppleKey { cite, .. }
            | Breach::AppleSignature { cite, .. } => cite,
        }
    }

    /// The version the rule is about, if it is about one.
    pub fn version(&self) -> Option<Version> {
        match self {
            Breach::VersionAccepted { version, .. }
            | Breach::VersionDiscouraged { version, .. }
            | Breach::VersionRequired { version, .. }
            | Breach::VersionRecommended { version, .. }
            | Breach::NoEncryptThenMac { version, .. } => Some(*version),
            Breach::FamilyAccepted { .. }
            | Breach::SuitesOutside { .. }
            | Breach::KeyTransport { .. }
            | Breach::NoEcdheAead { .. }
            | Breach::AppleCannotConnect { .. }
            | Breach::AppleKey { .. }
            | Breach::AppleSignature { .. } => None,
        }
    }
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Breach::VersionAccepted {
                version,
                suite: Some(s),
                ..
            } => write!(f, "accepts {} with {s}", version.human()),
            Breach::VersionAccepted { version, .. } | Breach::VersionDiscouraged { version, .. } => {
                write!(f, "accepts {}", version.human())
            }
            Breach::VersionRequired { version, .. } => {
                write!(f, "does not accept {} (required)", version.human())
            }
            Breach::VersionRecommended { version, .. } => {
                write!(f, "does not accept {} (recommended)", version.human())
            }
            Breach::FamilyAccepted { family, suites, .. } => {
                write!(f, "accepts {}: {}", family.human(), suites.join(", "))
            }
            Breach::SuitesOutside { suites, .. } => write!(
                f,
                "accepts suites outside the document's lists: {}",
                suites.join(", ")
            ),
            Breach::KeyTransport { suites, .. } => {
                write!(f, "accepts RSA key transport suites: {}", suites.join(", "))
            }
            Breach::NoEcdheAead { .. } => {
                f.write_str("accepts TLS 1.2 but no ECDHE suite with AES-GCM or AES-CCM")
            }
            Breach::NoEncryptThenMac { version, suite, .. } => write!(
                f,
                "negotiates {suite} at {} without Encrypt-then-MAC",
                version.human()
            ),
            Breach::AppleCannotConnect { .. } => f.write_str(
                "accepts neither TLS 1.3 nor TLS 1.2 with a suite an Apple device offers: iPhones and iPads cannot connect",
            ),
            Breach::AppleKey {
                key_type, key_bits, ..
            } => write!(
                f,
                "the server certificate's {key_type} {key_bits}-bit key is below what an Apple device accepts (RSA 2048, ECC 256)"
            ),
            Breach::AppleSignature { algorithm, .. } => write!(
                f,
                "the server certificate is signed with {algorithm}, not SHA-256 or better"
            ),
        }?;
        match self.cite() {
            "" => Ok(()),
            cite => write!(f, " ({cite})"),
        }
    }
}

/// Breaches in JSON: the data (`rule` and its fields) and the sentence as
/// `text`, for readers that only show it.
pub(crate) fn serialize_list<S: Serializer>(list: &[Breach], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Described<'a> {
        #[serde(flatten)]
        breach: &'a Breach,
        text: String,
    }
    s.collect_seq(list.iter().map(|breach| Described {
        breach,
        text: breach.to_string(),
    }))
}

/// `a; b; c`, for a finding's detail and the page.
pub fn sentences(list: &[Breach]) -> String {
    list.iter()
        .map(Breach::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// JSON carries the rule, its subject, the clause and the sentence.
    #[test]
    fn a_breach_in_json_is_its_data_and_its_sentence() {
        #[derive(Serialize)]
        struct List {
            #[serde(serialize_with = "serialize_list")]
            violations: Vec<Breach>,
        }
        let list = List {
            violations: vec![
                Breach::VersionAccepted {
                    version: Version::Tls10,
                    suite: Some("TLS_RSA_WITH_AES_128_CBC_SHA".into()),
                    cite: "NIST SP 800-52r2 3.1".into(),
                },
                Breach::FamilyAccepted {
                    family: Family::StaticRsa,
                    suites: vec!["TLS_RSA_WITH_AES_128_GCM_SHA256".into()],
                    cite: String::new(),
                },
            ],
        };
        let v = serde_json::to_value(&list).expect("json");
        assert_eq!(
            v["violations"][0],
            serde_json::json!({
                "rule": "version_accepted",
                "version": "TLSv1.0",
                "suite": "TLS_RSA_WITH_AES_128_CBC_SHA",
                "cite": "NIST SP 800-52r2 3.1",
                "text": "accepts TLS 1.0 with TLS_RSA_WITH_AES_128_CBC_SHA (NIST SP 800-52r2 3.1)"
            })
        );
        assert_eq!(v["violations"][1]["rule"], "family_accepted");
        assert_eq!(v["violations"][1]["family"], "static_rsa");
        assert_eq!(
            v["violations"][1]["text"],
            "accepts static-RSA key exchange: TLS_RSA_WITH_AES_128_GCM_SHA256"
        );
    }
}

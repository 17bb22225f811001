//! A CRL read in place: the header fields parsed, the signature verified
//! over the DER as it arrived, and `revokedCertificates` scanned entry by
//! entry without keeping any.
//!
//! DoD CRLs run to tens of megabytes and millions of entries; parsing one
//! with `x509-parser`'s `CertificateRevocationList` builds a `Vec` of every
//! entry (about 150 bytes each: 1.85 M entries cost ~300 MB). A flow needs
//! only the entry count and the few serials of its path, so the entries are
//! walked as DER headers (tag and length) and only a matching entry's date
//! is decoded. The pieces that are parsed (names, times, algorithm,
//! extensions) are parsed by `x509-parser` itself.

use crate::analyze::x509::strip_zeros;
use x509_parser::asn1_rs::{Any, BitString, Class, FromDer, Tag};
use x509_parser::extensions::{ParsedExtension, X509Extension};
use x509_parser::num_bigint::BigUint;
use x509_parser::prelude::{ASN1Time, AlgorithmIdentifier, X509Name};
use x509_parser::x509::SubjectPublicKeyInfo;

/// The parts of a CRL a judgement needs, borrowing the DER.
#[derive(Debug)]
pub struct Crl<'a> {
    /// The DER of `tbsCertList`: what the signature covers.
    tbs: &'a [u8],
    pub signature_algorithm: AlgorithmIdentifier<'a>,
    signature_value: BitString<'a>,
    pub issuer: X509Name<'a>,
    pub this_update: ASN1Time,
    pub next_update: Option<ASN1Time>,
    pub crl_number: Option<BigUint>,
    /// The contents of `revokedCertificates` (empty when absent).
    revoked: &'a [u8],
}

/// One `revokedCertificates` pass: how many entries, and for each wanted
/// serial its revocation date (Unix seconds) when listed.
#[derive(Debug, PartialEq, Eq)]
pub struct Scan {
    pub entries: usize,
    pub found: Vec<Option<i64>>,
}

fn tlv<'a>(i: &'a [u8], what: &str) -> Result<(&'a [u8], Any<'a>), String> {
    Any::from_der(i).map_err(|e| format!("{what}: {e}"))
}

fn expect(any: &Any<'_>, class: Class, tag: Tag, what: &str) -> Result<(), String> {
    if any.class() == class && any.tag() == tag {
        Ok(())
    } else {
        Err(format!(
            "{what}: expected {class:?} tag {}, found {:?} tag {}",
            tag.0,
            any.class(),
            any.tag().0
        ))
    }
}

fn is_time(any: &Any<'_>) -> bool {
    any.class() == Class::Universal
        && (any.tag() == Tag::UtcTime || any.tag() == Tag::GeneralizedTime)
}

impl<'a> Crl<'a> {
    /// Parse `CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm,
    /// signatureValue }` (RFC 5280 5.1) from exactly `der`.
    pub fn parse(der: &'a [u8]) -> Result<Crl<'a>, String> {
        let (rest, outer) = tlv(der, "CertificateList")?;
        expect(&outer, Class::Universal, Tag::Sequence, "CertificateList")?;
        if !rest.is_empty() {
            return Err(format!(
                "{} bytes of trailing data after the CRL",
                rest.len()
            ));
        }
        let body = outer.data;
        let (after_tbs, tbs) = tlv(body, "tbsCertList")?;
        expect(&tbs, Class::Universal, Tag::Sequence, "tbsCertList")?;
        let tbs_der = &body[..body.len() - after_tbs.len()];
        let (i, signature_algorithm) = AlgorithmIdentifier::from_der(after_tbs)
            .map_err(|e| format!("signatureAlgorithm: {e}"))?;
        let (i, signature_value) =
            BitString::from_der(i).map_err(|e| format!("signatureValue: {e}"))?;
        if !i.is_empty() {
            return Err(format!("{} bytes after signatureValue", i.len()));
        }

        let mut i = tbs.data;
        // version INTEGER OPTIONAL (v2 = 1)
        if let Ok((rest, v)) = Any::from_der(i)
            && v.class() == Class::Universal
            && v.tag() == Tag::Integer
        {
            if v.data != [1] {
                return Err(format!("version: {:02x?} is not v2 (1)", v.data));
            }
            i = rest;
        }
        let (i, _signature) =
            AlgorithmIdentifier::from_der(i).map_err(|e| format!("signature: {e}"))?;
        let (i, issuer) = X509Name::from_der(i).map_err(|e| format!("issuer: {e}"))?;
        let (i, this_update) = ASN1Time::from_der(i).map_err(|e| format!("thisUpdate: {e}"))?;
        let mut i = i;
        let mut next_update = None;
        if let Ok((_, t)) = Any::from_der(i)
            && is_time(&t)
        {
            let (rest, t) = ASN1Time::from_der(i).map_err(|e| format!("nextUpdate: {e}"))?;
            next_update = Some(t);
            i = rest;
        }
        let mut revoked: &[u8] = &[];
        if let Ok((rest, list)) = Any::from_der(i)
            && list.class() == Class::Universal
            && list.tag() == Tag::Sequence
        {
            revoked = list.data;
            i = rest;
        }
        let mut crl_number = None;
        if !i.is_empty() {
            let (rest, wrapper) = tlv(i, "crlExtensions")?;
            expect(&wrapper, Class::ContextSpecific, Tag(0), "crlExtensions")?;
            if !rest.is_empty() {
                return Err(format!("{} bytes after crlExtensions", rest.len()));
            }
            let (after, seq) = tlv(wrapper.data, "crlExtensions")?;
            expect(&seq, Class::Universal, Tag::Sequence, "crlExtensions")?;
            if !after.is_empty() {
                return Err("crlExtensions: data after the SEQUENCE".into());
            }
            let mut e = seq.data;
            while !e.is_empty() {
                let (rest, ext) =
                    X509Extension::from_der(e).map_err(|err| format!("crlExtensions: {err}"))?;
                if let ParsedExtension::CRLNumber(n) = ext.parsed_extension() {
                    crl_number = Some(n.clone());
                }
                e = rest;
            }
        }
        Ok(Crl {
            tbs: tbs_der,
            signature_algorithm,
            signature_value,
            issuer,
            this_update,
            next_update,
            crl_number,
            revoked,
        })
    }

    /// Verify the signature over `tbsCertList` with the signer's key.
    pub(crate) fn verify_signature(&self, key: &SubjectPublicKeyInfo<'_>) -> Result<(), String> {
        x509_parser::verify::verify_signature(
            key,
            &self.signature_algorithm,
            &self.signature_value,
            self.tbs,
        )
        .map_err(|e| e.to_string())
    }

    /// Walk `revokedCertificates` once: count the entries, check each is a
    /// `SEQUENCE { INTEGER, Time, ... }`, and find the `wanted` serials
    /// (content octets, leading zero bytes ignored). Serials are unique per
    /// issuer (RFC 5280 4.1.2.2), so the first listing counts.
    pub fn scan(&self, wanted: &[&[u8]]) -> Result<Scan, String> {
        let wanted: Vec<&[u8]> = wanted.iter().map(|s| strip_zeros(s)).collect();
        let mut found = vec![None; wanted.len()];
        let mut entries = 0usize;
        let mut i = self.revoked;
        while !i.is_empty() {
            let what = || format!("revokedCertificates[{entries}]");
            let (rest, entry) = tlv(i, &what())?;
            expect(&entry, Class::Universal, Tag::Sequence, &what())?;
            let (after_serial, serial) = tlv(entry.data, &what())?;
            expect(&serial, Class::Universal, Tag::Integer, &what())?;
            let (_, date) = tlv(after_serial, &what())?;
            if !is_time(&date) {
                return Err(format!("{}: revocationDate is not a Time", what()));
            }
            let s = strip_zeros(serial.data);
            if let Some(k) = wanted.iter().position(|w| *w == s)
                && found[k].is_none()
            {
                let (_, t) = ASN1Time::from_der(after_serial)
                    .map_err(|e| format!("{}: revocationDate: {e}", what()))?;
                found[k] = Some(t.timestamp());
            }
            entries += 1;
            i = rest;
        }
        Ok(Scan { entries, found })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        CertificateParams, CertificateRevocationListParams, DistinguishedName, DnType, Issuer,
        KeyIdMethod, KeyPair, RevocationReason, RevokedCertParams, SerialNumber,
    };
    use x509_parser::revocation_list::CertificateRevocationList;

    fn signed_crl(revoked: &[u64]) -> (Vec<u8>, Vec<u8>) {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "Scan Test CA");
        params.distinguished_name = dn;
        let ca = params.clone().self_signed(&key).expect("ca");
        let at = |s: u64| rcgen::date_time_ymd(2026, 1, 1) + std::time::Duration::from_secs(s);
        let crl = CertificateRevocationListParams {
            this_update: at(0),
            next_update: at(86_400),
            crl_number: SerialNumber::from(0x2a_u64),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|s| RevokedCertParams {
                    serial_number: SerialNumber::from(*s),
                    revocation_time: at(*s % 1000),
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let der = crl
            .signed_by(&Issuer::new(params, &key))
            .expect("crl")
            .der()
            .to_vec();
        (der, ca.der().to_vec())
    }

    /// The scan agrees with x509-parser's full parse on every fact kept.
    #[test]
    fn scan_agrees_with_the_full_parse() {
        for revoked in [vec![], vec![7], vec![1, 0x80, 0xff_ff, 0x1234_5678_9abc]] {
            let (der, ca) = signed_crl(&revoked);
            let crl = Crl::parse(&der).expect("parses");
            let (_, full) = CertificateRevocationList::from_der(&der).expect("x509-parser");
            assert_eq!(crl.issuer.as_raw(), full.issuer().as_raw());
            assert_eq!(crl.this_update, full.last_update());
            assert_eq!(crl.next_update, full.next_update());
            assert_eq!(crl.crl_number.as_ref(), full.crl_number());
            let (_, cert) = x509_parser::parse_x509_certificate(&ca).expect("ca");
            assert_eq!(crl.verify_signature(cert.public_key()), Ok(()));

            let wanted: Vec<Vec<u8>> = full
                .iter_revoked_certificates()
                .map(|r| r.raw_serial().to_vec())
                .chain([vec![0x00, 0x55]])
                .collect();
            let refs: Vec<&[u8]> = wanted.iter().map(Vec::as_slice).collect();
            let scan = crl.scan(&refs).expect("scans");
            assert_eq!(scan.entries, revoked.len());
            let mut want: Vec<Option<i64>> = full
                .iter_revoked_certificates()
                .map(|r| Some(r.revocation_date.timestamp()))
                .collect();
            want.push(None);
            assert_eq!(scan.found, want);
        }
    }

    #[test]
    fn a_changed_byte_breaks_the_signature_and_garbage_is_an_error() {
        let (mut der, ca) = signed_crl(&[5]);
        let (_, cert) = x509_parser::parse_x509_certificate(&ca).expect("ca");
        // The last byte of the nextUpdate time's seconds: still a valid time.
        let at = der.windows(2).rposition(|w| w == b"0Z").expect("a UTCTime");
        der[at] = b'1';
        let crl = Crl::parse(&der).expect("still parses");
        assert!(crl.verify_signature(cert.public_key()).is_err());
        for bad in [
            &b""[..],
            b"\x30\x03\x02\x01",
            b"<html>",
            &der[..der.len() - 1],
        ] {
            assert!(Crl::parse(bad).is_err(), "{bad:?}");
        }
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(Crl::parse(&trailing).unwrap_err().contains("trailing"));
    }
}

//! NIST SP 800-52 Rev. 2 section 3.2's server certificate profile, judged
//! on the path a store verified: what a federal relying party's scan
//! reports even when every device accepts the path.
//!
//! Each rule is a finding of reason `cert_profile` naming its section and
//! the certificate; `tls = { cert_profile = "warn" }` (the default) makes
//! every rule a warning, `"fail"` makes the "shall" rules fail the flow
//! (the "should" ones stay warnings), `"off"` judges none.

use crate::outcome::{Action, Finding, Level, Reason, Subject};

use super::{CertFacts, ChainReport};

/// Days a leaf may be valid under the CA/Browser Forum Baseline
/// Requirements 6.3.2 (certificates issued since 2020-09-01).
const CABF_MAX_DAYS: i64 = 398;
/// "3 years or less" (3.2.1), in days.
const NIST_MAX_DAYS: i64 = 3 * 366;

/// Whether a rule is a "shall" or a "should" of the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strength {
    Shall,
    Should,
}

/// The profile's findings on the first verified path of `chain`; none
/// when no store verified a path (the chain's own findings say why) or
/// with `Action::Off`. `public_store`: the path ends in the operating
/// system's store, where the CA/Browser Forum's validity limit applies.
pub(crate) fn findings(chain: &ChainReport, action: Action) -> Vec<Finding> {
    if action == Action::Off {
        return Vec::new();
    }
    let Some(verified) = chain.anchors().iter().find(|a| a.verified) else {
        return Vec::new();
    };
    let public_store = verified.store == "system";
    let path: Vec<&CertFacts> = verified
        .path
        .iter()
        .filter_map(|p| chain.certificates.iter().find(|c| c.position == *p))
        .collect();
    judge(&path, public_store)
        .into_iter()
        .map(|(strength, position, detail)| {
            let level = match (action, strength) {
                (Action::Fail, Strength::Shall) => Level::Fail,
                _ => Level::Warn,
            };
            Finding::new(Reason::CertProfile, level, detail)
                .about(Subject::Certificate { position })
        })
        .collect()
}

/// A broken rule: its strength, the position of the certificate, and a
/// sentence citing the section.
type Broken = (Strength, usize, String);

/// The rules broken by `path` (leaf first), as (strength, position,
/// sentence citing the section).
fn judge(path: &[&CertFacts], public_store: bool) -> Vec<Broken> {
    let mut out = Vec::new();
    let Some(leaf) = path.first() else {
        return out;
    };
    out.extend(key(leaf));
    out.extend(signatures(path));
    out.extend(validity(leaf, public_store));
    out.extend(ext_key_usage(leaf));
    out.extend(names(leaf));
    out.extend(status(leaf));
    out
}

/// 3.2.1: RSA keys of at least 2048 bits; ECDSA on P-256 or P-384.
fn key(leaf: &CertFacts) -> Option<Broken> {
    let (at, cn) = (leaf.position, &leaf.subject_cn);
    match (leaf.key_type.as_str(), leaf.curve.as_deref()) {
        ("rsa" | "rsa-pss", _) if leaf.key_bits < 2048 => Some((
            Strength::Shall,
            at,
            format!(
                "{cn}: RSA key of {} bits, below 2048 (SP 800-52r2 3.2.1: at least 112 bits of security)",
                leaf.key_bits
            ),
        )),
        ("ec", Some("P-256" | "P-384")) | ("rsa" | "rsa-pss", _) => None,
        ("ec", curve) => Some((
            if leaf.key_bits < 224 {
                Strength::Shall
            } else {
                Strength::Should
            },
            at,
            format!(
                "{cn}: EC key on {}, not P-256 or P-384 (SP 800-52r2 3.2.1)",
                curve.unwrap_or("an unnamed curve")
            ),
        )),
        (other, _) => Some((
            Strength::Shall,
            at,
            format!("{cn}: {other} key, not RSA or ECDSA (SP 800-52r2 3.2.1)"),
        )),
    }
}

/// 3.2.1: every certificate of the path signed with SHA-224 or better
/// (a self-signed anchor's own signature proves nothing either way).
fn signatures(path: &[&CertFacts]) -> Vec<Broken> {
    let mut out = Vec::new();
    for c in path.iter().filter(|c| !c.self_signed) {
        let sig = c.signature_algorithm.to_ascii_lowercase();
        let strong = ["sha224", "sha256", "sha384", "sha512", "sha3"]
            .iter()
            .any(|h| sig.contains(h))
            || sig == "rsassapss"
            || sig.starts_with("ed25519")
            || sig.starts_with("ed448");
        if !strong {
            out.push((
                Strength::Shall,
                c.position,
                format!(
                    "{}: signed with {}, not SHA-224 or better (SP 800-52r2 3.2.1)",
                    c.subject_cn, c.signature_algorithm
                ),
            ));
        }
    }
    out
}

/// 3.2.1: a validity of 3 years or less; 398 days in a public store.
fn validity(leaf: &CertFacts, public_store: bool) -> Option<Broken> {
    let (Some(from), Some(to)) = (leaf.not_before, leaf.not_after) else {
        return None;
    };
    let days = (to - from) / 86_400;
    let (max, why) = if public_store {
        (
            CABF_MAX_DAYS,
            "CA/Browser Forum Baseline Requirements 6.3.2, a public store",
        )
    } else {
        (NIST_MAX_DAYS, "SP 800-52r2 3.2.1: 3 years or less")
    };
    (days > max).then(|| {
        (
            Strength::Should,
            leaf.position,
            format!(
                "{}: valid for {days} days, more than {max} ({why})",
                leaf.subject_cn
            ),
        )
    })
}

/// 3.2.1: extendedKeyUsage with id-kp-serverAuth, and not anyExtendedKeyUsage.
fn ext_key_usage(leaf: &CertFacts) -> Vec<Broken> {
    let (at, cn) = (leaf.position, &leaf.subject_cn);
    let mut out = Vec::new();
    match &leaf.ext_key_usage {
        None => out.push((
            Strength::Should,
            at,
            format!("{cn}: no extendedKeyUsage; SP 800-52r2 3.2.1 wants id-kp-serverAuth"),
        )),
        Some(eku) => {
            if !eku.iter().any(|e| e == "serverAuth") {
                out.push((
                    Strength::Should,
                    at,
                    format!(
                        "{cn}: extendedKeyUsage {} without serverAuth (SP 800-52r2 3.2.1)",
                        eku.join(", ")
                    ),
                ));
            }
            if eku.iter().any(|e| e == "any") {
                out.push((
                    Strength::Should,
                    at,
                    format!(
                        "{cn}: extendedKeyUsage includes anyExtendedKeyUsage (SP 800-52r2 3.2.1)"
                    ),
                ));
            }
        }
    }
    out
}

/// 3.2.1: the server's names in subjectAltName.
fn names(leaf: &CertFacts) -> Option<Broken> {
    leaf.sans.is_empty().then(|| {
        (
            Strength::Shall,
            leaf.position,
            format!(
                "{}: no DNS name or IP address in subjectAltName (SP 800-52r2 3.2.1)",
                leaf.subject_cn
            ),
        )
    })
}

/// 3.2.1: issued by a CA that publishes status by OCSP.
fn status(leaf: &CertFacts) -> Option<Broken> {
    leaf.ocsp_responders.is_empty().then(|| {
        (
            Strength::Shall,
            leaf.position,
            format!(
                "{}: no OCSP responder in authorityInfoAccess (SP 800-52r2 3.2.1: revocation by OCSP)",
                leaf.subject_cn
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good_leaf() -> CertFacts {
        CertFacts {
            position: 0,
            subject_cn: "mdm.example.mil".into(),
            key_type: "rsa".into(),
            key_bits: 2048,
            signature_algorithm: "sha256WithRSAEncryption".into(),
            not_before: Some(0),
            not_after: Some(365 * 86_400),
            ext_key_usage: Some(vec!["serverAuth".into()]),
            sans: vec!["mdm.example.mil".into()],
            ocsp_responders: vec!["http://ocsp.disa.mil".into()],
            ..CertFacts::default()
        }
    }

    fn ca(position: usize, sig: &str, self_signed: bool) -> CertFacts {
        CertFacts {
            position,
            subject_cn: format!("CA {position}"),
            is_ca: true,
            self_signed,
            signature_algorithm: sig.into(),
            ..CertFacts::default()
        }
    }

    #[test]
    fn a_profile_path_has_no_findings_and_each_rule_is_named() {
        let leaf = good_leaf();
        let root = ca(2, "sha1WithRSAEncryption", true);
        let mid = ca(1, "sha384WithRSAEncryption", false);
        assert!(judge(&[&leaf, &mid, &root], false).is_empty());

        let mut bad = good_leaf();
        bad.key_bits = 1024;
        bad.signature_algorithm = "sha1WithRSAEncryption".into();
        bad.not_after = Some(4 * 366 * 86_400);
        bad.ext_key_usage = Some(vec!["clientAuth".into(), "any".into()]);
        bad.sans.clear();
        bad.ocsp_responders.clear();
        let weak_mid = ca(1, "sha1WithRSAEncryption", false);
        let found = judge(&[&bad, &weak_mid, &root], false);
        let text: Vec<&str> = found.iter().map(|(_, _, d)| d.as_str()).collect();
        for want in [
            "RSA key of 1024 bits",
            "mdm.example.mil: signed with sha1WithRSAEncryption",
            "CA 1: signed with sha1WithRSAEncryption",
            "more than 1098 (SP 800-52r2 3.2.1: 3 years or less)",
            "without serverAuth",
            "anyExtendedKeyUsage",
            "no DNS name or IP address",
            "no OCSP responder",
        ] {
            assert!(text.iter().any(|t| t.contains(want)), "{want} in {text:#?}");
        }
        assert!(
            text.iter()
                .all(|t| t.contains("3.2.1") || t.contains("6.3.2"))
        );
        // The self-signed anchor's SHA-1 signature is not a finding.
        assert!(!text.iter().any(|t| t.starts_with("CA 2")));
    }

    #[test]
    fn a_public_store_limits_validity_to_398_days_and_curves_are_judged() {
        let mut leaf = good_leaf();
        leaf.not_after = Some(400 * 86_400);
        assert!(judge(&[&leaf], false).is_empty());
        let found = judge(&[&leaf], true);
        assert_eq!(found.len(), 1);
        assert!(found[0].2.contains("6.3.2"), "{found:?}");

        let mut ec = good_leaf();
        ec.key_type = "ec".into();
        ec.key_bits = 256;
        ec.curve = Some("P-256".into());
        ec.signature_algorithm = "ecdsa-with-SHA256".into();
        assert!(judge(&[&ec], false).is_empty());
        ec.curve = Some("P-521".into());
        ec.key_bits = 521;
        let found = judge(&[&ec], false);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, Strength::Should);
    }
}

//! The OCSP response a server stapled to its leaf, judged against the
//! leaf's issuer: the next certificate the server sent that issued it, or
//! an anchor of the flow's trust stores (a leaf issued by the root).

use std::time::SystemTime;

use rustls::pki_types::CertificateDer;
use serde::Serialize;

use crate::analyze::ocsp::{self, Asked, OcspJudgement, StapleMode};
use crate::analyze::trust::TrustStore;
use crate::outcome::{Finding, Level, Reason, Subject};

/// What was stapled and what it says, for `/api/v1/flows`.
#[derive(Debug, Clone, Serialize)]
pub struct Staple {
    pub bytes: usize,
    /// Subject of the certificate the response was checked against.
    pub issuer: Option<String>,
    pub response: Option<OcspJudgement>,
    /// Why `response` is `None` though a staple arrived; absent when it
    /// was judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_judged: Option<NotJudged>,
}

/// Why a stapled response was not judged: its finding's fact, so code
/// matches this rather than the sentence (`Display`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum NotJudged {
    /// The leaf's issuer is neither sent after it nor an anchor of the
    /// flow's trust stores: nothing to check the response against.
    #[error(
        "not judged, the leaf's issuer is neither sent nor an anchor of the flow's trust stores"
    )]
    IssuerUnknown,
}

impl Staple {
    /// One line for `flowprobe check`'s table.
    pub(crate) fn line(&self) -> String {
        match &self.response {
            None => format!(
                "ocsp staple: {} bytes, not judged (issuer unknown)",
                self.bytes
            ),
            Some(r) => format!(
                "ocsp staple: {}{}, next_update {}",
                r.status.unwrap_or("no status"),
                r.signer
                    .as_deref()
                    .map_or_else(|| ", INVALID".to_string(), |s| format!(", signed by {s}")),
                r.next_update
                    .map_or_else(|| "none".to_string(), crate::text::rfc3339),
            ),
        }
    }
}

/// Judge the staple of a completed handshake: `(details, findings)`.
pub(crate) fn judge(
    mode: StapleMode,
    certs: &[CertificateDer<'static>],
    stapled: Option<&[u8]>,
    stores: &[std::sync::Arc<TrustStore>],
    now: SystemTime,
) -> (Option<Staple>, Vec<Finding>) {
    if mode == StapleMode::Off {
        return (None, Vec::new());
    }
    let (Some(bytes), Some(leaf)) = (stapled, certs.first()) else {
        return (None, ocsp::staple_findings(mode, None));
    };
    let mut candidates: Vec<&[u8]> = certs[1..].iter().map(|c| c.as_ref()).collect();
    for s in stores {
        candidates.extend(s.anchors().iter().map(|a| a.der.as_ref()));
    }
    let Some(i) = ocsp::find_issuer(leaf.as_ref(), &candidates) else {
        let why = NotJudged::IssuerUnknown;
        let staple = Staple {
            bytes: bytes.len(),
            issuer: None,
            response: None,
            not_judged: Some(why),
        };
        // A staple nobody can check is no staple to a client that requires one.
        let (level, suffix) = match mode {
            StapleMode::Require => (Level::Fail, " (tls.ocsp_staple = \"require\")"),
            StapleMode::Warn | StapleMode::Off => (Level::Warn, ""),
        };
        let finding = Finding::new(Reason::OcspInvalid, level, format!("staple: {why}{suffix}"))
            .about(Subject::Certificate { position: 0 });
        return (Some(staple), vec![finding]);
    };
    let issuer = candidates[i];
    let leaf_at = Asked {
        position: 0,
        name: None,
    };
    let facts = ocsp::judge(bytes, leaf.as_ref(), issuer, now, leaf_at);
    let findings = ocsp::staple_findings(mode, Some(&facts));
    let staple = Staple {
        bytes: bytes.len(),
        issuer: x509_parser::parse_x509_certificate(issuer)
            .ok()
            .map(|(_, c)| crate::analyze::chain::render_name(c.subject())),
        response: Some(facts),
        not_judged: None,
    };
    (Some(staple), findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEAF: &[u8] = include_bytes!("../../../tests/fixtures/ocsp/leaf.der");
    const ISSUER: &[u8] = include_bytes!("../../../tests/fixtures/ocsp/issuer.der");
    const GOOD: &[u8] = include_bytes!("../../../tests/fixtures/ocsp/good.der");

    /// Only the leaf sent, no trust store: the staple cannot be judged,
    /// which fails under `require` and warns under `warn`.
    #[test]
    fn unjudgeable_staple_fails_only_under_require() {
        let certs = [CertificateDer::from(LEAF.to_vec())];
        let now = SystemTime::now();
        for (mode, level) in [
            (StapleMode::Require, Level::Fail),
            (StapleMode::Warn, Level::Warn),
        ] {
            let (staple, findings) = judge(mode, &certs, Some(GOOD), &[], now);
            let staple = staple.expect("details");
            assert_eq!((staple.bytes, staple.issuer), (GOOD.len(), None));
            assert!(staple.response.is_none());
            assert_eq!(staple.not_judged, Some(NotJudged::IssuerUnknown));
            assert_eq!(findings.len(), 1, "{findings:?}");
            assert_eq!(
                (findings[0].reason, findings[0].level, &findings[0].subject),
                (
                    Reason::OcspInvalid,
                    level,
                    &Some(Subject::Certificate { position: 0 })
                )
            );
        }
        // The sentence a user reads, once.
        let (_, findings) = judge(StapleMode::Require, &certs, Some(GOOD), &[], now);
        assert_eq!(
            findings[0].detail,
            "staple: not judged, the leaf's issuer is neither sent nor an anchor of the flow's \
             trust stores (tls.ocsp_staple = \"require\")"
        );
        // With the issuer sent it is judged (the control).
        let sent = [certs[0].clone(), CertificateDer::from(ISSUER.to_vec())];
        let (staple, _) = judge(StapleMode::Require, &sent, Some(GOOD), &[], now);
        let staple = staple.expect("details");
        assert!(staple.response.is_some() && staple.not_judged.is_none());
    }
}

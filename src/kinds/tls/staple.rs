//! The OCSP response a server stapled to its leaf, judged against the
//! leaf's issuer: the next certificate the server sent that issued it, or
//! an anchor of the flow's trust stores (a leaf issued by the root).

use std::time::SystemTime;

use rustls::pki_types::CertificateDer;
use serde::Serialize;

use crate::analyze::ocsp::{self, OcspJudgement, StapleMode};
use crate::analyze::trust::TrustStore;
use crate::outcome::{Finding, Level, Reason};

/// What was stapled and what it says, for `/api/v1/flows`.
#[derive(Debug, Clone, Serialize)]
pub struct Staple {
    pub bytes: usize,
    /// Subject of the certificate the response was checked against.
    pub issuer: Option<String>,
    pub response: Option<OcspJudgement>,
}

impl Staple {
    /// One line for `flowprobe check`'s table.
    pub fn line(&self) -> String {
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
pub fn judge(
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
        let staple = Staple {
            bytes: bytes.len(),
            issuer: None,
            response: None,
        };
        // A staple nobody can check is no staple to a client that requires one.
        let (level, suffix) = match mode {
            StapleMode::Require => (Level::Fail, " (tls.ocsp_staple = \"require\")"),
            _ => (Level::Warn, ""),
        };
        let finding = Finding::new(
            Reason::OcspInvalid,
            level,
            format!(
                "staple: not judged, the leaf's issuer is neither sent nor an anchor of the flow's trust stores{suffix}"
            ),
        );
        return (Some(staple), vec![finding]);
    };
    let issuer = candidates[i];
    let facts = ocsp::judge(bytes, leaf.as_ref(), issuer, now, "position 0");
    let findings = ocsp::staple_findings(mode, Some(&facts));
    let staple = Staple {
        bytes: bytes.len(),
        issuer: x509_parser::parse_x509_certificate(issuer)
            .ok()
            .map(|(_, c)| crate::analyze::chain::render_name(c.subject())),
        response: Some(facts),
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
            assert_eq!(findings.len(), 1, "{findings:?}");
            assert_eq!(
                (findings[0].reason, findings[0].level),
                (Reason::OcspInvalid, level)
            );
            assert!(
                findings[0].detail.starts_with(
                    "staple: not judged, the leaf's issuer is neither sent nor an anchor"
                ),
                "{findings:?}"
            );
        }
        // With the issuer sent it is judged (the control).
        let sent = [certs[0].clone(), CertificateDer::from(ISSUER.to_vec())];
        let (staple, _) = judge(StapleMode::Require, &sent, Some(GOOD), &[], now);
        assert!(staple.and_then(|s| s.response).is_some());
    }
}

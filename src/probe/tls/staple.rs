//! The OCSP response a server stapled to its leaf, judged against the
//! leaf's issuer: the next certificate the server sent that issued it, or
//! an anchor of the flow's trust stores (a leaf issued by the root).

use std::time::SystemTime;

use rustls::pki_types::CertificateDer;
use serde::Serialize;

use crate::analyze::ocsp::{self, OcspFacts, StapleMode};
use crate::analyze::trust::TrustStore;
use crate::outcome::{Finding, Level, Reason};

/// What was stapled and what it says, for `/api/v1/flows`.
#[derive(Debug, Clone, Serialize)]
pub struct Staple {
    pub bytes: usize,
    /// Subject of the certificate the response was checked against.
    pub issuer: Option<String>,
    pub response: Option<OcspFacts>,
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
        let finding = Finding::new(
            Reason::OcspInvalid,
            Level::Warn,
            "staple: not judged, the leaf's issuer is neither sent nor an anchor of the flow's trust stores",
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

//! The last chain each TLS flow captured, for the CRL flows that discover
//! their URLs (and issuer certificates) from it. One board lives as long as
//! the daemon (reloads keep it, so a kept TLS flow and a new CRL flow still
//! meet); `flowprobe check` makes one per run.

use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use rustls::pki_types::CertificateDer;

use crate::analyze::chain::ChainReport;

/// One TLS flow's last captured chain: the judged facts and the DER the
/// server sent (leaf first), so signature checks can use the issuers.
#[derive(Debug, Clone)]
pub struct Captured {
    pub chain: ChainReport,
    pub certificates: Vec<CertificateDer<'static>>,
    pub at: SystemTime,
}

/// Flow name -> its last captured chain. Flow names are unique in a
/// configuration, whatever the vantage.
#[derive(Debug, Default)]
pub struct ChainBoard {
    flows: RwLock<HashMap<String, Arc<Captured>>>,
}

impl ChainBoard {
    pub fn new() -> Arc<Self> {
        Arc::new(ChainBoard::default())
    }

    /// Record a chain; a probe that received none leaves the last one.
    pub(crate) fn put(&self, flow: &str, captured: Captured) {
        self.flows
            .write()
            .insert(flow.to_string(), Arc::new(captured));
    }

    pub fn get(&self, flow: &str) -> Option<Arc<Captured>> {
        self.flows.read().get(flow).cloned()
    }
}

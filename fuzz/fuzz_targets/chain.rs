//! Any list of DER blobs as the certificates a TLS server sent, judged by
//! `analyze::chain::analyze` against the built-in FCPCA G2 store and a
//! store anchored at the first blob (when it parses), so path building and
//! webpki validation both run on hostile input: no panic, one result per
//! store, and a verified store names a path that starts at the leaf.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use flowprobe::analyze::builtin_anchors;
use flowprobe::analyze::chain::{ChainPolicy, OrderRule, analyze};
use flowprobe::analyze::trust::{Anchor, TrustStore};
use libfuzzer_sys::fuzz_target;
use rustls_pki_types::{CertificateDer, ServerName};

/// Blobs as `len (2 bytes, big-endian) || bytes`, at most 8.
fn blobs(mut data: &[u8]) -> Vec<CertificateDer<'static>> {
    let mut out = Vec::new();
    while data.len() >= 2 && out.len() < 8 {
        let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
        let end = (2 + len).min(data.len());
        out.push(CertificateDer::from(data[2..end].to_vec()));
        data = &data[end..];
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let sent = blobs(data);
    let mut stores = Vec::new();
    if let Some(Ok(fcpca)) = builtin_anchors::store("fcpca-g2") {
        stores.push(fcpca);
    }
    if let Some(Ok(anchor)) = sent.last().map(|c| Anchor::from_der(c.clone())) {
        stores.push(TrustStore::new("fuzz", vec![anchor]));
    }
    let refs: Vec<&TrustStore> = stores.iter().collect();
    let name = ServerName::try_from("mdm.lab.test").expect("valid name");
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    for rule in [OrderRule::Tls12, OrderRule::Tls13] {
        let report = analyze(&sent, &refs, &ChainPolicy::default(), &name, now, rule);
        assert_eq!(report.anchors().len(), refs.len());
        for a in report.anchors().iter().filter(|a| a.verified) {
            assert_eq!(
                a.path.first(),
                Some(&0),
                "a verified path starts at the leaf"
            );
        }
    }
});

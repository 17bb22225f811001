//! Any bytes as an OCSP response (stapled in a handshake or served by a
//! responder) into the judgement (`analyze::ocsp::judge`), about a fixed
//! certificate and issuer: no panic, and only a response about this
//! certificate, from an authorised signer, is valid.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use flowprobe::analyze::ocsp::{Asked, judge};
use libfuzzer_sys::fuzz_target;

const LEAF: &[u8] = include_bytes!("../../tests/fixtures/ocsp/leaf.der");
const ISSUER: &[u8] = include_bytes!("../../tests/fixtures/ocsp/issuer.der");

fuzz_target!(|data: &[u8]| {
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let leaf = Asked {
        position: 0,
        name: None,
    };
    let facts = judge(data, LEAF, ISSUER, now, leaf);
    // Every finding has its problem, side by side.
    assert_eq!(facts.problems.len(), facts.findings.len());
    assert!(
        facts
            .problems
            .iter()
            .zip(&facts.findings)
            .all(|(p, f)| p.reason() == f.reason)
    );
    if facts.valid {
        assert!(facts.signer.is_some() && facts.status.is_some());
    }
    assert_eq!(
        facts.findings.is_empty(),
        facts.valid
            && facts.status == Some("good")
            && facts.next_update.is_some_and(|n| n > 1_800_000_000)
            && facts.this_update.is_some_and(|t| t <= 1_800_000_300)
    );
});

//! Any bytes as the server's flight after a TLS 1.2 ClientHello, read by
//! the streaming Certificate scan: no panic; the facts stay within the
//! limits whatever the lengths claim; and feeding the bytes in pieces (cut
//! where the first byte says) gives the same facts and the same end as
//! feeding them at once.
#![no_main]

use flowprobe::wire::tls::{CertificateLimits, CertificateScan};
use libfuzzer_sys::fuzz_target;

/// Small limits, so inputs a fuzzer finds reach every bound.
const LIMITS: CertificateLimits = CertificateLimits {
    max_leaf: 2048,
    max_rest_bytes: 4096,
    max_rest_count: 4,
    max_read: 1 << 16,
};

fuzz_target!(|data: &[u8]| {
    let Some((&cut, data)) = data.split_first() else {
        return;
    };
    let mut whole = CertificateScan::new(LIMITS);
    let at_once = whole.feed(data);

    let mut pieces = CertificateScan::new(LIMITS);
    let step = usize::from(cut).max(1);
    let mut in_pieces = Ok(false);
    for piece in data.chunks(step) {
        in_pieces = pieces.feed(piece);
        if !matches!(in_pieces, Ok(false)) {
            break;
        }
    }
    assert_eq!(at_once, in_pieces);
    assert_eq!(whole.facts(), pieces.facts());

    let f = whole.facts();
    assert!(f.read <= LIMITS.max_read);
    assert!(f.kept.len() <= 1 + LIMITS.max_rest_count);
    assert!(f.kept.len() <= f.complete);
    if let Some(leaf) = f.kept.first() {
        assert!(leaf.len() <= LIMITS.max_leaf);
        assert_eq!(Some(leaf.len()), f.leaf_length);
    }
    let rest: usize = f.kept.iter().skip(1).map(Vec::len).sum();
    assert!(rest <= LIMITS.max_rest_bytes);
    if let Some(m) = f.message_length {
        assert!(f.received <= m);
    }
    assert_eq!(f.done, matches!(at_once, Ok(true)));
});

//! Pure analysis: judgements over captured facts, no I/O.

pub mod builtin_anchors;
pub mod chain;
pub mod crl;
pub mod ocsp;
pub mod ssh_policy;
pub mod trust;

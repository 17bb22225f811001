//! Pure analysis: judgements over captured facts, no I/O.

pub mod builtin_anchors;
pub mod bundle;
pub mod chain;
pub mod crl;
pub mod ocsp;
pub(crate) mod pattern;
pub mod pkix;
pub mod ssh_policy;
pub mod tls_policy;
pub mod trust;
pub(crate) mod x509;

//! Hand-written start of a TLS handshake for the protocol enumeration: one
//! ClientHello offering a chosen version and cipher-suite list, and the
//! server's first answer (ServerHello, HelloRetryRequest or alert) read
//! with hard bounds, then the connection is dropped.
//!
//! rustls keeps the real handshake and the certificate judgement; rustls
//! cannot offer TLS 1.0/1.1 or legacy suites, which is what a STIG scan
//! asks about, hence this small encoder and parser (RFC 5246 7.4, RFC 8446
//! 4.1). No key exchange happens: nothing here is secret.
//!
//! - [`Version`] and the [`suites`] table (IANA facts).
//! - [`encode_client_hello`]: the hello record.
//! - [`parse_server_hello`], [`scan_answer`]: the answer, from bytes.
//! - [`read_answer`]: the answer over a stream, within [`MAX_ANSWER_BYTES`].
//! - [`certificate`]: the server's Certificate message over a stream,
//!   counted and kept within bounds whatever its size.

pub(crate) mod certificate;
mod client_hello;
mod error;
mod read;
mod server_hello;
pub mod suites;
mod version;

pub use certificate::{
    CertificateError, CertificateFacts, CertificateLimits, CertificateScan, read_certificate,
};
pub use client_hello::{HelloSpec, encode_client_hello};
pub use error::{ServerHelloError, TlsWireError};
pub use read::{MAX_ANSWER_BYTES, read_answer};
pub use server_hello::{
    Answer, HRR_RANDOM, MAX_RECORD, MAX_RECORDS, MAX_SERVER_HELLO, Scan, ServerHello,
    parse_server_hello, scan_answer,
};
pub use version::Version;

#[cfg(test)]
mod tests;

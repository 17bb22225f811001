//! Hand-written SSH transport handling for the ssh probe (RFC 4253): read
//! the server's identification and `SSH_MSG_KEXINIT`, then leave.
//!
//! No SSH crate: we need only the unencrypted start of the protocol, and a
//! small parser we own can be bounded, fuzzed and kept panic-free.
//!
//! - [`identification`](parse_identification): the `SSH-2.0-...` line.
//! - [`kexinit`](parse_kexinit): the algorithm offer.
//! - [`exchange`]: the conversation over a stream, with [`WireLimits`].

mod error;
mod exchange;
mod identification;
mod inbound;
mod kexinit;

pub use error::{Close, RefusalNotice, SshWireError};
pub use exchange::{OUR_IDENTIFICATION, SshHello, WireLimits, encode_packet, exchange};
pub use identification::{
    Identification, IdentificationError, is_identification_line, parse_identification,
};
pub use kexinit::{
    KexInit, KexInitError, MSG_KEXINIT, NameListError, is_valid_algorithm_name, parse_kexinit,
};

#[cfg(test)]
mod tests;

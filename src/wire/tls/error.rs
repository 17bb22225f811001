//! Why the server's answer to a ClientHello could not be read.

use std::io;

use serde::Serialize;

use crate::outcome::IoFailure;

/// A ServerHello body that does not parse (RFC 8446 4.1.3). Serialized
/// next to its [`TlsWireError`]'s `error` as `"problem": "truncated",
/// "what": "random"`: `problem`, because the protocol scan's `why` already
/// uses `kind` at that level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum ServerHelloError {
    #[error("truncated in the {what}")]
    Truncated { what: &'static str },
    #[error("session id of {length} bytes (at most 32)")]
    SessionIdTooLong { length: u8 },
    /// `extension` in JSON: `kind` is taken by the scan's `why`.
    #[error("extension 0x{kind:04x} appears twice")]
    DuplicateExtension {
        #[serde(rename = "extension")]
        kind: u16,
    },
    #[error("malformed {what} extension")]
    BadExtension { what: &'static str },
    #[error("{count} bytes after the extensions")]
    TrailingBytes { count: usize },
}

/// Everything that can end [`super::read_answer`] without an answer.
/// Cloned into the protocol scan's replies and serialized there as their
/// facts (`{"error": "closed", "received": 0}`); the I/O error as
/// [`IoFailure`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum TlsWireError {
    /// The first bytes are not a TLS record (an HTTP response, SSH banner,
    /// an SSLv2 record); `first` shows them, escaped and cut short.
    #[error("not a TLS record: {first:?}")]
    NotTls { first: String },
    #[error("record of content type {content_type} before the ServerHello")]
    UnexpectedRecord { content_type: u8 },
    #[error("record of {length} bytes over the limit of {limit}")]
    RecordTooLarge { length: usize, limit: usize },
    #[error("empty {what} record")]
    EmptyRecord { what: &'static str },
    #[error("first handshake message is type {message_type}, not ServerHello (2)")]
    NotServerHello { message_type: u8 },
    #[error("ServerHello of {length} bytes over the limit of {limit}")]
    HandshakeTooLarge { length: usize, limit: usize },
    #[error("more than {limit} records without a complete ServerHello")]
    TooManyRecords { limit: usize },
    #[error("more than {limit} bytes without a complete ServerHello")]
    AnswerTooLarge { limit: usize },
    #[error("malformed ServerHello: {0}")]
    MalformedServerHello(#[from] ServerHelloError),
    /// The server closed without answering; `received` bytes came first.
    #[error("connection closed after {received} bytes, before an answer")]
    Closed { received: usize },
    #[error("I/O error: {0}")]
    Io(#[source] IoFailure),
}

impl From<io::Error> for TlsWireError {
    fn from(e: io::Error) -> Self {
        TlsWireError::Io(e.into())
    }
}

impl TlsWireError {
    /// Whether this is the server turning the hello down the way servers
    /// do (closing or resetting instead of an alert), rather than an
    /// answer that is not TLS.
    pub(crate) fn is_refusal(&self) -> bool {
        match self {
            TlsWireError::Closed { received: 0 } => true,
            TlsWireError::Io(e) => matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
            ),
            _ => false,
        }
    }
}

/// Peer-controlled bytes made safe to print and bounded in length.
pub(super) fn printable(bytes: &[u8]) -> String {
    const MAX: usize = 40;
    let cut = &bytes[..bytes.len().min(MAX)];
    let mut s = cut.escape_ascii().to_string();
    if bytes.len() > MAX {
        s.push_str("...");
    }
    s
}

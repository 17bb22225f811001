//! Why the server's answer to a ClientHello could not be read.

use std::io;

/// A ServerHello body that does not parse (RFC 8446 4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerHelloError {
    #[error("truncated in the {what}")]
    Truncated { what: &'static str },
    #[error("session id of {length} bytes (at most 32)")]
    SessionIdTooLong { length: u8 },
    #[error("extension 0x{kind:04x} appears twice")]
    DuplicateExtension { kind: u16 },
    #[error("malformed {what} extension")]
    BadExtension { what: &'static str },
    #[error("{count} bytes after the extensions")]
    TrailingBytes { count: usize },
}

/// Everything that can end [`super::read_answer`] without an answer.
#[derive(Debug, thiserror::Error)]
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
    Io(#[from] io::Error),
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

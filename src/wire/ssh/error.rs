//! Why an SSH exchange failed, with the facts, mapped to the closed reason set.

use super::{IdentificationError, KexInitError};
use crate::outcome::Reason;
use std::io;

/// Everything that can end [`super::exchange`] early.
#[derive(Debug, thiserror::Error)]
pub enum SshWireError {
    /// The peer closed before sending an identification; `first_line` shows
    /// what it was instead (an HTTP status line, say).
    #[error(
        "connection closed before an SSH identification ({pre_banner_lines} other lines{})",
        first_line.as_ref().map(|l| format!(", first: {l:?}")).unwrap_or_default()
    )]
    ClosedBeforeIdentification {
        pre_banner_lines: usize,
        first_line: Option<String>,
    },
    #[error("invalid SSH identification {line:?}: {problem}")]
    InvalidIdentification {
        line: String,
        problem: IdentificationError,
    },
    #[error("server speaks only SSH protocol {protocol} ({line:?})")]
    Ssh1Only { protocol: String, line: String },
    #[error("line longer than {limit} bytes before the SSH identification")]
    LineTooLong { limit: usize },
    #[error(
        "more than {limit_lines} lines or {limit_bytes} bytes before the SSH identification \
         ({lines} lines, {bytes} bytes received)"
    )]
    TooManyPreBannerLines {
        lines: usize,
        bytes: usize,
        limit_lines: usize,
        limit_bytes: usize,
    },
    #[error("bad packet length {packet_length}: {rule}")]
    BadPacketLength {
        packet_length: u32,
        rule: &'static str,
    },
    #[error("packet length {packet_length} over the limit of {limit}")]
    PacketTooLarge { packet_length: u32, limit: u32 },
    #[error("bad padding length {padding_length} in a packet of {packet_length} bytes")]
    BadPadding {
        padding_length: u8,
        packet_length: u32,
    },
    #[error("first packet is message type {message_type}, not KEXINIT (20)")]
    NotKexInit { message_type: u8 },
    /// The server said goodbye instead of offering algorithms (MaxStartups,
    /// a blocklist, ...).
    #[error("server disconnected before KEXINIT: code {code}, {description:?}")]
    Disconnected { code: u32, description: String },
    #[error("malformed KEXINIT: {0}")]
    MalformedKexInit(#[from] KexInitError),
    #[error("connection closed in the {what}: {received} of {expected} bytes received")]
    Truncated {
        what: &'static str,
        expected: usize,
        received: usize,
    },
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

impl SshWireError {
    /// The outcome reason this error leads to.
    pub fn reason(&self) -> Reason {
        use SshWireError::*;
        match self {
            ClosedBeforeIdentification { .. }
            | InvalidIdentification { .. }
            | Ssh1Only { .. }
            | LineTooLong { .. }
            | TooManyPreBannerLines { .. } => Reason::SshBanner,
            BadPacketLength { .. }
            | PacketTooLarge { .. }
            | BadPadding { .. }
            | NotKexInit { .. }
            | Disconnected { .. }
            | MalformedKexInit(_)
            | Truncated { .. } => Reason::ProtocolError,
            Io(e) => io_reason(e),
        }
    }
}

fn io_reason(e: &io::Error) -> Reason {
    use io::ErrorKind::*;
    match e.kind() {
        ConnectionReset | ConnectionAborted | BrokenPipe => Reason::Reset,
        TimedOut => Reason::Timeout,
        HostUnreachable | NetworkUnreachable => Reason::Unreachable,
        _ => Reason::ProtocolError,
    }
}

/// Peer-controlled bytes made safe to print and bounded in length.
pub(super) fn printable(bytes: &[u8]) -> String {
    const MAX: usize = 120;
    let mut s: String = bytes.escape_ascii().to_string();
    if s.len() > MAX {
        s.truncate(MAX);
        s.push_str("...");
    }
    s
}

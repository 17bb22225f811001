//! Why an SSH exchange failed, with the facts, mapped to the closed reason set.

use super::{IdentificationError, KexInitError};
use crate::outcome::{IoFailure, Reason};
use std::io;

/// How the server ended a connection (`"fin"`, `"rst"` in a `cause`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Close {
    /// An orderly close (FIN): the read saw end of file.
    Fin,
    /// A reset (RST): what a close looks like when our identification sat
    /// unread in the server's socket, as it does in a listener that refuses
    /// a connection without handing it to a session.
    #[serde(rename = "rst")]
    Reset,
}

impl Close {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Close::Fin => "FIN",
            Close::Reset => "RST",
        }
    }
}

/// The one line an OpenSSH listener writes to a connection it refuses
/// before the session (and so the identification) starts: it writes the
/// line best effort and closes. Recognised from its exact text once, here,
/// so code above matches this type, never the wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalNotice {
    /// `Not allowed at this time`: OpenSSH 9.8 and later, for a source
    /// address under penalty (`PerSourcePenalties`) as for `MaxStartups`.
    NotAllowed,
    /// `Exceeded MaxStartups`: OpenSSH before 9.8, `MaxStartups` or
    /// `PerSourceMaxStartups` (there were no penalties then).
    ExceededMaxStartups,
}

impl RefusalNotice {
    /// The notice a line is, if any (terminator already removed).
    pub(crate) fn of_line(line: &[u8]) -> Option<RefusalNotice> {
        match line {
            b"Not allowed at this time" => Some(RefusalNotice::NotAllowed),
            b"Exceeded MaxStartups" => Some(RefusalNotice::ExceededMaxStartups),
            _ => None,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            RefusalNotice::NotAllowed => "Not allowed at this time",
            RefusalNotice::ExceededMaxStartups => "Exceeded MaxStartups",
        }
    }
}

/// Everything that can end [`super::exchange`] early. Serialized as a
/// probe's `cause` (`{"stage": "ssh", "error": "closed_before_banner",
/// "close": "fin", "notice": "not_allowed"}`).
#[derive(Debug, Clone, thiserror::Error, serde::Serialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum SshWireError {
    /// The server accepted the TCP connection and closed it (FIN or RST)
    /// without a byte of identification: nothing at all, or only an
    /// OpenSSH listener's refusal notice. Apart from
    /// [`SshWireError::ClosedBeforeIdentification`] because its likely
    /// cause is the server refusing this source (OpenSSH 9.8's
    /// `PerSourcePenalties`, `MaxStartups`), not a wrong service.
    #[error(
        "the server accepted the connection and closed it ({}) before sending any SSH identification{}",
        close.as_str(),
        notice.map(|n| format!(", after only {:?}", n.text())).unwrap_or_default()
    )]
    ClosedBeforeBanner {
        close: Close,
        notice: Option<RefusalNotice>,
    },
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
    /// Serialized with the KEXINIT problem's fields next to `error`
    /// (`"kind": "truncated", "field": ...`).
    #[error("malformed KEXINIT: {0}")]
    MalformedKexInit(#[from] KexInitError),
    #[error("connection closed in the {what}: {received} of {expected} bytes received")]
    Truncated {
        what: &'static str,
        expected: usize,
        received: usize,
    },
    #[error("I/O error: {0}")]
    Io(#[source] IoFailure),
}

impl From<io::Error> for SshWireError {
    fn from(e: io::Error) -> Self {
        SshWireError::Io(e.into())
    }
}

impl SshWireError {
    /// The outcome reason this error leads to.
    pub fn reason(&self) -> Reason {
        use SshWireError::*;
        match self {
            ClosedBeforeBanner {
                close: Close::Reset,
                ..
            } => Reason::Reset,
            ClosedBeforeBanner { .. }
            | ClosedBeforeIdentification { .. }
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
            Io(e) => io_reason(&e.0),
        }
    }
}

/// Whether an I/O error is the peer resetting the connection.
pub(super) fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
    )
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

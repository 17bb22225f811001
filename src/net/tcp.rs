//! TCP connect from a vantage, classified into the closed reason set.
//!
//! The socket is made with socket2 so the vantage's source address and
//! interface (SO_BINDTODEVICE) apply before the SYN leaves; tokio then drives
//! the non-blocking connect.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpSocket, TcpStream};

use crate::config::Vantage;
use crate::outcome::{IoFailure, Reason};

/// Why a connect failed. Serialized as a probe's `cause` (`{"stage":
/// "connect", "error": "refused", "addr": "..."}`); the I/O errors as
/// [`IoFailure`]'s facts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum ConnectError {
    #[error("{addr}: connection refused (RST)")]
    Refused { addr: SocketAddr },
    #[error("{addr}: unreachable ({detail})")]
    Unreachable { addr: SocketAddr, detail: String },
    #[error("{addr}: connection reset")]
    Reset { addr: SocketAddr },
    #[error("{addr}: no answer (SYN timed out)")]
    TimedOut { addr: SocketAddr },
    #[error("cannot set up the socket: {0}")]
    Setup(IoFailure),
    #[error("no socket: the process is out of file descriptors or socket memory ({0})")]
    Resource(IoFailure),
    #[error("{addr}: {source}")]
    Other { addr: SocketAddr, source: IoFailure },
}

impl ConnectError {
    pub fn reason(&self) -> Reason {
        match self {
            ConnectError::Refused { .. } => Reason::Refused,
            ConnectError::Unreachable { .. } => Reason::Unreachable,
            ConnectError::Reset { .. } => Reason::Reset,
            ConnectError::TimedOut { .. } => Reason::Filtered,
            ConnectError::Resource(_) => Reason::Resource,
            ConnectError::Setup(_) | ConnectError::Other { .. } => Reason::Internal,
        }
    }

    fn classify(addr: SocketAddr, e: io::Error) -> Self {
        match e.raw_os_error() {
            Some(libc_code) if libc_code == ECONNREFUSED => ConnectError::Refused { addr },
            Some(c) if UNREACHABLE.contains(&c) => ConnectError::Unreachable {
                addr,
                detail: e.to_string(),
            },
            Some(c) if c == ECONNRESET => ConnectError::Reset { addr },
            Some(c) if c == ETIMEDOUT => ConnectError::TimedOut { addr },
            _ => ConnectError::Other {
                addr,
                source: e.into(),
            },
        }
    }
}

// Linux errno values; the kernel turns ICMP errors into these.
const ECONNREFUSED: i32 = 111;
const ECONNRESET: i32 = 104;
const ETIMEDOUT: i32 = 110;
/// EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENETDOWN, EACCES/EPERM (an ICMP
/// administratively-prohibited answer, or a local firewall reject).
const UNREACHABLE: [i32; 6] = [113, 101, 112, 100, 13, 1];

/// EMFILE, ENFILE, ENOBUFS, ENOMEM: the budget was too generous (another
/// part of the process, or the whole system, holds the descriptors).
const OUT_OF_RESOURCES: [i32; 4] = [24, 23, 105, 12];

/// Connect to `addr` as the vantage. No timeout here: the caller's probe
/// budget bounds it, and a budget that runs out in this phase is `filtered`.
pub(crate) async fn connect(
    addr: SocketAddr,
    vantage: &Vantage,
) -> Result<TcpStream, ConnectError> {
    let socket = prepare(addr, vantage).map_err(|e| match e.raw_os_error() {
        Some(c) if OUT_OF_RESOURCES.contains(&c) => ConnectError::Resource(e.into()),
        _ => ConnectError::Setup(e.into()),
    })?;
    socket
        .connect(addr)
        .await
        .map_err(|e| ConnectError::classify(addr, e))
}

fn prepare(addr: SocketAddr, vantage: &Vantage) -> io::Result<TcpSocket> {
    // Non-blocking from the start (SOCK_NONBLOCK): two fcntl calls fewer per
    // probe. TCP_NODELAY is set by the checks that write (tls, ssh, http);
    // a bare connect never sends a byte.
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )?;
    if let Some(dev) = &vantage.interface {
        socket.bind_device(Some(dev.as_bytes()))?;
    }
    if let Some(src) = vantage.source_address
        && src.is_ipv4() == addr.is_ipv4()
    {
        socket.bind(&SocketAddr::new(src, 0).into())?;
    }
    Ok(TcpSocket::from_std_stream(std::net::TcpStream::from(
        socket,
    )))
}

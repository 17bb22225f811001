//! The resolver's sockets, connected to their server, so the kernel tells
//! us when nobody is there.
//!
//! hickory binds an unconnected UDP socket per query, and Linux delivers
//! ICMP port-unreachable only to connected sockets: a DNS server that is
//! down (a closed port, a host that answers "unreachable") looked exactly
//! like one that drops packets, and every lookup waited its whole timeout.
//! Connected, `recv` fails with `ECONNREFUSED` at once (the wait also
//! listens for the socket's error readiness: the kernel signals the ICMP
//! error as `EPOLLERR`, never as readable); hickory's server pool
//! then tries the next server, and only when every server failed that way
//! does the lookup end, with the I/O error that [`super::dns`] reports as
//! "server unreachable". A connected socket also drops datagrams from any
//! other source, which hickory would have ignored anyway.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::iocompat::AsyncIoTokioAsStd;
use hickory_resolver::net::runtime::{
    DnsUdpSocket, RuntimeProvider, TokioHandle, TokioRuntimeProvider, TokioTime,
};
use tokio::io::Interest;
use tokio::net::{TcpStream, UdpSocket};

/// [`TokioRuntimeProvider`] with UDP sockets connected to the server.
#[derive(Clone, Default)]
pub(crate) struct ConnectedUdp(TokioRuntimeProvider);

impl RuntimeProvider for ConnectedUdp {
    type Handle = TokioHandle;
    type Timer = TokioTime;
    type Udp = Connected;
    type Tcp = AsyncIoTokioAsStd<TcpStream>;

    fn create_handle(&self) -> Self::Handle {
        self.0.create_handle()
    }

    fn connect_tcp(
        &self,
        server_addr: SocketAddr,
        bind_addr: Option<SocketAddr>,
        timeout: Option<Duration>,
    ) -> Pin<Box<dyn Send + Future<Output = Result<Self::Tcp, io::Error>>>> {
        self.0.connect_tcp(server_addr, bind_addr, timeout)
    }

    fn bind_udp(
        &self,
        local_addr: SocketAddr,
        server_addr: SocketAddr,
    ) -> Pin<Box<dyn Send + Future<Output = Result<Self::Udp, io::Error>>>> {
        Box::pin(async move {
            let socket = UdpSocket::bind(local_addr).await?;
            // No packet is sent: connect only fixes the peer.
            socket.connect(server_addr).await?;
            Ok(Connected(socket))
        })
    }
}

/// A UDP socket connected to its DNS server.
pub(crate) struct Connected(UdpSocket);

#[async_trait::async_trait]
impl DnsUdpSocket for Connected {
    type Time = TokioTime;

    fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        DnsUdpSocket::poll_recv_from(&self.0, cx, buf)
    }

    /// Wait for a datagram or the socket's error, whichever comes first.
    async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let mut interest = Interest::READABLE | Interest::ERROR;
        loop {
            let ready = self.0.ready(interest).await?;
            if ready.is_error() {
                if let Some(e) = self.0.take_error()? {
                    return Err(e);
                }
                // Error readiness without an error: wait for data only,
                // or the stale readiness would spin this loop.
                interest = Interest::READABLE;
            }
            match self.0.try_recv_from(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                r => return r,
            }
        }
    }

    fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.0.poll_send_to(cx, buf, target)
    }
}

/// Whether a resolver error means "nobody serves DNS there" (as opposed
/// to silence, which only a timeout can tell).
pub(crate) fn is_unreachable(e: &NetError) -> bool {
    match e {
        NetError::NoConnections => true,
        NetError::Io(e) => matches!(
            e.kind(),
            io::ErrorKind::ConnectionRefused
                | io::ErrorKind::HostUnreachable
                | io::ErrorKind::NetworkUnreachable
        ),
        _ => false,
    }
}

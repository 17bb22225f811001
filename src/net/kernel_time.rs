//! Phase timings from the kernel, so the prober's own scheduling delay does
//! not inflate them.
//!
//! A probe that measures with `Instant::now()` around an `.await` also
//! counts the time its task waited to be polled after the packet arrived:
//! with thousands of flows sharing two cores that is milliseconds. The
//! kernel knows better:
//! - connect: `TCP_INFO`'s `tcpi_rtt` right after the handshake is the
//!   SYN to SYN-ACK round trip (the first RTT sample). When the SYN was
//!   retransmitted there is no clean sample and the wall time stands.
//! - TLS: with `SO_TIMESTAMPNS` every read carries the time its last
//!   segment reached the socket. The handshake is "ClientHello written"
//!   (taken in the task, right after the write) to "last handshake bytes
//!   arrived" (taken by the kernel).
//!
//! Both are only ever used when they are shorter than the wall time.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant, SystemTime};

use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

/// The SYN to SYN-ACK round trip of a connected socket, if the kernel took
/// a clean sample (no retransmitted SYN).
pub(crate) fn connect_rtt(stream: &TcpStream) -> Option<Duration> {
    let info = tcp_info(stream.as_raw_fd())?;
    (info.tcpi_total_retrans == 0 && info.tcpi_rtt > 0)
        .then(|| Duration::from_micros(u64::from(info.tcpi_rtt)))
}

fn tcp_info(fd: RawFd) -> Option<libc::tcp_info> {
    // SAFETY: tcp_info is plain old data, so all-zero is a valid value; the
    // kernel writes at most `len` bytes into it.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` and `len` outlive the call and `len` is its size.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(info)
}

/// When the first byte was written and the last bytes arrived, as
/// nanoseconds after `base` (0: not yet).
#[derive(Debug)]
pub struct Stamps {
    base: Instant,
    first_write: AtomicU64,
    last_arrival: AtomicU64,
}

impl Stamps {
    fn at(&self, t: Instant) -> u64 {
        (t.saturating_duration_since(self.base).as_nanos() as u64).max(1)
    }

    /// From the first write to the arrival of the last bytes read.
    pub fn exchange(&self) -> Option<Duration> {
        let w = self.first_write.load(Ordering::Relaxed);
        let a = self.last_arrival.load(Ordering::Relaxed);
        (w > 0 && a > w).then(|| Duration::from_nanos(a - w))
    }
}

/// A TCP stream that records [`Stamps`] as it is used; reads go through
/// `recvmsg` to collect the kernel's receive timestamps.
#[derive(Debug)]
pub struct StampedStream {
    inner: TcpStream,
    stamps: Arc<Stamps>,
    /// The kernel accepted SO_TIMESTAMPNS; without it arrival is the read.
    kernel: bool,
}

impl StampedStream {
    pub fn new(inner: TcpStream) -> (Self, Arc<Stamps>) {
        let kernel = enable_rx_timestamps(inner.as_raw_fd());
        let stamps = Arc::new(Stamps {
            base: Instant::now(),
            first_write: AtomicU64::new(0),
            last_arrival: AtomicU64::new(0),
        });
        (
            StampedStream {
                inner,
                stamps: Arc::clone(&stamps),
                kernel,
            },
            stamps,
        )
    }

    fn arrived(&self, kernel_time: Option<SystemTime>) {
        let now = Instant::now();
        // How long the bytes waited in the socket before this read; a
        // clock step (negative or absurd age) falls back to the read time.
        let age = kernel_time
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .filter(|a| *a < Duration::from_secs(60))
            .unwrap_or_default();
        let at = now.checked_sub(age).unwrap_or(now);
        self.stamps
            .last_arrival
            .store(self.stamps.at(at), Ordering::Relaxed);
    }
}

/// A stream whose stamps nobody reads.
impl From<TcpStream> for StampedStream {
    fn from(inner: TcpStream) -> Self {
        StampedStream::new(inner).0
    }
}

fn enable_rx_timestamps(fd: RawFd) -> bool {
    let on: libc::c_int = 1;
    // SAFETY: `on` is a c_int that outlives the call, as SO_TIMESTAMPNS
    // expects.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&raw const on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    rc == 0
}

/// One `recvmsg` into `buf`; the receive timestamp if the kernel sent one.
fn recv_stamped(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, Option<SystemTime>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // u64 words keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; 8];
    // SAFETY: msghdr is plain old data; all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: iov points at `buf` (len bytes, writable) and msg_control at
    // `control`; both outlive the call.
    let n = unsafe { libc::recvmsg(fd, &raw mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut stamp = None;
    // SAFETY: the CMSG_* helpers walk the control buffer the kernel filled,
    // bounded by msg_controllen; the timespec is read unaligned from the
    // data of a header that says it holds one.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&raw const msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET
                && (*c).cmsg_type == libc::SCM_TIMESTAMPNS
                && (*c).cmsg_len as usize
                    >= libc::CMSG_LEN(std::mem::size_of::<libc::timespec>() as u32) as usize
            {
                let ts: libc::timespec =
                    std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::timespec>());
                if let (Ok(s), Ok(ns)) = (u64::try_from(ts.tv_sec), u32::try_from(ts.tv_nsec)) {
                    stamp = SystemTime::UNIX_EPOCH.checked_add(Duration::new(s, ns));
                }
            }
            c = libc::CMSG_NXTHDR(&raw const msg, c);
        }
    }
    Ok((n as usize, stamp))
}

impl AsyncRead for StampedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.kernel {
            let before = buf.filled().len();
            ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
            if buf.filled().len() > before {
                this.arrived(None);
            }
            return Poll::Ready(Ok(()));
        }
        let fd = this.inner.as_raw_fd();
        loop {
            ready!(this.inner.poll_read_ready(cx))?;
            let dst = buf.initialize_unfilled();
            match this
                .inner
                .try_io(Interest::READABLE, || recv_stamped(fd, dst))
            {
                Ok((n, stamp)) => {
                    if n > 0 {
                        this.arrived(stamp);
                    }
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for StampedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, data))?;
        if n > 0 && this.stamps.first_write.load(Ordering::Relaxed) == 0 {
            let at = this.stamps.at(Instant::now());
            this.stamps.first_write.store(at, Ordering::Relaxed);
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

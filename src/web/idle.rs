//! The idle deadline of a web connection: one that moves no byte for
//! `idle_timeout` while no request is in a handler is closed. The header
//! deadline cuts a client that is slow to ask; this one cuts a client that
//! asked and stopped reading the answer (a `/metrics` body half-read
//! forever holds a descriptor and an encoding slot), or that sends a body
//! byte a minute. A handler that takes long (`POST /api/v1/check` waits
//! for its probes) is not idle.
//!
//! When every connection slot is taken and another client arrives, the
//! most idle connection is closed to make room ([`Connections`]): 2,000
//! clients that connect and say nothing must not keep Prometheus out for
//! a header deadline per 512 of them.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// When a connection last moved a byte, and how many of its requests are
/// in a handler now.
#[derive(Debug)]
pub(crate) struct Activity {
    start: Instant,
    /// Milliseconds after `start`.
    last: AtomicU64,
    busy: AtomicUsize,
}

impl Activity {
    pub(super) fn new() -> Arc<Activity> {
        Arc::new(Activity {
            start: Instant::now(),
            last: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
        })
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last.load(Ordering::Relaxed))
    }

    /// Marks a request as in its handler until the guard drops.
    pub(crate) fn busy(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::Relaxed);
        Busy(Arc::clone(self))
    }

    /// Returns once the connection has been idle for `idle`.
    pub(crate) async fn expired(&self, idle: Duration) {
        loop {
            let due = self.last() + idle;
            tokio::time::sleep_until(due).await;
            if self.busy.load(Ordering::Relaxed) == 0 && self.last() + idle <= Instant::now() {
                return;
            }
            if self.busy.load(Ordering::Relaxed) > 0 {
                // A handler is running: look again after another period.
                self.touch();
            }
        }
    }
}

/// The open connections, so that the most idle one can be closed when a
/// new client finds every slot taken.
#[derive(Default)]
pub(crate) struct Connections {
    inner: parking_lot::Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    next: u64,
    open: HashMap<u64, (Arc<Activity>, CancellationToken)>,
}

/// A connection's entry; dropping it (the connection ended) removes it.
pub(super) struct Registered {
    pool: Arc<Connections>,
    id: u64,
    pub evicted: CancellationToken,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.pool.inner.lock().open.remove(&self.id);
    }
}

impl Connections {
    pub(crate) fn register(self: &Arc<Self>, activity: &Arc<Activity>) -> Registered {
        let evicted = CancellationToken::new();
        let mut g = self.inner.lock();
        let id = g.next;
        g.next += 1;
        g.open.insert(id, (Arc::clone(activity), evicted.clone()));
        Registered {
            pool: Arc::clone(self),
            id,
            evicted,
        }
    }

    /// Close the connection that has moved no byte for longest and has no
    /// request in a handler; false when every one is busy.
    pub(crate) fn evict_most_idle(&self) -> bool {
        let mut g = self.inner.lock();
        let victim = g
            .open
            .iter()
            .filter(|(_, (a, _))| a.busy.load(Ordering::Relaxed) == 0)
            .min_by_key(|(_, (a, _))| a.last.load(Ordering::Relaxed))
            .map(|(id, _)| *id);
        match victim.and_then(|id| g.open.remove(&id)) {
            Some((_, token)) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().open.len()
    }
}

/// A request in its handler (see [`Activity::busy`]).
pub(super) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A stream that records each read or written byte in an [`Activity`].
pub(crate) struct Tracked<I> {
    inner: I,
    activity: Arc<Activity>,
}

impl<I> Tracked<I> {
    pub(super) fn new(inner: I, activity: Arc<Activity>) -> Tracked<I> {
        activity.touch();
        Tracked { inner, activity }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Tracked<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Tracked<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_expires_and_a_busy_one_does_not() {
        let a = Activity::new();
        let t0 = Instant::now();
        a.expired(Duration::from_secs(60)).await;
        assert!(t0.elapsed() >= Duration::from_secs(60));

        let a = Activity::new();
        let guard = a.busy();
        let waiting =
            tokio::time::timeout(Duration::from_secs(600), a.expired(Duration::from_secs(60)));
        assert!(
            waiting.await.is_err(),
            "a request in its handler keeps it open"
        );
        drop(guard);
        let t1 = Instant::now();
        a.expired(Duration::from_secs(60)).await;
        assert!(t1.elapsed() >= Duration::from_secs(59));
    }

    #[tokio::test(start_paused = true)]
    async fn the_most_idle_connection_that_is_not_busy_is_evicted() {
        let pool = Arc::new(Connections::default());
        let (old, busy_old, young) = (Activity::new(), Activity::new(), Activity::new());
        let _b = busy_old.busy();
        tokio::time::advance(Duration::from_secs(5)).await;
        young.touch();
        let (r_old, r_busy, r_young) = (
            pool.register(&old),
            pool.register(&busy_old),
            pool.register(&young),
        );
        assert!(pool.evict_most_idle());
        assert!(r_old.evicted.is_cancelled(), "the oldest idle one goes");
        assert!(!r_busy.evicted.is_cancelled() && !r_young.evicted.is_cancelled());
        assert!(pool.evict_most_idle());
        assert!(r_young.evicted.is_cancelled());
        assert!(
            !pool.evict_most_idle(),
            "a busy connection is never evicted"
        );
        drop(r_busy);
        assert_eq!(pool.len(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_moved_push_the_deadline_back() {
        let (client, server) = tokio::io::duplex(64);
        let a = Activity::new();
        let mut s = Tracked::new(server, Arc::clone(&a));
        let mut c = client;
        let t0 = Instant::now();
        let talk = async {
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_secs(30)).await;
                tokio::io::AsyncWriteExt::write_all(&mut c, b"x")
                    .await
                    .expect("write");
                let mut b = [0u8; 1];
                tokio::io::AsyncReadExt::read_exact(&mut s, &mut b)
                    .await
                    .expect("read");
            }
        };
        talk.await;
        a.expired(Duration::from_secs(60)).await;
        assert!(t0.elapsed() >= Duration::from_secs(150 + 60));
    }
}

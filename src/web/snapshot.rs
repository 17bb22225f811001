//! Expensive responses encoded once per state, not once per client: every
//! reader of `/api/v1/flows` (or the overview) that arrives while an
//! encoding runs waits for it and gets the same shared bytes, and a reader
//! that finds bytes already encoded from the current state takes them as
//! they are. So N concurrent readers cost about one encoding, and the
//! memory of one body. Beyond a cap of waiting readers the answer is 503
//! at once, so a crowd of clients cannot queue without bound. The gzip
//! form is made the same way: once per encoding, when the first reader
//! that accepts it asks.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{Mutex, Semaphore};

/// Readers (encoding or waiting) per snapshot; the rest get 503.
pub(crate) const MAX_READERS: usize = 64;

/// Why a reader got no bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum SnapshotError {
    #[error("{0} requests are already waiting for this response; retry in a second")]
    Busy(usize),
    #[error("encoding failed: {0}")]
    Encode(String),
}

/// One encoding, the state version it was made from, and its gzip form
/// once a reader wanted it.
struct Cached {
    version: u64,
    plain: Bytes,
    gzip: Option<Bytes>,
}

/// One cached encoding.
pub(crate) struct Snapshot {
    cached: Mutex<Option<Cached>>,
    readers: Arc<Semaphore>,
    cap: usize,
}

impl Snapshot {
    pub(crate) fn new(cap: usize) -> Self {
        Snapshot {
            cached: Mutex::new(None),
            readers: Arc::new(Semaphore::new(cap)),
            cap,
        }
    }

    /// Bytes that include every change up to `version` (the state's version
    /// when the reader arrived): the cached ones when they are at least that
    /// new, otherwise one fresh encoding by `encode` (on the blocking pool)
    /// which the readers queued behind it then share. `encode` reads the
    /// state itself and returns the version it encoded (read before it
    /// started) with the bytes. With `gzip` the bytes are the gzip form of
    /// that encoding, compressed once and shared the same way.
    pub(crate) async fn get<F>(
        &self,
        version: u64,
        gzip: bool,
        encode: F,
    ) -> Result<Bytes, SnapshotError>
    where
        F: FnOnce() -> Result<(u64, Bytes), String> + Send + 'static,
    {
        let Ok(_permit) = Arc::clone(&self.readers).try_acquire_owned() else {
            return Err(SnapshotError::Busy(self.cap));
        };
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_mut()
            && c.version >= version
        {
            if !gzip {
                return Ok(c.plain.clone());
            }
            if let Some(gz) = &c.gzip {
                return Ok(gz.clone());
            }
            let plain = c.plain.clone();
            let gz = blocking(move || super::gzip::compress(&plain)).await?;
            c.gzip = Some(gz.clone());
            return Ok(gz);
        }
        let (version, plain, gz) = blocking(move || {
            let (v, plain) = encode()?;
            let gz = if gzip {
                Some(super::gzip::compress(&plain)?)
            } else {
                None
            };
            Ok((v, plain, gz))
        })
        .await?;
        let out = gz.clone().unwrap_or_else(|| plain.clone());
        *cached = Some(Cached {
            version,
            plain,
            gzip: gz,
        });
        Ok(out)
    }
}

/// `f` on the blocking pool, its failure as [`SnapshotError::Encode`].
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, SnapshotError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SnapshotError::Encode(e.to_string()))?
        .map_err(SnapshotError::Encode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_readers_share_one_encoding_per_version() {
        let snap = Arc::new(Snapshot::new(MAX_READERS));
        let encodings = Arc::new(AtomicUsize::new(0));
        let read = |version: u64| {
            let (snap, encodings) = (Arc::clone(&snap), Arc::clone(&encodings));
            tokio::spawn(async move {
                snap.get(version, false, move || {
                    encodings.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(50));
                    Ok((version, Bytes::from(vec![b'x'; 1 << 20])))
                })
                .await
            })
        };
        let readers: Vec<_> = (0..50).map(|_| read(7)).collect();
        let mut bodies = Vec::new();
        // Bounded: this test once sat for minutes inside a loaded full
        // `--lib` run (never on its own); a hang fails here, with what had
        // happened, instead of holding CI.
        let all = async {
            for r in readers {
                bodies.push(r.await.expect("join").expect("bytes"));
            }
        };
        if tokio::time::timeout(Duration::from_secs(60), all)
            .await
            .is_err()
        {
            panic!(
                "50 readers not served in 60 s: {} encodings, {} permits free",
                encodings.load(Ordering::SeqCst),
                snap.readers.available_permits()
            );
        }
        assert_eq!(
            encodings.load(Ordering::SeqCst),
            1,
            "50 readers, one encoding"
        );
        // Shared, not copied: every body is the same allocation.
        assert!(bodies.iter().all(|b| b.as_ptr() == bodies[0].as_ptr()));
        // The same version again is served from the cache; a newer one
        // encodes once more.
        read(7).await.expect("join").expect("bytes");
        assert_eq!(encodings.load(Ordering::SeqCst), 1);
        read(8).await.expect("join").expect("bytes");
        assert_eq!(encodings.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_gzip_form_is_made_once_per_encoding_and_decodes_to_it() {
        use std::io::Read;
        let snap = Snapshot::new(MAX_READERS);
        let body = Bytes::from("{\"flows\": []}\n".repeat(500));
        let gunzip = |gz: &Bytes| {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_end(&mut out)
                .expect("gunzip");
            out
        };
        let plain = snap
            .get(1, false, {
                let body = body.clone();
                move || Ok((1, body))
            })
            .await
            .expect("plain");
        assert_eq!(plain, body);
        // A later reader of the same version that accepts gzip gets the
        // compressed form of the cached encoding (no new encoding).
        let gz = snap
            .get(1, true, || Err("not called".into()))
            .await
            .expect("gzip");
        assert_eq!(gunzip(&gz), body);
        assert!(gz.len() * 10 < body.len());
        let again = snap
            .get(1, true, || Err("not called".into()))
            .await
            .expect("gzip");
        assert_eq!(again.as_ptr(), gz.as_ptr(), "compressed once, shared");
        // A new version that a gzip reader asks for first is encoded and
        // compressed in one go; the plain form is kept for the others.
        let gz = snap
            .get(2, true, || Ok((2, Bytes::from_static(b"two"))))
            .await
            .expect("gzip");
        assert_eq!(gunzip(&gz), b"two");
        let plain = snap
            .get(2, false, || Err("not called".into()))
            .await
            .expect("plain");
        assert_eq!(plain, Bytes::from_static(b"two"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn readers_beyond_the_cap_are_refused_at_once() {
        let snap = Arc::new(Snapshot::new(2));
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
        let slow = {
            let snap = Arc::clone(&snap);
            tokio::spawn(async move {
                snap.get(1, false, move || {
                    let _ = started_tx.send(());
                    // Also ends when `release` is dropped by a failing test.
                    let _ = held.recv();
                    Ok((1, Bytes::from_static(b"ok")))
                })
                .await
            })
        };
        // The second reader is spawned only once the first one encodes
        // (and so holds the cache lock): spawned together, the second could
        // win the lock, run its own encoding and free its permit, and the
        // wait for both permits below never ended (CI sat on it for an
        // hour).
        tokio::time::timeout(Duration::from_secs(30), started)
            .await
            .expect("the first reader encodes within 30 s")
            .expect("the first reader encodes");
        let waiting = {
            let snap = Arc::clone(&snap);
            tokio::spawn(async move { snap.get(1, false, || Err("not called".into())).await })
        };
        let both_in = async {
            while snap.readers.available_permits() > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(30), both_in)
            .await
            .is_err()
        {
            panic!(
                "two readers not in within 30 s: {} permits free",
                snap.readers.available_permits()
            );
        }
        let third = snap.get(1, false, || Err("not called".into())).await;
        assert_eq!(third, Err(SnapshotError::Busy(2)));
        release.send(()).expect("release");
        let both = async { (slow.await, waiting.await) };
        let (slow, waiting) = tokio::time::timeout(Duration::from_secs(30), both)
            .await
            .expect("both readers answered within 30 s");
        assert_eq!(slow.expect("join"), Ok(Bytes::from_static(b"ok")));
        assert_eq!(waiting.expect("join"), Ok(Bytes::from_static(b"ok")));
    }
}

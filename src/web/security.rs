//! The web configuration in force, and its re-reading: the file and the
//! certificate, key and CA files it names are polled, so a rotated
//! certificate or a changed password is served without a restart. A file
//! that no longer loads keeps the last good configuration and says why,
//! once per change.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::http::{HeaderName, HeaderValue};
use parking_lot::{Mutex, RwLock};
use rustls::ServerConfig;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::config::web_config::{WebConfig, load_web_config};

/// How often the files are looked at.
pub(crate) const POLL: Duration = Duration::from_secs(2);

/// bcrypt checks at once per lane: each costs tens of milliseconds of CPU,
/// so a flood of wrong passwords takes at most one core from the probes.
/// Two lanes: sources with a failure in the window queue in one, sources
/// without in the other, so a correct first login never waits behind an
/// attacker's checks (at most behind one other clean source's).
const CONCURRENT_VERIFIES: usize = 1;

/// Successful checks remembered, so a scrape every few seconds does not
/// pay bcrypt each time (exporter-toolkit caches them too).
const VERIFIED_CACHE: usize = 64;
/// Failed checks one source address may cost per window before its further
/// unknown credentials are refused without a check: a flood of wrong
/// passwords from one place queues no bcrypt work in front of Prometheus.
const FAILURES_PER_SOURCE: u32 = 10;
const FAILURE_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);
/// Checks one source address may have waiting or running at once; more
/// are refused without a check, so one place cannot fill the queue.
const PENDING_PER_SOURCE: u32 = 2;
/// Sources and failed credentials remembered (cleared when full).
const FAILURE_MEMORY: usize = 4096;

/// A bcrypt hash of nothing anyone knows: an unknown user costs as much
/// as a wrong password, so timing does not tell which names exist.
const DUMMY_HASH: &str = "$2b$10$wMJ6vRip5dKBnUScF1Infuso53O/F4qjnBGXg3i.q5OXRatNcewai";

/// One loaded web configuration, ready to serve.
pub(crate) struct Active {
    pub tls: Option<Arc<ServerConfig>>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    users: std::collections::BTreeMap<String, String>,
    verified: Mutex<HashSet<[u8; 32]>>,
    /// Credentials that failed: refused again without a check.
    failed: Mutex<HashSet<[u8; 32]>>,
    /// Failed checks per source address in the current window.
    failures: Mutex<std::collections::HashMap<std::net::IpAddr, (u32, std::time::Instant)>>,
    /// Checks waiting or running per source address.
    pending: Mutex<std::collections::HashMap<std::net::IpAddr, u32>>,
    verifying: Semaphore,
    /// The lane of sources with no failure in the window.
    clean: Semaphore,
}

/// One pending check of a source; ends its count on drop.
struct Pending<'a> {
    map: &'a Mutex<std::collections::HashMap<std::net::IpAddr, u32>>,
    ip: Option<std::net::IpAddr>,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if let Some(ip) = self.ip {
            let mut map = self.map.lock();
            if let Some(n) = map.get_mut(&ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    map.remove(&ip);
                }
            }
        }
    }
}

impl Active {
    fn plain() -> Active {
        Active::from(WebConfig::default(), None)
    }

    fn from(c: WebConfig, tls: Option<Arc<ServerConfig>>) -> Active {
        let headers = c
            .headers
            .iter()
            .filter_map(|(n, v)| {
                Some((
                    HeaderName::try_from(n.as_str()).ok()?,
                    HeaderValue::try_from(v.as_str()).ok()?,
                ))
            })
            .collect();
        Active {
            tls,
            headers,
            users: c.users,
            verified: Mutex::new(HashSet::new()),
            failed: Mutex::new(HashSet::new()),
            failures: Mutex::new(std::collections::HashMap::new()),
            pending: Mutex::new(std::collections::HashMap::new()),
            verifying: Semaphore::new(CONCURRENT_VERIFIES),
            clean: Semaphore::new(CONCURRENT_VERIFIES),
        }
    }

    /// Whether requests must carry basic-auth credentials.
    pub(crate) fn requires_auth(&self) -> bool {
        !self.users.is_empty()
    }

    /// Check a user's password against its bcrypt hash (constant-time
    /// comparison inside `bcrypt::verify`), off the runtime's workers, at
    /// most [`CONCURRENT_VERIFIES`] at a time. Known-good credentials are
    /// answered from a cache, known-bad ones refused at once, and a source
    /// (`None`: unknown) past [`FAILURES_PER_SOURCE`] failures in the
    /// window gets no check for new credentials until the window ends.
    pub(crate) async fn verify(
        &self,
        user: &str,
        password: &str,
        source: Option<std::net::IpAddr>,
    ) -> bool {
        let known = self.users.get(user);
        let hash = known.map_or(DUMMY_HASH, String::as_str).to_string();
        let key: [u8; 32] = Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update([0])
            .chain_update(password.as_bytes())
            .chain_update([0])
            .chain_update(hash.as_bytes())
            .finalize()
            .into();
        if known.is_some() && self.verified.lock().contains(&key) {
            return true;
        }
        if self.failed.lock().contains(&key) || self.locked_out(source) {
            return false;
        }
        let Some(_pending) = self.begin(source) else {
            return false;
        };
        let lane = if self.has_failed(source) {
            &self.verifying
        } else {
            &self.clean
        };
        let Ok(_permit) = lane.acquire().await else {
            return false;
        };
        // What happened while this one waited.
        if self.failed.lock().contains(&key) || self.locked_out(source) {
            return false;
        }
        let ok = check_password(password.to_string(), hash).await;
        if ok && known.is_some() {
            let mut v = self.verified.lock();
            if v.len() >= VERIFIED_CACHE {
                v.clear();
            }
            v.insert(key);
            true
        } else {
            let mut f = self.failed.lock();
            if f.len() >= FAILURE_MEMORY {
                f.clear();
            }
            f.insert(key);
            drop(f);
            self.count_failure(source);
            false
        }
    }

    /// A pending check of `source`, or `None` when it has its share.
    fn begin(&self, source: Option<std::net::IpAddr>) -> Option<Pending<'_>> {
        if let Some(ip) = source {
            let mut map = self.pending.lock();
            let n = map.entry(ip).or_insert(0);
            if *n >= PENDING_PER_SOURCE {
                return None;
            }
            *n += 1;
        }
        Some(Pending {
            map: &self.pending,
            ip: source,
        })
    }

    /// Whether `source` (`None`: unknown, counted as failed) has a failure
    /// in the current window.
    fn has_failed(&self, source: Option<std::net::IpAddr>) -> bool {
        let Some(ip) = source else { return true };
        self.failures
            .lock()
            .get(&ip)
            .is_some_and(|(n, since)| *n > 0 && since.elapsed() < FAILURE_WINDOW)
    }

    fn locked_out(&self, source: Option<std::net::IpAddr>) -> bool {
        let Some(ip) = source else { return false };
        self.failures
            .lock()
            .get(&ip)
            .is_some_and(|(n, since)| *n >= FAILURES_PER_SOURCE && since.elapsed() < FAILURE_WINDOW)
    }

    fn count_failure(&self, source: Option<std::net::IpAddr>) {
        let Some(ip) = source else { return };
        let mut map = self.failures.lock();
        if map.len() >= FAILURE_MEMORY && !map.contains_key(&ip) {
            map.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
            if map.len() >= FAILURE_MEMORY {
                map.clear();
            }
        }
        let now = std::time::Instant::now();
        let entry = map.entry(ip).or_insert((0, now));
        if entry.1.elapsed() >= FAILURE_WINDOW {
            *entry = (0, now);
        }
        entry.0 += 1;
    }
}

/// The threads that run bcrypt checks, started by [`start_verifiers`].
static VERIFIERS: std::sync::OnceLock<std::sync::mpsc::SyncSender<Job>> =
    std::sync::OnceLock::new();

/// A check to run: the password, the hash, where the answer goes.
type Job = (String, String, tokio::sync::oneshot::Sender<bool>);

/// Starts the threads that run bcrypt checks, one per lane, from the
/// calling thread so they keep its CPU priority: the daemon calls it before
/// the web server's thread lowers its own ([`super::thread`]), so a correct
/// login's check is not slowed by the requests around it. Idempotent.
pub(crate) fn start_verifiers() {
    VERIFIERS.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(2 * CONCURRENT_VERIFIES);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..2 * CONCURRENT_VERIFIES {
            let rx = Arc::clone(&rx);
            let started = std::thread::Builder::new()
                .name(format!("flowprobe-bcrypt-{i}"))
                .spawn(move || {
                    loop {
                        // One job at a time per thread; the lock is held
                        // only while waiting for the next one.
                        let job = rx.lock().recv();
                        let Ok((password, hash, reply)) = job else {
                            return;
                        };
                        let _ = reply.send(bcrypt::verify(password, &hash).unwrap_or(false));
                    }
                });
            if let Err(e) = started {
                tracing::warn!(error = %e, "a bcrypt thread could not start");
            }
        }
        tx
    });
}

/// `bcrypt::verify` on a verifier thread when started, else on the
/// runtime's blocking pool (tests, and callers that never started them).
async fn check_password(mut password: String, mut hash: String) -> bool {
    if let Some(tx) = VERIFIERS.get() {
        let (reply, answer) = tokio::sync::oneshot::channel();
        // The lanes admit at most as many checks as there are threads, so
        // the channel has room; a full or closed one falls through.
        match tx.try_send((password, hash, reply)) {
            Ok(()) => return answer.await.unwrap_or(false),
            Err(
                std::sync::mpsc::TrySendError::Full((p, h, _))
                | std::sync::mpsc::TrySendError::Disconnected((p, h, _)),
            ) => (password, hash) = (p, h),
        }
    }
    tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(false)
}

/// The web configuration of a running daemon.
pub(crate) struct WebSecurity {
    path: Option<PathBuf>,
    current: RwLock<Arc<Active>>,
    seen: Mutex<Fingerprint>,
}

/// Modification time and size of each file the configuration depends on.
type Fingerprint = Vec<Option<(SystemTime, u64)>>;

impl WebSecurity {
    /// Load `path` (none: plain HTTP without authentication). The first
    /// load must succeed.
    pub(crate) fn load(path: Option<&Path>) -> Result<Arc<WebSecurity>, String> {
        let (active, seen) = match path {
            None => (Active::plain(), Vec::new()),
            Some(p) => {
                let (c, files) = read(p)?;
                (c, fingerprint(&files))
            }
        };
        Ok(Arc::new(WebSecurity {
            path: path.map(Path::to_path_buf),
            current: RwLock::new(Arc::new(active)),
            seen: Mutex::new(seen),
        }))
    }

    pub(crate) fn current(&self) -> Arc<Active> {
        Arc::clone(&self.current.read())
    }

    /// Poll the files until `cancel`; reload when any changed.
    pub(crate) fn spawn_watch(self: &Arc<Self>, cancel: CancellationToken) {
        let Some(path) = self.path.clone() else {
            return;
        };
        let me = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(POLL) => {}
                }
                let me = Arc::clone(&me);
                let path = path.clone();
                let _ = tokio::task::spawn_blocking(move || me.check(&path)).await;
            }
        });
    }

    fn check(&self, path: &Path) {
        let files = match load_web_config(path) {
            Ok(c) => files_of(path, &c),
            Err(_) => vec![path.to_path_buf()],
        };
        let now = fingerprint(&files);
        if *self.seen.lock() == now {
            return;
        }
        *self.seen.lock() = now;
        match read(path) {
            Ok((active, _)) => {
                *self.current.write() = Arc::new(active);
                tracing::info!(file = %path.display(), "web configuration reloaded");
            }
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "web configuration not reloaded; keeping the last good one");
            }
        }
    }
}

fn read(path: &Path) -> Result<(Active, Vec<PathBuf>), String> {
    let c = load_web_config(path).map_err(|e| {
        e.0.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    let files = files_of(path, &c);
    let tls = match &c.tls {
        Some(t) => {
            Some(super::tls::server_config(t).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    Ok((Active::from(c, tls), files))
}

fn files_of(path: &Path, c: &WebConfig) -> Vec<PathBuf> {
    let mut files = vec![path.to_path_buf()];
    if let Some(t) = &c.tls {
        files.push(t.cert_file.clone());
        files.push(t.key_file.clone());
        files.extend(t.client_ca_file.clone());
    }
    files
}

fn fingerprint(files: &[PathBuf]) -> Fingerprint {
    files
        .iter()
        .map(|f| {
            let m = std::fs::metadata(f).ok()?;
            Some((m.modified().ok()?, m.len()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    /// bcrypt of `flowprobe-example` (deploy/web-config.yml).
    const HASH: &str = "$2b$10$qQpFTYPQONH2LOYsfAWHrujloVDzTJXoJWt37j8/2EyK5iWYUiDPu";

    #[tokio::test]
    async fn a_source_past_its_failures_gets_no_check_and_others_still_log_in() {
        let mut c = WebConfig::default();
        c.users.insert("prometheus".into(), HASH.into());
        let active = Active::from(c, None);
        let (a, b) = (
            Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))),
            Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3))),
        );
        for i in 0..FAILURES_PER_SOURCE {
            assert!(!active.verify("prometheus", &format!("wrong-{i}"), a).await);
        }
        // Locked out: even the right password gets no check from there.
        assert!(!active.verify("prometheus", "flowprobe-example", a).await);
        // Another source logs in, and is then answered from the cache.
        assert!(active.verify("prometheus", "flowprobe-example", b).await);
        assert!(active.verify("prometheus", "flowprobe-example", a).await);
        // A credential that failed fails again (from the failed cache).
        assert!(!active.verify("prometheus", "wrong-0", b).await);
        assert!(!active.verify("nobody", "x", None).await);
    }

    /// With the verifier threads started (as the daemon does before the
    /// web thread lowers its priority), checks run there and still answer.
    #[tokio::test]
    async fn checks_run_on_the_verifier_threads_once_started() {
        start_verifiers();
        start_verifiers();
        assert!(VERIFIERS.get().is_some());
        assert!(check_password("flowprobe-example".into(), HASH.into()).await);
        assert!(!check_password("wrong".into(), HASH.into()).await);
        assert!(!check_password("x".into(), "not a bcrypt hash".into()).await);
    }

    /// A source without failures is checked in its own lane: with the
    /// failed sources' lane held (an attacker's check running), its
    /// correct first login still completes, while a source with a failure
    /// waits for that lane.
    #[tokio::test]
    async fn a_clean_source_does_not_queue_behind_failed_sources() {
        let mut c = WebConfig::default();
        c.users.insert("prometheus".into(), HASH.into());
        let active = Active::from(c, None);
        let (attacker, clean) = (
            Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))),
            Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3))),
        );
        assert!(!active.verify("prometheus", "wrong", attacker).await);
        let held = active.verifying.acquire().await.expect("lane");
        let login = active.verify("prometheus", "flowprobe-example", clean);
        let ok = tokio::time::timeout(Duration::from_secs(30), login)
            .await
            .expect("the clean lane is free");
        assert!(ok);
        // The attacker's next credential needs the held lane: it cannot
        // complete until the lane is released.
        let waiting = active.verify("prometheus", "wrong-again", attacker);
        tokio::pin!(waiting);
        assert!(
            tokio::time::timeout(Duration::from_millis(300), &mut waiting)
                .await
                .is_err()
        );
        drop(held);
        assert!(!waiting.await);
    }
}

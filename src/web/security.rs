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
pub const POLL: Duration = Duration::from_secs(2);

/// bcrypt checks at once: each costs tens of milliseconds of CPU, so a
/// flood of wrong passwords takes at most this many cores from the probes.
const CONCURRENT_VERIFIES: usize = 1;

/// Successful checks remembered, so a scrape every few seconds does not
/// pay bcrypt each time (exporter-toolkit caches them too).
const VERIFIED_CACHE: usize = 64;

/// A bcrypt hash of nothing anyone knows: an unknown user costs as much
/// as a wrong password, so timing does not tell which names exist.
const DUMMY_HASH: &str = "$2b$10$wMJ6vRip5dKBnUScF1Infuso53O/F4qjnBGXg3i.q5OXRatNcewai";

/// One loaded web configuration, ready to serve.
pub struct Active {
    pub tls: Option<Arc<ServerConfig>>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    users: std::collections::BTreeMap<String, String>,
    verified: Mutex<HashSet<[u8; 32]>>,
    verifying: Semaphore,
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
            verifying: Semaphore::new(CONCURRENT_VERIFIES),
        }
    }

    /// Whether requests must carry basic-auth credentials.
    pub fn requires_auth(&self) -> bool {
        !self.users.is_empty()
    }

    /// Check a user's password against its bcrypt hash (constant-time
    /// comparison inside `bcrypt::verify`), off the runtime's workers.
    pub async fn verify(&self, user: &str, password: &str) -> bool {
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
        let Ok(_permit) = self.verifying.acquire().await else {
            return false;
        };
        let password = password.to_string();
        let ok = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false);
        if ok && known.is_some() {
            let mut v = self.verified.lock();
            if v.len() >= VERIFIED_CACHE {
                v.clear();
            }
            v.insert(key);
            true
        } else {
            false
        }
    }
}

/// The web configuration of a running daemon.
pub struct WebSecurity {
    path: Option<PathBuf>,
    current: RwLock<Arc<Active>>,
    seen: Mutex<Fingerprint>,
}

/// Modification time and size of each file the configuration depends on.
type Fingerprint = Vec<Option<(SystemTime, u64)>>;

impl WebSecurity {
    /// Load `path` (none: plain HTTP without authentication). The first
    /// load must succeed.
    pub fn load(path: Option<&Path>) -> Result<Arc<WebSecurity>, String> {
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

    pub fn current(&self) -> Arc<Active> {
        Arc::clone(&self.current.read())
    }

    /// Poll the files until `cancel`; reload when any changed.
    pub fn spawn_watch(self: &Arc<Self>, cancel: CancellationToken) {
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

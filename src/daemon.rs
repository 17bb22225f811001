//! `flowprobe run`: load, prepare, schedule, serve; reload on a hang-up
//! (SIGHUP, sent by the caller) or `POST /-/reload`; stop when the caller's
//! shutdown future completes, within two seconds.
//!
//! Signals and binding stay with the caller (`cli`), so the daemon runs
//! in-process in tests on any listener with any shutdown trigger.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::RwLock;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::{self, Config, Overrides};
use crate::metrics::Metrics;
use crate::net::fds::Budget;
use crate::probe::Prepared;
use crate::probe::board::ChainBoard;
use crate::probe::plan::{Nets, build_nets, descriptor_budget, in_flight_limit, prepare_with};
use crate::schedule::Scheduler;
use crate::state::State;
use crate::web::thread::WebThread;
use crate::web::{self, ReloadRequest};

/// Where a reload reads the configuration from: the file and the command
/// line's overrides of the first load.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    pub path: Option<PathBuf>,
    pub overrides: Overrides,
    /// `--web.enable-lifecycle`: `POST /-/reload` and `/api/v1/check` answer.
    pub lifecycle: bool,
    /// The web server's limits.
    pub limits: web::serve::Limits,
}

/// Everything a load produces, or every reason it failed.
type Loaded = (Config, Nets, Vec<Arc<Prepared>>);

fn load_all(
    path: Option<&PathBuf>,
    overrides: &Overrides,
    board: &Arc<ChainBoard>,
) -> Result<Loaded, Vec<String>> {
    let c = config::load(path.map(|p| p.as_path()), overrides)
        .map_err(|e| e.0.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let nets = build_nets(&c)?;
    let flows = prepare_with(&c, Arc::clone(board))?;
    Ok((c, nets, flows))
}

/// Parsing a large configuration peaks far above the steady state (the TOML
/// tokens of 10,000 flows alone are about 15 MB) and glibc keeps the freed
/// pages resident. Return them once the flow set is in place: at 10k flows
/// that is about a quarter of the daemon's RSS.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers; it only walks glibc's own
    // free lists under the allocator's locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn now_secs() -> f64 {
    crate::text::unix_secs_f64(SystemTime::now())
}

/// Run the daemon on `listener` until `shutdown` completes. Each message
/// on `hangups` reloads the configuration from `source`. The initial load
/// must succeed.
pub async fn run(
    listener: TcpListener,
    initial: Config,
    source: ConfigSource,
    mut hangups: mpsc::Receiver<()>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    let (budget, max_connections) =
        web::serve::reserve_connections(descriptor_budget(), source.limits.max_connections);
    let limits = web::serve::Limits {
        max_connections,
        ..source.limits.clone()
    };
    let cancel = CancellationToken::new();
    let daemon = Daemon::start(&listener, initial, source, budget, &cancel)?;
    let (reload_tx, mut reload_rx) = mpsc::channel::<ReloadRequest>(4);
    let web_cancel = cancel.child_token();
    let server = daemon.serve(listener, &reload_tx, limits, &web_cancel)?;

    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let reply: Option<ReloadRequest> = tokio::select! {
            () = &mut shutdown => break,
            Some(()) = hangups.recv() => None,
            r = reload_rx.recv() => r,
        };
        let result = daemon.reload().await;
        if let Some(reply) = reply {
            let _ = reply.send(result);
        }
    }
    tracing::info!("stopping");
    let clean = daemon.scheduler.shutdown(Duration::from_millis(1500)).await;
    web_cancel.cancel();
    let _ = tokio::time::timeout(Duration::from_millis(400), server.stopped()).await;
    if !clean {
        tracing::warn!("some probes did not stop within the grace period");
    }
    Ok(())
}

/// The running daemon: what the web server and each reload work on.
struct Daemon {
    source: ConfigSource,
    budget: Budget,
    metrics: Arc<Metrics>,
    state: Arc<State>,
    board: Arc<ChainBoard>,
    scheduler: Arc<Scheduler>,
    current: Arc<RwLock<Arc<Config>>>,
    /// The listen address and web configuration file of the initial load:
    /// a reload does not change them.
    configured_listen: SocketAddr,
    configured_web: Option<PathBuf>,
}

impl Daemon {
    /// Prepares and schedules the flows of `initial`; their tasks stop
    /// when `cancel` is cancelled.
    fn start(
        listener: &TcpListener,
        initial: Config,
        source: ConfigSource,
        budget: Budget,
        cancel: &CancellationToken,
    ) -> Result<Daemon, String> {
        let metrics = Arc::new(Metrics::new().map_err(|e| format!("metrics: {e}"))?);
        metrics.configure(&initial.metrics);
        let state = Arc::new(State::new(Arc::clone(&metrics)));
        let nets = build_nets(&initial).map_err(|e| e.join("; "))?;
        let board = ChainBoard::new();
        let flows = prepare_with(&initial, Arc::clone(&board)).map_err(|e| e.join("; "))?;
        let scheduler = Arc::new(Scheduler::new(
            Arc::clone(&state),
            in_flight_limit(&budget, initial.max_in_flight),
            cancel.child_token(),
            crate::schedule::real_prober(),
        ));
        scheduler.apply(flows, &nets);
        release_free_memory();
        metrics.reload_ok.set(1);
        metrics.reload_ts.set(now_secs());
        state.touch();
        let listen = listener
            .local_addr()
            .map_err(|e| format!("listener: {e}"))?;
        tracing::info!(
            listen = %listen,
            flows = state.slots().len(),
            vantages = ?initial.vantages,
            "flowprobe started"
        );
        log_warnings(&initial);
        let configured_listen = initial.listen;
        let configured_web = initial.web_config_file.clone();
        Ok(Daemon {
            source,
            budget,
            metrics,
            state,
            board,
            scheduler,
            current: Arc::new(RwLock::new(Arc::new(initial))),
            configured_listen,
            configured_web,
        })
    }

    /// Starts the web server on `listener`, on its own thread, until
    /// `cancel`; its reload requests are sent on `reload`.
    fn serve(
        &self,
        listener: TcpListener,
        reload: &mpsc::Sender<ReloadRequest>,
        limits: web::serve::Limits,
        cancel: &CancellationToken,
    ) -> Result<WebThread, String> {
        let security = web::security::WebSecurity::load(self.configured_web.as_deref())?;
        let app = web::router(web::AppState {
            state: Arc::clone(&self.state),
            config: Arc::clone(&self.current),
            reload: reload.clone(),
        });
        let app = web::serve::guarded(app, Arc::clone(&security), self.source.lifecycle, &limits);
        security.spawn_watch(cancel.clone());
        // The password checks keep this thread's priority; the web server
        // runs niced on its own thread (`web::thread`).
        web::security::start_verifiers();
        let listener = listener.into_std().map_err(|e| format!("listener: {e}"))?;
        web::thread::spawn(listener, app, security, limits, cancel.clone())
    }

    /// Loads the configuration again and applies it; `Err`: every reason
    /// it failed, and the running configuration stays.
    async fn reload(&self) -> Result<(), Vec<String>> {
        tracing::info!("reloading configuration");
        // Parsing and preparing a large file is CPU work: keep it off the
        // runtime (with one worker it would stall every probe meanwhile).
        let loaded = tokio::task::spawn_blocking({
            let (source, board) = (self.source.clone(), Arc::clone(&self.board));
            move || load_all(source.path.as_ref(), &source.overrides, &board)
        })
        .await
        .unwrap_or_else(|e| Err(vec![format!("reload task failed: {e}")]));
        match loaded {
            Ok((c, nets, flows)) => {
                self.apply(c, nets, flows).await;
                Ok(())
            }
            Err(errors) => {
                self.metrics.reload_ok.set(0);
                self.state.touch();
                for e in &errors {
                    tracing::error!(error = %e, "reload failed; keeping the running configuration");
                }
                Err(errors)
            }
        }
    }

    /// Puts a reloaded configuration and its flows in place of the running
    /// ones.
    async fn apply(&self, c: Config, nets: Nets, flows: Vec<Arc<Prepared>>) {
        if c.listen != self.configured_listen {
            tracing::warn!(old = %self.configured_listen, new = %c.listen, "listen address changes need a restart; keeping the old one");
        }
        if c.web_config_file != self.configured_web {
            tracing::warn!(
                "a different web configuration file needs a restart; the running one is still re-read when it changes"
            );
        }
        // Building 100,000 flows' series takes seconds: off the
        // probe thread too. Flow tasks are spawned from there.
        self.scheduler
            .set_limit(in_flight_limit(&self.budget, c.max_in_flight));
        self.metrics.configure(&c.metrics);
        let applied = tokio::task::spawn_blocking({
            let scheduler = Arc::clone(&self.scheduler);
            move || {
                scheduler.apply(flows, &nets);
                release_free_memory();
            }
        })
        .await;
        if let Err(e) = applied {
            tracing::error!(error = %e, "applying the reloaded flows failed");
        }
        log_warnings(&c);
        *self.current.write() = Arc::new(c);
        self.metrics.reload_ok.set(1);
        self.metrics.reload_ts.set(now_secs());
        self.state.touch();
        tracing::info!(flows = self.state.slots().len(), "configuration reloaded");
    }
}

/// The configuration's warnings (`config check` prints the same), once per
/// load: a schedule the SSH pace cannot keep, for one.
fn log_warnings(c: &crate::config::Config) {
    for w in crate::config::warnings(c) {
        tracing::warn!(key = %w.key, origin = %w.origin, "{}", w.message);
    }
}

//! `flowprobe run`: load, prepare, schedule, serve; reload on SIGHUP or
//! `POST /-/reload`; stop on SIGTERM/SIGINT within two seconds.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::config::CheckSpec;
use crate::config::{self, Config, Overrides};
use crate::metrics::Metrics;
use crate::net::dns::Resolver;
use crate::net::fds::{self, Budget};
use crate::probe::board::ChainBoard;
use crate::probe::{Prepared, VantageNet};
use crate::schedule::Scheduler;
use crate::state::State;
use crate::web;

/// A reload request; the answer lists every error when it failed.
pub type ReloadRequest = oneshot::Sender<Result<(), Vec<String>>>;

/// Build every selected vantage's network identity.
pub fn build_nets(c: &Config) -> Result<Nets, Vec<String>> {
    let mut nets = BTreeMap::new();
    let mut errors = Vec::new();
    for name in &c.vantages {
        let vantage = c.vantage(name);
        match Resolver::for_vantage(&vantage) {
            Ok(resolver) => {
                nets.insert(name.clone(), Arc::new(VantageNet { vantage, resolver }));
            }
            Err(e) => errors.push(format!("vantage.{name}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(nets)
    } else {
        Err(errors)
    }
}

/// Prepare every active flow once (checks build their clients here).
pub fn prepare(c: &Config) -> Result<Vec<Arc<Prepared>>, Vec<String>> {
    prepare_with(c, ChainBoard::new())
}

/// Prepare every active flow around one chain board (the daemon keeps one
/// for its lifetime, so reloads keep TLS and CRL flows connected).
pub fn prepare_with(c: &Config, board: Arc<ChainBoard>) -> Result<Vec<Arc<Prepared>>, Vec<String>> {
    let wanted: Vec<String> = c
        .active_flows()
        .filter_map(|f| match &f.check {
            CheckSpec::Tls(t) => Some(t.trust.clone()),
            CheckSpec::Crl(s) => Some(s.trust.clone()),
            CheckSpec::Ocsp(s) => Some(s.trust.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let stores = crate::probe::tls::load_stores(&c.trust, &wanted)?;
    let mut flows = Vec::new();
    let mut errors = Vec::new();
    for f in c.active_flows() {
        match Prepared::with_board(f.clone(), &stores, Arc::clone(&board)) {
            Ok(p) => flows.push(Arc::new(p)),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(flows)
    } else {
        Err(errors)
    }
}

/// Vantage networks by name.
pub type Nets = BTreeMap<String, Arc<VantageNet>>;

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

/// Raise the soft descriptor limit to the hard one and cut the probes'
/// share from it (see `net::fds`), saying what was done.
pub fn descriptor_budget() -> Budget {
    let (limits, err) = fds::raise_nofile();
    if let Some(e) = err {
        tracing::warn!(soft = limits.soft, hard = limits.hard, error = %e,
            "cannot raise the soft RLIMIT_NOFILE to the hard limit; probes share the soft limit (set LimitNOFILE= in the unit)");
    }
    let budget = Budget::of_process(&limits);
    tracing::info!(
        soft = limits.soft,
        hard = limits.hard,
        raised_from = ?limits.raised_from,
        open = budget.open,
        reserved = budget.reserved,
        probes = budget.probes,
        "file-descriptor budget"
    );
    budget
}

/// The probes-in-flight limit for a configuration, under the budget.
pub fn in_flight_limit(budget: &Budget, configured: Option<usize>) -> usize {
    let limit = budget.max_in_flight(configured);
    if let Some(c) = configured
        && c > limit
    {
        tracing::warn!(
            configured = c,
            budget = budget.probes,
            soft_limit = budget.soft,
            "defaults.max_in_flight is above the file-descriptor budget; using the budget (raise LimitNOFILE to allow more)"
        );
    }
    limit
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Run the daemon until SIGTERM/SIGINT. The initial load must succeed.
pub async fn run(
    path: Option<PathBuf>,
    overrides: Overrides,
    initial: Config,
) -> Result<(), String> {
    let budget = descriptor_budget();
    let metrics = Arc::new(Metrics::new().map_err(|e| format!("metrics: {e}"))?);
    let state = Arc::new(State::new(Arc::clone(&metrics)));
    let cancel = CancellationToken::new();
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
    let listen = initial.listen;
    let current = Arc::new(RwLock::new(Arc::new(initial)));
    tracing::info!(
        listen = %listen,
        flows = state.slots().len(),
        vantages = ?current.read().map(|c| c.vantages.clone()).unwrap_or_default(),
        "flowprobe started"
    );

    let (reload_tx, mut reload_rx) = mpsc::channel::<ReloadRequest>(4);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let web_cancel = cancel.child_token();
    let app = web::router(web::AppState {
        state: Arc::clone(&state),
        config: Arc::clone(&current),
        reload: reload_tx.clone(),
    });
    let server = tokio::spawn({
        let web_cancel = web_cancel.clone();
        async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { web_cancel.cancelled().await })
                .await;
        }
    });

    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| format!("SIGHUP handler: {e}"))?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("SIGTERM handler: {e}"))?;
    loop {
        let reply: Option<ReloadRequest> = tokio::select! {
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
            _ = hup.recv() => None,
            r = reload_rx.recv() => r,
        };
        tracing::info!("reloading configuration");
        // Parsing and preparing a large file is CPU work: keep it off the
        // runtime (with one worker it would stall every probe meanwhile).
        let loaded = tokio::task::spawn_blocking({
            let (path, overrides, board) = (path.clone(), overrides.clone(), Arc::clone(&board));
            move || load_all(path.as_ref(), &overrides, &board)
        })
        .await
        .unwrap_or_else(|e| Err(vec![format!("reload task failed: {e}")]));
        let result = match loaded {
            Ok((c, nets, flows)) => {
                if c.listen != listen {
                    tracing::warn!(old = %listen, new = %c.listen, "listen address changes need a restart; keeping the old one");
                }
                // Building 100,000 flows' series takes seconds: off the
                // probe thread too. Flow tasks are spawned from there.
                scheduler.set_limit(in_flight_limit(&budget, c.max_in_flight));
                let applied = tokio::task::spawn_blocking({
                    let scheduler = Arc::clone(&scheduler);
                    move || {
                        scheduler.apply(flows, &nets);
                        release_free_memory();
                    }
                })
                .await;
                if let Err(e) = applied {
                    tracing::error!(error = %e, "applying the reloaded flows failed");
                }
                if let Ok(mut cur) = current.write() {
                    *cur = Arc::new(c);
                }
                metrics.reload_ok.set(1);
                metrics.reload_ts.set(now_secs());
                tracing::info!(flows = state.slots().len(), "configuration reloaded");
                Ok(())
            }
            Err(errors) => {
                metrics.reload_ok.set(0);
                for e in &errors {
                    tracing::error!(error = %e, "reload failed; keeping the running configuration");
                }
                Err(errors)
            }
        };
        if let Some(reply) = reply {
            let _ = reply.send(result);
        }
    }
    tracing::info!("stopping");
    let clean = scheduler.shutdown(Duration::from_millis(1500)).await;
    web_cancel.cancel();
    let _ = tokio::time::timeout(Duration::from_millis(400), server).await;
    if !clean {
        tracing::warn!("some probes did not stop within the grace period");
    }
    Ok(())
}

//! `flowprobe run`: the runtime, the listening socket and the signals
//! around [`daemon::run`](crate::daemon::run). SIGHUP reloads; SIGTERM and
//! SIGINT stop.

use std::path::PathBuf;
use std::process::ExitCode;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::{EXIT_FAIL, runtime};
use crate::config::{Config, Overrides};
use crate::daemon::{self, ConfigSource};

/// The web server's settings from the command line.
pub(crate) struct Web {
    pub lifecycle: bool,
    pub limits: crate::web::serve::Limits,
}

/// Serve until SIGTERM/SIGINT. Exit 1 when the daemon cannot run (listen
/// address taken, no runtime, no signal handler): that is neither a usage
/// nor a configuration error, and systemd's `Restart=on-failure` retries it.
pub(crate) fn serve(c: Config, path: Option<PathBuf>, overrides: Overrides, web: Web) -> ExitCode {
    let rt = match runtime(c.worker_threads) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(EXIT_FAIL);
        }
    };
    match rt.block_on(serve_on(
        c,
        ConfigSource {
            path,
            overrides,
            lifecycle: web.lifecycle,
            limits: web.limits,
        },
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "flowprobe stopped");
            eprintln!("flowprobe: {e}");
            ExitCode::from(EXIT_FAIL)
        }
    }
}

async fn serve_on(c: Config, source: ConfigSource) -> Result<(), String> {
    let listen = c.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let mut hup = signal(SignalKind::hangup()).map_err(|e| format!("SIGHUP handler: {e}"))?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM handler: {e}"))?;
    let (hangups, hangups_rx) = mpsc::channel(1);
    let forward = tokio::spawn(async move {
        while hup.recv().await.is_some() {
            // A reload already queued covers this hang-up too.
            let _ = hangups.try_send(());
        }
    });
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    let result = daemon::run(listener, c, source, hangups_rx, shutdown).await;
    forward.abort();
    result
}

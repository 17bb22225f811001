//! The web server runs on a thread and runtime of its own, at a lower CPU
//! priority (nice +10) than the probes and the password checks.
//!
//! Why: whatever clients do to the web server (a flood of wrong passwords,
//! 512 readers of a big page) must not take the CPU the probes need, nor
//! the CPU a correct login's bcrypt check needs. With one shared runtime,
//! 14,000 refusals a second on 2 cores left a first correct login waiting
//! for its check behind the flood's handling (about 130 ms); with the
//! handling niced, the kernel runs the check first. Under no contention a
//! niced thread runs as fast as any other.
//!
//! Threads inherit their creator's nice value, so everything the web
//! runtime starts (its blocking pool: page rendering, snapshot encoding,
//! one-shot checks of `POST /api/v1/check`) runs niced too; the bcrypt
//! checks run on threads started before it ([`crate::web::security::start_verifiers`]).

use std::sync::Arc;

use axum::Router;
use tokio_util::sync::CancellationToken;

use super::security::WebSecurity;
use super::serve::{Limits, serve};

/// The nice value of the web thread: well below the probes, still
/// served promptly when the CPU is idle.
pub(crate) const WEB_NICE: i32 = 10;

/// The running web thread; [`WebThread::stopped`] resolves when it ends.
pub(crate) struct WebThread {
    done: tokio::sync::oneshot::Receiver<()>,
}

impl WebThread {
    /// Resolves when the server has stopped (after `cancel`).
    pub(crate) async fn stopped(self) {
        let _ = self.done.await;
    }
}

/// Serves `app` on `listener` from a new thread at [`WEB_NICE`] until
/// `cancel`.
pub(crate) fn spawn(
    listener: std::net::TcpListener,
    app: Router,
    security: Arc<WebSecurity>,
    limits: Limits,
    cancel: CancellationToken,
) -> Result<WebThread, String> {
    let (tx, done) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("flowprobe-web".into())
        .spawn(move || {
            lower_priority();
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .thread_name("flowprobe-web-blocking")
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "the web server's runtime could not start");
                    return;
                }
            };
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => serve(l, app, security, limits, cancel).await,
                    Err(e) => tracing::error!(error = %e, "the web listener could not be used"),
                }
            });
            // Handlers still running end with the runtime.
            runtime.shutdown_timeout(std::time::Duration::from_millis(200));
            let _ = tx.send(());
        })
        .map_err(|e| format!("web server thread: {e}"))?;
    Ok(WebThread { done })
}

/// Raises this thread's nice value to at least [`WEB_NICE`] (allowed
/// without privileges; a process already niced more stays so); a failure
/// leaves it as it was, which only costs priority.
fn lower_priority() {
    let target = current_nice().max(WEB_NICE);
    // SAFETY: gettid and setpriority take no pointers; PRIO_PROCESS with a
    // thread id changes only that thread's nice value on Linux.
    let r = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, target)
    };
    if r != 0 {
        tracing::debug!(
            error = %std::io::Error::last_os_error(),
            "could not lower the web thread's priority"
        );
    }
}

/// This thread's nice value.
fn current_nice() -> i32 {
    // SAFETY: as above; getpriority only reads (-1 is a valid value, so an
    // error reads as -1 too: the target is then WEB_NICE).
    unsafe {
        let tid = libc::gettid();
        libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_web_thread_and_what_it_starts_run_niced() {
        let base = current_nice();
        let seen = std::thread::spawn(move || {
            lower_priority();
            let inner = std::thread::spawn(current_nice).join().expect("join");
            (current_nice(), inner)
        })
        .join()
        .expect("join");
        assert_eq!(seen.0, base.max(WEB_NICE));
        assert_eq!(seen.1, seen.0, "threads it starts inherit the value");
        assert_eq!(current_nice(), base, "other threads keep theirs");
    }
}

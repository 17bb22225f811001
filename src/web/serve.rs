//! The accept loop of the web endpoints: plain HTTP or TLS (the web
//! configuration in force decides per connection), with limits so that no
//! client can starve the probes: a cap on open connections (beyond it a
//! new client takes the place of the most idle one, see `idle`), a deadline for the TLS handshake and the
//! request headers (slow clients are cut), an idle deadline (a client that
//! stops reading or sending mid-request is cut, see `idle`), a cap on the
//! header size.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::idle::{Activity, Connections, Tracked};
use super::security::WebSecurity;

/// The server's limits (docs/secure-endpoints.md).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections served at once; each costs one file descriptor.
    pub max_connections: usize,
    /// Time for the TLS handshake, and for each request's headers.
    pub header_read_timeout: Duration,
    /// Bytes of request line and headers.
    pub max_header_bytes: usize,
    /// Bytes of a request body.
    pub max_body_bytes: usize,
    /// Time a connection may move no byte while no handler runs.
    pub idle_timeout: Duration,
    /// `--web.allowed-hosts`: the host names a request's `Host` may carry
    /// (empty: any), so a DNS-rebinding page cannot read the API.
    pub allowed_hosts: std::sync::Arc<[String]>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_body_bytes: 64 * 1024,
            idle_timeout: Duration::from_secs(60),
            allowed_hosts: std::sync::Arc::from(Vec::new()),
        }
    }
}

/// Serve `app` on `listener` until `cancel`; open connections then get
/// a second to finish their request.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    security: Arc<WebSecurity>,
    limits: Limits,
    cancel: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let open = Arc::new(Connections::default());
    loop {
        let accepted = tokio::select! {
            () = cancel.cancelled() => return,
            a = listener.accept() => a,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors, usually: wait instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let permit = match Arc::clone(&slots).try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                // Full: the most idle connection makes room (its task
                // ends at once); when every one is busy, wait for one.
                if open.evict_most_idle() {
                    tracing::debug!(peer = %peer, "every connection slot taken: closed the most idle one");
                }
                tokio::select! {
                    () = cancel.cancelled() => return,
                    p = Arc::clone(&slots).acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => return,
                    },
                }
            }
        };
        let _ = tcp.set_nodelay(true);
        let activity = Activity::new();
        let entry = open.register(&activity);
        let tcp = Tracked::new(tcp, Arc::clone(&activity));
        let tls = security.current().tls.clone();
        let (app, cancel, limits) = (app.clone(), cancel.clone(), limits.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let evicted = entry.evicted.clone();
            let served = async {
                match tls {
                    None => connection(tcp, peer.ip(), activity, app, limits, cancel).await,
                    Some(config) => {
                        let acceptor = tokio_rustls::TlsAcceptor::from(config);
                        match tokio::time::timeout(limits.header_read_timeout, acceptor.accept(tcp))
                            .await
                        {
                            Ok(Ok(stream)) => {
                                connection(stream, peer.ip(), activity, app, limits, cancel).await;
                            }
                            Ok(Err(e)) => {
                                tracing::debug!(peer = %peer, error = %e, "TLS handshake failed");
                            }
                            Err(_) => tracing::debug!(peer = %peer, "TLS handshake timed out"),
                        }
                    }
                }
            };
            tokio::select! {
                () = served => {}
                () = evicted.cancelled() => {}
            }
            drop(entry);
        });
    }
}

async fn connection<I>(
    io: I,
    peer: std::net::IpAddr,
    activity: Arc<Activity>,
    app: Router,
    limits: Limits,
    cancel: CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    let service = {
        let activity = Arc::clone(&activity);
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(super::auth::Peer(peer));
            let busy = activity.busy();
            let mut app = app.clone();
            async move {
                // Router is always ready (axum documents it); the guard
                // ends with the handler, before the body streams.
                let response = tower_service::Service::call(&mut app, req).await;
                drop(busy);
                response
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    let conn = builder.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = activity.expired(limits.idle_timeout) => {
            tracing::debug!("idle web connection closed");
        }
        () = cancel.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(1), conn).await;
        }
    }
}

/// `app` behind the guards, outermost first: authentication (and the
/// configured headers), the body cap, the lifecycle gate.
pub(crate) fn guarded(
    app: Router,
    security: Arc<WebSecurity>,
    lifecycle: bool,
    limits: &Limits,
) -> Router {
    let gate = super::auth::Gate {
        lifecycle,
        allowed_hosts: std::sync::Arc::clone(&limits.allowed_hosts),
    };
    app.layer(axum::middleware::from_fn_with_state(
        gate,
        super::auth::lifecycle,
    ))
    .layer(axum::extract::DefaultBodyLimit::max(limits.max_body_bytes))
    .layer(axum::middleware::from_fn_with_state(
        security,
        super::auth::authenticate,
    ))
}

/// The descriptor budget with the server's connection cap taken from the
/// probes' share (beyond the `WEB_RESERVE` it already keeps), so that a
/// full server never makes a probe fail for want of a descriptor; and the
/// cap the server gets. Under a small limit the server gives way, not the
/// probes: it takes at most an eighth of the probes' share beyond its reserve.
pub(crate) fn reserve_connections(
    mut budget: crate::net::fds::Budget,
    max_connections: usize,
) -> (crate::net::fds::Budget, usize) {
    let reserve = usize::try_from(crate::net::fds::WEB_RESERVE).unwrap_or(usize::MAX);
    let extra = max_connections
        .saturating_sub(reserve)
        .min(budget.probes / 8);
    budget.reserved += extra as u64;
    budget.probes = budget.probes.saturating_sub(extra).max(1);
    let cap = if max_connections > reserve {
        reserve + extra
    } else {
        max_connections
    };
    (budget, cap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::fds::{Budget, WEB_RESERVE};

    #[test]
    fn connections_beyond_the_web_reserve_come_out_of_the_probes_share() {
        let b = Budget::new(65_536, 12);
        let (r, cap) = reserve_connections(b, 512);
        assert_eq!(r.probes, b.probes - (512 - WEB_RESERVE as usize));
        assert_eq!(cap, 512);
        assert_eq!(
            reserve_connections(b, 10),
            (b, 10),
            "under the reserve: unchanged"
        );
        // A small limit: the server gives way, the probes keep 7/8.
        let small = Budget::new(64, 12);
        let (r, cap) = reserve_connections(small, 512);
        assert!(r.probes >= small.probes * 7 / 8 && r.probes >= 1, "{r:?}");
        assert_eq!(cap, WEB_RESERVE as usize + (small.probes - r.probes));
    }
}

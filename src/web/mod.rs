//! The HTTP server of `flowprobe run`: `/metrics`, `/-/healthy`, `/-/ready`,
//! `POST /-/reload`, `/api/v1/flows` and a status page at `/`.

pub(crate) mod api;
mod assets;
pub(crate) mod auth;
pub(crate) mod check;
mod gzip;
mod idle;
mod metrics_body;
mod page;
pub(crate) mod security;
pub mod serve;
pub(crate) mod snapshot;
pub(crate) mod thread;
pub mod tls;

use parking_lot::RwLock;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, Query, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use snapshot::{Snapshot, SnapshotError};
use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::probe::ProbeReport;
use crate::state::history::HistoryEntry;
use crate::state::{FlowSlot, State};

/// A reload request from `POST /-/reload`; the daemon answers on it with
/// every error when the reload failed.
pub(crate) type ReloadRequest = oneshot::Sender<Result<(), Vec<String>>>;

#[derive(Clone)]
pub struct AppState {
    pub state: Arc<State>,
    pub config: Arc<RwLock<Arc<Config>>>,
    pub reload: mpsc::Sender<ReloadRequest>,
}

pub fn router(app: AppState) -> Router {
    Router::new()
        .route("/", get(status_page))
        .route("/flow/{vantage}/{name}", get(flow_page))
        .route("/assets/app.css", get(assets::css))
        .route("/assets/app.js", get(assets::js))
        .route("/assets/favicon.svg", get(assets::icon))
        .route("/metrics", get(metrics_body::metrics))
        .route("/-/healthy", get(|| async { "OK\n" }))
        .route("/-/ready", get(ready))
        .route("/-/reload", post(reload))
        .route("/api/v1/flows", get(api::flows))
        .route("/api/v1/check", post(check::check))
        .layer(Extension(check::CheckSlot::default()))
        .layer(Extension(Arc::new(Snapshots {
            api_readers: Arc::new(tokio::sync::Semaphore::new(snapshot::MAX_READERS)),
            overview: Snapshot::new(snapshot::MAX_READERS),
            metrics_encodings: Arc::new(tokio::sync::Semaphore::new(MAX_METRICS_ENCODINGS)),
        })))
        .with_state(app)
}

/// The shared encodings of the expensive responses.
struct Snapshots {
    /// `/api/v1/flows` readers at once (each streams or pages its own
    /// answer); beyond them 503.
    api_readers: Arc<tokio::sync::Semaphore>,
    overview: Snapshot,
    /// `/metrics` streams each scrape's own encoding (a 100,000-flow body
    /// is too large to keep); what is bounded is how many run at once.
    metrics_encodings: Arc<tokio::sync::Semaphore>,
}

pub use metrics_body::MAX_METRICS_ENCODINGS;

/// A snapshot's failure as an HTTP answer: 503 with `Retry-After` when
/// too many readers wait.
fn snapshot_error(e: SnapshotError) -> Response {
    match e {
        SnapshotError::Busy(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            format!("{e}\n"),
        )
            .into_response(),
        SnapshotError::Encode(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
        }
    }
}

async fn ready(AxState(app): AxState<AppState>) -> Response {
    if app.state.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "first round of probes still running\n",
        )
            .into_response()
    }
}

async fn reload(AxState(app): AxState<AppState>) -> Response {
    let (tx, rx) = oneshot::channel();
    if app.reload.send(tx).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    match rx.await {
        Ok(Ok(())) => (StatusCode::OK, "reloaded\n").into_response(),
        Ok(Err(errors)) => {
            let mut body = String::from("reload failed; the running configuration is kept:\n");
            for e in errors {
                body.push_str("  ");
                body.push_str(&e);
                body.push('\n');
            }
            (StatusCode::BAD_REQUEST, body).into_response()
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "reload did not answer\n").into_response(),
    }
}

/// One flow in `/api/v1/flows` (and `flowprobe check --output json`).
/// The vantage is one field written under two keys, `vantage` and `from`
/// (the key older clients and `check --fleet` peers read), so the
/// serialization is by hand.
pub struct FlowView {
    pub vantage: String,
    pub name: String,
    pub to: String,
    pub host: String,
    pub port: u16,
    pub check: &'static str,
    pub expect: &'static str,
    pub severity: &'static str,
    pub interval_seconds: f64,
    pub timeout_seconds: f64,
    pub description: String,
    pub labels: std::collections::BTreeMap<String, String>,
    /// The last probe, `null` before the first one.
    pub last: Option<ProbeReport>,
    /// When the flow entered its current up/down state (Unix seconds);
    /// `/api/v1/flows` only (absent when `None`), `null` before the first
    /// probe.
    pub since: Option<Option<u32>>,
    /// The last outcomes, oldest first (at most
    /// [`crate::state::history::HISTORY_LEN`]); `/api/v1/flows` only
    /// (absent when `None`).
    pub history: Option<Vec<HistoryEntry>>,
}

impl Serialize for FlowView {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("FlowView", 16)?;
        m.serialize_field("vantage", &self.vantage)?;
        m.serialize_field("name", &self.name)?;
        m.serialize_field("from", &self.vantage)?;
        m.serialize_field("to", &self.to)?;
        m.serialize_field("host", &self.host)?;
        m.serialize_field("port", &self.port)?;
        m.serialize_field("check", self.check)?;
        m.serialize_field("expect", self.expect)?;
        m.serialize_field("severity", self.severity)?;
        m.serialize_field("interval_seconds", &self.interval_seconds)?;
        m.serialize_field("timeout_seconds", &self.timeout_seconds)?;
        m.serialize_field("description", &self.description)?;
        m.serialize_field("labels", &self.labels)?;
        m.serialize_field("last", &self.last)?;
        match &self.since {
            Some(since) => m.serialize_field("since", since)?,
            None => m.skip_field("since")?,
        }
        match &self.history {
            Some(history) => m.serialize_field("history", history)?,
            None => m.skip_field("history")?,
        }
        m.end()
    }
}

impl FlowView {
    pub fn new(flow: &crate::config::Flow, last: Option<ProbeReport>) -> Self {
        FlowView {
            vantage: flow.from.clone(),
            name: flow.name.clone(),
            to: flow.to.clone(),
            host: flow.host.to_string(),
            port: flow.port,
            check: flow.check.kind().as_str(),
            expect: flow.expect.as_str(),
            severity: flow.severity.as_str(),
            interval_seconds: flow.interval.as_secs_f64(),
            timeout_seconds: flow.timeout.as_secs_f64(),
            description: flow.description.clone(),
            labels: flow.labels.clone(),
            last,
            since: None,
            history: None,
        }
    }

    /// The view with the slot's history, as the daemon serves it.
    pub(crate) fn of_slot(slot: &FlowSlot) -> Self {
        let mut v = FlowView::new(&slot.prepared.flow, slot.last());
        let (since, entries) = slot.history(|h| (h.since(), h.entries()));
        v.since = Some(since);
        v.history = Some(entries);
        v
    }
}

/// Views of every flow are built and rendered on the blocking pool: at
/// 10,000 flows that is tens of milliseconds the probe thread must not lose.
async fn off_runtime<T: Send + 'static>(
    app: AppState,
    f: impl FnOnce(&AppState) -> T + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(move || f(&app))
        .await
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response())
}

/// What the daemon says about itself: the overview's header, and the
/// `daemon` object of `/api/v1/flows` the overview's script refreshes it
/// from.
#[derive(Serialize)]
pub(crate) struct DaemonView {
    /// Every flow scheduled at start-up has been probed once.
    pub ready: bool,
    /// The configuration file read, or the embedded default.
    pub origin: String,
    /// Unix seconds of the last successful (re)load.
    pub last_reload: Option<i64>,
    /// Whether the last reload succeeded; `false` means the running
    /// configuration is an older one than the files.
    pub last_reload_ok: bool,
}

impl DaemonView {
    fn of(app: &AppState) -> Self {
        let ts = app.state.metrics.reload_ts.get();
        DaemonView {
            ready: app.state.is_ready(),
            origin: app.config.read().origin.clone(),
            last_reload: (ts > 0.0).then_some(ts as i64),
            last_reload_ok: app.state.metrics.reload_ok.get() == 1,
        }
    }
}

/// A shared body as the answer, gzipped when `gzip` (then `Vary` says the
/// encoding depends on `Accept-Encoding`).
fn encoded(
    status: StatusCode,
    headers: &[(header::HeaderName, &'static str)],
    gzip: bool,
    body: Bytes,
) -> Response {
    let mut response = (status, Body::from(body)).into_response();
    let h = response.headers_mut();
    for (name, value) in headers {
        h.insert(name.clone(), HeaderValue::from_static(value));
    }
    gzip::mark(h, gzip);
    response
}

/// What the pages say about the daemon itself, read once per render.
fn instance(app: &AppState) -> page::Instance {
    page::Instance {
        daemon: DaemonView::of(app),
        now: crate::text::unix_secs(std::time::SystemTime::now()),
    }
}

/// The headers of an HTML page: the strict policy (no inline code,
/// nothing from another origin, no framing), no sniffing, no referrer, no
/// caching (the page is live).
const HTML_HEADERS: [(header::HeaderName, &str); 5] = [
    (header::CONTENT_SECURITY_POLICY, page::CSP),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
];

/// Shared like `/api/v1/flows`: rendered once per state version.
async fn status_page(
    AxState(app): AxState<AppState>,
    Extension(snaps): Extension<Arc<Snapshots>>,
    Query(q): Query<api::FlowQuery>,
    headers: HeaderMap,
) -> Response {
    let gzip = gzip::accepts_gzip(&headers);
    let q = q.normalized();
    if !q.is_empty() {
        // A search or a later page: rendered for this request (a page is
        // at most `api::PAGE_ROWS` rows).
        let rendered = off_runtime(app, move |app| {
            api::overview(app, q).map(|o| page::render_overview(&o, &instance(app)))
        })
        .await;
        return match rendered {
            Ok(Ok(html)) => {
                let body = if gzip {
                    match gzip::compress(html.as_bytes()) {
                        Ok(b) => b,
                        Err(e) => {
                            return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n"))
                                .into_response();
                        }
                    }
                } else {
                    Bytes::from(html)
                };
                encoded(StatusCode::OK, &HTML_HEADERS, gzip, body)
            }
            Ok(Err(e)) => (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
            Err(r) => r,
        };
    }
    // The first page, the one every open tab polls: encoded once per state.
    let version = app.state.version();
    let page = snaps
        .overview
        .get(version, gzip, move || {
            let v = app.state.version();
            let o = api::overview(&app, api::FlowQuery::default())?;
            Ok((v, Bytes::from(page::render_overview(&o, &instance(&app)))))
        })
        .await;
    match page {
        Ok(bytes) => encoded(StatusCode::OK, &HTML_HEADERS, gzip, bytes),
        Err(e) => snapshot_error(e),
    }
}

/// Rendered per request (one flow is cheap), compressed with it.
async fn flow_page(
    AxState(app): AxState<AppState>,
    Path((vantage, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let gzip = gzip::accepts_gzip(&headers);
    let page = off_runtime(app, move |app| {
        let slot = app
            .state
            .slots()
            .get(&(vantage.clone(), name.clone()))
            .cloned();
        let (status, html) = match slot {
            Some(slot) => (
                StatusCode::OK,
                page::render_flow(&FlowView::of_slot(&slot), &instance(app)),
            ),
            None => (StatusCode::NOT_FOUND, page::not_found(&vantage, &name)),
        };
        let body = if gzip {
            gzip::compress(html.as_bytes())
        } else {
            Ok(Bytes::from(html))
        };
        body.map(|b| (status, b))
    })
    .await;
    match page {
        Ok(Ok((status, body))) => encoded(status, &HTML_HEADERS, gzip, body),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        Err(r) => r,
    }
}

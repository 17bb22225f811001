//! The HTTP server of `flowprobe run`: `/metrics`, `/-/healthy`, `/-/ready`,
//! `POST /-/reload`, `/api/v1/flows` and a status page at `/`.

mod page;

use parking_lot::RwLock;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as AxState;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::probe::ProbeReport;
use crate::state::State;

/// A reload request from `POST /-/reload`; the daemon answers on it with
/// every error when the reload failed.
pub type ReloadRequest = oneshot::Sender<Result<(), Vec<String>>>;

#[derive(Clone)]
pub struct AppState {
    pub state: Arc<State>,
    pub config: Arc<RwLock<Arc<Config>>>,
    pub reload: mpsc::Sender<ReloadRequest>,
}

pub fn router(app: AppState) -> Router {
    Router::new()
        .route("/", get(status_page))
        .route("/metrics", get(metrics))
        .route("/-/healthy", get(|| async { "OK\n" }))
        .route("/-/ready", get(ready))
        .route("/-/reload", post(reload))
        .route("/api/v1/flows", get(flows))
        .with_state(app)
}

/// Bytes per body chunk of `/metrics`.
const METRICS_CHUNK: usize = 64 * 1024;

async fn metrics(AxState(app): AxState<AppState>) -> Response {
    // Encoding is CPU work proportional to the flow count: keep it off the
    // runtime's workers so probes are not delayed by a scrape. The body is
    // streamed in chunks, so a scrape of 100,000 flows (about 90 MB of
    // text) never sits in memory whole; a scraper that goes away stops it.
    let metrics = Arc::clone(&app.state.metrics);
    let (mut tx, body) = http_body_util::Channel::<Bytes>::new(2);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        metrics.encode_chunked(METRICS_CHUNK, &mut |chunk| {
            runtime.block_on(tx.send_data(Bytes::from(chunk))).is_ok()
        });
    });
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        Body::new(body),
    )
        .into_response()
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
#[derive(Serialize)]
pub struct FlowView {
    pub vantage: String,
    pub name: String,
    pub from: String,
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
}

impl FlowView {
    pub fn new(flow: &crate::config::Flow, last: Option<ProbeReport>) -> Self {
        FlowView {
            vantage: flow.from.clone(),
            name: flow.name.clone(),
            from: flow.from.clone(),
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
        }
    }
}

fn views(app: &AppState) -> Vec<FlowView> {
    app.state
        .slots()
        .values()
        .map(|s| FlowView::new(&s.prepared.flow, s.last()))
        .collect()
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

async fn flows(AxState(app): AxState<AppState>) -> Response {
    let body = off_runtime(app, |app| {
        serde_json::to_vec(&serde_json::json!({ "flows": views(app) }))
    })
    .await;
    match body {
        Ok(Ok(bytes)) => (
            [(header::CONTENT_TYPE, "application/json")],
            Body::from(bytes),
        )
            .into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        Err(r) => r,
    }
}

async fn status_page(AxState(app): AxState<AppState>) -> Response {
    let page = off_runtime(app, |app| {
        let origin = app.config.read().origin.clone();
        page::render(&views(app), &origin, app.state.is_ready())
    })
    .await;
    match page {
        Ok(html) => Html(html).into_response(),
        Err(r) => r,
    }
}

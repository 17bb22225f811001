//! `GET /metrics`: the text exposition streamed in chunks, encoded off the
//! runtime's workers, gzipped when the scraper accepts it (Prometheus
//! always sends `Accept-Encoding: gzip`; a 2,000-flow body of ~2 MB goes
//! over the wire as ~0.1 MB).

use std::io::Write;
use std::sync::Arc;

use super::gzip::{accepts_gzip, encoder, mark};
use super::{AppState, Snapshots};
use axum::body::{Body, Bytes};
use axum::extract::{Extension, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Concurrent `/metrics` encodings; beyond them a scrape gets 503 with
/// `Retry-After`. Prometheus scrapes an instance once per interval, so
/// more than a few at once is a crowd, not a fleet of scrapers.
pub const MAX_METRICS_ENCODINGS: usize = 4;

/// Bytes of text per body chunk.
const METRICS_CHUNK: usize = 64 * 1024;

pub(super) async fn metrics(
    AxState(app): AxState<AppState>,
    Extension(snaps): Extension<Arc<Snapshots>>,
    headers: HeaderMap,
) -> Response {
    // Encoding is CPU work proportional to the flow count: keep it off the
    // runtime's workers so probes are not delayed by a scrape. The body is
    // streamed in chunks, so a scrape of 100,000 flows (about 90 MB of
    // text) never sits in memory whole; a scraper that goes away stops it.
    let Ok(permit) = Arc::clone(&snaps.metrics_encodings).try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            format!(
                "{MAX_METRICS_ENCODINGS} scrapes are already being encoded; retry in a second\n"
            ),
        )
            .into_response();
    };
    let gzip = accepts_gzip(&headers);
    let metrics = Arc::clone(&app.state.metrics);
    let (mut tx, body) = http_body_util::Channel::<Bytes>::new(2);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut gz = gzip.then(encoder);
        let mut open = true;
        metrics.encode_chunked(METRICS_CHUNK, &mut |chunk| {
            let out = match &mut gz {
                None => chunk.into_bytes(),
                Some(g) => {
                    if g.write_all(chunk.as_bytes()).is_err() {
                        open = false;
                        return false;
                    }
                    std::mem::take(g.get_mut())
                }
            };
            open = out.is_empty() || runtime.block_on(tx.send_data(Bytes::from(out))).is_ok();
            open
        });
        if let Some(g) = gz
            && open
            && let Ok(tail) = g.finish()
        {
            let _ = runtime.block_on(tx.send_data(Bytes::from(tail)));
        }
    });
    let mut response = (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        Body::new(body),
    )
        .into_response();
    mark(response.headers_mut(), gzip);
    response
}

//! `GET /metrics`: the text exposition streamed in chunks, encoded off the
//! runtime's workers, gzipped when the scraper accepts it (Prometheus
//! always sends `Accept-Encoding: gzip`; a 2,000-flow body of ~2 MB goes
//! over the wire as ~0.1 MB).

use std::io::Write;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use flate2::write::GzEncoder;

use super::{AppState, Snapshots};

/// Concurrent `/metrics` encodings; beyond them a scrape gets 503 with
/// `Retry-After`. Prometheus scrapes an instance once per interval, so
/// more than a few at once is a crowd, not a fleet of scrapers.
pub const MAX_METRICS_ENCODINGS: usize = 4;

/// Bytes of text per body chunk.
const METRICS_CHUNK: usize = 64 * 1024;

/// Whether `Accept-Encoding` admits gzip (RFC 9110 12.5.3: a listed
/// `gzip` or `*` whose q-value is not 0).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.split_once('=').is_some_and(|(k, q)| {
                    k.trim().eq_ignore_ascii_case("q")
                        && q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
                })
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

pub async fn metrics(
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
        // Level 1: text compresses ~20x even so, at a fraction of the CPU.
        let mut gz = gzip.then(|| GzEncoder::new(Vec::new(), Compression::fast()));
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
    let h = response.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(v).expect("ascii"),
            );
        }
        h
    }

    #[test]
    fn gzip_is_chosen_only_when_the_client_admits_it() {
        assert!(accepts_gzip(&with(&["gzip"])));
        assert!(accepts_gzip(&with(&["deflate, GZIP;q=0.5"])));
        assert!(accepts_gzip(&with(&["br", "*"])));
        assert!(!accepts_gzip(&with(&[])));
        assert!(!accepts_gzip(&with(&["identity"])));
        assert!(!accepts_gzip(&with(&["gzip;q=0"])));
        assert!(!accepts_gzip(&with(&["gzip; q=0.000"])));
        assert!(!accepts_gzip(&with(&["gzipx"])));
    }
}

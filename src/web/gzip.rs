//! gzip for the web answers whose client accepts it: `/metrics` (streamed,
//! see `metrics_body`), the status pages and `/api/v1/flows` (whole bodies,
//! compressed once per snapshot). Text compresses ~10-20x even at level 1,
//! at a fraction of the CPU of the default level.

use std::io::Write;

use axum::http::{HeaderMap, HeaderValue, header};
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;

/// Whether `Accept-Encoding` admits gzip (RFC 9110 12.5.3: a listed
/// `gzip` or `*` whose q-value is not 0).
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
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

/// The headers of an answer that may be compressed: `Vary` always (a
/// cache must key on the client's encodings), `Content-Encoding` when it is.
pub(crate) fn mark(headers: &mut HeaderMap, gzip: bool) {
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
}

/// A streaming encoder at the level every answer uses.
pub(crate) fn encoder() -> GzEncoder<Vec<u8>> {
    GzEncoder::new(Vec::new(), Compression::fast())
}

/// One whole body compressed. Writing to memory cannot fail; an error
/// would be flate2's own and is returned as text for the 500 it becomes.
pub(crate) fn compress(body: &[u8]) -> Result<Bytes, String> {
    let mut gz = encoder();
    gz.write_all(body).map_err(|e| e.to_string())?;
    gz.finish().map(Bytes::from).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use std::io::Read;

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

    #[test]
    fn compressed_bodies_decode_to_the_original() {
        let body = "<tr class=\"flow up\"></tr>\n".repeat(1_000);
        let gz = compress(body.as_bytes()).expect("gzip");
        assert!(gz.len() * 20 < body.len(), "{} of {}", gz.len(), body.len());
        let mut out = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut out)
            .expect("gunzip");
        assert_eq!(out, body);
    }
}

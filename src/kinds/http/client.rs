//! One HTTP/1.1 GET (or POST: OCSP) with bounded redirects and a hard body cap, over the
//! vantage's own TCP connections (hyper's client connection API; no pool,
//! one connection per hop, closed afterwards).
//!
//! The caller's budget (the probe wrapper's `timeout_at`) bounds the whole
//! exchange: a body that drips ends in `timeout`, not in a hung probe. A
//! body over the cap is abandoned at the cap: memory stays bounded by the
//! cap plus one read buffer.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Empty, Full};
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, LOCATION, USER_AGENT};
use hyper_util::rt::TokioIo;
use serde::Serialize;

use crate::config::Target;
use crate::outcome::Reason;
use crate::probe::Phase;
use crate::probe::{Cause, Ctx, Failure};

/// What one fetch may do.
#[derive(Debug, Clone)]
pub struct FetchOpts {
    pub max_redirects: u32,
    pub max_body: u64,
    /// Keep the body (CRLs, body_regex); otherwise it is only counted.
    pub keep_body: bool,
    /// `Host:` of the first request; later hops use their URL's host.
    pub host_header: Option<String>,
}

/// One response that redirected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub url: String,
    pub status: u16,
    pub location: Option<String>,
}

/// The final response.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub url: String,
    pub status: u16,
    pub content_type: Option<String>,
    /// Empty unless `keep_body`.
    pub body: Vec<u8>,
    pub body_bytes: u64,
    pub hops: Vec<Hop>,
    /// Request sent to response head received, final hop.
    pub first_byte: Duration,
    /// Response head to last body byte, final hop.
    pub transfer: Duration,
}

/// A fetch that did not produce a judgeable response, with what it saw.
#[derive(Debug, Clone)]
pub(crate) struct FetchError {
    pub reason: Reason,
    pub detail: String,
    pub url: String,
    pub status: Option<u16>,
    pub hops: Vec<Hop>,
    pub body_bytes: u64,
    /// The typed cause when the vantage's DNS, the connect or (through the
    /// probe wrapper) the budget failed the fetch; `None` for the HTTP
    /// exchange's own failures, which are not typed.
    pub cause: Option<Box<Cause>>,
}

/// What one hop's response said: the head's facts and the body within the
/// cap. Public (with [`exchange`]) so the fuzz target can feed a server's
/// bytes from memory.
#[derive(Debug)]
pub struct Exchange {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: Option<String>,
    /// Empty unless `keep_body`, and never over `max_body`.
    pub body: Vec<u8>,
    pub body_bytes: u64,
    pub first_byte: Duration,
    pub transfer: Duration,
}

/// Why one hop gave no judgeable response.
#[derive(Debug)]
pub struct HopError {
    pub reason: Reason,
    pub detail: String,
    pub status: Option<u16>,
    pub body_bytes: u64,
}

fn hop_err(reason: Reason, detail: impl Into<String>) -> HopError {
    HopError {
        reason,
        detail: detail.into(),
        status: None,
        body_bytes: 0,
    }
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// A request body: the request is a POST of it (OCSP requests).
#[derive(Debug, Clone)]
pub struct Post {
    pub content_type: &'static str,
    pub body: Bytes,
}

/// GET `start`, following redirects within `opts.max_redirects` (each new
/// host re-resolved through the vantage's DNS). `addr` is the flow's
/// address for this attempt: hops to the flow's own host and port reuse it.
pub(crate) async fn fetch(
    ctx: &Ctx<'_>,
    addr: SocketAddr,
    start: Target,
    opts: &FetchOpts,
) -> Result<Response, FetchError> {
    send(ctx, addr, start, opts, None).await
}

/// POST `body` to `start`, like [`fetch`]; a redirect repeats the POST.
pub(crate) async fn post(
    ctx: &Ctx<'_>,
    addr: SocketAddr,
    start: Target,
    opts: &FetchOpts,
    body: &Post,
) -> Result<Response, FetchError> {
    send(ctx, addr, start, opts, Some(body)).await
}

async fn send(
    ctx: &Ctx<'_>,
    addr: SocketAddr,
    start: Target,
    opts: &FetchOpts,
    post: Option<&Post>,
) -> Result<Response, FetchError> {
    let mut trail = Trail {
        method: if post.is_some() { "POST" } else { "GET" },
        max_redirects: opts.max_redirects,
        hops: Vec::new(),
        seen: vec![start.url()],
    };
    let mut target = start;
    loop {
        let url = target.url();
        let tcp = connect_hop(ctx, addr, &target)
            .await
            .map_err(|f| FetchError {
                cause: f.cause,
                ..trail.fail(&url, hop_err(f.reason, f.detail))
            })?;
        let host_header = match (&opts.host_header, trail.hops.is_empty()) {
            (Some(h), true) => h.clone(),
            _ => target.authority(),
        };
        let ex = ctx
            .timed(
                Phase::Http,
                exchange(tcp, &host_header, &target.path, opts, post),
            )
            .await
            .map_err(|e| trail.fail(&url, e))?;
        let redirect = is_redirect(ex.status) && opts.max_redirects > 0;
        if !redirect {
            return Ok(Response {
                url,
                status: ex.status,
                content_type: ex.content_type,
                body: ex.body,
                body_bytes: ex.body_bytes,
                hops: trail.hops,
                first_byte: ex.first_byte,
                transfer: ex.transfer,
            });
        }
        target = trail.follow(&target, &url, ex.status, ex.location)?;
    }
}

/// A hop's connection: to the flow's own host and port over this
/// attempt's address, to any other through the vantage's DNS.
async fn connect_hop(
    ctx: &Ctx<'_>,
    addr: SocketAddr,
    target: &Target,
) -> Result<tokio::net::TcpStream, Failure> {
    if target.host == ctx.flow.host && target.port == ctx.flow.port {
        ctx.connect(addr).await
    } else {
        ctx.connect_host(&target.host, target.port)
            .await
            .map(|(t, _)| t)
    }
}

/// One fetch's way through its redirects: the hops so far and every URL
/// asked, which no redirect may lead back to.
struct Trail {
    method: &'static str,
    max_redirects: u32,
    hops: Vec<Hop>,
    seen: Vec<String>,
}

impl Trail {
    /// The fetch's failure at `url`, with the hops before it.
    fn fail(&self, url: &str, e: HopError) -> FetchError {
        FetchError {
            reason: e.reason,
            detail: format!("{} {url}: {}", self.method, e.detail),
            url: url.to_string(),
            status: e.status,
            hops: self.hops.clone(),
            body_bytes: e.body_bytes,
            cause: None,
        }
    }

    /// Record the redirect `url` answered and return where it leads, or
    /// why it is not followed (no Location, too many, unjoinable, a loop).
    fn follow(
        &mut self,
        target: &Target,
        url: &str,
        status: u16,
        location: Option<String>,
    ) -> Result<Target, FetchError> {
        let following = (self.hops.len() as u32) < self.max_redirects;
        self.hops.push(Hop {
            url: url.to_string(),
            status,
            location: location.clone(),
        });
        let method = self.method;
        let hops = &self.hops;
        let redirect_err = |detail: String| FetchError {
            reason: Reason::HttpRedirects,
            detail,
            url: url.to_string(),
            status: Some(status),
            hops: hops.clone(),
            body_bytes: 0,
            cause: None,
        };
        let Some(location) = location else {
            return Err(redirect_err(format!(
                "{method} {url}: {status} without a Location header"
            )));
        };
        if !following {
            return Err(redirect_err(format!(
                "more than {} redirects: {}",
                self.max_redirects,
                chain_text(hops)
            )));
        }
        let next = target
            .join(&location)
            .map_err(|e| redirect_err(format!("{method} {url}: {status} to {location:?}: {e}")))?;
        let next_url = next.url();
        if self.seen.contains(&next_url) {
            return Err(redirect_err(format!(
                "redirect loop: {} -> {next_url}",
                chain_text(hops)
            )));
        }
        self.seen.push(next_url);
        Ok(next)
    }
}

fn chain_text(hops: &[Hop]) -> String {
    hops.iter()
        .map(|h| format!("{} ({})", h.url, h.status))
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// A request's body: none for a GET, the bytes of a POST.
type RequestBody = Either<Empty<Bytes>, Full<Bytes>>;

/// One request and response on a fresh connection. The connection task is
/// polled here, not spawned, so nothing outlives the probe. Generic over the
/// stream so the fuzz target drives it over in-memory bytes; the probe
/// passes its TCP connection.
pub async fn exchange<S>(
    tcp: S,
    host: &str,
    path: &str,
    opts: &FetchOpts,
    post: Option<&Post>,
) -> Result<Exchange, HopError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, RequestBody>(TokioIo::new(tcp))
            .await
            .map_err(|e| hop_err(hyper_reason(&e), e.to_string()))?;
    let request = request(host, path, post)?;
    let work = async move {
        let sent = Instant::now();
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| hop_err(hyper_reason(&e), e.to_string()))?;
        let first_byte = sent.elapsed();
        receive(response, first_byte, opts).await
    };
    let mut conn = std::pin::pin!(conn);
    let mut work = std::pin::pin!(work);
    tokio::select! {
        r = &mut work => r,
        // The connection ended (closed or failed): the response channels
        // say how the request fared.
        _ = &mut conn => work.await,
    }
}

/// The GET, or the POST of `post`, of `path` on `host`.
fn request(
    host: &str,
    path: &str,
    post: Option<&Post>,
) -> Result<hyper::Request<RequestBody>, HopError> {
    let builder = hyper::Request::builder()
        .uri(path)
        .header(HOST, host)
        .header(USER_AGENT, concat!("flowprobe/", env!("CARGO_PKG_VERSION")))
        .header(hyper::header::ACCEPT, "*/*")
        .header(CONNECTION, "close");
    match post {
        None => builder
            .method(hyper::Method::GET)
            .body(Either::Left(Empty::new())),
        Some(p) => builder
            .method(hyper::Method::POST)
            .header(CONTENT_TYPE, p.content_type)
            .body(Either::Right(Full::new(p.body.clone()))),
    }
    .map_err(|e| hop_err(Reason::Internal, format!("cannot build the request: {e}")))
}

/// The response's head as facts, then its body within the cap (a
/// redirect's is not read).
async fn receive(
    response: hyper::Response<hyper::body::Incoming>,
    first_byte: Duration,
    opts: &FetchOpts,
) -> Result<Exchange, HopError> {
    let status = response.status().as_u16();
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|v: &hyper::header::HeaderValue| {
                // obs-text may carry bidi formatting characters: shown
                // escaped wherever the value is printed.
                crate::text::printable(&String::from_utf8_lossy(v.as_bytes())).into_owned()
            })
    };
    let location = header(LOCATION);
    let content_type = header(CONTENT_TYPE);
    let declared = header(CONTENT_LENGTH).and_then(|v| v.trim().parse::<u64>().ok());
    let mut out = Exchange {
        status,
        location,
        content_type,
        body: Vec::new(),
        body_bytes: 0,
        first_byte,
        transfer: Duration::ZERO,
    };
    // A redirect (followed or over the bound): its body is not read.
    if is_redirect(status) && opts.max_redirects > 0 {
        return Ok(out);
    }
    if let Some(n) = declared
        && n > opts.max_body
    {
        return Err(too_large(status, n, "declared larger than", opts.max_body));
    }
    // A declared length (already within the cap) is reserved once: a
    // large CRL is then one allocation, never copied while it grows,
    // and returned to the system whole when dropped.
    if opts.keep_body
        && let Some(n) = declared
    {
        out.body.reserve_exact(n as usize);
    }
    let body = response.into_body();
    let head = Instant::now();
    read_body(body, &mut out, opts).await?;
    out.transfer = head.elapsed();
    Ok(out)
}

/// Read the body into `out` (counted, and kept with `keep_body`), failing
/// at the first byte over the cap.
async fn read_body(
    mut body: hyper::body::Incoming,
    out: &mut Exchange,
    opts: &FetchOpts,
) -> Result<(), HopError> {
    let status = out.status;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| HopError {
            reason: hyper_reason(&e),
            detail: format!("status {status}: body after {} bytes: {e}", out.body_bytes),
            status: Some(status),
            body_bytes: out.body_bytes,
        })?;
        if let Ok(data) = frame.into_data() {
            out.body_bytes += data.len() as u64;
            if out.body_bytes > opts.max_body {
                return Err(too_large(status, out.body_bytes, "exceeded", opts.max_body));
            }
            if opts.keep_body {
                keep(&mut out.body, &data, opts.max_body);
            }
        }
    }
    Ok(())
}

/// Append `data`, growing by doubling but never past the cap: memory stays
/// within `max_body` however the body arrives.
fn keep(body: &mut Vec<u8>, data: &[u8], max_body: u64) {
    let need = body.len() + data.len();
    if need > body.capacity() {
        let target = (body.capacity() * 2)
            .max(need)
            .min(max_body as usize)
            .max(need);
        body.reserve_exact(target - body.len());
    }
    body.extend_from_slice(data);
}

/// A body over the `max_body` byte limit: `n` bytes, declared or read.
fn too_large(status: u16, n: u64, what: &str, max_body: u64) -> HopError {
    HopError {
        reason: Reason::BodyTooLarge,
        detail: format!("status {status}: body {what} the {max_body} byte limit ({n} bytes)"),
        status: Some(status),
        body_bytes: n,
    }
}

/// `reset` when the peer reset the connection, `protocol_error` otherwise
/// (unparsable response, closed mid-message).
fn hyper_reason(e: &hyper::Error) -> Reason {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe => {
                    Reason::Reset
                }
                _ => Reason::ProtocolError,
            };
        }
        source = s.source();
    }
    Reason::ProtocolError
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_join() {
        let t = Target::parse("http://crl.lab.test/DODSWCA_66.crl").unwrap();
        assert_eq!(t.port, 80);
        assert_eq!(t.path, "/DODSWCA_66.crl");
        assert_eq!(t.url(), "http://crl.lab.test/DODSWCA_66.crl");
        let t = Target::parse("http://127.0.0.1:8080/a/b.crl?x=1").unwrap();
        assert_eq!(t.authority(), "127.0.0.1:8080");
        assert_eq!(t.join("c.crl").unwrap().path, "/a/c.crl");
        assert_eq!(t.join("/d").unwrap().url(), "http://127.0.0.1:8080/d");
        assert_eq!(
            t.join("//other.test:81/e").unwrap().url(),
            "http://other.test:81/e"
        );
        assert!(Target::parse("https://x.test/").is_err());
        assert!(Target::parse("ldap://x.test/cn=x").is_err());
        assert!(Target::parse("/relative").is_err());
        let v6 = Target::parse("http://[::1]:8080/x").unwrap();
        assert_eq!(v6.authority(), "[::1]:8080");
    }

    /// One hop against an in-memory server that reads the request head and
    /// then sends `bytes` (what the fuzz target `http_response` does). It
    /// must not answer before the request: hyper cancels a request whose
    /// answer came first.
    async fn answer(bytes: &'static [u8], max_body: u64) -> Result<Exchange, HopError> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let opts = FetchOpts {
            max_redirects: 0,
            max_body,
            keep_body: true,
            host_header: None,
        };
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        let serve = tokio::spawn(async move {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.ends_with(b"\r\n\r\n") {
                let n = server.read(&mut buf).await.unwrap();
                assert!(n > 0, "the request ended early");
                head.extend_from_slice(&buf[..n]);
            }
            server.write_all(bytes).await.unwrap();
            server.shutdown().await.unwrap();
            // Hold the stream until the client is done with it.
            let _ = server.read(&mut buf).await;
        });
        let out = exchange(client, "crl.test", "/x.crl", &opts, None).await;
        serve.await.unwrap();
        out
    }

    #[tokio::test]
    async fn a_chunked_body_is_kept_whole() {
        let ex = answer(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
            16,
        )
        .await
        .unwrap();
        assert_eq!((ex.status, ex.body.as_slice()), (200, &b"abcd"[..]));
    }

    #[tokio::test]
    async fn a_chunk_over_the_cap_stops_at_the_cap() {
        let e = answer(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n0123456789abcdefg",
            16,
        )
        .await
        .unwrap_err();
        assert_eq!(e.reason, Reason::BodyTooLarge);
        let e = answer(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n",
            16,
        )
        .await
        .unwrap_err();
        assert_eq!(e.reason, Reason::BodyTooLarge);
        // hyper refuses a length of u64::MAX outright ("message head is too
        // large"): an error either way, never a reservation of that size.
        assert!(
            answer(
                b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n",
                16,
            )
            .await
            .is_err()
        );
    }

    #[tokio::test]
    async fn a_truncated_head_is_a_protocol_error() {
        let e = answer(b"HTTP/1.1 200 OK\r\nContent-Len", 16)
            .await
            .unwrap_err();
        assert_eq!(e.reason, Reason::ProtocolError);
    }
}

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

use super::HttpError;
use crate::config::Target;
use crate::kinds::Registered;
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
/// Its `Display` is the detail (`GET http://...: ...`).
#[derive(Debug)]
pub(crate) struct FetchError {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The URL whose request failed (the last asked).
    pub url: String,
    /// The redirects answered before it.
    pub hops: Vec<Hop>,
    pub failure: FetchFailure,
}

/// What failed a fetch: a hop's connection, or HTTP.
#[derive(Debug)]
pub(crate) enum FetchFailure {
    /// The vantage's DNS or the TCP connect of a hop: shared stages, with
    /// their own causes (and sentences).
    Connect {
        reason: Reason,
        detail: String,
        cause: Option<Box<Cause>>,
    },
    /// The exchange or the redirect chain.
    Http(HttpError),
}

impl FetchError {
    pub(crate) fn reason(&self) -> Reason {
        match &self.failure {
            FetchFailure::Connect { reason, .. } => *reason,
            FetchFailure::Http(e) => e.reason(),
        }
    }

    /// The status of the response that failed, when one arrived.
    pub(crate) fn status(&self) -> Option<u16> {
        match &self.failure {
            FetchFailure::Connect { .. } => None,
            FetchFailure::Http(e) => e.status(),
        }
    }

    /// Body bytes to report (see [`HttpError::body_bytes`]).
    pub(crate) fn body_bytes(&self) -> u64 {
        match &self.failure {
            FetchFailure::Connect { .. } => 0,
            FetchFailure::Http(e) => e.body_bytes(),
        }
    }

    /// The typed cause: the shared stage's for a connection (when it has
    /// one), `{"stage": "http", ...}` for HTTP.
    pub(crate) fn cause(&self) -> Option<Box<Cause>> {
        match &self.failure {
            FetchFailure::Connect { cause, .. } => cause.clone(),
            FetchFailure::Http(e) => Some(Box::new(<super::Http as Registered>::cause(e.clone()))),
        }
    }
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (method, url) = (self.method, &self.url);
        match &self.failure {
            FetchFailure::Connect { detail, .. } => write!(f, "{method} {url}: {detail}"),
            FetchFailure::Http(e) if e.about_one_request() => write!(f, "{method} {url}: {e}"),
            FetchFailure::Http(e) => write!(f, "{e}"),
        }
    }
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
        let tcp = connect_hop(ctx, addr, &target).await.map_err(|f| {
            let failure = FetchFailure::Connect {
                reason: f.reason,
                detail: f.detail,
                cause: f.cause,
            };
            trail.fail(&url, failure)
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
            .map_err(|e| trail.fail(&url, FetchFailure::Http(e)))?;
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
    fn fail(&self, url: &str, failure: FetchFailure) -> FetchError {
        FetchError {
            method: self.method,
            url: url.to_string(),
            hops: self.hops.clone(),
            failure,
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
        let redirect_err = |e: HttpError| self.fail(url, FetchFailure::Http(e));
        let Some(location) = location else {
            return Err(redirect_err(HttpError::NoLocation { status }));
        };
        if !following {
            return Err(redirect_err(HttpError::TooManyRedirects {
                max: self.max_redirects,
                hops: self.hops.clone(),
            }));
        }
        let next = target.join(&location).map_err(|problem| {
            redirect_err(HttpError::BadLocation {
                status,
                location: location.clone(),
                problem,
            })
        })?;
        let next_url = next.url();
        if self.seen.contains(&next_url) {
            return Err(redirect_err(HttpError::RedirectLoop {
                url: next_url,
                hops: self.hops.clone(),
            }));
        }
        self.seen.push(next_url);
        Ok(next)
    }
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
) -> Result<Exchange, HttpError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, RequestBody>(TokioIo::new(tcp))
            .await
            .map_err(|e| HttpError::no_response(&e))?;
    let request = request(host, path, post)?;
    let work = async move {
        let sent = Instant::now();
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| HttpError::no_response(&e))?;
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
) -> Result<hyper::Request<RequestBody>, HttpError> {
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
    .map_err(|e| HttpError::Request {
        detail: e.to_string(),
    })
}

/// The response's head as facts, then its body within the cap (a
/// redirect's is not read).
async fn receive(
    response: hyper::Response<hyper::body::Incoming>,
    first_byte: Duration,
    opts: &FetchOpts,
) -> Result<Exchange, HttpError> {
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
        return Err(HttpError::BodyTooLarge {
            status,
            declared: Some(n),
            limit: opts.max_body,
            read: 0,
        });
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
) -> Result<(), HttpError> {
    let status = out.status;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| HttpError::body_failed(status, out.body_bytes, &e))?;
        if let Ok(data) = frame.into_data() {
            out.body_bytes += data.len() as u64;
            if out.body_bytes > opts.max_body {
                return Err(HttpError::BodyTooLarge {
                    status,
                    declared: None,
                    limit: opts.max_body,
                    read: out.body_bytes,
                });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::http::Broken;

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
    async fn answer(bytes: &'static [u8], max_body: u64) -> Result<Exchange, HttpError> {
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
        assert!(
            matches!(
                e,
                HttpError::BodyTooLarge {
                    status: 200,
                    declared: None,
                    limit: 16,
                    read: 17..,
                }
            ),
            "{e:?}"
        );
        assert_eq!(e.reason(), Reason::BodyTooLarge);
        let e = answer(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n",
            16,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                e,
                HttpError::BodyTooLarge {
                    status: 200,
                    declared: Some(1_000_000_000_000),
                    limit: 16,
                    read: 0,
                }
            ),
            "{e:?}"
        );
        assert_eq!(
            e.body_bytes(),
            1_000_000_000_000,
            "the facts report the declared size"
        );
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
        assert!(
            matches!(
                e,
                HttpError::NoResponse {
                    failure: Broken::Closed,
                    io: None,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(e.reason(), Reason::ProtocolError);
        assert_eq!(e.status(), None);
    }

    #[tokio::test]
    async fn what_is_not_http_does_not_parse() {
        let e = answer(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", 16)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                HttpError::NoResponse {
                    failure: Broken::Parse,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(e.reason(), Reason::ProtocolError);
    }

    #[tokio::test]
    async fn a_body_cut_short_says_where() {
        let e = answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 16)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                HttpError::BodyFailed {
                    status: 200,
                    read: 3,
                    failure: Broken::Closed,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!((e.status(), e.body_bytes()), (Some(200), 3));
        assert_eq!(e.reason(), Reason::ProtocolError);
    }

    fn hop(url: &str, status: u16, location: Option<&str>) -> Hop {
        Hop {
            url: url.into(),
            status,
            location: location.map(Into::into),
        }
    }

    fn trail(max_redirects: u32) -> Trail {
        Trail {
            method: "GET",
            max_redirects,
            hops: Vec::new(),
            seen: vec!["http://a.test/".into()],
        }
    }

    /// The HTTP error's own sentence (its wording is tested once, in
    /// `error.rs`).
    fn inner(e: &FetchError) -> String {
        match &e.failure {
            FetchFailure::Http(h) => h.to_string(),
            FetchFailure::Connect { detail, .. } => detail.clone(),
        }
    }

    /// Each way a redirect is refused, typed, and the fetch's detail made
    /// from it: the request named first unless the sentence shows the
    /// chain.
    #[test]
    fn refused_redirects_are_typed_and_their_detail_is_made_from_them() {
        let a = Target::parse("http://a.test/").unwrap();
        let e = trail(5)
            .follow(&a, "http://a.test/", 302, None)
            .unwrap_err();
        assert!(
            matches!(
                e.failure,
                FetchFailure::Http(HttpError::NoLocation { status: 302 })
            ),
            "{e:?}"
        );
        assert_eq!(e.to_string(), format!("GET http://a.test/: {}", inner(&e)));
        assert_eq!((e.reason(), e.status()), (Reason::HttpRedirects, Some(302)));
        assert_eq!(e.hops, vec![hop("http://a.test/", 302, None)]);

        let e = trail(5)
            .follow(&a, "http://a.test/", 301, Some("ldap://x.test/cn=x".into()))
            .unwrap_err();
        assert!(
            matches!(
                &e.failure,
                FetchFailure::Http(HttpError::BadLocation { status: 301, location, .. })
                    if location == "ldap://x.test/cn=x"
            ),
            "{e:?}"
        );
        assert_eq!(e.to_string(), format!("GET http://a.test/: {}", inner(&e)));

        let mut t = trail(1);
        let b = t
            .follow(&a, "http://a.test/", 307, Some("/b".into()))
            .unwrap();
        let e = t
            .follow(&b, "http://a.test/b", 307, Some("/c".into()))
            .unwrap_err();
        assert!(
            matches!(
                &e.failure,
                FetchFailure::Http(HttpError::TooManyRedirects { max: 1, .. })
            ),
            "{e:?}"
        );
        assert_eq!(e.to_string(), inner(&e), "the chain, not one request");
        assert_eq!(e.status(), Some(307));

        let mut t = trail(5);
        let b = t
            .follow(&a, "http://a.test/", 302, Some("/b".into()))
            .unwrap();
        let e = t
            .follow(&b, "http://a.test/b", 301, Some("http://a.test/".into()))
            .unwrap_err();
        assert!(
            matches!(
                &e.failure,
                FetchFailure::Http(HttpError::RedirectLoop { url, .. }) if url == "http://a.test/"
            ),
            "{e:?}"
        );
        assert_eq!(e.to_string(), inner(&e), "the chain, not one request");
        assert_eq!((e.reason(), e.status()), (Reason::HttpRedirects, Some(301)));
    }

    /// The fetch's cause is the error tagged `http`; a hop's connection
    /// keeps the shared stage's.
    #[test]
    fn a_fetch_failure_is_an_http_cause_or_the_connections() {
        let e = FetchError {
            method: "POST",
            url: "http://ocsp.test/".into(),
            hops: Vec::new(),
            failure: FetchFailure::Http(HttpError::BodyTooLarge {
                status: 200,
                declared: Some(70_000),
                limit: 65_536,
                read: 0,
            }),
        };
        assert_eq!(
            e.to_string(),
            format!("POST http://ocsp.test/: {}", inner(&e))
        );
        let cause = e.cause().expect("cause");
        assert!(matches!(
            cause.kind::<super::super::Http>(),
            Some(HttpError::BodyTooLarge {
                declared: Some(70_000),
                ..
            })
        ));
        let refused = crate::net::tcp::ConnectError::Refused {
            addr: "192.0.2.7:80".parse().unwrap(),
        };
        let e = FetchError {
            failure: FetchFailure::Connect {
                reason: refused.reason(),
                detail: refused.to_string(),
                cause: Some(Box::new(refused.into())),
            },
            ..e
        };
        assert_eq!(e.reason(), Reason::Refused);
        assert!(matches!(
            e.cause().as_deref(),
            Some(Cause::Connect(
                crate::net::tcp::ConnectError::Refused { .. }
            ))
        ));
        assert_eq!(
            e.to_string(),
            format!("POST http://ocsp.test/: {}", inner(&e))
        );
    }
}

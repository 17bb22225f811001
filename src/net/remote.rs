//! Asking another flowprobe instance for a check: `POST /api/v1/check`
//! over hyper's HTTP/1.1 client connection, on TLS (tokio-rustls, the
//! instance's CA, a client certificate for mutual TLS) or plain TCP, with
//! basic auth. The core of `flowprobe check --fleet/--remote`.
//!
//! The peer is not trusted to behave: the whole exchange is bounded by one
//! timeout, the body by [`MAX_BODY`], and every string that reaches the
//! operator's terminal from it is bounded and stripped of control
//! characters. Whatever goes wrong is one [`RemoteError`], whose text is
//! short enough for one line of a report.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::{ACCEPT, AUTHORIZATION, CONNECTION, CONTENT_LENGTH, HOST, USER_AGENT};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::config::Host;
use crate::config::fleet::{Access, Instance, Scheme};

/// The largest answer read: 10,000 flows of check JSON are about 40 MiB.
pub(crate) const MAX_BODY: usize = 64 * 1024 * 1024;

/// Longest reason text kept from a peer (error bodies, `detail`).
const MAX_TEXT: usize = 512;
/// Longest name-like field kept from a peer (flow, vantage, host, reason).
const MAX_NAME: usize = 256;

/// Why an instance could not be asked. Each says what the operator can
/// do about it; none carries a secret.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RemoteError {
    #[error("cannot resolve {host}: {detail}")]
    Resolve { host: String, detail: String },
    #[error("unreachable: {0}")]
    Connect(String),
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    #[error("no complete answer within {}", human(.0))]
    Timeout(Duration),
    #[error("401 Unauthorized: the instance refused the credentials (fleet basic_auth)")]
    Unauthorized,
    #[error("403 Forbidden: {0}")]
    Forbidden(String),
    #[error("429 busy: another check is running there{}", retry_note(.0))]
    Busy(Option<String>),
    #[error("HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("answer larger than {} MiB", .0 / (1024 * 1024))]
    TooLarge(usize),
    #[error("not an HTTP answer: {0}")]
    Http(String),
    #[error("malformed answer: {0}")]
    Malformed(String),
}

fn human(d: &Duration) -> humantime::FormattedDuration {
    humantime::format_duration(*d)
}

fn retry_note(after: &Option<String>) -> String {
    after
        .as_ref()
        .map(|s| format!(" (retry after {s} s)"))
        .unwrap_or_default()
}

/// The settings of one instance that failed to build (a CA that holds
/// no certificate, a key that does not parse): a configuration error.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {detail}")]
pub(crate) struct SetupError {
    pub key: &'static str,
    pub detail: String,
}

/// One instance's answer: the subset of `check --output json` the fleet
/// check needs (`web::FlowView` is its writer).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Answer {
    pub flows: Vec<RemoteFlow>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RemoteFlow {
    pub vantage: String,
    pub name: String,
    pub from: String,
    pub to: String,
    pub host: String,
    pub port: u16,
    pub check: String,
    pub expect: String,
    pub severity: String,
    pub last: Option<RemoteLast>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RemoteLast {
    pub reason: String,
    pub up: bool,
    #[serde(default)]
    pub detail: String,
    /// Unix seconds.
    #[serde(default)]
    pub started: f64,
    #[serde(default)]
    pub phases: RemotePhases,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct RemotePhases {
    /// Seconds.
    pub total: Option<f64>,
}

/// A ready-to-use client for one instance: TLS settings built, the
/// `Authorization` header made.
pub(crate) struct Client {
    pub instance: Instance,
    tls: Option<Arc<rustls::ClientConfig>>,
    authorization: Option<String>,
}

impl Client {
    pub(crate) fn new(instance: Instance) -> Result<Client, SetupError> {
        let tls = match instance.url.scheme {
            Scheme::Https => Some(tls_config(&instance.access)?),
            Scheme::Http => None,
        };
        let authorization = instance.access.basic_auth.as_ref().map(|b| {
            let pair = format!("{}:{}", b.username, b.password.expose());
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        });
        Ok(Client {
            instance,
            tls,
            authorization,
        })
    }

    /// `POST /api/v1/check[?flow=...]`, the whole exchange within
    /// `timeout`. Names the instance does not run are skipped there
    /// (`skip_unknown`), so one `--flow` list serves every vantage.
    pub(crate) async fn check(
        &self,
        flows: &[String],
        timeout: Duration,
    ) -> Result<Answer, RemoteError> {
        let mut path = "/api/v1/check".to_string();
        if !flows.is_empty() {
            let names: Vec<String> = flows.iter().map(|f| percent_encode(f)).collect();
            path.push_str(&format!("?flow={}&skip_unknown=true", names.join(",")));
        }
        let read = self.exchange(hyper::Method::POST, &path, Reading::CheckAnswer);
        match tokio::time::timeout(timeout, read).await {
            Ok(Ok(Read::Answer(a))) => Ok(a),
            Ok(Ok(Read::Whole(body))) => parse(&body),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(RemoteError::Timeout(timeout)),
        }
    }

    /// One request to `path_and_query` under the URL's prefix, the whole
    /// exchange within `timeout` and a 200 answer's body within
    /// [`MAX_BODY`]; any other status is its [`RemoteError`]. Shared by
    /// the instances' check and the store's queries (`net::prom`).
    pub(crate) async fn fetch(
        &self,
        method: hyper::Method,
        path_and_query: &str,
        timeout: Duration,
    ) -> Result<Bytes, RemoteError> {
        let read = self.exchange(method, path_and_query, Reading::Whole);
        match tokio::time::timeout(timeout, read).await {
            Ok(Ok(Read::Whole(b))) => Ok(b),
            Ok(Ok(Read::Answer(_))) => Err(RemoteError::Http("an answer read as a check".into())),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(RemoteError::Timeout(timeout)),
        }
    }

    async fn exchange(
        &self,
        method: hyper::Method,
        path: &str,
        reading: Reading,
    ) -> Result<Read, RemoteError> {
        let url = &self.instance.url;
        let tcp = connect(&url.host, url.port).await?;
        let _ = tcp.set_nodelay(true);
        let body = match &self.tls {
            None => self.request(tcp, method, path, reading).await?,
            Some(config) => {
                let name = match &url.host {
                    Host::Ip(ip) => ServerName::IpAddress((*ip).into()),
                    Host::Name(n) => ServerName::try_from(n.clone())
                        .map_err(|e| RemoteError::Tls(format!("{n}: {e}")))?,
                };
                let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
                    .connect(name, tcp)
                    .await
                    .map_err(|e| RemoteError::Tls(bounded(&e.to_string(), MAX_TEXT)))?;
                self.request(tls, method, path, reading).await?
            }
        };
        Ok(body)
    }

    async fn request<S>(
        &self,
        io: S,
        method: hyper::Method,
        path: &str,
        reading: Reading,
    ) -> Result<Read, RemoteError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let url = &self.instance.url;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(io))
                .await
                .map_err(|e| http_error(&e))?;
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", url.prefix))
            .header(HOST, url.authority())
            .header(USER_AGENT, concat!("flowprobe/", env!("CARGO_PKG_VERSION")))
            .header(ACCEPT, "application/json")
            .header(CONTENT_LENGTH, "0")
            .header(CONNECTION, "close");
        if let Some(a) = &self.authorization {
            req = req.header(AUTHORIZATION, a);
        }
        let req = req
            .body(Empty::new())
            .map_err(|e| RemoteError::Http(format!("cannot build the request: {e}")))?;
        let work = async move {
            let resp = sender.send_request(req).await.map_err(|e| http_error(&e))?;
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get(hyper::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(|s| bounded(s, 32));
            let declared = resp
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            if status == 200 && matches!(reading, Reading::CheckAnswer) {
                if declared.is_some_and(|n| n > MAX_STREAMED as u64) {
                    return Err(RemoteError::TooLarge(MAX_STREAMED));
                }
                // An instance's check answer grows with its flows: parsed
                // as it arrives into the typed rows, never held whole.
                return parse_streamed(resp.into_body()).await.map(Read::Answer);
            }
            if declared.is_some_and(|n| n > MAX_BODY as u64) {
                return Err(RemoteError::TooLarge(MAX_BODY));
            }
            // Error answers are read only as far as a reason needs.
            let limit = if status == 200 { MAX_BODY } else { MAX_TEXT };
            let body = read_limited(resp.into_body(), limit, status == 200).await?;
            match status {
                200 => Ok(Read::Whole(body)),
                401 => Err(RemoteError::Unauthorized),
                403 => Err(RemoteError::Forbidden(text(&body))),
                429 => Err(RemoteError::Busy(retry_after)),
                _ => Err(RemoteError::Status {
                    status,
                    body: text(&body),
                }),
            }
        };
        let mut conn = std::pin::pin!(conn);
        let mut work = std::pin::pin!(work);
        tokio::select! {
            r = &mut work => r,
            _ = &mut conn => work.await,
        }
    }
}

/// How a 200 answer's body is read.
#[derive(Debug, Clone, Copy)]
enum Reading {
    /// Whole, within [`MAX_BODY`].
    Whole,
    /// Parsed as a check answer while it arrives, within
    /// [`MAX_STREAMED`].
    CheckAnswer,
}

/// What a request read.
enum Read {
    Whole(Bytes),
    Answer(Answer),
}

/// The most bytes a streamed check answer may have: what is kept is the
/// typed rows, not the text, so this bounds time more than memory.
pub(crate) const MAX_STREAMED: usize = 1024 * 1024 * 1024;

/// A check answer parsed on the blocking pool while its bytes arrive: a
/// 300,000-flow instance answers hundreds of megabytes, and only the rows
/// are kept.
async fn parse_streamed(mut body: hyper::body::Incoming) -> Result<Answer, RemoteError> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let parser = tokio::task::spawn_blocking(move || {
        parse_reader(ChannelReader {
            rx,
            cur: Bytes::new(),
        })
    });
    let mut total = 0usize;
    let mut fed: Result<(), RemoteError> = Ok(());
    while let Some(frame) = body.frame().await {
        let data = match frame {
            Ok(f) => match f.into_data() {
                Ok(d) => d,
                Err(_) => continue,
            },
            Err(e) => {
                fed = Err(http_error(&e));
                break;
            }
        };
        total += data.len();
        if total > MAX_STREAMED {
            fed = Err(RemoteError::TooLarge(MAX_STREAMED));
            break;
        }
        // The parser stopped (malformed input): its error tells why.
        if tx.send(data).await.is_err() {
            break;
        }
    }
    drop(tx);
    let parsed = parser
        .await
        .map_err(|e| RemoteError::Http(format!("the parse task failed: {e}")))?;
    fed?;
    parsed
}

/// The body's chunks as a reader, for the parser on the blocking pool.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    cur: Bytes,
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(b) => self.cur = b,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur.split_to(n));
        Ok(n)
    }
}

/// The body up to `limit` bytes; beyond it an error when `strict`, else
/// the first `limit` bytes (an error page only feeds a reason).
async fn read_limited(
    mut body: hyper::body::Incoming,
    limit: usize,
    strict: bool,
) -> Result<Bytes, RemoteError> {
    let mut out: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| http_error(&e))?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                if strict {
                    return Err(RemoteError::TooLarge(MAX_BODY));
                }
                out.extend_from_slice(&data[..limit - out.len()]);
                break;
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(out))
}

async fn connect(host: &Host, port: u16) -> Result<TcpStream, RemoteError> {
    let addrs: Vec<std::net::SocketAddr> = match host {
        Host::Ip(ip) => vec![std::net::SocketAddr::new(*ip, port)],
        Host::Name(n) => tokio::net::lookup_host((n.as_str(), port))
            .await
            .map_err(|e| RemoteError::Resolve {
                host: n.clone(),
                detail: e.to_string(),
            })?
            .collect(),
    };
    let mut last = None;
    for a in &addrs {
        match TcpStream::connect(a).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(format!("{a}: {e}")),
        }
    }
    Err(RemoteError::Connect(
        last.unwrap_or_else(|| format!("{host} has no address")),
    ))
}

fn http_error(e: &hyper::Error) -> RemoteError {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg = format!("{msg}: {s}");
        source = s.source();
    }
    RemoteError::Http(bounded(&msg, MAX_TEXT))
}

/// The answer, parsed, every string bounded.
pub(crate) fn parse(body: &[u8]) -> Result<Answer, RemoteError> {
    bound_answer(serde_json::from_slice(body))
}

/// [`parse`] from a reader, as the bytes arrive.
fn parse_reader(r: impl std::io::Read) -> Result<Answer, RemoteError> {
    bound_answer(serde_json::from_reader(std::io::BufReader::with_capacity(
        64 * 1024,
        r,
    )))
}

fn bound_answer(parsed: Result<Answer, serde_json::Error>) -> Result<Answer, RemoteError> {
    let mut a: Answer = parsed.map_err(|e| {
        // serde's message names the position, never echoes much input.
        RemoteError::Malformed(bounded(&e.to_string(), MAX_TEXT))
    })?;
    for f in &mut a.flows {
        for s in [
            &mut f.vantage,
            &mut f.name,
            &mut f.from,
            &mut f.to,
            &mut f.host,
            &mut f.check,
            &mut f.expect,
            &mut f.severity,
        ] {
            *s = bounded(s, MAX_NAME);
        }
        if let Some(l) = &mut f.last {
            l.reason = bounded(&l.reason, MAX_NAME);
            l.detail = bounded(&l.detail, MAX_TEXT * 4);
            if !l.started.is_finite() {
                l.started = 0.0;
            }
            l.phases.total = l.phases.total.filter(|t| t.is_finite() && *t >= 0.0);
        }
        if f.vantage.is_empty() || f.name.is_empty() {
            return Err(RemoteError::Malformed(
                "a flow without a vantage or a name".into(),
            ));
        }
    }
    Ok(a)
}

/// An error body as one bounded line.
fn text(body: &[u8]) -> String {
    let t = bounded(String::from_utf8_lossy(body).trim(), MAX_TEXT);
    if t.is_empty() { "(no body)".into() } else { t }
}

/// At most `max` characters, control characters (escape sequences that
/// could rewrite the operator's terminal) and bidirectional or invisible
/// formatting characters (that reorder a row) replaced by spaces.
pub(crate) fn bounded(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| if crate::text::hidden(c) { ' ' } else { c })
        .collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// `s` as one query component: everything but RFC 3986's unreserved
/// characters percent-encoded (a PromQL query is full of `{}"=~`).
pub(crate) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The client side of TLS: the instance's CA (or the system's store), a
/// client certificate when given. TLS 1.2 and 1.3 only, as rustls.
fn tls_config(a: &Access) -> Result<Arc<rustls::ClientConfig>, SetupError> {
    let mut roots = rustls::RootCertStore::empty();
    match &a.ca_file {
        Some(ca) => {
            let certs = read_certs(ca, "ca_file")?;
            for c in certs {
                roots.add(c).map_err(|e| SetupError {
                    key: "ca_file",
                    detail: format!("{}: {e}", ca.display()),
                })?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            for c in native.certs {
                let _ = roots.add(c);
            }
            if roots.is_empty() {
                return Err(SetupError {
                    key: "ca_file",
                    detail: "not given, and the system trust store is empty".into(),
                });
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SetupError {
            key: "ca_file",
            detail: e.to_string(),
        })?
        .with_root_certificates(roots);
    let mut config = match &a.client_cert {
        None => builder.with_no_client_auth(),
        Some(cc) => {
            let certs = read_certs(&cc.cert_file, "cert_file")?;
            let key = PrivateKeyDer::from_pem_file(&cc.key_file).map_err(|e| SetupError {
                key: "key_file",
                detail: format!("{}: no usable private key ({e})", cc.key_file.display()),
            })?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| SetupError {
                    key: "cert_file",
                    detail: format!(
                        "{} and {} do not make a certificate and its key ({e})",
                        cc.cert_file.display(),
                        cc.key_file.display()
                    ),
                })?
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_certs(
    path: &std::path::Path,
    key: &'static str,
) -> Result<Vec<CertificateDer<'static>>, SetupError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| SetupError {
            key,
            detail: format!("{}: {e}", path.display()),
        })?;
    if certs.is_empty() {
        return Err(SetupError {
            key,
            detail: format!("{}: no certificate in it", path.display()),
        });
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_strips_control_characters() {
        assert_eq!(bounded("a\x1b[2Jb", 10), "a [2Jb");
        // A right-to-left override from an instance reorders no row.
        assert_eq!(bounded("ok\u{202e}lia\u{2066}f", 10), "ok lia f");
        assert_eq!(bounded("abcdef", 3), "abc…");
    }

    #[test]
    fn parse_rejects_garbage_and_bounds_strings() {
        assert!(matches!(parse(b"<html>"), Err(RemoteError::Malformed(_))));
        assert!(matches!(
            parse(br#"{"ok":true,"flows":[{"vantage":"v","name":"n","from":"v","to":"t","host":"h","port":70000,"check":"tcp","expect":"open","severity":"info","last":null}]}"#),
            Err(RemoteError::Malformed(_))
        ));
        let long = "x".repeat(10_000);
        let body = format!(
            r#"{{"ok":true,"flows":[{{"vantage":"v","name":"{long}","from":"v","to":"t","host":"h","port":1,"check":"tcp","expect":"open","severity":"info","last":{{"reason":"ok","up":true,"detail":"","started":1.5,"phases":{{"total":0.01}}}}}}]}}"#
        );
        let a = parse(body.as_bytes()).expect("parses");
        assert!(a.flows[0].name.chars().count() <= MAX_NAME + 1);
    }
}

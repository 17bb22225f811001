//! Why an HTTP fetch gave no judgeable response, as data: the `http`
//! kind's `Kind::Error`, and what a CRL or OCSP fetch's `http.cause`
//! carries. The sentence of `detail` is this error's `Display`, made when
//! the failure is rendered.

use serde::Serialize;
use thiserror::Error;

use super::client::Hop;
use crate::outcome::{IoFailure, Reason};

/// One hop or the redirect chain failing a fetch, with the facts an
/// operator needs. Serialized as a probe's `cause` (`{"stage": "http",
/// "error": "body_too_large", "status": 200, "declared": null, "limit":
/// 4194304, "read": 4194305}`).
///
/// Not `PartialEq`: an I/O error (kept as the `source` of the exchange's
/// failures) has no equality.
#[derive(Debug, Clone, Error, Serialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum HttpError {
    /// hyper refused to build the request (a path it does not accept):
    /// our fault, hence `internal`.
    #[error("cannot build the request: {detail}")]
    Request { detail: String },
    /// No complete response head: the peer closed, reset, or sent what is
    /// not HTTP/1.1. `detail` is hyper's sentence; `io` the I/O error
    /// under it, when there is one.
    #[error("{detail}")]
    NoResponse {
        failure: Broken,
        detail: String,
        #[source]
        #[serde(flatten)]
        io: Option<IoFailure>,
    },
    /// The body of a `status` response broke off after `read` bytes.
    #[error("status {status}: body after {read} bytes: {detail}")]
    BodyFailed {
        status: u16,
        read: u64,
        failure: Broken,
        detail: String,
        #[source]
        #[serde(flatten)]
        io: Option<IoFailure>,
    },
    /// The body went over the `limit` (the flow's `max_body` or
    /// `max_size`): refused on its `Content-Length` (`declared`) before a
    /// byte was read, or abandoned at the first byte past the limit
    /// (`declared` null, `read` bytes read).
    #[error("status {status}: body {}", too_large(*declared, *limit, *read))]
    BodyTooLarge {
        status: u16,
        declared: Option<u64>,
        limit: u64,
        read: u64,
    },
    /// A redirect `status` without a `Location` header: nowhere to go.
    #[error("{status} without a Location header")]
    NoLocation { status: u16 },
    /// The chain went past `max_redirects` (`max`). The hops are the
    /// attempt's `redirects`, so the cause leaves them out.
    #[error("more than {max} redirects: {}", chain_text(hops))]
    TooManyRedirects {
        max: u32,
        #[serde(skip)]
        hops: Vec<Hop>,
    },
    /// A redirect `status` to a `Location` that is no `http://` URL we can
    /// follow; `problem` says why.
    #[error("{status} to {location:?}: {problem}")]
    BadLocation {
        status: u16,
        location: String,
        problem: String,
    },
    /// The chain led back to `url`, a URL already asked.
    #[error("redirect loop: {} -> {url}", chain_text(hops))]
    RedirectLoop {
        url: String,
        #[serde(skip)]
        hops: Vec<Hop>,
    },
}

/// How hyper failed an exchange, from its error's kind: scripts tell a
/// server that closed from one that does not speak HTTP without reading
/// hyper's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Broken {
    /// The connection closed before the message was complete (a head
    /// cut short, or a body shorter than its `Content-Length`).
    Closed,
    /// What the peer sent does not parse as an HTTP/1.1 response (or its
    /// head is over hyper's limit).
    Parse,
    /// hyper cancelled the request: the peer answered before it was
    /// written, which an HTTP server does not do.
    Canceled,
    /// The connection failed under hyper (the `io` fields say how).
    Io,
    /// Anything else hyper reports.
    Other,
}

impl HttpError {
    /// The outcome reason this error leads to.
    pub(crate) fn reason(&self) -> Reason {
        match self {
            HttpError::Request { .. } => Reason::Internal,
            HttpError::NoResponse { io, .. } | HttpError::BodyFailed { io, .. } => {
                match io.as_ref().map(IoFailure::kind) {
                    Some(std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe) => {
                        Reason::Reset
                    }
                    Some(_) | None => Reason::ProtocolError,
                }
            }
            HttpError::BodyTooLarge { .. } => Reason::BodyTooLarge,
            HttpError::NoLocation { .. }
            | HttpError::TooManyRedirects { .. }
            | HttpError::BadLocation { .. }
            | HttpError::RedirectLoop { .. } => Reason::HttpRedirects,
        }
    }

    /// The status of the response that failed, when one arrived.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            HttpError::Request { .. } | HttpError::NoResponse { .. } => None,
            HttpError::BodyFailed { status, .. }
            | HttpError::BodyTooLarge { status, .. }
            | HttpError::NoLocation { status }
            | HttpError::BadLocation { status, .. } => Some(*status),
            HttpError::TooManyRedirects { hops, .. } | HttpError::RedirectLoop { hops, .. } => {
                hops.last().map(|h| h.status)
            }
        }
    }

    /// The body size the facts report: the bytes read, or for a body
    /// refused on its `Content-Length`, the length it declared.
    pub(crate) fn body_bytes(&self) -> u64 {
        match self {
            HttpError::BodyFailed { read, .. } => *read,
            HttpError::BodyTooLarge { declared, read, .. } => declared.unwrap_or(*read),
            HttpError::Request { .. }
            | HttpError::NoResponse { .. }
            | HttpError::NoLocation { .. }
            | HttpError::TooManyRedirects { .. }
            | HttpError::BadLocation { .. }
            | HttpError::RedirectLoop { .. } => 0,
        }
    }

    /// Whether the sentence is about one request, which a fetch's detail
    /// names first (`GET http://...: 302 without a Location header`); the
    /// redirect chain's own failures show the chain instead.
    pub(crate) fn about_one_request(&self) -> bool {
        match self {
            HttpError::Request { .. }
            | HttpError::NoResponse { .. }
            | HttpError::BodyFailed { .. }
            | HttpError::BodyTooLarge { .. }
            | HttpError::NoLocation { .. }
            | HttpError::BadLocation { .. } => true,
            HttpError::TooManyRedirects { .. } | HttpError::RedirectLoop { .. } => false,
        }
    }

    /// hyper's failure before a response head arrived.
    pub(crate) fn no_response(e: &hyper::Error) -> Self {
        let (failure, io) = classify(e);
        HttpError::NoResponse {
            failure,
            detail: e.to_string(),
            io,
        }
    }

    /// hyper's failure reading the body of a `status` response, `read`
    /// bytes in.
    pub(crate) fn body_failed(status: u16, read: u64, e: &hyper::Error) -> Self {
        let (failure, io) = classify(e);
        HttpError::BodyFailed {
            status,
            read,
            failure,
            detail: e.to_string(),
            io,
        }
    }
}

/// hyper's error as a [`Broken`] and the first I/O error under it (a
/// copy: hyper keeps its own), which decides `reset` from
/// `protocol_error`.
fn classify(e: &hyper::Error) -> (Broken, Option<IoFailure>) {
    let mut io = None;
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(found) = s.downcast_ref::<std::io::Error>() {
            io = Some(IoFailure::from(copy_io(found)));
            break;
        }
        source = s.source();
    }
    // A body cut short is hyper's body error over an `UnexpectedEof`.
    let eof = io
        .as_ref()
        .is_some_and(|i| i.kind() == std::io::ErrorKind::UnexpectedEof);
    let failure = if e.is_incomplete_message() || e.is_closed() || eof {
        Broken::Closed
    } else if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() {
        Broken::Parse
    } else if e.is_canceled() {
        Broken::Canceled
    } else if io.is_some() {
        Broken::Io
    } else {
        Broken::Other
    };
    (failure, io)
}

/// An I/O error with the same kind, number and message.
fn copy_io(e: &std::io::Error) -> std::io::Error {
    match e.raw_os_error() {
        Some(errno) => std::io::Error::from_raw_os_error(errno),
        None => std::io::Error::new(e.kind(), e.to_string()),
    }
}

/// The end of a too-large body's sentence.
fn too_large(declared: Option<u64>, limit: u64, read: u64) -> String {
    match declared {
        Some(n) => format!("declared larger than the {limit} byte limit ({n} bytes)"),
        None => format!("exceeded the {limit} byte limit ({read} bytes)"),
    }
}

/// The redirect chain as one line: `url (status) -> url (status)`.
fn chain_text(hops: &[Hop]) -> String {
    hops.iter()
        .map(|h| format!("{} ({})", h.url, h.status))
        .collect::<Vec<_>>()
        .join(" -> ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Registered;
    use serde_json::json;

    fn hop(url: &str, status: u16) -> Hop {
        Hop {
            url: url.into(),
            status,
            location: None,
        }
    }

    fn reset() -> Option<IoFailure> {
        Some(std::io::Error::from_raw_os_error(104).into())
    }

    /// The sentences people read (the attempt's and the finding's
    /// `detail`), each once; everything else matches the fields.
    #[test]
    fn each_error_says_its_sentence() {
        let hops = vec![hop("http://a.test/", 302), hop("http://a.test/b", 301)];
        let cases = [
            (
                HttpError::Request {
                    detail: "invalid uri character".into(),
                },
                "cannot build the request: invalid uri character",
            ),
            (
                HttpError::NoResponse {
                    failure: Broken::Closed,
                    detail: "connection closed before message completed".into(),
                    io: None,
                },
                "connection closed before message completed",
            ),
            (
                HttpError::BodyFailed {
                    status: 200,
                    read: 3,
                    failure: Broken::Io,
                    detail: "error reading a body from connection".into(),
                    io: reset(),
                },
                "status 200: body after 3 bytes: error reading a body from connection",
            ),
            (
                HttpError::BodyTooLarge {
                    status: 200,
                    declared: Some(200_000_000),
                    limit: 1_048_576,
                    read: 0,
                },
                "status 200: body declared larger than the 1048576 byte limit (200000000 bytes)",
            ),
            (
                HttpError::BodyTooLarge {
                    status: 200,
                    declared: None,
                    limit: 4_194_304,
                    read: 4_194_305,
                },
                "status 200: body exceeded the 4194304 byte limit (4194305 bytes)",
            ),
            (
                HttpError::NoLocation { status: 302 },
                "302 without a Location header",
            ),
            (
                HttpError::TooManyRedirects {
                    max: 1,
                    hops: hops.clone(),
                },
                "more than 1 redirects: http://a.test/ (302) -> http://a.test/b (301)",
            ),
            (
                HttpError::BadLocation {
                    status: 301,
                    location: "ldap://x.test/cn=x".into(),
                    problem: "\"ldap://x.test/cn=x\": scheme \"ldap\" is not supported (http only)"
                        .into(),
                },
                "301 to \"ldap://x.test/cn=x\": \"ldap://x.test/cn=x\": scheme \"ldap\" is not supported (http only)",
            ),
            (
                HttpError::RedirectLoop {
                    url: "http://a.test/".into(),
                    hops,
                },
                "redirect loop: http://a.test/ (302) -> http://a.test/b (301) -> http://a.test/",
            ),
        ];
        for (e, sentence) in cases {
            assert_eq!(e.to_string(), sentence, "{e:?}");
        }
    }

    #[test]
    fn as_a_cause_the_error_is_tagged_http_with_its_facts() {
        let json = |e: HttpError| {
            serde_json::to_value(<super::super::Http as Registered>::cause(e)).expect("json")
        };
        assert_eq!(
            json(HttpError::BodyTooLarge {
                status: 200,
                declared: None,
                limit: 16,
                read: 17,
            }),
            json!({"stage": "http", "error": "body_too_large", "status": 200,
                   "declared": null, "limit": 16, "read": 17})
        );
        // The chain is the attempt's `redirects`, not repeated here.
        assert_eq!(
            json(HttpError::RedirectLoop {
                url: "http://a.test/".into(),
                hops: vec![hop("http://a.test/", 302)],
            }),
            json!({"stage": "http", "error": "redirect_loop", "url": "http://a.test/"})
        );
        // The I/O error beside hyper's sentence, as every cause shows one.
        let e = HttpError::NoResponse {
            failure: Broken::Io,
            detail: "connection error".into(),
            io: reset(),
        };
        assert_eq!(e.reason(), Reason::Reset);
        let v = json(e);
        assert_eq!(
            (&v["stage"], &v["error"], &v["failure"], &v["detail"]),
            (
                &json!("http"),
                &json!("no_response"),
                &json!("io"),
                &json!("connection error")
            )
        );
        assert_eq!(
            (&v["io"], &v["errno"]),
            (&json!("ConnectionReset"), &json!(104))
        );
        assert!(v["message"].is_string(), "{v}");
        let closed = json(HttpError::NoResponse {
            failure: Broken::Closed,
            detail: "connection closed before message completed".into(),
            io: None,
        });
        assert_eq!(
            closed,
            json!({"stage": "http", "error": "no_response", "failure": "closed",
                   "detail": "connection closed before message completed"})
        );
    }
}

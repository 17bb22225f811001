//! `check = "http"`: an HTTP/1.1 GET over the vantage's TCP connection,
//! judged by status, redirects, size, content type and body. The client
//! ([`client`]) is shared with the CRL check.

use std::net::SocketAddr;

use serde::Serialize;

use super::client::{self, FetchError, FetchOpts, Hop};
use super::settings::HttpSpec;
use crate::config::Target;
use crate::kinds::KindFacts;
use crate::outcome::{Finding, Level, Reason, verdict};
use crate::probe::{Cause, Ctx, Failure, ProbeResult, Success};

/// HTTP facts of one probe, for `/api/v1/flows` and `check --output json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HttpFacts {
    /// The first URL requested.
    pub url: String,
    /// The URL that gave the final answer (after redirects).
    pub final_url: String,
    /// Final status; `None` when no response arrived.
    pub status: Option<u16>,
    /// Every redirect followed, in order.
    pub redirects: Vec<Hop>,
    pub content_type: Option<String>,
    /// Body bytes read (up to the cap).
    pub body_bytes: u64,
    /// Request sent to response head, final hop.
    pub first_byte_seconds: Option<f64>,
    /// Response head to last byte, final hop.
    pub transfer_seconds: Option<f64>,
    /// Why a CRL or OCSP fetch failed, shaped as an attempt's `cause`
    /// (`{"stage": "http", ...}`, or a hop's `dns` or `connect`): their
    /// failed fetch is a finding, not the attempt's failure, so it has no
    /// cause of its own. An http flow's failure is its attempt's `cause`,
    /// so its details leave this out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Box<Cause>>,
}

impl HttpFacts {
    /// What a failed CRL or OCSP fetch saw, its cause kept.
    pub(crate) fn failed(&mut self, e: &FetchError) {
        self.final_url = e.url.clone();
        self.status = e.status();
        self.redirects = e.hops.clone();
        self.body_bytes = e.body_bytes();
        self.cause = e.cause();
    }

    /// What a CRL or OCSP fetch that got an answer saw: the answer's
    /// status, headers, size and timing.
    pub(crate) fn answered(&mut self, r: &client::Response) {
        self.final_url = r.url.clone();
        self.status = Some(r.status);
        self.redirects = r.hops.clone();
        self.content_type = r.content_type.clone();
        self.body_bytes = r.body_bytes;
        self.first_byte_seconds = Some(r.first_byte.as_secs_f64());
        self.transfer_seconds = Some(r.transfer.as_secs_f64());
    }
}

/// The flow's default `Host:` and first URL.
pub fn flow_target(ctx: &Ctx<'_>, path: &str) -> Target {
    Target {
        host: ctx.flow.host.clone(),
        port: ctx.flow.port,
        path: path.to_string(),
    }
}

pub(super) async fn run(ctx: &Ctx<'_>, addr: SocketAddr, spec: &HttpSpec) -> ProbeResult {
    let start = flow_target(ctx, &spec.path);
    let url = start.url();
    let opts = FetchOpts {
        max_redirects: spec.max_redirects,
        max_body: spec.max_body,
        keep_body: spec.body_regex.is_some(),
        host_header: spec.host_header.clone(),
    };
    match client::fetch(ctx, addr, start, &opts).await {
        Ok(r) => {
            let findings = judge_response(spec, &r);
            let reason = verdict(&findings);
            let detail = format!(
                "{addr}: GET {} -> {}{}, {} bytes{}",
                url,
                r.status,
                if r.hops.is_empty() {
                    String::new()
                } else {
                    format!(" after {} redirects", r.hops.len())
                },
                r.body_bytes,
                crate::outcome::reason_suffix(reason)
            );
            Ok(Success {
                detail,
                findings,
                facts: KindFacts::Http(Box::new(HttpFacts {
                    url,
                    final_url: r.url,
                    status: Some(r.status),
                    redirects: r.hops,
                    content_type: r.content_type,
                    body_bytes: r.body_bytes,
                    first_byte_seconds: Some(r.first_byte.as_secs_f64()),
                    transfer_seconds: Some(r.transfer.as_secs_f64()),
                    cause: None,
                })),
            })
        }
        Err(e) => {
            let (reason, detail) = (e.reason(), e.to_string());
            let (status, body_bytes) = (e.status(), e.body_bytes());
            Err(Failure {
                reason,
                detail: format!("{addr}: {detail}"),
                cause: e.cause(),
                findings: vec![Finding::new(reason, Level::Fail, detail)],
                facts: KindFacts::Http(Box::new(HttpFacts {
                    url,
                    final_url: e.url,
                    status,
                    redirects: e.hops,
                    content_type: None,
                    body_bytes,
                    first_byte_seconds: None,
                    transfer_seconds: None,
                    cause: None,
                })),
            })
        }
    }
}

/// What an arrived response breaks of the flow's expectations: its
/// status, its Content-Type, its body.
fn judge_response(spec: &HttpSpec, r: &client::Response) -> Vec<Finding> {
    let mut findings = Vec::new();
    if !spec.status.contains(r.status) {
        findings.push(Finding::new(
            Reason::HttpStatus,
            Level::Fail,
            format!(
                "GET {}: status {}, expected {}",
                r.url, r.status, spec.status
            ),
        ));
    }
    if let Some(re) = &spec.content_type {
        let ct = r.content_type.as_deref().unwrap_or("");
        if !re.0.is_match(ct) {
            findings.push(Finding::new(
                Reason::HttpContent,
                Level::Fail,
                format!(
                    "Content-Type {:?} does not match /{}/",
                    r.content_type.as_deref().unwrap_or("(none)"),
                    re.0.as_str()
                ),
            ));
        }
    }
    if let Some(re) = &spec.body_regex
        && !re.0.is_match(&r.body)
    {
        findings.push(Finding::new(
            Reason::HttpContent,
            Level::Fail,
            format!(
                "body ({} bytes) does not match /{}/",
                r.body_bytes,
                re.0.as_str()
            ),
        ));
    }
    findings
}

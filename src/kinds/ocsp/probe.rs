//! `check = "ocsp"`: ask the OCSP responders about every certificate of
//! another TLS flow's last chain (`ocsp.from_flow`, read from the
//! [`ChainBoard`]) and judge each answer: signer, serial, status,
//! freshness.
//!
//! Each sent certificate that is not self-signed and whose issuer is known
//! (sent after it, or an anchor of the trust stores) is asked about, by
//! HTTP POST (RFC 6960 A.1, `application/ocsp-request`) over the
//! vantage's connection, to the responders of its Authority Information
//! Access or to `ocsp.urls`. With `rewrite` (default) a discovered URL is
//! fetched from this flow's target and port, path kept, as CRL flows do.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use rustls::pki_types::CertificateDer;
use serde::Serialize;

use super::settings::OcspSpec;
use crate::analyze::ocsp::{self as judge, OcspJudgement};
use crate::config::Flow;
use crate::config::Target;
use crate::kinds::KindFacts;
use crate::kinds::http::HttpFacts;
use crate::kinds::http::client::{self, FetchOpts, Post};
use crate::outcome::{Finding, Level, Reason, verdict};
use crate::probe::Stores;
use crate::probe::board::{Captured, ChainBoard};
use crate::probe::{Ctx, ProbeResult, Success};

/// At most this many certificates of a chain are asked about, and this
/// many responders per certificate: a hostile chain cannot make a probe
/// into hundreds of requests.
const MAX_CERTIFICATES: usize = 8;
const MAX_RESPONDERS: usize = 4;

/// What an OCSP flow prepares once.
#[derive(Debug)]
pub struct OcspState {
    spec: OcspSpec,
    /// Anchors that may have issued the top sent certificate.
    anchors: Vec<CertificateDer<'static>>,
    board: Arc<ChainBoard>,
}

impl OcspState {
    pub fn new(
        flow: &Flow,
        spec: &OcspSpec,
        stores: &Stores,
        board: Arc<ChainBoard>,
    ) -> Result<Self, String> {
        let mut anchors = Vec::new();
        for t in &spec.trust {
            let store = stores
                .get(t)
                .ok_or_else(|| format!("flow[{}].ocsp.trust: store {t:?} not loaded", flow.name))?;
            anchors.extend(store.anchors().iter().map(|a| a.der.clone()));
        }
        Ok(OcspState {
            spec: spec.clone(),
            anchors,
            board,
        })
    }

    pub(crate) fn anchors_fingerprint(&self) -> Vec<[u8; 32]> {
        use sha2::{Digest, Sha256};
        self.anchors
            .iter()
            .map(|d| Sha256::digest(d.as_ref()).into())
            .collect()
    }
}

/// One question to one responder about one certificate.
#[derive(Debug, Clone, Serialize)]
pub struct OcspEntry {
    /// Chain position of the certificate asked about (0 = leaf).
    pub position: usize,
    pub subject_cn: String,
    pub serial: String,
    /// The responder, as configured or as found in the certificate.
    pub url: String,
    /// `config` or `discovered`.
    pub source: &'static str,
    /// What was fetched (after rewrite and redirects).
    pub http: HttpFacts,
    /// The judged answer; `None` when none arrived.
    pub response: Option<OcspJudgement>,
    pub reason: Reason,
    pub detail: String,
}

/// OCSP facts of one probe, for `/api/v1/flows` and `check --output json`.
#[derive(Debug, Clone, Serialize)]
pub struct OcspFacts {
    pub from_flow: String,
    /// When the `from_flow` chain used was captured (Unix seconds).
    pub chain_captured_at: Option<f64>,
    pub responses: Vec<OcspEntry>,
}

/// A certificate to ask about: its position, its issuer's DER and the
/// responders to ask.
struct Question<'a> {
    position: usize,
    cert: &'a [u8],
    issuer: &'a [u8],
    subject_cn: String,
    serial: String,
    urls: Vec<(String, &'static str)>,
}

fn questions<'a>(
    spec: &OcspSpec,
    c: &'a Captured,
    anchors: &'a [CertificateDer<'static>],
    notes: &mut Vec<Finding>,
) -> Vec<Question<'a>> {
    let mut out = Vec::new();
    for (position, der) in c.certificates.iter().enumerate().take(MAX_CERTIFICATES) {
        let facts = c.chain.certificates.get(position);
        if facts.is_some_and(|f| f.self_signed) {
            continue;
        }
        let (subject_cn, serial) = facts.map_or_else(Default::default, |f| {
            (f.subject_cn.clone(), f.serial.clone())
        });
        let mut candidates: Vec<&'a [u8]> = c
            .certificates
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != position)
            .map(|(_, d)| d.as_ref())
            .collect();
        candidates.extend(anchors.iter().map(|a| a.as_ref()));
        let Some(i) = judge::find_issuer(der.as_ref(), &candidates) else {
            notes.push(
                Finding::new(
                    Reason::OcspMissing,
                    Level::Info,
                    format!(
                        "position {position} ({subject_cn}) not asked: its issuer is neither sent nor an anchor of the trust stores"
                    ),
                )
                .about(crate::outcome::Subject::Certificate { position }),
            );
            continue;
        };
        let urls: Vec<(String, &'static str)> = if spec.urls.is_empty() {
            judge::responder_urls(der.as_ref())
                .into_iter()
                .map(|u| (u, "discovered"))
                .collect()
        } else {
            spec.urls.iter().map(|u| (u.clone(), "config")).collect()
        };
        if urls.is_empty() {
            notes.push(
                Finding::new(
                    Reason::OcspMissing,
                    Level::Info,
                    format!("position {position} ({subject_cn}) names no OCSP responder"),
                )
                .about(crate::outcome::Subject::Certificate { position }),
            );
            continue;
        }
        out.push(Question {
            position,
            cert: der.as_ref(),
            issuer: candidates[i],
            subject_cn,
            serial,
            urls: urls.into_iter().take(MAX_RESPONDERS).collect(),
        });
    }
    out
}

pub(super) async fn run(ctx: &Ctx<'_>, addr: SocketAddr, state: &OcspState) -> ProbeResult {
    let spec = &state.spec;
    let captured = state.board.get(&spec.from_flow);
    let mut findings = Vec::new();
    let mut entries = Vec::new();
    let list = match &captured {
        Some(c) => questions(spec, c, &state.anchors, &mut findings),
        None => Vec::new(),
    };
    if list.is_empty() {
        // Nothing to ask: the port itself must still be open, and a closed
        // one says so (refused, filtered) before ocsp_missing does.
        drop(ctx.connect_only(addr).await?);
        let why = nothing_to_ask(spec, captured.as_deref());
        findings.push(Finding::new(Reason::OcspMissing, Level::Fail, why));
    }
    let asking = Asking {
        ctx,
        addr,
        spec,
        opts: FetchOpts {
            max_redirects: spec.max_redirects,
            max_body: spec.max_size,
            keep_body: true,
            host_header: None,
        },
        now: SystemTime::now(),
    };
    for q in &list {
        let what = format!("position {} ({})", q.position, q.subject_cn);
        let request = judge::request(q.cert, q.issuer);
        for (url, source) in &q.urls {
            let (entry, mine) = asking.responder(q, &what, &request, url, source).await;
            findings.extend(mine);
            entries.push(entry);
        }
    }
    // Something to ask, but no responder reachable over this flow (only
    // https, ldap or malformed URLs): nothing judged is not a pass. The
    // port must still be open, and a closed one says so first.
    if !list.is_empty() && entries.iter().all(|e| e.http.url.is_empty()) {
        drop(ctx.connect_only(addr).await?);
        findings.push(none_asked(spec, entries.len()));
    }
    Ok(summary(addr, spec, captured.as_deref(), findings, entries))
}

/// Why a probe has no OCSP request to send, for its `ocsp_missing` finding.
fn nothing_to_ask(spec: &OcspSpec, captured: Option<&Captured>) -> String {
    match captured {
        None => format!(
            "no OCSP request: flow {:?} has not captured a chain yet",
            spec.from_flow
        ),
        Some(_) => format!(
            "no OCSP request: no certificate of the chain flow {:?} captured has a known issuer and a responder",
            spec.from_flow
        ),
    }
}

/// The failure of a probe none of whose `responders` could be asked.
fn none_asked(spec: &OcspSpec, responders: usize) -> Finding {
    Finding::new(
        Reason::OcspMissing,
        Level::Fail,
        format!(
            "no OCSP responder asked: none of the {} responder URLs of the chain flow {:?} \
             can be asked over this flow (http only)",
            responders, spec.from_flow
        ),
    )
}

/// What every question of one probe shares.
struct Asking<'a, 'c> {
    ctx: &'a Ctx<'c>,
    addr: SocketAddr,
    spec: &'a OcspSpec,
    opts: FetchOpts,
    now: SystemTime,
}

impl Asking<'_, '_> {
    /// Ask one responder about one certificate: its entry, and its findings.
    async fn responder(
        &self,
        q: &Question<'_>,
        what: &str,
        request: &Result<Vec<u8>, String>,
        url: &str,
        source: &'static str,
    ) -> (OcspEntry, Vec<Finding>) {
        let mut entry = OcspEntry {
            position: q.position,
            subject_cn: q.subject_cn.clone(),
            serial: q.serial.clone(),
            url: url.to_string(),
            source,
            http: HttpFacts::default(),
            response: None,
            reason: Reason::Ok,
            detail: String::new(),
        };
        let mine = match (request, self.target(url, source)) {
            (Err(e), _) => vec![
                Finding::new(
                    Reason::Internal,
                    Level::Fail,
                    format!("OCSP for {what}: cannot build the request: {e}"),
                )
                .about(crate::outcome::Subject::Certificate {
                    position: q.position,
                }),
            ],
            // LDAP and HTTPS responders are not asked over this flow.
            (_, Err(e)) => vec![
                Finding::new(
                    Reason::OcspMissing,
                    Level::Info,
                    format!("OCSP for {what}: {url} not asked: {e}"),
                )
                .about(crate::outcome::Subject::Certificate {
                    position: q.position,
                }),
            ],
            (Ok(body), Ok(target)) => {
                entry.http.url = target.url();
                let post = Post {
                    content_type: "application/ocsp-request",
                    body: Bytes::from(body.clone()),
                };
                let (ctx, addr, now) = (self.ctx, self.addr, self.now);
                ask(ctx, addr, target, &self.opts, &post, q, now, &mut entry).await
            }
        };
        entry.reason = verdict(&mine);
        entry.detail = entry_detail(&mine, entry.response.as_ref());
        (entry, mine)
    }

    /// Where to ask `url`: a discovered one, with `rewrite`, on this
    /// flow's target and port.
    fn target(&self, url: &str, source: &str) -> Result<Target, String> {
        Target::parse(url).map(|t| {
            if source == "discovered" && self.spec.rewrite {
                Target {
                    host: self.ctx.flow.host.clone(),
                    port: self.ctx.flow.port,
                    path: t.path,
                }
            } else {
                t
            }
        })
    }
}

/// One answer's detail: its first failure, or its status and signer.
fn entry_detail(mine: &[Finding], response: Option<&OcspJudgement>) -> String {
    match (mine.iter().find(|f| f.level == Level::Fail), response) {
        (Some(f), _) => f.detail.clone(),
        (None, Some(r)) => format!(
            "{}, signed by {}",
            r.status.unwrap_or("no status"),
            r.signer.as_deref().unwrap_or("nobody")
        ),
        (None, None) => mine.first().map(|f| f.detail.clone()).unwrap_or_default(),
    }
}

/// The probe's result: findings ordered, the count of answers judged.
fn summary(
    addr: SocketAddr,
    spec: &OcspSpec,
    captured: Option<&Captured>,
    mut findings: Vec<Finding>,
    entries: Vec<OcspEntry>,
) -> Success {
    findings.sort_by_key(|f| (f.level != Level::Fail, judge::rank(f.reason)));
    let reason = verdict(&findings);
    let judged = entries.iter().filter(|e| e.response.is_some()).count();
    Success {
        detail: format!(
            "{addr}: {judged} of {} OCSP answers judged{}",
            entries.len(),
            crate::outcome::reason_suffix(reason)
        ),
        findings,
        facts: KindFacts::Ocsp(Box::new(OcspFacts {
            from_flow: spec.from_flow.clone(),
            chain_captured_at: captured.map(|c| crate::text::unix_secs_f64(c.at)),
            responses: entries,
        })),
    }
}

/// POST one request and judge the answer into `entry`; the findings.
#[allow(clippy::too_many_arguments)]
async fn ask(
    ctx: &Ctx<'_>,
    addr: SocketAddr,
    target: Target,
    opts: &FetchOpts,
    post: &Post,
    q: &Question<'_>,
    now: SystemTime,
    entry: &mut OcspEntry,
) -> Vec<Finding> {
    let http = &mut entry.http;
    match client::post(ctx, addr, target, opts, post).await {
        Err(e) => {
            http.failed(&e);
            vec![Finding::new(e.reason(), Level::Fail, e.to_string())]
        }
        Ok(r) => {
            http.answered(&r);
            if !(200..300).contains(&r.status) {
                return vec![Finding::new(
                    Reason::HttpStatus,
                    Level::Fail,
                    format!("POST {}: status {}, expected 2xx", r.url, r.status),
                )];
            }
            let about = judge::Asked {
                position: q.position,
                name: Some(&q.subject_cn),
            };
            let facts = judge::judge(&r.body, q.cert, q.issuer, now, about);
            let found = facts.findings.clone();
            entry.response = Some(facts);
            found
        }
    }
}

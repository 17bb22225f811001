//! `check = "crl"`: fetch every CRL a flow names or discovers and judge it:
//! signature (issuer from the captured chain or a trust store), freshness,
//! and revocation of the captured path.
//!
//! URLs come from `crl.urls` and, with `crl.from_flow`, from the CRL
//! Distribution Points of every certificate the named TLS flow last
//! captured (read from the [`ChainBoard`]). With `rewrite` (default) a
//! discovered URL is fetched from this flow's target and port, path kept:
//! the deployment serves the CRLs from the MDM itself on port 80.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use rustls::pki_types::CertificateDer;
use serde::Serialize;

use super::settings::CrlSpec;
use crate::analyze::chain::ChainReport;
use crate::analyze::crl::{self as judge, CrlJudgement, Known};
use crate::config::Flow;
use crate::config::Target;
use crate::kinds::KindFacts;
use crate::kinds::http::HttpFacts;
use crate::kinds::http::client::{self, FetchOpts};
use crate::outcome::{Finding, Level, Reason, Subject, verdict};
use crate::probe::Stores;
use crate::probe::board::{Captured, ChainBoard};
use crate::probe::{Ctx, ProbeResult, Success};

/// What a CRL flow prepares once: its settings, the anchors that may sign
/// CRLs, and the board it reads chains from.
#[derive(Debug)]
pub struct CrlState {
    spec: CrlSpec,
    /// `(store name, anchor DER)`.
    issuers: Vec<(String, CertificateDer<'static>)>,
    board: Arc<ChainBoard>,
}

impl CrlState {
    pub fn new(
        flow: &Flow,
        spec: &CrlSpec,
        stores: &Stores,
        board: Arc<ChainBoard>,
    ) -> Result<Self, String> {
        let mut issuers = Vec::new();
        for t in &spec.trust {
            let store = stores
                .get(t)
                .ok_or_else(|| format!("flow[{}].crl.trust: store {t:?} not loaded", flow.name))?;
            for a in store.anchors() {
                issuers.push((format!("trust store {t}"), a.der.clone()));
            }
        }
        Ok(CrlState {
            spec: spec.clone(),
            issuers,
            board,
        })
    }

    pub(crate) fn anchors_fingerprint(&self) -> Vec<[u8; 32]> {
        use sha2::{Digest, Sha256};
        self.issuers
            .iter()
            .map(|(_, d)| Sha256::digest(d.as_ref()).into())
            .collect()
    }
}

/// One CRL of a probe: where it came from, what the server answered and
/// what the CRL says.
#[derive(Debug, Clone, Serialize)]
pub struct CrlEntry {
    /// As configured, or as found in a certificate.
    pub url: String,
    /// `config` or `discovered`.
    pub source: &'static str,
    /// Chain positions whose CRL Distribution Points name this URL.
    pub listed_by: Vec<usize>,
    /// What was fetched (after rewrite and redirects).
    pub http: HttpFacts,
    /// Facts of the CRL; `None` when it was not fetched or not a CRL.
    pub crl: Option<CrlJudgement>,
    /// This CRL's verdict.
    pub reason: Reason,
    pub detail: String,
}

/// CRL facts of one probe, for `/api/v1/flows` and `check --output json`.
#[derive(Debug, Clone, Serialize)]
pub struct CrlFacts {
    pub from_flow: Option<String>,
    /// When the `from_flow` chain used was captured (Unix seconds).
    pub chain_captured_at: Option<f64>,
    pub crls: Vec<CrlEntry>,
}

struct Source {
    url: String,
    fetch: Result<Target, String>,
    source: &'static str,
    listed_by: Vec<usize>,
}

/// The URLs to fetch: configured ones, then each distinct discovered one.
fn sources(ctx: &Ctx<'_>, spec: &CrlSpec, captured: Option<&Captured>) -> Vec<Source> {
    let mut out: Vec<Source> = spec
        .urls
        .iter()
        .map(|u| Source {
            url: u.clone(),
            fetch: Target::parse(u),
            source: "config",
            listed_by: Vec::new(),
        })
        .collect();
    let Some(c) = captured else {
        return out;
    };
    for cert in &c.chain.certificates {
        for url in &cert.crl_distribution_points {
            if let Some(s) = out
                .iter_mut()
                .find(|s| s.url == *url && s.source == "discovered")
            {
                if !s.listed_by.contains(&cert.position) {
                    s.listed_by.push(cert.position);
                }
                continue;
            }
            // LDAP and HTTPS distribution points are not fetched over this
            // flow; they are reported, not judged.
            let fetch = Target::parse(url).map(|t| {
                if spec.rewrite {
                    Target {
                        host: ctx.flow.host.clone(),
                        port: ctx.flow.port,
                        path: t.path,
                    }
                } else {
                    t
                }
            });
            out.push(Source {
                url: url.clone(),
                fetch,
                source: "discovered",
                listed_by: vec![cert.position],
            });
        }
    }
    out
}

/// The captured chain's certificates whose revocation no CRL with a
/// verified signature speaks for. The server certificate is what devices
/// check first, so its gap fails the flow (`crl_missing`): a flow that
/// fetched CRLs, but none of its issuer, has not judged what it exists for.
/// An intermediate's gap is a warning; self-signed anchors have no CRL.
fn uncovered(chain: &ChainReport, entries: &[CrlEntry]) -> Vec<Finding> {
    let covered: std::collections::BTreeSet<usize> = entries
        .iter()
        .filter_map(|e| e.crl.as_ref())
        .filter(|c| c.signature_valid)
        .flat_map(|c| c.covers.iter().copied())
        .collect();
    chain
        .certificates
        .iter()
        .filter(|c| !c.self_signed && c.error.is_none() && !covered.contains(&c.position))
        .map(|c| {
            let leaf = c.position == 0;
            let cdp = if c.crl_distribution_points.is_empty() {
                "names no CRL Distribution Point".to_string()
            } else {
                format!(
                    "lists {}",
                    c.crl_distribution_points
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let which = if leaf {
                "server certificate".to_string()
            } else {
                format!("certificate at position {}", c.position)
            };
            Finding::new(
                Reason::CrlMissing,
                if leaf { Level::Fail } else { Level::Warn },
                format!(
                    "{which} ({}): revocation not judged, no CRL of its issuer {} was fetched and verified; it {cdp}",
                    c.subject_cn, c.issuer_cn,
                ),
            )
            .about(Subject::Certificate { position: c.position })
        })
        .collect()
}

/// A CRL larger than this is judged on the blocking pool: DoD CRLs run to
/// megabytes, and parsing one on the runtime would stall every probe that
/// shares it (with one worker thread, all of them).
const INLINE_JUDGE_MAX: usize = 256 * 1024;

async fn judge_off_runtime(
    body: Vec<u8>,
    captured: Option<Arc<Captured>>,
    state: &CrlState,
    now: SystemTime,
) -> Result<CrlJudgement, String> {
    let margin = state.spec.stale_margin;
    if body.len() <= INLINE_JUDGE_MAX {
        return judge_with(&body, captured.as_deref(), &state.issuers, now, margin);
    }
    let issuers = state.issuers.clone();
    tokio::task::spawn_blocking(move || {
        judge_with(&body, captured.as_deref(), &issuers, now, margin)
    })
    .await
    .unwrap_or_else(|e| Err(format!("CRL analysis failed: {e}")))
}

/// Judge a CRL against the captured chain and the trust-store issuers.
fn judge_with(
    body: &[u8],
    captured: Option<&Captured>,
    issuers: &[(String, CertificateDer<'static>)],
    now: SystemTime,
    margin: std::time::Duration,
) -> Result<CrlJudgement, String> {
    let chain_ders: &[CertificateDer<'static>] =
        captured.map_or(&[], |c| c.certificates.as_slice());
    let origins: Vec<String> = (0..chain_ders.len())
        .map(|i| format!("chain position {i}"))
        .collect();
    let chain: Vec<Known<'_>> = chain_ders
        .iter()
        .zip(&origins)
        .enumerate()
        .map(|(i, (d, origin))| Known {
            der: d.as_ref(),
            position: Some(i),
            origin,
        })
        .collect();
    let issuers: Vec<Known<'_>> = issuers
        .iter()
        .map(|(origin, d)| Known {
            der: d.as_ref(),
            position: None,
            origin,
        })
        .collect();
    judge::judge(body, &chain, &issuers, now, margin)
}

pub(super) async fn run(ctx: &Ctx<'_>, addr: SocketAddr, state: &CrlState) -> ProbeResult {
    let spec = &state.spec;
    let captured = spec.from_flow.as_deref().and_then(|f| state.board.get(f));
    let mut findings = Vec::new();
    let mut entries = Vec::new();
    let list = sources(ctx, spec, captured.as_deref());
    let fetchable = list.iter().filter(|s| s.fetch.is_ok()).count();
    if fetchable == 0 {
        // Nothing to fetch: the port itself must still be open, and a
        // closed one says so (refused, filtered) before crl_missing does.
        drop(ctx.connect_only(addr).await?);
        let why = nothing_to_fetch(spec, captured.as_deref(), &list);
        findings.push(Finding::new(Reason::CrlMissing, Level::Fail, why));
    }
    let opts = FetchOpts {
        max_redirects: spec.max_redirects,
        max_body: spec.max_size,
        keep_body: true,
        host_header: None,
    };
    let now = SystemTime::now();
    for s in list {
        let (entry, mine) = fetch_one(ctx, addr, s, &opts, captured.clone(), state, now).await;
        findings.extend(mine);
        entries.push(entry);
    }
    if let Some(c) = &captured {
        findings.extend(uncovered(&c.chain, &entries));
    }
    Ok(summary(addr, spec, captured.as_deref(), findings, entries))
}

/// Why a probe has no CRL to fetch, for its `crl_missing` finding.
fn nothing_to_fetch(spec: &CrlSpec, captured: Option<&Captured>, list: &[Source]) -> String {
    match (&spec.from_flow, captured) {
        (Some(f), None) => format!(
            "no CRL URL: flow {f:?} has not captured a chain yet{}",
            if spec.urls.is_empty() {
                ""
            } else {
                " and no configured URL is fetchable"
            }
        ),
        (Some(f), Some(_)) => format!(
            "no http:// CRL Distribution Point in the chain flow {f:?} captured{}",
            if list.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    list.iter()
                        .map(|s| s.url.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ),
        (None, _) => "no fetchable CRL URL".to_string(),
    }
}

/// Fetch one source's CRL and judge it: its entry, and its findings.
async fn fetch_one(
    ctx: &Ctx<'_>,
    addr: SocketAddr,
    s: Source,
    opts: &FetchOpts,
    captured: Option<Arc<Captured>>,
    state: &CrlState,
    now: SystemTime,
) -> (CrlEntry, Vec<Finding>) {
    let Source {
        url,
        fetch,
        source,
        listed_by,
    } = s;
    let target = match fetch {
        Ok(t) => t,
        Err(e) => return not_fetched(url, source, listed_by, e),
    };
    let mut http = HttpFacts {
        url: target.url(),
        ..HttpFacts::default()
    };
    let (crl, mine) = match client::fetch(ctx, addr, target, opts).await {
        Err(e) => (None, vec![fetch_failed(&mut http, &e)]),
        Ok(r) => {
            http.answered(&r);
            judge_answer(&r.url, r.status, r.body, captured, state, now).await
        }
    };
    let reason = verdict(&mine);
    let detail = entry_detail(crl.as_ref(), &mine, http.body_bytes);
    let entry = CrlEntry {
        url,
        source,
        listed_by,
        http,
        crl,
        reason,
        detail,
    };
    (entry, mine)
}

/// The entry of a source not fetched over this flow (not an http:// URL),
/// and its note.
fn not_fetched(
    url: String,
    source: &'static str,
    listed_by: Vec<usize>,
    e: String,
) -> (CrlEntry, Vec<Finding>) {
    let finding = Finding::new(Reason::CrlMissing, Level::Info, format!("not fetched: {e}"));
    let entry = CrlEntry {
        url,
        source,
        listed_by,
        http: HttpFacts::default(),
        crl: None,
        reason: Reason::CrlMissing,
        detail: e,
    };
    (entry, vec![finding])
}

/// Record what a failed fetch saw in `http`; its failure as a finding.
fn fetch_failed(http: &mut HttpFacts, e: &client::FetchError) -> Finding {
    http.failed(e);
    Finding::new(e.reason(), Level::Fail, e.to_string())
}

/// A 2xx answer's body judged as a CRL; any other status fails.
async fn judge_answer(
    url: &str,
    status: u16,
    body: Vec<u8>,
    captured: Option<Arc<Captured>>,
    state: &CrlState,
    now: SystemTime,
) -> (Option<CrlJudgement>, Vec<Finding>) {
    if !(200..300).contains(&status) {
        return (
            None,
            vec![Finding::new(
                Reason::HttpStatus,
                Level::Fail,
                format!("GET {url}: status {status}, expected 2xx"),
            )],
        );
    }
    match judge_off_runtime(body, captured, state, now).await {
        Ok(facts) => {
            let f = facts.findings.clone();
            (Some(facts), f)
        }
        Err(e) => (
            None,
            vec![Finding::new(
                Reason::CrlInvalid,
                Level::Fail,
                format!("GET {url}: {e}"),
            )],
        ),
    }
}

/// One CRL's detail: its first failure, or what a good CRL holds.
fn entry_detail(crl: Option<&CrlJudgement>, mine: &[Finding], body_bytes: u64) -> String {
    match (crl, mine.iter().find(|f| f.level == Level::Fail)) {
        (_, Some(f)) => f.detail.clone(),
        (Some(c), None) => format!(
            "CRL of {}: {} entries, {} bytes, fresh",
            c.issuer_cn, c.entries, body_bytes
        ),
        (None, None) => String::new(),
    }
}

/// The probe's result: findings ordered, the count of CRLs judged.
fn summary(
    addr: SocketAddr,
    spec: &CrlSpec,
    captured: Option<&Captured>,
    mut findings: Vec<Finding>,
    entries: Vec<CrlEntry>,
) -> Success {
    // Failing findings first, the worst reason leading.
    findings.sort_by_key(|f| (f.level != Level::Fail, judge::rank(f.reason)));
    let reason = verdict(&findings);
    let judged = entries.iter().filter(|e| e.crl.is_some()).count();
    let detail = format!(
        "{addr}: {judged} of {} CRLs judged{}",
        entries.len(),
        crate::outcome::reason_suffix(reason)
    );
    Success {
        detail,
        findings,
        facts: KindFacts::Crl(Box::new(CrlFacts {
            from_flow: spec.from_flow.clone(),
            chain_captured_at: captured.map(|c| crate::text::unix_secs_f64(c.at)),
            crls: entries,
        })),
    }
}

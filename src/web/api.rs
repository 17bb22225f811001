//! `GET /api/v1/flows`: questions, not dumps.
//!
//! - With a query (`state`, `vantage`, `flow` glob, `reason`, `check`,
//!   `limit`, `cursor`), one page of the matching flows in the flows' stable
//!   order (vantage, name), the cursor of the next page, and the totals per
//!   state of every flow: small at any flow count.
//! - Without one, every flow, streamed: each flow is serialized into the
//!   body as it goes (off the runtime's workers, gzipped on the way when
//!   the client accepts it), so no whole-document value is ever in memory
//!   (a 300,000-flow dump used to hold about 10 KB per flow, and keep it).
//!
//! Every answer carries `totals` (flows per state) and `daemon`.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::gzip::{accepts_gzip, encoder, mark};
use super::{AppState, DaemonView, FlowView, Snapshots};
use crate::outcome::Level;
use crate::state::FlowSlot;

/// Flows per page when the query names no `limit`.
pub(crate) const DEFAULT_LIMIT: usize = 1_000;
/// The most flows one page may hold.
pub(crate) const MAX_LIMIT: usize = 10_000;
/// The longest `flow` glob: flow names are at most 64 characters.
const MAX_GLOB: usize = 128;
/// Bytes of JSON per streamed chunk.
const CHUNK: usize = 64 * 1024;

crate::text::named_enum! {
/// A flow's state for people and filters: `warn` is up with a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum FlowState {
    Down = "down",
    Warn = "warn",
    Up = "up",
    /// Not probed yet.
    Pending = "pending",
}
}

impl FlowState {
    /// The state of `slot`, read without copying its report.
    pub(crate) fn of(slot: &FlowSlot) -> FlowState {
        slot.with_last(|last| match last {
            None => FlowState::Pending,
            Some(r) if !r.up => FlowState::Down,
            Some(r) if r.findings().any(|f| f.level == Level::Warn) => FlowState::Warn,
            Some(_) => FlowState::Up,
        })
    }
}

/// Flows per state, every state present (0 when none).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub(crate) struct Totals {
    pub all: usize,
    pub down: usize,
    pub warn: usize,
    pub up: usize,
    pub pending: usize,
    /// Down flows per severity (`critical`, `warning`, `info`).
    pub down_by_severity: BTreeMap<&'static str, usize>,
}

impl Totals {
    fn add(&mut self, s: FlowState, slot: &FlowSlot) {
        self.all += 1;
        match s {
            FlowState::Down => {
                self.down += 1;
                *self
                    .down_by_severity
                    .entry(slot.prepared.flow.severity.as_str())
                    .or_default() += 1;
            }
            FlowState::Warn => self.warn += 1,
            FlowState::Up => self.up += 1,
            FlowState::Pending => self.pending += 1,
        }
    }
}

/// The query of a page.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlowQuery {
    pub state: Option<String>,
    pub vantage: Option<String>,
    /// A glob over the flow's name: `*` any run, `?` one character.
    pub flow: Option<String>,
    pub reason: Option<String>,
    pub check: Option<String>,
    pub limit: Option<usize>,
    /// `VANTAGE/NAME` of the last flow of the previous page.
    pub cursor: Option<String>,
}

impl FlowQuery {
    /// Empty values (a search form's "all") as not given.
    pub(crate) fn normalized(mut self) -> FlowQuery {
        for v in [
            &mut self.state,
            &mut self.vantage,
            &mut self.flow,
            &mut self.reason,
            &mut self.check,
            &mut self.cursor,
        ] {
            if v.as_deref().is_some_and(str::is_empty) {
                *v = None;
            }
        }
        self
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.state.is_none()
            && self.vantage.is_none()
            && self.flow.is_none()
            && self.reason.is_none()
            && self.check.is_none()
            && self.limit.is_none()
            && self.cursor.is_none()
    }
}

/// A query checked once: unknown values are a 400 naming the parameter.
pub(crate) struct Filter {
    states: Option<Vec<FlowState>>,
    vantage: Option<String>,
    flow: Option<Glob>,
    reason: Option<String>,
    check: Option<String>,
    limit: usize,
    after: Option<(String, String)>,
}

impl Filter {
    pub(crate) fn parse(q: &FlowQuery) -> Result<Filter, String> {
        Filter::parse_with(q, DEFAULT_LIMIT)
    }

    /// [`Filter::parse`] with another default page size.
    pub(crate) fn parse_with(q: &FlowQuery, default_limit: usize) -> Result<Filter, String> {
        let states = match &q.state {
            None => None,
            Some(s) => Some(
                s.split(',')
                    .map(|one| {
                        FlowState::parse(one).ok_or_else(|| {
                            format!("state: {one:?}: expected down, warn, up or pending")
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        if let Some(c) = &q.check
            && crate::config::KindId::parse(c).is_none()
        {
            return Err(format!(
                "check: {c:?}: expected one of {}",
                crate::config::KindId::NAMES.join(", ")
            ));
        }
        let limit = q.limit.unwrap_or(default_limit);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(format!("limit: {limit}: expected 1 to {MAX_LIMIT}"));
        }
        let after = match &q.cursor {
            None => None,
            Some(c) => {
                let (v, n) = c
                    .split_once('/')
                    .ok_or_else(|| format!("cursor: {c:?}: expected VANTAGE/NAME"))?;
                Some((v.to_string(), n.to_string()))
            }
        };
        if let Some(f) = &q.flow
            && f.chars().count() > MAX_GLOB
        {
            // Names are at most 64 characters; a longer pattern only costs
            // time (matching is linear in name times pattern per flow).
            return Err(format!("flow: longer than {MAX_GLOB} characters"));
        }
        Ok(Filter {
            states,
            vantage: q.vantage.clone(),
            flow: q.flow.as_deref().map(Glob::new),
            reason: q.reason.clone(),
            check: q.check.clone(),
            limit,
            after,
        })
    }

    /// Whether `slot` (of state `state`) is asked for.
    fn matches(&self, key: &(String, String), slot: &FlowSlot, state: FlowState) -> bool {
        self.states.as_ref().is_none_or(|s| s.contains(&state))
            && self.vantage.as_ref().is_none_or(|v| *v == key.0)
            && self.flow.as_ref().is_none_or(|g| g.matches(&key.1))
            && self
                .check
                .as_ref()
                .is_none_or(|c| c == slot.prepared.flow.check.kind().as_str())
            && self
                .reason
                .as_ref()
                .is_none_or(|r| slot.with_last(|last| last.is_some_and(|l| l.reason.as_str() == r)))
    }
}

/// `*` and `?` over a name (names are identifiers: no escapes needed).
struct Glob(Vec<char>);

impl Glob {
    fn new(p: &str) -> Glob {
        Glob(p.chars().collect())
    }

    /// Iterative match with one backtrack point: linear in practice,
    /// never exponential.
    fn matches(&self, s: &str) -> bool {
        let (p, t): (&[char], Vec<char>) = (&self.0, s.chars().collect());
        let (mut i, mut j) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while j < t.len() {
            if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
                i += 1;
                j += 1;
            } else if i < p.len() && p[i] == '*' {
                star = Some((i, j));
                i += 1;
            } else if let Some((si, sj)) = star {
                i = si + 1;
                j = sj + 1;
                star = Some((si, sj + 1));
            } else {
                return false;
            }
        }
        p[i..].iter().all(|c| *c == '*')
    }
}

/// One page.
#[derive(Serialize)]
pub(crate) struct Page {
    pub flows: Vec<FlowView>,
    /// Flows that match the query (on every page).
    pub matched: usize,
    /// The `cursor` of the next page; `null` on the last.
    pub next_cursor: Option<String>,
    pub totals: Totals,
    pub daemon: DaemonView,
}

/// The page `filter` asks for, and the totals of every flow.
pub(crate) fn page(app: &AppState, filter: &Filter) -> Page {
    let slots = app.state.slots();
    let mut totals = Totals::default();
    let mut matched = 0;
    let mut flows = Vec::new();
    let mut next_cursor = None;
    for (key, slot) in slots.iter() {
        let state = FlowState::of(slot);
        totals.add(state, slot);
        if !filter.matches(key, slot, state) {
            continue;
        }
        matched += 1;
        if filter.after.as_ref().is_some_and(|a| key <= a) {
            continue;
        }
        if flows.len() < filter.limit {
            flows.push(FlowView::of_slot(slot));
        } else if next_cursor.is_none() {
            // There is more: the page ends at its last flow.
            next_cursor = flows
                .last()
                .map(|v: &FlowView| format!("{}/{}", v.vantage, v.name));
        }
    }
    Page {
        flows,
        matched,
        next_cursor,
        totals,
        daemon: DaemonView::of(app),
    }
}

/// Rows of the status page per page: about 0.6 MB of HTML.
pub(crate) const PAGE_ROWS: usize = 500;
/// Down flows the page names in "Needs attention"; the rest are counted.
pub(crate) const ATTENTION: usize = 50;

/// What the status page shows: one page of rows, the totals per state and
/// per vantage, and the most urgent down flows.
pub(crate) struct Overview {
    pub page: Page,
    pub by_vantage: BTreeMap<String, Totals>,
    /// Down flows, most severe first, longest-broken first within one.
    pub attention: Vec<FlowView>,
    /// Down flows beyond [`ATTENTION`].
    pub attention_more: usize,
    /// The query of this page's rows for the script's polls (`?...`).
    pub api_query: String,
    /// The query as asked, to fill the search form and build the links.
    pub asked: FlowQuery,
}

/// The status page's data for `q` (default page size [`PAGE_ROWS`]).
pub(crate) fn overview(app: &AppState, q: FlowQuery) -> Result<Overview, String> {
    let filter = Filter::parse_with(&q, PAGE_ROWS)?;
    let page = page(app, &filter);
    let rank = |s: &str| match s {
        "critical" => 0,
        "warning" => 1,
        _ => 2,
    };
    // One pass for the per-vantage totals and the down flows.
    let slots = app.state.slots();
    let mut by_vantage: BTreeMap<String, Totals> = BTreeMap::new();
    let mut down: Vec<(u8, u32, &(String, String))> = Vec::new();
    for (key, slot) in slots.iter() {
        let s = FlowState::of(slot);
        match by_vantage.get_mut(&key.0) {
            Some(t) => t.add(s, slot),
            None => {
                let mut t = Totals::default();
                t.add(s, slot);
                by_vantage.insert(key.0.clone(), t);
            }
        }
        if s == FlowState::Down {
            let since = slot.history(|h| h.since()).unwrap_or(u32::MAX);
            down.push((rank(slot.prepared.flow.severity.as_str()), since, key));
        }
    }
    down.sort();
    let attention_more = down.len().saturating_sub(ATTENTION);
    let attention = down
        .iter()
        .take(ATTENTION)
        .filter_map(|(_, _, key)| slots.get(*key).map(|s| FlowView::of_slot(s)))
        .collect();
    let mut api = url_query(&q);
    if q.limit.is_none() {
        api.push(("limit", PAGE_ROWS.to_string()));
    }
    let api_query = format!("?{}", encode(&api));
    Ok(Overview {
        page,
        by_vantage,
        attention,
        attention_more,
        api_query,
        asked: q,
    })
}

/// The query's parameters, in a fixed order.
pub(crate) fn url_query(q: &FlowQuery) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (k, v) in [
        ("state", &q.state),
        ("vantage", &q.vantage),
        ("flow", &q.flow),
        ("reason", &q.reason),
        ("check", &q.check),
        ("cursor", &q.cursor),
    ] {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            out.push((k, v.clone()));
        }
    }
    if let Some(l) = q.limit {
        out.push(("limit", l.to_string()));
    }
    out
}

/// `k=v&...`, each value percent-encoded.
pub(crate) fn encode(params: &[(&str, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", crate::web::page::seg(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub(super) async fn flows(
    AxState(app): AxState<AppState>,
    Extension(snaps): Extension<Arc<Snapshots>>,
    Query(q): Query<FlowQuery>,
    headers: HeaderMap,
) -> Response {
    let Ok(permit) = Arc::clone(&snaps.api_readers).try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "too many /api/v1/flows readers at once; retry in a second\n",
        )
            .into_response();
    };
    let gzip = accepts_gzip(&headers);
    if !q.is_empty() {
        let filter = match Filter::parse(&q) {
            Ok(f) => f,
            Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
        };
        let answer = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            serde_json::to_vec(&page(&app, &filter)).map_err(|e| e.to_string())
        })
        .await;
        let body = match answer {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response();
            }
            Err(e) => {
                return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response();
            }
        };
        let body = if gzip {
            match super::gzip::compress(&body) {
                Ok(b) => b,
                Err(e) => {
                    return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response();
                }
            }
        } else {
            Bytes::from(body)
        };
        let mut response = (
            [(header::CONTENT_TYPE, "application/json")],
            Body::from(body),
        )
            .into_response();
        mark(response.headers_mut(), gzip);
        return response;
    }
    stream_all(app, gzip, permit)
}

/// Every flow, serialized flow by flow into a streamed body.
fn stream_all(app: AppState, gzip: bool, permit: tokio::sync::OwnedSemaphorePermit) -> Response {
    let (tx, body) = http_body_util::Channel::<Bytes>::new(2);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut out = Chunked {
            tx,
            runtime,
            gz: gzip.then(encoder),
            buf: Vec::with_capacity(CHUNK),
            open: true,
        };
        let _ = write_all_flows(&app, &mut out);
        out.finish();
    });
    let mut response = (
        [(header::CONTENT_TYPE, "application/json")],
        Body::new(body),
    )
        .into_response();
    mark(response.headers_mut(), gzip);
    response
}

/// `{"flows":[...],"totals":...,"daemon":...}` into `out`, one flow at a
/// time; an error (the client went away) ends it.
fn write_all_flows(app: &AppState, out: &mut Chunked) -> std::io::Result<()> {
    let slots = app.state.slots();
    let mut totals = Totals::default();
    out.write_all(b"{\"flows\":[")?;
    for (i, slot) in slots.values().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        totals.add(FlowState::of(slot), slot);
        serde_json::to_writer(&mut *out, &FlowView::of_slot(slot))?;
    }
    out.write_all(b"],\"totals\":")?;
    serde_json::to_writer(&mut *out, &totals)?;
    out.write_all(b",\"daemon\":")?;
    serde_json::to_writer(&mut *out, &DaemonView::of(app))?;
    out.write_all(b"}")
}

/// A writer that sends what it is given in chunks of about [`CHUNK`]
/// bytes (gzipped when asked), waiting while the client reads.
struct Chunked {
    tx: http_body_util::channel::Sender<Bytes>,
    runtime: tokio::runtime::Handle,
    gz: Option<flate2::write::GzEncoder<Vec<u8>>>,
    buf: Vec<u8>,
    open: bool,
}

impl Chunked {
    fn send(&mut self, bytes: Vec<u8>) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        if self
            .runtime
            .block_on(self.tx.send_data(Bytes::from(bytes)))
            .is_err()
        {
            self.open = false;
            return Err(std::io::Error::other("the client went away"));
        }
        Ok(())
    }

    fn finish(mut self) {
        if !self.open {
            return;
        }
        let rest = std::mem::take(&mut self.buf);
        let tail = match self.gz.take() {
            None => rest,
            Some(mut g) => {
                if g.write_all(&rest).is_err() {
                    return;
                }
                match g.finish() {
                    Ok(t) => t,
                    Err(_) => return,
                }
            }
        };
        let _ = self.send(tail);
    }
}

impl Write for Chunked {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if !self.open {
            return Err(std::io::Error::other("the client went away"));
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
            let out = match &mut self.gz {
                None => chunk,
                Some(g) => {
                    g.write_all(&chunk)?;
                    std::mem::take(g.get_mut())
                }
            };
            self.send(out)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_names() {
        for (p, s, want) in [
            ("mobile-*", "mobile-mdm-https", true),
            ("*-https", "mobile-mdm-https", true),
            ("*mdm*", "admin-mdm-ssh", true),
            ("admin-mdm-ss?", "admin-mdm-ssh", true),
            ("admin", "admin-mdm-ssh", false),
            ("*", "", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
        ] {
            assert_eq!(Glob::new(p).matches(s), want, "{p} ~ {s}");
        }
    }

    #[test]
    fn queries_are_checked_with_the_parameter_named() {
        let bad = |q: FlowQuery| Filter::parse(&q).err().unwrap_or_default();
        assert!(
            bad(FlowQuery {
                state: Some("broken".into()),
                ..FlowQuery::default()
            })
            .starts_with("state:")
        );
        assert!(
            bad(FlowQuery {
                check: Some("gopher".into()),
                ..FlowQuery::default()
            })
            .starts_with("check:")
        );
        assert!(
            bad(FlowQuery {
                limit: Some(0),
                ..FlowQuery::default()
            })
            .starts_with("limit:")
        );
        assert!(
            bad(FlowQuery {
                cursor: Some("nocut".into()),
                ..FlowQuery::default()
            })
            .starts_with("cursor:")
        );
        assert!(
            bad(FlowQuery {
                flow: Some("*a".repeat(100)),
                ..FlowQuery::default()
            })
            .starts_with("flow:")
        );
        assert!(
            Filter::parse(&FlowQuery {
                state: Some("down,warn".into()),
                ..FlowQuery::default()
            })
            .is_ok()
        );
    }
}

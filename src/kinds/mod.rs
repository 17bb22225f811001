//! Check kinds: one folder per kind, one line per kind in the registry at
//! the end of this file.
//!
//! A kind's folder holds everything that is only that kind's: its settings
//! and their validation (`settings.rs`), the state a load prepares once,
//! the probe, the facts it reports, how those facts are shown (text lines
//! for `flowprobe check`, a section of the flow page) and which series they
//! become. Its `mod.rs` implements [`Kind`], the one interface the shared
//! machinery knows: config validation, the probe wrapper (`probe::run`),
//! the metrics registry, the `check` table, the status page and the API
//! reach a kind only through it and the types [`kinds!`] generates from the
//! list below ([`KindId`], [`KindSpec`], [`KindFacts`], the prepared
//! state and every dispatch). Those dispatches match every kind by name, so
//! a kind added to the list and left out of a place is a compile error, not
//! a silent `_ =>`.
//!
//! Judgements another kind shares stay pure in `analyze` (the chain
//! validator serves `tls`, `crl` and `ocsp`), and the HTTP client lives in
//! `http` and serves `crl` and `ocsp`.
//!
//! Adding a kind: CONTRIBUTING.md, "Add a check kind".

use std::net::SocketAddr;
use std::sync::Arc;

use maud::Markup;
use serde::Serialize;

use crate::config::Collector;
use crate::config::Flow;
use crate::config::raw::RawFlow;
use crate::config::validate::FlowCtx;
use crate::metrics::{FamilySpec, KindRecorder};
use crate::probe::board::ChainBoard;
use crate::probe::{Ctx, ProbeResult};
use crate::probe::{Phase, ProbeReport, Stores};

#[macro_use]
mod registry;
pub(crate) mod link;
pub(crate) mod show;

/// What a check kind is to the shared machinery. Implemented by a unit
/// type in the kind's `mod.rs` (e.g. `tls::Tls`).
pub trait Kind: Sized + 'static {
    /// The validated settings of a flow (its `[flow.<kind>]` table).
    type Spec: std::fmt::Debug + Clone + PartialEq + Send + Sync;
    /// What a load builds once per flow for all its probes (clients,
    /// trust stores, compiled policies).
    type State: std::fmt::Debug + Send + Sync;
    /// What one probe found, for the API, `check --output json`, the page
    /// and the series; serialized under `details` with `"kind": "<name>"`.
    type Facts: std::fmt::Debug + Clone + Serialize + Send + Sync;
    /// Why the kind's own protocol failed, as data: the typed error its
    /// probe turns into the failure's reason and detail, kept as the
    /// attempt's `cause` (`{"stage": "<name>", ...}`, so it serializes as
    /// a map: struct variants, or an internally tagged enum).
    /// [`NoCause`] for a kind without one.
    type Error: std::fmt::Debug + Clone + Serialize + Send + Sync;
    /// A flow's handles into the kind's fixed series (label sets resolved
    /// once); `()` for a kind whose series all come from what a probe saw.
    type Series: FixedSeries<Self::Spec>;

    /// The phase the kind's protocol is timed as after `connect`, if any.
    const PHASE: Option<Phase>;
    /// Whether the probe opens a TCP connection of its own to the target
    /// (timed as `connect`). A kind that does not (`dns` asks over UDP)
    /// gets no `connect` duration series for its open flows.
    const CONNECTS: bool = true;
    /// The kind's metric families whose label values come from what a probe
    /// saw (replaced as a set per flow; see `metrics::DynamicSet`).
    const FAMILIES: &'static [&'static FamilySpec] = &[];

    /// Validate the kind's table (`None` when the flow has none).
    fn validate(
        table: Option<&toml::Value>,
        raw: &RawFlow,
        key: &str,
        ctx: &FlowCtx,
        errs: &mut Collector,
    ) -> Option<Self::Spec>;

    /// The table as `config show` prints it; `None` for a kind with no
    /// settings.
    fn table(spec: &Self::Spec) -> Option<toml::Table>;

    /// Build the flow's state. Errors name the flow and key.
    fn prepare(
        flow: &Flow,
        spec: &Self::Spec,
        stores: &Stores,
        board: &Arc<ChainBoard>,
    ) -> Result<Self::State, String>;

    /// Probe one address of the flow. The wrapper (`probe::run`) applies
    /// the budget, times the phases `ctx` runs and judges the findings.
    fn probe(
        ctx: &Ctx<'_>,
        addr: SocketAddr,
        state: &Self::State,
    ) -> impl Future<Output = ProbeResult> + Send;

    /// Probe one address of a flow that must be closed (`expect =
    /// "closed"`): only whether the service answers at all matters, and a
    /// blocked one must end in a blocked reason (`refused`, `filtered`,
    /// `unreachable`). A TCP connect by default; a kind on another
    /// transport overrides it, or a firewall that blocks TCP but passes
    /// its traffic would read as closed.
    fn probe_forbidden(
        ctx: &Ctx<'_>,
        addr: SocketAddr,
        _state: &Self::State,
    ) -> impl Future<Output = ProbeResult> + Send {
        tcp::connected(ctx, addr)
    }

    /// Fingerprints of the trust anchors behind the state, so a reload
    /// that changed them rebuilds the flow.
    fn anchors(_state: &Self::State) -> Vec<[u8; 32]> {
        Vec::new()
    }

    /// The trust stores the flow judges certificates against.
    fn trust(_spec: &Self::Spec) -> Option<&[String]> {
        None
    }

    /// Whether this kind's flows leave the chains they receive on the
    /// board for others to read (`tls`).
    fn captures_chains(_spec: &Self::Spec) -> bool {
        false
    }

    /// The flow whose captured chain this flow reads.
    fn from_flow(_spec: &Self::Spec) -> Option<&str> {
        None
    }

    /// The flow whose captured chain this flow reads, with its trust
    /// settings, for linking once every flow is validated.
    fn chain_source(_spec: &mut Self::Spec) -> Option<ChainSource<'_>> {
        None
    }

    /// Lines under the flow's row in `flowprobe check` (indented by the
    /// caller); the detail line and findings are printed for every kind.
    fn text_lines(_facts: &Self::Facts, _out: &mut Vec<String>) {}

    /// The flow page's section for these facts.
    fn page_section(_facts: &Self::Facts, _now: i64) -> Markup {
        maud::html! {}
    }

    /// Record a probe on the flow's series.
    fn record(_rec: &KindRecorder<'_>, _series: Option<&Self::Series>, _report: &ProbeReport) {}
}

/// The `Kind::Error` of a kind whose failures carry no typed cause of
/// their own (their DNS, connect and budget causes are the shared ones).
#[derive(Debug, Clone, Serialize)]
pub enum NoCause {}

/// A kind's series with fixed label sets per flow (`flowprobe_tls_chain_verified`
/// per trust store, say): registered once, resolved per flow, removed when
/// a reload drops the flow.
pub trait FixedSeries<Spec>: Sized + Send + Sync {
    /// The vectors, registered once per process.
    type Vecs: Send + Sync;

    fn register(r: &prometheus::Registry) -> prometheus::Result<Self::Vecs>;

    /// A flow's handles; `None` when the flow gets none (flows that must be
    /// closed never get past `connect`).
    fn new(vecs: &Self::Vecs, flow: &Flow, spec: &Spec) -> Option<Self>;

    /// Remove the flow's series, except those `successor` (the same flow,
    /// re-created by a reload) still uses.
    fn remove(&self, vecs: &Self::Vecs, rec: &KindRecorder<'_>, successor: Option<&Self>);
}

/// No fixed series.
impl<Spec> FixedSeries<Spec> for () {
    type Vecs = ();

    fn register(_r: &prometheus::Registry) -> prometheus::Result<()> {
        Ok(())
    }

    fn new(_vecs: &(), _flow: &Flow, _spec: &Spec) -> Option<()> {
        None
    }

    fn remove(&self, _vecs: &(), _rec: &KindRecorder<'_>, _successor: Option<&()>) {}
}

/// A flow that reads another flow's captured chain (`crl`, `ocsp`): the
/// source flow's name and the trust it inherits unless it set its own.
pub struct ChainSource<'a> {
    pub from_flow: Option<String>,
    pub trust_set: bool,
    pub trust: &'a mut Vec<String>,
}

kinds! {
    Tcp = "tcp" => tcp::Tcp,
    Tls = "tls" => tls::Tls,
    Ssh = "ssh" => ssh::Ssh,
    Http = "http" => http::Http,
    Crl = "crl" => crl::Crl,
    Ocsp = "ocsp" => ocsp::Ocsp,
    Dns = "dns" => dns::Dns,
}

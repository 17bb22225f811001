//! `check = "ocsp"`: ask the OCSP responders about every certificate of
//! another flow's last captured chain, and judge each answer: signer,
//! freshness, status (`analyze::ocsp`).
//!
//! - `settings.rs`: `[flow.ocsp]`;
//! - `probe.rs`: the probe and its facts ([`OcspFacts`]);
//! - `show.rs` and `metrics.rs`: how the facts are shown and exported.

pub mod metrics;
mod probe;
pub(crate) mod settings;
mod show;

use std::net::SocketAddr;
use std::sync::Arc;

use maud::Markup;

pub use probe::{OcspEntry, OcspFacts, OcspState};
pub use settings::OcspSpec;

use super::{ChainSource, Kind};
use crate::config::raw::RawFlow;
use crate::config::validate::FlowCtx;
use crate::config::{Collector, Flow};
use crate::metrics::{FamilySpec, KindRecorder};
use crate::probe::board::ChainBoard;
use crate::probe::{Ctx, Phase, ProbeReport, ProbeResult, Stores};

/// The `ocsp` kind.
pub struct Ocsp;

impl Kind for Ocsp {
    type Spec = OcspSpec;
    type State = OcspState;
    type Facts = OcspFacts;
    type Error = super::NoCause;
    type Series = ();
    const PHASE: Option<Phase> = Some(Phase::Http);
    const FAMILIES: &'static [&'static FamilySpec] = metrics::FAMILIES;

    fn validate(
        table: Option<&toml::Value>,
        _raw: &RawFlow,
        key: &str,
        ctx: &FlowCtx,
        errs: &mut Collector,
    ) -> Option<OcspSpec> {
        OcspSpec::validate(table, key, ctx, errs)
    }

    fn table(spec: &OcspSpec) -> Option<toml::Table> {
        Some(spec.table.clone())
    }

    fn prepare(
        flow: &Flow,
        spec: &OcspSpec,
        stores: &Stores,
        board: &Arc<ChainBoard>,
    ) -> Result<OcspState, String> {
        OcspState::new(flow, spec, stores, Arc::clone(board))
    }

    async fn probe(ctx: &Ctx<'_>, addr: SocketAddr, state: &OcspState) -> ProbeResult {
        probe::run(ctx, addr, state).await
    }

    fn anchors(state: &OcspState) -> Vec<[u8; 32]> {
        state.anchors_fingerprint()
    }

    fn trust(spec: &OcspSpec) -> Option<&[String]> {
        Some(&spec.trust)
    }

    fn from_flow(spec: &OcspSpec) -> Option<&str> {
        Some(&spec.from_flow)
    }

    fn chain_source(spec: &mut OcspSpec) -> Option<ChainSource<'_>> {
        Some(ChainSource {
            from_flow: Some(spec.from_flow.clone()),
            trust_set: spec.trust_set,
            trust: &mut spec.trust,
        })
    }

    fn text_lines(facts: &OcspFacts, out: &mut Vec<String>) {
        out.extend(facts.responses.iter().map(show::line));
    }

    fn page_section(facts: &OcspFacts, _now: i64) -> Markup {
        show::section(facts)
    }

    fn record(rec: &KindRecorder<'_>, _series: Option<&()>, report: &ProbeReport) {
        metrics::record(rec, report);
    }
}

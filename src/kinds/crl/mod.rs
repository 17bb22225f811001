//! `check = "crl"`: fetch every CRL a flow names or discovers from
//! another flow's captured chain, and judge each: signature, freshness,
//! and revocation of the captured path (`analyze::crl`).
//!
//! - `settings.rs`: `[flow.crl]`;
//! - `probe.rs`: the probe and its facts ([`CrlFacts`]);
//! - `show.rs` and `metrics.rs`: how the facts are shown and exported.

pub mod metrics;
mod probe;
pub(crate) mod settings;
mod show;

use std::net::SocketAddr;
use std::sync::Arc;

use maud::Markup;

pub use probe::{CrlEntry, CrlFacts, CrlState};
pub use settings::CrlSpec;

use super::{ChainSource, Kind};
use crate::config::raw::RawFlow;
use crate::config::validate::FlowCtx;
use crate::config::{Collector, Flow};
use crate::metrics::{FamilySpec, KindRecorder};
use crate::probe::board::ChainBoard;
use crate::probe::{Ctx, Phase, ProbeReport, ProbeResult, Stores};

/// The `crl` kind.
pub struct Crl;

impl Kind for Crl {
    type Spec = CrlSpec;
    type State = CrlState;
    type Facts = CrlFacts;
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
    ) -> Option<CrlSpec> {
        CrlSpec::validate(table, key, ctx, errs)
    }

    fn table(spec: &CrlSpec) -> Option<toml::Table> {
        Some(spec.table.clone())
    }

    fn prepare(
        flow: &Flow,
        spec: &CrlSpec,
        stores: &Stores,
        board: &Arc<ChainBoard>,
    ) -> Result<CrlState, String> {
        CrlState::new(flow, spec, stores, Arc::clone(board))
    }

    async fn probe(ctx: &Ctx<'_>, addr: SocketAddr, state: &CrlState) -> ProbeResult {
        probe::run(ctx, addr, state).await
    }

    fn anchors(state: &CrlState) -> Vec<[u8; 32]> {
        state.anchors_fingerprint()
    }

    fn trust(spec: &CrlSpec) -> Option<&[String]> {
        Some(&spec.trust)
    }

    fn from_flow(spec: &CrlSpec) -> Option<&str> {
        spec.from_flow.as_deref()
    }

    fn chain_source(spec: &mut CrlSpec) -> Option<ChainSource<'_>> {
        Some(ChainSource {
            from_flow: spec.from_flow.clone(),
            trust_set: spec.trust_set,
            trust: &mut spec.trust,
        })
    }

    fn text_lines(facts: &CrlFacts, out: &mut Vec<String>) {
        out.extend(facts.crls.iter().map(show::line));
    }

    fn page_section(facts: &CrlFacts, now: i64) -> Markup {
        maud::html! { section.check.crl { h2 { "CRLs" } (show::section(facts, now)) } }
    }

    fn record(rec: &KindRecorder<'_>, _series: Option<&()>, report: &ProbeReport) {
        metrics::record(rec, report);
    }
}

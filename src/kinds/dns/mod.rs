//! `check = "dns"`: the flow's target is a DNS server, and it answers, from
//! the vantage, for the names the MDM flows need: a firewall change that
//! blocks port 53 to the resolver, or a resolver that lost a zone, fails
//! this flow, with the answers and their times as facts.
//!
//! - `settings.rs`: `dns = { names, record, expect, min_answers }`;
//! - `exchange.rs`: the queries, sent straight to the server over UDP
//!   from the vantage's source address and interface (TCP when an answer
//!   is truncated), never through a resolver;
//! - `probe.rs`: the judgement, the reasons, the facts ([`DnsFacts`]);
//! - `show.rs` and `metrics.rs`: how the facts are shown and exported
//!   (`flowprobe_dns_answers`).
//!
//! docs/dns.md is the operator's page.

mod exchange;
pub mod metrics;
mod probe;
pub(crate) mod settings;
mod show;

use std::net::SocketAddr;
use std::sync::Arc;

use maud::Markup;

pub use probe::{DnsFacts, DnsState, NameFacts, QueryError, QueryFacts};
pub use settings::{DnsSpec, RecordChoice};

use super::Kind;
use crate::config::raw::RawFlow;
use crate::config::validate::FlowCtx;
use crate::config::{Collector, Flow};
use crate::metrics::{FamilySpec, KindRecorder};
use crate::probe::board::ChainBoard;
use crate::probe::{Ctx, Phase, ProbeReport, ProbeResult, Stores};

/// The `dns` kind.
pub struct Dns;

impl Kind for Dns {
    type Spec = DnsSpec;
    type State = DnsState;
    type Facts = DnsFacts;
    type Error = super::NoCause;
    type Series = ();
    const PHASE: Option<Phase> = Some(Phase::Dns);
    const CONNECTS: bool = false;
    const FAMILIES: &'static [&'static FamilySpec] = metrics::FAMILIES;

    fn validate(
        table: Option<&toml::Value>,
        _raw: &RawFlow,
        key: &str,
        _ctx: &FlowCtx,
        errs: &mut Collector,
    ) -> Option<DnsSpec> {
        DnsSpec::validate(table, key, errs)
    }

    fn table(spec: &DnsSpec) -> Option<toml::Table> {
        Some(spec.table.clone())
    }

    fn prepare(
        flow: &Flow,
        spec: &DnsSpec,
        _stores: &Stores,
        _board: &Arc<ChainBoard>,
    ) -> Result<DnsState, String> {
        DnsState::new(spec).map_err(|e| format!("flow {:?}: {e}", flow.name))
    }

    async fn probe(ctx: &Ctx<'_>, addr: SocketAddr, state: &DnsState) -> ProbeResult {
        probe::run(ctx, addr, state).await
    }

    async fn probe_forbidden(ctx: &Ctx<'_>, addr: SocketAddr, state: &DnsState) -> ProbeResult {
        probe::forbidden(ctx, addr, state).await
    }

    fn text_lines(facts: &DnsFacts, out: &mut Vec<String>) {
        out.extend(facts.names.iter().map(show::line));
    }

    fn page_section(facts: &DnsFacts, _now: i64) -> Markup {
        maud::html! { section.check.dns { h2 { "DNS" } (show::section(facts)) } }
    }

    fn record(rec: &KindRecorder<'_>, _series: Option<&()>, report: &ProbeReport) {
        metrics::record(rec, report);
    }
}

//! `check = "ssh"`: the server's identification and KEXINIT, read without
//! authenticating, judged by the flow's STIG policy
//! (`analyze::ssh_policy`), each connection paced so that OpenSSH's
//! `PerSourcePenalties` never refuses the vantage.
//!
//! - `settings.rs`: `[flow.ssh]` and the custom `[ssh_policy.NAME]` tables;
//! - `probe.rs`: the probe and its facts ([`SshFacts`]); `refusal.rs`
//!   explains a server that closes before its banner;
//! - `pace/`: the process-wide pacer;
//! - `show.rs` and `metrics.rs`: how the facts are shown and exported.

pub mod metrics;
pub(crate) mod pace;
mod probe;
mod refusal;
pub(crate) mod settings;
mod show;

use std::net::SocketAddr;
use std::sync::Arc;

use maud::Markup;

pub use probe::SshFacts;
pub use settings::{SshPolicies, SshSpec};

use super::Kind;
use crate::config::raw::RawFlow;
use crate::config::validate::FlowCtx;
use crate::config::{Collector, Flow};
use crate::metrics::{FamilySpec, KindRecorder};
use crate::probe::board::ChainBoard;
use crate::probe::{Ctx, Phase, ProbeReport, ProbeResult, Stores};

/// The `ssh` kind.
pub struct Ssh;

impl Kind for Ssh {
    type Spec = SshSpec;
    type State = SshSpec;
    type Facts = SshFacts;
    type Error = crate::wire::ssh::SshWireError;
    type Series = metrics::Series;
    const PHASE: Option<Phase> = Some(Phase::Ssh);
    const FAMILIES: &'static [&'static FamilySpec] = metrics::FAMILIES;

    fn validate(
        table: Option<&toml::Value>,
        raw: &RawFlow,
        key: &str,
        ctx: &FlowCtx,
        errs: &mut Collector,
    ) -> Option<SshSpec> {
        SshSpec::validate(table, raw.from.as_deref(), key, ctx, errs)
    }

    fn table(spec: &SshSpec) -> Option<toml::Table> {
        Some(spec.table.clone())
    }

    fn prepare(
        _flow: &Flow,
        spec: &SshSpec,
        _stores: &Stores,
        _board: &Arc<ChainBoard>,
    ) -> Result<SshSpec, String> {
        Ok(spec.clone())
    }

    async fn probe(ctx: &Ctx<'_>, addr: SocketAddr, spec: &SshSpec) -> ProbeResult {
        probe::run(ctx, addr, spec).await
    }

    fn page_section(facts: &SshFacts, _now: i64) -> Markup {
        maud::html! { section.check.ssh { h2 { "SSH" } (show::section(facts)) } }
    }

    fn record(rec: &KindRecorder<'_>, series: Option<&metrics::Series>, report: &ProbeReport) {
        metrics::record(rec, series, report);
    }
}

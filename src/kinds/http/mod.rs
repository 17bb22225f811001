//! `check = "http"`: an HTTP/1.1 GET over the vantage's TCP connection,
//! judged by status, redirects, size, content type and body.
//!
//! - `settings.rs`: `[flow.http]`;
//! - `client.rs`: the bounded HTTP client, which the `crl` and `ocsp`
//!   kinds use for their fetches too;
//! - `error.rs`: why a fetch failed, as data ([`HttpError`], the kind's
//!   `Kind::Error`);
//! - `probe.rs`: the probe and its facts ([`HttpFacts`]);
//! - `show.rs` and `metrics.rs`: how the facts are shown and exported
//!   (the status series serves `crl` and `ocsp` as well).

pub mod client;
mod error;
pub mod metrics;
mod probe;
pub(crate) mod settings;
mod show;

use std::net::SocketAddr;
use std::sync::Arc;

use maud::Markup;

pub use error::{Broken, HttpError};
pub use probe::{HttpFacts, flow_target};
pub use settings::HttpSpec;

use super::Kind;
use crate::config::raw::RawFlow;
use crate::config::validate::FlowCtx;
use crate::config::{Collector, Flow};
use crate::metrics::{FamilySpec, KindRecorder};
use crate::probe::board::ChainBoard;
use crate::probe::{Ctx, Phase, ProbeReport, ProbeResult, Stores};

/// The `http` kind.
pub struct Http;

impl Kind for Http {
    type Spec = HttpSpec;
    type State = HttpSpec;
    type Facts = HttpFacts;
    type Error = HttpError;
    type Series = ();
    const PHASE: Option<Phase> = Some(Phase::Http);
    const FAMILIES: &'static [&'static FamilySpec] = metrics::FAMILIES;

    fn validate(
        table: Option<&toml::Value>,
        _raw: &RawFlow,
        key: &str,
        _ctx: &FlowCtx,
        errs: &mut Collector,
    ) -> Option<HttpSpec> {
        HttpSpec::validate(table, key, errs)
    }

    fn table(spec: &HttpSpec) -> Option<toml::Table> {
        Some(spec.table.clone())
    }

    fn prepare(
        _flow: &Flow,
        spec: &HttpSpec,
        _stores: &Stores,
        _board: &Arc<ChainBoard>,
    ) -> Result<HttpSpec, String> {
        Ok(spec.clone())
    }

    async fn probe(ctx: &Ctx<'_>, addr: SocketAddr, spec: &HttpSpec) -> ProbeResult {
        probe::run(ctx, addr, spec).await
    }

    fn page_section(facts: &HttpFacts, _now: i64) -> Markup {
        maud::html! { section.check.http { h2 { "HTTP" } (show::section(facts)) } }
    }

    fn record(rec: &KindRecorder<'_>, _series: Option<&()>, report: &ProbeReport) {
        metrics::record(rec, report);
    }
}

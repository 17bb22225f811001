//! `check = "tls"`: one handshake over the vantage's TCP connection,
//! recording what the server sent whatever happens, then the sent chain
//! judged as a path per trust store (`analyze::chain`), the certificate
//! profile, the stapled OCSP response, and, for a flow with a
//! `protocol_policy`, what the server accepts beyond what we negotiated.
//!
//! - `settings.rs` and `policy_settings.rs`: `[flow.tls]` and the custom
//!   `[tls_policy.NAME]` tables;
//! - `client.rs` (with `recorder.rs`, `error.rs`): the rustls client,
//!   built once per flow;
//! - `probe.rs`: the probe and its facts ([`TlsFacts`]); `oversized.rs`
//!   reads a certificate message over rustls's limit, `staple.rs` judges
//!   the staple, `protocols.rs` runs the protocol enumeration;
//! - `show.rs` and `metrics.rs`: how the facts are shown and exported.

mod client;
mod error;
pub mod metrics;
pub(crate) mod oversized;
pub(crate) mod policy_settings;
mod probe;
pub mod protocols;
mod recorder;
pub mod settings;
pub(crate) mod show;
pub(crate) mod staple;

use std::net::SocketAddr;
use std::sync::Arc;

use maud::Markup;

pub use client::{
    CLIENT_AUTH_VERDICT_WAIT, Negotiated, TlsClient, TlsFailure, TlsParams, findings,
};
pub use error::{RUSTLS_HANDSHAKE_LIMIT, TlsError};
pub use policy_settings::TlsPolicies;
pub use probe::{TlsFacts, TlsState};
pub use settings::TlsSpec;

use super::Kind;
use crate::config::raw::RawFlow;
use crate::config::validate::FlowCtx;
use crate::config::{Collector, Flow};
use crate::metrics::{FamilySpec, KindRecorder};
use crate::probe::board::ChainBoard;
use crate::probe::{Ctx, Phase, ProbeReport, ProbeResult, Stores};

/// The `tls` kind.
pub struct Tls;

impl Kind for Tls {
    type Spec = TlsSpec;
    type State = TlsState;
    type Facts = TlsFacts;
    type Error = TlsError;
    type Series = metrics::Series;
    const PHASE: Option<Phase> = Some(Phase::Tls);
    const FAMILIES: &'static [&'static FamilySpec] = metrics::FAMILIES;

    fn validate(
        table: Option<&toml::Value>,
        _raw: &RawFlow,
        key: &str,
        ctx: &FlowCtx,
        errs: &mut Collector,
    ) -> Option<TlsSpec> {
        TlsSpec::validate(table, key, ctx, errs)
    }

    fn table(spec: &TlsSpec) -> Option<toml::Table> {
        Some(spec.table.clone())
    }

    fn prepare(
        flow: &Flow,
        spec: &TlsSpec,
        stores: &Stores,
        _board: &Arc<ChainBoard>,
    ) -> Result<TlsState, String> {
        TlsState::new(flow, spec, stores)
    }

    async fn probe(ctx: &Ctx<'_>, addr: SocketAddr, state: &TlsState) -> ProbeResult {
        probe::run(ctx, addr, state).await
    }

    fn anchors(state: &TlsState) -> Vec<[u8; 32]> {
        state.anchors_fingerprint()
    }

    fn trust(spec: &TlsSpec) -> Option<&[String]> {
        Some(&spec.trust)
    }

    fn captures_chains(_spec: &TlsSpec) -> bool {
        true
    }

    fn text_lines(facts: &TlsFacts, out: &mut Vec<String>) {
        show::text_lines(facts, out);
    }

    fn page_section(facts: &TlsFacts, now: i64) -> Markup {
        maud::html! { section.check.tls { h2 { "TLS" } (show::section(facts, now)) } }
    }

    fn record(rec: &KindRecorder<'_>, series: Option<&metrics::Series>, report: &ProbeReport) {
        metrics::record(rec, series, report);
    }
}

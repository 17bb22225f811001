//! `check = "tcp"`: the port accepts a connection from the vantage. It has
//! no settings, no state and no facts beyond the reason and the detail
//! line; every other kind's closed-flow check is this one too.

use std::net::SocketAddr;
use std::sync::Arc;

use serde::Serialize;

use super::Kind;
use crate::config::raw::RawFlow;
use crate::config::validate::FlowCtx;
use crate::config::{Collector, Flow};
use crate::probe::board::ChainBoard;
use crate::probe::{CheckResult, Ctx, Phase, Stores, Success};

/// The `tcp` kind.
pub struct Tcp;

/// A port check has no settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TcpSpec;

/// A port check reports no facts beyond its reason: its probes leave
/// `details` out.
#[derive(Debug, Clone, Serialize)]
pub struct TcpFacts {}

impl Kind for Tcp {
    type Spec = TcpSpec;
    type State = ();
    type Facts = TcpFacts;
    type Series = ();
    const PHASE: Option<Phase> = None;

    fn validate(
        _table: Option<&toml::Value>,
        _raw: &RawFlow,
        _key: &str,
        _ctx: &FlowCtx,
        _errs: &mut Collector,
    ) -> Option<TcpSpec> {
        Some(TcpSpec)
    }

    fn table(_spec: &TcpSpec) -> Option<toml::Table> {
        None
    }

    fn prepare(
        _flow: &Flow,
        _spec: &TcpSpec,
        _stores: &Stores,
        _board: &Arc<ChainBoard>,
    ) -> Result<(), String> {
        Ok(())
    }

    async fn probe(ctx: &Ctx<'_>, addr: SocketAddr, _state: &()) -> CheckResult {
        connected(ctx, addr).await
    }
}

/// Connect and close, never sending a byte.
pub async fn connected(ctx: &Ctx<'_>, addr: SocketAddr) -> CheckResult {
    let stream = ctx.connect_only(addr).await?;
    drop(stream);
    Ok(Success {
        detail: format!("{addr}: connected"),
        ..Success::default()
    })
}

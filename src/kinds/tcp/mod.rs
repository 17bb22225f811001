//! `check = "tcp"`: the port accepts a connection from the vantage. It has
//! no settings, no state and no facts beyond the reason and the detail
//! line; every other kind's closed-flow check is this one too.

use std::net::SocketAddr;
use std::sync::Arc;

use serde::Serialize;

use super::Kind;
use crate::config::raw::RawFlow;
use crate::config::validate::{FlowCtx, check_table};
use crate::config::{Collector, Flow};
use crate::probe::board::ChainBoard;
use crate::probe::{Ctx, Phase, ProbeResult, Stores, Success};

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
    type Error = super::NoCause;
    type Series = ();
    const PHASE: Option<Phase> = None;

    /// A `tcp = { ... }` table may be written (empty); any key in it is an
    /// error, as an unknown key is everywhere else.
    fn validate(
        table: Option<&toml::Value>,
        _raw: &RawFlow,
        key: &str,
        _ctx: &FlowCtx,
        errs: &mut Collector,
    ) -> Option<TcpSpec> {
        let key = format!("{key}.tcp");
        let table = check_table(table, &key, "tcp = {}", errs)?;
        if table.is_empty() {
            return Some(TcpSpec);
        }
        for k in table.keys() {
            errs.push(
                format!("{key}.{k}"),
                "unknown key: a tcp check has no settings",
            );
        }
        None
    }

    fn table(_spec: &TcpSpec) -> Option<toml::Table> {
        // Nothing to show: `config show` writes no `tcp` table.
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

    async fn probe(ctx: &Ctx<'_>, addr: SocketAddr, _state: &()) -> ProbeResult {
        connected(ctx, addr).await
    }
}

/// Connect and close, never sending a byte.
pub(crate) async fn connected(ctx: &Ctx<'_>, addr: SocketAddr) -> ProbeResult {
    let stream = ctx.connect_only(addr).await?;
    drop(stream);
    Ok(Success {
        detail: format!("{addr}: connected"),
        ..Success::default()
    })
}

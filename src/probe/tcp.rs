//! `check = "tcp"`: the port accepts a connection from the vantage.

use std::net::SocketAddr;

use super::run::{CheckResult, Ctx, Success};
pub(crate) use crate::net::tcp::connect as connect_as;

pub async fn check(ctx: &Ctx<'_>, addr: SocketAddr) -> CheckResult {
    let stream = ctx.connect_only(addr).await?;
    drop(stream);
    Ok(Success {
        detail: format!("{addr}: connected"),
        ..Success::default()
    })
}

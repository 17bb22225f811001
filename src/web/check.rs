//! `POST /api/v1/check`: this instance's flows (all, or the `flow` names
//! and/or the flows of the `vantage` names given as query parameters; with
//! `skip_unknown=true` names it does not run are left out) probed once now, outside the schedule,
//! answered with the JSON of `flowprobe check --output json`. One run at
//! a time: a second one meanwhile gets 429 with `Retry-After`. Reachable
//! only with `--web.enable-lifecycle` (the gate in `auth`).

use std::sync::Arc;

use axum::extract::{Extension, Query, State as AxState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::Semaphore;

use super::{AppState, FlowView};

/// The one permit of a running check.
#[derive(Clone)]
pub(crate) struct CheckSlot(Arc<Semaphore>);

impl Default for CheckSlot {
    fn default() -> CheckSlot {
        CheckSlot(Arc::new(Semaphore::new(1)))
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct CheckQuery {
    /// Comma-separated flow names; empty: every active flow.
    #[serde(default)]
    flow: String,
    /// Comma-separated vantage names: only their flows.
    #[serde(default)]
    vantage: String,
    /// Names this instance does not run are left out instead of refused
    /// (400): `check --fleet` sends one list to every vantage's instance.
    #[serde(default)]
    skip_unknown: bool,
}

/// The JSON of a check: `{ok, flows}`, shared with `check --output json`.
/// Serialized straight from the views: going through a
/// `serde_json::Value` first doubled the work (10,000 flows: ~0.1 s).
#[derive(serde::Serialize)]
struct CheckOut<'a> {
    ok: bool,
    flows: &'a [FlowView],
}

pub(crate) fn json(views: &[FlowView], ok: bool) -> String {
    serde_json::to_string_pretty(&CheckOut { ok, flows: views })
        .map_or_else(|e| format!("{{\"error\":\"{e}\"}}"), |s| s + "\n")
}

/// [`json`] into `out` as it is serialized (`flowprobe check --output
/// json`: no whole-document string).
pub(crate) fn write_json(
    views: &[FlowView],
    ok: bool,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &CheckOut { ok, flows: views })?;
    out.write_all(b"\n")
}

pub(crate) async fn check(
    AxState(app): AxState<AppState>,
    Extension(slot): Extension<CheckSlot>,
    Query(q): Query<CheckQuery>,
) -> Response {
    let Ok(_permit) = slot.0.try_acquire() else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "5")],
            "a check is already running\n",
        )
            .into_response();
    };
    let config = Arc::clone(&app.config.read());
    let mut only: Vec<String> = q
        .flow
        .split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let vantages: Vec<&str> = q.vantage.split(',').filter(|s| !s.is_empty()).collect();
    if let Some(v) = vantages
        .iter()
        .find(|v| !q.skip_unknown && !config.active_flows().any(|f| f.from == **v))
    {
        return (
            StatusCode::BAD_REQUEST,
            format!("no active flow from vantage {v:?}\n"),
        )
            .into_response();
    }
    if !vantages.is_empty() {
        let of_vantages: Vec<String> = config
            .active_flows()
            .filter(|f| vantages.contains(&f.from.as_str()))
            .filter(|f| only.is_empty() || only.contains(&f.name))
            .map(|f| f.name.clone())
            .collect();
        if of_vantages.is_empty() {
            return (
                [(header::CONTENT_TYPE, "application/json")],
                json(&[], true),
            )
                .into_response();
        }
        if !q.skip_unknown
            && let Some(name) = only.iter().find(|n| !of_vantages.contains(n))
        {
            return (
                StatusCode::BAD_REQUEST,
                format!("no active flow named {name:?} from the vantages given\n"),
            )
                .into_response();
        }
        only = of_vantages;
    }
    if q.skip_unknown && !only.is_empty() {
        only.retain(|n| config.active_flows().any(|f| &f.name == n));
        if only.is_empty() {
            return (
                [(header::CONTENT_TYPE, "application/json")],
                json(&[], true),
            )
                .into_response();
        }
    }
    if let Some(name) = only
        .iter()
        .find(|n| !config.active_flows().any(|f| &f.name == *n))
    {
        return (
            StatusCode::BAD_REQUEST,
            format!("no active flow named {name:?}\n"),
        )
            .into_response();
    }
    match crate::probe::once::run_once(&config, &only).await {
        Ok(round) => {
            let views: Vec<FlowView> = round
                .results
                .into_iter()
                .map(|(p, r)| FlowView::new(&p.flow, Some(r)))
                .collect();
            let ok = views.iter().all(|v| v.last.as_ref().is_some_and(|r| r.up));
            (
                [(header::CONTENT_TYPE, "application/json")],
                json(&views, ok),
            )
                .into_response()
        }
        Err(errors) => {
            (StatusCode::INTERNAL_SERVER_ERROR, errors.join("\n") + "\n").into_response()
        }
    }
}

//! Every selected flow once, concurrently, within the file-descriptor
//! budget: the core of `flowprobe check` and of `POST /api/v1/check`.
//!
//! Every flow starts at once: a check of 10,000 flows of which half are
//! silently dropped takes about one timeout, not (flows / cap) timeouts.
//! Flows beyond the budget wait for a slot (a one-shot check owes every
//! flow an answer; nothing is shed).

use std::sync::Arc;

use super::plan::{build_nets, descriptor_budget, in_flight_limit, prepare};
use super::{Prepared, ProbeReport};
use crate::config::Config;

/// The reports of one round, in configuration order, and a note when the
/// budget makes flows wait.
pub struct Round {
    pub results: Vec<(Arc<Prepared>, ProbeReport)>,
    pub note: Option<String>,
}

/// The report of a flow that could not be probed: `internal`, down
/// whatever its expectation.
fn unjudged(why: String) -> ProbeReport {
    ProbeReport {
        cause: None,
        reason: crate::outcome::Reason::Internal,
        up: false,
        detail: format!("not judged: {why}"),
        started: std::time::SystemTime::now(),
        phases: super::Phases::default(),
        attempts: Vec::new(),
    }
}

/// Probe the active flows of `c` (only those named in `only`, when given)
/// once. Errors are those of preparing the flows.
pub async fn run_once(c: &Config, only: &[String]) -> Result<Round, Vec<String>> {
    let budget = descriptor_budget();
    let nets = build_nets(c)?;
    let flows = prepare(c)?;
    let max = in_flight_limit(&budget, c.max_in_flight);
    let limit = Arc::new(tokio::sync::Semaphore::new(max));
    let selected = |p: &Prepared| only.is_empty() || only.contains(&p.flow.name);
    // A CRL flow fed by a TLS flow runs after it, so discovery works on
    // this one round; a source flow that was not selected still runs
    // (unreported) to capture its chain.
    let needed: Vec<String> = flows
        .iter()
        .filter(|p| selected(p))
        .filter_map(|p| p.depends_on().map(String::from))
        .collect();
    let wanted: usize = flows
        .iter()
        .filter(|p| selected(p) || needed.contains(&p.flow.name))
        .map(|p| p.descriptors())
        .sum();
    let note = (wanted > max).then(|| {
        format!(
            "note: {wanted} sockets wanted at once, {max} allowed (file-descriptor budget of a soft RLIMIT_NOFILE of {}{}); the rest wait for a free one, so the check takes longer than one timeout",
            budget.soft,
            c.max_in_flight
                .map_or(String::new(), |m| format!(", defaults.max_in_flight {m}"))
        )
    });
    let mut out = Vec::new();
    for wave in [false, true] {
        let mut set = tokio::task::JoinSet::new();
        for (i, p) in flows.iter().enumerate() {
            let dependant = p.depends_on().is_some();
            if dependant != wave || !(selected(p) || needed.contains(&p.flow.name)) {
                continue;
            }
            let report = selected(p);
            let Some(net) = nets.get(&p.flow.from).cloned() else {
                if report {
                    let why = format!("vantage {:?} has no network to probe from", p.flow.from);
                    out.push((i, (Arc::clone(p), unjudged(why))));
                }
                continue;
            };
            let (p, limit) = (Arc::clone(p), Arc::clone(&limit));
            set.spawn(async move {
                let weight = u32::try_from(p.descriptors().min(max)).unwrap_or(1);
                let _permit = limit.acquire_many(weight).await.ok();
                let r = super::run(&p, &net).await;
                (i, report.then_some((p, r)))
            });
        }
        while let Some(r) = set.join_next().await {
            if let Ok((i, Some(v))) = r {
                out.push((i, v));
            }
        }
    }
    // A probe task that ended without a report (it panicked) still owes
    // its flow a verdict: a one-shot check never passes a flow unjudged.
    let mut reported = vec![false; flows.len()];
    for (i, _) in &out {
        reported[*i] = true;
    }
    for (i, p) in flows.iter().enumerate() {
        if selected(p) && !reported[i] {
            let why = "the probe ended without a report (internal error)".to_string();
            out.push((i, (Arc::clone(p), unjudged(why))));
        }
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(Round {
        results: out.into_iter().map(|(_, v)| v).collect(),
        note,
    })
}

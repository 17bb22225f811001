//! `flowprobe check`: every selected flow once, concurrently, then a verdict.
//!
//! Every flow starts at once, within the file-descriptor budget: a check of
//! 10,000 flows of which half are silently dropped takes about one timeout,
//! not (flows / cap) timeouts. Flows beyond the budget wait for a slot (a
//! one-shot check owes every flow an answer; nothing is shed) and the check
//! says so on stderr.

use std::process::ExitCode;
use std::sync::Arc;

use super::{EXIT_FAIL, EXIT_USAGE, Output, render};
use crate::config::Config;
use crate::probe::plan::{build_nets, descriptor_budget, in_flight_limit, prepare};
use crate::probe::{self, Prepared};
use crate::web::FlowView;

pub fn run(c: &Config, only: &[String], output: Output) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    for name in only {
        if !c.active_flows().any(|f| &f.name == name) {
            eprintln!("no active flow named {name:?} (see `flowprobe config show`)");
            return ExitCode::from(EXIT_USAGE);
        }
    }
    let views = rt.block_on(async {
        let budget = descriptor_budget();
        let nets = build_nets(c)?;
        let flows = prepare(c)?;
        let max = in_flight_limit(&budget, c.max_in_flight);
        let limit = Arc::new(tokio::sync::Semaphore::new(max));
        let selected = |p: &Prepared| only.is_empty() || only.contains(&p.flow.name);
        // A CRL flow fed by a TLS flow runs after it, so discovery works
        // on this one round; a source flow that was not selected still
        // runs (unreported) to capture its chain.
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
        if wanted > max {
            eprintln!(
                "note: {wanted} sockets wanted at once, {max} allowed (file-descriptor budget of a soft RLIMIT_NOFILE of {}{}); the rest wait for a free one, so the check takes longer than one timeout",
                budget.soft,
                c.max_in_flight
                    .map_or(String::new(), |m| format!(", defaults.max_in_flight {m}"))
            );
        }
        let mut out = Vec::new();
        for wave in [false, true] {
            let mut set = tokio::task::JoinSet::new();
            for (i, p) in flows.iter().enumerate() {
                let dependant = p.depends_on().is_some();
                if dependant != wave || !(selected(p) || needed.contains(&p.flow.name)) {
                    continue;
                }
                let Some(net) = nets.get(&p.flow.from).cloned() else {
                    continue;
                };
                let (p, limit, report) = (Arc::clone(p), Arc::clone(&limit), selected(p));
                set.spawn(async move {
                    let weight = u32::try_from(p.descriptors().min(max)).unwrap_or(1);
                    let _permit = limit.acquire_many(weight).await.ok();
                    let r = probe::run(&p, &net).await;
                    (i, report.then(|| FlowView::new(&p.flow, Some(r))))
                });
            }
            while let Some(r) = set.join_next().await {
                if let Ok((i, Some(v))) = r {
                    out.push((i, v));
                }
            }
        }
        out.sort_by_key(|(i, _)| *i);
        Ok::<_, Vec<String>>(out.into_iter().map(|(_, v)| v).collect::<Vec<_>>())
    });
    let views = match views {
        Ok(v) => v,
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let all_up = views.iter().all(|v| v.last.as_ref().is_some_and(|r| r.up));
    let text = match output {
        Output::Table => render::table(&views),
        Output::Json => render::json(&views, all_up),
        Output::Junit => render::junit(&views),
    };
    print!("{text}");
    if all_up {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAIL)
    }
}

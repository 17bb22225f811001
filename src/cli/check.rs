//! `flowprobe check`: every selected flow once, concurrently, then a verdict.

use std::process::ExitCode;
use std::sync::Arc;

use super::{EXIT_FAIL, EXIT_USAGE, Output, render};
use crate::config::Config;
use crate::daemon::{build_nets, prepare};
use crate::probe;
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
        let nets = build_nets(c)?;
        let flows = prepare(c)?;
        let limit = Arc::new(tokio::sync::Semaphore::new(c.max_in_flight.max(1)));
        let mut set = tokio::task::JoinSet::new();
        for (i, p) in flows.into_iter().enumerate() {
            if !only.is_empty() && !only.contains(&p.flow.name) {
                continue;
            }
            let Some(net) = nets.get(&p.flow.from).cloned() else {
                continue;
            };
            let limit = Arc::clone(&limit);
            set.spawn(async move {
                let _permit = limit.acquire().await.ok();
                let report = probe::run(&p, &net).await;
                (i, FlowView::new(&p.flow, Some(report)))
            });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            if let Ok(v) = r {
                out.push(v);
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

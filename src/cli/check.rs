//! `flowprobe check`: every selected flow once, concurrently
//! ([`probe::once`](crate::probe::once)), then a verdict. When the
//! file-descriptor budget makes flows wait, the check says so on stderr.

use super::{EXIT_FAIL, EXIT_USAGE, Output, render};
use crate::config::Config;
use crate::web::FlowView;
use std::process::ExitCode;

pub(super) fn run(c: &Config, only: &[String], output: Output) -> ExitCode {
    let rt = match super::one_shot_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    if c.active_flows().next().is_none() {
        eprintln!(
            "nothing to check: {} has no active flow (catalog = \"none\" and no [[flow]], or no vantage enabled); see `flowprobe config show`",
            c.origin
        );
        return ExitCode::from(EXIT_USAGE);
    }
    for name in only {
        if !c.active_flows().any(|f| &f.name == name) {
            eprintln!("no active flow named {name:?} (see `flowprobe config show`)");
            return ExitCode::from(EXIT_USAGE);
        }
    }
    for w in crate::config::warnings(c) {
        eprintln!("{w}");
    }
    let views = rt
        .block_on(crate::probe::once::run_once(c, only))
        .map(|round| {
            if let Some(note) = round.note {
                eprintln!("{note}");
            }
            round
                .results
                .into_iter()
                .map(|(p, r)| FlowView::new(&p.flow, Some(r)))
                .collect::<Vec<_>>()
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
        Output::Json => {
            // Straight into stdout, flow by flow: a 300,000-flow answer
            // never sits in memory as one string.
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            if let Err(e) = crate::web::check::write_json(&views, all_up, &mut out)
                .and_then(|()| std::io::Write::flush(&mut out))
            {
                eprintln!("writing the JSON: {e}");
                return ExitCode::from(EXIT_FAIL);
            }
            String::new()
        }
        Output::Junit => render::junit(&views),
    };
    print!("{text}");
    if all_up {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAIL)
    }
}

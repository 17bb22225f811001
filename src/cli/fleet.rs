//! `flowprobe check --fleet` / `--remote URL`: every instance asked at
//! once (`POST /api/v1/check`, [`net::remote`](crate::net::remote)),
//! optionally the local flows too (`--local`), merged into one matrix
//! (one row per flow, vantage and instance that probed it) checked against
//! the local configuration's flows as the catalog: a catalog flow no
//! instance probed is *not covered*, a finding like a failed flow.
//!
//! With `[fleet.prometheus]`, `--fleet` reads the rows from that central
//! store instead ([`fleet_store`](super::fleet_store)): sites behind
//! firewalls push to it, so nobody needs inbound HTTPS to every instance.
//! `--direct` asks the instances anyway (a store cannot probe now).
//!
//! Exit: 0 every flow from every vantage meets its expectation; 1 one
//! does not, or is not covered; 2 usage or configuration; 3 an instance
//! (or the store) could not be asked. 3 wins over 1: with an instance
//! missing the matrix is incomplete, and "fix the fleet check first" is the
//! next step.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::fleet_render::{self, InstanceStatus, Last, Mismatch, Row, Status};
use super::{EXIT_FAIL, EXIT_UNASKED, EXIT_USAGE, Output};
use crate::config::Config;
use crate::config::fleet::Instance;
use crate::net::prom::StoreFlow;
use crate::net::remote::{Answer, Client, RemoteError, RemoteFlow};
use crate::probe::Phase;
use crate::probe::once::Round;

/// What the command line asked for.
pub(crate) struct Args<'a> {
    /// `--fleet`: the configured `[[fleet.instance]]`s.
    pub fleet: bool,
    /// `--remote URL`s, asked with `[fleet.defaults]`.
    pub remotes: &'a [String],
    /// `--local`: this host's active flows too.
    pub local: bool,
    /// `--direct`: with `--fleet`, ask the `[[fleet.instance]]`s even
    /// when `[fleet.prometheus]` is set.
    pub direct: bool,
}

/// The name local rows carry in the INSTANCE column.
pub(crate) const LOCAL: &str = "local";

/// Added to the longest flow timeout, twice over, for the default
/// per-instance timeout: a one-shot check runs CRL flows after the TLS
/// flows that feed them (two timeouts), then encodes and sends the answer.
const MARGIN: Duration = Duration::from_secs(5);

pub(super) fn run(c: &Config, only: &[String], output: Output, args: &Args) -> ExitCode {
    let clients = match clients(c, only, args) {
        Ok(clients) => clients,
        Err(code) => return code,
    };
    let rt = match super::one_shot_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let answers = rt.block_on(ask(&clients, c, only, args.local));

    let mut rows: Vec<Row> = Vec::new();
    let mut statuses = Vec::new();
    if let Some(local) = answers.local {
        match local_rows(local) {
            Ok(local) => rows.extend(local),
            Err(code) => return code,
        }
    }
    if let (Some(cl), Some(stored)) = (&clients.store, answers.stored) {
        let (status, stored) = store_rows(c, only, &cl.instance, stored);
        statuses.push(status);
        rows.extend(stored);
    }
    for (cl, answer) in clients.instances.iter().zip(answers.instances) {
        let i = &cl.instance;
        match answer {
            Ok(a) => {
                statuses.push(asked(i, false, Ok(a.flows.len())));
                rows.extend(a.flows.into_iter().map(|f| remote_row(i, f)));
            }
            Err(e) => statuses.push(asked(i, false, Err(&e))),
        }
    }
    let matrix = merge(c, only, rows);
    print!("{}", render(&matrix, &statuses, output));
    if statuses.iter().any(|s| !s.ok) {
        ExitCode::from(EXIT_UNASKED)
    } else if matrix.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAIL)
    }
}

/// Who is asked: the instances, and the central store when it answers
/// for them.
struct Clients {
    instances: Vec<Arc<Client>>,
    store: Option<Client>,
}

/// The clients to ask, once the flows asked for are known to the catalog;
/// `Err`: a usage error, said on stderr.
fn clients(c: &Config, only: &[String], args: &Args) -> Result<Clients, ExitCode> {
    let store = c
        .fleet
        .store
        .as_ref()
        .filter(|_| args.fleet && !args.direct);
    let instances = instances(c, args, store.is_some()).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(EXIT_USAGE)
    })?;
    for name in only {
        if !c.flows.iter().any(|f| &f.name == name) {
            eprintln!("no flow named {name:?} in the catalog (see `flowprobe config show`)");
            return Err(ExitCode::from(EXIT_USAGE));
        }
    }
    let mut clients = Vec::new();
    for i in instances {
        let name = i.name.clone();
        match Client::new(i) {
            Ok(cl) => clients.push(Arc::new(cl)),
            Err(e) => {
                eprintln!("fleet instance {name:?}: {e}");
                return Err(ExitCode::from(EXIT_USAGE));
            }
        }
    }
    let store = match store.map(|s| Client::new(s.as_instance())).transpose() {
        Ok(cl) => cl,
        Err(e) => {
            eprintln!("fleet.prometheus: {e}");
            return Err(ExitCode::from(EXIT_USAGE));
        }
    };
    Ok(Clients {
        instances: clients,
        store,
    })
}

/// What was asked answered: each instance (in the order of
/// [`Clients::instances`]), the local flows, the store.
struct Answers {
    instances: Vec<Result<Answer, RemoteError>>,
    local: Option<Result<Round, Vec<String>>>,
    stored: Option<Result<Vec<StoreFlow>, RemoteError>>,
}

/// Asks every instance at once, each on its own task; meanwhile runs the
/// local flows (with `local`) and reads the store.
async fn ask(clients: &Clients, c: &Config, only: &[String], local: bool) -> Answers {
    let fallback = default_timeout(c, only);
    let asks: Vec<_> = clients
        .instances
        .iter()
        .map(|cl| {
            let (cl, only) = (Arc::clone(cl), only.to_vec());
            let t = cl.instance.access.timeout.unwrap_or(fallback);
            tokio::spawn(async move { cl.check(&only, t).await })
        })
        .collect();
    let local = if local {
        Some(crate::probe::once::run_once(c, only).await)
    } else {
        None
    };
    let stored = match &clients.store {
        Some(cl) => {
            let t = cl
                .instance
                .access
                .timeout
                .unwrap_or(super::fleet_store::STORE_TIMEOUT);
            Some(crate::net::prom::read(cl, t).await)
        }
        None => None,
    };
    let mut instances = Vec::new();
    for a in asks {
        instances.push(
            a.await.unwrap_or_else(|e| {
                Err(RemoteError::Http(format!("the request task failed: {e}")))
            }),
        );
    }
    Answers {
        instances,
        local,
        stored,
    }
}

/// The rows of the local flows; `Err`: they could not run (a usage or
/// configuration error, said on stderr).
fn local_rows(local: Result<Round, Vec<String>>) -> Result<Vec<Row>, ExitCode> {
    match local {
        Ok(round) => {
            if let Some(note) = round.note {
                eprintln!("{note}");
            }
            Ok(round
                .results
                .iter()
                .map(|(p, r)| local_row(&p.flow, r))
                .collect())
        }
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            Err(ExitCode::from(EXIT_USAGE))
        }
    }
}

/// How the store `i` answered, and the rows it holds of the flows asked
/// for.
fn store_rows(
    c: &Config,
    only: &[String],
    i: &Instance,
    stored: Result<Vec<StoreFlow>, RemoteError>,
) -> (InstanceStatus, Vec<Row>) {
    match stored {
        Ok(flows) => {
            let flows: Vec<StoreFlow> = flows
                .into_iter()
                .filter(|f| only.is_empty() || only.contains(&f.name))
                .collect();
            let status = asked(i, true, Ok(flows.len()));
            let bounds = super::fleet_store::Bounds::new(c);
            let rows = flows
                .into_iter()
                .map(|f| super::fleet_store::row(&bounds, f))
                .collect();
            (status, rows)
        }
        Err(e) => (asked(i, true, Err(&e)), Vec::new()),
    }
}

/// The matrix and the instances' statuses as `output` asks.
fn render(matrix: &Matrix, statuses: &[InstanceStatus], output: Output) -> String {
    match output {
        Output::Table => {
            let color = std::io::IsTerminal::is_terminal(&std::io::stdout())
                && std::env::var_os("NO_COLOR").is_none();
            fleet_render::table(matrix, statuses, color)
        }
        Output::Json => fleet_render::json(matrix, statuses),
        Output::Junit => fleet_render::junit(matrix, statuses),
    }
}

/// How asking `i` (the store when `store`) went: the flows it answered
/// for, or why it could not be asked, said on stderr too.
fn asked(i: &Instance, store: bool, answered: Result<usize, &RemoteError>) -> InstanceStatus {
    if let Err(e) = answered {
        let what = if store { "store" } else { "instance" };
        eprintln!("flowprobe check: {what} {} ({}): {e}", i.name, i.url);
    }
    InstanceStatus {
        name: i.name.clone(),
        url: i.url.to_string(),
        ok: answered.is_ok(),
        error: answered.err().map(ToString::to_string),
        flows: answered.unwrap_or(0),
        store,
    }
}

/// The configured instances (`--fleet`, unless the store answers for
/// them) and the ad-hoc ones, each once.
fn instances(c: &Config, args: &Args, from_store: bool) -> Result<Vec<Instance>, String> {
    let mut out: Vec<Instance> = Vec::new();
    if args.fleet && !from_store {
        if c.fleet.instances.is_empty() {
            return Err(format!(
                "--fleet{}: {} has no [[fleet.instance]]; add some, set [fleet.prometheus], or name instances with --remote URL",
                if args.direct { " --direct" } else { "" },
                c.origin
            ));
        }
        out.extend(c.fleet.instances.iter().cloned());
    }
    for url in args.remotes {
        let i = c.fleet.ad_hoc(url).map_err(|e| format!("--remote: {e}"))?;
        if out.iter().any(|o| o.url == i.url) {
            continue;
        }
        if out.iter().any(|o| o.name == i.name) {
            return Err(format!(
                "--remote {url}: an instance is already named {:?}",
                i.name
            ));
        }
        out.push(i);
    }
    Ok(out)
}

/// Twice the longest timeout of the flows asked for, plus [`MARGIN`].
fn default_timeout(c: &Config, only: &[String]) -> Duration {
    let longest = c
        .flows
        .iter()
        .filter(|f| only.is_empty() || only.contains(&f.name))
        .map(|f| f.timeout)
        .max()
        .unwrap_or(c.defaults.timeout);
    longest * 2 + MARGIN
}

/// A row for catalog flow `f`, as `instance` saw it (or nobody did).
fn flow_row(instance: &str, f: &crate::config::Flow, status: Status, last: Option<Last>) -> Row {
    Row {
        site: None,
        instance: instance.to_string(),
        vantage: f.from.clone(),
        name: f.name.clone(),
        from: f.from.clone(),
        to: f.to.clone(),
        host: f.host.to_string(),
        port: f.port,
        check: f.check.kind().as_str().to_string(),
        expect: f.expect.as_str().to_string(),
        severity: f.severity.as_str().to_string(),
        status,
        last,
        mismatch: Vec::new(),
        freshness: None,
    }
}

fn local_row(f: &crate::config::Flow, r: &crate::probe::ProbeReport) -> Row {
    let last = Last {
        reason: r.reason.to_string(),
        up: r.up,
        detail: r.detail.clone(),
        started: crate::text::unix_secs_f64(r.started),
        time_seconds: r.phases.get(Phase::Total).map(|d| d.as_secs_f64()),
    };
    let status = if r.up { Status::Pass } else { Status::Fail };
    flow_row(LOCAL, f, status, Some(last))
}

fn remote_row(instance: &Instance, f: RemoteFlow) -> Row {
    let up = f.last.as_ref().is_some_and(|l| l.up);
    let mismatch = match &instance.vantages {
        Some(declared) if !declared.contains(&f.vantage) => vec![Mismatch::Vantage {
            declared: declared.iter().cloned().collect(),
        }],
        _ => Vec::new(),
    };
    Row {
        site: None,
        instance: instance.name.clone(),
        vantage: f.vantage,
        name: f.name,
        from: f.from,
        to: f.to,
        host: f.host,
        port: f.port,
        check: f.check,
        expect: f.expect,
        severity: f.severity,
        status: if !mismatch.is_empty() {
            Status::Mismatch
        } else if up {
            Status::Pass
        } else {
            Status::Fail
        },
        mismatch,
        last: f.last.map(|l| Last {
            reason: l.reason,
            up: l.up,
            detail: l.detail,
            started: l.started,
            time_seconds: l.phases.total,
        }),
        freshness: None,
    }
}

/// The merged matrix: the rows in catalog order (a flow reported by two
/// instances keeps both rows), rows of flows the catalog does not know
/// after them, then the catalog flows nobody probed.
pub(crate) struct Matrix {
    pub rows: Vec<Row>,
    pub not_covered: Vec<Row>,
}

impl Matrix {
    pub(crate) fn ok(&self) -> bool {
        self.not_covered.is_empty() && self.rows.iter().all(|r| r.status == Status::Pass)
    }
}

fn merge(c: &Config, only: &[String], mut rows: Vec<Row>) -> Matrix {
    let catalog: Vec<&crate::config::Flow> = c
        .flows
        .iter()
        .filter(|f| only.is_empty() || only.contains(&f.name))
        .collect();
    let position: BTreeMap<(&str, &str), usize> = catalog
        .iter()
        .enumerate()
        .map(|(i, f)| ((f.from.as_str(), f.name.as_str()), i))
        .collect();
    let key = |r: &Row| {
        position
            .get(&(r.vantage.as_str(), r.name.as_str()))
            .copied()
            .unwrap_or(usize::MAX)
    };
    // A row speaks for the catalog's flow of its name only when it probes
    // the same thing: same target, port, kind and expectation. The host a
    // target names may differ per site (split DNS, a local address).
    for r in rows.iter_mut() {
        let Some(f) = position
            .get(&(r.vantage.as_str(), r.name.as_str()))
            .map(|i| catalog[*i])
        else {
            continue;
        };
        let port = f.port.to_string();
        let check = f.check.kind().as_str();
        let expect = f.expect.as_str();
        for (field, instance, catalog) in [
            ("to", r.to.clone(), f.to.as_str()),
            ("port", r.port.to_string(), port.as_str()),
            ("check", r.check.clone(), check),
            ("expect", r.expect.clone(), expect),
        ] {
            if instance != catalog {
                r.mismatch.push(Mismatch::Definition {
                    field,
                    instance,
                    catalog: catalog.to_string(),
                });
            }
        }
        if !r.mismatch.is_empty() {
            r.status = Status::Mismatch;
        }
    }
    // Stable: within one flow, the order instances were named in.
    rows.sort_by_key(key);
    let covered: std::collections::BTreeSet<(&str, &str)> = rows
        .iter()
        .filter(|r| r.status != Status::Mismatch)
        .map(|r| (r.vantage.as_str(), r.name.as_str()))
        .collect();
    let not_covered = catalog
        .iter()
        .filter(|f| !covered.contains(&(f.from.as_str(), f.name.as_str())))
        .map(|f| flow_row("", f, Status::NotCovered, None))
        .collect();
    Matrix { rows, not_covered }
}

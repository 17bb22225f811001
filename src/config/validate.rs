//! Validation: the merged tree becomes a [`Config`] or a list of every
//! problem, each with its key path.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::error::Collector;
use super::raw::*;
use super::types::*;
use crate::analyze::pattern::{BytesPattern, Pattern};
use crate::config::KindSpec;
use crate::text::printable;

const TOP_KEYS: &[&str] = &[
    "vantages",
    "catalog",
    "listen",
    "log",
    "metrics",
    "defaults",
    "targets",
    "vantage",
    "trust",
    "flow",
    "ssh_policy",
    "tls_policy",
    "fleet",
];

/// Deserialize one section, reporting the failing key path under `key`.
pub(crate) fn section<T: DeserializeOwned + Default>(
    value: Option<toml::Value>,
    key: &str,
    errs: &mut Collector,
) -> Option<T> {
    let Some(value) = value else {
        return Some(T::default());
    };
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(v) => Some(v),
        Err(e) => {
            let inner = e.path().to_string();
            let path = if inner == "." || inner.is_empty() {
                key.to_string()
            } else {
                format!("{key}.{inner}")
            };
            // toml appends "in `key`" lines; the path already says where.
            let msg = e.into_inner().to_string();
            let msg: Vec<&str> = msg
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("in `"))
                .collect();
            errs.push(path, msg.join("; "));
            None
        }
    }
}

/// Parse a duration such as `"30s"`, `"1m30s"`, `"500ms"` or `"30d"`.
pub(crate) fn duration(s: &str, key: &str, errs: &mut Collector) -> Option<Duration> {
    match humantime::parse_duration(s) {
        Ok(d) => Some(d),
        Err(e) => {
            errs.push(
                key,
                format!("invalid duration {s:?} ({e}); write e.g. \"30s\", \"5m\", \"500ms\""),
            );
            None
        }
    }
}

/// Check the merged tree and build the [`Config`], or `None` with every
/// problem in `errs`. Each step reports and goes on, so one run lists all
/// the problems, and the steps run in a fixed order, so they are always
/// listed in the same order.
pub(crate) fn validate(
    mut tree: toml::Table,
    origin: &str,
    errs: &mut Collector,
) -> Option<Config> {
    reject_unknown_keys(&tree, errs);
    let top = Tables::take(&mut tree, errs);
    let web_config_file = top
        .listen
        .as_ref()
        .and_then(|l| l.web_config_file.as_ref())
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    let listen = top.listen.and_then(|l| listen_address(l, errs));
    let log = top.log.and_then(|l| log_settings(l, errs));
    let (defaults, max_in_flight, worker_threads) = match top.defaults {
        Some(d) => flow_defaults(d, errs),
        None => (None, None, None),
    };
    let targets = target_hosts(top.targets.unwrap_or_default(), errs);
    let (vantage_defs, ssh_pace_overrides) =
        vantage_defs_and_paces(top.vantage.unwrap_or_default(), errs);
    let trust = trust_specs(top.trust.unwrap_or_default(), errs);

    let ctx = FlowCtx {
        defaults: defaults.as_ref(),
        ssh_pace_overrides: &ssh_pace_overrides,
        targets: &targets,
        trust: &trust,
        ssh_policies: &top.ssh_policies,
        tls_policies: &top.tls_policies,
    };
    let raw_flows = flow_array(top.flow, errs);
    let known = known_vantages(&vantage_defs, &raw_flows);
    for (i, name) in top.selected.iter().flatten().enumerate() {
        name_rule(&format!("vantages[{i}]"), name, errs);
    }
    let chosen = top.selected.as_ref().filter(|v| !v.is_empty());
    let FlowSet {
        mut flows,
        seen,
        disabled,
    } = flow_set(raw_flows, chosen, &ctx, errs);
    crate::kinds::link::link(&mut flows, &seen, &disabled, errs);
    let vantages = selected_vantages(top.selected, &known, errs);
    let fleet = super::fleet::validate(top.fleet, &known, errs);

    if !errs.errors.is_empty() {
        return None;
    }
    let defaults = defaults?;
    Some(Config {
        origin: origin.to_string(),
        vantages,
        catalog: top.catalog,
        listen: listen?,
        web_config_file,
        log: log?,
        metrics: top.metrics.map(metrics_settings)?,
        defaults,
        max_in_flight: max_in_flight?,
        worker_threads: worker_threads?,
        targets,
        vantage_defs,
        trust,
        flows,
        fleet: fleet?,
        ssh_pace_overrides,
    })
}

fn reject_unknown_keys(tree: &toml::Table, errs: &mut Collector) {
    for k in tree.keys() {
        if !TOP_KEYS.contains(&k.as_str()) {
            errs.push(
                k.clone(),
                format!("unknown key; expected one of: {}", TOP_KEYS.join(", ")),
            );
        }
    }
}

/// The top-level tables, each deserialized on its own so that one bad
/// table does not hide the problems of the others; `None` is a table
/// that failed (its error is collected), an absent one is its default.
struct Tables {
    catalog: String,
    listen: Option<RawListen>,
    log: Option<RawLog>,
    metrics: Option<RawMetrics>,
    defaults: Option<RawDefaults>,
    targets: Option<BTreeMap<String, String>>,
    vantage: Option<BTreeMap<String, RawVantage>>,
    trust: Option<BTreeMap<String, RawTrust>>,
    /// `vantages = [...]`: the vantages this instance probes as.
    selected: Option<Vec<String>>,
    ssh_policies: super::SshPolicies,
    tls_policies: crate::kinds::tls::TlsPolicies,
    /// Read by [`super::fleet::validate`] once the vantages are known.
    fleet: Option<toml::Value>,
    /// Read by [`flow_array`] after the tables the flows refer to.
    flow: Option<toml::Value>,
}

impl Tables {
    fn take(tree: &mut toml::Table, errs: &mut Collector) -> Tables {
        let catalog = match tree.remove("catalog") {
            Some(toml::Value::String(s)) => s,
            _ => super::catalog::NO_CATALOG.to_string(),
        };
        Tables {
            catalog,
            listen: section(tree.remove("listen"), "listen", errs),
            log: section(tree.remove("log"), "log", errs),
            metrics: section(tree.remove("metrics"), "metrics", errs),
            defaults: section(tree.remove("defaults"), "defaults", errs),
            targets: section(tree.remove("targets"), "targets", errs),
            vantage: section(tree.remove("vantage"), "vantage", errs),
            trust: section(tree.remove("trust"), "trust", errs),
            selected: section(tree.remove("vantages"), "vantages", errs),
            ssh_policies: crate::kinds::ssh::settings::policies_from(
                tree.remove("ssh_policy"),
                errs,
            ),
            tls_policies: crate::kinds::tls::policy_settings::policies_from(
                tree.remove("tls_policy"),
                errs,
            ),
            fleet: tree.remove("fleet"),
            flow: tree.remove("flow"),
        }
    }
}

fn listen_address(l: RawListen, errs: &mut Collector) -> Option<SocketAddr> {
    let s = l.address.unwrap_or_default();
    match s.parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            errs.push(
                "listen.address",
                format!("{s:?} is not an address:port like \"0.0.0.0:9725\""),
            );
            None
        }
    }
}

/// `[log]`. A bad level is reported but still yields settings; only a
/// bad format yields none.
fn log_settings(l: RawLog, errs: &mut Collector) -> Option<LogSettings> {
    let level = l.level.unwrap_or_else(|| "info".into());
    if tracing_subscriber::EnvFilter::try_new(&level).is_err() {
        errs.push(
            "log.level",
            format!("{level:?} is not a log level or filter (error, warn, info, debug, trace)"),
        );
    }
    let text = l.format.as_deref().unwrap_or("text");
    let Some(format) = LogFormat::parse(text) else {
        errs.push("log.format", format!("{text:?}: {}", LogFormat::expected()));
        return None;
    };
    Some(LogSettings { level, format })
}

/// `[metrics]`, each setting left out taking its default.
fn metrics_settings(m: RawMetrics) -> MetricsSettings {
    let d = MetricsSettings::default();
    MetricsSettings {
        per_flow_durations: m.per_flow_durations.unwrap_or(d.per_flow_durations),
        all_certificates: m.all_certificates.unwrap_or(d.all_certificates),
    }
}

/// `[targets]`: each name checked and its host parsed; bad hosts are left
/// out (and reported).
fn target_hosts(raw: BTreeMap<String, String>, errs: &mut Collector) -> BTreeMap<String, Host> {
    let mut hosts = BTreeMap::new();
    for (name, host) in raw {
        name_rule(&format!("targets.{}", printable(&name)), &name, errs);
        match Host::parse(&host) {
            Some(h) => {
                hosts.insert(name, h);
            }
            None => errs.push(
                format!("targets.{name}"),
                format!("{host:?} is not a host name or IP address"),
            ),
        }
    }
    hosts
}

/// `[vantage.NAME]`: the vantages defined, and apart from them the
/// `ssh_pace` of those that set one (read even when the rest of the
/// vantage is invalid).
fn vantage_defs_and_paces(
    raw: BTreeMap<String, RawVantage>,
    errs: &mut Collector,
) -> (BTreeMap<String, Vantage>, BTreeMap<String, Duration>) {
    let mut defs = BTreeMap::new();
    let mut ssh_pace_overrides = BTreeMap::new();
    for (name, v) in raw {
        name_rule(&format!("vantage.{}", printable(&name)), &name, errs);
        if let Some(text) = &v.ssh_pace {
            let key = format!("vantage.{}.ssh_pace", printable(&name));
            if let Some(pace) = super::ssh_pace::parse(text, &key, errs) {
                ssh_pace_overrides.insert(name.clone(), pace);
            }
        }
        if let Some(v) = vantage(&name, v, errs) {
            defs.insert(name, v);
        }
    }
    (defs, ssh_pace_overrides)
}

fn trust_specs(
    raw: BTreeMap<String, RawTrust>,
    errs: &mut Collector,
) -> BTreeMap<String, TrustSpec> {
    raw.into_iter()
        .map(|(name, t)| {
            let spec = trust_spec(&name, &t, errs);
            (name, spec)
        })
        .collect()
}

/// One `[trust.NAME]`. Its anchor files are checked for readability here
/// so a wrong path fails the load, not every probe that uses the store;
/// only a built-in anchor set may list none.
fn trust_spec(name: &str, t: &RawTrust, errs: &mut Collector) -> TrustSpec {
    let key = format!("trust.{name}");
    if name == "system" {
        errs.push(
            key.clone(),
            "\"system\" is built in (the OS trust store) and cannot be redefined",
        );
    }
    let builtin = crate::analyze::builtin_anchors::is_builtin(name);
    let anchors: Vec<PathBuf> = t
        .anchors
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(PathBuf::from)
        .collect();
    if anchors.is_empty() && !builtin {
        errs.push(
            format!("{key}.anchors"),
            "must list at least one PEM file or directory",
        );
    }
    for (i, a) in anchors.iter().enumerate() {
        if let Err(e) = std::fs::metadata(a) {
            errs.push(
                format!("{key}.anchors[{i}]"),
                format!("cannot read {}: {e}", a.display()),
            );
        }
    }
    let relying_party = relying_party(t, &key, errs);
    TrustSpec {
        anchors,
        relying_party,
    }
}

/// The `[[flow]]` tables, still untyped: their `from` is needed before
/// they are validated (see [`known_vantages`]).
fn flow_array(value: Option<toml::Value>, errs: &mut Collector) -> Vec<toml::Value> {
    match value {
        Some(toml::Value::Array(a)) => a,
        Some(_) => {
            errs.push("flow", "must be an array of tables ([[flow]])");
            Vec::new()
        }
        None => Vec::new(),
    }
}

/// Vantages known: those defined and those the flows run from. Flows of
/// vantages this instance does not probe as are left out (a per-vantage
/// file need not name every other vantage's targets); their names still
/// count for duplicates.
fn known_vantages(defs: &BTreeMap<String, Vantage>, raw_flows: &[toml::Value]) -> BTreeSet<String> {
    let mut known: BTreeSet<String> = defs.keys().cloned().collect();
    known.extend(
        raw_flows
            .iter()
            .filter_map(|f| f.get("from").and_then(|v| v.as_str()).map(str::to_string)),
    );
    known
}

/// The flows this instance probes, and the names [`crate::kinds::link`]
/// needs to tell a missing source flow from a disabled one.
struct FlowSet {
    flows: Vec<Flow>,
    /// Every flow name in the file, including the skipped flows.
    seen: BTreeSet<String>,
    disabled: BTreeSet<String>,
}

/// Validate the flows in file order. A duplicate name is an error; a
/// disabled flow, or one from a vantage outside `chosen`, is skipped
/// without validation.
fn flow_set(
    raw_flows: Vec<toml::Value>,
    chosen: Option<&Vec<String>>,
    ctx: &FlowCtx,
    errs: &mut Collector,
) -> FlowSet {
    let mut set = FlowSet {
        flows: Vec::new(),
        seen: BTreeSet::new(),
        disabled: BTreeSet::new(),
    };
    for (i, value) in raw_flows.into_iter().enumerate() {
        let Some((label, raw)) = raw_flow(i, value, errs) else {
            continue;
        };
        if let Some(name) = &raw.name
            && !set.seen.insert(name.clone())
        {
            errs.push(
                format!("{label}.name"),
                format!("duplicate flow name {name:?}"),
            );
            continue;
        }
        if raw.enabled == Some(false) {
            set.disabled.extend(raw.name.clone());
            continue;
        }
        if let (Some(chosen), Some(from)) = (chosen, &raw.from)
            && !chosen.contains(from)
        {
            continue;
        }
        if let Some(f) = flow(raw, &label, ctx, errs) {
            set.flows.push(f);
        }
    }
    set
}

/// One `[[flow]]` table deserialized, with the key its problems go under:
/// `flow[NAME]`, or `flow[INDEX]` when it has no name. The kinds' tables
/// are taken out first, as each kind reads its own.
fn raw_flow(i: usize, mut value: toml::Value, errs: &mut Collector) -> Option<(String, RawFlow)> {
    let label = value
        .get("name")
        .and_then(|n| n.as_str())
        .map_or_else(|| format!("flow[{i}]"), |n| format!("flow[{n}]"));
    let tables = RawFlow::take_tables(&mut value);
    let mut raw = section::<RawFlow>(Some(value), &label, errs)?;
    raw.tables = tables;
    Some((label, raw))
}

/// `vantages = [...]` when given and not empty, each name one that is
/// known; otherwise every known vantage.
fn selected_vantages(
    selected: Option<Vec<String>>,
    known: &BTreeSet<String>,
    errs: &mut Collector,
) -> Vec<String> {
    match selected {
        Some(v) if !v.is_empty() => {
            for (i, name) in v.iter().enumerate() {
                if !known.contains(name) {
                    errs.push(
                        format!("vantages[{i}]"),
                        format!(
                            "unknown vantage {name:?}; known: {}",
                            known.iter().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    );
                }
            }
            v
        }
        _ => known.iter().cloned().collect(),
    }
}

/// Flow defaults, `max_in_flight` (outer None: invalid; inner None: not
/// set, derived from the descriptor budget) and `worker_threads`.
type Globals = (Option<FlowDefaults>, Option<Option<usize>>, Option<usize>);

fn flow_defaults(d: RawDefaults, errs: &mut Collector) -> Globals {
    let interval = d
        .interval
        .as_deref()
        .and_then(|s| duration(s, "defaults.interval", errs));
    let timeout = d
        .timeout
        .as_deref()
        .and_then(|s| duration(s, "defaults.timeout", errs));
    let ip_family = d
        .ip_family
        .as_deref()
        .and_then(|s| ip_family(s, "defaults.ip_family", errs));
    let max = match d.max_in_flight {
        None => Some(None),
        Some(n) => count(Some(n), "defaults.max_in_flight", 1_000_000, 1, errs).map(Some),
    };
    let threads = count(d.worker_threads, "defaults.worker_threads", 256, 1, errs);
    let ssh_pace = match d.ssh_pace.as_deref() {
        Some(s) => super::ssh_pace::parse(s, "defaults.ssh_pace", errs),
        None => Some(super::ssh_pace::DEFAULT_SSH_PACE),
    };
    let defaults = match (interval, timeout, ip_family, ssh_pace) {
        (Some(interval), Some(timeout), Some(ip_family), Some(ssh_pace)) => Some(FlowDefaults {
            interval,
            timeout,
            ip_family,
            ssh_pace,
        }),
        _ => None,
    };
    (defaults, max, threads)
}

/// A count in 1..=max, or `default` when not given.
fn count(
    v: Option<i64>,
    key: &str,
    max: i64,
    default: usize,
    errs: &mut Collector,
) -> Option<usize> {
    match v {
        Some(n) if (1..=max).contains(&n) => usize::try_from(n).ok(),
        Some(n) => {
            errs.push(key, format!("{n} is out of range 1..={max}"));
            None
        }
        None => Some(default),
    }
}

/// One of a closed set of words (`expect`, `severity`), or an error
/// listing them.
fn named<T: std::str::FromStr<Err = String>>(
    s: &str,
    key: &str,
    errs: &mut Collector,
) -> Option<T> {
    s.parse().map_err(|e: String| errs.push(key, e)).ok()
}

fn ip_family(s: &str, key: &str, errs: &mut Collector) -> Option<IpFamily> {
    let f = IpFamily::parse(s);
    if f.is_none() {
        errs.push(key, format!("{s:?}: {}", IpFamily::expected()));
    }
    f
}

/// A vantage or target name: it is a metric label value and shows in
/// tables and log lines, so it is an identifier (letters, digits, '-',
/// '_', '.'; at most 64), never text that could forge a line.
fn name_rule(key: &str, name: &str, errs: &mut Collector) {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if !ok {
        errs.push(
            key,
            format!(
                "{}: use 1 to 64 letters, digits, '-', '_' or '.' (it is a metric label)",
                printable(&format!("{name:?}"))
            ),
        );
    }
}

/// Label values (metric labels, shown in tables and logs) may hold any
/// text but control, escape and bidirectional formatting characters.
fn label_rule(key: &str, labels: &BTreeMap<String, String>, errs: &mut Collector) {
    for (k, v) in labels {
        if printable(k) != *k || printable(v) != *v {
            errs.push(
                format!("{key}.labels.{}", printable(k)),
                format!(
                    "{}: control, escape or bidirectional formatting characters are not allowed",
                    printable(v)
                ),
            );
        }
    }
}

fn vantage(name: &str, v: RawVantage, errs: &mut Collector) -> Option<Vantage> {
    let key = format!("vantage.{}", printable(name));
    let before = errs.errors.len();
    let source_address = v
        .source_address
        .as_deref()
        .and_then(|s| match s.parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                errs.push(
                    format!("{key}.source_address"),
                    format!("{s:?} is not an IP address"),
                );
                None
            }
        });
    if let Some(i) = &v.interface
        && (i.is_empty() || i.len() > 15 || i.contains('/') || i.contains(char::is_whitespace))
    {
        errs.push(
            format!("{key}.interface"),
            format!("{i:?} is not a network interface name"),
        );
    }
    let mut dns_servers = Vec::new();
    for (i, s) in v.dns_servers.unwrap_or_default().iter().enumerate() {
        match parse_dns_server(s) {
            Some(a) => dns_servers.push(a),
            None => errs.push(
                format!("{key}.dns_servers[{i}]"),
                format!("{s:?} is not an IP address or IP:port"),
            ),
        }
    }
    (errs.errors.len() == before).then(|| Vantage {
        name: name.to_string(),
        source_address,
        interface: v.interface,
        dns_servers,
        labels: {
            let labels = v.labels.unwrap_or_default();
            label_rule(&key, &labels, errs);
            labels
        },
    })
}

/// `192.0.2.53`, `192.0.2.53:5353`, `2001:db8::53` or `[2001:db8::53]:5353`.
fn parse_dns_server(s: &str) -> Option<SocketAddr> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Some(a);
    }
    s.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53))
}

/// What a flow's validation needs from the rest of the file.
pub struct FlowCtx<'a> {
    pub defaults: Option<&'a FlowDefaults>,
    /// `[vantage.NAME] ssh_pace`, for the SSH flows of those vantages.
    pub ssh_pace_overrides: &'a BTreeMap<String, Duration>,
    pub targets: &'a BTreeMap<String, Host>,
    pub trust: &'a BTreeMap<String, TrustSpec>,
    pub ssh_policies: &'a super::SshPolicies,
    pub tls_policies: &'a crate::kinds::tls::TlsPolicies,
}

fn flow(raw: RawFlow, key: &str, ctx: &FlowCtx, errs: &mut Collector) -> Option<Flow> {
    let before = errs.errors.len();
    let name = raw.name.clone().unwrap_or_default();
    flow_name_rule(key, &name, errs);
    let from = required(&raw.from, key, "from", errs);
    if let Some(f) = &from {
        name_rule(&format!("{key}.from"), f, errs);
    }
    let to = required(&raw.to, key, "to", errs);
    let host = to.as_ref().and_then(|t| target_host(t, key, ctx, errs));
    let port = tcp_port(raw.port, key, errs);
    let expect = named(
        raw.expect.as_deref().unwrap_or("open"),
        &format!("{key}.expect"),
        errs,
    );
    let severity = named(
        raw.severity.as_deref().unwrap_or("critical"),
        &format!("{key}.severity"),
        errs,
    );
    let (interval, timeout) = schedule(&raw, key, ctx, errs);
    let ip_family = match &raw.ip_family {
        Some(s) => ip_family(s, &format!("{key}.ip_family"), errs),
        None => ctx.defaults.map(|d| d.ip_family),
    };
    let check = KindSpec::validate(&raw, key, ctx, errs);
    if errs.errors.len() != before {
        return None;
    }
    Some(Flow {
        name,
        from: from?,
        to: to?,
        host: host?,
        port: port?,
        check: check?,
        expect: expect?,
        interval: interval?,
        timeout: timeout?,
        severity: severity?,
        ip_family: ip_family?,
        description: raw.description.unwrap_or_default(),
        labels: {
            let labels = raw.labels.unwrap_or_default();
            label_rule(key, &labels, errs);
            labels
        },
    })
}

/// A flow's name is required, and is an identifier like [`name_rule`]'s
/// (it is a metric label).
fn flow_name_rule(key: &str, name: &str, errs: &mut Collector) {
    if name.is_empty() {
        errs.push(format!("{key}.name"), "missing: every flow needs a name");
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        || name.len() > 64
    {
        errs.push(
            format!("{key}.name"),
            format!(
                "{name:?}: use at most 64 letters, digits, '-', '_' or '.' (it is a metric label)"
            ),
        );
    }
}

/// The host of the target a flow's `to` names.
fn target_host(to: &str, key: &str, ctx: &FlowCtx, errs: &mut Collector) -> Option<Host> {
    match ctx.targets.get(to) {
        Some(h) => Some(h.clone()),
        None => {
            errs.push(
                format!("{key}.to"),
                format!(
                    "unknown target {to:?}: define it under [targets] (known: {})",
                    ctx.targets.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            );
            None
        }
    }
}

fn tcp_port(port: Option<i64>, key: &str, errs: &mut Collector) -> Option<u16> {
    match port {
        Some(p) if (1..=65535).contains(&p) => Some(p as u16),
        Some(p) => {
            errs.push(
                format!("{key}.port"),
                format!("{p} is not a TCP port (1-65535)"),
            );
            None
        }
        None => {
            errs.push(format!("{key}.port"), "missing");
            None
        }
    }
}

/// A flow's `interval` and `timeout`, each defaulting to `[defaults]`.
/// The interval is at least 1s, and the timeout shorter than it so a
/// flow's probes never overlap.
fn schedule(
    raw: &RawFlow,
    key: &str,
    ctx: &FlowCtx,
    errs: &mut Collector,
) -> (Option<Duration>, Option<Duration>) {
    let interval = match &raw.interval {
        Some(s) => duration(s, &format!("{key}.interval"), errs),
        None => ctx.defaults.map(|d| d.interval),
    };
    let timeout = match &raw.timeout {
        Some(s) => duration(s, &format!("{key}.timeout"), errs),
        None => ctx.defaults.map(|d| d.timeout),
    };
    if let Some(i) = interval
        && i < Duration::from_secs(1)
    {
        errs.push(
            format!("{key}.interval"),
            format!(
                "{} is below the minimum of 1s",
                humantime::format_duration(i)
            ),
        );
    }
    if let (Some(i), Some(t)) = (interval, timeout) {
        if t.is_zero() {
            errs.push(format!("{key}.timeout"), "must be greater than zero");
        } else if t >= i {
            errs.push(
                format!("{key}.timeout"),
                format!(
                    "{} must be shorter than the interval ({}), or probes would overlap",
                    humantime::format_duration(t),
                    humantime::format_duration(i)
                ),
            );
        }
    }
    (interval, timeout)
}

fn required(v: &Option<String>, key: &str, field: &str, errs: &mut Collector) -> Option<String> {
    if v.is_none() {
        errs.push(format!("{key}.{field}"), "missing");
    }
    v.clone()
}

/// Parse a size: a number of bytes (`1048576`) or a number with a unit
/// (`"64MiB"`, `"10MB"`, `"512KiB"`, `"1GiB"`, `"200B"`).
pub(crate) fn size(value: &toml::Value, key: &str, errs: &mut Collector) -> Option<u64> {
    let bad = |errs: &mut Collector, what: &str| {
        errs.push(
            key,
            format!("{what}: write a byte count or a size like \"64MiB\", \"10MB\", \"512KiB\""),
        );
        None
    };
    match value {
        toml::Value::Integer(n) if *n > 0 => Some(*n as u64),
        toml::Value::Integer(n) => bad(errs, &format!("{n} is not a positive size")),
        toml::Value::String(s) => {
            let t = s.trim();
            let split = t
                .find(|c: char| !c.is_ascii_digit() && c != '.')
                .unwrap_or(t.len());
            let (num, unit) = t.split_at(split);
            let mult: u64 = match unit.trim() {
                "" | "B" => 1,
                "KB" | "kB" => 1000,
                "MB" => 1000 * 1000,
                "GB" => 1000 * 1000 * 1000,
                "KiB" => 1 << 10,
                "MiB" => 1 << 20,
                "GiB" => 1 << 30,
                _ => return bad(errs, &format!("{s:?} has an unknown unit")),
            };
            match num.parse::<f64>() {
                Ok(n) if n > 0.0 && (n * mult as f64) < 1e15 => Some((n * mult as f64) as u64),
                _ => bad(errs, &format!("{s:?} is not a positive size")),
            }
        }
        _ => bad(errs, "must be an integer or a string"),
    }
}

/// Typed reads of a check's settings table; every problem is collected
/// under `key.name`.
pub(crate) struct Keys<'a> {
    pub table: &'a toml::Table,
    pub key: String,
}

impl<'a> Keys<'a> {
    /// Reject keys outside `known`.
    pub(crate) fn only(&self, known: &[&str], errs: &mut Collector) {
        for k in self.table.keys() {
            if !known.contains(&k.as_str()) {
                errs.push(
                    format!("{}.{k}", self.key),
                    format!("unknown key; expected one of: {}", known.join(", ")),
                );
            }
        }
    }

    pub(crate) fn path(&self, name: &str) -> String {
        format!("{}.{name}", self.key)
    }

    pub(crate) fn string(&self, name: &str, errs: &mut Collector) -> Option<String> {
        match self.table.get(name)? {
            toml::Value::String(s) => Some(s.clone()),
            _ => {
                errs.push(self.path(name), "must be a string");
                None
            }
        }
    }

    pub(crate) fn strings(&self, name: &str, errs: &mut Collector) -> Option<Vec<String>> {
        let v = self.table.get(name)?;
        let out = v
            .as_array()
            .and_then(|a| a.iter().map(|x| x.as_str().map(String::from)).collect());
        if out.is_none() {
            errs.push(self.path(name), "must be a list of strings");
        }
        out
    }

    pub(crate) fn bool(&self, name: &str, errs: &mut Collector) -> Option<bool> {
        match self.table.get(name)? {
            toml::Value::Boolean(b) => Some(*b),
            _ => {
                errs.push(self.path(name), "must be true or false");
                None
            }
        }
    }

    pub(crate) fn uint(&self, name: &str, max: u64, errs: &mut Collector) -> Option<u64> {
        match self.table.get(name)? {
            toml::Value::Integer(n) if (0..=max as i64).contains(n) => Some(*n as u64),
            _ => {
                errs.push(
                    self.path(name),
                    format!("must be an integer from 0 to {max}"),
                );
                None
            }
        }
    }

    pub(crate) fn size(&self, name: &str, errs: &mut Collector) -> Option<u64> {
        size(self.table.get(name)?, &self.path(name), errs)
    }

    pub(crate) fn duration(&self, name: &str, errs: &mut Collector) -> Option<Duration> {
        let s = self.string(name, errs)?;
        duration(&s, &self.path(name), errs)
    }

    /// A text regex, compiled here with the type the check uses.
    pub(crate) fn regex(&self, name: &str, errs: &mut Collector) -> Option<Pattern> {
        let s = self.string(name, errs)?;
        self.compiled(name, &s, Pattern::compile(&s), errs)
    }

    /// A bytes regex (for bodies that need not be UTF-8).
    pub(crate) fn bytes_regex(&self, name: &str, errs: &mut Collector) -> Option<BytesPattern> {
        let s = self.string(name, errs)?;
        self.compiled(name, &s, BytesPattern::compile(&s), errs)
    }

    fn compiled<T>(
        &self,
        name: &str,
        text: &str,
        r: Result<T, String>,
        errs: &mut Collector,
    ) -> Option<T> {
        r.map_err(|e| {
            errs.push(
                self.path(name),
                format!("invalid regular expression {text:?}: {e}"),
            )
        })
        .ok()
    }
}

/// A check's table as written: `None` when absent, an error when not a table.
pub(crate) fn check_table(
    value: Option<&toml::Value>,
    key: &str,
    example: &str,
    errs: &mut Collector,
) -> Option<toml::Table> {
    match value {
        None => Some(toml::Table::new()),
        Some(toml::Value::Table(t)) => Some(t.clone()),
        Some(_) => {
            errs.push(key, format!("must be a table, e.g. {example}"));
            None
        }
    }
}

/// The relying-party settings of `[trust.NAME]`: every policy named by a
/// built-in name or a dotted OID, each unknown one an error of its own.
fn relying_party(
    t: &super::raw::RawTrust,
    key: &str,
    errs: &mut Collector,
) -> crate::analyze::pkix::RelyingParty {
    use crate::analyze::pkix::oids;
    let mut initial_policies = std::collections::BTreeSet::new();
    for (i, p) in t.initial_policies.iter().flatten().enumerate() {
        match oids::resolve(p) {
            Some(oid) => {
                initial_policies.insert(oid);
            }
            None => errs.push(
                format!("{key}.initial_policies[{i}]"),
                format!(
                    "{p:?} is neither a dotted OID nor a built-in policy name \
                     (e.g. \"id-fpki-common-hardware\", \"anyPolicy\")"
                ),
            ),
        }
    }
    crate::analyze::pkix::RelyingParty {
        initial_policies,
        require_explicit_policy: t.require_explicit_policy.unwrap_or(false),
        inhibit_policy_mapping: t.inhibit_policy_mapping.unwrap_or(false),
        inhibit_any_policy: t.inhibit_any_policy.unwrap_or(false),
    }
}

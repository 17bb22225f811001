//! `flowprobe config show`: the effective configuration as TOML that loads
//! back to the same configuration (catalog flows written out in full).

use toml::{Table, Value};

use super::types::*;

fn s(v: impl ToString) -> Value {
    Value::String(v.to_string())
}

fn dur(d: std::time::Duration) -> Value {
    s(humantime::format_duration(d))
}

fn map(m: &std::collections::BTreeMap<String, String>) -> Value {
    Value::Table(m.iter().map(|(k, v)| (k.clone(), s(v))).collect())
}

pub fn to_toml(c: &Config) -> String {
    let mut t = Table::new();
    t.insert(
        "vantages".into(),
        Value::Array(c.vantages.iter().map(s).collect()),
    );
    t.insert("catalog".into(), s("none"));
    t.insert("listen".into(), Value::Table(listen(c)));
    t.insert("log".into(), Value::Table(log(c)));
    t.insert("metrics".into(), Value::Table(metrics(c)));
    t.insert("defaults".into(), Value::Table(defaults(c)));
    t.insert(
        "targets".into(),
        Value::Table(c.targets.iter().map(|(k, h)| (k.clone(), s(h))).collect()),
    );
    let vantages = vantages(c);
    if !vantages.is_empty() {
        t.insert("vantage".into(), Value::Table(vantages));
    }
    let trust: Table = c
        .trust
        .iter()
        .map(|(name, spec)| (name.clone(), Value::Table(trust_store(spec))))
        .collect();
    if !trust.is_empty() {
        t.insert("trust".into(), Value::Table(trust));
    }
    if let Some(fleet) = super::fleet::to_toml(&c.fleet) {
        t.insert("fleet".into(), Value::Table(fleet));
    }
    let flows = c.flows.iter().map(|f| Value::Table(flow(f))).collect();
    t.insert("flow".into(), Value::Array(flows));
    toml::to_string_pretty(&t).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
}

/// `[listen]`.
fn listen(c: &Config) -> Table {
    let mut listen = Table::new();
    listen.insert("address".into(), s(c.listen));
    if let Some(w) = &c.web_config_file {
        listen.insert("web_config_file".into(), s(w.display()));
    }
    listen
}

/// `[log]`.
fn log(c: &Config) -> Table {
    let mut log = Table::new();
    log.insert("level".into(), s(&c.log.level));
    log.insert("format".into(), s(c.log.format.as_str()));
    log
}

/// `[metrics]`.
fn metrics(c: &Config) -> Table {
    let mut metrics = Table::new();
    metrics.insert(
        "per_flow_durations".into(),
        Value::Boolean(c.metrics.per_flow_durations),
    );
    metrics.insert(
        "all_certificates".into(),
        Value::Boolean(c.metrics.all_certificates),
    );
    metrics
}

/// `[defaults]`, with the process-wide `max_in_flight` and
/// `worker_threads`.
fn defaults(c: &Config) -> Table {
    let mut defaults = Table::new();
    defaults.insert("interval".into(), dur(c.defaults.interval));
    defaults.insert("timeout".into(), dur(c.defaults.timeout));
    defaults.insert("ip_family".into(), s(c.defaults.ip_family.as_str()));
    defaults.insert("ssh_pace".into(), dur(c.defaults.ssh_pace));
    if let Some(max) = c.max_in_flight {
        defaults.insert("max_in_flight".into(), Value::Integer(max as i64));
    }
    defaults.insert(
        "worker_threads".into(),
        Value::Integer(c.worker_threads as i64),
    );
    defaults
}

/// The `[vantage.NAME]` tables: each defined vantage, and each vantage
/// with its own `ssh_pace`.
fn vantages(c: &Config) -> Table {
    let mut vantages = Table::new();
    for (name, v) in &c.vantage_defs {
        let mut vt = Table::new();
        if let Some(a) = v.source_address {
            vt.insert("source_address".into(), s(a));
        }
        if let Some(i) = &v.interface {
            vt.insert("interface".into(), s(i));
        }
        if !v.dns_servers.is_empty() {
            vt.insert(
                "dns_servers".into(),
                Value::Array(v.dns_servers.iter().map(s).collect()),
            );
        }
        if !v.labels.is_empty() {
            vt.insert("labels".into(), map(&v.labels));
        }
        vantages.insert(name.clone(), Value::Table(vt));
    }
    for (name, pace) in &c.ssh_pace_overrides {
        if let Value::Table(vt) = vantages
            .entry(name.clone())
            .or_insert_with(|| Value::Table(Table::new()))
        {
            vt.insert("ssh_pace".into(), dur(*pace));
        }
    }
    vantages
}

/// One `[trust.NAME]` table.
fn trust_store(spec: &TrustSpec) -> Table {
    let mut tt = Table::new();
    if !spec.anchors.is_empty() {
        tt.insert(
            "anchors".into(),
            Value::Array(spec.anchors.iter().map(|p| s(p.display())).collect()),
        );
    }
    let rp = &spec.relying_party;
    if !rp.initial_policies.is_empty() {
        tt.insert(
            "initial_policies".into(),
            Value::Array(rp.initial_policies.iter().map(s).collect()),
        );
    }
    for (key, on) in [
        ("require_explicit_policy", rp.require_explicit_policy),
        ("inhibit_policy_mapping", rp.inhibit_policy_mapping),
        ("inhibit_any_policy", rp.inhibit_any_policy),
    ] {
        if on {
            tt.insert(key.into(), Value::Boolean(true));
        }
    }
    tt
}

fn flow(f: &Flow) -> Table {
    let mut t = Table::new();
    t.insert("name".into(), s(&f.name));
    t.insert("from".into(), s(&f.from));
    t.insert("to".into(), s(&f.to));
    t.insert("port".into(), Value::Integer(i64::from(f.port)));
    t.insert("check".into(), s(f.check.kind().as_str()));
    t.insert("expect".into(), s(f.expect.as_str()));
    t.insert("interval".into(), dur(f.interval));
    t.insert("timeout".into(), dur(f.timeout));
    t.insert("severity".into(), s(f.severity.as_str()));
    t.insert("ip_family".into(), s(f.ip_family.as_str()));
    if !f.description.is_empty() {
        t.insert("description".into(), s(&f.description));
    }
    if !f.labels.is_empty() {
        t.insert("labels".into(), map(&f.labels));
    }
    if let Some((key, table)) = f.check.to_toml() {
        t.insert(key.into(), Value::Table(table));
    }
    t
}

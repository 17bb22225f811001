//! `[defaults] ssh_pace` and `[vantage.NAME] ssh_pace`: how often a vantage
//! may start a pre-authentication SSH connection to one server address, and
//! the `config check` warnings of a schedule that cannot keep to it.
//!
//! Why: OpenSSH 9.8 and later penalise every connection that ends before
//! authenticating (`PerSourcePenalties`, on by default: `noauth` adds 1 s
//! per connection to its source address's penalty, which decays by 1 s per
//! second; once more than 15 s are outstanding the address is refused, for
//! up to 10 minutes). An SSH probe is such a connection. One start per
//! second keeps the outstanding penalty flat, so `1s` is the default; `0s`
//! turns pacing off (for servers that exempt the vantage through
//! `PerSourcePenaltyExemptList` or set `PerSourcePenalties noauth:0`).
//! The pacer itself is `kinds::ssh::pace`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::error::Collector;
use super::validate::duration;
use super::warning::ConfigWarning;
use super::{Config, Expect, Flow, FlowDefaults, Host};

/// The pace when none is configured: the 1 s of penalty an OpenSSH 9.8+
/// server adds per unauthenticated connection decays in 1 s.
pub(crate) const DEFAULT_SSH_PACE: Duration = Duration::from_secs(1);

/// The longest pace accepted. A server that needs more (a `noauth` penalty
/// above a minute) is better exempted than probed once an hour.
pub(crate) const MAX_SSH_PACE: Duration = Duration::from_secs(60);

/// A pace as written (`"1s"`, `"500ms"`, `"0s"`), within 0..=[`MAX_SSH_PACE`].
pub(crate) fn parse(text: &str, key: &str, errs: &mut Collector) -> Option<Duration> {
    let pace = duration(text, key, errs)?;
    if pace > MAX_SSH_PACE {
        errs.push(
            key,
            format!(
                "{} is above the maximum of {}; \"0s\" turns pacing off",
                humantime::format_duration(pace),
                humantime::format_duration(MAX_SSH_PACE)
            ),
        );
        return None;
    }
    Some(pace)
}

/// The pace of `vantage`: its override, else the defaults' (else the
/// built-in default, while the defaults are invalid and being reported).
pub(crate) fn resolve(
    defaults: Option<&FlowDefaults>,
    overrides: &BTreeMap<String, Duration>,
    vantage: &str,
) -> Duration {
    overrides
        .get(vantage)
        .copied()
        .or(defaults.map(|d| d.ssh_pace))
        .unwrap_or(DEFAULT_SSH_PACE)
}

/// The key a vantage's pace comes from, for warnings.
fn pace_key(c: &Config, vantage: &str) -> String {
    if c.ssh_pace_overrides.contains_key(vantage) {
        format!("vantage.{vantage}.ssh_pace")
    } else {
        "defaults.ssh_pace".to_string()
    }
}

/// One (vantage, server) group of SSH flows, as the pacer will see them.
struct Group<'a> {
    vantage: &'a str,
    host: &'a Host,
    flows: Vec<&'a Flow>,
}

/// The SSH flows that connect (expected open), grouped by vantage and
/// target host. Hosts are compared as written: two names of one address
/// share the server's penalty but not a group here (nothing is resolved
/// while checking a configuration).
fn groups(c: &Config) -> Vec<Group<'_>> {
    let mut by: BTreeMap<(&str, String), Group<'_>> = BTreeMap::new();
    for f in &c.flows {
        if f.check.get::<crate::kinds::ssh::Ssh>().is_none() || f.expect != Expect::Open {
            continue;
        }
        by.entry((f.from.as_str(), f.host.to_string()))
            .or_insert_with(|| Group {
                vantage: &f.from,
                host: &f.host,
                flows: Vec::new(),
            })
            .flows
            .push(f);
    }
    by.into_values().collect()
}

/// What the pace makes of each group's schedule:
///
/// - the flows' intervals ask for more connection starts per second than
///   one per pace: probes queue behind each other for ever, so they start
///   late and some run out of their timeout;
/// - started together (a one-shot `flowprobe check`, or scheduled starts
///   that fall together), the last would wait past the part of its
///   timeout the pace may use ([`usable_wait`]) and report `resource`.
///
/// Both are warnings: the probes still run, and the operator may accept it.
pub fn warnings(c: &Config) -> Vec<ConfigWarning> {
    let mut out = Vec::new();
    for g in groups(c) {
        let pace = c.ssh_pace(g.vantage);
        if pace.is_zero() {
            continue;
        }
        let key = pace_key(c, g.vantage);
        let names: Vec<&str> = g.flows.iter().map(|f| f.name.as_str()).collect();
        let per_second: f64 = g
            .flows
            .iter()
            .map(|f| 1.0 / f.interval.as_secs_f64().max(f64::MIN_POSITIVE))
            .sum();
        let allowed = 1.0 / pace.as_secs_f64();
        // A little slack for float sums of intervals that divide evenly.
        if per_second > allowed * (1.0 + 1e-9) {
            out.push(ConfigWarning::new(
                &c.origin,
                &key,
                format!(
                    "the SSH flows from vantage {} to {} ({}) start {per_second:.2} connections a second; \
                     a pace of one per {} allows {allowed:.2}: their probes will queue, start late and \
                     some will run out of their timeout (reason resource). Lengthen their intervals, or, \
                     if the server exempts this vantage (PerSourcePenaltyExemptList) or sets \
                     PerSourcePenalties noauth:0, lower ssh_pace or set it to \"0s\"",
                    g.vantage,
                    g.host,
                    names.join(", "),
                    humantime::format_duration(pace),
                ),
            ));
        }
        let last_wait = pace * u32::try_from(g.flows.len().saturating_sub(1)).unwrap_or(u32::MAX);
        let shortest = g.flows.iter().min_by_key(|f| f.timeout);
        if let Some(f) = shortest
            && last_wait > usable_wait(f.timeout)
        {
            out.push(ConfigWarning::new(
                &c.origin,
                &key,
                format!(
                    "the {} SSH flows from vantage {} to {} ({}) started together (a one-shot \
                     `flowprobe check`, or scheduled starts that fall together) are paced one per {}: \
                     the last would wait {}, more than the {} timeout of {} leaves, and report resource \
                     (not probed)",
                    g.flows.len(),
                    g.vantage,
                    g.host,
                    names.join(", "),
                    humantime::format_duration(pace),
                    humantime::format_duration(last_wait),
                    humantime::format_duration(f.timeout),
                    f.name,
                ),
            ));
        }
    }
    out
}

/// How long a probe with `timeout` may wait for the pace: the rest of the
/// budget is kept for the connection and the exchange. Shared with the
/// pacer's caller so the warning and the probe agree.
pub(crate) fn usable_wait(timeout: Duration) -> Duration {
    timeout.saturating_sub(reserve(timeout))
}

/// The part of a probe's timeout the pace never takes: a quarter, at most
/// one second. A connection started with less left would fail as
/// `filtered` or `timeout` for want of time, blaming the network for what
/// the pace did.
pub(crate) fn reserve(timeout: Duration) -> Duration {
    (timeout / 4).min(Duration::from_secs(1))
}

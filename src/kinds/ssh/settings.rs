//! `ssh = { policy, on_violation, host_key, software, on_pin_mismatch }` on a
//! flow, and the `[ssh_policy.NAME]` tables beside the built-in policies
//! (`stig`, one per STIG release, `fips`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::analyze::pattern::Pattern;
use crate::analyze::ssh_policy::{BUILTIN_POLICIES, SshPolicy};
use crate::config::Collector;
use crate::config::validate::{FlowCtx, section};
use crate::outcome::Action;

/// Every policy a flow may name, built-in and configured.
pub type SshPolicies = BTreeMap<String, SshPolicy>;

#[derive(Debug, Clone, PartialEq)]
pub struct SshSpec {
    pub policy: SshPolicy,
    /// What a policy violation does to the flow (`fail` or `warn`).
    pub on_violation: Action,
    /// Host-key algorithms the server must offer (a pin).
    pub host_key: Vec<String>,
    /// The identification's software (and comments) must match this.
    pub software: Option<Pattern>,
    pub on_pin_mismatch: Action,
    /// The flow's vantage's `ssh_pace` (`config::ssh_pace`), not a key of
    /// this table: carried here so that a reload that changes the pace
    /// counts as a change of exactly the SSH flows it applies to.
    pub pace: Duration,
    pub table: toml::Table,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSsh {
    policy: Option<String>,
    on_violation: Option<Action>,
    host_key: Option<Vec<String>>,
    software: Option<String>,
    on_pin_mismatch: Option<Action>,
}

/// The built-in policies plus `[ssh_policy.NAME]` tables; a configured
/// policy may not reuse a built-in name.
pub(crate) fn policies_from(value: Option<toml::Value>, errs: &mut Collector) -> SshPolicies {
    let mut out: SshPolicies = BUILTIN_POLICIES
        .iter()
        .filter_map(|n| SshPolicy::builtin(n).map(|p| (n.to_string(), p)))
        .collect();
    let Some(value) = value else {
        return out;
    };
    let Some(table) = value.as_table() else {
        errs.push(
            "ssh_policy",
            "must be a table of policies: [ssh_policy.NAME]",
        );
        return out;
    };
    for (name, t) in table {
        let key = format!("ssh_policy.{name}");
        if BUILTIN_POLICIES.contains(&name.as_str()) {
            errs.push(
                &key,
                format!("{name:?} is a built-in policy; choose another name"),
            );
            continue;
        }
        let Some(p) = section::<Option<SshPolicy>>(Some(t.clone()), &key, errs).flatten() else {
            continue;
        };
        let p = p.named(name.clone());
        let problems = p.validate();
        for problem in &problems {
            errs.push(&key, problem.clone());
        }
        if problems.is_empty() {
            out.insert(name.clone(), p);
        }
    }
    out
}

impl SshSpec {
    /// `from` is the flow's vantage (absent when the flow lacks one, which
    /// is reported elsewhere), whose pace the spec carries.
    pub(crate) fn validate(
        value: Option<&toml::Value>,
        from: Option<&str>,
        key: &str,
        ctx: &FlowCtx,
        errs: &mut Collector,
    ) -> Option<SshSpec> {
        let key = format!("{key}.ssh");
        let table = match value {
            None => toml::Table::new(),
            Some(toml::Value::Table(t)) => t.clone(),
            Some(_) => {
                errs.push(&key, "must be a table, e.g. ssh = { policy = \"stig\" }");
                return None;
            }
        };
        let raw: RawSsh = section(Some(toml::Value::Table(table.clone())), &key, errs)?;
        let name = raw.policy.unwrap_or_else(|| "stig".to_string());
        let policy = match ctx.ssh_policies.get(&name) {
            Some(p) => Some(p.clone()),
            None => {
                errs.push(
                    format!("{key}.policy"),
                    format!(
                        "unknown policy {name:?}; known: {}",
                        ctx.ssh_policies
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                None
            }
        };
        let software = match raw.software {
            None => Some(None),
            Some(s) => match Pattern::compile(&s) {
                Ok(p) => Some(Some(p)),
                Err(e) => {
                    errs.push(
                        format!("{key}.software"),
                        format!("invalid regular expression {s:?}: {e}"),
                    );
                    None
                }
            },
        };
        Some(SshSpec {
            policy: policy?,
            on_violation: raw.on_violation.unwrap_or(Action::Fail),
            host_key: raw.host_key.unwrap_or_default(),
            software: software?,
            on_pin_mismatch: raw.on_pin_mismatch.unwrap_or(Action::Warn),
            pace: crate::config::ssh_pace::resolve(
                ctx.defaults,
                ctx.ssh_pace_overrides,
                from.unwrap_or_default(),
            ),
            table,
        })
    }
}

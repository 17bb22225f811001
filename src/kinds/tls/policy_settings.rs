//! The `[tls_policy.NAME]` tables beside the built-in TLS protocol
//! policies (`nist-800-52r2`, alias `stig`, `disa-tomcat-9`,
//! `disa-apache-2.4`, `apple-ats`); a flow names one or several with
//! `tls = { protocol_policy = "..." }` or `[...]`. The TOML form is in
//! `analyze::tls_policy`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::analyze::tls_policy::{BUILTIN_POLICIES, Family, SuiteSet, TlsPolicy};
use crate::config::Collector;
use crate::config::validate::section;
use crate::outcome::Action;
use crate::wire::tls::Version;

/// Every TLS protocol policy a flow may name, built-in and configured.
pub type TlsPolicies = BTreeMap<String, TlsPolicy>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTlsPolicy {
    release: Option<String>,
    versions: Vec<String>,
    #[serde(default)]
    required_versions: Vec<String>,
    #[serde(default)]
    recommended_versions: Vec<String>,
    #[serde(default)]
    forbidden: Vec<String>,
    #[serde(default)]
    warn: Vec<String>,
    #[serde(default)]
    require_ecdhe_aead: bool,
    #[serde(default)]
    discouraged_versions: Vec<String>,
    #[serde(default)]
    suites: Vec<String>,
    #[serde(default)]
    require_encrypt_then_mac: bool,
    on_violation: Option<Action>,
}

fn versions(names: &[String], key: &str, errs: &mut Collector) -> Vec<Version> {
    let mut out = Vec::new();
    for (i, n) in names.iter().enumerate() {
        match Version::from_config(n) {
            Some(v) => out.push(v),
            None => errs.push(
                format!("{key}[{i}]"),
                format!("{n:?}: expected one of \"ssl3\", \"1.0\", \"1.1\", \"1.2\", \"1.3\""),
            ),
        }
    }
    out
}

fn families(names: &[String], key: &str, errs: &mut Collector) -> Vec<Family> {
    let mut out = Vec::new();
    for (i, n) in names.iter().enumerate() {
        match Family::parse(n) {
            Some(f) => out.push(f),
            None => errs.push(
                format!("{key}[{i}]"),
                format!(
                    "{n:?}: expected one of {}",
                    Family::NAMES
                        .iter()
                        .map(|n| format!("{n:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        }
    }
    out
}

fn suite_sets(names: &[String], key: &str, errs: &mut Collector) -> Vec<SuiteSet> {
    let mut out = Vec::new();
    for (i, n) in names.iter().enumerate() {
        match SuiteSet::parse(n) {
            Some(s) => out.push(s),
            None => errs.push(
                format!("{key}[{i}]"),
                format!(
                    "{n:?}: expected one of {}",
                    SuiteSet::NAMES
                        .iter()
                        .map(|n| format!("{n:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        }
    }
    out
}

/// The built-in policies plus `[tls_policy.NAME]` tables; a configured
/// policy may not reuse a built-in name.
pub(crate) fn policies_from(value: Option<toml::Value>, errs: &mut Collector) -> TlsPolicies {
    let mut out: TlsPolicies = BUILTIN_POLICIES
        .iter()
        .filter_map(|n| TlsPolicy::builtin(n).map(|p| (n.to_string(), p)))
        .collect();
    let Some(value) = value else {
        return out;
    };
    let Some(table) = value.as_table() else {
        errs.push(
            "tls_policy",
            "must be a table of policies: [tls_policy.NAME]",
        );
        return out;
    };
    for (name, t) in table {
        let key = format!("tls_policy.{name}");
        if BUILTIN_POLICIES.contains(&name.as_str()) {
            errs.push(
                &key,
                format!("{name:?} is a built-in policy; choose another name"),
            );
            continue;
        }
        let Some(raw) = section::<Option<RawTlsPolicy>>(Some(t.clone()), &key, errs).flatten()
        else {
            continue;
        };
        let before = errs.errors.len();
        let policy = TlsPolicy {
            name: name.clone(),
            release: raw.release.unwrap_or_default(),
            versions: versions(&raw.versions, &format!("{key}.versions"), errs),
            required_versions: versions(
                &raw.required_versions,
                &format!("{key}.required_versions"),
                errs,
            ),
            recommended_versions: versions(
                &raw.recommended_versions,
                &format!("{key}.recommended_versions"),
                errs,
            ),
            discouraged_versions: versions(
                &raw.discouraged_versions,
                &format!("{key}.discouraged_versions"),
                errs,
            ),
            forbidden: families(&raw.forbidden, &format!("{key}.forbidden"), errs),
            warn: families(&raw.warn, &format!("{key}.warn"), errs),
            require_ecdhe_aead: raw.require_ecdhe_aead,
            suites: suite_sets(&raw.suites, &format!("{key}.suites"), errs),
            require_etm: raw.require_encrypt_then_mac,
            on_violation: raw.on_violation.unwrap_or(Action::Fail),
            ..TlsPolicy::empty(name)
        };
        if errs.errors.len() != before {
            continue;
        }
        let problems = policy.validate();
        for problem in &problems {
            errs.push(&key, problem.clone());
        }
        if problems.is_empty() {
            out.insert(name.clone(), policy);
        }
    }
    out
}

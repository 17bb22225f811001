//! The configuration as written: loosely typed so that validation can name
//! every problem, instead of serde stopping at the first.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawListen {
    pub address: Option<String>,
    pub web_config_file: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLog {
    pub level: Option<String>,
    pub format: Option<String>,
}

/// `[metrics]`: what the per-flow series include (docs/metrics.md).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetrics {
    pub per_flow_durations: Option<bool>,
    pub all_certificates: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDefaults {
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub ip_family: Option<String>,
    pub max_in_flight: Option<i64>,
    pub worker_threads: Option<i64>,
    pub ssh_pace: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVantage {
    pub source_address: Option<String>,
    pub interface: Option<String>,
    pub dns_servers: Option<Vec<String>>,
    pub labels: Option<BTreeMap<String, String>>,
    pub ssh_pace: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrust {
    pub anchors: Option<Vec<String>>,
    /// RFC 5280 user-initial-policy-set: built-in names or OIDs.
    pub initial_policies: Option<Vec<String>>,
    pub require_explicit_policy: Option<bool>,
    pub inhibit_policy_mapping: Option<bool>,
    pub inhibit_any_policy: Option<bool>,
}

/// One `[[flow]]` entry after the catalog flow of the same name (if any) was
/// merged under it. The check kinds' tables (`tls = {...}`) are taken out
/// before serde reads the rest ([`RawFlow::take_tables`]) and stay untyped
/// here: each kind validates its own.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlow {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub port: Option<i64>,
    pub check: Option<String>,
    pub expect: Option<String>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub severity: Option<String>,
    pub ip_family: Option<String>,
    pub description: Option<String>,
    pub labels: Option<BTreeMap<String, String>>,
    /// The kinds' tables by kind name.
    #[serde(skip)]
    pub tables: BTreeMap<String, toml::Value>,
}

impl RawFlow {
    /// Take the tables named after a check kind out of a flow's table.
    pub(crate) fn take_tables(value: &mut toml::Value) -> BTreeMap<String, toml::Value> {
        let mut out = BTreeMap::new();
        if let toml::Value::Table(t) = value {
            for name in crate::kinds::KindId::NAMES {
                if let Some(v) = t.remove(*name) {
                    out.insert((*name).to_string(), v);
                }
            }
        }
        out
    }
}

//! The validated configuration: types that cannot hold an invalid value.
//! Everything downstream (scheduler, probes, metrics) takes these.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::KindSpec;
use crate::text::named_enum;

/// The whole effective configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where it came from: a file path or `embedded default`.
    pub origin: String,
    /// The vantages this instance probes as.
    pub vantages: Vec<String>,
    pub catalog: String,
    pub listen: SocketAddr,
    /// `listen.web_config_file` (`--web.config.file`): TLS and basic auth
    /// of the endpoints, in the exporter-toolkit format.
    pub web_config_file: Option<PathBuf>,
    pub log: LogSettings,
    /// `[metrics]`: what the per-flow series include.
    pub metrics: MetricsSettings,
    pub defaults: FlowDefaults,
    /// `defaults.max_in_flight` when set; otherwise the probes-in-flight
    /// limit follows from the file-descriptor budget (`net::fds`).
    pub max_in_flight: Option<usize>,
    /// Runtime worker threads; 1 runs every probe on one thread.
    pub worker_threads: usize,
    pub targets: BTreeMap<String, Host>,
    pub vantage_defs: BTreeMap<String, Vantage>,
    pub trust: BTreeMap<String, TrustSpec>,
    /// Every enabled flow, whichever vantage it runs from.
    pub flows: Vec<Flow>,
    /// `[fleet]`: the instances `check --fleet` asks, and how.
    pub fleet: super::fleet::Fleet,
    /// `[vantage.NAME] ssh_pace`: vantages whose SSH pace is not
    /// `defaults.ssh_pace` ([`Config::ssh_pace`]).
    pub ssh_pace_overrides: BTreeMap<String, Duration>,
}

impl Config {
    /// The flows this instance runs: those from a selected vantage.
    pub fn active_flows(&self) -> impl Iterator<Item = &Flow> {
        self.flows
            .iter()
            .filter(|f| self.vantages.contains(&f.from))
    }

    /// The SSH pace of a vantage: its `ssh_pace`, else `defaults.ssh_pace`
    /// (see `config::ssh_pace`).
    pub fn ssh_pace(&self, vantage: &str) -> Duration {
        super::ssh_pace::resolve(Some(&self.defaults), &self.ssh_pace_overrides, vantage)
    }

    /// The settings of a vantage; a vantage without a table has none pinned.
    pub fn vantage(&self, name: &str) -> Vantage {
        self.vantage_defs
            .get(name)
            .cloned()
            .unwrap_or_else(|| Vantage::unpinned(name))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    pub level: String,
    pub format: LogFormat,
}

/// `[metrics]`: series a very large instance can do without
/// (docs/metrics.md, "Very large instances").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsSettings {
    /// `metrics.per_flow_durations`: `flowprobe_probe_duration_seconds`
    /// per flow and phase.
    pub per_flow_durations: bool,
    /// `metrics.all_certificates`: per-certificate series for every sent
    /// certificate; false keeps them for the leaf only while a trust store
    /// validates the chain (its path is summarised per store).
    pub all_certificates: bool,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            per_flow_durations: true,
            all_certificates: true,
        }
    }
}

named_enum! {
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text = "text",
    Json = "json",
}
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowDefaults {
    pub interval: Duration,
    pub timeout: Duration,
    pub ip_family: IpFamily,
    /// `defaults.ssh_pace`: at most one pre-authentication SSH connection
    /// start per this long from a vantage to one server address (zero: no
    /// pacing); see `config::ssh_pace`.
    pub ssh_pace: Duration,
}

/// A place probes run from. Source address, interface and DNS servers are
/// optional pins for multi-homed hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vantage {
    pub name: String,
    pub source_address: Option<IpAddr>,
    pub interface: Option<String>,
    pub dns_servers: Vec<SocketAddr>,
    pub labels: BTreeMap<String, String>,
}

impl Vantage {
    pub fn unpinned(name: &str) -> Self {
        Vantage {
            name: name.to_string(),
            source_address: None,
            interface: None,
            dns_servers: Vec::new(),
            labels: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustSpec {
    /// PEM files or directories; empty for a built-in store given only
    /// relying-party settings.
    pub anchors: Vec<PathBuf>,
    /// How a federal relying party judges paths to these anchors.
    #[serde(skip)]
    pub relying_party: crate::analyze::pkix::RelyingParty,
}

/// A target host: a DNS name, or an IP literal that skips DNS.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub enum Host {
    Name(String),
    Ip(IpAddr),
}

impl Host {
    pub(crate) fn parse(s: &str) -> Option<Host> {
        let trimmed = s.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = trimmed.parse::<IpAddr>() {
            return Some(Host::Ip(ip));
        }
        let valid = !s.is_empty()
            && s.len() <= 253
            && s.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        valid.then(|| Host::Name(s.to_ascii_lowercase()))
    }
}

impl Host {
    /// The host as a URL or `host:port` writes it: an IPv6 address in
    /// brackets (RFC 3986 3.2.2).
    pub(crate) fn authority(&self) -> String {
        match self {
            Host::Ip(IpAddr::V6(ip)) => format!("[{ip}]"),
            h => h.to_string(),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

impl From<Host> for String {
    fn from(h: Host) -> String {
        h.to_string()
    }
}

named_enum! {
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expect {
    Open = "open",
    Closed = "closed",
}
}

named_enum! {
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    Critical = "critical",
    Warning = "warning",
    Info = "info",
}
}

named_enum! {
/// Which address families a flow probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpFamily {
    Ipv4 = "ipv4",
    Ipv6 = "ipv6",
    /// Probe one address of each family and report each; both must pass.
    Both = "both",
    PreferIpv4 = "prefer-ipv4",
    PreferIpv6 = "prefer-ipv6",
}
}

/// One flow: `from` vantage -> `to` target : `port`, checked by `check`.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub name: String,
    pub from: String,
    pub to: String,
    pub host: Host,
    pub port: u16,
    pub check: KindSpec,
    pub expect: Expect,
    pub interval: Duration,
    pub timeout: Duration,
    pub severity: Severity,
    pub ip_family: IpFamily,
    pub description: String,
    pub labels: BTreeMap<String, String>,
}

impl Flow {
    /// `host:port` as people write it (IPv6 in brackets).
    pub(crate) fn endpoint(&self) -> String {
        format!("{}:{}", self.host.authority(), self.port)
    }
}

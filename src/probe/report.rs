//! What a probe found: the verdict, its phases and the facts behind it.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::cause::Cause;
use crate::kinds::KindFacts;
use crate::outcome::{Finding, Reason};
use crate::text::named_enum;

named_enum! {
/// Phases of a probe, in the order they happen. Label values of
/// `flowprobe_probe_duration_seconds{phase}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    Dns = "dns",
    Connect = "connect",
    Tls = "tls",
    Ssh = "ssh",
    Http = "http",
    Total = "total",
}
}

impl Phase {
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Time spent per phase; a phase that did not run is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Phases(pub [Option<Duration>; Phase::ALL.len()]);

impl Phases {
    pub fn get(&self, p: Phase) -> Option<Duration> {
        self.0[p.index()]
    }

    pub fn set(&mut self, p: Phase, d: Duration) {
        self.0[p.index()] = Some(d);
    }

    /// Add to a phase that can run more than once (DNS and connect of each
    /// redirect hop, one HTTP exchange per CRL).
    pub(crate) fn add(&mut self, p: Phase, d: Duration) {
        let cur = self.0[p.index()].unwrap_or_default();
        self.0[p.index()] = Some(cur + d);
    }
}

impl Serialize for Phases {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for p in Phase::ALL {
            if let Some(d) = self.get(p) {
                m.serialize_entry(p.as_str(), &d.as_secs_f64())?;
            }
        }
        m.end()
    }
}

/// One address probed. `ip_family = "both"` makes two.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub address: SocketAddr,
    pub reason: Reason,
    pub detail: String,
    /// The typed error behind a failure's reason and detail, when one is
    /// known (see [`Cause`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Box<Cause>>,
    pub phases: Phases,
    pub findings: Vec<Finding>,
    /// The kind's facts; `details` in JSON (beside `detail`, the sentence).
    #[serde(rename = "details", skip_serializing_if = "KindFacts::is_none")]
    pub facts: KindFacts,
}

/// The result of one probe of one flow.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    /// The flow's verdict: the first failing attempt's reason, or ok.
    pub reason: Reason,
    /// Whether the reason meets the flow's expectation.
    pub up: bool,
    /// For people: what happened, with the facts.
    pub detail: String,
    /// The typed error behind `reason`: the speaking attempt's, or the
    /// flow's own DNS lookup's, which fails before any attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Box<Cause>>,
    #[serde(serialize_with = "unix_secs")]
    pub started: SystemTime,
    pub phases: Phases,
    pub attempts: Vec<Attempt>,
}

impl ProbeReport {
    /// Findings of every attempt.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.attempts.iter().flat_map(|a| a.findings.iter())
    }
}

fn unix_secs<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(crate::text::unix_secs_f64(*t))
}

//! The Prometheus series (design.md section 4). One [`Metrics`] is created
//! at start-up and shared; each flow gets a [`FlowMetrics`] with its label
//! sets resolved once, so recording a probe hashes no labels.
//!
//! `flowprobe_flow_reason` carries one series per flow, for the current
//! reason (value 1), and `pending` before the first probe. A full state set
//! (one series per possible reason) would be 35 series per flow, 350,000 at
//! 10,000 flows; queries are the same either way (`flowprobe_flow_reason == 1`).

mod dynamic;
mod kinds;

use std::sync::Mutex;

pub use dynamic::DynamicSet;

use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

use crate::config::Flow;
use crate::outcome::{Level, Reason};
use crate::probe::{Phase, ProbeReport};

/// Label value of `flowprobe_flow_reason` before a flow's first probe.
pub const PENDING: &str = "pending";

pub struct Metrics {
    pub registry: Registry,
    flow_info: GaugeVec,
    flow_up: GaugeVec,
    flow_reason: GaugeVec,
    flow_finding: GaugeVec,
    flow_interval: GaugeVec,
    flow_timeout: GaugeVec,
    probes_total: IntCounterVec,
    duration: GaugeVec,
    last_ts: GaugeVec,
    consecutive: GaugeVec,
    tls_verified: GaugeVec,
    tls_order_ok: GaugeVec,
    tls_certificates: GaugeVec,
    ssh_violations: GaugeVec,
    /// Vectors of [`DynamicSet`] series, indexed by the `kinds::DYN_*` constants.
    dynamic: Vec<GaugeVec>,
    pub reload_ok: IntGauge,
    pub reload_ts: Gauge,
    pub lateness: Histogram,
    pub in_flight: IntGauge,
    pub flows: IntGauge,
    pub missed: IntCounter,
}

fn gauge_vec(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<GaugeVec> {
    let g = GaugeVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

const VF: &[&str] = &["vantage", "flow"];

impl Metrics {
    pub fn new() -> prometheus::Result<Self> {
        let r = Registry::new();
        let flow_info = gauge_vec(
            &r,
            "flowprobe_flow_info",
            "A configured flow: its definition as labels (always 1).",
            &[
                "vantage", "flow", "from", "to", "target", "host", "port", "check", "expect",
                "severity",
            ],
        )?;
        let flow_up = gauge_vec(
            &r,
            "flowprobe_flow_up",
            "1 when the flow's last outcome met its expectation.",
            VF,
        )?;
        let flow_reason = gauge_vec(
            &r,
            "flowprobe_flow_reason",
            "The reason of the flow's last outcome (1); reason=\"pending\" before its first probe.",
            &["vantage", "flow", "reason"],
        )?;
        let flow_finding = gauge_vec(
            &r,
            "flowprobe_flow_finding",
            "A finding of the flow's last probe (1), with its level fail|warn|info.",
            &["vantage", "flow", "reason", "level"],
        )?;
        let flow_interval = gauge_vec(
            &r,
            "flowprobe_flow_interval_seconds",
            "The flow's probe interval.",
            VF,
        )?;
        let flow_timeout = gauge_vec(
            &r,
            "flowprobe_flow_timeout_seconds",
            "The flow's probe timeout.",
            VF,
        )?;
        let probes_total = IntCounterVec::new(
            Opts::new(
                "flowprobe_probes_total",
                "Probes run, by result (pass: met the expectation).",
            ),
            &["vantage", "flow", "result"],
        )?;
        r.register(Box::new(probes_total.clone()))?;
        let duration = gauge_vec(
            &r,
            "flowprobe_probe_duration_seconds",
            "Time spent in each phase of the flow's last probe.",
            &["vantage", "flow", "phase"],
        )?;
        let last_ts = gauge_vec(
            &r,
            "flowprobe_probe_last_timestamp_seconds",
            "When the flow's last probe started (Unix time).",
            VF,
        )?;
        let consecutive = gauge_vec(
            &r,
            "flowprobe_flow_consecutive_failures",
            "Probes in a row that did not meet the expectation (0 while up).",
            VF,
        )?;
        let tls_verified = gauge_vec(
            &r,
            "flowprobe_tls_chain_verified",
            "1 when the certificates the server sent build a path to the trust store's anchor on their own.",
            &["vantage", "flow", "anchor"],
        )?;
        let tls_order_ok = gauge_vec(
            &r,
            "flowprobe_tls_chain_order_ok",
            "1 when each sent certificate certifies the one before it (RFC 5246).",
            VF,
        )?;
        let tls_certificates = gauge_vec(
            &r,
            "flowprobe_tls_chain_certificates",
            "Certificates the server sent in the last handshake (0 when none arrived).",
            VF,
        )?;
        let ssh_violations = gauge_vec(
            &r,
            "flowprobe_ssh_policy_violations",
            "Offered algorithms outside the flow's SSH policy (and required ones missing), by kind.",
            &["vantage", "flow", "kind"],
        )?;
        let dynamic = kinds::register(&r)?;
        let build = GaugeVec::new(
            Opts::new("flowprobe_build_info", "flowprobe's version (always 1)."),
            &["version"],
        )?;
        r.register(Box::new(build.clone()))?;
        build
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1.0);
        let reload_ok = IntGauge::new(
            "flowprobe_config_last_reload_successful",
            "1 when the last configuration load or reload succeeded.",
        )?;
        r.register(Box::new(reload_ok.clone()))?;
        let reload_ts = Gauge::new(
            "flowprobe_config_last_reload_success_timestamp_seconds",
            "When the configuration was last loaded successfully (Unix time).",
        )?;
        r.register(Box::new(reload_ts.clone()))?;
        let lateness = Histogram::with_opts(
            HistogramOpts::new(
                "flowprobe_scheduler_lateness_seconds",
                "How late probes start compared with their planned time.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
        )?;
        r.register(Box::new(lateness.clone()))?;
        let in_flight = IntGauge::new("flowprobe_probes_in_flight", "Probes running now.")?;
        r.register(Box::new(in_flight.clone()))?;
        let flows = IntGauge::new("flowprobe_flows", "Flows scheduled by this instance.")?;
        r.register(Box::new(flows.clone()))?;
        let missed = IntCounter::new(
            "flowprobe_scheduler_missed_total",
            "Planned probe starts skipped because the previous round ran too late.",
        )?;
        r.register(Box::new(missed.clone()))?;
        #[cfg(target_os = "linux")]
        r.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Metrics {
            registry: r,
            flow_info,
            flow_up,
            flow_reason,
            flow_finding,
            flow_interval,
            flow_timeout,
            probes_total,
            duration,
            last_ts,
            consecutive,
            tls_verified,
            tls_order_ok,
            tls_certificates,
            ssh_violations,
            dynamic,
            reload_ok,
            reload_ts,
            lateness,
            in_flight,
            flows,
            missed,
        })
    }

    /// The text exposition of every series.
    pub fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(64 * 1024);
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        buf
    }

    /// Create a flow's series (they exist from start-up) and its handle.
    pub fn flow(&self, flow: &Flow) -> FlowMetrics {
        let v = flow.from.as_str();
        let n = flow.name.as_str();
        let info = [
            v.to_string(),
            n.to_string(),
            flow.from.clone(),
            flow.to.clone(),
            flow.to.clone(),
            flow.host.to_string(),
            flow.port.to_string(),
            flow.check.kind().as_str().to_string(),
            flow.expect.as_str().to_string(),
            flow.severity.as_str().to_string(),
        ];
        self.flow_info.with_label_values(&info).set(1.0);
        self.flow_interval
            .with_label_values(&[v, n])
            .set(flow.interval.as_secs_f64());
        self.flow_timeout
            .with_label_values(&[v, n])
            .set(flow.timeout.as_secs_f64());
        let up = self.flow_up.with_label_values(&[v, n]);
        up.set(0.0);
        self.flow_reason
            .with_label_values(&[v, n, PENDING])
            .set(1.0);
        let phases = phases_of(flow);
        let durations = Phase::ALL.map(|p| {
            phases
                .contains(&p)
                .then(|| self.duration.with_label_values(&[v, n, p.as_str()]))
        });
        let tls = match &flow.check {
            crate::probe::CheckSpec::Tls(spec) if flow.expect == crate::config::Expect::Open => {
                Some(kinds::TlsSeries {
                    verified: spec
                        .trust
                        .iter()
                        .map(|a| {
                            let g = self.tls_verified.with_label_values(&[v, n, a.as_str()]);
                            (a.clone(), g)
                        })
                        .collect(),
                    order_ok: self.tls_order_ok.with_label_values(&[v, n]),
                    certificates: self.tls_certificates.with_label_values(&[v, n]),
                })
            }
            _ => None,
        };
        let ssh = match &flow.check {
            crate::probe::CheckSpec::Ssh(_) if flow.expect == crate::config::Expect::Open => {
                Some(crate::analyze::ssh_policy::AlgorithmKind::ALL.map(|k| {
                    (
                        k,
                        self.ssh_violations.with_label_values(&[v, n, k.as_str()]),
                    )
                }))
            }
            _ => None,
        };
        FlowMetrics {
            tls,
            ssh,
            dynamic: DynamicSet::default(),
            consecutive: self.consecutive.with_label_values(&[v, n]),
            vantage: v.to_string(),
            name: n.to_string(),
            info,
            up,
            pass: self.probes_total.with_label_values(&[v, n, "pass"]),
            fail: self.probes_total.with_label_values(&[v, n, "fail"]),
            durations,
            current: Mutex::new(Current::default()),
        }
    }

    /// Remove every series of a flow (reload dropped or changed it).
    pub fn remove_flow(&self, fm: &FlowMetrics) {
        let (v, n) = (fm.vantage.as_str(), fm.name.as_str());
        let info: Vec<&str> = fm.info.iter().map(String::as_str).collect();
        let _ = self.flow_info.remove_label_values(&info);
        let _ = self.flow_up.remove_label_values(&[v, n]);
        let _ = self.flow_interval.remove_label_values(&[v, n]);
        let _ = self.flow_timeout.remove_label_values(&[v, n]);
        let _ = self.last_ts.remove_label_values(&[v, n]);
        let _ = self.consecutive.remove_label_values(&[v, n]);
        let _ = self.tls_order_ok.remove_label_values(&[v, n]);
        let _ = self.tls_certificates.remove_label_values(&[v, n]);
        if let Some(t) = &fm.tls {
            for (a, _) in &t.verified {
                let _ = self.tls_verified.remove_label_values(&[v, n, a.as_str()]);
            }
        }
        for k in crate::analyze::ssh_policy::AlgorithmKind::ALL {
            let _ = self.ssh_violations.remove_label_values(&[v, n, k.as_str()]);
        }
        fm.dynamic.clear(&self.dynamic);
        for r in ["pass", "fail"] {
            let _ = self.probes_total.remove_label_values(&[v, n, r]);
        }
        for p in Phase::ALL {
            let _ = self.duration.remove_label_values(&[v, n, p.as_str()]);
        }
        if let Ok(cur) = fm.current.lock() {
            let _ = self
                .flow_reason
                .remove_label_values(&[v, n, cur.reason_label()]);
            for (reason, level) in &cur.findings {
                let _ = self.flow_finding.remove_label_values(&[
                    v,
                    n,
                    reason.as_str(),
                    level_str(*level),
                ]);
            }
        }
    }

    /// Record a probe's outcome on the flow's series.
    pub fn record(&self, fm: &FlowMetrics, report: &ProbeReport) {
        let (v, n) = (fm.vantage.as_str(), fm.name.as_str());
        fm.up.set(if report.up { 1.0 } else { 0.0 });
        if report.up {
            fm.pass.inc();
            fm.consecutive.set(0.0);
        } else {
            fm.fail.inc();
            fm.consecutive.inc();
        }
        kinds::record(self, fm, report);
        for (i, g) in fm.durations.iter().enumerate() {
            if let Some(g) = g {
                let d = report.phases.0[i].map_or(0.0, |d| d.as_secs_f64());
                g.set(d);
            }
        }
        let ts = report
            .started
            .duration_since(std::time::SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        // Created at the first probe: before it there is no timestamp, and a
        // 0 would be a sentinel date.
        self.last_ts.with_label_values(&[v, n]).set(ts);
        let Ok(mut cur) = fm.current.lock() else {
            return;
        };
        if cur.reason != Some(report.reason) {
            let _ = self
                .flow_reason
                .remove_label_values(&[v, n, cur.reason_label()]);
            self.flow_reason
                .with_label_values(&[v, n, report.reason.as_str()])
                .set(1.0);
            cur.reason = Some(report.reason);
        }
        let mut findings: Vec<(Reason, Level)> =
            report.findings().map(|f| (f.reason, f.level)).collect();
        findings.sort_by_key(|(r, l)| (*r, level_str(*l)));
        findings.dedup();
        if findings != cur.findings {
            for (r, l) in &cur.findings {
                if !findings.contains(&(*r, *l)) {
                    let _ =
                        self.flow_finding
                            .remove_label_values(&[v, n, r.as_str(), level_str(*l)]);
                }
            }
            for (r, l) in &findings {
                self.flow_finding
                    .with_label_values(&[v, n, r.as_str(), level_str(*l)])
                    .set(1.0);
            }
            cur.findings = findings;
        }
    }
}

fn level_str(l: Level) -> &'static str {
    match l {
        Level::Fail => "fail",
        Level::Warn => "warn",
        Level::Info => "info",
    }
}

/// Phases a flow's check goes through: only these get duration series.
fn phases_of(flow: &Flow) -> Vec<Phase> {
    use crate::probe::CheckKind;
    let mut p = Vec::with_capacity(4);
    if matches!(flow.host, crate::config::Host::Name(_)) {
        p.push(Phase::Dns);
    }
    p.push(Phase::Connect);
    if flow.expect == crate::config::Expect::Open {
        match flow.check.kind() {
            CheckKind::Tcp => {}
            CheckKind::Tls => p.push(Phase::Tls),
            CheckKind::Ssh => p.push(Phase::Ssh),
            CheckKind::Http | CheckKind::Crl => p.push(Phase::Http),
        }
    }
    p.push(Phase::Total);
    p
}

#[derive(Default)]
struct Current {
    reason: Option<Reason>,
    findings: Vec<(Reason, Level)>,
}

impl Current {
    fn reason_label(&self) -> &'static str {
        self.reason.map_or(PENDING, Reason::as_str)
    }
}

/// A flow's series, resolved once.
pub struct FlowMetrics {
    vantage: String,
    name: String,
    info: [String; 10],
    up: Gauge,
    pass: IntCounter,
    fail: IntCounter,
    durations: [Option<Gauge>; 6],
    consecutive: Gauge,
    tls: Option<kinds::TlsSeries>,
    ssh: Option<[(crate::analyze::ssh_policy::AlgorithmKind, Gauge); 5]>,
    dynamic: DynamicSet,
    current: Mutex<Current>,
}

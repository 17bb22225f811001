//! The Prometheus series (docs/metrics.md). One [`Metrics`] is created
//! at start-up and shared; each flow gets a [`FlowMetrics`] with its label
//! sets resolved once, so recording a probe hashes no labels, and a scrape
//! writes the fixed per-flow series straight from atomics (see [`text`]).
//!
//! `flowprobe_flow_reason` carries one series per flow, for the current
//! reason (value 1), and `pending` before the first probe. A full state set
//! (one series per possible reason) would be 35 series per flow, 350,000 at
//! 10,000 flows; queries are the same either way (`flowprobe_flow_reason == 1`).
//!
//! Facts that never change while a flow is configured are written once:
//! the timeout is a label of `flowprobe_flow_info` (it was its own series,
//! `flowprobe_flow_timeout_seconds`). The interval keeps its series because
//! alert rules and the fleet store do arithmetic with it. `[metrics]`
//! (`config::MetricsSettings`) drops the per-flow phase durations and the
//! certificates a chain summary already covers, for very large instances.

mod dynamic;
mod recorder;
mod text;

use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use text::{AtomicF64, Writer, labels};

pub use dynamic::{DynamicSet, Entry, FamilySpec};
pub use recorder::KindRecorder;

use crate::kinds::{FlowSeries, KindVecs};
use dynamic::DynamicVecs;

use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

use crate::config::{Flow, MetricsSettings, Severity};
use crate::outcome::{Level, Reason};
use crate::probe::{Phase, ProbeReport};

/// Label value of `flowprobe_flow_reason` before a flow's first probe.
pub(crate) const PENDING: &str = "pending";

pub struct Metrics {
    pub registry: Registry,
    /// Every flow's fixed series, in exposition order.
    flows_by_key: RwLock<BTreeMap<(String, String), Arc<FlowMetrics>>>,
    /// Size of the last exposition, to allocate the next one at once.
    last_size: AtomicUsize,
    /// Every kind's fixed series vectors (`Kind::Vecs`).
    kinds: KindVecs,
    /// Vectors of every kind's [`DynamicSet`] families (`Kind::FAMILIES`).
    dynamic: DynamicVecs,
    pub reload_ok: IntGauge,
    pub reload_ts: Gauge,
    pub lateness: Histogram,
    pub in_flight: IntGauge,
    /// The probes-in-flight limit in force (the file-descriptor budget, or
    /// `defaults.max_in_flight` when lower).
    pub in_flight_limit: IntGauge,
    pub flows: IntGauge,
    pub missed: IntCounter,
    /// Starts that found no probe slot, by the flow's severity.
    shed: IntCounterVec,
    /// `metrics.per_flow_durations`: write `flowprobe_probe_duration_seconds`.
    per_flow_durations: AtomicBool,
    /// `metrics.all_certificates`: series for every sent certificate.
    all_certificates: AtomicBool,
}

pub(crate) fn gauge_vec(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<GaugeVec> {
    let g = GaugeVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

impl Metrics {
    pub fn new() -> prometheus::Result<Self> {
        let r = Registry::new();
        let kinds = KindVecs::register(&r)?;
        let dynamic = DynamicVecs::register(&r, &crate::kinds::families())?;
        let build = GaugeVec::new(
            Opts::new(
                "flowprobe_build_info",
                "flowprobe's version and git revision (always 1).",
            ),
            &["version", "revision"],
        )?;
        r.register(Box::new(build.clone()))?;
        build
            .with_label_values(&[crate::version::VERSION, crate::version::COMMIT])
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
        let in_flight_limit = IntGauge::new(
            "flowprobe_probes_in_flight_limit",
            "Probes that may be in flight at once: the file-descriptor budget (soft RLIMIT_NOFILE minus the HTTP server's and DNS's reserve), or defaults.max_in_flight when lower.",
        )?;
        r.register(Box::new(in_flight_limit.clone()))?;
        let shed = IntCounterVec::new(
            Opts::new(
                "flowprobe_probes_shed_total",
                "Planned probe starts that found no probe slot free and were recorded as reason resource instead of probing, by flow severity.",
            ),
            &["severity"],
        )?;
        r.register(Box::new(shed.clone()))?;
        for s in [Severity::Critical, Severity::Warning, Severity::Info] {
            shed.with_label_values(&[s.as_str()]);
        }
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
            flows_by_key: RwLock::new(BTreeMap::new()),
            last_size: AtomicUsize::new(64 * 1024),
            kinds,
            dynamic,
            reload_ok,
            reload_ts,
            lateness,
            in_flight,
            in_flight_limit,
            flows,
            missed,
            shed,
            per_flow_durations: AtomicBool::new(true),
            all_certificates: AtomicBool::new(true),
        })
    }

    /// Apply `[metrics]` (at load and at every reload). Durations follow at
    /// the next scrape, certificate series at each flow's next probe.
    pub fn configure(&self, s: &MetricsSettings) {
        self.per_flow_durations
            .store(s.per_flow_durations, Ordering::Relaxed);
        self.all_certificates
            .store(s.all_certificates, Ordering::Relaxed);
    }

    /// Whether every sent certificate gets its series (`metrics.all_certificates`).
    fn all_certificates(&self) -> bool {
        self.all_certificates.load(Ordering::Relaxed)
    }

    /// The shed counter of a severity.
    pub fn shed(&self, severity: Severity) -> IntCounter {
        self.shed.with_label_values(&[severity.as_str()])
    }

    /// The text exposition of every series, whole (tests, benches, `check`).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::buffered(self.last_size.load(Ordering::Relaxed) + 4096);
        self.write(&mut w);
        let mut buf = w.out.into_bytes();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        self.last_size.store(buf.len(), Ordering::Relaxed);
        buf
    }

    /// The text exposition in chunks of about `chunk` bytes, handed to
    /// `sink` as they fill (it returns false to stop). Memory stays bounded
    /// by the chunk size, not by the number of flows.
    pub fn encode_chunked(&self, chunk: usize, sink: &mut dyn FnMut(String) -> bool) {
        let mut w = Writer::chunked(chunk, sink);
        self.write(&mut w);
        let mut rest = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut rest);
        w.out.push_str(&String::from_utf8_lossy(&rest));
        w.flush();
    }

    fn write(&self, w: &mut Writer<'_>) {
        let flows: Vec<Arc<FlowMetrics>> = self.flows_by_key.read().values().cloned().collect();
        let durations = self.per_flow_durations.load(Ordering::Relaxed);
        encode_flows(w, &flows, durations);
    }

    /// Create a flow's series (they exist from start-up) and its handle.
    pub fn flow(&self, flow: &Flow) -> Arc<FlowMetrics> {
        let v = flow.from.as_str();
        let n = flow.name.as_str();
        let base = labels(&[("flow", n), ("vantage", v)]);
        let target = flow.host.to_string();
        let port = flow.port.to_string();
        let timeout = flow.timeout.as_secs_f64().to_string();
        let info = labels(&[
            ("check", flow.check.kind().as_str()),
            ("expect", flow.expect.as_str()),
            ("flow", n),
            ("from", &flow.from),
            ("host", &target),
            ("port", &port),
            ("severity", flow.severity.as_str()),
            ("target", &flow.to),
            ("timeout", &timeout),
            ("to", &flow.to),
            ("vantage", v),
        ]);
        let phases = phases_of(flow);
        let series = FlowSeries::new(&self.kinds, flow);
        let fm = Arc::new(FlowMetrics {
            series,
            dynamic: DynamicSet::default(),
            vantage: v.to_string(),
            name: n.to_string(),
            base,
            info,
            interval: flow.interval.as_secs_f64(),
            phases: Phase::ALL.map(|p| phases.contains(&p)),
            up: AtomicBool::new(false),
            pass: AtomicU64::new(0),
            fail: AtomicU64::new(0),
            consecutive: AtomicU64::new(0),
            durations: Default::default(),
            last_ts: AtomicF64::new(0.0),
            current: Mutex::new(Current::default()),
        });
        self.flows_by_key
            .write()
            .insert((v.to_string(), n.to_string()), Arc::clone(&fm));
        fm
    }

    /// Remove every series of a flow (reload dropped or changed it). A
    /// changed flow was re-created under the same key first: series that
    /// the new handle shares are left to it.
    pub(crate) fn remove_flow(&self, fm: &FlowMetrics) {
        let (v, n) = (fm.vantage.as_str(), fm.name.as_str());
        let key = (v.to_string(), n.to_string());
        let successor = {
            let mut m = self.flows_by_key.write();
            match m.get(&key) {
                Some(cur) if std::ptr::eq(Arc::as_ptr(cur), fm) => {
                    m.remove(&key);
                    None
                }
                other => other.cloned(),
            }
        };
        fm.series.remove(
            &self.kinds,
            &self.recorder(fm),
            successor.as_ref().map(|s| &s.series),
        );
        // The successor re-asserts its own dynamic series at every probe.
        fm.dynamic.clear(&self.dynamic);
    }

    /// What a kind's `record` needs of the flow's series.
    fn recorder<'a>(&'a self, fm: &'a FlowMetrics) -> KindRecorder<'a> {
        KindRecorder {
            vantage: &fm.vantage,
            flow: &fm.name,
            dynamic: &fm.dynamic,
            vecs: &self.dynamic,
            all_certificates: self.all_certificates(),
        }
    }

    /// Record a probe's outcome on the flow's series.
    pub fn record(&self, fm: &FlowMetrics, report: &ProbeReport) {
        fm.up.store(report.up, Ordering::Relaxed);
        if report.up {
            fm.pass.fetch_add(1, Ordering::Relaxed);
            fm.consecutive.store(0, Ordering::Relaxed);
        } else {
            fm.fail.fetch_add(1, Ordering::Relaxed);
            fm.consecutive.fetch_add(1, Ordering::Relaxed);
        }
        fm.series.record(&self.recorder(fm), report);
        for (i, g) in fm.durations.iter().enumerate() {
            g.set(report.phases.0[i].map_or(0.0, |d| d.as_secs_f64()));
        }
        fm.last_ts.set(crate::text::unix_secs_f64(report.started));
        let mut cur = fm.current.lock();
        cur.reason = Some(report.reason);
        let mut findings: Vec<(Reason, Level)> =
            report.findings().map(|f| (f.reason, f.level)).collect();
        findings.sort_by_key(|(r, l)| (*r, l.as_str()));
        findings.dedup();
        cur.findings = findings;
    }
}

/// A gauge family with one sample per flow, labelled by flow and vantage.
fn gauge_per_flow(
    w: &mut Writer<'_>,
    flows: &[Arc<FlowMetrics>],
    name: &str,
    help: &str,
    value: impl Fn(&FlowMetrics) -> f64,
) {
    w.header(name, "gauge", help);
    for f in flows {
        w.sample(name, &f.base, "", value(f));
    }
}

/// The fixed per-flow families, one pass each over the flows.
fn encode_flows(w: &mut Writer<'_>, flows: &[Arc<FlowMetrics>], durations: bool) {
    if flows.is_empty() {
        return;
    }
    w.header(
        "flowprobe_flow_info",
        "gauge",
        "A configured flow: its definition as labels, the timeout in seconds among them (always 1).",
    );
    for f in flows {
        w.sample("flowprobe_flow_info", &f.info, "", 1.0);
    }
    gauge_per_flow(
        w,
        flows,
        "flowprobe_flow_up",
        "1 when the flow's last outcome met its expectation.",
        |f| f64::from(u8::from(f.up.load(Ordering::Relaxed))),
    );
    w.header(
        "flowprobe_flow_reason",
        "gauge",
        "The reason of the flow's last outcome (1); reason=\"pending\" before its first probe.",
    );
    let snapshots: Vec<Current> = flows.iter().map(|f| f.current.lock().clone()).collect();
    for (f, cur) in flows.iter().zip(&snapshots) {
        let r = cur.reason.map_or(PENDING, Reason::as_str);
        w.sample(
            "flowprobe_flow_reason",
            &f.base,
            &format!("reason=\"{r}\""),
            1.0,
        );
    }
    if snapshots.iter().any(|c| !c.findings.is_empty()) {
        w.header(
            "flowprobe_flow_finding",
            "gauge",
            "A finding of the flow's last probe (1), with its level fail|warn|info.",
        );
        for (f, cur) in flows.iter().zip(&snapshots) {
            for (r, l) in &cur.findings {
                let extra = format!("level=\"{}\",reason=\"{}\"", l.as_str(), r.as_str());
                w.sample("flowprobe_flow_finding", &f.base, &extra, 1.0);
            }
        }
    }
    gauge_per_flow(
        w,
        flows,
        "flowprobe_flow_consecutive_failures",
        "Probes in a row that did not meet the expectation (0 while up).",
        |f| f.consecutive.load(Ordering::Relaxed) as f64,
    );
    gauge_per_flow(
        w,
        flows,
        "flowprobe_flow_interval_seconds",
        "The flow's probe interval.",
        |f| f.interval,
    );
    w.header(
        "flowprobe_probes_total",
        "counter",
        "Probes run, by result (pass: met the expectation).",
    );
    for f in flows {
        let pass = f.pass.load(Ordering::Relaxed) as f64;
        let fail = f.fail.load(Ordering::Relaxed) as f64;
        w.sample("flowprobe_probes_total", &f.base, "result=\"fail\"", fail);
        w.sample("flowprobe_probes_total", &f.base, "result=\"pass\"", pass);
    }
    if durations {
        encode_durations(w, flows);
    }
    // Absent before a flow's first probe: a 0 would be a sentinel date.
    let probed: Vec<&Arc<FlowMetrics>> = flows.iter().filter(|f| f.last_ts.get() > 0.0).collect();
    if !probed.is_empty() {
        w.header(
            "flowprobe_probe_last_timestamp_seconds",
            "gauge",
            "When the flow's last probe started (Unix time).",
        );
        for f in probed {
            w.sample(
                "flowprobe_probe_last_timestamp_seconds",
                &f.base,
                "",
                f.last_ts.get(),
            );
        }
    }
}

/// `flowprobe_probe_duration_seconds`: one sample per flow and phase of its
/// check (`metrics.per_flow_durations`).
fn encode_durations(w: &mut Writer<'_>, flows: &[Arc<FlowMetrics>]) {
    w.header(
        "flowprobe_probe_duration_seconds",
        "gauge",
        "Time spent in each phase of the flow's last probe.",
    );
    for f in flows {
        for (i, p) in Phase::ALL.iter().enumerate() {
            if f.phases[i] {
                let extra = format!("phase=\"{}\"", p.as_str());
                w.sample(
                    "flowprobe_probe_duration_seconds",
                    &f.base,
                    &extra,
                    f.durations[i].get(),
                );
            }
        }
    }
}

/// Phases a flow's check goes through: only these get duration series.
fn phases_of(flow: &Flow) -> Vec<Phase> {
    let mut p = Vec::with_capacity(4);
    if matches!(flow.host, crate::config::Host::Name(_)) {
        p.push(Phase::Dns);
    }
    // A flow that must be closed is probed with a TCP connect, whatever
    // its kind.
    let open = flow.expect == crate::config::Expect::Open;
    if !open || flow.check.kind().connects() {
        p.push(Phase::Connect);
    }
    if open {
        p.extend(flow.check.kind().phase());
    }
    p.push(Phase::Total);
    p
}

#[derive(Default, Clone)]
struct Current {
    reason: Option<Reason>,
    findings: Vec<(Reason, Level)>,
}

/// A flow's series, resolved once.
pub struct FlowMetrics {
    vantage: String,
    name: String,
    /// `flow="..",vantage=".."`, rendered once.
    base: String,
    /// The label set of `flowprobe_flow_info`, rendered once.
    info: String,
    interval: f64,
    /// Which phases this flow's check goes through (get duration series).
    phases: [bool; Phase::ALL.len()],
    up: AtomicBool,
    pass: AtomicU64,
    fail: AtomicU64,
    consecutive: AtomicU64,
    durations: [AtomicF64; Phase::ALL.len()],
    last_ts: AtomicF64,
    /// The kind's own series (`Kind::Series`).
    series: FlowSeries,
    dynamic: DynamicSet,
    current: Mutex<Current>,
}

//! The scheduler under paused tokio time, with a prober whose duration the
//! test controls: spread, no overlap, the in-flight cap and shedding by
//! severity, lateness, reload
//! that keeps unchanged flows, and cancellation of in-flight probes.

use flowprobe_testkit as support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use flowprobe::config::Severity;
use flowprobe::metrics::Metrics;
use flowprobe::outcome::Reason;
use flowprobe::probe::plan::{build_nets, prepare};
use flowprobe::probe::{Cause, Phases, ProbeReport};
use flowprobe::schedule::{Prober, SHED_AFTER, Scheduler, TICK, spread_offset};
use flowprobe::state::State;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Log {
    starts: Mutex<Vec<(String, Instant)>>,
    running: Mutex<BTreeMap<String, usize>>,
    max_per_flow: AtomicUsize,
    now: AtomicUsize,
    max_global: AtomicUsize,
    dropped: AtomicUsize,
}

struct DropCount(Arc<Log>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

fn fake(log: Arc<Log>, busy: Duration) -> Prober {
    Arc::new(move |p, _net| {
        let log = Arc::clone(&log);
        Box::pin(async move {
            let name = p.flow.name.clone();
            let guard = DropCount(Arc::clone(&log));
            log.starts
                .lock()
                .unwrap()
                .push((name.clone(), Instant::now()));
            {
                let mut r = log.running.lock().unwrap();
                let n = r.entry(name.clone()).or_default();
                *n += 1;
                log.max_per_flow.fetch_max(*n, Ordering::SeqCst);
            }
            let g = log.now.fetch_add(1, Ordering::SeqCst) + 1;
            log.max_global.fetch_max(g, Ordering::SeqCst);
            tokio::time::sleep(busy).await;
            log.now.fetch_sub(1, Ordering::SeqCst);
            *log.running.lock().unwrap().get_mut(&name).unwrap() -= 1;
            std::mem::forget(guard);
            ProbeReport {
                reason: Reason::Ok,
                up: true,
                detail: String::new(),
                cause: None,
                started: SystemTime::now(),
                phases: Phases::default(),
                attempts: Vec::new(),
            }
        })
    })
}

fn flows_config(n: usize, interval: &str) -> String {
    let mut s = String::from(
        "catalog = \"none\"\n[vantage.here]\ndns_servers = [\"127.0.0.1:9\"]\n[targets]\nlo = \"127.0.0.1\"\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            "[[flow]]\nname = \"f{i}\"\nfrom = \"here\"\nto = \"lo\"\nport = {}\ninterval = \"{interval}\"\ntimeout = \"1s\"\n",
            1000 + i
        ));
    }
    s
}

struct Harness {
    sched: Scheduler,
    state: Arc<State>,
    metrics: Arc<Metrics>,
    log: Arc<Log>,
}

fn harness(cfg: &flowprobe::config::Config, cap: usize, busy: Duration) -> Harness {
    let metrics = Arc::new(Metrics::new().unwrap());
    let state = Arc::new(State::new(Arc::clone(&metrics)));
    let log = Arc::new(Log::default());
    let mut sched = Scheduler::new(
        Arc::clone(&state),
        cap,
        CancellationToken::new(),
        fake(Arc::clone(&log), busy),
    );
    sched.jitter = false;
    sched.apply(prepare(cfg).unwrap(), &build_nets(cfg).unwrap());
    Harness {
        sched,
        state,
        metrics,
        log,
    }
}

#[tokio::test(start_paused = true)]
async fn first_runs_are_spread_across_the_interval_deterministically() {
    let cfg = support::config_from(&flows_config(200, "10s"));
    let t0 = Instant::now();
    let h = harness(&cfg, 1000, Duration::from_millis(1));
    tokio::time::sleep(Duration::from_millis(9_999)).await;
    let starts = h.log.starts.lock().unwrap().clone();
    assert_eq!(
        starts.len(),
        200,
        "every flow ran once in its first interval"
    );
    let mut per_second = [0usize; 10];
    for (name, at) in &starts {
        let off = at.duration_since(t0);
        let want = spread_offset("here", name, Duration::from_secs(10));
        assert!(
            off.abs_diff(want) < Duration::from_millis(5),
            "{name}: {off:?} vs {want:?}"
        );
        // Starts share a grid, so the process wakes once per step.
        assert_eq!(want.as_nanos() % TICK.as_nanos(), 0, "{name}: {want:?}");
        per_second[off.as_secs() as usize] += 1;
    }
    // 200 flows over 10 seconds: no second holds more than a third of them.
    assert!(per_second.iter().all(|&n| n < 70), "{per_second:?}");
    assert!(h.state.is_ready());
}

#[tokio::test(start_paused = true)]
async fn a_flow_never_overlaps_itself_and_missed_starts_are_skipped() {
    let cfg = support::config_from(&flows_config(1, "2s"));
    let h = harness(&cfg, 10, Duration::from_secs(5));
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(h.log.max_per_flow.load(Ordering::SeqCst), 1);
    let starts = h.log.starts.lock().unwrap().len();
    assert!(
        (5..=7).contains(&starts),
        "one probe per 6s (5s busy, skip to the next 2s tick): {starts}"
    );
    assert!(
        h.metrics.missed.get() >= 4,
        "missed starts counted: {}",
        h.metrics.missed.get()
    );
}

#[tokio::test(start_paused = true)]
async fn the_in_flight_cap_holds_and_starts_beyond_it_are_shed_as_resource() {
    let cfg = support::config_from(&flows_config(20, "60s"));
    // 20 probes of 20 s each through 3 slots: most find none free.
    let h = harness(&cfg, 3, Duration::from_secs(20));
    assert_eq!(h.metrics.in_flight_limit.get(), 3);
    tokio::time::sleep(Duration::from_secs(200)).await;
    assert_eq!(h.log.max_global.load(Ordering::SeqCst), 3);
    let shed = h.metrics.shed(Severity::Critical).get();
    let ran = h.log.starts.lock().unwrap().len() as u64;
    assert!(shed > 0 && ran >= 3, "shed {shed}, ran {ran}");
    // Every planned start either ran or was shed: none queued for long.
    assert!(ran + shed >= 3 * 20, "ran {ran} + shed {shed}");
    assert_eq!(h.metrics.missed.get(), 0);
    let waited = h.metrics.lateness.get_sample_sum();
    let count = h.metrics.lateness.get_sample_count();
    assert!(
        waited <= count as f64 * SHED_AFTER.as_secs_f64(),
        "no start waited longer than the shed bound: {waited} s over {count}"
    );
    let shed_flows: Vec<_> = h
        .state
        .slots()
        .values()
        .filter_map(|s| s.last())
        .filter(|r| r.reason == Reason::Resource)
        .collect();
    assert!(!shed_flows.is_empty());
    for r in shed_flows {
        assert!(!r.up, "a shed probe is down");
        assert!(
            matches!(r.cause.as_deref(), Some(Cause::Slot { used: 3, limit: 3 })),
            "{:?}",
            r.cause
        );
    }
}

#[tokio::test(start_paused = true)]
async fn critical_flows_get_slots_before_info_flows() {
    let mut text = flows_config(0, "10s");
    for i in 0..200 {
        text.push_str(&format!(
            "[[flow]]\nname = \"info{i}\"\nfrom = \"here\"\nto = \"lo\"\nport = {}\ninterval = \"10s\"\ntimeout = \"6s\"\nseverity = \"info\"\n",
            2000 + i
        ));
    }
    for i in 0..2 {
        text.push_str(&format!(
            "[[flow]]\nname = \"crit{i}\"\nfrom = \"here\"\nto = \"lo\"\nport = {}\ninterval = \"10s\"\ntimeout = \"6s\"\n",
            3000 + i
        ));
    }
    let cfg = support::config_from(&text);
    // 200 info flows want 100 slots at once; there are 40.
    let h = harness(&cfg, 40, Duration::from_secs(5));
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(h.metrics.shed(Severity::Info).get() > 100);
    assert_eq!(h.metrics.shed(Severity::Critical).get(), 0);
    let starts = h.log.starts.lock().unwrap();
    for c in ["crit0", "crit1"] {
        let n = starts.iter().filter(|(name, _)| name == c).count();
        assert!(n >= 5, "{c} ran every interval: {n}");
    }
}

#[tokio::test(start_paused = true)]
async fn reload_keeps_unchanged_flows_and_restarts_changed_ones() {
    let cfg = support::config_from(&flows_config(3, "10s"));
    let h = harness(&cfg, 10, Duration::from_millis(1));
    tokio::time::sleep(Duration::from_secs(25)).await;
    let before = h.state.slots();
    let mut text = flows_config(3, "10s");
    text = text.replace("port = 1002", "port = 2002");
    text.push_str("[[flow]]\nname = \"new\"\nfrom = \"here\"\nto = \"lo\"\nport = 3000\ninterval = \"10s\"\ntimeout = \"1s\"\n");
    let cfg2 = support::config_from(&text);
    h.sched
        .apply(prepare(&cfg2).unwrap(), &build_nets(&cfg2).unwrap());
    let after = h.state.slots();
    let key = |n: &str| ("here".to_string(), n.to_string());
    assert!(
        Arc::ptr_eq(&before[&key("f0")], &after[&key("f0")]),
        "unchanged flow kept"
    );
    assert!(
        Arc::ptr_eq(&before[&key("f1")], &after[&key("f1")]),
        "unchanged flow kept"
    );
    assert!(
        !Arc::ptr_eq(&before[&key("f2")], &after[&key("f2")]),
        "changed flow replaced"
    );
    assert!(after.contains_key(&key("new")));
    assert!(
        after[&key("f0")].last().is_some(),
        "kept flow keeps its last report"
    );
    // The new flow starts on the scheduler's grid, at its own offset.
    let first_f0 = h
        .log
        .starts
        .lock()
        .unwrap()
        .iter()
        .find(|(n, _)| n == "f0")
        .map(|(_, at)| *at)
        .expect("f0 ran");
    let t0 = first_f0 - spread_offset("here", "f0", Duration::from_secs(10));
    tokio::time::sleep(Duration::from_secs(10)).await;
    let new_starts: Vec<Instant> = h
        .log
        .starts
        .lock()
        .unwrap()
        .iter()
        .filter(|(n, _)| n == "new")
        .map(|(_, at)| *at)
        .collect();
    assert_eq!(new_starts.len(), 1, "the new flow ran once in 10 s");
    let off = new_starts[0].duration_since(t0).as_nanos() % 10_000_000_000;
    assert_eq!(
        off,
        spread_offset("here", "new", Duration::from_secs(10)).as_nanos(),
        "the new flow joined the grid at its offset"
    );
    // Dropping a flow removes it and its task.
    let cfg3 = support::config_from(&flows_config(1, "10s"));
    h.sched
        .apply(prepare(&cfg3).unwrap(), &build_nets(&cfg3).unwrap());
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(h.state.slots().len(), 1);
    assert_eq!(h.sched.task_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_cancels_probes_in_flight() {
    let cfg = support::config_from(&flows_config(5, "120s"));
    let h = harness(&cfg, 10, Duration::from_secs(1000));
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(
        h.log.now.load(Ordering::SeqCst),
        5,
        "all five are mid-probe"
    );
    let t = Instant::now();
    assert!(
        h.sched.shutdown(Duration::from_secs(2)).await,
        "tasks stopped"
    );
    assert!(t.elapsed() < Duration::from_millis(100));
    assert_eq!(
        h.log.dropped.load(Ordering::SeqCst),
        5,
        "in-flight probes were dropped"
    );
    assert_eq!(h.sched.task_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_crl_flow_starts_after_the_tls_flow_it_reads_every_round() {
    let mut text = flows_config(0, "10s");
    text.push_str(
        r#"
[[flow]]
name = "mdm-crl"
from = "here"
to = "lo"
port = 80
interval = "10s"
timeout = "2s"
check = "crl"
crl = { from_flow = "mdm-https" }
[[flow]]
name = "mdm-https"
from = "here"
to = "lo"
port = 443
interval = "10s"
timeout = "3s"
check = "tls"
"#,
    );
    let cfg = support::config_from(&text);
    let t0 = Instant::now();
    let h = harness(&cfg, 10, Duration::from_millis(500));
    tokio::time::sleep(Duration::from_secs(35)).await;
    let starts = h.log.starts.lock().unwrap().clone();
    let of = |name: &str| -> Vec<Duration> {
        starts
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, at)| at.duration_since(t0))
            .collect()
    };
    let (tls, crl) = (of("mdm-https"), of("mdm-crl"));
    assert!(tls.len() >= 3 && crl.len() >= 3, "{tls:?} {crl:?}");
    let want = spread_offset("here", "mdm-https", Duration::from_secs(10));
    assert!(tls[0].abs_diff(want) < Duration::from_millis(5));
    for (t, c) in tls.iter().zip(&crl) {
        // After the TLS probe's whole 3 s budget, in the same round.
        assert!(
            *c >= *t + Duration::from_secs(3) && *c < *t + Duration::from_secs(4),
            "tls {t:?} crl {c:?}"
        );
    }
}

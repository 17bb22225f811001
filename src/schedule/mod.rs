//! Per-flow timing. One lightweight task per flow (no thread per flow):
//! the first start is spread across the interval by a deterministic offset
//! (plus a little jitter) so 10,000 flows do not fire at once; a flow never
//! overlaps itself (its task runs one probe at a time); probes in flight
//! share the file-descriptor budget through [`Slots`], and a start that
//! finds no slot within [`SHED_AFTER`] is shed (recorded as `resource`,
//! counted in `flowprobe_probes_shed_total`) instead of queueing behind a
//! full budget; every wait races cancellation. Lateness (actual
//! start minus planned start) goes into a histogram; a start that is more
//! than a whole interval late is skipped and counted, never bunched up.
//!
//! Starts fall on a grid of [`TICK`] steps from the scheduler's epoch, so
//! the process wakes once per step for all the flows due in it instead of
//! once per flow: at 500 TCP probes/s that halves the CPU per probe (most of
//! a lone probe's cost is waking an idle process). Timings stay exact: a
//! probe's phases are measured from its own start, and lateness from its
//! planned (grid) start.

use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::outcome::Reason;
use crate::probe::{self, Cause, Phases, Prepared, ProbeReport, VantageNet};
use crate::state::{FlowKey, FlowSlot, State};

mod slots;
pub use slots::{Busy, Slot, Slots};

/// How long a start may wait for a probe slot before it is shed. Short:
/// a wait is lateness, and a budget that is full now is usually full for a
/// whole timeout (dropped probes hold their slot that long).
pub const SHED_AFTER: Duration = Duration::from_millis(250);

/// At most one "shedding" log line per this period (the counter has them all).
const SHED_LOG_EVERY: Duration = Duration::from_secs(10);

/// What runs one probe. The daemon uses [`real_prober`]; tests substitute
/// probes whose duration they control.
pub type Prober = Arc<
    dyn Fn(Arc<Prepared>, Arc<VantageNet>) -> Pin<Box<dyn Future<Output = ProbeReport> + Send>>
        + Send
        + Sync,
>;

/// The prober that runs [`probe::run`].
pub(crate) fn real_prober() -> Prober {
    Arc::new(|p, net| Box::pin(async move { probe::run(&p, &net).await }))
}

/// The step of the start grid: intervals are at least 1 s (validation), so
/// every interval has at least twenty steps to spread its flows over.
pub const TICK: Duration = Duration::from_millis(50);

/// `d` rounded down to a multiple of `step`.
fn floor_to(d: Duration, step: Duration) -> Duration {
    let step_n = step.as_nanos().max(1);
    Duration::from_nanos((d.as_nanos() - d.as_nanos() % step_n) as u64)
}

/// Deterministic start offset within the interval for a flow, on the grid.
pub fn spread_offset(vantage: &str, flow: &str, interval: Duration) -> Duration {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    vantage.hash(&mut h);
    flow.hash(&mut h);
    let nanos = interval.as_nanos().max(1) as u64;
    floor_to(Duration::from_nanos(h.finish() % nanos), TICK)
}

/// Up to 1% of the interval (at most 100 ms) of per-process jitter, so two
/// instances with the same configuration do not probe in lockstep.
fn jitter(interval: Duration, salt: u64) -> Duration {
    let cap = (interval / 100).min(Duration::from_millis(100));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    let x = now ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let cap_n = cap.as_nanos() as u64;
    if cap_n == 0 {
        Duration::ZERO
    } else {
        floor_to(Duration::from_nanos(x % cap_n), TICK)
    }
}

struct Running {
    slot: Arc<FlowSlot>,
    net: Arc<VantageNet>,
    cancel: CancellationToken,
}

/// Owns the flow tasks of a daemon.
pub struct Scheduler {
    state: Arc<State>,
    slots: Arc<Slots>,
    /// When shedding was last logged.
    shed_logged: Arc<Mutex<Option<Instant>>>,
    cancel: CancellationToken,
    tracker: TaskTracker,
    running: Mutex<HashMap<FlowKey, Running>>,
    prober: Prober,
    /// Whether start offsets get jitter (off in tests that assert offsets).
    pub jitter: bool,
    /// Origin of the start grid, set when the first flow set is in place;
    /// flows added by a reload join the same grid.
    epoch: std::sync::OnceLock<Instant>,
}

impl Scheduler {
    pub fn new(
        state: Arc<State>,
        max_in_flight: usize,
        cancel: CancellationToken,
        prober: Prober,
    ) -> Self {
        state
            .metrics
            .in_flight_limit
            .set(i64::try_from(max_in_flight.max(1)).unwrap_or(i64::MAX));
        Scheduler {
            prober,
            state,
            slots: Slots::new(max_in_flight),
            shed_logged: Arc::new(Mutex::new(None)),
            cancel,
            tracker: TaskTracker::new(),
            running: Mutex::new(HashMap::new()),
            jitter: true,
            epoch: std::sync::OnceLock::new(),
        }
    }

    /// Change the probes-in-flight limit (a reload changed it).
    pub(crate) fn set_limit(&self, max_in_flight: usize) {
        self.slots.set_limit(max_in_flight);
        self.state
            .metrics
            .in_flight_limit
            .set(i64::try_from(self.slots.limit()).unwrap_or(i64::MAX));
    }

    /// Apply a flow set: unchanged flows (same definition, same vantage
    /// network) keep their task and their series; the rest are stopped or
    /// started. `nets` maps vantage name to its network identity.
    pub fn apply(&self, flows: Vec<Arc<Prepared>>, nets: &BTreeMap<String, Arc<VantageNet>>) {
        let mut running = self.running.lock();
        let mut next: HashMap<FlowKey, Running> = HashMap::new();
        let mut slots = BTreeMap::new();
        let mut to_start = Vec::new();
        // Flows other flows read (a crl flow's from_flow), by name.
        let sources: HashMap<String, (String, Duration, Duration)> = flows
            .iter()
            .map(|p| {
                let f = &p.flow;
                (f.name.clone(), (f.from.clone(), f.interval, f.timeout))
            })
            .collect();
        for prepared in flows {
            let key = (prepared.flow.from.clone(), prepared.flow.name.clone());
            let Some(net) = nets.get(&prepared.flow.from) else {
                continue;
            };
            let keep = running.remove(&key).and_then(|r| {
                if r.slot.prepared.same_as(&prepared) && r.net.vantage == net.vantage {
                    Some(r)
                } else {
                    r.cancel.cancel();
                    None
                }
            });
            let entry = match keep {
                Some(mut r) => {
                    r.net = Arc::clone(net);
                    r
                }
                None => {
                    let offset = self.offset(&prepared, &sources);
                    let slot = self.state.make_slot(prepared);
                    let cancel = self.cancel.child_token();
                    to_start.push((Arc::clone(&slot), Arc::clone(net), cancel.clone(), offset));
                    Running {
                        slot,
                        net: Arc::clone(net),
                        cancel,
                    }
                }
            };
            slots.insert(key.clone(), Arc::clone(&entry.slot));
            next.insert(key, entry);
        }
        for (_, gone) in running.drain() {
            gone.cancel.cancel();
        }
        *running = next;
        if let Some((round, bound)) = self.state.replace(slots) {
            // The new flows' first-round summary comes by this bound even
            // if a first probe never completes (`State::close_round`). Not
            // a flow task: `task_count` counts flows.
            let state = Arc::clone(&self.state);
            let cancel = self.cancel.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = cancel.cancelled() => {}
                    _ = tokio::time::sleep(bound) => state.close_round(round),
                }
            });
        }
        // Start the tasks only now: building 100,000 slots takes seconds on
        // the runtime thread, and a task started early in that loop would
        // find its first start already past.
        let now = Instant::now();
        // The grid starts once every first task has had its first poll
        // (about a microsecond each), so a large initial set does not
        // begin with a burst of late starts.
        let lead = Duration::from_micros(2) * u32::try_from(to_start.len()).unwrap_or(u32::MAX);
        self.epoch
            .get_or_init(|| now + lead.min(Duration::from_secs(1)));
        for (slot, net, cancel, offset) in to_start {
            self.spawn(slot, net, cancel, offset, now);
        }
    }

    /// A flow's first start: spread across its interval, except that a
    /// flow reading another flow's chain (a crl flow's `from_flow`) starts
    /// once that flow's probe has had its whole timeout, so with equal
    /// intervals every round judges the chain of the same round.
    fn offset(
        &self,
        prepared: &Prepared,
        sources: &HashMap<String, (String, Duration, Duration)>,
    ) -> Duration {
        let flow = &prepared.flow;
        let own = |from: &str, name: &str, interval: Duration| {
            let o = spread_offset(from, name, interval);
            if self.jitter {
                o + jitter(interval, o.as_nanos() as u64)
            } else {
                o
            }
        };
        match prepared
            .depends_on()
            .and_then(|n| sources.get(n).map(|s| (n, s)))
        {
            Some((name, (from, interval, timeout))) => {
                // The source's jitter is at most 100 ms; stay on the grid.
                floor_to(
                    spread_offset(from, name, *interval)
                        + *timeout
                        + Duration::from_millis(150)
                        + TICK,
                    TICK,
                )
            }
            None => own(&flow.from, &flow.name, flow.interval),
        }
    }

    fn spawn(
        &self,
        slot: Arc<FlowSlot>,
        net: Arc<VantageNet>,
        cancel: CancellationToken,
        offset: Duration,
        now: Instant,
    ) {
        let state = Arc::clone(&self.state);
        let slots = Arc::clone(&self.slots);
        let shed_logged = Arc::clone(&self.shed_logged);
        let prober = Arc::clone(&self.prober);
        let interval = slot.prepared.flow.interval;
        let mut planned = *self.epoch.get_or_init(|| now) + offset;
        if planned < now {
            // A flow added by a reload: its next grid start.
            let behind = now.duration_since(planned).as_nanos();
            let steps = behind.div_ceil(interval.as_nanos().max(1));
            planned += interval * u32::try_from(steps).unwrap_or(u32::MAX);
        }
        self.tracker.spawn(async move {
            loop {
                tokio::select! {
                    biased;
                    _ = cancel.cancelled() => return,
                    _ = sleep_until(planned) => {}
                }
                let flow = &slot.prepared.flow;
                let acquired = tokio::select! {
                    biased;
                    _ = cancel.cancelled() => return,
                    s = slots.acquire(flow.severity, slot.prepared.descriptors(), SHED_AFTER) => s,
                };
                let report = match acquired {
                    Ok(permit) => {
                        let started = Instant::now();
                        state
                            .metrics
                            .lateness
                            .observe(started.saturating_duration_since(planned).as_secs_f64());
                        state.metrics.in_flight.inc();
                        let report = tokio::select! {
                            biased;
                            _ = cancel.cancelled() => None,
                            r = prober(Arc::clone(&slot.prepared), Arc::clone(&net)) => Some(r),
                        };
                        state.metrics.in_flight.dec();
                        drop(permit);
                        report
                    }
                    Err(busy) => {
                        state.metrics.shed(flow.severity).inc();
                        log_shedding(&shed_logged, busy);
                        Some(shed_report(busy))
                    }
                };
                let Some(report) = report else { return };
                state.record(&slot, report);
                planned += interval;
                let now = Instant::now();
                if planned < now {
                    // Skip whole missed intervals rather than firing a burst.
                    let behind = now.duration_since(planned);
                    let skip = (behind.as_nanos() / interval.as_nanos().max(1)) as u32 + 1;
                    planned += interval * skip;
                    state.metrics.missed.inc_by(u64::from(skip));
                }
            }
        });
    }

    /// Stop every flow task and wait for them (at most `grace`).
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.cancel.cancel();
        self.tracker.close();
        tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
    }

    /// Number of flow tasks alive.
    pub fn task_count(&self) -> usize {
        self.tracker.len()
    }
}

/// The report of a start that found no probe slot: down, reason
/// `resource`, saying what was full.
fn shed_report(busy: Busy) -> ProbeReport {
    ProbeReport {
        cause: Some(Box::new(Cause::Slot {
            used: busy.used,
            limit: busy.limit,
        })),
        reason: Reason::Resource,
        up: false,
        detail: format!(
            "not probed: no probe slot free within {} ({} of {} in use; the limit is the file-descriptor budget or defaults.max_in_flight)",
            humantime::format_duration(SHED_AFTER),
            busy.used,
            busy.limit
        ),
        started: std::time::SystemTime::now(),
        phases: Phases::default(),
        attempts: Vec::new(),
    }
}

/// One warning per [`SHED_LOG_EVERY`] while probes are shed.
fn log_shedding(last: &Mutex<Option<Instant>>, busy: Busy) {
    let mut last = last.lock();
    let now = Instant::now();
    if last.is_some_and(|t| now.duration_since(t) < SHED_LOG_EVERY) {
        return;
    }
    *last = Some(now);
    tracing::warn!(
        limit = busy.limit,
        in_use = busy.used,
        "probes are being shed (reason resource): every probe slot is in use; raise LimitNOFILE / defaults.max_in_flight, or probe fewer flows (see flowprobe_probes_shed_total)"
    );
}

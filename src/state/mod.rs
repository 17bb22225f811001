//! The live state of every scheduled flow: its prepared definition, its
//! metric handles and its last report. The scheduler writes it, the API and
//! `check` read it.
//!
//! The log tells changes, not rounds: a flow's first result is not a
//! change. The first results of the flows scheduled at start-up, and of
//! those each reload adds, are counted in a [`Round`] and logged as one
//! summary line (`first round done: 299,998 up, 2 down: ...`, the down ones
//! named up to [`MAX_NAMED`]) once every flow of the round has its first
//! result, or at the round's bound (the scheduler calls
//! [`State::close_round`]), naming the flows still pending; those log
//! their first result on their own when it comes. After that, each change
//! between up and down (or of reason) is one line, as before.

pub(crate) mod history;

use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::metrics::{FlowMetrics, Metrics};
use crate::outcome::Reason;
use crate::probe::{Prepared, ProbeReport};
use history::History;

/// `(vantage, flow name)`: unique within an instance.
pub type FlowKey = (String, String);

pub struct FlowSlot {
    pub prepared: Arc<Prepared>,
    pub metrics: Arc<FlowMetrics>,
    last: Mutex<Option<ProbeReport>>,
    /// The state last logged. Shed starts (`resource`) are not logged one
    /// by one (the scheduler logs shedding as a whole), so a flow that
    /// alternates between `filtered` and `resource` logs nothing new.
    logged: Mutex<Option<(bool, Reason)>>,
    /// The round whose summary counts this flow's first result; 0 once
    /// the flow had its first result (or left).
    round: AtomicU64,
    history: Mutex<History>,
}

impl FlowSlot {
    pub fn last(&self) -> Option<ProbeReport> {
        self.last.lock().clone()
    }

    /// `f` of the last report, without copying it (a 300,000-flow count
    /// of states must not clone every report).
    pub(crate) fn with_last<T>(&self, f: impl FnOnce(Option<&ProbeReport>) -> T) -> T {
        f(self.last.lock().as_ref())
    }

    /// The flow's recent outcomes and since when it is up (or down).
    pub(crate) fn history<T>(&self, f: impl FnOnce(&History) -> T) -> T {
        f(&self.history.lock())
    }
}

/// Flows named in a round's summary line, down or pending each; the rest
/// are counted (`and N more`). `/api/v1/flows` has them all.
pub const MAX_NAMED: usize = 20;

/// A round's summary comes at the latest this long after the slowest
/// first result it can expect (its flows' longest interval plus twice
/// their longest timeout: the first start is within an interval, a flow
/// reading another's chain waits that flow's timeout, then its own).
pub(crate) const ROUND_GRACE: Duration = Duration::from_secs(30);

/// The round of the flows scheduled at start-up.
const STARTUP_ROUND: u64 = 1;

/// The first results of one set of new flows (start-up, or a reload's).
struct Round {
    /// Flows without a first result yet.
    pending: usize,
    up: usize,
    down: usize,
    /// `vantage/flow (reason)` of the first [`MAX_NAMED`] down flows.
    named: Vec<String>,
    opened: Instant,
}

#[derive(Default)]
struct Rounds {
    /// The last round id given (0: none yet, the next is start-up's).
    last: u64,
    open: BTreeMap<u64, Round>,
}

/// All flows of the running configuration.
pub struct State {
    pub metrics: Arc<Metrics>,
    slots: RwLock<Arc<BTreeMap<FlowKey, Arc<FlowSlot>>>>,
    /// Flows that have not finished their first probe since start-up.
    pending_first: AtomicUsize,
    ready: AtomicBool,
    rounds: Mutex<Rounds>,
    /// Bumped on every report, every new flow set and every reload's
    /// verdict: readers that saw the same value saw the same state
    /// (`web::snapshot` encodes once per value).
    version: AtomicU64,
}

impl State {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        State {
            metrics,
            slots: RwLock::new(Arc::new(BTreeMap::new())),
            pending_first: AtomicUsize::new(0),
            ready: AtomicBool::new(false),
            rounds: Mutex::new(Rounds::default()),
            version: AtomicU64::new(0),
        }
    }

    pub fn slots(&self) -> Arc<BTreeMap<FlowKey, Arc<FlowSlot>>> {
        Arc::clone(&self.slots.read())
    }

    /// A slot for a flow: metric series are created now.
    pub fn make_slot(&self, prepared: Arc<Prepared>) -> Arc<FlowSlot> {
        let metrics = self.metrics.flow(&prepared.flow);
        Arc::new(FlowSlot {
            prepared,
            metrics,
            last: Mutex::new(None),
            logged: Mutex::new(None),
            round: AtomicU64::new(0),
            history: Mutex::new(History::default()),
        })
    }

    /// Replace the set of slots; series of slots that left are removed.
    /// The slots that are new form a round (the first call's: start-up's)
    /// whose first results are logged as one summary; the answer is its id
    /// and the bound after which [`State::close_round`] should close it.
    pub fn replace(&self, next: BTreeMap<FlowKey, Arc<FlowSlot>>) -> Option<(u64, Duration)> {
        let mut guard = self.slots.write();
        let mut rounds = self.rounds.lock();
        for (k, old) in guard.iter() {
            if next.get(k).is_none_or(|n| !Arc::ptr_eq(n, old)) {
                self.metrics.remove_flow(&old.metrics);
                // Left before its first result: its round waits no more.
                let r = old.round.swap(0, Ordering::AcqRel);
                if r != 0 {
                    self.first_result_gone(r);
                    if let Some(round) = rounds.open.get_mut(&r) {
                        round.pending -= 1;
                        if round.pending == 0 {
                            Self::log_round(r, rounds.open.remove(&r), &[], 0);
                        }
                    }
                }
            }
        }
        let startup = rounds.last == 0;
        let mut new = 0usize;
        let mut longest = Duration::ZERO;
        let id = rounds.last + 1;
        for (k, slot) in &next {
            let known = guard.get(k).is_some_and(|o| Arc::ptr_eq(o, slot));
            // New slots (made for this set; no task has run them yet).
            if !known {
                slot.round.store(id, Ordering::Release);
                new += 1;
                let f = &slot.prepared.flow;
                longest = longest.max(f.interval + 2 * f.timeout);
            }
        }
        if startup {
            self.pending_first.store(new, Ordering::Relaxed);
            if new == 0 {
                self.ready.store(true, Ordering::Relaxed);
            }
        }
        let opened = (startup || new > 0).then(|| {
            rounds.last = id;
            if new > 0 {
                rounds.open.insert(
                    id,
                    Round {
                        pending: new,
                        up: 0,
                        down: 0,
                        named: Vec::new(),
                        opened: Instant::now(),
                    },
                );
            }
            (id, longest + ROUND_GRACE)
        });
        drop(rounds);
        self.metrics.flows.set(next.len() as i64);
        *guard = Arc::new(next);
        self.version.fetch_add(1, Ordering::Release);
        opened.filter(|_| new > 0)
    }

    /// A start-up flow had its first result or left: readiness counts it.
    fn first_result_gone(&self, round: u64) {
        if round == STARTUP_ROUND && !self.ready.load(Ordering::Relaxed) {
            let before = self.pending_first.fetch_sub(1, Ordering::Relaxed);
            if before <= 1 {
                self.ready.store(true, Ordering::Relaxed);
            }
        }
    }

    /// The round's bound has passed: log its summary now if it is still
    /// open, naming the flows without a first result. Each of those logs
    /// its first result on its own when it comes (as a change).
    pub fn close_round(&self, id: u64) {
        // Lock order as in `replace`: the slots, then the rounds.
        let slots = self.slots();
        let mut rounds = self.rounds.lock();
        let Some(round) = rounds.open.remove(&id) else {
            return;
        };
        let late: Vec<String> = slots
            .values()
            .filter(|s| s.round.load(Ordering::Acquire) == id)
            .take(MAX_NAMED)
            .map(|s| format!("{}/{}", s.prepared.flow.from, s.prepared.flow.name))
            .collect();
        let pending = round.pending;
        Self::log_round(id, Some(round), &late, pending);
    }

    /// The summary line of a round: `first round done: N up, M down: ...`.
    fn log_round(id: u64, round: Option<Round>, late: &[String], pending: usize) {
        let Some(r) = round else { return };
        let what = if id == STARTUP_ROUND {
            "first round done"
        } else {
            "first round of the flows the reload added done"
        };
        let mut text = format!(
            "{what}: {} up, {} down",
            crate::text::thousands(r.up as u64),
            crate::text::thousands(r.down as u64)
        );
        if r.down > 0 {
            text.push_str(&format!(
                ": {}{}",
                r.named.join(", "),
                more(r.down, r.named.len())
            ));
        }
        if pending > 0 {
            text.push_str(&format!(
                "; {} without a first result after {} s (each logs it when it comes): {}{}",
                crate::text::thousands(pending as u64),
                r.opened.elapsed().as_secs(),
                late.join(", "),
                more(pending, late.len())
            ));
        }
        let round = if id == STARTUP_ROUND {
            "start-up"
        } else {
            "reload"
        };
        if r.down > 0 || pending > 0 {
            tracing::warn!(round, up = r.up, down = r.down, pending, "{text}");
        } else {
            tracing::info!(round, up = r.up, down = r.down, pending, "{text}");
        }
    }

    /// Something the API shows besides the flows changed (a reload's
    /// verdict and time): readers must not take an older encoding.
    pub(crate) fn touch(&self) {
        self.version.fetch_add(1, Ordering::Release);
    }

    /// Changes whenever what the API shows changes.
    pub(crate) fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Ready once every flow scheduled at start-up has been probed once.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Count a flow's first result in its round; false when the round was
    /// closed already (the result is then logged as a change).
    fn count_first(&self, round: u64, slot: &FlowSlot, report: &ProbeReport) -> bool {
        let mut rounds = self.rounds.lock();
        let Some(r) = rounds.open.get_mut(&round) else {
            return false;
        };
        if report.up {
            r.up += 1;
        } else {
            r.down += 1;
            if r.named.len() < MAX_NAMED {
                let f = &slot.prepared.flow;
                r.named
                    .push(format!("{}/{} ({})", f.from, f.name, report.reason));
            }
        }
        r.pending -= 1;
        if r.pending == 0 {
            Self::log_round(round, rounds.open.remove(&round), &[], 0);
        }
        true
    }

    /// Store a report: metrics, last outcome, and a log line when the flow
    /// changed state (never one per probe; a first result is counted in
    /// its round's summary instead).
    pub fn record(&self, slot: &FlowSlot, report: ProbeReport) {
        self.metrics.record(&slot.metrics, &report);
        let flow = &slot.prepared.flow;
        let mut last = slot.last.lock();
        let now = (report.up, report.reason);
        let round = slot.round.swap(0, Ordering::AcqRel);
        if round != 0 && self.count_first(round, slot, &report) {
            *slot.logged.lock() = Some(now);
        } else if report.reason != Reason::Resource && *slot.logged.lock() != Some(now) {
            *slot.logged.lock() = Some(now);
            if report.up {
                tracing::info!(
                    vantage = %flow.from, flow = %flow.name, target = %flow.endpoint(),
                    reason = %report.reason, "flow up"
                );
            } else {
                tracing::warn!(
                    vantage = %flow.from, flow = %flow.name, target = %flow.endpoint(),
                    reason = %report.reason, detail = %report.detail, "flow down"
                );
            }
        }
        slot.history
            .lock()
            .push(report.started, report.up, report.reason);
        *last = Some(report);
        drop(last);
        if round != 0 {
            self.first_result_gone(round);
        }
        self.version.fetch_add(1, Ordering::Release);
    }
}

/// `, and N more` when `named` of `total` were named.
fn more(total: usize, named: usize) -> String {
    if total > named {
        format!(
            ", and {} more",
            crate::text::thousands((total - named) as u64)
        )
    } else {
        String::new()
    }
}

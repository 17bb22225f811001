//! The live state of every scheduled flow: its prepared definition, its
//! metric handles and its last report. The scheduler writes it, the API and
//! `check` read it.

pub mod history;

use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

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
    history: Mutex<History>,
}

impl FlowSlot {
    pub fn last(&self) -> Option<ProbeReport> {
        self.last.lock().clone()
    }

    /// `f` of the last report, without copying it (a 300,000-flow count
    /// of states must not clone every report).
    pub fn with_last<T>(&self, f: impl FnOnce(Option<&ProbeReport>) -> T) -> T {
        f(self.last.lock().as_ref())
    }

    /// The flow's recent outcomes and since when it is up (or down).
    pub fn history<T>(&self, f: impl FnOnce(&History) -> T) -> T {
        f(&self.history.lock())
    }
}

/// All flows of the running configuration.
pub struct State {
    pub metrics: Arc<Metrics>,
    slots: RwLock<Arc<BTreeMap<FlowKey, Arc<FlowSlot>>>>,
    /// Flows that have not finished their first probe since start-up.
    pending_first: AtomicUsize,
    ready: AtomicBool,
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
            history: Mutex::new(History::default()),
        })
    }

    /// Replace the set of slots; series of slots that left are removed.
    pub fn replace(&self, next: BTreeMap<FlowKey, Arc<FlowSlot>>) {
        let mut guard = self.slots.write();
        for (k, old) in guard.iter() {
            if next.get(k).is_none_or(|n| !Arc::ptr_eq(n, old)) {
                self.metrics.remove_flow(&old.metrics);
            }
        }
        if !self.ready.load(Ordering::Relaxed) {
            let pending = next.values().filter(|s| s.last().is_none()).count();
            self.pending_first.store(pending, Ordering::Relaxed);
            if pending == 0 {
                self.ready.store(true, Ordering::Relaxed);
            }
        }
        self.metrics.flows.set(next.len() as i64);
        *guard = Arc::new(next);
        self.version.fetch_add(1, Ordering::Release);
    }

    /// Something the API shows besides the flows changed (a reload's
    /// verdict and time): readers must not take an older encoding.
    pub fn touch(&self) {
        self.version.fetch_add(1, Ordering::Release);
    }

    /// Changes whenever what the API shows changes.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Ready once every flow scheduled at start-up has been probed once.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Store a report: metrics, last outcome, and a log line when the flow
    /// changed state (never one per probe).
    pub fn record(&self, slot: &FlowSlot, report: ProbeReport) {
        self.metrics.record(&slot.metrics, &report);
        let flow = &slot.prepared.flow;
        let mut last = slot.last.lock();
        let now = (report.up, report.reason);
        if report.reason != Reason::Resource && *slot.logged.lock() != Some(now) {
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
        let first = last.is_none();
        *last = Some(report);
        drop(last);
        if first && !self.ready.load(Ordering::Relaxed) {
            let before = self.pending_first.fetch_sub(1, Ordering::Relaxed);
            if before <= 1 {
                self.ready.store(true, Ordering::Relaxed);
                tracing::info!("first round of probes complete: ready");
            }
        }
        self.version.fetch_add(1, Ordering::Release);
    }
}

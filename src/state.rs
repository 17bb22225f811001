//! The live state of every scheduled flow: its prepared definition, its
//! metric handles and its last report. The scheduler writes it, the API and
//! `check` read it.

use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::metrics::{FlowMetrics, Metrics};
use crate::outcome::Reason;
use crate::probe::{Prepared, ProbeReport};

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
}

impl FlowSlot {
    pub fn last(&self) -> Option<ProbeReport> {
        self.last.lock().clone()
    }
}

/// All flows of the running configuration.
pub struct State {
    pub metrics: Arc<Metrics>,
    slots: RwLock<Arc<BTreeMap<FlowKey, Arc<FlowSlot>>>>,
    /// Flows that have not finished their first probe since start-up.
    pending_first: AtomicUsize,
    ready: AtomicBool,
}

impl State {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        State {
            metrics,
            slots: RwLock::new(Arc::new(BTreeMap::new())),
            pending_first: AtomicUsize::new(0),
            ready: AtomicBool::new(false),
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
    }
}

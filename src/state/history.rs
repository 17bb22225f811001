//! The last outcomes of one flow, for the status page's history strip and
//! `/api/v1/flows`: a bounded ring (memory per flow is fixed, whatever the
//! daemon's uptime) and the time of the last change between up and down,
//! which outlives the ring ("down since" stays right after 60 probes).

use std::collections::VecDeque;
use std::time::SystemTime;

use serde::Serialize;

use crate::outcome::Reason;

/// Outcomes kept per flow: an hour at the default 60 s interval, half an
/// hour at 30 s. Eight bytes each, so 100,000 flows hold about 48 MB.
pub(crate) const HISTORY_LEN: usize = 60;

/// One past probe, packed: start second (u32 Unix time lasts until 2106),
/// reason, up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Packed {
    t: u32,
    reason: Reason,
    up: bool,
}

/// One past probe as `/api/v1/flows` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// Start of the probe, Unix seconds.
    pub t: u32,
    pub up: bool,
    pub reason: Reason,
}

/// The ring and the state-change time of one flow.
#[derive(Debug, Default)]
pub(crate) struct History {
    ring: VecDeque<Packed>,
    /// When the flow entered its current up/down state (the first probe
    /// that saw it), Unix seconds.
    since: Option<u32>,
}

fn unix(t: SystemTime) -> u32 {
    u32::try_from(crate::text::unix_secs(t).max(0)).unwrap_or(u32::MAX)
}

impl History {
    /// Append a probe's outcome, dropping the oldest beyond [`HISTORY_LEN`].
    pub(crate) fn push(&mut self, started: SystemTime, up: bool, reason: Reason) {
        let t = unix(started);
        let changed = self.ring.back().is_none_or(|last| last.up != up);
        if changed {
            self.since = Some(t);
        }
        if self.ring.len() == HISTORY_LEN {
            self.ring.pop_front();
        } else if self.ring.capacity() == 0 {
            self.ring.reserve_exact(HISTORY_LEN);
        }
        self.ring.push_back(Packed { t, reason, up });
    }

    /// When the current up/down state began; `None` before the first probe.
    pub(crate) fn since(&self) -> Option<u32> {
        self.since
    }

    /// Oldest first.
    pub(crate) fn entries(&self) -> Vec<HistoryEntry> {
        self.ring
            .iter()
            .map(|p| HistoryEntry {
                t: p.t,
                up: p.up,
                reason: p.reason,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    #[test]
    fn ring_is_bounded_and_keeps_the_newest() {
        let mut h = History::default();
        for i in 0..(HISTORY_LEN as u64 + 25) {
            h.push(at(1_000 + i), true, Reason::Ok);
        }
        let e = h.entries();
        assert_eq!(e.len(), HISTORY_LEN);
        assert_eq!(e[0].t, 1_025);
        assert_eq!(e[HISTORY_LEN - 1].t, 1_000 + HISTORY_LEN as u32 + 24);
        assert!(
            h.ring.capacity() < 2 * HISTORY_LEN,
            "no growth past the ring"
        );
    }

    #[test]
    fn since_moves_only_when_up_changes_and_outlives_the_ring() {
        let mut h = History::default();
        assert_eq!(h.since(), None);
        h.push(at(10), true, Reason::Ok);
        h.push(at(20), true, Reason::Ok);
        assert_eq!(h.since(), Some(10));
        h.push(at(30), false, Reason::Refused);
        // Another failure reason is the same down state.
        h.push(at(40), false, Reason::Filtered);
        assert_eq!(h.since(), Some(30));
        for i in 0..(2 * HISTORY_LEN as u64) {
            h.push(at(50 + i), false, Reason::Filtered);
        }
        assert_eq!(h.since(), Some(30), "the change is older than the ring");
        h.push(at(10_000), true, Reason::Ok);
        assert_eq!(h.since(), Some(10_000));
        let last = h.entries().pop().expect("entry");
        assert_eq!((last.up, last.reason), (true, Reason::Ok));
    }
}

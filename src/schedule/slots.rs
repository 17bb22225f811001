//! Probe slots: the file-descriptor budget (`net::fds`) shared by every
//! flow, handed out by severity.
//!
//! A start that finds no slot within a short wait is shed (the scheduler
//! records it as `resource`) rather than queued: a queue behind a full
//! budget drifts silently, whole intervals late. When slots free up,
//! critical flows get them before warning ones, and warning before info;
//! and warning and info flows never take the last twentieth of the budget,
//! so a flood of dropped info flows cannot lock a critical flow out.

use parking_lot::{Mutex, MutexGuard};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::config::Severity;

/// The pool of probe slots.
pub struct Slots {
    inner: Mutex<Inner>,
}

struct Inner {
    limit: usize,
    used: usize,
    /// Waiters by rank (0 = critical); closed ones are dropped lazily.
    queues: [VecDeque<Waiter>; 3],
    /// Live waiters by rank (queued, not yet handed a slot or gone).
    waiting: [usize; 3],
}

struct Waiter {
    weight: usize,
    tx: oneshot::Sender<()>,
}

/// A held slot; dropping it frees it for the next waiter.
pub struct Slot {
    pool: Arc<Slots>,
    weight: usize,
}

/// Why no slot was handed out: the pool as it was when the wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub limit: usize,
    pub used: usize,
}

fn rank(s: Severity) -> usize {
    match s {
        Severity::Critical => 0,
        Severity::Warning => 1,
        Severity::Info => 2,
    }
}

impl Inner {
    /// Slots only critical flows may take.
    fn headroom(&self) -> usize {
        self.limit / 20
    }

    fn fits(&self, rank: usize, weight: usize) -> bool {
        let keep = if rank == 0 { 0 } else { self.headroom() };
        self.used + weight + keep <= self.limit
    }

    /// Hand free slots to the waiters, most severe first. Strict: while the
    /// first live waiter of a rank does not fit, no lesser rank is served.
    fn hand_off(&mut self) {
        for r in 0..3 {
            while let Some(front) = self.queues[r].front() {
                if front.tx.is_closed() {
                    self.queues[r].pop_front();
                    continue;
                }
                if !self.fits(r, front.weight) {
                    return;
                }
                let Some(w) = self.queues[r].pop_front() else {
                    break;
                };
                self.waiting[r] -= 1;
                self.used += w.weight;
                if w.tx.send(()).is_err() {
                    self.used -= w.weight;
                }
            }
        }
    }
}

impl Slots {
    pub fn new(limit: usize) -> Arc<Slots> {
        Arc::new(Slots {
            inner: Mutex::new(Inner {
                limit: limit.max(1),
                used: 0,
                queues: Default::default(),
                waiting: [0; 3],
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock()
    }

    pub(crate) fn limit(&self) -> usize {
        self.lock().limit
    }

    #[cfg(test)]
    pub(crate) fn in_use(&self) -> usize {
        self.lock().used
    }

    /// Change the limit (a reload changed `defaults.max_in_flight`). Slots
    /// held beyond a lower limit are kept until they are released.
    pub(crate) fn set_limit(&self, limit: usize) {
        let mut g = self.lock();
        g.limit = limit.max(1);
        g.hand_off();
    }

    /// A slot of `weight` descriptors for a flow of `severity`, waiting at
    /// most `wait`. A weight above the whole limit is cut to it (the probe
    /// then runs alone rather than never).
    pub(crate) async fn acquire(
        self: &Arc<Self>,
        severity: Severity,
        weight: usize,
        wait: Duration,
    ) -> Result<Slot, Busy> {
        let r = rank(severity);
        let (weight, rx) = {
            let mut g = self.lock();
            let weight = weight.clamp(1, g.limit);
            let ahead: usize = g.waiting[..=r].iter().sum();
            if ahead == 0 && g.fits(r, weight) {
                g.used += weight;
                return Ok(self.slot(weight));
            }
            let (tx, rx) = oneshot::channel();
            g.queues[r].push_back(Waiter { weight, tx });
            g.waiting[r] += 1;
            (weight, rx)
        };
        let mut pending = Pending {
            pool: self,
            rank: r,
            weight,
            rx,
            done: false,
        };
        let handed = matches!(
            tokio::time::timeout(wait, &mut pending.rx).await,
            Ok(Ok(()))
        );
        // Otherwise the lock decides: a slot handed over at the last
        // moment is taken, not leaked.
        let mut g = self.lock();
        if handed || pending.rx.try_recv().is_ok() {
            pending.done = true;
            return Ok(self.slot(weight));
        }
        pending.done = true;
        g.waiting[r] -= 1;
        // Dropping the receiver under the lock marks the waiter closed.
        pending.rx.close();
        Err(Busy {
            limit: g.limit,
            used: g.used,
        })
    }

    fn slot(self: &Arc<Self>, weight: usize) -> Slot {
        Slot {
            pool: Arc::clone(self),
            weight,
        }
    }
}

/// A queued wait; cancelled (the flow stopped) it settles its accounting.
struct Pending<'a> {
    pool: &'a Arc<Slots>,
    rank: usize,
    weight: usize,
    rx: oneshot::Receiver<()>,
    done: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut g = self.pool.lock();
        if self.rx.try_recv().is_ok() {
            // Handed a slot nobody will use: give it back.
            g.used = g.used.saturating_sub(self.weight);
            g.hand_off();
        } else {
            g.waiting[self.rank] -= 1;
            self.rx.close();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut g = self.pool.lock();
        g.used = g.used.saturating_sub(self.weight);
        g.hand_off();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_millis(250);

    #[tokio::test(start_paused = true)]
    async fn free_slots_are_taken_at_once_and_a_full_pool_sheds_after_the_wait() {
        let pool = Slots::new(2);
        let a = pool.acquire(Severity::Info, 1, WAIT).await.expect("free");
        let _b = pool
            .acquire(Severity::Critical, 1, WAIT)
            .await
            .expect("free");
        let t = tokio::time::Instant::now();
        let busy = pool
            .acquire(Severity::Critical, 1, WAIT)
            .await
            .err()
            .expect("full");
        assert_eq!(busy, Busy { limit: 2, used: 2 });
        assert_eq!(t.elapsed(), WAIT);
        drop(a);
        assert_eq!(pool.in_use(), 1);
        assert!(pool.acquire(Severity::Info, 1, WAIT).await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_freed_slot_goes_to_the_most_severe_waiter() {
        let pool = Slots::new(1);
        let held = pool
            .acquire(Severity::Critical, 1, WAIT)
            .await
            .expect("free");
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // Queued info first, then warning, then critical.
        for s in [Severity::Info, Severity::Warning, Severity::Critical] {
            let (pool, order) = (Arc::clone(&pool), Arc::clone(&order));
            tasks.push(tokio::spawn(async move {
                if let Ok(slot) = pool.acquire(s, 1, Duration::from_secs(10)).await {
                    order.lock().push(s);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    drop(slot);
                }
            }));
            tokio::task::yield_now().await;
        }
        drop(held);
        for t in tasks {
            t.await.expect("task");
        }
        let got = order.lock().clone();
        assert_eq!(
            got,
            vec![Severity::Critical, Severity::Warning, Severity::Info]
        );
        assert_eq!(pool.in_use(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_last_twentieth_is_kept_for_critical_flows() {
        let pool = Slots::new(40);
        let mut held = Vec::new();
        for _ in 0..38 {
            held.push(pool.acquire(Severity::Info, 1, WAIT).await.expect("free"));
        }
        assert!(pool.acquire(Severity::Warning, 1, WAIT).await.is_err());
        assert!(pool.acquire(Severity::Info, 1, WAIT).await.is_err());
        let c1 = pool.acquire(Severity::Critical, 1, WAIT).await;
        let c2 = pool.acquire(Severity::Critical, 1, WAIT).await;
        assert!(c1.is_ok() && c2.is_ok(), "critical flows use the headroom");
        assert_eq!(pool.in_use(), 40);
    }

    #[tokio::test(start_paused = true)]
    async fn waits_that_end_or_are_cancelled_leak_no_slot() {
        let pool = Slots::new(1);
        let held = pool.acquire(Severity::Info, 1, WAIT).await.expect("free");
        // A waiter whose task is cancelled while queued.
        let waiter = tokio::spawn({
            let pool = Arc::clone(&pool);
            async move {
                pool.acquire(Severity::Info, 1, Duration::from_secs(60))
                    .await
            }
        });
        tokio::task::yield_now().await;
        waiter.abort();
        let _ = waiter.await;
        // A waiter that times out.
        assert!(pool.acquire(Severity::Info, 1, WAIT).await.is_err());
        drop(held);
        assert_eq!(pool.in_use(), 0);
        let again = pool.acquire(Severity::Info, 1, WAIT).await;
        assert!(again.is_ok(), "the slot came back");
        // A heavier probe than the pool runs alone.
        drop(again);
        let heavy = pool
            .acquire(Severity::Critical, 2, WAIT)
            .await
            .expect("cut");
        assert_eq!(pool.in_use(), 1);
        drop(heavy);
        pool.set_limit(3);
        assert_eq!(pool.limit(), 3);
    }
}

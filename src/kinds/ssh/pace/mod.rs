//! Pacing of pre-authentication SSH connections: at most one connection
//! start per `pace` from one source to one server address, whatever the
//! number of flows, address-family attempts and one-shot checks.
//!
//! Why: OpenSSH 9.8 and later penalise a source address for every
//! connection that ends before authenticating (`PerSourcePenalties`; see
//! `config::ssh_pace`), and every SSH probe is one. Probes faster than the
//! penalty decays get the vantage refused for up to 10 minutes, and the
//! flow goes red for a reason flowprobe made.
//!
//! One [`Pacer`] serves the whole process ([`shared`]): the daemon's flows,
//! the flows of a reloaded configuration (the pacer outlives reloads, so a
//! reload does not reset what the server has counted) and the one-shot
//! checks of `POST /api/v1/check` all draw on the same lanes, as the
//! server counts them together.
//!
//! Each lane is a FIFO queue (a fair async mutex) holding the time of the
//! lane's last start. A waiter holds the lane only while it sleeps for its
//! turn, and records its start only once the wait is over: a waiter that is
//! cancelled (its flow stopped, its timeout ran out) leaves the queue and
//! the last start as they were, so it holds no slot.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::{Instant, sleep_until, timeout_at};

use crate::config::Vantage;

/// Which lane a connection waits in: the source as the server sees it and
/// the server's address.
///
/// - The source: OpenSSH counts penalties per client address (IPv4 /32,
///   IPv6 /64 by default, `PerSourceNetBlockSize`), so vantages that leave
///   from one address share a lane whatever their names: a pinned source
///   address (an IPv6 one cut to its /64), else the interface, else the
///   host's default route.
/// - The server address, without the port: the penalty table belongs to
///   the sshd listener, and one sshd often listens on several ports
///   (`Port 22`, `Port 2222`); pacing across ports costs at most a wait of
///   one pace, while telling ports apart would let those probes run at
///   twice the rate the server forgives. Two addresses of one server are
///   two lanes: nothing here can know they are one sshd.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PaceKey {
    source: Source,
    server: IpAddr,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Source {
    Address(IpAddr),
    Interface(String),
    DefaultRoute,
}

impl PaceKey {
    pub(crate) fn new(vantage: &Vantage, server: IpAddr) -> Self {
        let source = match (&vantage.source_address, &vantage.interface) {
            (Some(ip), _) => Source::Address(penalty_block(*ip)),
            (None, Some(interface)) => Source::Interface(interface.clone()),
            (None, None) => Source::DefaultRoute,
        };
        PaceKey { source, server }
    }

    #[cfg(test)]
    pub(crate) fn server(&self) -> IpAddr {
        self.server
    }
}

/// The address block OpenSSH's default `PerSourceNetBlockSize 32:64`
/// counts as one source.
fn penalty_block(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !(u128::MAX >> 64);
            IpAddr::V6(bits.into())
        }
    }
}

/// No start was free early enough for the probe to still be worth making.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "not probed: SSH connections to {server} from this vantage's address are paced one per {}, \
     and no start was free in time (waited {})",
    humantime::format_duration(*pace),
    humantime::format_duration(*waited)
)]
pub(crate) struct PaceTimeout {
    pub server: IpAddr,
    pub pace: Duration,
    /// How long the probe waited before giving up, rounded to milliseconds.
    pub waited: Duration,
}

/// The time of a lane's last connection start.
type Lane = Arc<tokio::sync::Mutex<Option<Instant>>>;

/// Lanes beyond this many are pruned of idle ones when a new lane is made.
const PRUNE_ABOVE: usize = 256;

/// The per-process pacer; see the module doc.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    lanes: Mutex<HashMap<PaceKey, Lane>>,
}

/// The pacer of this process.
pub(crate) fn shared() -> &'static Pacer {
    static PACER: LazyLock<Pacer> = LazyLock::new(Pacer::default);
    &PACER
}

impl Pacer {
    /// Waits for this lane's turn: returns once at least `pace` has passed
    /// since the lane's last start, and records this start. Gives up, with
    /// nothing recorded, when the turn would come after `latest`.
    /// Cancellation-safe: dropping the future at any await leaves the lane
    /// as if this call had never been made.
    pub(crate) async fn wait(
        &self,
        key: &PaceKey,
        pace: Duration,
        latest: Instant,
    ) -> Result<Duration, PaceTimeout> {
        if pace.is_zero() {
            return Ok(Duration::ZERO);
        }
        let started = Instant::now();
        let give_up = || PaceTimeout {
            server: key.server,
            pace,
            waited: millis(started.elapsed()),
        };
        let lane = self.lane(key);
        let Ok(mut last) = timeout_at(latest, lane.lock()).await else {
            return Err(give_up());
        };
        if let Some(previous) = *last {
            let turn = previous + pace;
            if turn > latest {
                return Err(give_up());
            }
            sleep_until(turn).await;
        }
        *last = Some(Instant::now());
        Ok(started.elapsed())
    }

    fn lane(&self, key: &PaceKey) -> Lane {
        let mut lanes = self.lanes.lock();
        if let Some(lane) = lanes.get(key) {
            return Arc::clone(lane);
        }
        if lanes.len() >= PRUNE_ABOVE {
            lanes.retain(|_, lane| !idle(lane));
        }
        Arc::clone(lanes.entry(key.clone()).or_default())
    }

    /// Lanes currently kept, for tests of the pruning.
    #[cfg(test)]
    fn lane_count(&self) -> usize {
        self.lanes.lock().len()
    }
}

/// Whether dropping a lane loses nothing: nobody holds or waits for it and
/// its last start is older than any pace.
fn idle(lane: &Lane) -> bool {
    Arc::strong_count(lane) == 1
        && lane.try_lock().is_ok_and(|last| {
            last.is_none_or(|t| t.elapsed() > crate::config::ssh_pace::MAX_SSH_PACE)
        })
}

fn millis(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests;

//! The pacer under tokio's paused clock: starts are spaced by the pace,
//! lanes are independent, and a waiter that gives up or is cancelled
//! holds no slot.

use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

const PACE: Duration = Duration::from_secs(1);

fn vantage(source: Option<&str>) -> Vantage {
    let mut v = Vantage::unpinned("v");
    v.source_address = source.map(|s| s.parse().expect("ip"));
    v
}

fn key(server: &str) -> PaceKey {
    PaceKey::new(&vantage(None), server.parse().expect("ip"))
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(3600)
}

/// Starts `n` waiters on one lane at once; their start times, sorted, as
/// offsets from now.
async fn starts(pacer: &Arc<Pacer>, k: &PaceKey, n: usize) -> Vec<Duration> {
    let t0 = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (pacer, k) = (Arc::clone(pacer), k.clone());
        set.spawn(async move {
            pacer.wait(&k, PACE, far()).await.expect("in time");
            Instant::now() - t0
        });
    }
    let mut out = set.join_all().await;
    out.sort();
    out
}

#[tokio::test(start_paused = true)]
async fn concurrent_waiters_start_one_pace_apart() {
    let pacer = Arc::new(Pacer::default());
    let got = starts(&pacer, &key("192.0.2.1"), 5).await;
    let want: Vec<Duration> = (0..5).map(|i| PACE * i).collect();
    assert_eq!(got, want);
}

#[tokio::test(start_paused = true)]
async fn a_later_caller_waits_only_for_the_rest_of_the_pace() {
    let pacer = Pacer::default();
    let k = key("192.0.2.1");
    assert_eq!(pacer.wait(&k, PACE, far()).await, Ok(Duration::ZERO));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let waited = pacer.wait(&k, PACE, far()).await.expect("in time");
    assert_eq!(waited, Duration::from_millis(700));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(pacer.wait(&k, PACE, far()).await, Ok(Duration::ZERO));
}

#[tokio::test(start_paused = true)]
async fn lanes_are_per_server_address_and_source_but_not_port_or_name() {
    let pacer = Pacer::default();
    pacer
        .wait(&key("192.0.2.1"), PACE, far())
        .await
        .expect("first");
    // Another server: its own lane.
    assert_eq!(
        pacer.wait(&key("192.0.2.2"), PACE, far()).await,
        Ok(Duration::ZERO)
    );
    // Another vantage leaving from the same (default) address: the same lane.
    let mut other = Vantage::unpinned("other-name");
    other.labels.insert("x".into(), "y".into());
    let same = PaceKey::new(&other, "192.0.2.1".parse().expect("ip"));
    assert_eq!(same, key("192.0.2.1"));
    // A pinned source address: its own lane.
    let pinned = PaceKey::new(
        &vantage(Some("198.51.100.7")),
        "192.0.2.1".parse().expect("ip"),
    );
    assert_ne!(pinned, key("192.0.2.1"));
    assert_eq!(pacer.wait(&pinned, PACE, far()).await, Ok(Duration::ZERO));
}

#[test]
fn ipv6_sources_in_one_slash_64_share_a_lane() {
    let server = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let a = PaceKey::new(&vantage(Some("2001:db8:1:2::10")), server);
    let b = PaceKey::new(&vantage(Some("2001:db8:1:2:ffff::1")), server);
    let c = PaceKey::new(&vantage(Some("2001:db8:1:3::10")), server);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(
        penalty_block("2001:db8:1:2:aaaa::1".parse().expect("ip")),
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, 0))
    );
}

#[tokio::test(start_paused = true)]
async fn zero_pace_never_waits() {
    let pacer = Pacer::default();
    let k = key("192.0.2.1");
    for _ in 0..10 {
        assert_eq!(
            pacer.wait(&k, Duration::ZERO, Instant::now()).await,
            Ok(Duration::ZERO)
        );
    }
    assert_eq!(pacer.lane_count(), 0, "no lane for an unpaced vantage");
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_waiter_holds_no_slot() {
    let pacer = Arc::new(Pacer::default());
    let k = key("192.0.2.1");
    let t0 = Instant::now();
    pacer.wait(&k, PACE, far()).await.expect("first start at 0");
    // B waits for its turn at 1 s; C queues behind it.
    let b = tokio::spawn({
        let (pacer, k) = (Arc::clone(&pacer), k.clone());
        async move { pacer.wait(&k, PACE, far()).await }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    let c = tokio::spawn({
        let (pacer, k) = (Arc::clone(&pacer), k.clone());
        async move {
            pacer.wait(&k, PACE, far()).await.expect("in time");
            Instant::now() - t0
        }
    });
    tokio::time::sleep(Duration::from_millis(490)).await;
    b.abort();
    assert!(b.await.expect_err("aborted").is_cancelled());
    // C takes B's turn at 1 s, not 2 s.
    assert_eq!(c.await.expect("c"), PACE);
}

#[tokio::test(start_paused = true)]
async fn a_turn_past_the_latest_start_gives_up_at_once_and_records_nothing() {
    let pacer = Arc::new(Pacer::default());
    let k = key("192.0.2.1");
    let t0 = Instant::now();
    pacer.wait(&k, PACE, far()).await.expect("first");
    // The turn comes at 1 s; this caller must start by 0.5 s.
    let err = pacer
        .wait(&k, PACE, t0 + Duration::from_millis(500))
        .await
        .expect_err("too late");
    assert_eq!(err.waited, Duration::ZERO, "gave up without sleeping");
    assert_eq!(err.pace, PACE);
    assert_eq!(err.server, k.server());
    assert!(err.to_string().contains("paced one per 1s"), "{err}");
    // The next caller still gets the 1 s turn.
    pacer.wait(&k, PACE, far()).await.expect("in time");
    assert_eq!(Instant::now() - t0, PACE);
}

#[tokio::test(start_paused = true)]
async fn a_waiter_queued_past_its_latest_start_leaves_the_queue() {
    let pacer = Arc::new(Pacer::default());
    let k = key("192.0.2.1");
    let t0 = Instant::now();
    pacer.wait(&k, PACE, far()).await.expect("first");
    // B holds the lane until its turn at 1 s.
    let b = tokio::spawn({
        let (pacer, k) = (Arc::clone(&pacer), k.clone());
        async move { pacer.wait(&k, PACE, far()).await }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    // C must start by 0.6 s: it gives up in the queue, at 0.6 s.
    let err = pacer
        .wait(&k, PACE, t0 + Duration::from_millis(600))
        .await
        .expect_err("too late");
    assert_eq!(err.waited, Duration::from_millis(590));
    assert!(b.await.expect("b").is_ok());
    assert_eq!(Instant::now() - t0, PACE);
    // D: one pace after B.
    pacer.wait(&k, PACE, far()).await.expect("in time");
    assert_eq!(Instant::now() - t0, PACE * 2);
}

#[tokio::test(start_paused = true)]
async fn idle_lanes_are_pruned_busy_ones_kept() {
    let pacer = Pacer::default();
    for i in 0..PRUNE_ABOVE {
        let server = IpAddr::V4(Ipv4Addr::from(0xc000_0200 + i as u32));
        pacer
            .wait(&PaceKey::new(&vantage(None), server), PACE, far())
            .await
            .expect("first start of its lane");
    }
    assert_eq!(pacer.lane_count(), PRUNE_ABOVE);
    // Recent starts still count: nothing is pruned yet.
    pacer
        .wait(&key("198.51.100.1"), PACE, far())
        .await
        .expect("new");
    assert_eq!(pacer.lane_count(), PRUNE_ABOVE + 1);
    // Past the longest pace every lane is idle.
    tokio::time::sleep(crate::config::ssh_pace::MAX_SSH_PACE * 2).await;
    pacer
        .wait(&key("198.51.100.2"), PACE, far())
        .await
        .expect("new");
    assert_eq!(pacer.lane_count(), 1);
}

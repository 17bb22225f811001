//! OpenSSH 9.8's `PerSourcePenalties` against the SSH pace. Debian 12 ships
//! OpenSSH 9.2 (no penalties) and no newer package is at hand, so the
//! server here is a fake that keeps the books as OpenSSH's `srclimit.c`
//! does: every connection that ends before authenticating adds `noauth` to
//! its source address's penalty, which decays in real time; once more than
//! `threshold` is outstanding, the listener refuses the address (it writes
//! `Not allowed at this time` and closes) until the penalty expires. The
//! times are scaled down (OpenSSH: 1 s per connection, refusal past 15 s)
//! so the tests take seconds; the pace is scaled with them.
//!
//! Each fake listens on its own loopback address (127.0.0.x), so its pace
//! lane is its own even when tests share a process (`cargo test`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flowprobe::config::Config;
use flowprobe::kinds::ssh::Ssh;
use flowprobe::outcome::Reason;
use flowprobe::probe::{ProbeReport, once::run_once};
use flowprobe::schedule::Scheduler;
use flowprobe::state::State;
use flowprobe::wire::ssh::{KexInit, RefusalNotice, SshWireError, encode_packet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use flowprobe_testkit as support;

/// Penalty per unauthenticated connection (OpenSSH `noauth`: 1 s), and
/// the pace that matches it.
const NOAUTH: Duration = Duration::from_millis(400);
/// Outstanding penalty past which the source is refused (OpenSSH: 15 s).
const THRESHOLD: Duration = Duration::from_millis(1200);
/// Slack for the scheduling of the fake's accept loop.
const TOLERANCE: Duration = Duration::from_millis(60);

/// What the fake saw.
#[derive(Default)]
struct Books {
    /// When each connection was accepted, refused ones included.
    accepts: Vec<Instant>,
    /// Connections refused for their source's penalty.
    refused: usize,
    /// The most penalty ever outstanding for one source.
    max_outstanding: Duration,
    /// Per source address: when its penalty expires, and whether it is
    /// active (refusing).
    penalties: HashMap<IpAddr, (Instant, bool)>,
}

impl Books {
    /// `srclimit_penalty_check_allow`: refuse an active, unexpired penalty.
    fn allows(&mut self, source: IpAddr, now: Instant) -> bool {
        match self.penalties.get(&source) {
            Some(&(expiry, active)) if expiry >= now => !active,
            _ => true,
        }
    }

    /// `srclimit_penalise` for `noauth`: accumulate, activate past the
    /// threshold.
    fn penalise(&mut self, source: IpAddr, now: Instant) {
        let expiry = match self.penalties.get(&source) {
            Some(&(expiry, _)) if expiry >= now => expiry + NOAUTH,
            _ => now + NOAUTH,
        };
        let outstanding = expiry - now;
        let active = outstanding > THRESHOLD;
        self.max_outstanding = self.max_outstanding.max(outstanding);
        self.penalties.insert(source, (expiry, active));
    }
}

/// A penalising SSH server; its tasks end when it is dropped.
struct PenalisingSshd {
    addr: SocketAddr,
    books: Arc<Mutex<Books>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PenalisingSshd {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every
        // connection task.
        self.task.abort();
    }
}

/// A loopback address of its own for this fake (127.0.0.2 to 127.0.0.254):
/// distinct for every fake of this process, so no two share a pace lane.
fn own_loopback() -> IpAddr {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = std::process::id().wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed));
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (n % 253) as u8))
}

fn kexinit_packet() -> Vec<u8> {
    let names = |s: &str| s.split(',').map(str::to_owned).collect::<Vec<_>>();
    let kex = KexInit {
        cookie: [7; 16],
        kex_algorithms: names("ecdh-sha2-nistp256,kex-strict-s-v00@openssh.com"),
        server_host_key_algorithms: names("rsa-sha2-512"),
        encryption_client_to_server: names("aes256-ctr"),
        encryption_server_to_client: names("aes256-ctr"),
        mac_client_to_server: names("hmac-sha2-256"),
        mac_server_to_client: names("hmac-sha2-256"),
        compression_client_to_server: names("none"),
        compression_server_to_client: names("none"),
        languages_client_to_server: vec![],
        languages_server_to_client: vec![],
        first_kex_packet_follows: false,
        reserved: 0,
    };
    encode_packet(&kex.encode())
}

impl PenalisingSshd {
    async fn start() -> PenalisingSshd {
        let listener = TcpListener::bind((own_loopback(), 0))
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let books = Arc::new(Mutex::new(Books::default()));
        let task = tokio::spawn({
            let books = Arc::clone(&books);
            async move {
                let mut sessions = JoinSet::new();
                while let Ok((stream, peer)) = listener.accept().await {
                    let now = Instant::now();
                    let allowed = {
                        let mut b = books.lock().expect("books");
                        b.accepts.push(now);
                        let allowed = b.allows(peer.ip(), now);
                        if !allowed {
                            b.refused += 1;
                        }
                        allowed
                    };
                    let books = Arc::clone(&books);
                    sessions.spawn(async move {
                        if allowed {
                            session(stream, peer.ip(), &books).await;
                        } else {
                            refuse(stream).await;
                        }
                    });
                }
            }
        });
        PenalisingSshd { addr, books, task }
    }

    fn books<T>(&self, f: impl FnOnce(&Books) -> T) -> T {
        f(&self.books.lock().expect("books"))
    }

    /// The shortest time between two accepted connections.
    fn min_gap(&self) -> Option<Duration> {
        self.books(|b| {
            let mut t = b.accepts.clone();
            t.sort();
            t.windows(2).map(|w| w[1] - w[0]).min()
        })
    }
}

/// As sshd's listener refuses a penalised source: one line, then close.
async fn refuse(mut stream: TcpStream) {
    let _ = stream.write_all(b"Not allowed at this time\r\n").await;
}

/// A session that never authenticates: banner, KEXINIT, then wait for the
/// client to leave, and penalise its source for it.
async fn session(mut stream: TcpStream, source: IpAddr, books: &Mutex<Books>) {
    let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.8 fake\r\n").await;
    let _ = stream.write_all(&kexinit_packet()).await;
    let mut sink = [0u8; 512];
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
    books
        .lock()
        .expect("books")
        .penalise(source, Instant::now());
}

/// `n` SSH flows from administrators to the fake, with `pace`.
fn config(sshd: &PenalisingSshd, pace: &str, n: usize, interval: &str, timeout: &str) -> Config {
    let mut text = format!(
        "catalog = \"none\"\n[defaults]\nssh_pace = \"{pace}\"\n[targets]\nfake = \"{}\"\n",
        sshd.addr.ip()
    );
    for i in 0..n {
        text.push_str(&format!(
            "[[flow]]\nname = \"ssh-{i}\"\nfrom = \"administrators\"\nto = \"fake\"\nport = {}\n\
             check = \"ssh\"\ninterval = \"{interval}\"\ntimeout = \"{timeout}\"\n",
            sshd.addr.port()
        ));
    }
    support::config_from(&text)
}

/// The reports of a one-shot check, by flow name.
async fn check_once(c: &Config) -> Vec<(String, ProbeReport)> {
    run_once(c, &[])
        .await
        .expect("round")
        .results
        .into_iter()
        .map(|(p, r)| (p.flow.name.clone(), r))
        .collect()
}

/// Unpaced, probes outrun the penalty: the fake refuses the vantage, and
/// the probe names PerSourcePenalties and its fix. The control for the
/// paced test below: the fake does bite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaced_probes_get_refused_and_the_detail_names_per_source_penalties() {
    let sshd = PenalisingSshd::start().await;
    let c = config(&sshd, "0s", 8, "30s", "3s");
    // Eight at once: served (the fake checks a source when it accepts, and
    // penalises it when the session ends), leaving 3.2 s outstanding, past
    // the 1.2 s threshold. Four served are enough for that.
    let served = check_once(&c)
        .await
        .iter()
        .filter(|(_, r)| r.reason == Reason::Ok)
        .count();
    assert!(served >= 4, "only {served} of 8 served");
    let reports = check_once(&c).await;
    assert!(sshd.books(|b| b.refused) > 0, "the fake never refused");
    for (name, r) in reports {
        assert!(
            matches!(r.reason, Reason::SshBanner | Reason::Reset),
            "{name}: {}: {}",
            r.reason,
            r.detail
        );
        let cause = r.cause.as_deref().and_then(|c| c.kind::<Ssh>());
        assert!(
            matches!(
                cause,
                Some(SshWireError::ClosedBeforeBanner {
                    notice: Some(RefusalNotice::NotAllowed),
                    ..
                })
            ),
            "{name}: {cause:?}"
        );
        // The fix is prose for the operator: the detail must name it.
        for part in [
            "PerSourcePenalties",
            "PerSourcePenaltyExemptList",
            "PerSourcePenalties noauth:0",
        ] {
            assert!(
                r.detail.contains(part),
                "{name}: {part} not in {}",
                r.detail
            );
        }
    }
}

/// The daemon's scheduled flows and a one-shot check at the same time, all
/// to one server from one vantage: connections start at most one per pace,
/// the outstanding penalty never reaches the threshold, every probe passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_flows_and_a_one_shot_check_never_reach_the_penalty_threshold() {
    let sshd = PenalisingSshd::start().await;
    let pace = "400ms";
    // Three flows every 3 s ask one start a second, under the pace's 2.5;
    // with the one-shot check's three, at most six wait at once: 2 s, within
    // the 2.175 s the timeout leaves (it keeps a quarter for the probe).
    let c = config(&sshd, pace, 3, "3s", "2900ms");
    assert!(flowprobe::config::warnings(&c).is_empty());

    let reports: Arc<Mutex<Vec<(String, ProbeReport)>>> = Arc::default();
    let prober: flowprobe::schedule::Prober = Arc::new({
        let reports = Arc::clone(&reports);
        move |p, net| {
            let reports = Arc::clone(&reports);
            Box::pin(async move {
                let r = flowprobe::probe::run(&p, &net).await;
                reports
                    .lock()
                    .expect("reports")
                    .push((p.flow.name.clone(), r.clone()));
                r
            })
        }
    });
    let metrics = Arc::new(flowprobe::metrics::Metrics::new().expect("metrics"));
    let state = Arc::new(State::new(metrics));
    let scheduler = Scheduler::new(state, 64, CancellationToken::new(), prober);
    let nets = flowprobe::probe::plan::build_nets(&c).expect("nets");
    let flows = flowprobe::probe::plan::prepare(&c).expect("prepare");
    scheduler.apply(flows, &nets);

    let one_shot = check_once(&c).await;
    // Two more rounds of the schedule.
    tokio::time::sleep(Duration::from_millis(6500)).await;
    assert!(
        scheduler.shutdown(Duration::from_secs(5)).await,
        "probes did not stop"
    );

    for (name, r) in one_shot
        .iter()
        .chain(reports.lock().expect("reports").iter())
    {
        assert_eq!(r.reason, Reason::Ok, "{name}: {}", r.detail);
    }
    let scheduled = reports.lock().expect("reports").len();
    assert!(scheduled >= 6, "only {scheduled} scheduled probes ran");
    let accepted = sshd.books(|b| b.accepts.len());
    assert_eq!(accepted, scheduled + one_shot.len());
    let gap = sshd.min_gap().expect("two connections or more");
    let pace = Duration::from_millis(400);
    assert!(
        gap + TOLERANCE >= pace,
        "connections {gap:?} apart, under the {pace:?} pace"
    );
    sshd.books(|b| {
        assert_eq!(b.refused, 0);
        assert!(
            b.max_outstanding <= THRESHOLD,
            "penalty reached {:?}",
            b.max_outstanding
        );
    });
}

/// A server that accepts and closes at once, without a word: the detail
/// tells it from other banner failures and names PerSourcePenalties.
#[tokio::test]
async fn a_close_right_after_accept_names_per_source_penalties() {
    let listener = TcpListener::bind((own_loopback(), 0)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    let c = support::config_from(&format!(
        "catalog = \"none\"\n[targets]\nfake = \"{}\"\n[[flow]]\nname = \"closer\"\n\
         from = \"administrators\"\nto = \"fake\"\nport = {}\ncheck = \"ssh\"\n",
        addr.ip(),
        addr.port()
    ));
    let r = &support::probe_all(&c).await["closer"];
    server.abort();
    // FIN or RST depends on whether our identification reached the server
    // before its close: a race between two tasks, not our choice.
    assert!(
        matches!(r.reason, Reason::SshBanner | Reason::Reset),
        "{}: {}",
        r.reason,
        r.detail
    );
    let cause = r.cause.as_deref().and_then(|c| c.kind::<Ssh>());
    assert!(
        matches!(
            cause,
            Some(SshWireError::ClosedBeforeBanner { notice: None, .. })
        ),
        "{cause:?}"
    );
    for part in [
        "likely cause: OpenSSH 9.8+ PerSourcePenalties",
        "PerSourcePenaltyExemptList",
        "PerSourcePenalties noauth:0",
    ] {
        assert!(r.detail.contains(part), "{part} not in {}", r.detail);
    }
}

/// A turn that would come too late in the budget is not waited for: the
/// probe is not made, `resource`, and the detail says the pace is why.
#[tokio::test]
async fn a_turn_past_the_budget_is_resource_naming_the_pace() {
    let sshd = PenalisingSshd::start().await;
    let c = config(&sshd, "30s", 2, "60s", "2s");
    let reports = check_once(&c).await;
    let mut reasons: Vec<Reason> = reports.iter().map(|(_, r)| r.reason).collect();
    reasons.sort_by_key(|r| r.as_str());
    assert_eq!(reasons, [Reason::Ok, Reason::Resource], "{reports:?}");
    let (_, r) = reports
        .iter()
        .find(|(_, r)| r.reason == Reason::Resource)
        .expect("the second flow");
    let paced = format!(
        "{}: not probed: SSH connections to {} from this vantage's address are paced one per 30s",
        sshd.addr,
        sshd.addr.ip()
    );
    for part in [
        paced.as_str(),
        "keeping 500ms of the 2s timeout for the connection",
    ] {
        assert!(r.detail.contains(part), "{part} not in {}", r.detail);
    }
    assert_eq!(sshd.books(|b| b.accepts.len()), 1, "one connection only");
}

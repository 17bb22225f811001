//! The shared probe wrapper: resolve, split the one timeout budget across
//! phases, dispatch to the check kind, time every phase and judge the
//! outcome against the flow's expectation.

use parking_lot::Mutex;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use tokio::net::TcpStream;
use tokio::time::timeout_at;
use tracing::Instrument;

use super::board::ChainBoard;
use super::cause::Cause;
use super::report::{Attempt, Phase, Phases, ProbeReport};
use super::stores::Stores;
use crate::config::{Expect, Flow, Host, Vantage};
use crate::kinds::{KindFacts, KindState};
use crate::net::dns::Resolver;
use crate::outcome::{Finding, Reason, verdict};
use std::sync::Arc;

/// A vantage's network identity, built once per (re)load and shared by all
/// of its flows.
pub struct VantageNet {
    pub vantage: Vantage,
    pub resolver: Resolver,
}

/// A flow ready to probe: its definition plus whatever its check prepares
/// once (TLS client configurations, compiled policies).
#[derive(Debug)]
pub struct Prepared {
    pub flow: Flow,
    kind: KindState,
    /// Where TLS flows leave their last chain and CRL flows find it.
    pub board: Arc<ChainBoard>,
}

impl Prepared {
    /// Prepare a flow: build what its check needs once (TLS client
    /// configuration, trust stores), sharing `board` with the other flows
    /// of its configuration (CRL flows read the chains TLS flows leave
    /// there). Errors name the flow and key.
    pub(crate) fn with_board(
        flow: Flow,
        stores: &Stores,
        board: Arc<ChainBoard>,
    ) -> Result<Self, String> {
        let kind = KindState::prepare(&flow, stores, &board)?;
        Ok(Prepared { flow, kind, board })
    }

    /// The TLS flow whose chain this flow reads, if any.
    pub fn depends_on(&self) -> Option<&str> {
        self.flow.check.source_flow()
    }

    /// File descriptors a probe of this flow holds at most at once: one
    /// socket per address family it tries (DNS, redirects and CRL fetches
    /// run one after the other, each on one socket).
    pub(crate) fn descriptors(&self) -> usize {
        if self.flow.ip_family == crate::config::IpFamily::Both {
            2
        } else {
            1
        }
    }

    /// Whether a reload can keep this flow's task: same definition and the
    /// same anchors behind its trust stores.
    pub(crate) fn same_as(&self, other: &Prepared) -> bool {
        self.flow == other.flow && self.anchors() == other.anchors()
    }

    fn anchors(&self) -> Vec<[u8; 32]> {
        self.kind.anchors()
    }
}

/// A check that could not complete: the reason, the facts, and whatever was
/// learned before it failed (a TLS chain survives a failed handshake).
#[derive(Debug)]
pub struct Failure {
    pub reason: Reason,
    pub detail: String,
    /// The typed error behind `reason` and `detail`, when one is known
    /// (boxed: a failure travels in every probe's future).
    pub cause: Option<Box<Cause>>,
    pub facts: KindFacts,
    pub findings: Vec<Finding>,
}

impl Failure {
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Failure {
            reason,
            detail: detail.into(),
            cause: None,
            facts: KindFacts::None,
            findings: Vec::new(),
        }
    }

    /// Keep `cause` as the typed fact behind the reason and detail.
    pub(crate) fn with_cause(mut self, cause: impl Into<Cause>) -> Self {
        self.cause = Some(Box::new(cause.into()));
        self
    }
}

/// A probe that completed; its findings decide the verdict.
#[derive(Debug, Default)]
pub struct Success {
    pub facts: KindFacts,
    pub findings: Vec<Finding>,
    pub detail: String,
}

pub type ProbeResult = Result<Success, Failure>;

/// What a check kind gets for one address: the flow, the vantage and a
/// clock that attributes time (and a budget overrun) to the phase running.
pub struct Ctx<'a> {
    pub flow: &'a Flow,
    pub prepared: &'a Prepared,
    pub net: &'a VantageNet,
    /// When the probe's budget ends (the attempt is cancelled then).
    pub deadline: tokio::time::Instant,
    clock: Mutex<Clock>,
}

#[derive(Default)]
struct Clock {
    phases: Phases,
    running: Option<(Phase, Instant)>,
}

impl<'a> Ctx<'a> {
    /// Run `fut` as `phase`, recording its duration.
    pub(crate) async fn timed<T>(&self, phase: Phase, fut: impl Future<Output = T>) -> T {
        self.timed_net(phase, fut, |_| None).await
    }

    /// Like [`Ctx::timed`], but the phase takes the network-level duration
    /// `net` reports from the kernel's own timestamps when there is one
    /// (see `net::kernel_time`): the time this task waited to be polled is
    /// not the network's. Wall time stands when `net` has nothing, or
    /// something longer.
    pub(crate) async fn timed_net<T>(
        &self,
        phase: Phase,
        fut: impl Future<Output = T>,
        net: impl FnOnce(&T) -> Option<Duration>,
    ) -> T {
        let start = Instant::now();
        self.clock.lock().running = Some((phase, start));
        let out = fut.await;
        let wall = start.elapsed();
        let took = net(&out).filter(|d| *d <= wall).unwrap_or(wall);
        {
            let mut c = self.clock.lock();
            c.running = None;
            c.phases.add(phase, took);
        }
        out
    }

    /// Resolve `host` through the vantage's DNS (timed as `dns`) and
    /// connect to it (timed as `connect`): a redirect hop or a CRL URL on
    /// another host than the flow's.
    pub(crate) async fn connect_host(
        &self,
        host: &Host,
        port: u16,
    ) -> Result<(TcpStream, SocketAddr), Failure> {
        let ip = match host {
            Host::Ip(ip) => *ip,
            Host::Name(name) => {
                let family = match self.flow.ip_family {
                    crate::config::IpFamily::Both => crate::config::IpFamily::PreferIpv4,
                    f => f,
                };
                let addrs = self
                    .timed(Phase::Dns, self.net.resolver.resolve(name, family))
                    .await
                    .map_err(|e| Failure::new(e.reason(), e.to_string()).with_cause(e))?;
                *addrs
                    .first()
                    .ok_or_else(|| Failure::new(Reason::DnsError, format!("{name}: no address")))?
            }
        };
        let addr = SocketAddr::new(ip, port);
        Ok((self.connect(addr).await?, addr))
    }

    /// TCP connect as the vantage, timed as the `connect` phase, for a
    /// check that talks: TCP_NODELAY, so a request written after a TLS
    /// Finished does not wait for its ACK (Nagle with delayed ACKs: 40 ms).
    pub(crate) async fn connect(&self, addr: SocketAddr) -> Result<TcpStream, Failure> {
        let stream = self.connect_only(addr).await?;
        stream
            .set_nodelay(true)
            .map_err(|e| Failure::new(Reason::Internal, format!("TCP_NODELAY: {e}")))?;
        Ok(stream)
    }

    /// The bare connect of a port check, which never sends a byte.
    pub(crate) async fn connect_only(&self, addr: SocketAddr) -> Result<TcpStream, Failure> {
        self.timed_net(
            Phase::Connect,
            crate::net::tcp::connect(addr, &self.net.vantage),
            |r| {
                r.as_ref()
                    .ok()
                    .and_then(crate::net::kernel_time::connect_rtt)
            },
        )
        .await
        .map_err(|e| Failure::new(e.reason(), e.to_string()).with_cause(e))
    }

    /// Close the running phase at the deadline and name the reason for a
    /// budget that ran out in it, and the phase (the cause's).
    fn expire(&self) -> (Reason, Phases, String, Option<Phase>) {
        let mut c = self.clock.lock();
        let running = c.running.take();
        let (reason, what) = match running {
            Some((phase, start)) => {
                c.phases.add(phase, start.elapsed());
                match phase {
                    Phase::Connect => (
                        Reason::Filtered,
                        "no answer to the connection attempt".into(),
                    ),
                    other => (
                        Reason::Timeout,
                        format!("{} phase did not finish", other.as_str()),
                    ),
                }
            }
            None => (Reason::Timeout, "did not finish".to_string()),
        };
        (
            reason,
            c.phases,
            format!(
                "{what} within the {} timeout",
                humantime::format_duration(self.flow.timeout)
            ),
            running.map(|(phase, _)| phase),
        )
    }

    fn phases(&self) -> Phases {
        self.clock.lock().phases
    }
}

/// Probe a flow once. Never panics on what the peer does, and returns within
/// the flow's timeout (plus scheduling noise).
pub async fn run(p: &Prepared, net: &VantageNet) -> ProbeReport {
    let flow = &p.flow;
    let span = tracing::debug_span!("probe", flow = %flow.name, vantage = %flow.from);
    async move {
        let started = SystemTime::now();
        let t0 = Instant::now();
        let deadline = tokio::time::Instant::from_std(t0 + flow.timeout);
        let mut phases = Phases::default();

        let addrs: Result<Vec<IpAddr>, (Reason, String, Cause)> = match &flow.host {
            Host::Ip(ip) => Ok(vec![*ip]),
            Host::Name(name) => {
                let r = timeout_at(deadline, net.resolver.resolve(name, flow.ip_family)).await;
                phases.set(Phase::Dns, t0.elapsed());
                match r {
                    Ok(Ok(a)) => Ok(a),
                    Ok(Err(e)) => Err((e.reason(), e.to_string(), Cause::Dns(e))),
                    Err(_) => Err((
                        Reason::DnsTimeout,
                        format!(
                            "{name}: no answer within the {} timeout",
                            humantime::format_duration(flow.timeout)
                        ),
                        Cause::Timeout {
                            phase: Some(Phase::Dns),
                        },
                    )),
                }
            }
        };
        let attempts = match addrs {
            Err((reason, detail, cause)) => {
                phases.set(Phase::Total, t0.elapsed());
                // No attempt was made: the report carries the cause.
                let report = ProbeReport {
                    reason,
                    up: false,
                    detail,
                    cause: Some(Box::new(cause)),
                    started,
                    phases,
                    attempts: Vec::new(),
                };
                return report;
            }
            Ok(addrs) => {
                let futs = addrs
                    .into_iter()
                    .map(|ip| attempt(p, net, SocketAddr::new(ip, flow.port), deadline));
                join_all(futs).await
            }
        };
        let chosen = pick(flow.expect, &attempts);
        let reason = attempts.get(chosen).map_or(Reason::Internal, |a| a.reason);
        let up =
            meets(flow.expect, reason) && attempts.iter().all(|a| meets(flow.expect, a.reason));
        if let Some(a) = attempts.get(chosen) {
            for ph in Phase::ALL {
                if let Some(d) = a.phases.get(ph) {
                    // DNS of redirect hops adds to the flow's own lookup.
                    phases.add(ph, d);
                }
            }
        }
        phases.set(Phase::Total, t0.elapsed());
        let detail = attempts
            .get(chosen)
            .map(|a| a.detail.clone())
            .unwrap_or_default();
        let cause = attempts.get(chosen).and_then(|a| a.cause.clone());
        ProbeReport {
            reason,
            up,
            detail,
            cause,
            started,
            phases,
            attempts,
        }
    }
    .instrument(span)
    .await
}

/// Whether a reason satisfies an expectation.
pub(crate) fn meets(expect: Expect, reason: Reason) -> bool {
    match expect {
        Expect::Open => reason == Reason::Ok,
        Expect::Closed => reason.is_blocked(),
    }
}

/// The attempt that speaks for the flow: the first that fails the
/// expectation, else the first.
fn pick(expect: Expect, attempts: &[Attempt]) -> usize {
    attempts
        .iter()
        .position(|a| !meets(expect, a.reason))
        .unwrap_or(0)
}

/// At most two futures (one per address family): poll them together.
async fn join_all<F: Future<Output = Attempt>>(futs: impl Iterator<Item = F>) -> Vec<Attempt> {
    let futs: Vec<F> = futs.collect();
    match <[F; 2]>::try_from(futs) {
        Ok([a, b]) => {
            let (a, b) = tokio::join!(a, b);
            vec![a, b]
        }
        Err(futs) => {
            let mut out = Vec::with_capacity(futs.len());
            for f in futs {
                out.push(f.await);
            }
            out
        }
    }
}

async fn attempt(
    p: &Prepared,
    net: &VantageNet,
    addr: SocketAddr,
    deadline: tokio::time::Instant,
) -> Attempt {
    let ctx = Ctx {
        flow: &p.flow,
        prepared: p,
        net,
        deadline,
        clock: Mutex::new(Clock::default()),
    };
    let result = timeout_at(deadline, dispatch(&ctx, addr)).await;
    match result {
        Ok(Ok(success)) => Attempt {
            address: addr,
            reason: verdict(&success.findings),
            detail: if p.flow.expect == Expect::Closed {
                format!("{}: connected, but this flow must be blocked", addr)
            } else {
                success.detail
            },
            cause: None,
            phases: ctx.phases(),
            findings: success.findings,
            facts: success.facts,
        },
        Ok(Err(failure)) => Attempt {
            address: addr,
            reason: failure.reason,
            detail: failure.detail,
            cause: failure.cause,
            phases: ctx.phases(),
            findings: failure.findings,
            facts: failure.facts,
        },
        Err(_) => {
            let (reason, phases, detail, phase) = ctx.expire();
            Attempt {
                address: addr,
                reason,
                detail: format!("{addr}: {detail}"),
                cause: Some(Box::new(Cause::Timeout { phase })),
                phases,
                findings: Vec::new(),
                facts: KindFacts::None,
            }
        }
    }
}

/// The flow's kind probes the address (`Kind::probe`, boxed by the
/// registry so this future stays small). A forbidden flow only needs to
/// know whether the kind's service answers there (`Kind::probe_forbidden`:
/// a TCP connect, a DNS query over UDP).
async fn dispatch(ctx: &Ctx<'_>, addr: SocketAddr) -> ProbeResult {
    if ctx.flow.expect == Expect::Closed {
        return ctx.prepared.kind.probe_forbidden(ctx, addr).await;
    }
    ctx.prepared.kind.probe(ctx, addr).await
}

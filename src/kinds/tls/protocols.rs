//! The protocol enumeration of a TLS flow with a `protocol_policy`: one
//! short connection per question ([`Question`]), each sending one
//! ClientHello (`wire::tls`) and reading the first answer, over the
//! vantage's TCP like the handshake itself.
//!
//! Cost: it runs at the first probe and then once per `protocol_interval`
//! (default 1 h), after the rustls handshake and inside the same probe
//! budget; between runs every probe reports the last finished run
//! (`analyze::tls_policy::Runs`). A run cut short by the budget keeps its
//! answers and asks the rest at the next probe. Each hello waits at most
//! [`question_wait`] for its answer, so one silent question cannot eat the
//! budget of the others. A modern TLS 1.2/1.3 server costs 13 connections
//! per run, a TLS 1.3-only one 5; `flowprobe_tls_protocol_connections_total`
//! counts them.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use super::settings::ProtocolSpec;
use crate::analyze::tls_policy::{
    self, Exchange, ProtocolJudgement, Question, Refusal, Reply, Runs, Silence, reply_to,
    reply_to_error,
};
use crate::config::Vantage;
use crate::wire::tls::{HelloSpec, encode_client_hello, read_answer};

/// A flow's enumeration: its policy and its last result.
#[derive(Debug)]
pub struct ProtocolState {
    spec: ProtocolSpec,
    /// SNI for the hellos (the flow's `server_name` or host).
    server_name: String,
    runs: tokio::sync::Mutex<Runs>,
}

/// What a probe reports: the last enumeration and its judgement.
#[derive(Debug, Clone, Serialize)]
pub struct ProtocolFacts {
    /// The judgement by the flow's first policy (its metrics and detail
    /// line follow it).
    #[serde(flatten)]
    pub judgement: ProtocolJudgement,
    /// The judgements by the flow's other policies, on the same answers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_policies: Vec<ProtocolJudgement>,
    /// Every hello of the last run and the server's reply.
    pub exchanges: Vec<Exchange>,
    /// When the reported run ran (Unix time).
    #[serde(serialize_with = "unix_secs")]
    pub scanned_at: SystemTime,
    /// Connections this probe opened for the enumeration: 0 when it
    /// reported a kept result.
    pub connections: u32,
}

fn unix_secs<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(crate::text::unix_secs_f64(*t))
}

impl ProtocolState {
    pub fn new(spec: ProtocolSpec, server_name: String) -> Self {
        ProtocolState {
            spec,
            server_name,
            runs: tokio::sync::Mutex::new(Runs::default()),
        }
    }

    /// The flow's policies, in the order configured.
    pub(crate) fn policies(&self) -> &[tls_policy::TlsPolicy] {
        &self.spec.policies
    }

    /// Runs the enumeration when due, asking until `until` (each hello
    /// waiting at most [`question_wait`] of the flow's `timeout`), and
    /// reports the last finished run (before the first finished, the first
    /// run so far).
    pub async fn report(
        &self,
        addr: SocketAddr,
        vantage: &Vantage,
        until: Instant,
        timeout: Duration,
    ) -> ProtocolFacts {
        // Two attempts of one flow (both address families) take turns:
        // the second reports what the first found.
        let mut runs = self.runs.lock().await;
        let mut connections = 0u32;
        let policy = &self.spec.asking;
        if runs.due(self.spec.interval, Instant::now().into_std()) {
            let mut scan = runs.resume();
            let wait = question_wait(timeout);
            while let Some(question) = scan.next_question(policy) {
                let now = Instant::now();
                if now >= until {
                    break;
                }
                connections += 1;
                let wait_end = if now + wait < until {
                    WaitEnd {
                        at: now + wait,
                        silence: Silence::Timeout { after: wait },
                    }
                } else {
                    WaitEnd {
                        at: until,
                        silence: Silence::BudgetSpent,
                    }
                };
                let reply = ask(addr, vantage, &question, &self.server_name, wait_end).await;
                scan.exchanges.push(Exchange::new(question, reply));
            }
            runs.store(scan, policy, Instant::now().into_std(), SystemTime::now());
        }
        let (scan, at) = runs.shown();
        let mut judgements = self
            .spec
            .policies
            .iter()
            .map(|p| tls_policy::judge(scan, p));
        ProtocolFacts {
            judgement: judgements
                .next()
                .unwrap_or_else(|| tls_policy::judge(scan, policy)),
            other_policies: judgements.collect(),
            exchanges: scan.exchanges.clone(),
            scanned_at: at,
            connections,
        }
    }
}

/// How long one hello waits for its answer: a quarter of the flow's
/// timeout, at least a second (a hello and its answer are two round trips
/// with the connect; a satellite link takes over a second for them).
pub(crate) fn question_wait(timeout: Duration) -> Duration {
    (timeout / 4).max(Duration::from_secs(1))
}

/// When one hello stops waiting, and what its reply then says.
struct WaitEnd {
    at: Instant,
    silence: Silence,
}

/// One question: connect, send the hello, read the first answer, close.
async fn ask(
    addr: SocketAddr,
    vantage: &Vantage,
    question: &Question,
    server_name: &str,
    wait_end: WaitEnd,
) -> Reply {
    let (version, suites) = question.offer();
    let mut random = [0u8; 32];
    // The random only has to look random to the server; a failing RNG
    // leaves zeros, which is still a valid hello.
    let _ = rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut random);
    let hello = encode_client_hello(&HelloSpec {
        version,
        suites: &suites,
        server_name: Some(server_name),
        random,
        encrypt_then_mac: question.offers_etm(),
    });
    let exchange = async {
        let mut tcp =
            crate::net::tcp::connect(addr, vantage)
                .await
                .map_err(|e| Reply::NoAnswer {
                    why: Silence::NoConnection(e),
                })?;
        let _ = tcp.set_nodelay(true);
        if let Err(e) = tcp.write_all(&hello).await {
            return Err(Reply::Refused {
                why: Refusal::ClosedBeforeHello(e.into()),
            });
        }
        Ok(match read_answer(&mut tcp).await {
            Ok(answer) => reply_to(question, &answer),
            Err(e) => reply_to_error(&e),
        })
    };
    match tokio::time::timeout_at(wait_end.at, exchange).await {
        Ok(Ok(reply) | Err(reply)) => reply,
        Err(_) => Reply::NoAnswer {
            why: wait_end.silence,
        },
    }
}

/// When the enumeration must stop so the probe can still report in time:
/// a tenth of the timeout before the deadline, at most 250 ms.
pub(crate) fn stop_before(deadline: Instant, timeout: Duration) -> Instant {
    let margin = (timeout / 10).min(Duration::from_millis(250));
    deadline.checked_sub(margin).unwrap_or(deadline)
}

//! The protocol enumeration of a TLS flow with a `protocol_policy`: one
//! short connection per question ([`Question`]), each sending one
//! ClientHello (`wire::tls`) and reading the first answer, over the
//! vantage's TCP like the handshake itself.
//!
//! Cost: it runs at the first probe and then once per `protocol_interval`
//! (default 1 h), after the rustls handshake and inside the same probe
//! budget; between runs every probe reports the kept result. A run cut
//! short by the budget keeps its answers and asks the rest at the next
//! probe. A modern TLS 1.2/1.3 server costs 12 connections per run, a
//! TLS 1.3-only one 5; `flowprobe_tls_protocol_connections_total` counts
//! them.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use crate::analyze::tls_policy::{
    self, Exchange, ProtocolJudgement, ProtocolScan, Question, Reply, reply_to, reply_to_error,
};
use crate::config::Vantage;
use crate::config::check::tls::ProtocolSpec;
use crate::wire::tls::{HelloSpec, encode_client_hello, read_answer};

/// The last enumeration of a flow, kept across probes.
#[derive(Debug, Default)]
struct Kept {
    scan: Option<ProtocolScan>,
    /// When the last complete run ended (the interval counts from here).
    completed: Option<Instant>,
    at: Option<SystemTime>,
}

/// A flow's enumeration: its policy and its last result.
#[derive(Debug)]
pub struct ProtocolState {
    spec: ProtocolSpec,
    /// SNI for the hellos (the flow's `server_name` or host).
    server_name: String,
    kept: tokio::sync::Mutex<Kept>,
}

/// What a probe reports: the last enumeration and its judgement.
#[derive(Debug, Clone, Serialize)]
pub struct ProtocolDetails {
    #[serde(flatten)]
    pub judgement: ProtocolJudgement,
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
            kept: tokio::sync::Mutex::new(Kept::default()),
        }
    }

    pub fn policy(&self) -> &tls_policy::TlsPolicy {
        &self.spec.policy
    }

    fn due(&self, kept: &Kept) -> bool {
        match (&kept.scan, kept.completed) {
            (None, _) => true,
            (Some(scan), _) if !scan.is_complete(&self.spec.policy) => true,
            (Some(_), Some(done)) => done.elapsed() >= self.spec.interval,
            (Some(_), None) => true,
        }
    }

    /// Runs the enumeration when due, asking until `until`, and reports
    /// the last result (`None` before any hello was answered or asked).
    pub async fn report(
        &self,
        addr: SocketAddr,
        vantage: &Vantage,
        until: Instant,
    ) -> Option<ProtocolDetails> {
        // Two attempts of one flow (both address families) take turns:
        // the second reports what the first found.
        let mut kept = self.kept.lock().await;
        let mut connections = 0u32;
        if self.due(&kept) {
            let policy = &self.spec.policy;
            let mut scan = match &kept.scan {
                Some(s) if !s.is_complete(policy) => s.without_unanswered(),
                _ => ProtocolScan::default(),
            };
            while let Some(question) = scan.next_question(policy) {
                if Instant::now() >= until {
                    break;
                }
                connections += 1;
                let reply = ask(addr, vantage, &question, &self.server_name, until).await;
                scan.exchanges.push(Exchange { question, reply });
            }
            if scan.is_complete(policy) {
                kept.completed = Some(Instant::now());
            }
            kept.scan = Some(scan);
            kept.at = Some(SystemTime::now());
        }
        let scan = kept.scan.as_ref()?;
        Some(ProtocolDetails {
            judgement: tls_policy::judge(scan, &self.spec.policy),
            exchanges: scan.exchanges.clone(),
            scanned_at: kept.at.unwrap_or(SystemTime::UNIX_EPOCH),
            connections,
        })
    }
}

/// One question: connect, send the hello, read the first answer, close.
async fn ask(
    addr: SocketAddr,
    vantage: &Vantage,
    question: &Question,
    server_name: &str,
    until: Instant,
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
    });
    let exchange = async {
        let mut tcp = super::super::tcp::connect_as(addr, vantage)
            .await
            .map_err(|e| Reply::NoAnswer {
                detail: format!("no connection: {e}"),
            })?;
        let _ = tcp.set_nodelay(true);
        if let Err(e) = tcp.write_all(&hello).await {
            return Err(Reply::Refused {
                detail: format!("closed before the hello was sent: {e}"),
            });
        }
        Ok(match read_answer(&mut tcp).await {
            Ok(answer) => reply_to(question, &answer),
            Err(e) => reply_to_error(&e),
        })
    };
    match tokio::time::timeout_at(until, exchange).await {
        Ok(Ok(reply) | Err(reply)) => reply,
        Err(_) => Reply::NoAnswer {
            detail: "no answer within the probe's budget".to_owned(),
        },
    }
}

/// When the enumeration must stop so the probe can still report in time:
/// a tenth of the timeout before the deadline, at most 250 ms.
pub fn stop_before(deadline: Instant, timeout: Duration) -> Instant {
    let margin = (timeout / 10).min(Duration::from_millis(250));
    deadline.checked_sub(margin).unwrap_or(deadline)
}

//! Asking one DNS server directly, as the vantage: every query of a probe
//! over one UDP socket bound like the vantage's TCP sockets (source
//! address, `SO_BINDTODEVICE`) and connected to the server, so an ICMP
//! port-unreachable ends the wait at once; a truncated answer is asked
//! again over TCP (`net::tcp::connect`, the vantage's connect), one
//! connection at a time after the UDP socket is closed: a probe holds one
//! socket per address, as `Prepared::descriptors` counts.
//!
//! No resolver sits in between (the flow's own `hickory` resolver pool
//! would pick its own servers, retry them and cache): each query is built
//! and read with `hickory_proto` here.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::proto::op::{Edns, Message, Query, ResponseCode};
use hickory_resolver::proto::rr::{Name, RecordType};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;
use tokio::time::{Instant, timeout_at};

#[cfg(doc)]
use super::settings::MAX_ANSWERS;
use crate::config::Vantage;

/// Unanswered UDP queries are sent again this often.
pub(crate) const RESEND: Duration = Duration::from_secs(1);
/// The UDP payload advertised with EDNS (the DNS flag day 2020 value).
const EDNS_PAYLOAD: u16 = 1232;
/// A UDP answer larger than this is not read whole (it cannot be one of
/// ours: we advertised [`EDNS_PAYLOAD`]).
const UDP_BUFFER: usize = 4096;

/// One question to ask: a name and a record type.
#[derive(Debug, Clone)]
pub(super) struct Question {
    pub name: Name,
    pub record: RecordType,
}

/// How one question ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// The server answered with this code; `addresses` are the answer
    /// section's records of the asked type, all of them (a message is at
    /// most 64 KiB; the facts keep [`MAX_ANSWERS`]).
    Answered {
        code: ResponseCode,
        addresses: Vec<IpAddr>,
        over_tcp: bool,
        took: Duration,
    },
    /// No answer before the end of the budget.
    Timeout,
    /// The kernel reported that nobody serves DNS there (ICMP port or
    /// host unreachable on UDP; a refused or unreachable TCP connection
    /// for a truncated answer).
    Unreachable(String),
    /// An answer that could not be read.
    Malformed(String),
    /// Any other socket error.
    Io(String),
}

/// Why no query could be sent: the probe's own socket failed.
#[derive(Debug)]
pub(crate) struct SetupError {
    /// Out of descriptors or socket memory (`resource`), not a fault of
    /// the network.
    pub resource: bool,
    pub detail: String,
}

/// One question's state during the exchange.
struct Pending {
    id: u16,
    wire: Vec<u8>,
    first_sent: Option<Instant>,
    next_send: Instant,
    truncated: bool,
    outcome: Option<Outcome>,
}

/// Ask `server` every question; the answers (or why not), in order. Stops
/// waiting at `stop`: a question still open then is a [`Outcome::Timeout`].
/// Cancellation-safe: dropping the future closes its socket.
pub(crate) async fn ask(
    server: SocketAddr,
    vantage: &Vantage,
    questions: &[Question],
    stop: Instant,
) -> Result<Vec<Outcome>, SetupError> {
    let now = Instant::now();
    let mut pending: Vec<Pending> = Vec::with_capacity(questions.len());
    for q in questions {
        let mut id = query_id();
        while pending.iter().any(|p| p.id == id) {
            id = id.wrapping_add(1);
        }
        pending.push(Pending {
            id,
            wire: encode(id, q)?,
            first_sent: None,
            next_send: now,
            truncated: false,
            outcome: None,
        });
    }
    {
        let socket = udp_socket(server, vantage)?;
        over_udp(&socket, questions, &mut pending, stop).await;
    }
    for (p, q) in pending.iter_mut().zip(questions) {
        if p.truncated && p.outcome.is_none() {
            let start = p.first_sent.unwrap_or_else(Instant::now);
            p.outcome = Some(over_tcp(server, vantage, q, p.id, &p.wire, start, stop).await);
        }
    }
    Ok(pending
        .into_iter()
        .map(|p| p.outcome.unwrap_or(Outcome::Timeout))
        .collect())
}

fn query_id() -> u16 {
    Message::query().metadata.id
}

fn encode(id: u16, q: &Question) -> Result<Vec<u8>, SetupError> {
    let mut m = Message::query();
    m.metadata.id = id;
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(q.name.clone(), q.record));
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD);
    m.set_edns(edns);
    m.to_vec().map_err(|e| SetupError {
        resource: false,
        detail: format!("cannot encode the query for {} {}: {e}", q.name, q.record),
    })
}

/// A UDP socket as the vantage, connected to `server`.
fn udp_socket(server: SocketAddr, v: &Vantage) -> Result<UdpSocket, SetupError> {
    let make = || -> io::Result<UdpSocket> {
        let s = Socket::new(
            Domain::for_address(server),
            Type::DGRAM.nonblocking(),
            Some(Protocol::UDP),
        )?;
        if let Some(dev) = &v.interface {
            s.bind_device(Some(dev.as_bytes()))?;
        }
        if let Some(src) = v.source_address
            && src.is_ipv4() == server.is_ipv4()
        {
            s.bind(&SocketAddr::new(src, 0).into())?;
        }
        // No packet is sent: connect only fixes the peer, so the kernel
        // reports ICMP errors to this socket and drops other sources.
        s.connect(&server.into())?;
        UdpSocket::from_std(s.into())
    };
    make().map_err(|e| SetupError {
        // EMFILE, ENFILE, ENOBUFS, ENOMEM.
        resource: matches!(e.raw_os_error(), Some(24 | 23 | 105 | 12)),
        detail: format!("UDP socket to {server}: {e}"),
    })
}

fn unreachable(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
    )
}

/// Send every open question (again every [`RESEND`]) and read answers
/// until each has one, is truncated, or `stop` comes.
async fn over_udp(
    socket: &UdpSocket,
    questions: &[Question],
    pending: &mut [Pending],
    stop: Instant,
) {
    let mut buf = vec![0u8; UDP_BUFFER];
    loop {
        let now = Instant::now();
        if now >= stop {
            return;
        }
        let mut open = false;
        let mut wake = stop;
        let mut failed = None;
        for p in pending.iter_mut() {
            if p.outcome.is_some() || p.truncated {
                continue;
            }
            open = true;
            if p.next_send <= now {
                let sent = socket.send(&p.wire).await;
                if let Err(e) = sent {
                    failed = Some(e);
                    break;
                }
                p.first_sent.get_or_insert(now);
                p.next_send = now + RESEND;
            }
            wake = wake.min(p.next_send);
        }
        if let Some(e) = failed {
            fail_open(pending, &e);
            return;
        }
        if !open {
            return;
        }
        let n = match timeout_at(wake, socket.recv(&mut buf)).await {
            Err(_) => continue,
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                fail_open(pending, &e);
                return;
            }
        };
        read_datagram(&buf[..n], questions, pending, Instant::now());
    }
}

/// A socket error ends every open question the same way.
fn fail_open(pending: &mut [Pending], e: &io::Error) {
    let outcome = if unreachable(e) {
        Outcome::Unreachable(e.to_string())
    } else {
        Outcome::Io(e.to_string())
    };
    for p in pending
        .iter_mut()
        .filter(|p| p.outcome.is_none() && !p.truncated)
    {
        p.outcome = Some(outcome.clone());
    }
}

/// Match a datagram to its question by id, and settle the question. A
/// datagram that is no answer to an open question is ignored.
fn read_datagram(data: &[u8], questions: &[Question], pending: &mut [Pending], at: Instant) {
    // Header: id, then QR (0x80) and TC (0x02) in the third byte.
    if data.len() < 12 || data[2] & 0x80 == 0 {
        return;
    }
    let id = u16::from_be_bytes([data[0], data[1]]);
    let Some(i) = pending
        .iter()
        .position(|p| p.id == id && p.outcome.is_none() && !p.truncated)
    else {
        return;
    };
    if data[2] & 0x02 != 0 {
        pending[i].truncated = true;
        return;
    }
    let p = &mut pending[i];
    let took = at - p.first_sent.unwrap_or(at);
    if let Some(outcome) = answer(data, &questions[i], took, false) {
        p.outcome = Some(outcome);
    }
}

/// Read an answer to `q`; `None` when it answers another question (a
/// stale or stray datagram with a reused id).
fn answer(data: &[u8], q: &Question, took: Duration, over_tcp: bool) -> Option<Outcome> {
    let m = match Message::from_vec(data) {
        Ok(m) => m,
        Err(e) => return Some(Outcome::Malformed(e.to_string())),
    };
    // Some servers leave the question out of an error answer.
    if let Some(asked) = m.queries.first()
        && (asked.query_type() != q.record || !asked.name().eq_ignore_root(&q.name))
    {
        return None;
    }
    let addresses = m
        .answers
        .iter()
        .filter(|r| r.record_type() == q.record)
        .filter_map(|r| r.data.ip_addr())
        .collect();
    Some(Outcome::Answered {
        code: m.metadata.response_code,
        addresses,
        over_tcp,
        took,
    })
}

/// Ask one truncated question again over TCP (RFC 7766: a 2-byte length
/// before each message).
async fn over_tcp(
    server: SocketAddr,
    vantage: &Vantage,
    q: &Question,
    id: u16,
    wire: &[u8],
    start: Instant,
    stop: Instant,
) -> Outcome {
    let exchange = async {
        let mut stream = match crate::net::tcp::connect(server, vantage).await {
            Ok(s) => s,
            Err(e) if e.reason().is_blocked() => return Outcome::Unreachable(e.to_string()),
            Err(e) => return Outcome::Io(e.to_string()),
        };
        let io = async {
            let mut msg = Vec::with_capacity(wire.len() + 2);
            msg.extend_from_slice(&(wire.len() as u16).to_be_bytes());
            msg.extend_from_slice(wire);
            stream.write_all(&msg).await?;
            loop {
                let len = stream.read_u16().await? as usize;
                let mut body = vec![0u8; len];
                stream.read_exact(&mut body).await?;
                if len >= 2 && u16::from_be_bytes([body[0], body[1]]) == id {
                    return Ok::<_, io::Error>(body);
                }
            }
        };
        match io.await {
            Ok(body) => answer(&body, q, start.elapsed(), true)
                .unwrap_or_else(|| Outcome::Malformed("an answer to another question".into())),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                Outcome::Io("the server closed the TCP connection without answering".into())
            }
            Err(e) => Outcome::Io(e.to_string()),
        }
    };
    timeout_at(stop, exchange).await.unwrap_or(Outcome::Timeout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::op::{MessageType, OpCode};
    use hickory_resolver::proto::rr::{RData, Record};

    fn question(name: &str, record: RecordType) -> Question {
        Question {
            name: Name::from_ascii(name).expect("name"),
            record,
        }
    }

    fn reply(id: u16, q: &Question, code: ResponseCode, ips: &[&str]) -> Vec<u8> {
        let mut m = Message::new(id, MessageType::Response, OpCode::Query);
        m.metadata.response_code = code;
        m.add_query(Query::query(q.name.clone(), q.record));
        for ip in ips {
            let data = match ip.parse::<IpAddr>().expect("ip") {
                IpAddr::V4(a) => RData::A(a.into()),
                IpAddr::V6(a) => RData::AAAA(a.into()),
            };
            m.add_answer(Record::from_rdata(q.name.clone(), 60, data));
        }
        m.to_vec().expect("encode")
    }

    #[test]
    fn answers_keep_the_asked_type_and_match_the_question() {
        let q = question("mdm.lab.test.", RecordType::A);
        let ips: Vec<String> = (0..40).map(|i| format!("192.0.2.{i}")).collect();
        let mut all: Vec<&str> = ips.iter().map(String::as_str).collect();
        all.push("2001:db8::1");
        let data = reply(7, &q, ResponseCode::NoError, &all);
        let Some(Outcome::Answered {
            code, addresses, ..
        }) = answer(&data, &q, Duration::ZERO, false)
        else {
            panic!("an answer");
        };
        assert_eq!(code, ResponseCode::NoError);
        assert_eq!(addresses.len(), 40, "the AAAA record is not an answer to A");
        // Another question's answer (same id) is not this one's.
        let other = question("other.lab.test.", RecordType::A);
        assert_eq!(answer(&data, &other, Duration::ZERO, false), None);
        let aaaa = question("mdm.lab.test.", RecordType::AAAA);
        assert_eq!(answer(&data, &aaaa, Duration::ZERO, false), None);
        assert!(matches!(
            answer(&data[..20], &q, Duration::ZERO, false),
            Some(Outcome::Malformed(_))
        ));
    }

    #[test]
    fn a_truncated_answer_is_marked_for_tcp_and_strays_are_ignored() {
        let q = question("mdm.lab.test.", RecordType::A);
        let now = Instant::now();
        let mut pending = vec![Pending {
            id: 9,
            wire: Vec::new(),
            first_sent: Some(now),
            next_send: now,
            truncated: false,
            outcome: None,
        }];
        let qs = [q.clone()];
        read_datagram(
            &reply(8, &q, ResponseCode::NoError, &["192.0.2.1"]),
            &qs,
            &mut pending,
            now,
        );
        assert!(pending[0].outcome.is_none(), "another id is a stray");
        let mut tc = reply(9, &q, ResponseCode::NoError, &[]);
        tc[2] |= 0x02;
        read_datagram(&tc, &qs, &mut pending, now);
        assert!(pending[0].truncated && pending[0].outcome.is_none());
    }
}

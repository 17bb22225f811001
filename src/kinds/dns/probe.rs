//! The probe: ask the flow's server for every name, judge each answer,
//! and report the answers as facts ([`DnsFacts`]).
//!
//! Reasons (the closed set of `outcome::Reason`; this kind adds none):
//!
//! - `dns_nxdomain`: the server says a name does not exist;
//! - `dns_timeout`: no answer for a name within the budget;
//! - `dns_error`: every other way a name fails: an error code (SERVFAIL,
//!   REFUSED, ...), fewer addresses than `min_answers` (an empty answer,
//!   NODATA, included), an `expect` address missing from the answers,
//!   the server unreachable (ICMP port unreachable), an unreadable answer.
//!
//! The first failing name (in `names` order, `A` before `AAAA`) gives the
//! flow's reason; every failing name is a finding.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::RecordType;
use serde::Serialize;

use super::exchange::{self, Outcome, Question};
use super::settings::{DnsSpec, MAX_ANSWERS};
use crate::kinds::KindFacts;
use crate::outcome::{Finding, Level, Reason, reason_suffix, verdict};
use crate::probe::{Ctx, Failure, Phase, ProbeResult, Success};
use crate::text::named_enum;

/// What a load prepares once: the questions of every probe.
#[derive(Debug)]
pub struct DnsState {
    pub spec: DnsSpec,
    /// Per name, its questions: one per record type asked.
    questions: Vec<Question>,
}

impl DnsState {
    pub fn new(spec: &DnsSpec) -> Result<Self, String> {
        let mut questions = Vec::with_capacity(spec.names.len() * spec.record.types().len());
        for n in &spec.names {
            let mut name = hickory_resolver::proto::rr::Name::from_ascii(n)
                .map_err(|e| format!("dns.names: {n:?}: {e}"))?;
            // Absolute: no search list, as written or not with a dot.
            name.set_fqdn(true);
            for record in spec.record.types() {
                questions.push(Question {
                    name: name.clone(),
                    record: *record,
                });
            }
        }
        Ok(DnsState {
            spec: spec.clone(),
            questions,
        })
    }
}

/// The facts of one probe of one server address, for `/api/v1/flows`,
/// `check --output json`, the page and `flowprobe_dns_answers`.
#[derive(Debug, Clone, Serialize)]
pub struct DnsFacts {
    /// The server asked (the flow's target and port).
    pub server: SocketAddr,
    /// One entry per name, in `names` order.
    pub names: Vec<NameFacts>,
}

/// What one name got.
#[derive(Debug, Clone, Serialize)]
pub struct NameFacts {
    /// As written in `names`.
    pub name: String,
    /// The name's verdict: `ok`, or the reason of its first failing query.
    pub reason: Reason,
    /// One per record type asked (`A`, then `AAAA`).
    pub queries: Vec<QueryFacts>,
}

/// What one question (a name and a record type) got.
#[derive(Debug, Clone, Serialize)]
pub struct QueryFacts {
    /// `A` or `AAAA`.
    pub record: &'static str,
    /// The response code (`NOERROR`, `NXDOMAIN`, `SERVFAIL`, `REFUSED`,
    /// ...) when the server answered; `None` with `error`.
    pub rcode: Option<String>,
    /// Why there is no answer: `timeout`, `unreachable`, `malformed` or
    /// `io`; `None` with `rcode`.
    pub error: Option<QueryError>,
    /// The error as the system or the parser put it.
    pub error_detail: Option<String>,
    /// The addresses answered (records of the asked type, duplicates
    /// once), at most 32 (`settings::MAX_ANSWERS`).
    pub addresses: Vec<IpAddr>,
    /// Records of the asked type in the answer, also beyond the cap.
    pub answer_count: usize,
    /// `expect` addresses of this record's family not among the answers.
    pub missing: Vec<IpAddr>,
    /// The answer came over TCP (the UDP answer was truncated).
    pub over_tcp: bool,
    /// First query sent to answer read (retransmissions included); `None`
    /// without an answer.
    pub seconds: Option<f64>,
}

named_enum! {
/// Why a question has no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryError {
    Timeout = "timeout",
    Unreachable = "unreachable",
    Malformed = "malformed",
    Io = "io",
}
}

/// How long before the deadline the exchange stops waiting, so that names
/// still unanswered are reported as facts (`dns_timeout`) instead of the
/// wrapper cancelling the whole probe: a twentieth of the budget, between
/// 10 and 200 ms.
fn reserve(budget: Duration) -> Duration {
    (budget / 20).clamp(Duration::from_millis(10), Duration::from_millis(200))
}

pub(super) async fn run(ctx: &Ctx<'_>, addr: SocketAddr, state: &DnsState) -> ProbeResult {
    let outcomes = ask(ctx, addr, &state.questions).await?;
    let (details, findings) = judge(addr, &state.spec, &state.questions, outcomes);
    let reason = verdict(&findings);
    let good = details
        .names
        .iter()
        .filter(|n| n.reason == Reason::Ok)
        .count();
    let detail = format!(
        "{addr}: {good} of {} names answered as required{}",
        details.names.len(),
        reason_suffix(reason)
    );
    Ok(Success {
        detail,
        findings,
        facts: KindFacts::Dns(Box::new(details)),
    })
}

/// The outcome of each question, asked within the probe's budget less a
/// reserve for the judgement.
async fn ask(
    ctx: &Ctx<'_>,
    addr: SocketAddr,
    questions: &[Question],
) -> Result<Vec<Outcome>, Failure> {
    let now = tokio::time::Instant::now();
    let budget = ctx.deadline.saturating_duration_since(now);
    let stop = ctx.deadline - reserve(budget).min(budget / 2);
    ctx.timed(
        Phase::Dns,
        exchange::ask(addr, &ctx.net.vantage, questions, stop),
    )
    .await
    .map_err(|e| {
        Failure::new(
            if e.resource {
                Reason::Resource
            } else {
                Reason::Internal
            },
            format!("{addr}: {}", e.detail),
        )
    })
}

/// A DNS flow that must be closed: its first question, over UDP as a
/// device asks it. Any answer, whatever its code or even unreadable, means
/// a server answers there (`ok`: the flow is open, against its
/// expectation); silence is `filtered`, an ICMP unreachable `refused`. A
/// TCP connect would call a firewall that drops TCP 53 but passes UDP 53
/// closed.
pub(super) async fn forbidden(ctx: &Ctx<'_>, addr: SocketAddr, state: &DnsState) -> ProbeResult {
    let first = &state.questions[..state.questions.len().min(1)];
    let outcome = ask(ctx, addr, first).await?.into_iter().next();
    let answered = |how: String| {
        Ok(Success {
            detail: format!("{addr}: {how}"),
            ..Success::default()
        })
    };
    match outcome {
        Some(Outcome::Answered { code, .. }) => answered(format!("answered DNS ({code})")),
        Some(Outcome::Malformed(d)) => answered(format!("answered, unreadably ({d})")),
        Some(Outcome::Unreachable(d)) => Err(Failure::new(
            Reason::Refused,
            format!("{addr}: no DNS server ({d})"),
        )),
        Some(Outcome::Io(d)) => Err(Failure::new(Reason::Internal, format!("{addr}: {d}"))),
        Some(Outcome::Timeout) => Err(Failure::new(
            Reason::Filtered,
            format!("{addr}: no DNS answer within the budget"),
        )),
        // No question to ask (the settings require a name): nothing was
        // judged, so not a closed port either.
        None => Err(Failure::new(
            Reason::Internal,
            format!("{addr}: no DNS question to ask"),
        )),
    }
}

/// The facts and findings of a probe's outcomes (one per question, in
/// order).
pub(super) fn judge(
    server: SocketAddr,
    spec: &DnsSpec,
    questions: &[Question],
    outcomes: Vec<Outcome>,
) -> (DnsFacts, Vec<Finding>) {
    let per_name = spec.record.types().len();
    let mut findings = Vec::new();
    let mut names = Vec::with_capacity(spec.names.len());
    let mut outcomes = outcomes.into_iter();
    for (name, qs) in spec.names.iter().zip(questions.chunks(per_name)) {
        let mut queries = Vec::with_capacity(per_name);
        let mut reason = Reason::Ok;
        for q in qs {
            let outcome = outcomes.next().unwrap_or(Outcome::Timeout);
            let (facts, finding) = judge_one(name, q.record, spec, outcome);
            if let Some(f) = finding {
                if reason == Reason::Ok {
                    reason = f.reason;
                }
                findings.push(f);
            }
            queries.push(facts);
        }
        names.push(NameFacts {
            name: name.clone(),
            reason,
            queries,
        });
    }
    (DnsFacts { server, names }, findings)
}

fn judge_one(
    name: &str,
    record: RecordType,
    spec: &DnsSpec,
    outcome: Outcome,
) -> (QueryFacts, Option<Finding>) {
    let rtype = if record == RecordType::AAAA {
        "AAAA"
    } else {
        "A"
    };
    let mut facts = QueryFacts {
        record: rtype,
        rcode: None,
        error: None,
        error_detail: None,
        addresses: Vec::new(),
        answer_count: 0,
        missing: Vec::new(),
        over_tcp: false,
        seconds: None,
    };
    let failed = match outcome {
        Outcome::Answered {
            code,
            addresses,
            over_tcp,
            took,
        } => {
            facts.rcode = Some(rcode(code));
            facts.answer_count = addresses.len();
            facts.over_tcp = over_tcp;
            facts.seconds = Some(took.as_secs_f64());
            facts.addresses = distinct_capped(&addresses);
            judge_answer(code, &addresses, record, spec, &mut facts)
        }
        Outcome::Timeout => {
            facts.error = Some(QueryError::Timeout);
            Some((Reason::DnsTimeout, "no answer within the budget".into()))
        }
        Outcome::Unreachable(d) => unanswered(
            &mut facts,
            QueryError::Unreachable,
            format!("server unreachable ({d})"),
            d,
        ),
        Outcome::Malformed(d) => unanswered(
            &mut facts,
            QueryError::Malformed,
            format!("unreadable answer ({d})"),
            d,
        ),
        Outcome::Io(d) => unanswered(&mut facts, QueryError::Io, d.clone(), d),
    };
    let finding = failed
        .map(|(reason, what)| Finding::new(reason, Level::Fail, format!("{name} {rtype}: {what}")));
    (facts, finding)
}

/// The answered addresses for the facts: each once, at most
/// [`MAX_ANSWERS`].
fn distinct_capped(addresses: &[IpAddr]) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for ip in addresses {
        if out.len() < MAX_ANSWERS && !out.contains(ip) {
            out.push(*ip);
        }
    }
    out
}

/// Why an answer fails (its reason and what went wrong), if it does: the
/// response code, then `min_answers` and `expect`, judged on every
/// address answered, also beyond the cap. Notes the missing `expect`
/// addresses in `facts`.
fn judge_answer(
    code: ResponseCode,
    addresses: &[IpAddr],
    record: RecordType,
    spec: &DnsSpec,
    facts: &mut QueryFacts,
) -> Option<(Reason, String)> {
    let rtype = facts.record;
    if code == ResponseCode::NXDomain {
        return Some((Reason::DnsNxdomain, "no such domain (NXDOMAIN)".into()));
    }
    if code != ResponseCode::NoError {
        return Some((
            Reason::DnsError,
            format!("the server answered {}", rcode(code)),
        ));
    }
    let family = |ip: &IpAddr| (record == RecordType::A) == ip.is_ipv4();
    facts.missing = spec
        .expect
        .iter()
        .filter(|ip| family(ip) && !addresses.contains(ip))
        .copied()
        .collect();
    let total = addresses.len();
    if (total as u64) < u64::from(spec.min_answers) {
        let what = if total == 0 {
            format!("no {rtype} records (NOERROR, empty answer)")
        } else {
            format!(
                "{total} {rtype} records, at least {} required",
                spec.min_answers
            )
        };
        Some((Reason::DnsError, what))
    } else if !facts.missing.is_empty() {
        let what = format!(
            "expected {} not among the answers ({})",
            join(&facts.missing),
            if facts.addresses.is_empty() {
                "none".into()
            } else {
                join(&facts.addresses)
            }
        );
        Some((Reason::DnsError, what))
    } else {
        None
    }
}

/// A question without an answer: `error` and its `detail` into `facts`;
/// it fails as `dns_error`, saying `what`.
fn unanswered(
    facts: &mut QueryFacts,
    error: QueryError,
    what: String,
    detail: String,
) -> Option<(Reason, String)> {
    facts.error = Some(error);
    facts.error_detail = Some(detail);
    Some((Reason::DnsError, what))
}

fn join(ips: &[IpAddr]) -> String {
    ips.iter()
        .map(IpAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The mnemonic of a response code (RFC 1035, 2136, 6891).
fn rcode(code: ResponseCode) -> String {
    let n = u16::from(code);
    let name = match n {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADVERS",
        23 => "BADCOOKIE",
        _ => return format!("RCODE{n}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Collector;

    fn spec(table: &str) -> DnsSpec {
        let v: toml::Table = format!("dns = {{ {table} }}").parse().expect("toml");
        let mut errs = Collector::new("test");
        DnsSpec::validate(v.get("dns"), "flow[x]", &mut errs).expect("valid")
    }

    fn answered(code: ResponseCode, ips: &[&str]) -> Outcome {
        let addresses: Vec<IpAddr> = ips.iter().map(|s| s.parse().expect("ip")).collect();
        Outcome::Answered {
            code,
            addresses,
            over_tcp: false,
            took: Duration::from_millis(3),
        }
    }

    fn server() -> SocketAddr {
        "127.0.0.1:53".parse().expect("addr")
    }

    #[test]
    fn each_outcome_has_its_reason_and_the_first_failing_name_speaks() {
        let s = spec(
            r#"names = ["ok.test", "nx.test", "slow.test", "fail.test", "empty.test", "gone.test"]"#,
        );
        let st = DnsState::new(&s).expect("state");
        let (d, findings) = judge(
            server(),
            &s,
            &st.questions,
            vec![
                answered(ResponseCode::NoError, &["192.0.2.1"]),
                answered(ResponseCode::NXDomain, &[]),
                Outcome::Timeout,
                answered(ResponseCode::ServFail, &[]),
                answered(ResponseCode::NoError, &[]),
                Outcome::Unreachable("connection refused".into()),
            ],
        );
        let reasons: Vec<Reason> = d.names.iter().map(|n| n.reason).collect();
        assert_eq!(
            reasons,
            [
                Reason::Ok,
                Reason::DnsNxdomain,
                Reason::DnsTimeout,
                Reason::DnsError,
                Reason::DnsError,
                Reason::DnsError,
            ]
        );
        assert_eq!(verdict(&findings), Reason::DnsNxdomain);
        assert_eq!(findings.len(), 5);
        assert_eq!(d.names[1].queries[0].rcode.as_deref(), Some("NXDOMAIN"));
        assert_eq!(d.names[2].queries[0].error, Some(QueryError::Timeout));
        assert_eq!(d.names[3].queries[0].rcode.as_deref(), Some("SERVFAIL"));
        assert_eq!(d.names[5].queries[0].error, Some(QueryError::Unreachable));
        assert_eq!(d.names[0].queries[0].seconds, Some(0.003));
    }

    #[test]
    fn expect_is_judged_per_name_and_family_and_min_answers_counts() {
        let s = spec(
            r#"names = ["a.test", "b.test"], record = "both", expect = ["192.0.2.10", "2001:db8::10"], min_answers = 1"#,
        );
        let st = DnsState::new(&s).expect("state");
        assert_eq!(st.questions.len(), 4);
        let (d, findings) = judge(
            server(),
            &s,
            &st.questions,
            vec![
                answered(ResponseCode::NoError, &["192.0.2.10", "192.0.2.11"]),
                answered(ResponseCode::NoError, &["2001:db8::10"]),
                answered(ResponseCode::NoError, &["192.0.2.11"]),
                answered(ResponseCode::NoError, &["2001:db8::10"]),
            ],
        );
        assert_eq!(d.names[0].reason, Reason::Ok);
        assert_eq!(d.names[1].reason, Reason::DnsError);
        let want: Vec<IpAddr> = vec!["192.0.2.10".parse().expect("ip")];
        assert_eq!(d.names[1].queries[0].missing, want);
        assert!(d.names[1].queries[1].missing.is_empty());
        assert_eq!(findings.len(), 1);
        assert!(findings[0].detail.contains("192.0.2.10"), "{findings:?}");

        let s = spec(r#"names = ["a.test"], min_answers = 2"#);
        let st = DnsState::new(&s).expect("state");
        let one = || vec![answered(ResponseCode::NoError, &["192.0.2.1"])];
        let (d, _) = judge(server(), &s, &st.questions, one());
        assert_eq!(d.names[0].reason, Reason::DnsError);
        let s = spec(r#"names = ["a.test"], min_answers = 0"#);
        let (d, _) = judge(
            server(),
            &s,
            &st.questions,
            vec![answered(ResponseCode::NoError, &[])],
        );
        assert_eq!(
            d.names[0].reason,
            Reason::Ok,
            "min_answers = 0 takes an empty answer"
        );
    }

    #[test]
    fn answers_are_capped_in_the_facts_but_judged_whole() {
        let s = spec(r#"names = ["many.test"], expect = ["10.0.0.39"]"#);
        let st = DnsState::new(&s).expect("state");
        let ips: Vec<String> = (0..40).map(|i| format!("10.0.0.{i}")).collect();
        let refs: Vec<&str> = ips.iter().map(String::as_str).collect();
        let (d, findings) = judge(
            server(),
            &s,
            &st.questions,
            vec![answered(ResponseCode::NoError, &refs)],
        );
        let q = &d.names[0].queries[0];
        assert_eq!(q.addresses.len(), MAX_ANSWERS);
        assert_eq!(q.answer_count, 40);
        assert!(q.missing.is_empty() && findings.is_empty(), "{findings:?}");
    }

    #[test]
    fn response_codes_by_their_mnemonic() {
        assert_eq!(rcode(ResponseCode::NoError), "NOERROR");
        assert_eq!(rcode(ResponseCode::Refused), "REFUSED");
        assert_eq!(rcode(ResponseCode::Unknown(4000)), "RCODE4000");
    }

    #[test]
    fn the_reserve_leaves_time_to_report() {
        assert_eq!(reserve(Duration::from_secs(5)), Duration::from_millis(200));
        assert_eq!(reserve(Duration::from_secs(1)), Duration::from_millis(50));
        assert_eq!(
            reserve(Duration::from_millis(50)),
            Duration::from_millis(10)
        );
    }
}

//! How a DNS probe's facts are shown: one line per name under the flow in
//! `flowprobe check`, and the flow page's table of answers.

use maud::{Markup, html};

use super::{DnsFacts, NameFacts, QueryFacts};
use crate::outcome::{Reason, reason_suffix};

/// `dns mdm.example.test: A 192.0.2.10 (NOERROR, 1.20 ms); AAAA none (NOERROR, 0.91 ms)`
pub(super) fn line(n: &NameFacts) -> String {
    let parts: Vec<String> = n
        .queries
        .iter()
        .map(|q| format!("{} {} ({})", q.record, answer(q), how(q)))
        .collect();
    format!(
        "dns {}: {}{}",
        n.name,
        parts.join("; "),
        reason_suffix(n.reason)
    )
}

/// The addresses answered, or what came instead.
fn answer(q: &QueryFacts) -> String {
    if q.error.is_some() {
        return "no answer".into();
    }
    if q.addresses.is_empty() {
        return "none".into();
    }
    let mut s = q
        .addresses
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if q.answer_count > q.addresses.len() {
        s.push_str(&format!(" and {} more", q.answer_count - q.addresses.len()));
    }
    s
}

/// The response code and time, or the error.
fn how(q: &QueryFacts) -> String {
    match (&q.rcode, q.error) {
        (Some(code), _) => format!(
            "{code}, {}{}",
            ms(q.seconds.unwrap_or_default()),
            if q.over_tcp { ", over TCP" } else { "" }
        ),
        (None, Some(e)) => match &q.error_detail {
            Some(d) => format!("{e}: {d}"),
            None => e.to_string(),
        },
        (None, None) => String::new(),
    }
}

fn ms(secs: f64) -> String {
    let ms = secs * 1_000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

pub(super) fn section(d: &DnsFacts) -> Markup {
    html! {
        p { "Asked " code { (d.server) } " directly, from the vantage." }
        div.scroll role="region" aria-label="DNS answers" tabindex="0" {
            table.dns {
                caption { "Answers per name" }
                thead { tr {
                    th scope="col" { "verdict" } th scope="col" { "name" }
                    th scope="col" { "record" } th scope="col" { "answer" }
                    th scope="col" { "code, time" } th scope="col" { "expected, missing" }
                } }
                tbody {
                    @for n in &d.names {
                        @let cls = if n.reason == Reason::Ok { "up" } else { "down" };
                        @for (i, q) in n.queries.iter().enumerate() {
                            tr class=(cls) {
                                @if i == 0 {
                                    td rowspan=(n.queries.len()) {
                                        span class={ "badge " (cls) } { (n.reason) }
                                    }
                                    td rowspan=(n.queries.len()) { code { (n.name) } }
                                }
                                td { (q.record) }
                                td { (answer(q)) }
                                td { (how(q)) }
                                td {
                                    @if q.missing.is_empty() {
                                        "-"
                                    } @else {
                                        @for (j, m) in q.missing.iter().enumerate() {
                                            @if j > 0 { ", " }
                                            code { (m) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::dns::QueryError;

    fn query(record: &'static str) -> QueryFacts {
        QueryFacts {
            record,
            rcode: Some("NOERROR".into()),
            error: None,
            error_detail: None,
            addresses: vec!["192.0.2.10".parse().expect("ip")],
            answer_count: 3,
            missing: Vec::new(),
            over_tcp: false,
            seconds: Some(0.0012),
        }
    }

    #[test]
    fn one_line_per_name_with_every_record() {
        let mut aaaa = query("AAAA");
        aaaa.rcode = None;
        aaaa.error = Some(QueryError::Timeout);
        aaaa.addresses.clear();
        let n = NameFacts {
            name: "mdm.example.test".into(),
            reason: Reason::DnsTimeout,
            queries: vec![query("A"), aaaa],
        };
        assert_eq!(
            line(&n),
            "dns mdm.example.test: A 192.0.2.10 and 2 more (NOERROR, 1.20 ms); \
             AAAA no answer (timeout): dns_timeout"
        );
    }

    /// A name is the server's word as far as the page is concerned: maud
    /// escapes it (names are validated, but the page must not rely on it).
    #[test]
    fn the_section_escapes_by_construction() {
        let d = DnsFacts {
            server: "127.0.0.1:53".parse().expect("addr"),
            names: vec![NameFacts {
                name: "<b>x</b>".into(),
                reason: Reason::Ok,
                queries: vec![query("A")],
            }],
        };
        let html = section(&d).into_string();
        assert!(
            html.contains("&lt;b&gt;x&lt;/b&gt;") && !html.contains("<b>x"),
            "{html}"
        );
        assert!(html.contains("192.0.2.10"));
    }
}

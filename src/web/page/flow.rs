//! `/flow/{vantage}/{name}`: one flow for the engineer who has to fix it:
//! its definition, the last outcome with phase timings and findings, the
//! history with reasons, the command that reproduces it, and the facts of
//! its check: the sent TLS chain drawn as a path per trust store (where it
//! stops marked, extras greyed), the SSH algorithms as judged, the CRLs.
//!
//! Written with `maud`: every value is escaped by the template, none by
//! hand.

use maud::{Markup, html};

use super::Instance;
use super::fmt::{age, ms, time_ago, utc};
use super::layout;
use super::overview::{reason_note, state, strip};
use crate::analyze::chain::{AnchorResult, CertFacts, Culprit, StructuralReport, Violation};
use crate::outcome::{Finding, Level, Reason};
use crate::probe::crl::CrlDetails;
use crate::probe::ssh::SshDetails;
use crate::probe::tls::TlsDetails;
use crate::probe::{Attempt, Details, Phase, Phases};
use crate::web::FlowView;

/// From `/flow/{vantage}/{name}` back to `/`.
const ROOT: &str = "../../";

fn definition(v: &FlowView, origin: &str) -> Markup {
    // The configuration file goes into the command only when it is one;
    // the embedded default needs no `--config`.
    let config = if std::path::Path::new(origin).is_file() {
        format!(" --config {}", shell_quote(origin))
    } else {
        String::new()
    };
    let cmd = format!(
        "flowprobe check{config} --vantage {} --flow {}",
        shell_quote(&v.vantage),
        shell_quote(&v.name)
    );
    html! {
        section aria-labelledby="def-h" {
            h2 #def-h { "Definition" }
            dl.facts {
                dt { "From (vantage)" } dd { (v.vantage) }
                dt { "To" } dd { (v.to) " " span.host { (v.host) } ":" (v.port) }
                dt { "Check" } dd { (v.check) }
                dt { "Expect" } dd { (v.expect) }
                dt { "Severity" } dd { (v.severity) }
                dt { "Interval / timeout" } dd { (v.interval_seconds) " s / " (v.timeout_seconds) " s" }
                dt { "Labels" } dd {
                    @for (k, val) in &v.labels {
                        code { (k) "=" (val) } " "
                    }
                }
            }
            h3 #repro-h { "Reproduce from this host" }
            pre.cmd #repro aria-labelledby="repro-h" tabindex="0" { (cmd) }
        }
    }
}

/// Quote for a POSIX shell when the word needs it.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn phases(p: &Phases) -> Markup {
    let rows: Vec<(Phase, f64)> = Phase::ALL
        .into_iter()
        .filter_map(|ph| p.get(ph).map(|d| (ph, d.as_secs_f64())))
        .collect();
    html! {
        @if !rows.is_empty() {
            table.phases {
                caption { "Phase timings" }
                thead { tr { th scope="col" { "phase" } th scope="col" { "time" } } }
                tbody {
                    @for (ph, d) in &rows {
                        tr { th scope="row" { (ph.as_str()) } td { (ms(*d)) } }
                    }
                }
            }
        }
    }
}

fn level(l: Level) -> (&'static str, &'static str) {
    match l {
        Level::Fail => ("down", "FAIL"),
        Level::Warn => ("warn", "WARN"),
        Level::Info => ("info", "INFO"),
    }
}

fn findings(list: &[&Finding]) -> Markup {
    html! {
        @if list.is_empty() {
            p { "No findings." }
        } @else {
            ul.findings {
                @for f in list {
                    @let (class, text) = level(f.level);
                    li {
                        span class={ "badge " (class) } { (text) } " "
                        code.reason { (f.reason) } " " (f.detail)
                    }
                }
            }
        }
    }
}

/// Days from `now` to `t`, as a class and a text.
fn days_left(t: Option<i64>, now: i64) -> (&'static str, String) {
    match t {
        None => ("", String::new()),
        Some(t) if t <= now => ("expired", format!("expired {} ago", age(now - t))),
        Some(t) => {
            let d = (t - now) / 86_400;
            let class = if d < 30 { "expiring" } else { "valid" };
            (class, format!("{d} days left"))
        }
    }
}

/// What a certificate is to one store's path: the text of its mark, the
/// box's classes, and for the one that breaks the path why (plain text).
struct Role<'a> {
    mark: &'a str,
    class: &'a str,
    why: Option<&'a str>,
}

/// One certificate as a box.
fn cert_box(c: &CertFacts, role: &Role<'_>, now: i64) -> Markup {
    let why = html! {
        @if let Some(w) = role.why { p.why { (w) } }
    };
    if let Some(e) = &c.error {
        return html! {
            li class={ "cert " (role.class) } data-position=(c.position) {
                p.mark { (role.mark) }
                p.cn { "#" (c.position) " unparsable" }
                (why)
                p { (e) }
            }
        };
    }
    let (dclass, dtext) = days_left(c.not_after, now);
    let key = match &c.curve {
        Some(curve) => format!("{} {}", c.key_type, curve),
        None => format!("{} {}", c.key_type, c.key_bits),
    };
    let mut flags = Vec::new();
    if c.is_ca {
        flags.push("CA");
    }
    if c.self_signed {
        flags.push("self-signed");
    }
    let cn = if c.subject_cn.is_empty() {
        &c.subject
    } else {
        &c.subject_cn
    };
    html! {
        li class={ "cert " (role.class) } data-position=(c.position) {
            p.mark { (role.mark) }
            p.cn { span.pos { "#" (c.position) } " " (cn) }
            (why)
            dl {
                dt { "subject" } dd.subject { (c.subject) }
                dt { "issuer" } dd { (c.issuer) }
                dt { "serial" } dd { code { (c.serial) } }
                dt { "valid" } dd {
                    (c.not_before.map(utc).unwrap_or_default()) " to "
                    (c.not_after.map(utc).unwrap_or_default()) " "
                    span class={ "days " (dclass) } { (dtext) }
                }
                dt { "key" } dd {
                    (key)
                    @if !flags.is_empty() { " · " (flags.join(", ")) }
                }
                dt { "signature" } dd { (c.signature_algorithm) }
                @if !c.sans.is_empty() {
                    dt { "names" } dd { (c.sans.join(", ")) }
                }
            }
        }
    }
}

/// The rule a broken path breaks, in a few words for the mark on the
/// certificate that breaks it ([`Violation::render`] says it in full).
fn broken_rule(v: &Violation) -> &'static str {
    v.short()
}

/// The user-constrained policy set of a verified path: each policy as the
/// anchor's domain names it and as the leaf asserts it, or why there is
/// none.
fn policy_list(a: &AnchorResult) -> Markup {
    use crate::analyze::pkix::oids::describe;
    html! {
        @if a.policies.is_empty() {
            p.policies { "Certificate policies: none; the path is valid because no policy was required" }
        } @else {
            table.policies {
                caption { "Certificate policies" @if a.policy_required { " (required)" } }
                thead { tr {
                    th scope="col" { "in the anchor's domain" }
                    th scope="col" { "as the leaf asserts it" }
                } }
                tbody {
                    @for q in &a.policies {
                        tr { td { (describe(&q.authority)) } td { (describe(&q.leaf)) } }
                    }
                }
            }
        }
    }
}

/// One store's path: the certificates on it from the leaf, then the anchor
/// it reached (or links to), or the point where it stops; then what else
/// was sent, greyed. A store that does not verify has exactly one element
/// marked `breaks` (a mark in words, not only colour) saying what is
/// really wrong: the issuer that was not sent (`chain_incomplete`), the
/// certificate the store does not trust (`chain_untrusted`), or the
/// certificate (or anchor) that breaks a rule of a linked path.
fn store_path(chain: &StructuralReport, a: &AnchorResult, now: i64) -> Markup {
    let certs = &chain.certificates;
    let (badge, verdict) = match a.reason {
        _ if a.verified => ("up", "PATH VERIFIED"),
        Reason::ChainIncomplete => ("down", "PATH STOPS"),
        Reason::ChainUntrusted => ("down", "NOT TRUSTED"),
        _ => ("down", "PATH REFUSED"),
    };
    let last = a.path.last().and_then(|&p| certs.get(p));
    // Which box carries the break, and what it says.
    let culprit = a.violation.as_ref().and_then(Violation::culprit);
    let untrusted_mark = format!("the path ends here: store {} does not trust it", a.store);
    let broken_mark = a
        .violation
        .as_ref()
        .map(|v| format!("breaks the path: {}", broken_rule(v)));
    let on_path: Vec<(usize, &CertFacts)> = a
        .path
        .iter()
        .enumerate()
        .filter_map(|(step, &pos)| certs.get(pos).map(|c| (step, c)))
        .collect();
    let role_of = |step: usize, pos: usize, on: &'_ str| -> (String, &'static str, bool) {
        if culprit == Some(Culprit::Sent(pos)) {
            (
                broken_mark.clone().unwrap_or_default(),
                "on-path breaks",
                true,
            )
        } else if a.reason == Reason::ChainUntrusted && step + 1 == a.path.len() {
            (untrusted_mark.clone(), "on-path breaks", true)
        } else {
            (on.to_string(), "on-path", false)
        }
    };
    // The anchor the path reached, or the one a broken path links to by
    // names and signatures (the last certificate's issuer).
    let anchor = (a.verified || a.violation.is_some()).then(|| {
        let subject = match &a.anchor_subject {
            Some(subject) => subject.as_str(),
            None => last.map_or("", |c| c.issuer.as_str()),
        };
        if culprit == Some(Culprit::Anchor) {
            (
                "anchor breaks",
                broken_mark.clone().unwrap_or_default(),
                Some(a.detail.as_str()),
                subject,
            )
        } else {
            (
                "anchor",
                "trust anchor (in the store, not sent)".to_string(),
                None,
                subject,
            )
        }
    });
    // "Not sent" only when no sent certificate carries the issuer's name;
    // otherwise the search stopped for another reason (depth, budget, a
    // signature that does not verify) and the detail says it.
    let issuer_sent = last.is_some_and(|l| {
        certs
            .iter()
            .any(|c| c.error.is_none() && c.subject == l.issuer)
    });
    let others: Vec<&CertFacts> = certs
        .iter()
        .filter(|c| !a.path.contains(&c.position))
        .collect();
    html! {
        section class={ "store " (badge) } data-store=(a.store) data-reason=(a.reason) {
            h3 {
                "Trust store " code { (a.store) } " "
                span class={ "badge " (badge) } { (verdict) } " "
                code.reason { (a.reason) }
            }
            p.detail { (a.detail) }
            ol.path {
                @for (step, c) in &on_path {
                    @let on = match step { 0 => "leaf, on the path".to_string(), n => format!("step {n}, on the path") };
                    @let (mark, class, breaks) = role_of(*step, c.position, &on);
                    (cert_box(c, &Role { mark: &mark, class, why: breaks.then_some(a.detail.as_str()) }, now))
                }
                @if let Some((class, mark, why, subject)) = &anchor {
                    li class=(class) {
                        p.mark { (mark) }
                        p.cn { (subject) }
                        @if let Some(w) = why { p.why { (w) } }
                    }
                }
                @if a.violation.is_some() && culprit.is_none() {
                    li.stop.breaks role="note" {
                        p.mark { "the validator refused the path" }
                        p.why { (a.detail) }
                    }
                } @else if !a.verified && a.reason == Reason::ChainIncomplete {
                    li.stop.breaks role="note" {
                        p.mark { "the path stops here" }
                        p {
                            @match last {
                                Some(c) if !issuer_sent => {
                                    "Not sent: the certificate of " strong { (c.issuer) }
                                    ", the issuer of #" (c.position) " " (c.subject_cn) ". "
                                    "A device that trusts only " code { (a.store) }
                                    " and the sent certificates cannot reach an anchor."
                                }
                                _ => (a.detail),
                            }
                        }
                    }
                }
            }
            @if a.verified { (policy_list(a)) }
            @if !others.is_empty() {
                h4 { "Also sent, not on this path" }
                ol.path.extras {
                    @for c in &others {
                        @let mark = if chain.duplicates.contains(&c.position) {
                            "duplicate"
                        } else if chain.anchor_sent.contains(&c.position) {
                            "anchor sent (not needed)"
                        } else {
                            "extra: not on this path"
                        };
                        (cert_box(c, &Role { mark, class: "extra", why: None }, now))
                    }
                }
            }
        }
    }
}

fn tls(d: &TlsDetails, now: i64) -> Markup {
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".to_string());
    html! {
        h3 { "Handshake" }
        dl.facts {
            dt { "server name" } dd { (d.server_name) }
            dt { "version" } dd { (opt(&d.version)) }
            dt { "cipher suite" } dd { (opt(&d.cipher_suite)) }
            dt { "ALPN" } dd { (opt(&d.alpn)) }
            dt { "client certificate requested" } dd { (if d.client_cert_requested { "yes" } else { "no" }) }
        }
        @match &d.chain {
            None => p { "No certificate was received." },
            Some(chain) => {
                h3 {
                    "Sent chain: " (chain.certificates.len()) " certificates, "
                    @if chain.order_ok() { "in order" } @else { strong.bad { "out of order" } }
                }
                @if chain.anchors().is_empty() {
                    p { "No trust store is judged for this flow; the sent certificates:" }
                    ol.path {
                        @for c in &chain.certificates {
                            (cert_box(c, &Role { mark: "sent", class: "on-path", why: None }, now))
                        }
                    }
                }
                @for a in chain.anchors() {
                    (store_path(&chain.structure, a, now))
                }
                @if let Some(p) = &d.protocols { (protocols(p)) }
            }
        }
    }
}

/// A judgement's facts beside its verdict, for the table.
fn protocol_facts(j: &crate::analyze::tls_policy::ProtocolJudgement) -> String {
    let mut facts = Vec::new();
    if !j.outside.is_empty() {
        facts.push(format!("outside the lists: {}", j.outside.join(", ")));
    }
    if !j.transitional.is_empty() {
        facts.push(format!("transitional: {}", j.transitional.join(", ")));
    }
    if let Some(etm) = &j.etm {
        facts.push(format!("Encrypt-then-MAC: {etm:?}"));
    }
    if let Some(ats) = j.ats {
        facts.push(format!(
            "Apple devices can connect: {}",
            if ats { "yes" } else { "no" }
        ));
    }
    if !j.complete {
        facts.push("enumeration incomplete".to_owned());
    }
    facts.join("; ")
}

/// Each protocol policy's verdict on the last enumeration.
fn protocols(p: &crate::probe::tls::protocols::ProtocolDetails) -> Markup {
    html! {
        h3 { "Protocol policies" }
        table {
            thead { tr { th { "policy" } th { "verdict" } th { "versions accepted" } th { "facts" } } }
            tbody {
                @for j in std::iter::once(&p.judgement).chain(&p.other_policies) {
                    tr {
                        td { (j.policy) " " small { (j.release) } }
                        td {
                            @if !j.violations.is_empty() {
                                strong.bad { "violated" } ": " (j.violations.join("; "))
                            } @else if !j.warnings.is_empty() {
                                "met, with warnings: " (j.warnings.join("; "))
                            } @else {
                                "met"
                            }
                        }
                        td { (j.accepted_versions().join(", ")) }
                        td { (protocol_facts(j)) }
                    }
                }
            }
        }
    }
}

fn ssh(d: &SshDetails) -> Markup {
    let j = &d.judgement;
    html! {
        dl.facts {
            dt { "protocol" } dd { (d.protocol) }
            dt { "software" } dd { (d.software) }
            dt { "policy" } dd { (j.policy) " (" (j.release) ")" }
        }
        div.scroll role="region" aria-label="SSH algorithms" tabindex="0" {
            table.algos {
                caption { "Offered algorithms, judged by the policy" }
                thead { tr {
                    th scope="col" { "kind" } th scope="col" { "algorithm" }
                    th scope="col" { "verdict" } th scope="col" { "rule broken" }
                } }
                tbody {
                    @for a in &j.offered {
                        @let c = if a.allowed { "up" } else { "down" };
                        tr class=(c) {
                            td { (a.kind.as_str()) }
                            td { code { (a.name) } }
                            td { span class={ "badge " (c) } { (if a.allowed { "allowed" } else { "NOT ALLOWED" }) } }
                            td { (a.rules.join(", ")) }
                        }
                    }
                }
            }
        }
        @for (kind, names) in &j.missing_required {
            p.bad { "Required " (kind.as_str()) " not offered: " (names.join(", ")) }
        }
        @for n in &j.notes {
            p.note { (n) }
        }
    }
}

/// One CRL's cells: issuer, dates, signature, revocations, entries.
fn crl_cells(c: Option<&crate::analyze::crl::CrlFacts>, now: i64) -> [String; 5] {
    let Some(c) = c else {
        return Default::default();
    };
    [
        if c.issuer_cn.is_empty() {
            c.issuer.clone()
        } else {
            c.issuer_cn.clone()
        },
        format!(
            "{} / {}{}",
            utc(c.this_update),
            c.next_update.map(utc).unwrap_or_else(|| "none".into()),
            c.next_update
                .map(|n| format!(" ({})", days_left(Some(n), now).1))
                .unwrap_or_default()
        ),
        format!(
            "{} {}",
            c.signature_algorithm,
            if c.signature_valid {
                "valid"
            } else {
                "INVALID"
            }
        ),
        if c.revoked.is_empty() {
            "none".to_string()
        } else {
            c.revoked
                .iter()
                .map(|r| format!("#{} {} ({})", r.position, r.subject_cn, r.serial))
                .collect::<Vec<_>>()
                .join(", ")
        },
        c.entries.to_string(),
    ]
}

fn crl(d: &CrlDetails, now: i64) -> Markup {
    html! {
        @if let Some(f) = &d.from_flow {
            p {
                "Certificates from flow " code { (f) }
                @if let Some(t) = d.chain_captured_at { ", captured " (utc(t as i64)) }
                "."
            }
        }
        div.scroll role="region" aria-label="CRLs" tabindex="0" {
            table.crls {
                caption { "CRLs" }
                thead { tr {
                    th scope="col" { "verdict" } th scope="col" { "issuer" }
                    th scope="col" { "this / next update" } th scope="col" { "size, entries" }
                    th scope="col" { "signature" } th scope="col" { "revoked on the path" }
                    th scope="col" { "URL" }
                } }
                tbody {
                    @for e in &d.crls {
                        @let cls = if e.reason == Reason::Ok { "up" } else { "down" };
                        @let [issuer, dates, sig, revoked, entries] = crl_cells(e.crl.as_ref(), now);
                        tr class=(cls) {
                            td { span class={ "badge " (cls) } { (e.reason) } " " (e.detail) }
                            td { (issuer) }
                            td { (dates) }
                            td { (e.http.body_bytes) " bytes, " (entries) }
                            td { (sig) }
                            td { (revoked) }
                            td {
                                code { (e.url) } " (HTTP "
                                (e.http.status.map_or("none".to_string(), |s| s.to_string())) ")"
                            }
                        }
                    }
                }
            }
        }
    }
}

fn attempt(a: &Attempt, n: usize, of: usize, now: i64) -> Markup {
    html! {
        @if of > 1 {
            h3 { "Address " (n) ": " (a.address.to_string()) " " code.reason { (a.reason) } }
            p { (a.detail) }
            (phases(&a.phases))
        }
        @match &a.details {
            Details::Tls(d) => section.check.tls { h2 { "TLS" } (tls(d, now)) },
            Details::Ssh(d) => section.check.ssh { h2 { "SSH" } (ssh(d)) },
            Details::Crl(d) => section.check.crl { h2 { "CRLs" } (crl(d, now)) },
            Details::Http(d) => section.check.http {
                h2 { "HTTP" }
                dl.facts {
                    dt { "URL" } dd { (d.url) }
                    dt { "final URL" } dd { (d.final_url) }
                    dt { "status" } dd { (d.status.map_or("none".to_string(), |s| s.to_string())) }
                    dt { "redirects" } dd { (d.redirects.len()) }
                    dt { "content type" } dd { (d.content_type.as_deref().unwrap_or("none")) }
                    dt { "body" } dd { (d.body_bytes) " bytes" }
                }
            },
            Details::Ocsp(d) => section.check.ocsp {
                h2 { "OCSP" }
                p { "Certificates of the last chain of " code { (d.from_flow) } "." }
                div.scroll role="region" aria-label="OCSP responses" tabindex="0" {
                    table {
                        thead { tr {
                            th scope="col" { "#" } th scope="col" { "certificate" }
                            th scope="col" { "responder" } th scope="col" { "reason" }
                            th scope="col" { "detail" }
                        } }
                        tbody {
                            @for r in &d.responses {
                                tr {
                                    td { (r.position) }
                                    td { (r.subject_cn) " (serial " (r.serial) ")" }
                                    td { (r.url) }
                                    td { code { (r.reason) } }
                                    td { (r.detail) }
                                }
                            }
                        }
                    }
                }
            },
            Details::None => {},
        }
    }
}

fn history(v: &FlowView) -> Markup {
    let entries = v.history.as_deref().unwrap_or_default();
    html! {
        section aria-labelledby="hist-h" {
            h2 #hist-h { "History" }
            (strip(v))
            details {
                summary { "Every outcome (" (entries.len()) " kept, newest first)" }
                table.history {
                    thead { tr { th scope="col" { "started" } th scope="col" { "state" } th scope="col" { "reason" } } }
                    tbody {
                        @for e in entries.iter().rev() {
                            @let (c, t) = if e.up { ("up", "UP") } else { ("down", "DOWN") };
                            tr class=(c) {
                                td { (utc(i64::from(e.t))) }
                                td { span class={ "badge " (c) } { (t) } }
                                td { code { (e.reason) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub fn render(v: &FlowView, inst: &Instance) -> String {
    let now = inst.now;
    let (class, text) = state(v);
    let main = html! {
        nav.crumbs { a href=(ROOT) { "All flows" } " / " (v.vantage) }
        header class={ "flowhead " (class) } #flowhead {
            h1 { span class={ "badge " (class) } { (text) } " " (v.name) }
            p.desc { (v.description) }
            @match &v.last {
                None => p { "Not probed yet." },
                Some(r) => {
                    p.verdict { code.reason { (r.reason) } " " span.note { (reason_note(v)) } }
                    p.detail { (r.detail) }
                    p.meta {
                        @if let Some(t) = v.since.flatten() {
                            (text) " since " (utc(i64::from(t))) " (" (time_ago(i64::from(t), now, "since")) ")"
                        }
                        " · last probe " (time_ago(crate::text::unix_secs(r.started), now, "age"))
                    }
                }
            }
        }
        @if let Some(r) = &v.last {
            @let all: Vec<&Finding> = r.findings().collect();
            section aria-labelledby="last-h" {
                h2 #last-h { "Last outcome" }
                (phases(&r.phases))
                h3 { "Findings" }
                (findings(&all))
            }
            @for (i, a) in r.attempts.iter().enumerate() {
                (attempt(a, i + 1, r.attempts.len(), now))
            }
        }
        (history(v))
        (definition(v, &inst.daemon.origin))
    };
    let title = format!("{text} {} ({}) - flowprobe", v.name, v.vantage);
    layout(&title, ROOT, "flow", main).into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(position: usize, cn: &str, issuer: &str, self_signed: bool) -> CertFacts {
        let name = |cn: &str| format!("CN={cn}, O=U.S. Government, C=US");
        CertFacts {
            position,
            subject: name(cn),
            subject_cn: cn.to_string(),
            issuer: name(issuer),
            issuer_cn: issuer.to_string(),
            serial: format!("{position:x}"),
            not_before: Some(0),
            not_after: Some(4_000_000_000),
            key_type: "rsa".into(),
            key_bits: 2048,
            signature_algorithm: "sha256WithRSAEncryption".into(),
            is_ca: position > 0,
            self_signed,
            ..CertFacts::default()
        }
    }

    fn chain(certs: Vec<CertFacts>) -> StructuralReport {
        StructuralReport {
            fingerprint: String::new(),
            certificates: certs,
            anchor_sent: Vec::new(),
            duplicates: Vec::new(),
            unrelated: Vec::new(),
            findings: Vec::new(),
        }
    }

    fn refused(
        reason: Reason,
        path: Vec<usize>,
        violation: Option<Violation>,
        detail: &str,
    ) -> AnchorResult {
        AnchorResult::refused("fcpca-g2".into(), reason, path, violation, detail.into())
    }

    /// The classes of the elements marked as breaking the path.
    fn breaks(html: &str) -> Vec<&str> {
        html.match_indices("class=\"")
            .map(|(i, m)| {
                let rest = &html[i + m.len()..];
                &rest[..rest.find('"').unwrap_or(0)]
            })
            .filter(|c| c.split(' ').any(|w| w == "breaks"))
            .collect()
    }

    #[test]
    fn an_untrusted_root_is_marked_and_nothing_is_called_not_sent() {
        let c = chain(vec![
            cert(0, "mdm.lab.test", "DOD SW CA-66", false),
            cert(1, "DOD SW CA-66", "DoD Root CA 3", false),
            cert(2, "DoD Root CA 3", "DoD Root CA 3", true),
        ]);
        let a = refused(
            Reason::ChainUntrusted,
            vec![0, 1, 2],
            None,
            "path ends at self-signed CN=DoD Root CA 3, which is not an anchor of store fcpca-g2",
        );
        let html = store_path(&c, &a, 1_000).into_string();
        assert!(html.contains("NOT TRUSTED"), "{html}");
        assert_eq!(breaks(&html), ["cert on-path breaks"]);
        assert!(html.contains(
            "<li class=\"cert on-path breaks\" data-position=\"2\"><p class=\"mark\">the path ends here: store fcpca-g2 does not trust it</p><p class=\"cn\"><span class=\"pos\">#2</span> DoD Root CA 3</p><p class=\"why\">path ends at self-signed"
        ));
        assert!(
            !html.contains("Not sent") && !html.contains("class=\"stop"),
            "{html}"
        );
        assert!(
            !html.contains("class=\"anchor"),
            "no anchor is reached: {html}"
        );
    }

    #[test]
    fn a_verified_path_lists_its_policies_in_both_domains_escaped() {
        let c = chain(vec![cert(0, "mdm.lab.test", "DOD SW CA-66", false)]);
        let mut a = refused(Reason::Ok, vec![0], None, "sent path validates");
        a.verified = true;
        a.policy_required = true;
        a.policies = vec![
            crate::analyze::chain::QualifiedPolicy {
                authority: "2.16.840.1.101.3.2.1.3.7".into(),
                leaf: "2.16.840.1.101.2.1.11.42".into(),
            },
            crate::analyze::chain::QualifiedPolicy {
                authority: "1.2.3".into(),
                leaf: "<script>".into(),
            },
        ];
        let html = store_path(&c, &a, 1_000).into_string();
        assert!(
            html.contains("<caption>Certificate policies (required)</caption>"),
            "{html}"
        );
        assert!(
            html.contains(
                "<tr><td>id-fpki-common-hardware (2.16.840.1.101.3.2.1.3.7)</td>\
<td>id-US-dod-mediumHardware-112 (2.16.840.1.101.2.1.11.42)</td></tr>"
            ),
            "{html}"
        );
        assert!(
            html.contains("<td>&lt;script&gt;</td>") && !html.contains("<script>"),
            "{html}"
        );
        a.policies.clear();
        a.policy_required = false;
        let html = store_path(&c, &a, 1_000).into_string();
        assert!(html.contains("because no policy was required"), "{html}");
    }

    #[test]
    fn an_expired_anchor_is_drawn_and_marked() {
        let c = chain(vec![
            cert(0, "mdm.lab.test", "DOD SW CA-66", false),
            cert(1, "DOD SW CA-66", "DoD Root CA 3", false),
        ]);
        let v = Violation::AnchorExpired {
            subject: "CN=DoD Root CA 3".into(),
            not_after: 10,
        };
        let a = refused(
            Reason::CertExpired,
            vec![0, 1],
            Some(v),
            "anchor CN=DoD Root CA 3 of store fcpca-g2 expired at 1970-01-01T00:00:10Z",
        );
        let html = store_path(&c, &a, 1_000).into_string();
        assert!(html.contains("PATH REFUSED"), "{html}");
        assert_eq!(breaks(&html), ["anchor breaks"]);
        assert!(
            html.contains("breaks the path: the anchor expired"),
            "{html}"
        );
        assert!(
            html.contains("<p class=\"cn\">CN=DoD Root CA 3, O=U.S. Government, C=US</p><p class=\"why\">anchor"),
            "the anchor named: {html}"
        );
        assert!(!html.contains("Not sent"), "{html}");
    }

    #[test]
    fn a_refusal_without_a_culprit_says_the_validator_refused() {
        let c = chain(vec![cert(0, "mdm.lab.test", "DOD SW CA-66", false)]);
        let v = Violation::Refused {
            error: "UnknownIssuer".into(),
        };
        let a = refused(
            Reason::ChainInvalid,
            vec![0],
            Some(v),
            "the validator refused the path: UnknownIssuer",
        );
        let html = store_path(&c, &a, 1_000).into_string();
        assert_eq!(breaks(&html), ["stop breaks"]);
        assert!(html.contains("the validator refused the path"), "{html}");
        assert!(!html.contains("Not sent"), "{html}");
    }

    #[test]
    fn an_incomplete_path_whose_issuer_was_sent_is_not_called_not_sent() {
        // The search stopped for another reason (depth, budget): the
        // issuer is among the sent certificates.
        let c = chain(vec![
            cert(0, "mdm.lab.test", "DOD SW CA-66", false),
            cert(1, "DOD SW CA-66", "DoD Root CA 3", false),
        ]);
        let a = refused(
            Reason::ChainIncomplete,
            vec![0],
            None,
            "path search budget exhausted at CN=mdm.lab.test",
        );
        let html = store_path(&c, &a, 1_000).into_string();
        assert_eq!(breaks(&html), ["stop breaks"]);
        assert!(!html.contains("Not sent"), "{html}");
        assert!(html.contains("path search budget exhausted"), "{html}");
        // The sent issuer is drawn as an extra.
        assert!(
            html.contains("<li class=\"cert extra\" data-position=\"1\">"),
            "{html}"
        );
    }
}

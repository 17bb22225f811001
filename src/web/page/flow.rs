//! `/flow/{vantage}/{name}`: one flow for the engineer who has to fix it:
//! its definition, the last outcome with phase timings and findings, the
//! history with reasons, the command that reproduces it, and the facts of
//! its check: the sent TLS chain drawn as a path per trust store (where it
//! stops marked, extras greyed), the SSH algorithms as judged, the CRLs.

use std::fmt::Write as _;

use super::fmt::{age, ms, time_ago, utc};
use super::overview::{reason_note, state, strip};
use super::{Instance, esc, layout};
use crate::analyze::chain::{AnchorResult, CertFacts, Culprit, StructuralReport, Violation};
use crate::outcome::{Finding, Level, Reason};
use crate::probe::crl::CrlDetails;
use crate::probe::ssh::SshDetails;
use crate::probe::tls::TlsDetails;
use crate::probe::{Attempt, Details, Phase, Phases};
use crate::web::FlowView;

/// From `/flow/{vantage}/{name}` back to `/`.
const ROOT: &str = "../../";

fn definition(v: &FlowView, origin: &str) -> String {
    let mut labels = String::new();
    for (k, val) in &v.labels {
        let _ = write!(labels, "<code>{}={}</code> ", esc(k), esc(val));
    }
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
    format!(
        "<section aria-labelledby=\"def-h\"><h2 id=\"def-h\">Definition</h2><dl class=\"facts\">\
<dt>From (vantage)</dt><dd>{vantage}</dd><dt>To</dt><dd>{to} <span class=\"host\">{host}</span>:{port}</dd>\
<dt>Check</dt><dd>{check}</dd><dt>Expect</dt><dd>{expect}</dd><dt>Severity</dt><dd>{sev}</dd>\
<dt>Interval / timeout</dt><dd>{interval} s / {timeout} s</dd><dt>Labels</dt><dd>{labels}</dd></dl>\
<h3 id=\"repro-h\">Reproduce from this host</h3>\
<pre class=\"cmd\" id=\"repro\" aria-labelledby=\"repro-h\" tabindex=\"0\">{cmd}</pre></section>",
        vantage = esc(&v.vantage),
        to = esc(&v.to),
        host = esc(&v.host),
        port = v.port,
        check = esc(v.check),
        expect = esc(v.expect),
        sev = esc(v.severity),
        interval = v.interval_seconds,
        timeout = v.timeout_seconds,
        cmd = esc(&cmd),
    )
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

fn phases(p: &Phases) -> String {
    let mut cells = String::new();
    for ph in Phase::ALL {
        if let Some(d) = p.get(ph) {
            let _ = write!(
                cells,
                "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
                ph.as_str(),
                ms(d.as_secs_f64())
            );
        }
    }
    if cells.is_empty() {
        return String::new();
    }
    format!(
        "<table class=\"phases\"><caption>Phase timings</caption><thead><tr><th scope=\"col\">phase</th>\
<th scope=\"col\">time</th></tr></thead><tbody>{cells}</tbody></table>"
    )
}

fn level(l: Level) -> (&'static str, &'static str) {
    match l {
        Level::Fail => ("down", "FAIL"),
        Level::Warn => ("warn", "WARN"),
        Level::Info => ("info", "INFO"),
    }
}

fn findings(list: &[&Finding]) -> String {
    if list.is_empty() {
        return "<p>No findings.</p>".to_string();
    }
    let mut s = String::from("<ul class=\"findings\">");
    for f in list {
        let (class, text) = level(f.level);
        let _ = write!(
            s,
            "<li><span class=\"badge {class}\">{text}</span> <code class=\"reason\">{}</code> {}</li>",
            f.reason,
            esc(&f.detail)
        );
    }
    s.push_str("</ul>");
    s
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
fn cert_box(c: &CertFacts, role: &Role<'_>, now: i64) -> String {
    let class = role.class;
    let why = role
        .why
        .map(|w| format!("<p class=\"why\">{}</p>", esc(w)))
        .unwrap_or_default();
    if let Some(e) = &c.error {
        return format!(
            "<li class=\"cert {class}\" data-position=\"{pos}\"><p class=\"mark\">{mark}</p>\
<p class=\"cn\">#{pos} unparsable</p>{why}<p>{e}</p></li>",
            pos = c.position,
            mark = esc(role.mark),
            e = esc(e)
        );
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
    format!(
        "<li class=\"cert {class}\" data-position=\"{pos}\"><p class=\"mark\">{mark}</p>\
<p class=\"cn\"><span class=\"pos\">#{pos}</span> {cn}</p>{why}<dl>\
<dt>subject</dt><dd class=\"subject\">{subject}</dd><dt>issuer</dt><dd>{issuer}</dd>\
<dt>serial</dt><dd><code>{serial}</code></dd>\
<dt>valid</dt><dd>{nb} to {na} <span class=\"days {dclass}\">{dtext}</span></dd>\
<dt>key</dt><dd>{key}{flags}</dd><dt>signature</dt><dd>{sig}</dd>{sans}</dl></li>",
        pos = c.position,
        mark = esc(role.mark),
        cn = esc(cn),
        subject = esc(&c.subject),
        issuer = esc(&c.issuer),
        serial = esc(&c.serial),
        nb = c.not_before.map(utc).unwrap_or_default(),
        na = c.not_after.map(utc).unwrap_or_default(),
        key = esc(&key),
        flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" · {}", flags.join(", "))
        },
        sig = esc(&c.signature_algorithm),
        sans = if c.sans.is_empty() {
            String::new()
        } else {
            format!("<dt>names</dt><dd>{}</dd>", esc(&c.sans.join(", ")))
        },
    )
}

/// The rule a broken path breaks, in a few words for the mark on the
/// certificate that breaks it ([`Violation::render`] says it in full).
fn broken_rule(v: &Violation) -> &'static str {
    v.short()
}

/// The user-constrained policy set of a verified path: each policy as the
/// anchor's domain names it and as the leaf asserts it, or why there is
/// none.
fn policy_list(a: &AnchorResult) -> String {
    use crate::analyze::pkix::oids::describe;
    if a.policies.is_empty() {
        return "<p class=\"policies\">Certificate policies: none; the path is valid \
because no policy was required</p>"
            .to_owned();
    }
    let mut s = format!(
        "<table class=\"policies\"><caption>Certificate policies{}</caption><thead><tr>\
<th scope=\"col\">in the anchor's domain</th><th scope=\"col\">as the leaf asserts it</th>\
</tr></thead><tbody>",
        if a.policy_required { " (required)" } else { "" }
    );
    for q in &a.policies {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td></tr>",
            esc(&describe(&q.authority)),
            esc(&describe(&q.leaf))
        );
    }
    s.push_str("</tbody></table>");
    s
}

/// One store's path: the certificates on it from the leaf, then the anchor
/// it reached (or links to), or the point where it stops; then what else
/// was sent, greyed. A store that does not verify has exactly one element
/// marked `breaks` (a mark in words, not only colour) saying what is
/// really wrong: the issuer that was not sent (`chain_incomplete`), the
/// certificate the store does not trust (`chain_untrusted`), or the
/// certificate (or anchor) that breaks a rule of a linked path.
fn store_path(chain: &StructuralReport, a: &AnchorResult, now: i64) -> String {
    let certs = &chain.certificates;
    let (badge, verdict) = match a.reason {
        _ if a.verified => ("up", "PATH VERIFIED"),
        Reason::ChainIncomplete => ("down", "PATH STOPS"),
        Reason::ChainUntrusted => ("down", "NOT TRUSTED"),
        _ => ("down", "PATH REFUSED"),
    };
    let mut s = format!(
        "<section class=\"store {badge}\" data-store=\"{store}\" data-reason=\"{reason}\"><h3>Trust store <code>{store}</code> \
<span class=\"badge {badge}\">{verdict}</span> <code class=\"reason\">{reason}</code></h3>\
<p class=\"detail\">{detail}</p><ol class=\"path\">",
        store = esc(&a.store),
        reason = a.reason,
        detail = esc(&a.detail),
    );
    let last = a.path.last().and_then(|&p| certs.get(p));
    // Which box carries the break, and what it says.
    let culprit = a.violation.as_ref().and_then(Violation::culprit);
    let untrusted_mark = format!("the path ends here: store {} does not trust it", a.store);
    let broken_mark = a
        .violation
        .as_ref()
        .map(|v| format!("breaks the path: {}", broken_rule(v)));
    for (step, &pos) in a.path.iter().enumerate() {
        let Some(c) = certs.get(pos) else { continue };
        let on_path = match step {
            0 => "leaf, on the path".to_string(),
            n => format!("step {n}, on the path"),
        };
        let role = if culprit == Some(Culprit::Sent(pos)) {
            Role {
                mark: broken_mark.as_deref().unwrap_or_default(),
                class: "on-path breaks",
                why: Some(&a.detail),
            }
        } else if a.reason == Reason::ChainUntrusted && step + 1 == a.path.len() {
            Role {
                mark: &untrusted_mark,
                class: "on-path breaks",
                why: Some(&a.detail),
            }
        } else {
            Role {
                mark: &on_path,
                class: "on-path",
                why: None,
            }
        };
        s.push_str(&cert_box(c, &role, now));
    }
    if a.verified || a.violation.is_some() {
        // A verified path reached the anchor; a broken one is linked to it
        // by names and signatures (the last certificate's issuer).
        let subject = match &a.anchor_subject {
            Some(subject) => subject.as_str(),
            None => last.map_or("", |c| c.issuer.as_str()),
        };
        let (class, mark, why) = if culprit == Some(Culprit::Anchor) {
            (
                "anchor breaks",
                broken_mark.as_deref().unwrap_or_default(),
                format!("<p class=\"why\">{}</p>", esc(&a.detail)),
            )
        } else {
            (
                "anchor",
                "trust anchor (in the store, not sent)",
                String::new(),
            )
        };
        let _ = write!(
            s,
            "<li class=\"{class}\"><p class=\"mark\">{mark}</p><p class=\"cn\">{}</p>{why}</li>",
            esc(subject),
            mark = esc(mark),
        );
    }
    if a.violation.is_some() && culprit.is_none() {
        let _ = write!(
            s,
            "<li class=\"stop breaks\" role=\"note\"><p class=\"mark\">the validator refused the path</p>\
<p class=\"why\">{}</p></li>",
            esc(&a.detail)
        );
    } else if !a.verified && a.reason == Reason::ChainIncomplete {
        // "Not sent" only when no sent certificate carries the issuer's
        // name; otherwise the search stopped for another reason (depth,
        // budget, a signature that does not verify) and the detail says it.
        let issuer_sent = last.is_some_and(|l| {
            certs
                .iter()
                .any(|c| c.error.is_none() && c.subject == l.issuer)
        });
        let text = match last {
            Some(c) if !issuer_sent => format!(
                "Not sent: the certificate of <strong>{}</strong>, the issuer of {}. \
A device that trusts only <code>{}</code> and the sent certificates cannot reach an anchor.",
                esc(&c.issuer),
                esc(&format!("#{} {}", c.position, c.subject_cn)),
                esc(&a.store),
            ),
            _ => esc(&a.detail),
        };
        let _ = write!(
            s,
            "<li class=\"stop breaks\" role=\"note\"><p class=\"mark\">the path stops here</p><p>{text}</p></li>"
        );
    }
    s.push_str("</ol>");
    if a.verified {
        s.push_str(&policy_list(a));
    }
    let others: Vec<&CertFacts> = certs
        .iter()
        .filter(|c| !a.path.contains(&c.position))
        .collect();
    if !others.is_empty() {
        s.push_str("<h4>Also sent, not on this path</h4><ol class=\"path extras\">");
        for c in others {
            let mark = if chain.duplicates.contains(&c.position) {
                "duplicate"
            } else if chain.anchor_sent.contains(&c.position) {
                "anchor sent (not needed)"
            } else {
                "extra: not on this path"
            };
            let role = Role {
                mark,
                class: "extra",
                why: None,
            };
            s.push_str(&cert_box(c, &role, now));
        }
        s.push_str("</ol>");
    }
    s.push_str("</section>");
    s
}

fn tls(d: &TlsDetails, now: i64) -> String {
    let opt = |o: &Option<String>| esc(o.as_deref().unwrap_or("none"));
    let mut s = format!(
        "<h3>Handshake</h3><dl class=\"facts\"><dt>server name</dt><dd>{}</dd><dt>version</dt><dd>{}</dd>\
<dt>cipher suite</dt><dd>{}</dd><dt>ALPN</dt><dd>{}</dd><dt>client certificate requested</dt><dd>{}</dd></dl>",
        esc(&d.server_name),
        opt(&d.version),
        opt(&d.cipher_suite),
        opt(&d.alpn),
        if d.client_cert_requested { "yes" } else { "no" },
    );
    let Some(chain) = &d.chain else {
        s.push_str("<p>No certificate was received.</p>");
        return s;
    };
    let _ = write!(
        s,
        "<h3>Sent chain: {} certificates, {}</h3>",
        chain.certificates.len(),
        if chain.order_ok() {
            "in order"
        } else {
            "<strong class=\"bad\">out of order</strong>"
        }
    );
    if chain.anchors().is_empty() {
        s.push_str("<p>No trust store is judged for this flow; the sent certificates:</p><ol class=\"path\">");
        for c in &chain.certificates {
            let role = Role {
                mark: "sent",
                class: "on-path",
                why: None,
            };
            s.push_str(&cert_box(c, &role, now));
        }
        s.push_str("</ol>");
    }
    for a in chain.anchors() {
        s.push_str(&store_path(&chain.structure, a, now));
    }
    if let Some(p) = &d.protocols {
        s.push_str(&protocols(p));
    }
    s
}

/// Each protocol policy's verdict on the last enumeration.
fn protocols(p: &crate::probe::tls::protocols::ProtocolDetails) -> String {
    let mut s = String::from(
        "<h3>Protocol policies</h3><table><thead><tr><th>policy</th><th>verdict</th><th>versions accepted</th><th>facts</th></tr></thead><tbody>",
    );
    for j in std::iter::once(&p.judgement).chain(&p.other_policies) {
        let verdict = if !j.violations.is_empty() {
            format!(
                "<strong class=\"bad\">violated</strong>: {}",
                esc(&j.violations.join("; "))
            )
        } else if !j.warnings.is_empty() {
            format!("met, with warnings: {}", esc(&j.warnings.join("; ")))
        } else {
            "met".to_owned()
        };
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
        let _ = write!(
            s,
            "<tr><td>{} <small>{}</small></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&j.policy),
            esc(&j.release),
            verdict,
            esc(&j.accepted_versions().join(", ")),
            esc(&facts.join("; "))
        );
    }
    s.push_str("</tbody></table>");
    s
}

fn ssh(d: &SshDetails) -> String {
    let j = &d.judgement;
    let mut s = format!(
        "<dl class=\"facts\"><dt>protocol</dt><dd>{}</dd><dt>software</dt><dd>{}</dd>\
<dt>policy</dt><dd>{} ({})</dd></dl>",
        esc(&d.protocol),
        esc(&d.software),
        esc(&j.policy),
        esc(&j.release)
    );
    s.push_str(
        "<div class=\"scroll\" role=\"region\" aria-label=\"SSH algorithms\" tabindex=\"0\"><table class=\"algos\"><caption>Offered algorithms, judged by the policy</caption><thead><tr>\
<th scope=\"col\">kind</th><th scope=\"col\">algorithm</th><th scope=\"col\">verdict</th>\
<th scope=\"col\">rule broken</th></tr></thead><tbody>",
    );
    for a in &j.offered {
        let _ = write!(
            s,
            "<tr class=\"{}\"><td>{}</td><td><code>{}</code></td><td><span class=\"badge {}\">{}</span></td><td>{}</td></tr>",
            if a.allowed { "up" } else { "down" },
            a.kind.as_str(),
            esc(&a.name),
            if a.allowed { "up" } else { "down" },
            if a.allowed { "allowed" } else { "NOT ALLOWED" },
            esc(&a.rules.join(", "))
        );
    }
    s.push_str("</tbody></table></div>");
    for (kind, names) in &j.missing_required {
        let _ = write!(
            s,
            "<p class=\"bad\">Required {} not offered: {}</p>",
            kind.as_str(),
            esc(&names.join(", "))
        );
    }
    for n in &j.notes {
        let _ = write!(s, "<p class=\"note\">{}</p>", esc(n));
    }
    s
}

fn crl(d: &CrlDetails, now: i64) -> String {
    let mut s = String::new();
    if let Some(f) = &d.from_flow {
        let _ = write!(
            s,
            "<p>Certificates from flow <code>{}</code>{}.</p>",
            esc(f),
            d.chain_captured_at
                .map(|t| format!(", captured {}", utc(t as i64)))
                .unwrap_or_default()
        );
    }
    s.push_str(
        "<div class=\"scroll\" role=\"region\" aria-label=\"CRLs\" tabindex=\"0\"><table class=\"crls\"><caption>CRLs</caption><thead><tr><th scope=\"col\">verdict</th>\
<th scope=\"col\">issuer</th><th scope=\"col\">this / next update</th><th scope=\"col\">size, entries</th>\
<th scope=\"col\">signature</th><th scope=\"col\">revoked on the path</th><th scope=\"col\">URL</th></tr></thead><tbody>",
    );
    for e in &d.crls {
        let ok = e.reason == Reason::Ok;
        let (issuer, dates, sig, revoked, entries) = match &e.crl {
            Some(c) => (
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
            ),
            None => Default::default(),
        };
        let _ = write!(
            s,
            "<tr class=\"{cls}\"><td><span class=\"badge {cls}\">{r}</span> {detail}</td><td>{issuer}</td>\
<td>{dates}</td><td>{bytes} bytes, {entries}</td><td>{sig}</td><td>{revoked}</td><td><code>{url}</code> (HTTP {status})</td></tr>",
            cls = if ok { "up" } else { "down" },
            r = e.reason,
            detail = esc(&e.detail),
            issuer = esc(&issuer),
            dates = esc(&dates),
            bytes = e.http.body_bytes,
            entries = esc(&entries),
            sig = esc(&sig),
            revoked = esc(&revoked),
            url = esc(&e.url),
            status = e.http.status.map_or("none".to_string(), |s| s.to_string()),
        );
    }
    s.push_str("</tbody></table></div>");
    s
}

fn attempt(a: &Attempt, n: usize, of: usize, now: i64) -> String {
    let mut s = String::new();
    if of > 1 {
        let _ = write!(
            s,
            "<h3>Address {n}: {} <code class=\"reason\">{}</code></h3><p>{}</p>{}",
            esc(&a.address.to_string()),
            a.reason,
            esc(&a.detail),
            phases(&a.phases)
        );
    }
    match &a.details {
        Details::Tls(d) => {
            s.push_str("<section class=\"check tls\"><h2>TLS</h2>");
            s.push_str(&tls(d, now));
            s.push_str("</section>");
        }
        Details::Ssh(d) => {
            s.push_str("<section class=\"check ssh\"><h2>SSH</h2>");
            s.push_str(&ssh(d));
            s.push_str("</section>");
        }
        Details::Crl(d) => {
            s.push_str("<section class=\"check crl\"><h2>CRLs</h2>");
            s.push_str(&crl(d, now));
            s.push_str("</section>");
        }
        Details::Http(d) => {
            let _ = write!(
                s,
                "<section class=\"check http\"><h2>HTTP</h2><dl class=\"facts\"><dt>URL</dt><dd>{}</dd>\
<dt>final URL</dt><dd>{}</dd><dt>status</dt><dd>{}</dd><dt>redirects</dt><dd>{}</dd>\
<dt>content type</dt><dd>{}</dd><dt>body</dt><dd>{} bytes</dd></dl></section>",
                esc(&d.url),
                esc(&d.final_url),
                d.status.map_or("none".to_string(), |s| s.to_string()),
                d.redirects.len(),
                esc(d.content_type.as_deref().unwrap_or("none")),
                d.body_bytes
            );
        }
        Details::Ocsp(d) => {
            let _ = write!(
                s,
                "<section class=\"check ocsp\"><h2>OCSP</h2><p>Certificates of the last chain of <code>{}</code>.</p>\
<div class=\"scroll\" role=\"region\" aria-label=\"OCSP responses\" tabindex=\"0\"><table><thead><tr><th scope=\"col\">#</th><th scope=\"col\">certificate</th><th scope=\"col\">responder</th>\
<th scope=\"col\">reason</th><th scope=\"col\">detail</th></tr></thead><tbody>",
                esc(&d.from_flow)
            );
            for r in &d.responses {
                let _ = write!(
                    s,
                    "<tr><td>{}</td><td>{} (serial {})</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                    r.position,
                    esc(&r.subject_cn),
                    esc(&r.serial),
                    esc(&r.url),
                    r.reason,
                    esc(&r.detail)
                );
            }
            s.push_str("</tbody></table></div></section>");
        }
        Details::None => {}
    }
    s
}

fn history(v: &FlowView) -> String {
    let entries = v.history.as_deref().unwrap_or_default();
    let mut rows = String::new();
    for e in entries.iter().rev() {
        let (c, t) = if e.up { ("up", "UP") } else { ("down", "DOWN") };
        let _ = write!(
            rows,
            "<tr class=\"{c}\"><td>{}</td><td><span class=\"badge {c}\">{t}</span></td><td><code>{}</code></td></tr>",
            utc(i64::from(e.t)),
            e.reason
        );
    }
    format!(
        "<section aria-labelledby=\"hist-h\"><h2 id=\"hist-h\">History</h2>{}\
<details><summary>Every outcome ({} kept, newest first)</summary><table class=\"history\"><thead><tr>\
<th scope=\"col\">started</th><th scope=\"col\">state</th><th scope=\"col\">reason</th></tr></thead>\
<tbody>{rows}</tbody></table></details></section>",
        strip(v).into_string(),
        entries.len()
    )
}

pub fn render(v: &FlowView, inst: &Instance) -> String {
    let now = inst.now;
    let (class, text) = state(v);
    let mut main = format!(
        "<nav class=\"crumbs\"><a href=\"{ROOT}\">All flows</a> / {vantage}</nav>\
<header class=\"flowhead {class}\" id=\"flowhead\"><h1><span class=\"badge {class}\">{text}</span> {name}</h1>\
<p class=\"desc\">{desc}</p>",
        vantage = esc(&v.vantage),
        name = esc(&v.name),
        desc = esc(&v.description),
    );
    match &v.last {
        None => main.push_str("<p>Not probed yet.</p></header>"),
        Some(r) => {
            let started = crate::text::unix_secs(r.started);
            let since = v
                .since
                .flatten()
                .map(|t| {
                    format!(
                        "{text} since {} ({})",
                        utc(i64::from(t)),
                        time_ago(i64::from(t), now, "since").into_string()
                    )
                })
                .unwrap_or_default();
            let _ = write!(
                main,
                "<p class=\"verdict\"><code class=\"reason\">{reason}</code> <span class=\"note\">{note}</span></p>\
<p class=\"detail\">{detail}</p><p class=\"meta\">{since} · last probe {last}</p></header>",
                reason = r.reason,
                note = reason_note(v),
                detail = esc(&r.detail),
                last = time_ago(started, now, "age").into_string(),
            );
            let all: Vec<&Finding> = r.findings().collect();
            let _ = write!(
                main,
                "<section aria-labelledby=\"last-h\"><h2 id=\"last-h\">Last outcome</h2>{}\
<h3>Findings</h3>{}</section>",
                phases(&r.phases),
                findings(&all)
            );
            for (i, a) in r.attempts.iter().enumerate() {
                main.push_str(&attempt(a, i + 1, r.attempts.len(), now));
            }
        }
    }
    main.push_str(&history(v));
    main.push_str(&definition(v, &inst.daemon.origin));
    let title = format!("{text} {} ({}) - flowprobe", v.name, v.vantage);
    layout(&title, ROOT, "flow", maud::PreEscaped(main)).into_string()
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
        let html = store_path(&c, &a, 1_000);
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
        let html = store_path(&c, &a, 1_000);
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
        let html = store_path(&c, &a, 1_000);
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
        let html = store_path(&c, &a, 1_000);
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
        let html = store_path(&c, &a, 1_000);
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
        let html = store_path(&c, &a, 1_000);
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

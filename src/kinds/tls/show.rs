//! How a TLS probe's facts are shown: lines under the flow in
//! `flowprobe check`, and the flow page's section (the handshake, the sent
//! chain drawn as a path per trust store, the protocol policies).

use maud::{Markup, html};

use super::TlsFacts;
use crate::analyze::chain::{AnchorResult, CertFacts, Culprit, StructuralReport, Violation};
use crate::analyze::tls_policy::sentences;
use crate::kinds::show::path_line;
use crate::outcome::Reason;
use crate::text::{rfc3339, utc};

/// The lines under a TLS flow's row.
pub(super) fn text_lines(t: &TlsFacts, out: &mut Vec<String>) {
    if let Some(c) = &t.chain {
        out.push(format!("validated at {}", rfc3339(c.validated_at)));
    }
    for anchor in t.chain.iter().flat_map(|c| c.anchors()) {
        out.push(path_line(anchor));
    }
    if let Some(p) = &t.protocols {
        out.push(protocols_line(&p.judgement));
        for j in &p.other_policies {
            out.push(format!(
                "policy {}: {}",
                j.policy,
                if j.violations.is_empty() {
                    "met"
                } else {
                    "violated"
                }
            ));
        }
    }
    if let Some(s) = &t.ocsp_staple {
        out.push(s.line());
    }
}

/// The enumeration's verdict for people: which versions were accepted.
pub(crate) fn protocols_line(j: &crate::analyze::tls_policy::ProtocolJudgement) -> String {
    let accepted = j.accepted_versions();
    format!(
        "protocols ({}): {}{}",
        j.policy,
        if accepted.is_empty() && j.complete {
            "accepts no version".to_owned()
        } else if accepted.is_empty() {
            "no version known to be accepted".to_owned()
        } else {
            format!("accepts {}", accepted.join(", "))
        },
        if j.complete {
            ""
        } else {
            " (enumeration incomplete)"
        }
    )
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
    let (dclass, dtext) = crate::kinds::show::days_left(c.not_after, now);
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
    let (badge, verdict) = verdict_badge(a);
    let view = PathView::new(chain, a);
    html! {
        section class={ "store " (badge) } data-store=(a.store) data-reason=(a.reason) {
            h3 {
                "Trust store " code { (a.store) } " "
                span class={ "badge " (badge) } { (verdict) } " "
                code.reason { (a.reason) }
            }
            p.detail { (a.detail) }
            ol.path {
                (view.on_path(now))
                (view.anchor())
                (view.stop())
            }
            @if a.verified { (policy_list(a)) }
            (also_sent(chain, a, now))
        }
    }
}

/// The store section's badge class and verdict in words.
fn verdict_badge(a: &AnchorResult) -> (&'static str, &'static str) {
    match a.reason {
        _ if a.verified => ("up", "PATH VERIFIED"),
        Reason::ChainIncomplete => ("down", "PATH STOPS"),
        Reason::ChainUntrusted => ("down", "NOT TRUSTED"),
        _ => ("down", "PATH REFUSED"),
    }
}

/// One store's path over the sent certificates: its last certificate, and
/// which box carries the break and what it says.
struct PathView<'a> {
    certs: &'a [CertFacts],
    a: &'a AnchorResult,
    last: Option<&'a CertFacts>,
    culprit: Option<Culprit>,
    broken_mark: Option<String>,
}

impl<'a> PathView<'a> {
    fn new(chain: &'a StructuralReport, a: &'a AnchorResult) -> Self {
        let certs = chain.certificates.as_slice();
        PathView {
            certs,
            a,
            last: a.path.last().and_then(|&p| certs.get(p)),
            culprit: a.violation.as_ref().and_then(Violation::culprit),
            broken_mark: a
                .violation
                .as_ref()
                .map(|v| format!("breaks the path: {}", broken_rule(v))),
        }
    }

    /// The certificates on the path, from the leaf, the one that breaks it
    /// marked.
    fn on_path(&self, now: i64) -> Markup {
        let a = self.a;
        let untrusted_mark = format!("the path ends here: store {} does not trust it", a.store);
        let on_path: Vec<(usize, &CertFacts)> = a
            .path
            .iter()
            .enumerate()
            .filter_map(|(step, &pos)| self.certs.get(pos).map(|c| (step, c)))
            .collect();
        let role_of = |step: usize, pos: usize, on: &'_ str| -> (String, &'static str, bool) {
            if self.culprit == Some(Culprit::Sent(pos)) {
                (
                    self.broken_mark.clone().unwrap_or_default(),
                    "on-path breaks",
                    true,
                )
            } else if a.reason == Reason::ChainUntrusted && step + 1 == a.path.len() {
                (untrusted_mark.clone(), "on-path breaks", true)
            } else {
                (on.to_string(), "on-path", false)
            }
        };
        html! {
            @for (step, c) in &on_path {
                @let on = match step { 0 => "leaf, on the path".to_string(), n => format!("step {n}, on the path") };
                @let (mark, class, breaks) = role_of(*step, c.position, &on);
                (cert_box(c, &Role { mark: &mark, class, why: breaks.then_some(a.detail.as_str()) }, now))
            }
        }
    }

    /// The anchor the path reached, or the one a broken path links to by
    /// names and signatures (the last certificate's issuer); nothing for
    /// a path that reaches none.
    fn anchor(&self) -> Markup {
        let a = self.a;
        let anchor = (a.verified || a.violation.is_some()).then(|| {
            let subject = match &a.anchor_subject {
                Some(subject) => subject.as_str(),
                None => self.last.map_or("", |c| c.issuer.as_str()),
            };
            if self.culprit == Some(Culprit::Anchor) {
                (
                    "anchor breaks",
                    self.broken_mark.clone().unwrap_or_default(),
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
        html! {
            @if let Some((class, mark, why, subject)) = &anchor {
                li class=(class) {
                    p.mark { (mark) }
                    p.cn { (subject) }
                    @if let Some(w) = why { p.why { (w) } }
                }
            }
        }
    }

    /// The note where a path the validator refused, or an incomplete one,
    /// stops; nothing for any other path.
    fn stop(&self) -> Markup {
        let a = self.a;
        let last = self.last;
        // "Not sent" only when no sent certificate carries the issuer's name;
        // otherwise the search stopped for another reason (depth, budget, a
        // signature that does not verify) and the detail says it.
        let issuer_sent = last.is_some_and(|l| {
            self.certs
                .iter()
                .any(|c| c.error.is_none() && c.subject == l.issuer)
        });
        html! {
            @if a.violation.is_some() && self.culprit.is_none() {
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
    }
}

/// What else was sent, greyed: each certificate not on the store's path,
/// marked duplicate, unneeded anchor or extra.
fn also_sent(chain: &StructuralReport, a: &AnchorResult, now: i64) -> Markup {
    let others: Vec<&CertFacts> = chain
        .certificates
        .iter()
        .filter(|c| !a.path.contains(&c.position))
        .collect();
    html! {
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

/// The handshake, the sent chain as a path per trust store, and the
/// protocol policies' verdicts.
pub(super) fn section(d: &TlsFacts, now: i64) -> Markup {
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
fn protocols(p: &super::protocols::ProtocolFacts) -> Markup {
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
                                strong.bad { "violated" } ": " (sentences(&j.violations))
                            } @else if !j.warnings.is_empty() {
                                "met, with warnings: " (sentences(&j.warnings))
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

#[cfg(test)]
mod tests {
    use super::protocols_line;
    use crate::analyze::tls_policy::{
        Alert, Exchange, ProtocolScan, Question, Refusal, Reply, TlsPolicy, judge,
    };
    use crate::wire::tls::Version;

    #[test]
    fn the_protocols_line_says_when_nothing_is_accepted() {
        let p = TlsPolicy::nist();
        let unknown = judge(&ProtocolScan::default(), &p);
        assert_eq!(
            protocols_line(&unknown),
            "protocols (nist-800-52r2): no version known to be accepted (enumeration incomplete)"
        );
        let refused = ProtocolScan {
            exchanges: Version::ALL
                .into_iter()
                .map(|version| {
                    Exchange::new(
                        Question::Version { version },
                        Reply::Refused {
                            why: Refusal::Alert(Alert {
                                level: 2,
                                description: 70,
                            }),
                        },
                    )
                })
                .collect(),
        };
        assert_eq!(
            protocols_line(&judge(&refused, &p)),
            "protocols (nist-800-52r2): accepts no version"
        );
    }
}

#[cfg(test)]
mod page_tests {
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

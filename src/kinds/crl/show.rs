//! How a CRL probe's facts are shown: one line per CRL under the flow in
//! `flowprobe check`, and the flow page's table of CRLs.

use maud::{Markup, html};

use super::{CrlEntry, CrlFacts};
use crate::outcome::Reason;
use crate::text::{rfc3339, utc};

/// One CRL for people: issuer, URL, dates, size, verdict.
pub(super) fn line(e: &CrlEntry) -> String {
    let url = if e.http.url.is_empty() || e.http.url == e.url {
        e.url.clone()
    } else {
        format!("{} (as {})", e.http.url, e.url)
    };
    match &e.crl {
        Some(c) => format!(
            "crl {}: {url} this_update {} next_update {} {} bytes {} entries signature {}: {}",
            if c.issuer_cn.is_empty() {
                &c.issuer
            } else {
                &c.issuer_cn
            },
            rfc3339(c.this_update),
            c.next_update.map_or_else(|| "none".into(), rfc3339),
            e.http.body_bytes,
            c.entries,
            if c.signature_valid {
                "valid"
            } else {
                "INVALID"
            },
            e.reason
        ),
        None => format!(
            "crl ?: {url}{}: {}",
            e.http
                .status
                .map_or_else(String::new, |s| format!(" status {s}")),
            e.reason
        ),
    }
}

/// One CRL's cells: issuer, dates, signature, revocations, entries.
fn crl_cells(c: Option<&crate::analyze::crl::CrlJudgement>, now: i64) -> [String; 5] {
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
                .map(|n| format!(" ({})", crate::kinds::show::days_left(Some(n), now).1))
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

pub(super) fn section(d: &CrlFacts, now: i64) -> Markup {
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

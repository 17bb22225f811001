//! How an OCSP probe's facts are shown: one line per answer under the flow
//! in `flowprobe check`, and the flow page's table of answers.

use maud::{Markup, html};

use super::{OcspEntry, OcspFacts};
use crate::outcome::Reason;

/// One line per answer under the flow in `flowprobe check`.
pub(super) fn line(e: &OcspEntry) -> String {
    let url = if e.http.url.is_empty() || e.http.url == e.url {
        e.url.clone()
    } else {
        format!("{} (as {})", e.http.url, e.url)
    };
    let status = e
        .response
        .as_ref()
        .and_then(|r| r.status)
        .unwrap_or("no status");
    format!(
        "ocsp position {} ({}): {url} {status}: {}{}",
        e.position,
        e.subject_cn,
        e.reason,
        if e.reason == Reason::Ok {
            String::new()
        } else {
            format!(" ({})", e.detail)
        }
    )
}

/// The flow page's section.
pub(super) fn section(d: &OcspFacts) -> Markup {
    html! {
        section.check.ocsp {
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
        }
    }
}

//! How an SSH probe's facts are shown on the flow page: the
//! identification, then every offered algorithm as the policy judged it.

use maud::{Markup, html};

use super::SshFacts;

pub(super) fn section(d: &SshFacts) -> Markup {
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

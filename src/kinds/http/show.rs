//! How an HTTP exchange is shown on the flow page.

use maud::{Markup, html};

use super::HttpFacts;

pub(super) fn section(d: &HttpFacts) -> Markup {
    html! {
        dl.facts {
            dt { "URL" } dd { (d.url) }
            dt { "final URL" } dd { (d.final_url) }
            dt { "status" } dd { (d.status.map_or("none".to_string(), |s| s.to_string())) }
            dt { "redirects" } dd { (d.redirects.len()) }
            dt { "content type" } dd { (d.content_type.as_deref().unwrap_or("none")) }
            dt { "body" } dd { (d.body_bytes) " bytes" }
        }
    }
}

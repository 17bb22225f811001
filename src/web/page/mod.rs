//! The status pages for people: the overview at `/` (the flow matrix,
//! shaped like STIG Table 1-2 and grouped by vantage) and one page per flow
//! at `/flow/{vantage}/{name}`. Server-rendered HTML from `maud`
//! templates, which escape every value (no hand escaping); the embedded
//! script (`assets/app.js`) only keeps it live (text it sets, and on a
//! flow page the whole `<main>` swapped for a fresh render of the
//! server's).
//! No inline script or style, so the pages run under `default-src 'self'`.

mod flow;
mod fmt;
mod overview;

pub(crate) use flow::render as render_flow;
pub(crate) use overview::render as render_overview;

/// The page headers: nothing but the daemon's own assets may load, no
/// framing, no referrer leaks to links the page shows.
pub(crate) const CSP: &str = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

/// What the pages say about the daemon itself.
pub(super) struct Instance {
    pub daemon: crate::web::DaemonView,
    /// Unix seconds now, so one render uses one clock.
    pub now: i64,
}

/// Percent-encode one URL path segment (everything but RFC 3986
/// unreserved characters), so any flow or vantage name makes a link that
/// routes back to it.
pub(crate) fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The link of a flow's page, relative to `root` (the way back to `/`
/// from the current page, so the pages work behind a path prefix).
pub(crate) fn flow_href(root: &str, vantage: &str, name: &str) -> String {
    format!("{root}flow/{}/{}", seg(vantage), seg(name))
}

/// The document around a page's `<main>`.
fn layout(title: &str, root: &str, page: &str, main: maud::Markup) -> maud::Markup {
    layout_polling(title, root, page, None, main)
}

/// [`layout`] with the API query the page's script polls (`data-api`).
fn layout_polling(
    title: &str,
    root: &str,
    page: &str,
    api: Option<&str>,
    main: maud::Markup,
) -> maud::Markup {
    maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href={ (root) "assets/app.css" };
                link rel="icon" href={ (root) "assets/favicon.svg" } type="image/svg+xml";
                script src={ (root) "assets/app.js" } defer {}
            }
            body data-page=(page) data-root=(root) data-api=[api] {
                a.skip href="#main" { "Skip to content" }
                div #offline .banner role="status" hidden {}
                main #main { (main) }
                footer {
                    a href=(root) { "all flows" } " · "
                    a href={ (root) "metrics" } { "metrics" } " · "
                    a href={ (root) "api/v1/flows" } { "API" } " · flowprobe "
                    (crate::version::VERSION)
                }
            }
        }
    }
}

/// The answer for a flow that is not (or no longer) configured.
pub(crate) fn not_found(vantage: &str, name: &str) -> String {
    let main = maud::html! {
        h1 { "No flow " (name) " from " (vantage) }
        p { "It is not in the running configuration (renamed or removed by a reload?)." }
        p { a href="../../" { "All flows" } }
    };
    layout("flow not found - flowprobe", "../../", "missing", main).into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip_any_name() {
        assert_eq!(seg("mobile-mdm_https.1~"), "mobile-mdm_https.1~");
        assert_eq!(seg("a/b c?<"), "a%2Fb%20c%3F%3C");
        assert_eq!(seg("é"), "%C3%A9");
    }
}

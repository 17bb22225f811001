//! Renderings the kinds share: certificate dates on pages, and a chain
//! path's verdict as one line (also `pki check` and `profile check`).

use crate::analyze::chain::AnchorResult;
use crate::text::{age, rfc3339};

/// Days from `now` to `t`, as a class and a text.
pub(crate) fn days_left(t: Option<i64>, now: i64) -> (&'static str, String) {
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

/// One store's verdict for people: the sent positions of the path, and
/// until when it validates or why it does not.
pub(crate) fn path_line(a: &AnchorResult) -> String {
    let positions: Vec<String> = a.path.iter().map(usize::to_string).collect();
    if a.verified {
        let policies = if a.policies.is_empty() {
            "no policy required".to_owned()
        } else {
            format!(
                "policies {}",
                crate::analyze::chain::render_policies(&a.policies)
            )
        };
        format!(
            "path {}: valid, positions {} to {}, until {}, {policies}",
            a.store,
            positions.join(" -> "),
            a.anchor_subject.as_deref().unwrap_or("?"),
            a.not_after.map_or_else(|| "?".into(), rfc3339)
        )
    } else {
        format!(
            "path {}: not valid, positions {}: {}",
            a.store,
            positions.join(" -> "),
            a.detail
        )
    }
}

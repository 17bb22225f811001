//! Times and durations as the pages show them: absolute UTC (the same on
//! every screen of an incident) and a short relative age.

pub(crate) use crate::text::{age, utc};

/// A `<time>` element the script keeps current: absolute time in the
/// `datetime` attribute and tooltip, relative age as text.
pub(crate) fn time_ago(secs: i64, now: i64, class: &str) -> maud::Markup {
    let abs = utc(secs);
    maud::html! {
        time class=(class) datetime=(abs) data-t=(secs) title=(abs) { (age(now - secs)) " ago" }
    }
}

/// Milliseconds with a precision that suits the size.
pub(crate) fn ms(d: f64) -> String {
    let ms = d * 1_000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(utc(0), "1970-01-01 00:00:00Z");
        assert_eq!(age(59), "59 s");
        assert_eq!(age(3_599), "59 min");
        assert_eq!(age(3_600 + 5 * 60), "1 h 05 min");
        assert_eq!(age(3 * 86_400), "3 d");
        assert_eq!(ms(0.00123), "1.23 ms");
        assert_eq!(ms(0.25), "250 ms");
        assert_eq!(ms(2.5), "2.50 s");
        assert_eq!(
            time_ago(60, 120, "age").into_string(),
            "<time class=\"age\" datetime=\"1970-01-01 00:01:00Z\" data-t=\"60\" title=\"1970-01-01 00:01:00Z\">1 min ago</time>"
        );
    }
}

//! Times and durations as the pages show them: absolute UTC (the same on
//! every screen of an incident) and a short relative age.

/// `2026-05-01 03:12:05Z`: `text::rfc3339` with a space, which reads
/// better in a table cell and still wraps at the date.
pub fn utc(secs: i64) -> String {
    crate::text::rfc3339(secs).replacen('T', " ", 1)
}

/// `45 s`, `14 min`, `3 h 05 min`, `12 d`: the largest unit or two that
/// a person reads at a glance.
pub fn age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3_600 => format!("{} min", s / 60),
        3_600..86_400 => format!("{} h {:02} min", s / 3_600, (s % 3_600) / 60),
        _ => format!("{} d", s / 86_400),
    }
}

/// A `<time>` element the script keeps current: absolute time in the
/// `datetime` attribute and tooltip, relative age as text.
pub fn time_ago(secs: i64, now: i64, class: &str) -> maud::Markup {
    let abs = utc(secs);
    maud::html! {
        time class=(class) datetime=(abs) data-t=(secs) title=(abs) { (age(now - secs)) " ago" }
    }
}

/// Milliseconds with a precision that suits the size.
pub fn ms(d: f64) -> String {
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

//! The fleet matrix's rows read from the central store
//! ([`net::prom`](crate::net::prom)) instead of asked from each instance:
//! what the store holds is the last scheduled probe, so each row is judged
//! for freshness. A row whose last probe is older than the bound (or that
//! was never probed) is `stale`, a failure: a site whose agent stopped
//! must not pass on its last good samples.

use std::time::Duration;

use super::fleet_render::{Freshness, Last, Row, Status};
use crate::config::Config;
use crate::net::prom::StoreFlow;

/// Added to three probe intervals for the default freshness bound: the
/// site's scrape interval, its remote-write queue and the store's own
/// ingestion all delay what the store holds behind the probe.
pub(crate) const SLACK: Duration = Duration::from_secs(60);

/// The bound of a store query when neither `[fleet.prometheus]` nor
/// `[fleet.defaults]` sets a timeout: the store answers from memory, it
/// does not probe.
pub(crate) const STORE_TIMEOUT: Duration = Duration::from_secs(30);

/// The freshness bounds of the rows: `stale_after` when set, else three of
/// the flow's intervals (as the site reports it, else the catalog's) plus
/// [`SLACK`], like `FlowprobeProbesNotRunning`'s three intervals. The
/// catalog's intervals are indexed once: a store answers for every flow of
/// every site.
pub(crate) struct Bounds<'a> {
    fixed: Option<Duration>,
    catalog: std::collections::HashMap<(&'a str, &'a str), Duration>,
    default: Duration,
}

impl<'a> Bounds<'a> {
    pub(super) fn new(c: &'a Config) -> Self {
        Bounds {
            fixed: c.fleet.store.as_ref().and_then(|s| s.stale_after),
            catalog: c
                .flows
                .iter()
                .map(|f| ((f.from.as_str(), f.name.as_str()), f.interval))
                .collect(),
            default: c.defaults.interval,
        }
    }

    /// The bound of `f`'s row.
    pub(crate) fn of(&self, f: &StoreFlow) -> Duration {
        if let Some(d) = self.fixed {
            return d;
        }
        let interval = f
            .interval_seconds
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .or_else(|| {
                self.catalog
                    .get(&(f.vantage.as_str(), f.name.as_str()))
                    .copied()
            })
            .unwrap_or(self.default);
        interval.saturating_mul(3).saturating_add(SLACK)
    }
}

/// One matrix row from what the store holds of a flow.
pub(crate) fn row(bounds: &Bounds<'_>, f: StoreFlow) -> Row {
    let bound = bounds.of(&f);
    // Measured on the store's clock: the probe's start (the site's clock)
    // against the store's evaluation time; a site clock ahead counts as 0.
    let age = f.started.map(|s| (f.at - s).max(0.0));
    let stale = age.is_none_or(|a| a > bound.as_secs_f64());
    let up = f.up == Some(true);
    let status = if stale {
        Status::Stale
    } else if up {
        Status::Pass
    } else {
        Status::Fail
    };
    Row {
        site: f.site,
        instance: f.instance,
        vantage: f.vantage,
        name: f.name,
        from: f.from,
        to: f.to,
        host: f.host,
        port: f.port,
        check: f.check,
        expect: f.expect,
        severity: f.severity,
        status,
        last: Some(Last {
            reason: f.reason.unwrap_or_else(|| "unknown".into()),
            up,
            // The store holds the reason, not the probe's prose: the
            // instance's /api/v1/flows or a direct check has it.
            detail: String::new(),
            started: f.started.unwrap_or(0.0),
            time_seconds: f.total_seconds,
        }),
        mismatch: Vec::new(),
        freshness: Some(Freshness {
            age_seconds: age,
            stale_after_seconds: bound.as_secs_f64(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        let text = format!(
            "catalog = \"none\"\n[targets]\ngw = \"127.0.0.1\"\n[[flow]]\nname = \"app\"\nfrom = \"branch\"\nto = \"gw\"\nport = 443\ninterval = \"10s\"\ntimeout = \"2s\"\n{extra}"
        );
        crate::config::from_text("t.toml", &text, &Default::default(), Default::default())
            .expect("config")
    }

    fn flow(started: Option<f64>, up: Option<bool>) -> StoreFlow {
        StoreFlow {
            site: Some("east".into()),
            instance: "127.0.0.1:9725".into(),
            vantage: "branch".into(),
            name: "app".into(),
            from: "branch".into(),
            to: "gw".into(),
            host: "127.0.0.1".into(),
            port: 443,
            check: "tcp".into(),
            expect: "open".into(),
            severity: "critical".into(),
            up,
            reason: Some(if up == Some(true) { "ok" } else { "refused" }.into()),
            started,
            total_seconds: Some(0.001),
            interval_seconds: None,
            at: 1000.0,
        }
    }

    #[test]
    fn the_default_bound_is_three_intervals_and_a_minute() {
        let c = config("");
        // The catalog's 10s interval.
        assert_eq!(
            Bounds::new(&c).of(&flow(None, None)),
            Duration::from_secs(90)
        );
        // The site's own interval wins: it is what the site runs.
        let mut f = flow(None, None);
        f.interval_seconds = Some(30.0);
        assert_eq!(Bounds::new(&c).of(&f), Duration::from_secs(150));
        // Garbage from the store does not panic.
        f.interval_seconds = Some(1e300);
        let _ = Bounds::new(&c).of(&f);
    }

    #[test]
    fn fresh_rows_pass_or_fail_old_ones_are_stale() {
        let c = config("");
        assert_eq!(
            row(&Bounds::new(&c), flow(Some(950.0), Some(true))).status,
            Status::Pass
        );
        assert_eq!(
            row(&Bounds::new(&c), flow(Some(950.0), Some(false))).status,
            Status::Fail
        );
        let old = row(&Bounds::new(&c), flow(Some(900.0), Some(true)));
        assert_eq!(old.status, Status::Stale, "100s > 90s");
        assert_eq!(
            old.freshness,
            Some(Freshness {
                age_seconds: Some(100.0),
                stale_after_seconds: 90.0
            })
        );
        let never = row(&Bounds::new(&c), flow(None, Some(false)));
        assert_eq!(never.status, Status::Stale, "never probed");
        assert_eq!(never.site.as_deref(), Some("east"));
        // A site clock ahead of the store's is not a negative age.
        let ahead = row(&Bounds::new(&c), flow(Some(1010.0), Some(true)));
        assert_eq!(ahead.status, Status::Pass);
    }

    #[test]
    fn stale_after_overrides_the_derived_bound() {
        let c =
            config("[fleet.prometheus]\nurl = \"http://127.0.0.1:9090\"\nstale_after = \"5s\"\n");
        assert_eq!(
            row(&Bounds::new(&c), flow(Some(990.0), Some(true))).status,
            Status::Stale,
            "10s > 5s"
        );
    }
}

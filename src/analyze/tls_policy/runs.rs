//! Which enumeration run a probe reports, and when the next one is due.
//!
//! A run begins at a flow's first probe and again once `protocol_interval`
//! has passed since the last run finished; a probe whose budget ends first
//! leaves the run in progress and the next probe goes on with it. Until
//! the new run finishes, probes report the last finished run, so a fresh
//! run's first answers never replace a whole judgement (a violation does
//! not disappear for the probes a new run takes). A finished run takes the
//! previous run's answers for the questions it got none to
//! ([`ProtocolScan::carry_from`]).
//!
//! Time is passed in, so the tests need no clock.

use std::time::{Duration, Instant, SystemTime};

use super::{ProtocolScan, TlsPolicy};

/// A finished run and when it ended.
#[derive(Debug)]
struct Finished {
    scan: ProtocolScan,
    /// Wall-clock end, reported as `scanned_at`.
    at: SystemTime,
    /// Monotonic end: the interval counts from here.
    ended: Instant,
}

/// A flow's enumeration runs: the last finished one and the one in
/// progress.
#[derive(Debug, Default)]
pub struct Runs {
    finished: Option<Finished>,
    current: Option<(ProtocolScan, SystemTime)>,
}

/// What is reported before anything was stored.
static EMPTY: ProtocolScan = ProtocolScan {
    exchanges: Vec::new(),
};

impl Runs {
    /// Whether a probe at `now` should ask: a run is in progress, none has
    /// finished yet, or `interval` has passed since the last one finished.
    pub(crate) fn due(&self, interval: Duration, now: Instant) -> bool {
        self.current.is_some()
            || self
                .finished
                .as_ref()
                .is_none_or(|f| now.saturating_duration_since(f.ended) >= interval)
    }

    /// The run to go on with: the one in progress, or a new one.
    pub(crate) fn resume(&mut self) -> ProtocolScan {
        self.current.take().map(|(s, _)| s).unwrap_or_default()
    }

    /// Keeps `scan` after a probe asked what its budget allowed (`now`
    /// and `at`: when it stopped). A finished run, with the previous run's
    /// answers carried into it, becomes the reported one; an unfinished
    /// one stays in progress.
    pub(crate) fn store(
        &mut self,
        mut scan: ProtocolScan,
        policy: &TlsPolicy,
        now: Instant,
        at: SystemTime,
    ) {
        if scan.is_finished(policy)
            && let Some(previous) = &self.finished
        {
            scan.carry_from(&previous.scan, policy);
        }
        // A carried acceptance can call for more questions (the families
        // at a version only the earlier run saw): then the run goes on.
        if scan.is_finished(policy) {
            self.finished = Some(Finished {
                scan,
                at,
                ended: now,
            });
        } else {
            self.current = Some((scan, at));
        }
    }

    /// What a probe reports and when it was asked: the last finished run,
    /// or before the first one finished, the first run so far.
    pub(crate) fn shown(&self) -> (&ProtocolScan, SystemTime) {
        match (&self.finished, &self.current) {
            (Some(f), _) => (&f.scan, f.at),
            (None, Some((s, at))) => (s, *at),
            (None, None) => (&EMPTY, SystemTime::UNIX_EPOCH),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::tls_policy::{Alert, Exchange, Question, Refusal, Reply, Silence, judge};
    use crate::wire::tls::Version;

    fn accepted(version: Version, suite: &str) -> Reply {
        Reply::Accepted {
            version,
            suite: suite.to_owned(),
            etm: None,
        }
    }

    fn refused() -> Reply {
        Reply::Refused {
            why: Refusal::Alert(Alert {
                level: 2,
                description: 70,
            }),
        }
    }

    fn silent() -> Reply {
        Reply::NoAnswer {
            why: Silence::Timeout {
                after: std::time::Duration::from_secs(1),
            },
        }
    }

    /// Runs the plan to its end, answering with `serve` (`None`: silence).
    fn run(policy: &TlsPolicy, serve: impl Fn(&Question) -> Option<Reply>) -> ProtocolScan {
        let mut scan = ProtocolScan::default();
        for _ in 0..64 {
            let Some(q) = scan.next_question(policy) else {
                return scan;
            };
            scan.exchanges
                .push(Exchange::new(q, serve(&q).unwrap_or_else(silent)));
        }
        panic!("the plan did not end: {scan:#?}");
    }

    /// TLS 1.0 (static RSA, CBC-SHA1) and TLS 1.2 (ECDHE-GCM); TLS 1.0
    /// hellos go unanswered when `drop_tls10`.
    fn server(drop_tls10: bool) -> impl Fn(&Question) -> Option<Reply> {
        move |q| {
            let (version, offer) = q.offer();
            let pick = |v: Version, code: u16, name: &str| {
                offer.contains(&code).then(|| accepted(v, name))
            };
            match version {
                Version::Tls10 if drop_tls10 => None,
                Version::Tls10 => Some(
                    pick(version, 0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA").unwrap_or_else(refused),
                ),
                Version::Tls12 => Some(
                    pick(version, 0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
                        .or_else(|| pick(version, 0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA"))
                        .unwrap_or_else(refused),
                ),
                _ => Some(refused()),
            }
        }
    }

    #[test]
    fn a_new_run_in_progress_does_not_replace_the_last_finished_one() {
        let p = TlsPolicy::builtin("disa-tomcat-9").expect("built in");
        let t0 = Instant::now();
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut runs = Runs::default();
        assert!(runs.due(p_interval(), t0));
        runs.store(run(&p, server(false)), &p, t0, at);
        let first = judge(runs.shown().0, &p);
        assert!(first.complete);
        assert!(
            first
                .violations
                .iter()
                .any(|v| v.version() == Some(Version::Tls10)),
            "{:?}",
            first.violations
        );

        // An hour on: a new run begins, and its first probe gets through
        // one question before the budget ends.
        let t1 = t0 + p_interval();
        assert!(runs.due(p_interval(), t1));
        let mut scan = runs.resume();
        assert!(scan.exchanges.is_empty(), "a new run starts empty");
        let q = scan.next_question(&p).expect("a question");
        scan.exchanges.push(Exchange::new(q, refused()));
        runs.store(scan, &p, t1, at + Duration::from_secs(3600));
        // The partial run is not what is reported: the violation stays.
        let (shown, shown_at) = runs.shown();
        assert_eq!(shown_at, at);
        assert_eq!(judge(shown, &p), first);
        assert!(runs.due(p_interval(), t1), "the run goes on");

        // The run finishes: the server no longer accepts TLS 1.0.
        let mut scan = runs.resume();
        assert_eq!(scan.exchanges.len(), 1, "the run in progress goes on");
        let fixed = |q: &Question| {
            if q.offer().0 == Version::Tls10 {
                Some(refused())
            } else {
                server(false)(q)
            }
        };
        while let Some(q) = scan.next_question(&p) {
            let reply = fixed(&q).unwrap_or_else(silent);
            scan.exchanges.push(Exchange::new(q, reply));
        }
        runs.store(scan, &p, t1, at + Duration::from_secs(3601));
        let fresh = judge(runs.shown().0, &p);
        assert!(fresh.complete);
        assert!(
            !fresh
                .violations
                .iter()
                .any(|v| v.version() == Some(Version::Tls10)),
            "{:?}",
            fresh.violations
        );
        assert!(!runs.due(p_interval(), t1 + Duration::from_secs(1)));
    }

    /// The default interval, as a flow without `protocol_interval` gets it.
    fn p_interval() -> Duration {
        let text = "catalog = \"none\"\n[targets]\nmdm = \"127.0.0.1\"\n\
            [[flow]]\nname = \"a\"\nfrom = \"administrators\"\nto = \"mdm\"\nport = 443\n\
            check = \"tls\"\ntls = { protocol_policy = \"stig\" }\n";
        let c = crate::config::from_text("t.toml", text, &Default::default(), Default::default())
            .expect("config");
        let crate::config::KindSpec::Tls(spec) = &c.flows[0].check else {
            panic!("tls");
        };
        spec.protocol.as_ref().expect("protocol").interval
    }

    #[test]
    fn a_finished_run_is_kept_for_the_interval_and_the_default_is_an_hour() {
        let interval = p_interval();
        assert_eq!(interval, Duration::from_secs(3600));
        let p = TlsPolicy::builtin("disa-tomcat-9").expect("built in");
        let t0 = Instant::now();
        let mut runs = Runs::default();
        runs.store(run(&p, server(false)), &p, t0, SystemTime::now());
        for later in [0, 1, 1800, 3599] {
            assert!(
                !runs.due(interval, t0 + Duration::from_secs(later)),
                "{later}s later"
            );
        }
        assert!(runs.due(interval, t0 + interval));
        assert!(runs.due(interval, t0 + Duration::from_secs(7200)));
        // A shorter interval of another flow: due sooner.
        assert!(runs.due(Duration::from_secs(600), t0 + Duration::from_secs(600)));
    }

    #[test]
    fn a_hello_gone_silent_keeps_its_last_answer_and_says_so() {
        let p = TlsPolicy::builtin("disa-tomcat-9").expect("built in");
        let t0 = Instant::now();
        let mut runs = Runs::default();
        runs.store(run(&p, server(false)), &p, t0, SystemTime::now());
        // The next run: TLS 1.0 hellos are dropped (an IPS appeared).
        let silent_run = run(&p, server(true));
        let tls10 = Question::Version {
            version: Version::Tls10,
        };
        assert_eq!(silent_run.attempts(&tls10), MAX_ATTEMPTS);
        assert!(silent_run.is_finished(&p));
        runs.store(
            silent_run,
            &p,
            t0 + Duration::from_secs(3600),
            SystemTime::now(),
        );
        let (shown, _) = runs.shown();
        let j = judge(shown, &p);
        assert!(!j.complete);
        assert_eq!(
            shown.version_accepted(Version::Tls10),
            Some(true),
            "the last known answer stands"
        );
        assert!(
            j.violations
                .iter()
                .any(|v| v.version() == Some(Version::Tls10)),
            "{:?}",
            j.violations
        );
        let unanswered: Vec<_> = j
            .unanswered
            .iter()
            .filter(|u| u.question == tls10)
            .collect();
        assert_eq!(unanswered.len(), 1, "{:?}", j.unanswered);
        assert!(unanswered[0].kept && unanswered[0].tries == MAX_ATTEMPTS);
        let f = crate::analyze::tls_policy::findings(&j, crate::outcome::Action::Fail);
        assert!(
            f.iter().any(|f| f.level == crate::outcome::Level::Warn
                && f.detail.contains("protocol enumeration incomplete")
                && f.detail.contains("TLS 1.0 (the last known answer is kept)")),
            "{f:?}"
        );
        let carried = shown.exchanges.iter().filter(|e| e.carried).count();
        assert!(carried >= 1);
        // Carried once, not again at every store of the same scan.
        let mut again = shown.clone();
        let before = again.exchanges.len();
        again.carry_from(shown, &p);
        assert_eq!(again.exchanges.len(), before);
    }

    use crate::analyze::tls_policy::MAX_ATTEMPTS;
}

//! The log tells changes, not rounds: the first results of the flows
//! scheduled at start-up (and of those a reload adds) are one summary line,
//! the down ones named up to `MAX_NAMED`; a flow whose first probe never
//! completes does not hold the summary back past the round's bound. The
//! state is driven directly with reports; the log is captured from a
//! `tracing` subscriber writing JSON lines into a buffer.

use flowprobe_testkit as support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use flowprobe::metrics::Metrics;
use flowprobe::outcome::Reason;
use flowprobe::probe::plan::prepare;
use flowprobe::probe::{Phases, ProbeReport};
use flowprobe::state::{FlowKey, FlowSlot, MAX_NAMED, State};

/// The captured log: one JSON object per line.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Every line logged so far, parsed, and the buffer emptied.
    fn take(&self) -> Vec<serde_json::Value> {
        let bytes = std::mem::take(&mut *self.0.lock().expect("log buffer"));
        String::from_utf8(bytes)
            .expect("utf-8")
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON log line"))
            .collect()
    }
}

fn message(line: &serde_json::Value) -> &str {
    line["fields"]["message"].as_str().unwrap_or_default()
}

/// `names` as TCP flows from vantage `here`.
fn slots(state: &State, names: &[String]) -> BTreeMap<FlowKey, Arc<FlowSlot>> {
    let mut text = String::from("catalog = \"none\"\n[targets]\nlo = \"127.0.0.1\"\n");
    for n in names {
        text.push_str(&format!(
            "[[flow]]\nname = \"{n}\"\nfrom = \"here\"\nto = \"lo\"\nport = 1000\ninterval = \"60s\"\ntimeout = \"5s\"\n"
        ));
    }
    let cfg = support::config_from(&text);
    prepare(&cfg)
        .expect("prepare")
        .into_iter()
        .map(|p| {
            let key = (p.flow.from.clone(), p.flow.name.clone());
            (key, state.make_slot(p))
        })
        .collect()
}

fn report(up: bool) -> ProbeReport {
    ProbeReport {
        reason: if up { Reason::Ok } else { Reason::Refused },
        up,
        detail: String::new(),
        cause: None,
        started: SystemTime::now(),
        phases: Phases::default(),
        attempts: Vec::new(),
    }
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:04}")).collect()
}

#[test]
fn first_results_are_one_summary_per_round_and_changes_one_line_each() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let state = State::new(Arc::new(Metrics::new().expect("metrics")));
        // Start-up: 1,000 flows, the last 25 down.
        let all = names("f", 1000);
        let set = slots(&state, &all);
        let (round, bound) = state.replace(set.clone()).expect("a start-up round");
        assert!(bound >= std::time::Duration::from_secs(70), "{bound:?}");
        for (i, slot) in set.values().enumerate() {
            assert!(!state.is_ready());
            state.record(slot, report(i < 975));
        }
        assert!(state.is_ready(), "ready once every start-up flow reported");
        let lines = log.take();
        assert_eq!(lines.len(), 1, "one line for the first round: {lines:?}");
        let text = message(&lines[0]);
        assert!(
            text.starts_with("first round done: 975 up, 25 down: here/f-0975 (refused), "),
            "{text}"
        );
        assert!(text.ends_with(", and 5 more"), "{text}");
        assert_eq!(text.matches("(refused)").count(), MAX_NAMED, "{text}");
        assert_eq!(lines[0]["level"], "WARN");
        assert_eq!(lines[0]["fields"]["up"], 975);
        assert_eq!(lines[0]["fields"]["down"], 25);
        // The round is closed: its bound passing changes nothing.
        state.close_round(round);
        assert!(log.take().is_empty());

        // Steady state: a second identical result is no change; a flow
        // going down, and one coming up, are a line each.
        for (i, slot) in set.values().enumerate() {
            state.record(slot, report(i < 975));
        }
        assert!(log.take().is_empty(), "no line without a change");
        let key = |n: &str| ("here".to_string(), n.to_string());
        state.record(&set[&key("f-0000")], report(false));
        state.record(&set[&key("f-0999")], report(true));
        let lines = log.take();
        let msgs: Vec<&str> = lines.iter().map(message).collect();
        assert_eq!(msgs, ["flow down", "flow up"], "{lines:?}");

        // A reload adds 300 flows and drops 10: the added flows' first
        // results are one more summary, all up (info).
        let mut next = set.clone();
        for n in &all[..10] {
            next.remove(&key(n));
        }
        let added = slots(&state, &names("g", 300));
        next.extend(added.clone());
        let (round2, _) = state.replace(next.clone()).expect("a reload round");
        assert_ne!(round2, round);
        for slot in added.values() {
            state.record(slot, report(true));
        }
        let lines = log.take();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(
            message(&lines[0]),
            "first round of the flows the reload added done: 300 up, 0 down"
        );
        assert_eq!(lines[0]["level"], "INFO");
        // A reload that adds nothing opens no round.
        assert!(state.replace(next.clone()).is_none());

        // A reload whose new flows do not all report: the bound closes the
        // round naming the late one, which logs its first result itself.
        let late = slots(&state, &names("h", 3));
        next.extend(late.clone());
        let (round3, _) = state.replace(next).expect("a third round");
        let mut it = late.values();
        state.record(it.next().expect("h-0000"), report(true));
        state.record(it.next().expect("h-0001"), report(false));
        assert!(log.take().is_empty(), "the round waits for h-0002");
        state.close_round(round3);
        let lines = log.take();
        assert_eq!(lines.len(), 1, "{lines:?}");
        let text = message(&lines[0]);
        assert!(
            text.starts_with(
                "first round of the flows the reload added done: 1 up, 1 down: here/h-0001 (refused); 1 without a first result after "
            ),
            "{text}"
        );
        assert!(text.ends_with(": here/h-0002"), "{text}");
        assert_eq!(lines[0]["fields"]["pending"], 1);
        state.record(it.next().expect("h-0002"), report(true));
        let lines = log.take();
        let msgs: Vec<&str> = lines.iter().map(message).collect();
        assert_eq!(msgs, ["flow up"], "a late first result is logged alone");
    });
}

#[test]
fn a_start_up_flow_removed_before_its_first_result_does_not_hold_the_round() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let state = State::new(Arc::new(Metrics::new().expect("metrics")));
        let set = slots(&state, &names("f", 3));
        state.replace(set.clone()).expect("round");
        let mut it = set.values();
        state.record(it.next().expect("f-0000"), report(true));
        state.record(it.next().expect("f-0001"), report(true));
        assert!(!state.is_ready());
        assert!(log.take().is_empty());
        // A reload drops the third before it reported.
        let mut next = set.clone();
        next.remove(&("here".to_string(), "f-0002".to_string()));
        assert!(state.replace(next).is_none());
        assert!(state.is_ready());
        let lines = log.take();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(message(&lines[0]), "first round done: 2 up, 0 down");
    });
}

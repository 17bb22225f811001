//! `/metrics` is streamed in chunks so a scrape's memory does not grow with
//! the flow count. The chunks must add up to exactly the whole exposition,
//! stay near the chunk size, and stop when the scraper goes away.

use flowprobe_testkit as support;

use std::sync::Arc;

use flowprobe::metrics::Metrics;
use flowprobe::probe::plan::prepare;
use flowprobe::state::State;

fn state_with_flows(n: usize) -> State {
    let mut text = String::from("catalog = \"none\"\n[targets]\nlo = \"127.0.0.1\"\n");
    for i in 0..n {
        text.push_str(&format!(
            "[[flow]]\nname = \"flow-{i:05}\"\nfrom = \"here\"\nto = \"lo\"\nport = {}\n",
            1000 + i % 50
        ));
    }
    let cfg = support::config_from(&text);
    let state = State::new(Arc::new(Metrics::new().expect("metrics")));
    for p in prepare(&cfg).expect("prepare") {
        state.make_slot(p);
    }
    state
}

/// The flow series of an exposition (the process_* series change between
/// two encodings, the flow series do not).
fn flow_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.contains("flowprobe_flow"))
        .collect()
}

#[test]
fn chunks_add_up_to_the_whole_exposition_and_stay_near_the_chunk_size() {
    let state = state_with_flows(2000);
    let whole = String::from_utf8(state.metrics.encode()).expect("utf-8");
    const CHUNK: usize = 4096;
    let mut chunks: Vec<String> = Vec::new();
    state.metrics.encode_chunked(CHUNK, &mut |c| {
        chunks.push(c);
        true
    });
    assert!(chunks.len() > 50, "only {} chunks", chunks.len());
    let (last, full) = chunks.split_last().expect("chunks");
    for c in full {
        // A chunk is cut after the line that crossed the size.
        assert!(
            c.len() >= CHUNK && c.len() < CHUNK + 1024,
            "chunk of {} bytes",
            c.len()
        );
        assert!(c.ends_with('\n'), "chunk cut inside a line");
    }
    assert!(!last.is_empty());
    let joined = chunks.concat();
    assert_eq!(flow_lines(&joined), flow_lines(&whole));
    assert_eq!(
        flow_lines(&whole)
            .iter()
            .filter(|l| l.starts_with("flowprobe_flow_up{"))
            .count(),
        2000
    );
    assert!(joined.contains("\nprocess_resident_memory_bytes "));
}

#[test]
fn encoding_stops_when_the_scraper_goes_away() {
    let state = state_with_flows(2000);
    let mut calls = 0;
    state.metrics.encode_chunked(4096, &mut |_| {
        calls += 1;
        false
    });
    assert_eq!(calls, 1, "chunks were still produced for nobody");
}

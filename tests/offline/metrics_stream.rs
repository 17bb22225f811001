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
    let slots = prepare(&cfg)
        .expect("prepare")
        .into_iter()
        .map(|p| {
            (
                (p.flow.from.clone(), p.flow.name.clone()),
                state.make_slot(p),
            )
        })
        .collect();
    state.replace(slots);
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

/// A crowd of scrapers that never read costs at most
/// `MAX_METRICS_ENCODINGS` encodings: the next scrape gets 503 with
/// `Retry-After` at once, and once the crowd leaves a scrape succeeds.
/// The router runs in-process on a listener the test bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_metrics_encodings_are_capped_with_503() {
    use std::io::{Read, Write};
    // Large enough that a body outgrows the socket buffers, so a scraper
    // that does not read keeps its encoding (and its slot) busy.
    let state = Arc::new(
        tokio::task::spawn_blocking(|| state_with_flows(10_000))
            .await
            .expect("state"),
    );
    let cfg = support::config_from("catalog = \"none\"\n");
    let (reload, _reloads) = tokio::sync::mpsc::channel(1);
    let app = flowprobe::web::router(flowprobe::web::AppState {
        state: Arc::clone(&state),
        config: Arc::new(parking_lot::RwLock::new(Arc::new(cfg))),
        reload,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let get = "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    let crowd: Vec<socket2::Socket> = (0..flowprobe::web::MAX_METRICS_ENCODINGS)
        .map(|_| {
            let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
                .expect("socket");
            s.set_recv_buffer_size(4096).expect("small receive buffer");
            s.connect(&addr.into()).expect("connect");
            let mut t: std::net::TcpStream = s.try_clone().expect("clone").into();
            t.write_all(get.as_bytes()).expect("request");
            s
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let status = |addr: std::net::SocketAddr| {
        tokio::task::spawn_blocking(move || {
            let mut t = std::net::TcpStream::connect(addr).expect("connect");
            t.write_all(get.as_bytes()).expect("request");
            let mut head = [0u8; 12];
            t.read_exact(&mut head).expect("status line");
            let mut rest = Vec::new();
            let _ = t.read_to_end(&mut rest);
            (String::from_utf8_lossy(&head).to_string(), rest)
        })
    };
    let (line, body) = status(addr).await.expect("scrape");
    assert_eq!(line, "HTTP/1.1 503", "{}", String::from_utf8_lossy(&body));
    assert!(
        String::from_utf8_lossy(&body)
            .to_ascii_lowercase()
            .contains("retry-after: 1")
    );
    drop(crowd);
    let mut ok = false;
    for _ in 0..50 {
        let (line, body) = status(addr).await.expect("scrape");
        if line == "HTTP/1.1 200" {
            ok = String::from_utf8_lossy(&body).contains("flowprobe_flow_up{");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ok, "a scrape succeeds once the crowd is gone");
    server.abort();
}

/// Series and bytes per TCP flow (docs/metrics.md): the
/// timeout is a label of `flowprobe_flow_info`, not a series of its own,
/// and `metrics.per_flow_durations = false` drops the phase durations.
#[test]
fn a_tcp_flow_exports_ten_series_and_eight_without_durations() {
    use flowprobe::probe::{Phase, Phases, ProbeReport};
    let state = state_with_flows(1000);
    let mut phases = Phases::default();
    for (i, p) in Phase::ALL.iter().enumerate() {
        if matches!(p, Phase::Connect | Phase::Total) {
            phases.0[i] = Some(std::time::Duration::from_micros(173));
        }
    }
    let report = ProbeReport {
        reason: flowprobe::outcome::Reason::Ok,
        up: true,
        detail: String::new(),
        cause: None,
        started: std::time::SystemTime::now(),
        phases,
        attempts: Vec::new(),
    };
    for slot in state.slots().values() {
        state.record(slot, report.clone());
    }
    // Flow lines only (not HELP/TYPE): count and bytes, over every flow.
    let per_flow = |text: &str| {
        let (mut series, mut bytes) = (0usize, 0usize);
        for l in text.lines().filter(|l| l.contains(",vantage=\"here\"")) {
            series += 1;
            bytes += l.len() + 1;
        }
        (series as f64 / 1000.0, bytes as f64 / 1000.0)
    };
    let text = String::from_utf8(state.metrics.encode()).expect("utf-8");
    let info = text
        .lines()
        .find(|l| l.starts_with("flowprobe_flow_info{") && l.contains("flow-00007"))
        .expect("flow_info");
    assert!(info.contains(",timeout=\"5\","), "{info}");
    assert!(!text.contains("flowprobe_flow_timeout_seconds"));
    assert!(
        text.contains("flowprobe_flow_interval_seconds{flow=\"flow-00007\",vantage=\"here\"} 30\n")
    );
    let (series, bytes) = per_flow(&text);
    state
        .metrics
        .configure(&flowprobe::config::MetricsSettings {
            per_flow_durations: false,
            all_certificates: true,
        });
    let small = String::from_utf8(state.metrics.encode()).expect("utf-8");
    assert!(!small.contains("flowprobe_probe_duration_seconds"));
    let (series_small, bytes_small) = per_flow(&small);
    println!(
        "TCP flow: {series} series, {bytes:.0} bytes; per_flow_durations = false: {series_small} series, {bytes_small:.0} bytes"
    );
    assert_eq!(series, 10.0);
    assert_eq!(series_small, 8.0);
}

//! The web server under clients that misbehave, against the real daemon on
//! loopback: `/metrics` gzipped for scrapers that ask (checked with the
//! `gzip` tool), clients that stop reading cut by the idle deadline (so
//! they cannot hold the encoding slots), and 2,000 idle connections plus
//! 500 slow-header clients that neither delay the probes nor keep a
//! scrape out (the most idle connection gives way to a new client).

use flowprobe_testkit as support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// `n` TCP flows to `port` (interval 1 h: the first round only), plus one
/// flow `open` probed every second.
fn config(n: usize, port: u16, open: u16) -> String {
    // The `open` flow every second is what "probes keep running" watches.
    let mut s = format!(
        "vantages = [\"here\"]\n[targets]\nlo = \"127.0.0.1\"\n[[flow]]\nname = \"open\"\nfrom = \"here\"\nto = \"lo\"\nport = {open}\ninterval = \"1s\"\ntimeout = \"500ms\"\n"
    );
    for i in 0..n {
        s.push_str(&format!(
            "[[flow]]\nname = \"closed-{i:05}\"\nfrom = \"here\"\nto = \"lo\"\nport = {port}\nexpect = \"closed\"\ninterval = \"1h\"\ntimeout = \"1s\"\n"
        ));
    }
    s
}

/// A listener that accepts (and drops) the probes' connections.
fn acceptor() -> u16 {
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = tcp.local_addr().expect("addr").port();
    std::thread::spawn(move || for _ in tcp.incoming() {});
    port
}

fn closed_port() -> u16 {
    // Bound and dropped: nothing listens there now.
    free_port()
}

fn daemon(dir: &Path, flows: usize, extra: &[&str]) -> (Proc, String) {
    write(
        dir,
        "flowprobe.toml",
        &config(flows, closed_port(), acceptor()),
    );
    let addr = format!("127.0.0.1:{}", free_port());
    let d = Proc::spawn(
        Command::new(bin())
            .args(["run", "--config"])
            .arg(dir.join("flowprobe.toml"))
            .args(["--listen", &addr])
            .args(extra)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("daemon.log")).expect("log")),
    );
    // Healthy, not ready: the hourly flows' first round is spread over
    // the hour, but their series exist from start-up.
    wait_for(Duration::from_secs(30), || {
        http("GET", &addr, "/-/healthy").filter(|(s, _)| *s == 200)
    })
    .expect("healthy");
    (d, addr)
}

/// The label sets of `flowprobe_flow_up` (values change between scrapes).
fn flow_up_lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("flowprobe_flow_up{"))
        .filter_map(|l| Some(l.rsplit_once(' ')?.0.to_string()))
        .collect();
    v.sort();
    v
}

fn sum(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn metrics_are_gzipped_when_the_scraper_accepts_it() {
    if !require(have("curl") && have("gzip"), "curl and gzip") {
        return;
    }
    let dir = tempdir();
    let (_d, addr) = daemon(dir.path(), 2000, &[]);
    let fetch = |gzip: bool, name: &str| {
        let out = dir.path().join(name);
        let mut c = Command::new("curl");
        c.args(["-sS", "--max-time", "20", "-D", "-", "-o"])
            .arg(&out)
            .arg(format!("http://{addr}/metrics"));
        if gzip {
            c.args(["-H", "Accept-Encoding: gzip"]);
        }
        let o = c.output().expect("curl");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (
            String::from_utf8_lossy(&o.stdout).to_ascii_lowercase(),
            std::fs::read(&out).expect("body"),
        )
    };
    let (plain_headers, plain) = fetch(false, "plain.txt");
    assert!(
        !plain_headers.contains("content-encoding"),
        "{plain_headers}"
    );
    let (gz_headers, gz) = fetch(true, "metrics.gz");
    assert!(
        gz_headers.contains("content-encoding: gzip"),
        "{gz_headers}"
    );
    assert!(gz_headers.contains("vary: accept-encoding"), "{gz_headers}");
    // The gzip tool as the oracle: the body is one valid gzip stream.
    let out = Command::new("gzip")
        .args(["-dc"])
        .arg(dir.path().join("metrics.gz"))
        .output()
        .expect("gzip");
    assert!(
        out.status.success(),
        "gzip -d: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let unzipped = String::from_utf8_lossy(&out.stdout);
    let plain = String::from_utf8_lossy(&plain);
    assert_eq!(flow_up_lines(&unzipped).len(), 2001);
    assert_eq!(flow_up_lines(&unzipped), flow_up_lines(&plain));
    assert!(unzipped.ends_with("\n") && unzipped.contains("# EOF") == plain.contains("# EOF"));
    println!(
        "2,001 flows: /metrics {} bytes plain, {} gzipped",
        plain.len(),
        gz.len()
    );
    assert!(
        gz.len() * 5 < plain.len(),
        "{} vs {}",
        gz.len(),
        plain.len()
    );
}

/// A client that asks for `/metrics` and never reads the answer.
fn stuck_scraper(addr: &str) -> TcpStream {
    let mut s = connect_small_window(addr.parse().expect("addr"), 4096);
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("request");
    s
}

#[test]
fn scrapers_that_stop_reading_are_cut_by_the_idle_deadline() {
    let dir = tempdir();
    // 8,000 flows: a 7 MB body, more than the kernel buffers (4 MB) hold.
    let (_d, addr) = daemon(dir.path(), 8000, &["--web.idle-timeout", "2s"]);
    // Six clients hold the four encodings (and two more wait or got 503).
    let mut stuck: Vec<TcpStream> = (0..6).map(|_| stuck_scraper(&addr)).collect();
    std::thread::sleep(Duration::from_millis(500));
    let (st, body) = http("GET", &addr, "/metrics").expect("answer");
    assert_eq!(
        st, 503,
        "the stuck scrapers hold every encoding slot: {body:.200}"
    );
    // The idle deadline cuts them; their encodings stop and a scrape gets in.
    let t0 = Instant::now();
    let ok = wait_for(Duration::from_secs(15), || {
        http("GET", &addr, "/metrics").filter(|(s, _)| *s == 200)
    });
    assert!(
        ok.is_some(),
        "a scrape got in after the stuck ones were cut"
    );
    println!("a scrape answered {:?} after the stuck ones", t0.elapsed());
    // The server closed them: reading drains what was sent, then ends.
    for s in &mut stuck {
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut buf = vec![0u8; 1 << 16];
        let ended = loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break true,
                Ok(_) => {}
            }
        };
        assert!(ended);
    }
}

/// `GET /metrics` that gives up after `limit` (connect and answer), as
/// Prometheus's scrape timeout does.
fn scrape_within(addr: &str, limit: Duration) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr.parse().ok()?, limit).ok()?;
    s.set_read_timeout(Some(limit)).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, text.split_once("\r\n\r\n")?.1.to_string()))
}

#[test]
fn idle_and_slow_header_clients_keep_neither_probes_nor_a_scrape_out() {
    let have = raise_own_nofile(4096);
    if !require(have >= 3000, "a descriptor limit of 3,000 for the clients") {
        return;
    }
    let dir = tempdir();
    let (_d, addr) = daemon(dir.path(), 0, &[]);
    let before = http("GET", &addr, "/metrics").expect("scrape").1;
    // 2,000 clients that connect and say nothing, 500 that send half a
    // request line: more than the 512 connection slots.
    let mut idle = Vec::new();
    for _ in 0..2000 {
        if let Ok(s) =
            TcpStream::connect_timeout(&addr.parse().expect("addr"), Duration::from_secs(2))
        {
            idle.push(s);
        }
    }
    let mut slow = Vec::new();
    for _ in 0..500 {
        if let Ok(mut s) =
            TcpStream::connect_timeout(&addr.parse().expect("addr"), Duration::from_secs(2))
            && s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .is_ok()
        {
            slow.push(s);
        }
    }
    println!(
        "{} idle and {} slow clients connected",
        idle.len(),
        slow.len()
    );
    // Every one got in: a full server makes room instead of leaving new
    // clients in the backlog (where they would wait a header deadline per
    // 512 ahead of them).
    assert_eq!(
        (idle.len(), slow.len()),
        (2000, 500),
        "every client connected"
    );
    std::thread::sleep(Duration::from_secs(1));
    let t0 = Instant::now();
    let (st, during) = scrape_within(&addr, Duration::from_secs(5))
        .expect("a scrape among 2,500 clients answers within a scrape timeout");
    println!("scrape among them answered in {:?}", t0.elapsed());
    assert_eq!(st, 200);
    let up = during
        .lines()
        .find(|l| l.starts_with("flowprobe_flow_up{") && l.contains("flow=\"open\""))
        .and_then(|l| l.rsplit(' ').next())
        .map(str::to_string);
    assert_eq!(up.as_deref(), Some("1"), "the probe still succeeds");
    let probes = |t: &str| sum(t, "flowprobe_probes_total{");
    assert!(probes(&during) > probes(&before), "probes kept running");
    let late = sum(
        &during,
        "flowprobe_scheduler_lateness_seconds_bucket{le=\"0.1\"}",
    );
    let all = sum(&during, "flowprobe_scheduler_lateness_seconds_count");
    println!("probe starts within 100 ms of plan: {late} of {all}");
    drop(idle);
    drop(slow);
}

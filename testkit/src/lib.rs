//! flowprobe's test helpers: peers that must exist in CI, network namespaces and
//! processes that clean up on drop, and the flowprobe binary.

pub mod httpd;
pub mod lab;
pub mod openssl_ca;
pub mod pki;
pub mod servers;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// DER: tag, definite length, content (hand-built certificate extensions
/// and CRLs of the tests).
pub fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// True when running in CI: a missing peer or privilege is a failure there.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// Skip (locally) or fail (in CI) when a requirement is missing. Returns
/// false when the test should return early.
pub fn require(ok: bool, what: &str) -> bool {
    if ok {
        return true;
    }
    if in_ci() {
        panic!("CI is set but {what} is missing: this test must run in CI");
    }
    eprintln!("SKIP: {what} is missing (set CI=1 to make this a failure)");
    note_skip(what);
    false
}

/// Skips of this test process, summarised in one line when it exits
/// (`cargo test`), and appended to `target/test-skips.txt`, which
/// `scripts/test.sh` sums up at the end of a run (the runner hides the
/// output of passing tests).
fn note_skip(what: &str) {
    static SKIPS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    static AT_EXIT: std::sync::Once = std::sync::Once::new();
    extern "C" fn summary() {
        let skips = SKIPS.lock().map(|s| s.clone()).unwrap_or_default();
        if !skips.is_empty() {
            eprintln!(
                "SKIPPED {} test(s) of this binary for missing peers or privileges: {}",
                skips.len(),
                skips.join("; ")
            );
        }
    }
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    let line = format!("{test}: {what}");
    if let Ok(mut skips) = SKIPS.lock() {
        skips.push(line.clone());
    }
    // SAFETY: registers a plain function without arguments to run at exit.
    AT_EXIT.call_once(|| unsafe {
        libc::atexit(summary);
    });
    if let Some(target) = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
    {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(target.join("test-skips.txt"))
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

pub fn have(cmd: &str) -> bool {
    which(cmd).is_some()
}

pub fn which(cmd: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&paths)
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
}

/// The flowprobe binary built for this test run. Cargo builds it next to
/// the test executables' `deps/` folder for every integration test; the
/// helpers are a library, so the path is found from the running test.
pub fn bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current test executable");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test>");
    dir.join("flowprobe")
}

pub fn flowprobe(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run flowprobe")
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A unique short name for namespaces and files of this test process.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}-{}",
        std::process::id() % 100_000,
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// A network namespace that is deleted (with its processes) on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(prefix: &str) -> Netns {
        let name = unique(prefix);
        run_ok("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        ns.exec_ok(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(args);
        c
    }

    pub fn exec_ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("ip netns exec");
        assert!(
            out.status.success(),
            "{args:?} in {} failed: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Run `f` on a thread that has joined this namespace: sockets it
    /// makes (listeners, HTTP clients) live in the namespace, whatever
    /// thread uses them afterwards.
    pub fn run_inside<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        in_netns(&self.name, f)
    }

    /// A TCP listener on 127.0.0.1 inside the namespace that accepts and
    /// closes every connection, until dropped.
    pub fn acceptor(&self) -> Acceptor {
        let listener = self
            .run_inside(|| TcpListener::bind("127.0.0.1:0"))
            .expect("bind inside the namespace");
        let port = listener.local_addr().expect("addr").port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = std::sync::Arc::clone(&stop);
            move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    drop(conn);
                }
            }
        });
        Acceptor {
            ns: self.name.clone(),
            port,
            stop,
            thread: Some(thread),
        }
    }

    /// Load an nftables ruleset into the namespace.
    pub fn nft(&self, rules: &str) {
        let mut child = self
            .cmd(&["nft", "-f", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nft");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(rules.as_bytes())
            .expect("write rules");
        let out = child.wait_with_output().expect("nft");
        assert!(
            out.status.success(),
            "nft: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Run `f` on a thread that joined the network namespace `name`.
fn in_netns<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{name}");
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        let ns = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        // SAFETY: a valid namespace descriptor; setns only changes this
        // thread's network namespace.
        let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .expect("thread inside the namespace")
}

/// See [`Netns::acceptor`].
pub struct Acceptor {
    ns: String,
    pub port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the blocked accept with one last connection from inside
        // (the namespace may already be gone; then so is the listener's
        // traffic, and the thread stays parked until the process ends).
        let port = self.port;
        if std::path::Path::new(&format!("/run/netns/{}", self.ns)).exists()
            && in_netns(&self.ns, move || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            })
            && let Some(t) = self.thread.take()
        {
            let _ = t.join();
        }
    }
}

pub fn run_ok(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A child process killed on drop.
pub struct Proc(pub Child);

impl Proc {
    pub fn spawn(cmd: &mut Command) -> Proc {
        no_inherited_descriptors();
        Proc(cmd.spawn().expect("spawn"))
    }
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A process and everything it starts, in a process group of its own,
/// killed together on drop: chromedriver's Chromium (a dozen processes)
/// must not outlive a test that fails, and killing chromedriver alone
/// orphans it.
pub struct ProcGroup(pub Child);

impl ProcGroup {
    pub fn spawn(cmd: &mut Command) -> ProcGroup {
        use std::os::unix::process::CommandExt;
        no_inherited_descriptors();
        ProcGroup(cmd.process_group(0).spawn().expect("spawn"))
    }
}

impl Drop for ProcGroup {
    fn drop(&mut self) {
        // The group's id is the leader's pid; a signal to the negative id
        // reaches every member, the ones that outlived the leader
        // included. Only a real group id (> 1) is ever signalled.
        if let Ok(pgid) = libc::pid_t::try_from(self.0.id())
            && pgid > 1
        {
            // SAFETY: kill takes no pointers; -pgid names the group this
            // guard created with `process_group(0)`, nothing else.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
        let _ = self.0.wait();
    }
}

/// Marks every descriptor this process inherited (from a CI runner, a
/// shell) close-on-exec, so that a child starts with only its standard
/// streams, as under systemd. A runner that leaks 50 descriptors into its
/// children would otherwise leave a daemon started under
/// `prlimit --nofile=64` a budget of one probe (CI once failed so).
/// Descriptors Rust opens are close-on-exec already.
pub fn no_inherited_descriptors() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
            return;
        };
        let fds: Vec<i32> = dir
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|&fd| fd > 2)
            .collect();
        for fd in fds {
            // SAFETY: F_GETFD/F_SETFD change one flag of a descriptor
            // number; a number closed meanwhile fails with EBADF.
            unsafe {
                let flags = libc::fcntl(fd, libc::F_GETFD);
                if flags >= 0 {
                    libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
                }
            }
        }
    });
}

/// Raise this process's soft descriptor limit to at least `want` (up to
/// the hard limit), for tests that hold thousands of client sockets.
/// Returns the soft limit now in force.
pub fn raise_own_nofile(want: u64) -> u64 {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) != 0 {
            return 0;
        }
        if l.rlim_cur < want {
            let raised = libc::rlimit {
                rlim_cur: want.min(l.rlim_max),
                rlim_max: l.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                l = raised;
            }
        }
    }
    l.rlim_cur
}

/// A connection to `addr` whose receive buffer (and so the window it
/// advertises from the SYN on) is about `bytes`: a peer writing a large
/// answer blocks soon when nothing is read (a client that stopped reading).
pub fn connect_small_window(addr: std::net::SocketAddr, bytes: usize) -> std::net::TcpStream {
    let s = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )
    .expect("socket");
    s.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
    s.connect(&addr.into()).expect("connect");
    s.into()
}

/// Poll `f` until it returns Some or `limit` passes.
pub fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A blocking HTTP GET/POST on loopback; returns (status, body).
pub fn http(method: &str, addr: &str, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    // Chunked bodies (axum streams): good enough to de-chunk simply.
    Some((status, dechunk(&body)))
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    loop {
        let Some((size, after)) = rest.split_once("\r\n") else {
            return body.to_string();
        };
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            return body.to_string();
        };
        if n == 0 {
            return out;
        }
        if after.len() < n {
            return body.to_string();
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
}

/// A temporary directory removed on drop.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

/// Load a configuration from TOML text (written to a temp file so errors
/// name it).
pub fn config_from(text: &str) -> flowprobe::config::Config {
    let dir = tempdir();
    let p = write(dir.path(), "flowprobe.toml", text);
    flowprobe::config::load_with_env(
        Some(&p),
        &flowprobe::config::Overrides::default(),
        Default::default(),
    )
    .unwrap_or_else(|e| panic!("test config invalid:\n{e}\n{text}"))
}

/// Probe every active flow of a configuration once, by flow name.
pub async fn probe_all(
    c: &flowprobe::config::Config,
) -> std::collections::BTreeMap<String, flowprobe::probe::ProbeReport> {
    let nets = flowprobe::probe::plan::build_nets(c).expect("nets");
    let mut flows = flowprobe::probe::plan::prepare(c).expect("prepare");
    // CRL flows fed by a TLS flow run after it (as in `flowprobe check`).
    flows.sort_by_key(|p| p.depends_on().is_some());
    let mut out = std::collections::BTreeMap::new();
    for p in flows {
        let net = nets.get(&p.flow.from).expect("net");
        out.insert(p.flow.name.clone(), flowprobe::probe::run(&p, net).await);
    }
    out
}

/// dnsmasq answering only for the names given, on 127.0.0.1:port; every
/// other name under `.test` is NXDOMAIN.
pub struct Dns {
    pub port: u16,
    _proc: Proc,
}

impl Dns {
    pub fn start(records: &[(&str, &str)]) -> Option<Dns> {
        let dnsmasq = which("dnsmasq")?;
        let port = free_udp_port();
        let mut cmd = Command::new(dnsmasq);
        cmd.args([
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            "--pid-file=",
            "--user=root",
            "--local=/test/",
            "--cache-size=0",
            "--log-facility=/dev/null",
        ])
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        for (name, ips) in records {
            cmd.arg(format!("--host-record={name},{ips}"));
        }
        let proc = Proc::spawn(&mut cmd);
        // Ready when it answers on TCP.
        wait_for(Duration::from_secs(5), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        })?;
        Some(Dns { port, _proc: proc })
    }
}

pub fn free_udp_port() -> u16 {
    loop {
        let port = free_port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

#[cfg(test)]
mod proc_group_tests {
    use super::*;

    /// Dropping the guard kills the leader and what it started, and
    /// nothing else (this test process lives on to assert it).
    #[test]
    fn a_group_dies_whole_on_drop() {
        let g = ProcGroup::spawn(
            Command::new("sh")
                .args(["-c", "sleep 60 & echo $!; wait"])
                .stdout(Stdio::piped()),
        );
        let mut g = g;
        let mut line = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(g.0.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the child's pid");
        let child: u32 = line.trim().parse().expect("pid");
        let alive = |pid: u32| std::path::Path::new(&format!("/proc/{pid}")).exists();
        assert!(alive(child));
        drop(g);
        let gone = wait_for(Duration::from_secs(5), || (!alive(child)).then_some(()));
        assert!(gone.is_some(), "the leader's child died with the group");
    }
}

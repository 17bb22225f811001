//! The floor of the benchmark harness (`bench/README.md`): the client CPU of a bare blocking
//! connect+close and of a bare rustls handshake (ring, RSA-2048 path, same
//! anchor, full verification, no resumption) against the bench's targets.
//!
//! Usage:
//!   flowprobe-floor tcp  N ADDR [ADDR...]
//!   flowprobe-floor tls  N ANCHOR_PEM SERVER_NAME ADDR [ADDR...]
//!   flowprobe-floor proxy DIRECT_PORT DELAYED_PORT UPSTREAM HOLD_MS DELAY_MS LOG
//!     (the accuracy phase's delaying proxy, see proxy.rs; runs until killed)
//!
//! Prints one JSON line: ops, cpu seconds (getrusage, this process: user +
//! system), cpu ms per op, wall seconds, ops per second.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Instant;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

fn cpu_seconds() -> f64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

fn addrs(args: &[String]) -> Vec<SocketAddr> {
    args.iter()
        .map(|a| a.parse().expect("ADDR is ip:port"))
        .collect()
}

fn tls_config(anchor: &str) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(anchor).expect("anchor PEM") {
        roots.add(cert.expect("certificate")).expect("anchor");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

mod proxy;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("proxy") {
        proxy::main(&args[1..]);
        return;
    }
    let (mode, n) = (args[0].as_str(), args[1].parse::<usize>().expect("N"));
    let (targets, tls) = match mode {
        "tcp" => (addrs(&args[2..]), None),
        "tls" => {
            let name = ServerName::try_from(args[3].clone()).expect("server name");
            (addrs(&args[4..]), Some((tls_config(&args[2]), name)))
        }
        _ => panic!("mode is tcp or tls"),
    };
    let mut failures = 0usize;
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    for i in 0..n {
        let addr = targets[i % targets.len()];
        let Ok(tcp) = TcpStream::connect(addr) else {
            failures += 1;
            continue;
        };
        if let Some((config, name)) = &tls {
            let _ = tcp.set_nodelay(true);
            let conn = ClientConnection::new(Arc::clone(config), name.clone()).expect("conn");
            let mut stream = StreamOwned::new(conn, tcp);
            while stream.conn.is_handshaking() {
                if stream.conn.complete_io(&mut stream.sock).is_err() {
                    failures += 1;
                    break;
                }
            }
            stream.conn.send_close_notify();
            let _ = stream.conn.complete_io(&mut stream.sock);
            let _ = stream.flush();
            let _ = stream.sock.shutdown(std::net::Shutdown::Write);
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    println!(
        "{{\"mode\":\"{mode}\",\"ops\":{n},\"failures\":{failures},\"cpu_s\":{cpu:.6},\"cpu_ms_per_op\":{:.6},\"wall_s\":{wall:.3},\"ops_per_s\":{:.1}}}",
        cpu * 1000.0 / n as f64,
        n as f64 / wall
    );
}

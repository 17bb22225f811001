//! Micro-benchmarks of the hot pure functions:
//!
//! - chain analysis of a 6-certificate RSA-2048 path, full and cached
//!   (`ChainCache::analyze` on an unchanged chain, what every TLS probe
//!   after the first pays);
//! - KEXINIT parsing of a realistic OpenSSH 9.x offer;
//! - `/metrics` encoding with 10,000 flows recorded.
//!
//! Run: `cargo bench --bench hot` (`-- --quick` for a fast pass).

use flowprobe_testkit::pki;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use flowprobe::analyze::chain::{self, ChainCache, ChainPolicy, OrderRule};
use flowprobe::config::{Overrides, load_with_env};
use flowprobe::metrics::Metrics;
use flowprobe::outcome::Reason;
use flowprobe::probe::{Attempt, KindFacts, Phase, Phases, ProbeReport};
use flowprobe::state::State;
use flowprobe::wire::ssh::{KexInit, parse_kexinit};
use rustls::pki_types::ServerName;

fn chain_benches(c: &mut Criterion) {
    let pki = pki::Pki::new();
    // leaf, DOD SW CA-66, DoD Root CA 3 (cross), Interop, Bridge, and the
    // FCPCA G2 anchor itself: 6 certificates, judged against two stores.
    let mut sent = pki.full_path();
    sent.push(pki.fcpca.clone());
    assert_eq!(sent.len(), 6);
    let fcpca = pki.fcpca_store();
    let dod = pki.dod_store();
    let stores = [&fcpca, &dod];
    let policy = ChainPolicy::default();
    let name = ServerName::try_from("mdm.lab.test").expect("name");
    let now = SystemTime::now();

    let report = chain::analyze(&sent, &stores, &policy, &name, now, OrderRule::Tls13);
    assert!(report.anchors().iter().any(|a| a.verified), "{report:#?}");

    let mut g = c.benchmark_group("chain");
    g.bench_function("analyze_6_certs", |b| {
        b.iter(|| chain::analyze(&sent, &stores, &policy, &name, now, OrderRule::Tls13))
    });
    let mut cache = ChainCache::new();
    let _ = cache.analyze(&sent, &stores, &policy, &name, now, OrderRule::Tls13);
    g.bench_function("cache_analyze_6_certs_unchanged", |b| {
        b.iter(|| cache.analyze(&sent, &stores, &policy, &name, now, OrderRule::Tls13))
    });
    g.bench_function("fingerprint_6_certs", |b| {
        b.iter(|| chain::chain_fingerprint(&sent))
    });
    // The real DoD path of GSA's bundle (policy mappings, policy
    // constraints, dirName name constraints), uncached, at 2024-10-20.
    let real: Vec<rustls::pki_types::CertificateDer<'static>> = {
        use rustls::pki_types::pem::PemObject;
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/fpki/dod-sw-ca-66-path.pem"
        );
        rustls::pki_types::CertificateDer::pem_file_iter(path)
            .expect("fixture")
            .collect::<Result<_, _>>()
            .expect("PEM")
    };
    let fcpca_g2 = flowprobe::analyze::builtin_anchors::store("fcpca-g2")
        .expect("built in")
        .expect("pinned");
    let ca_policy = ChainPolicy {
        purpose: chain::Purpose::Ca,
        ..ChainPolicy::default()
    };
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_729_382_400);
    let real_report = chain::analyze(&real, &[&fcpca_g2], &ca_policy, &name, at, OrderRule::Tls12);
    assert!(real_report.anchors()[0].verified, "{real_report:#?}");
    g.bench_function("analyze_real_dod_path_with_policies", |b| {
        b.iter(|| chain::analyze(&real, &[&fcpca_g2], &ca_policy, &name, at, OrderRule::Tls12))
    });
    g.finish();
}

/// What OpenSSH 9.6 on Debian offers by default.
fn openssh_kexinit() -> Vec<u8> {
    let list = |s: &str| s.split(',').map(str::to_owned).collect::<Vec<_>>();
    let ciphers = list(
        "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
    );
    let macs = list(
        "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
    );
    let comp = list("none,zlib@openssh.com");
    KexInit {
        cookie: [7; 16],
        kex_algorithms: list(
            "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,ext-info-s,kex-strict-s-v00@openssh.com",
        ),
        server_host_key_algorithms: list(
            "rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519",
        ),
        encryption_client_to_server: ciphers.clone(),
        encryption_server_to_client: ciphers,
        mac_client_to_server: macs.clone(),
        mac_server_to_client: macs,
        compression_client_to_server: comp.clone(),
        compression_server_to_client: comp,
        languages_client_to_server: Vec::new(),
        languages_server_to_client: Vec::new(),
        first_kex_packet_follows: false,
        reserved: 0,
    }
    .encode()
}

fn kexinit_benches(c: &mut Criterion) {
    let payload = openssh_kexinit();
    let parsed = parse_kexinit(&payload).expect("valid KEXINIT");
    assert_eq!(parsed.kex_algorithms.len(), 12);
    c.bench_function("ssh/parse_kexinit_openssh96", |b| {
        b.iter(|| parse_kexinit(std::hint::black_box(&payload)))
    });
}

const FLOWS: usize = 10_000;

fn config_text(flows: usize) -> String {
    let mut t = String::from(
        "catalog = \"none\"\n[defaults]\nmax_in_flight = 256\n[targets]\nlo = \"127.0.0.1\"\n",
    );
    for i in 0..flows {
        let _ = write!(
            t,
            "[[flow]]\nname = \"tcp-{i:05}\"\nfrom = \"bench\"\nto = \"lo\"\nport = {}\ncheck = \"tcp\"\ninterval = \"30s\"\ntimeout = \"5s\"\n",
            20_000 + (i % 100)
        );
    }
    t
}

fn report(i: usize) -> ProbeReport {
    let mut phases = Phases::default();
    phases.set(Phase::Connect, Duration::from_micros(80 + i as u64 % 50));
    phases.set(Phase::Total, Duration::from_micros(120 + i as u64 % 50));
    let address: SocketAddr = "127.0.0.1:20000".parse().expect("addr");
    ProbeReport {
        reason: Reason::Ok,
        up: true,
        detail: format!("{address}: connected"),
        cause: None,
        started: SystemTime::now(),
        phases,
        attempts: vec![Attempt {
            address,
            reason: Reason::Ok,
            detail: format!("{address}: connected"),
            cause: None,
            phases,
            findings: Vec::new(),
            facts: KindFacts::None,
        }],
    }
}

fn metrics_benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.toml");
    std::fs::write(&path, config_text(FLOWS)).expect("write config");
    let config = load_with_env(Some(&path), &Overrides::default(), Default::default())
        .expect("valid config");
    let prepared = flowprobe::probe::plan::prepare(&config).expect("prepare");
    assert_eq!(prepared.len(), FLOWS);
    let state = State::new(Arc::new(Metrics::new().expect("metrics")));
    let slots: Vec<_> = prepared.into_iter().map(|p| state.make_slot(p)).collect();
    for (i, slot) in slots.iter().enumerate() {
        state.record(slot, report(i));
    }
    let size = state.metrics.encode().len();
    eprintln!("metrics: {FLOWS} flows encode to {size} bytes");

    let mut g = c.benchmark_group("metrics");
    g.sample_size(20);
    g.bench_function("encode_10k_flows", |b| b.iter(|| state.metrics.encode()));
    g.bench_function("record_one_flow", |b| {
        let r = report(1);
        b.iter(|| state.metrics.record(&slots[1].metrics, &r))
    });
    g.finish();
}

criterion_group!(benches, chain_benches, kexinit_benches, metrics_benches);
criterion_main!(benches);

//! A CRL at DoD scale (48 MB, 1.85 M entries, signed) is
//! judged in about its own size of memory, and the memory is given back.
//! The CRL is generated here into a temp dir (never committed): a CA made
//! with rcgen signs a TBSCertList encoded by hand, served over loopback.

use flowprobe_testkit as support;

use std::process::{Command, Stdio};
use std::time::Duration;

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SigningKey};
use support::der_tlv as tlv;
use support::httpd::{HttpServer, Route};
use support::*;

const ENTRIES: u32 = 1_850_000;
/// The serial the test looks for, listed last so the whole list is walked.
const LISTED: [u8; 7] = [0x0f, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99];

/// `(CRL DER, CA certificate PEM)`: ECDSA P-256, 1.85 M entries of 26
/// bytes (a 7-byte serial and a UTCTime, as DoD's entries are).
fn dod_scale_crl() -> (Vec<u8>, String) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "DOD SCALE CA 99");
    params.distinguished_name = dn;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = params.self_signed(&key).expect("ca");
    let (_, cert) = x509_parser::parse_x509_certificate(ca.der()).expect("parse ca");
    let issuer = cert.subject().as_raw().to_vec();

    let alg = tlv(
        0x30,
        &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02],
    );
    let mut entries = Vec::with_capacity(ENTRIES as usize * 26);
    for i in 0..ENTRIES {
        let serial: [u8; 7] = if i == ENTRIES - 1 {
            LISTED
        } else {
            let b = i.to_be_bytes();
            [0x01, 0x02, 0x03, b[0], b[1], b[2], b[3]]
        };
        let mut e = tlv(0x02, &serial);
        e.extend(tlv(0x17, b"250601120000Z"));
        entries.extend(tlv(0x30, &e));
    }
    let mut tbs = tlv(0x02, &[1]);
    tbs.extend(&alg);
    tbs.extend(&issuer);
    tbs.extend(tlv(0x17, b"261101000000Z"));
    tbs.extend(tlv(0x17, b"491231235959Z"));
    tbs.extend(tlv(0x30, &entries));
    drop(entries);
    let tbs = tlv(0x30, &tbs);
    let sig = key.sign(&tbs).expect("sign");
    let mut bits = vec![0u8];
    bits.extend(sig);
    let mut body = tbs;
    body.extend(&alg);
    body.extend(tlv(0x03, &bits));
    (tlv(0x30, &body), ca.pem())
}

fn status_kb(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("field")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dod_scale_crl_is_judged_within_its_size_and_memory_is_returned() {
    let (der, ca_pem) = tokio::task::spawn_blocking(dod_scale_crl)
        .await
        .expect("generate");
    let size = der.len() as u64;
    assert!(size > 46_000_000, "{size}");
    let dir = tempdir();
    let anchor = write(dir.path(), "ca.pem", &ca_pem);
    // For measuring by hand (docs/performance.md): keep the inputs.
    if let Some(keep) = std::env::var_os("FLOWPROBE_KEEP_CRL") {
        std::fs::create_dir_all(&keep).expect("keep dir");
        std::fs::write(std::path::Path::new(&keep).join("big.crl"), &der).expect("keep crl");
        std::fs::write(std::path::Path::new(&keep).join("ca.pem"), &ca_pem).expect("keep ca");
    }
    let srv = HttpServer::start().await;
    srv.route("/big.crl", Route::crl(der));
    let web_port = free_port();
    let cfg = write(
        dir.path(),
        "flowprobe.toml",
        &format!(
            r#"
catalog = "none"
[listen]
address = "127.0.0.1:{web_port}"
[trust.scale]
anchors = ["{}"]
[targets]
lo = "127.0.0.1"
[[flow]]
name = "big-crl"
from = "here"
to = "lo"
port = {}
check = "crl"
interval = "30s"
timeout = "25s"
crl = {{ urls = ["http://127.0.0.1:{}/big.crl"], trust = ["scale"] }}
"#,
            anchor.display(),
            srv.port(),
            srv.port()
        ),
    );
    let bound = size * 3 / 2 + 30 * 1024 * 1024;

    // One `check`: the verdict. (Its peak RSS cannot be read here: the
    // kernel's accounting of a child starts from the forking test
    // process, which holds the CRL too; the daemon's VmHWM below is exact.)
    let args = [
        "check",
        "--output",
        "json",
        "--config",
        &cfg.display().to_string(),
    ]
    .map(String::from);
    let out = tokio::task::spawn_blocking(move || {
        flowprobe(&args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .expect("check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let flat: String = stdout.chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(flat.contains(&format!("\"entries\":{ENTRIES}")), "{stdout}");
    assert!(flat.contains("\"signature_valid\":true"), "{stdout}");

    // The daemon: after the round the CRL's memory is given back.
    let addr = format!("127.0.0.1:{web_port}");
    let daemon = Proc::spawn(
        Command::new(bin())
            .args(["run", "--config"])
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let ready = tokio::task::spawn_blocking(move || {
        wait_for(Duration::from_secs(120), || {
            http("GET", &addr, "/-/ready").filter(|(s, _)| *s == 200)
        })
    })
    .await
    .expect("wait");
    assert!(ready.is_some(), "daemon ready after its first round");
    let pid = daemon.pid();
    let (rss, hwm) = (
        status_kb(pid, "VmRSS:") * 1024,
        status_kb(pid, "VmHWM:") * 1024,
    );
    eprintln!("run: after the round RSS {rss} B, peak {hwm} B");
    assert!(
        hwm < bound,
        "peak RSS {hwm} B for a {size} B CRL; the bound is 1.5x + 30 MiB = {bound} B"
    );
    assert!(
        rss + size * 3 / 4 < hwm,
        "the CRL's memory is held after the round: RSS {rss} B, peak {hwm} B, CRL {size} B"
    );
}

//! OCSP end to end against OpenSSL: a test PKI made with `openssl ca`
//! (whose index file is the revocation database), `openssl ocsp` as the
//! real responder (delegated signer; wrong signers: one authorised by the
//! root, a sibling leaf without id-kp-OCSPSigning, an expired responder
//! certificate; one running two days in the past under libfaketime) and
//! `openssl s_server -status_file` stapling responses that `openssl ocsp`
//! produced, one of them about the same serial under another issuer key
//! (also served as a file to an ocsp flow). TLS flows judge the staple;
//! ocsp flows ask the responders named in the chain's AIA (rewritten to
//! their own port) or configured ones, hostile ones included. One set of
//! servers serves every case.

use flowprobe_testkit as support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use flowprobe::metrics::Metrics;
use flowprobe::outcome::{Level, Reason, Subject};
use flowprobe::probe::ProbeReport;
use flowprobe::state::State;
use support::httpd::{HttpServer, Route};
use support::openssl_ca::{Made, OpensslCa, ca_ext, date, leaf_ext};
use support::servers::{OpensslServer, openssl_server};
use support::*;

const AIA: &str = "authorityInfoAccess=OCSP;URI:http://ocsp.lab.test/\n";

fn p(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

/// `openssl ocsp` as a responder on a port of its choosing; killed on drop.
struct Responder {
    _proc: Proc,
    port: u16,
}

/// libfaketime (Debian package `faketime`), preloaded into `openssl` itself
/// rather than through the `faketime` wrapper, whose child would outlive
/// a kill of the wrapper.
fn libfaketime() -> Option<PathBuf> {
    ["x86_64-linux-gnu", "aarch64-linux-gnu", ""]
        .iter()
        .map(|triple| {
            Path::new("/usr/lib")
                .join(triple)
                .join("faketime/libfaketime.so.1")
        })
        .find(|p| p.exists())
}

/// `openssl`, its clock shifted by `shift` (`-2d`) when given.
fn openssl(shift: Option<&str>) -> Command {
    let mut c = Command::new("openssl");
    if let Some(shift) = shift {
        c.env("LD_PRELOAD", libfaketime().expect("libfaketime"))
            .env("FAKETIME", shift);
    }
    c
}

/// A responder whose clock is shifted (`-2d`) gives really stale answers.
fn responder(dir: &Path, ca: &Made, signer: &Made, faked: Option<&str>) -> Responder {
    let mut cmd = openssl(faked);
    cmd.args(["ocsp", "-index"])
        .arg(dir.join("index.txt"))
        .args(["-port", "0", "-ndays", "1", "-CA"])
        .arg(&ca.cert)
        .arg("-rsigner")
        .arg(&signer.cert)
        .arg("-rkey")
        .arg(&signer.key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut proc = Proc::spawn(&mut cmd);
    let stdout = proc.0.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("openssl ocsp exited before listening")
            .expect("read stdout");
        // `ACCEPT [::]:44637 PID=...`
        if let Some(rest) = line.strip_prefix("ACCEPT ") {
            let addr = rest.split_whitespace().next().unwrap_or_default();
            break addr
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .expect("ACCEPT port");
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Responder { _proc: proc, port }
}

/// A DER response about `cert` made by `openssl ocsp` from the index.
fn response(dir: &Path, name: &str, ca: &Made, signer: &Made, cert: &Made, faked: bool) -> PathBuf {
    let out = dir.join(format!("{name}.der"));
    let st = openssl(faked.then_some("-2d"))
        .args(["ocsp", "-index"])
        .arg(dir.join("index.txt"))
        .args(["-ndays", "1", "-no_nonce", "-CA"])
        .arg(&ca.cert)
        .arg("-rsigner")
        .arg(&signer.cert)
        .arg("-rkey")
        .arg(&signer.key)
        .arg("-issuer")
        .arg(&ca.cert)
        .arg("-cert")
        .arg(&cert.cert)
        .arg("-respout")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run openssl ocsp");
    assert!(st.success() && out.exists(), "openssl ocsp -respout {name}");
    out
}

/// The oracle: does `openssl ocsp -respin` (which verifies the response's
/// signer unless told not to) accept `resp` for `cert`, anchored at `root`?
fn openssl_accepts(resp: &Path, root: &Made, ca: &Made, cert: &Made) -> (bool, String) {
    let out = Command::new("openssl")
        .args(["ocsp", "-no_nonce", "-respin", p(resp), "-CAfile"])
        .arg(&root.cert)
        .arg("-verify_other")
        .arg(&ca.cert)
        .arg("-issuer")
        .arg(&ca.cert)
        .arg("-cert")
        .arg(&cert.cert)
        .output()
        .expect("openssl ocsp -respin");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (text.contains("Response verify OK"), text)
}

struct Pki {
    dir: tempfile::TempDir,
    root: Made,
    ca: Made,
    good: Made,
    revoked: Made,
    unknown: Made,
    signer: Made,
    rogue: Made,
    /// Issued by the CA for TLS only: no id-kp-OCSPSigning.
    sibling: Made,
    /// A responder certificate of the CA that expired yesterday.
    expired: Made,
    /// Another key under the CA's very name: its CertIDs share the name
    /// hash and serials, not the key hash.
    other: Made,
    /// A leaf whose only responder is an https:// URL: nothing can be
    /// asked over an `ocsp` flow (plain HTTP).
    https_only: Made,
}

fn pki() -> Pki {
    let dir = tempdir();
    let d = dir.path();
    let mut ca = OpensslCa::new(d);
    let (start, end) = (date(-1), date(30));
    let root = ca.root("root", "/O=OCSP Lab/CN=OCSP Lab Root");
    // No AIA on the CA: the root runs no responder here.
    let issuing = ca.issue(
        "ca",
        "ca",
        "/O=OCSP Lab/CN=OCSP Lab CA",
        &root,
        &ca_ext("CA:TRUE,pathlen:0", "keyCertSign,cRLSign"),
        &start,
        &end,
    );
    let leaf = |ca: &mut OpensslCa, name: &str| {
        ca.issue(
            name,
            name,
            &format!("/O=OCSP Lab/CN={name}.lab.test"),
            &issuing,
            &format!("{}{AIA}", leaf_ext("serverAuth")),
            &start,
            &end,
        )
    };
    let good = leaf(&mut ca, "good");
    let revoked = leaf(&mut ca, "revoked");
    let unknown = leaf(&mut ca, "unknown");
    let responder_ext = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning\n";
    let signer = ca.issue(
        "signer",
        "signer",
        "/O=OCSP Lab/CN=OCSP Lab Responder",
        &issuing,
        responder_ext,
        &start,
        &end,
    );
    // Authorised by the root, not by the leaves' issuer: not theirs to sign.
    let rogue = ca.issue(
        "rogue",
        "rogue",
        "/O=OCSP Lab/CN=Rogue Responder",
        &root,
        responder_ext,
        &start,
        &end,
    );
    let sibling = leaf(&mut ca, "sibling");
    let https_only = ca.issue(
        "httpsonly",
        "httpsonly",
        "/O=OCSP Lab/CN=httpsonly.lab.test",
        &issuing,
        &format!(
            "{}authorityInfoAccess=OCSP;URI:https://ocsp.lab.test/\n",
            leaf_ext("serverAuth")
        ),
        &start,
        &end,
    );
    let expired = ca.issue(
        "expired",
        "expired",
        "/O=OCSP Lab/CN=Expired Responder",
        &issuing,
        responder_ext,
        &date(-10),
        &date(-1),
    );
    let other = ca.root("other", "/O=OCSP Lab/CN=OCSP Lab CA");
    pki::openssl(&[
        "ca",
        "-config",
        p(&d.join("ca.cnf")),
        "-cert",
        p(&issuing.cert),
        "-keyfile",
        p(&issuing.key),
        "-revoke",
        p(&revoked.cert),
        "-crl_reason",
        "keyCompromise",
    ]);
    // `unknown` leaves the responder's database: it never issued it.
    let index = d.join("index.txt");
    let kept: String = std::fs::read_to_string(&index)
        .expect("index")
        .lines()
        .filter(|l| !l.contains("CN=unknown.lab.test"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&index, kept).expect("index");
    Pki {
        dir,
        root,
        ca: issuing,
        good,
        revoked,
        unknown,
        signer,
        rogue,
        sibling,
        expired,
        other,
        https_only,
    }
}

/// `openssl x509 -serial` of `m`, in the lower-case hex flowprobe prints.
fn serial(m: &Made) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-in"])
        .arg(&m.cert)
        .output()
        .expect("openssl x509");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .trim_start_matches("serial=")
        .to_ascii_lowercase()
}

fn staple_server(pki: &Pki, leaf: &Made, staple: Option<&Path>, extra: &[&str]) -> OpensslServer {
    let mut args: Vec<&str> = extra.to_vec();
    if let Some(s) = staple {
        args.extend(["-status_file", p(s)]);
    }
    openssl_server(&leaf.cert, &leaf.key, Some(&pki.ca.cert), &args)
}

fn tls_flow(name: &str, port: u16, mode: Option<&str>) -> String {
    let mode = mode.map_or(String::new(), |m| format!(", ocsp_staple = \"{m}\""));
    format!(
        r#"
[[flow]]
name = "{name}"
from = "mobile-devices"
to = "lo"
port = {port}
check = "tls"
tls = {{ trust = ["lab"], server_name = "mdm.lab.test"{mode} }}
"#
    )
}

fn ocsp_flow(name: &str, port: u16, from: &str, extra: &str) -> String {
    format!(
        r#"
[[flow]]
name = "{name}"
from = "mobile-devices"
to = "lo"
port = {port}
check = "ocsp"
timeout = "2s"
ocsp = {{ from_flow = "{from}"{extra} }}
"#
    )
}

fn responses(r: &ProbeReport) -> Vec<serde_json::Value> {
    let d = serde_json::to_value(&r.attempts[0].facts).expect("json");
    d["responses"].as_array().cloned().unwrap_or_default()
}

fn staple(r: &ProbeReport) -> serde_json::Value {
    let d = serde_json::to_value(&r.attempts[0].facts).expect("json");
    d["ocsp_staple"].clone()
}

fn fails(r: &ProbeReport) -> Vec<String> {
    r.findings()
        .filter(|f| f.level == Level::Fail)
        .map(|f| format!("{}: {}", f.reason, f.detail))
        .collect()
}

fn series(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| labels.iter().all(|x| l.contains(x)))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staples_and_responders_judged_against_openssl() {
    if !require(have("openssl"), "openssl")
        || !require(
            libfaketime().is_some(),
            "libfaketime (Debian package faketime)",
        )
    {
        return;
    }
    let pki = pki();
    let d = pki.dir.path();
    let (ca, signer) = (&pki.ca, &pki.signer);

    // Staples, each produced by `openssl ocsp` from the index.
    let good = response(d, "good", ca, signer, &pki.good, false);
    let by_issuer = response(d, "by-issuer", ca, ca, &pki.good, false);
    let revoked = response(d, "revoked", ca, signer, &pki.revoked, false);
    let unknown = response(d, "unknown", ca, signer, &pki.unknown, false);
    let stale = response(d, "stale", ca, signer, &pki.good, true);
    let rogue = response(d, "rogue", ca, &pki.rogue, &pki.good, false);
    let sibling = response(d, "sibling", ca, &pki.sibling, &pki.good, false);
    let expired = response(d, "expired", ca, &pki.expired, &pki.good, false);
    // Good for the leaf's serial under the other key (`-CA` and `-issuer`
    // other), signed by the CA's own delegated responder.
    let other = response(d, "other-issuer", &pki.other, signer, &pki.good, false);
    // The oracle agrees on who may sign, and for what.
    for (resp, ok) in [
        (&good, true),
        (&by_issuer, true),
        (&rogue, false),
        (&sibling, false),
        (&expired, false),
        (&other, false),
    ] {
        let (accepted, text) = openssl_accepts(resp, &pki.root, ca, &pki.good);
        assert_eq!(accepted, ok, "openssl on {}: {text}", resp.display());
    }

    let s_good = staple_server(&pki, &pki.good, Some(&good), &[]);
    let s_issuer = staple_server(&pki, &pki.good, Some(&by_issuer), &["-no_tls1_3"]);
    let s_revoked = staple_server(&pki, &pki.revoked, Some(&revoked), &[]);
    let s_unknown = staple_server(&pki, &pki.unknown, Some(&unknown), &[]);
    let s_stale = staple_server(&pki, &pki.good, Some(&stale), &[]);
    let s_rogue = staple_server(&pki, &pki.good, Some(&rogue), &[]);
    let s_none = staple_server(&pki, &pki.good, None, &[]);
    let s_sibling = staple_server(&pki, &pki.good, Some(&sibling), &[]);
    let s_expired = staple_server(&pki, &pki.good, Some(&expired), &[]);
    let s_other = staple_server(&pki, &pki.good, Some(&other), &[]);
    let s_https_only = staple_server(&pki, &pki.https_only, None, &[]);

    let live = responder(d, ca, signer, None);
    let rogue_responder = responder(d, ca, &pki.rogue, None);
    let past = responder(d, ca, signer, Some("-2d"));
    let sibling_responder = responder(d, ca, &pki.sibling, None);
    let expired_responder = responder(d, ca, &pki.expired, None);
    let hostile = HttpServer::start().await;
    hostile.route(
        "/big",
        Route::Stream {
            total: 200 * 1024 * 1024,
            declared: false,
        },
    );
    hostile.route(
        "/drip",
        Route::Drip {
            total: 4096,
            every: Duration::from_secs(1),
        },
    );
    hostile.route(
        "/other-issuer",
        Route::ok(
            "application/ocsp-response",
            std::fs::read(&other).expect("response"),
        ),
    );
    hostile.route(
        "/html",
        Route::ok(
            "text/html",
            "<!DOCTYPE html><html><body>Jamf Pro login</body></html>",
        ),
    );
    let h = hostile.port();
    let url = |path: &str| format!(", urls = [\"http://127.0.0.1:{h}{path}\"]");

    let text = [
        format!(
            "catalog = \"none\"\n[trust.lab]\nanchors = [\"{}\"]\n[targets]\nlo = \"127.0.0.1\"\n",
            pki.root.cert.display()
        ),
        tls_flow("staple-good", s_good.addr.port(), Some("require")),
        tls_flow("staple-issuer", s_issuer.addr.port(), Some("require")),
        tls_flow("staple-revoked", s_revoked.addr.port(), None),
        tls_flow("staple-unknown", s_unknown.addr.port(), Some("require")),
        tls_flow("staple-unknown-warn", s_unknown.addr.port(), None),
        tls_flow("staple-stale", s_stale.addr.port(), Some("require")),
        tls_flow("staple-rogue", s_rogue.addr.port(), None),
        tls_flow("staple-none", s_none.addr.port(), Some("require")),
        tls_flow("staple-none-warn", s_none.addr.port(), None),
        tls_flow("staple-off", s_rogue.addr.port(), Some("off")),
        tls_flow("staple-sibling", s_sibling.addr.port(), None),
        tls_flow("staple-expired", s_expired.addr.port(), None),
        tls_flow("staple-other", s_other.addr.port(), None),
        tls_flow("staple-https-only", s_https_only.addr.port(), None),
        // Its only responder cannot be asked here: nothing judged fails.
        ocsp_flow("ocsp-https-only", h, "staple-https-only", ""),
        // The same with nothing listening: the closed port is named first.
        ocsp_flow(
            "ocsp-https-only-closed",
            free_port(),
            "staple-https-only",
            "",
        ),
        ocsp_flow("ocsp-good", live.port, "staple-good", ""),
        ocsp_flow("ocsp-revoked", live.port, "staple-revoked", ""),
        ocsp_flow("ocsp-unknown", live.port, "staple-unknown", ""),
        ocsp_flow("ocsp-rogue", rogue_responder.port, "staple-good", ""),
        ocsp_flow("ocsp-stale", past.port, "staple-good", ""),
        ocsp_flow("ocsp-sibling", sibling_responder.port, "staple-good", ""),
        ocsp_flow("ocsp-expired", expired_responder.port, "staple-good", ""),
        ocsp_flow("ocsp-other", h, "staple-good", &url("/other-issuer")),
        // A good answer first, a rogue one second: the metrics show the worse.
        ocsp_flow(
            "ocsp-two",
            live.port,
            "staple-good",
            &format!(
                ", urls = [\"http://127.0.0.1:{}/\", \"http://127.0.0.1:{}/\"]",
                live.port, rogue_responder.port
            ),
        ),
        ocsp_flow("ocsp-big", h, "staple-good", &url("/big")),
        ocsp_flow("ocsp-drip", h, "staple-good", &url("/drip")),
        ocsp_flow("ocsp-html", h, "staple-good", &url("/html")),
    ]
    .concat();
    let c = config_from(&text);
    let r = probe_all(&c).await;
    let reason = |n: &str| r[n].reason;

    // Never ok with nothing judged: the chain's only responder is https.
    assert_eq!(
        reason("staple-https-only"),
        Reason::Ok,
        "{:?}",
        fails(&r["staple-https-only"])
    );
    assert_eq!(
        reason("ocsp-https-only"),
        Reason::OcspMissing,
        "{}",
        r["ocsp-https-only"].detail
    );
    assert!(
        fails(&r["ocsp-https-only"]).iter().any(|f| f
            .starts_with("ocsp_missing: no OCSP responder asked: none of the 1 responder URLs")),
        "{:?}",
        fails(&r["ocsp-https-only"])
    );
    assert!(
        r["ocsp-https-only"]
            .detail
            .contains("0 of 1 OCSP answers judged")
    );
    assert_eq!(
        reason("ocsp-https-only-closed"),
        Reason::Refused,
        "{}",
        r["ocsp-https-only-closed"].detail
    );

    // Stapling.
    for n in [
        "staple-good",
        "staple-issuer",
        "staple-none-warn",
        "staple-off",
    ] {
        assert_eq!(reason(n), Reason::Ok, "{n}: {:?}", fails(&r[n]));
    }
    assert_eq!(staple(&r["staple-good"])["response"]["status"], "good");
    assert!(
        staple(&r["staple-good"])["response"]["signer"]
            .as_str()
            .is_some_and(|s| s.contains("OCSP Lab Responder") && s.contains("delegated")),
        "{}",
        staple(&r["staple-good"])
    );
    assert!(
        staple(&r["staple-issuer"])["response"]["signer"]
            .as_str()
            .is_some_and(|s| s.contains("the issuer")),
        "TLS 1.2 CertificateStatus, signed by the CA itself: {}",
        staple(&r["staple-issuer"])
    );
    assert_eq!(
        reason("staple-revoked"),
        Reason::Revoked,
        "fails even under warn"
    );
    assert!(
        fails(&r["staple-revoked"])[0].contains("keyCompromise"),
        "{:?}",
        fails(&r["staple-revoked"])
    );
    assert_eq!(reason("staple-unknown"), Reason::OcspUnknown);
    assert_eq!(
        reason("staple-unknown-warn"),
        Reason::Ok,
        "warn: only a warning"
    );
    assert!(
        r["staple-unknown-warn"]
            .findings()
            .any(|f| f.reason == Reason::OcspUnknown && f.level == Level::Warn)
    );
    assert_eq!(reason("staple-stale"), Reason::OcspStale);
    // The staple's problems, as the JSON carries them.
    let stale = staple(&r["staple-stale"]);
    assert_eq!(
        stale["response"]["problems"][0]["problem"], "expired",
        "{stale}"
    );
    assert_eq!(
        stale["response"]["problems"][0]["next_update"],
        stale["response"]["next_update"]
    );
    assert_eq!(
        reason("staple-rogue"),
        Reason::OcspInvalid,
        "fails even under warn"
    );
    assert!(
        fails(&r["staple-rogue"])[0]
            .contains("Rogue Responder, O=OCSP Lab: not issued by the certificate's issuer"),
        "{:?}",
        fails(&r["staple-rogue"])
    );
    assert_eq!(reason("staple-none"), Reason::OcspMissing);
    assert!(
        r["staple-none-warn"]
            .findings()
            .any(|f| f.reason == Reason::OcspMissing && f.level == Level::Info)
    );
    assert!(staple(&r["staple-off"]).is_null(), "off: not judged");
    // Wrong signers and a wrong issuer fail even under warn, with what was
    // tried: the one failing finding, word for word where no date is in it.
    let only = |n: &str| {
        let f = fails(&r[n]);
        assert_eq!(f.len(), 1, "{n}: {f:?}");
        f[0].clone()
    };
    assert_eq!(
        only("staple-unknown"),
        format!(
            "ocsp_unknown: staple: OCSP for position 0: the responder does not know serial {}",
            serial(&pki.unknown)
        )
    );
    let neither =
        "signed neither by the issuer nor by a responder it delegated: the issuer's key: ";
    let (staple_0, leaf_0) = (
        "staple: OCSP for position 0",
        "OCSP for position 0 (good.lab.test)",
    );
    let no_eku = "; CN=sibling.lab.test, O=OCSP Lab: no id-kp-OCSPSigning extended key usage";
    // The date is the other part, after "(notAfter ".
    let expired =
        "; CN=Expired Responder, O=OCSP Lab: responder certificate not valid now (notAfter ";
    let not_issued = "; CN=Rogue Responder, O=OCSP Lab: not issued by the certificate's issuer";
    for (n, what, tried) in [
        ("staple-sibling", staple_0, no_eku),
        ("ocsp-sibling", leaf_0, no_eku),
        ("staple-expired", staple_0, expired),
        ("ocsp-expired", leaf_0, expired),
        ("ocsp-rogue", leaf_0, not_issued),
    ] {
        assert_eq!(reason(n), Reason::OcspInvalid, "{n}");
        let f = only(n);
        assert!(
            f.starts_with(&format!("ocsp_invalid: {what}: {neither}")) && f.contains(tried),
            "{n}: {f}"
        );
    }
    // Same serial, other issuer key; the configured URL is also asked
    // about position 1, and the same answer is not about the CA either.
    for (n, what, count) in [("staple-other", staple_0, 1), ("ocsp-other", leaf_0, 2)] {
        assert_eq!(reason(n), Reason::OcspInvalid, "{n}");
        let f = fails(&r[n]);
        assert_eq!(f.len(), count, "{n}: {f:?}");
        assert_eq!(
            f[0],
            format!(
                "ocsp_invalid: {what}: the response has no answer for serial {} of CN=OCSP Lab CA, O=OCSP Lab (1 answers)",
                serial(&pki.good)
            ),
            "{n}"
        );
    }

    // Responders: the leaf's AIA names http://ocsp.lab.test/, asked on
    // the flow's own port; the CA names none.
    assert_eq!(
        reason("ocsp-good"),
        Reason::Ok,
        "{:?}",
        fails(&r["ocsp-good"])
    );
    let list = responses(&r["ocsp-good"]);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["position"], 0);
    assert_eq!(list[0]["url"], "http://ocsp.lab.test/");
    assert_eq!(list[0]["source"], "discovered");
    assert_eq!(
        list[0]["http"]["url"],
        format!("http://127.0.0.1:{}/", live.port)
    );
    assert_eq!(list[0]["response"]["status"], "good");
    assert!(r["ocsp-good"].findings().any(|f| f.level == Level::Info
        && f.reason == Reason::OcspMissing
        && f.subject == Some(Subject::Certificate { position: 1 })));
    assert_eq!(reason("ocsp-revoked"), Reason::Revoked);
    assert!(
        fails(&r["ocsp-revoked"])[0].contains("position 0"),
        "{:?}",
        fails(&r["ocsp-revoked"])
    );
    assert_eq!(reason("ocsp-unknown"), Reason::OcspUnknown);
    assert_eq!(
        only("ocsp-unknown"),
        format!(
            "ocsp_unknown: OCSP for position 0 (unknown.lab.test): the responder does not know serial {}",
            serial(&pki.unknown)
        )
    );
    assert_eq!(reason("ocsp-stale"), Reason::OcspStale);
    let f = only("ocsp-stale");
    assert!(
        f.starts_with("ocsp_stale: OCSP for position 0 (good.lab.test): expired, nextUpdate ")
            && f.contains(" passed "),
        "-ndays 1 two days ago: {f}"
    );
    // Both answers count for the reason; the first (good) one does not
    // hide the second.
    assert_eq!(reason("ocsp-two"), Reason::OcspInvalid);
    let two = responses(&r["ocsp-two"]);
    assert_eq!(
        two.iter()
            .filter(|e| e["position"] == 0)
            .map(|e| (
                e["response"]["status"].clone(),
                e["response"]["valid"].clone()
            ))
            .collect::<Vec<_>>(),
        vec![
            (serde_json::json!("good"), serde_json::json!(true)),
            (serde_json::json!("good"), serde_json::json!(false))
        ],
        "{two:?}"
    );

    // Hostile responders, asked about both sent certificates (configured
    // URLs apply to each): bounded, never hung.
    assert_eq!(
        reason("ocsp-big"),
        Reason::BodyTooLarge,
        "{:?}",
        fails(&r["ocsp-big"])
    );
    assert!(
        responses(&r["ocsp-big"])
            .iter()
            .all(|e| e["http"]["body_bytes"]
                .as_u64()
                .is_some_and(|b| b <= 64 * 1024 + 65536)),
        "stopped at the 64 KiB cap"
    );
    let big = responses(&r["ocsp-big"]);
    assert!(
        !big.is_empty()
            && big.iter().all(|e| {
                let cause = &e["http"]["cause"];
                cause["stage"] == "http"
                    && cause["error"] == "body_too_large"
                    && cause["limit"] == 64 * 1024
            }),
        "the fetch's cause in each answer's facts: {big:?}"
    );
    assert_eq!(
        reason("ocsp-drip"),
        Reason::Timeout,
        "{}",
        r["ocsp-drip"].detail
    );
    assert_eq!(reason("ocsp-html"), Reason::OcspInvalid);
    let html = responses(&r["ocsp-html"]);
    assert!(
        html.iter()
            .all(|e| e["response"]["problems"][0]["problem"] == "not_ocsp"
                && e["response"]["problems"][0]["served"]["looks_like"] == "markup"),
        "{html:?}"
    );
    assert_eq!(responses(&r["ocsp-html"]).len(), 2, "positions 0 and 1");

    // Metrics.
    let metrics = Arc::new(Metrics::new().expect("metrics"));
    let state = State::new(Arc::clone(&metrics));
    let mut slots = BTreeMap::new();
    for p in flowprobe::probe::plan::prepare(&c).expect("prepare") {
        let slot = state.make_slot(Arc::clone(&p));
        slots.insert(p.flow.name.clone(), slot);
    }
    for (name, slot) in &slots {
        state.record(slot, r[name].clone());
    }
    let text = String::from_utf8(metrics.encode()).expect("utf8");
    let m = |metric: &str, flow: &str, source: &str| {
        series(
            &text,
            metric,
            &[
                &format!("flow=\"{flow}\""),
                "position=\"0\"",
                &format!("source=\"{source}\""),
            ],
        )
    };
    assert_eq!(
        m("flowprobe_ocsp_status", "staple-good", "staple"),
        Some(0.0)
    );
    assert_eq!(
        m("flowprobe_ocsp_status", "staple-revoked", "staple"),
        Some(1.0)
    );
    assert_eq!(
        m("flowprobe_ocsp_status", "staple-unknown", "staple"),
        Some(2.0)
    );
    assert_eq!(
        m("flowprobe_ocsp_response_valid", "staple-good", "staple"),
        Some(1.0)
    );
    assert_eq!(
        m("flowprobe_ocsp_response_valid", "staple-rogue", "staple"),
        Some(0.0)
    );
    assert_eq!(
        m("flowprobe_ocsp_status", "ocsp-revoked", "responder"),
        Some(1.0)
    );
    // Responses that cannot be believed: invalid, and no status at all (an
    // unverified "good" must not read as good).
    for (flow, source) in [
        ("staple-rogue", "staple"),
        ("staple-sibling", "staple"),
        ("staple-expired", "staple"),
        ("staple-other", "staple"),
        ("ocsp-rogue", "responder"),
        ("ocsp-sibling", "responder"),
        ("ocsp-expired", "responder"),
        ("ocsp-other", "responder"),
        ("ocsp-two", "responder"),
    ] {
        assert_eq!(
            m("flowprobe_ocsp_response_valid", flow, source),
            Some(0.0),
            "{flow}"
        );
        assert_eq!(m("flowprobe_ocsp_status", flow, source), None, "{flow}");
    }
    assert_eq!(
        m("flowprobe_ocsp_status", "ocsp-unknown", "responder"),
        Some(2.0)
    );
    assert_eq!(
        m("flowprobe_ocsp_response_valid", "ocsp-unknown", "responder"),
        Some(1.0)
    );
    assert_eq!(
        m("flowprobe_ocsp_status", "ocsp-stale", "responder"),
        Some(0.0),
        "validly signed, only old"
    );
    assert_eq!(
        m("flowprobe_ocsp_response_valid", "ocsp-stale", "responder"),
        Some(1.0)
    );
    assert_eq!(
        m("flowprobe_ocsp_response_valid", "ocsp-good", "responder"),
        Some(1.0)
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let next = m(
        "flowprobe_ocsp_next_update_timestamp_seconds",
        "ocsp-good",
        "responder",
    )
    .expect("next update");
    assert!((next - (now + 86_400.0)).abs() < 300.0, "-ndays 1: {next}");
    let next = m(
        "flowprobe_ocsp_next_update_timestamp_seconds",
        "staple-stale",
        "staple",
    )
    .expect("next update");
    assert!(next < now, "the stale staple's date is exported as it is");
    let next = m(
        "flowprobe_ocsp_next_update_timestamp_seconds",
        "ocsp-stale",
        "responder",
    )
    .expect("next update");
    assert!(
        (next - (now - 86_400.0)).abs() < 300.0,
        "two days back, -ndays 1: {next}"
    );
    assert_eq!(
        m("flowprobe_ocsp_status", "staple-none", "staple"),
        None,
        "no staple, no status"
    );
    assert_eq!(m("flowprobe_ocsp_status", "ocsp-html", "responder"), None);
    assert_eq!(
        m("flowprobe_ocsp_response_valid", "ocsp-html", "responder"),
        Some(0.0),
        "unreadable: invalid, no sentinel status"
    );
    assert_eq!(
        series(
            &text,
            "flowprobe_flow_reason",
            &["flow=\"ocsp-revoked\"", "reason=\"revoked\""]
        ),
        Some(1.0)
    );
}

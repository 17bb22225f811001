//! Configuration: every invalid fixture gives its documented messages (all
//! of them, with file and key path), overrides by flow name work, and
//! `config show` round-trips.

use flowprobe_testkit as support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use flowprobe::config::{Config, Overrides, load_with_env};

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(kind);
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .expect("fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

fn load(path: &Path) -> Result<Config, String> {
    load_with_env(Some(path), &Overrides::default(), BTreeMap::new()).map_err(|e| e.to_string())
}

/// `flowprobe config check --config path` exits 0.
fn config_check_accepts(path: &Path) {
    let out = support::flowprobe(&["config", "check", "--config", path.to_str().expect("utf8")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_invalid_fixture_reports_every_expected_error() {
    let files = fixtures("invalid");
    assert!(files.len() >= 15, "fixtures missing: {files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let expected: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .collect();
        assert!(
            !expected.is_empty(),
            "{} has no `# expect:` line",
            file.display()
        );
        let err = match load(&file) {
            Ok(_) => panic!("{} loaded but is invalid", file.display()),
            Err(e) => e,
        };
        for want in &expected {
            assert!(
                err.contains(want),
                "{}: missing {want:?} in:\n{err}",
                file.display()
            );
        }
        // Every error line names the file.
        for line in err.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            assert!(
                line.trim_start().starts_with(&file.display().to_string()),
                "{}: error without its file: {line}",
                file.display()
            );
        }
    }
}

#[test]
fn many_errors_are_reported_in_one_run() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config/invalid/many-errors.toml");
    let err = load(&file).expect_err("invalid");
    assert!(err.starts_with("configuration has 6 errors"), "{err}");
}

#[test]
fn unreadable_file_is_an_error_naming_it() {
    let err = load(Path::new("/nonexistent/flowprobe.toml")).expect_err("missing file");
    assert!(
        err.contains("/nonexistent/flowprobe.toml: cannot read file"),
        "{err}"
    );
}

#[test]
fn catalog_flows_are_overridden_by_name() {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/valid/override.toml");
    let c = load(&file).expect("valid");
    let https = c
        .flows
        .iter()
        .find(|f| f.name == "mobile-mdm-https")
        .expect("catalog flow");
    assert_eq!(https.timeout, Duration::from_secs(3));
    assert_eq!(
        https.port, 443,
        "fields not overridden stay from the catalog"
    );
    assert_eq!(
        https.labels.get("owner").map(String::as_str),
        Some("pki-team")
    );
    assert!(
        c.flows.iter().all(|f| f.name != "mdm-apns-legacy"),
        "disabled flow dropped"
    );
    assert!(c.flows.iter().any(|f| f.name == "extra" && f.port == 8080));
    assert_eq!(c.vantages, vec!["mobile-devices".to_string()]);
    assert!(c.active_flows().all(|f| f.from == "mobile-devices"));
    let v = c.vantage("mobile-devices");
    assert_eq!(v.dns_servers, vec!["127.0.0.1:5353".parse().expect("addr")]);
}

#[test]
fn embedded_default_is_the_catalog_on_localhost() {
    let c = load_with_env(None, &Overrides::default(), BTreeMap::new()).expect("embedded");
    assert_eq!(c.origin, "embedded default");
    assert_eq!(c.catalog, "jamf-pro");
    assert_eq!(c.flows.len(), 11);
    assert!(c.flows.iter().all(|f| f.host.to_string() == "localhost"));
    let closed: Vec<_> = c
        .flows
        .iter()
        .filter(|f| f.expect == flowprobe::config::Expect::Closed)
        .map(|f| f.port)
        .collect();
    assert_eq!(closed, vec![22, 8443]);
}

#[test]
fn environment_and_cli_override_the_file() {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/valid/override.toml");
    let env: BTreeMap<String, String> = [
        (
            "FLOWPROBE_LISTEN__ADDRESS".to_string(),
            "127.0.0.1:19999".to_string(),
        ),
        (
            "FLOWPROBE_DEFAULTS__INTERVAL".to_string(),
            "45s".to_string(),
        ),
    ]
    .into();
    let c = load_with_env(Some(&file), &Overrides::default(), env.clone()).expect("valid");
    assert_eq!(c.listen.port(), 19999);
    assert!(
        c.flows
            .iter()
            .any(|f| f.interval == Duration::from_secs(45))
    );
    let o = Overrides {
        listen: Some("127.0.0.1:18888".into()),
        vantages: vec!["administrators".into()],
        ..Overrides::default()
    };
    let c = load_with_env(Some(&file), &o, env).expect("valid");
    assert_eq!(c.listen.port(), 18888, "CLI wins over the environment");
    assert_eq!(c.vantages, vec!["administrators".to_string()]);
    // A bad environment value is attributed to the environment.
    let env: BTreeMap<String, String> = [(
        "FLOWPROBE_DEFAULTS__TIMEOUT".to_string(),
        "soon".to_string(),
    )]
    .into();
    let err = load_with_env(Some(&file), &Overrides::default(), env).expect_err("bad env");
    assert!(
        err.to_string().contains(
            "environment (FLOWPROBE_DEFAULTS__TIMEOUT): defaults.timeout: invalid duration"
        ),
        "{err}"
    );
}

#[test]
fn config_show_round_trips() {
    let dir = support::tempdir();
    for source in [
        Some(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/valid/override.toml"),
        ),
        None,
    ] {
        let first = load_with_env(source.as_deref(), &Overrides::default(), BTreeMap::new())
            .expect("valid");
        let shown = flowprobe::config::to_toml(&first);
        let p = support::write(dir.path(), "shown.toml", &shown);
        let second =
            load(&p).unwrap_or_else(|e| panic!("shown config does not load:\n{e}\n{shown}"));
        assert_eq!(first.flows, second.flows);
        assert_eq!(first.targets, second.targets);
        assert_eq!(first.vantage_defs, second.vantage_defs);
        assert_eq!(first.vantages, second.vantages);
        assert_eq!(first.listen, second.listen);
        assert_eq!(first.defaults, second.defaults);
    }
}

#[test]
fn config_check_binary_exit_codes() {
    let bad = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config/invalid/many-errors.toml");
    let out = support::flowprobe(&["config", "check", "--config", bad.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.lines()
            .filter(|l| l.contains("many-errors.toml: flow["))
            .count(),
        5,
        "{err}"
    );
    let good =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/valid/override.toml");
    config_check_accepts(&good);
    let out = support::flowprobe(&["catalog", "jamf-pro"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("mobile-mdm-ssh-forbidden"));
}

/// `catalog = ["jamf-pro", "apple-mdm"]`: both catalogs' flows, the Apple
/// hosts as configuration, through `config check`, `config show` and
/// `catalog` (nothing is probed: the Apple hosts are never contacted).
#[test]
fn catalog_list_merges_jamf_pro_and_apple_mdm() {
    let dir = support::tempdir();
    let text = "catalog = [\"jamf-pro\", \"apple-mdm\"]\n[targets]\nmdm = \"mdm.example.mil\"\n";
    let p = support::write(dir.path(), "two.toml", text);
    let c = load(&p).expect("valid");
    assert_eq!(c.catalog, "jamf-pro, apple-mdm");
    assert_eq!(c.flows.len(), 18);
    let apple: Vec<_> = c
        .flows
        .iter()
        .filter(|f| f.name.contains("-apple-"))
        .collect();
    assert_eq!(apple.len(), 7);
    for f in &apple {
        assert_eq!(
            f.severity,
            flowprobe::config::Severity::Warning,
            "{}",
            f.name
        );
        assert_eq!(f.port, 443, "{}", f.name);
        assert!(
            f.from == "mdm-server" || f.from == "mobile-devices",
            "{}",
            f.name
        );
    }
    let hosts: Vec<String> = apple.iter().map(|f| f.host.to_string()).collect();
    for host in [
        "deviceenrollment.apple.com",
        "mdmenrollment.apple.com",
        "iprofiles.apple.com",
        "identity.apple.com",
        "gdmf.apple.com",
        "albert.apple.com",
        "vpp.itunes.apple.com",
    ] {
        assert!(hosts.iter().any(|h| h == host), "{host} not in {hosts:?}");
    }
    // A target is still the user's to point elsewhere.
    let text2 = format!("{text}apple-activation = \"activation-proxy.example.mil\"\n");
    let p2 = support::write(dir.path(), "two-override.toml", &text2);
    let c2 = load(&p2).expect("valid");
    let activation = c2
        .flows
        .iter()
        .find(|f| f.name == "mobile-apple-activation")
        .expect("flow");
    assert_eq!(activation.host.to_string(), "activation-proxy.example.mil");

    config_check_accepts(&p);
    let shown = flowprobe::config::to_toml(&c);
    let p3 = support::write(dir.path(), "shown.toml", &shown);
    assert_eq!(load(&p3).expect("shown loads").flows, c.flows);
    let out = support::flowprobe(&["catalog"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("apple-mdm"));
    let out = support::flowprobe(&["catalog", "apple-mdm"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("mdm-apple-apps-and-books"));
}

#[test]
fn catalog_list_errors_name_the_entry() {
    let dir = support::tempdir();
    for (text, want) in [
        (
            "catalog = [\"jamf-pro\", \"apple-mbm\"]",
            "catalog[1]: unknown catalog \"apple-mbm\"; built-in: jamf-pro, apple-mdm, or \"none\"",
        ),
        (
            "catalog = [\"apple-mdm\", \"apple-mdm\"]",
            "catalog[1]: catalog \"apple-mdm\" is named twice",
        ),
        (
            "catalog = [\"jamf-pro\", 3]",
            "catalog: must be a catalog name, a list of them",
        ),
        (
            "catalog = []",
            "catalog: must be a catalog name, a list of them",
        ),
    ] {
        let p = support::write(dir.path(), "bad.toml", text);
        let err = load(&p).expect_err(text);
        assert!(err.contains(want), "{text}: {err}");
    }
}

/// The MDM's TLS flows trust the built-in, pinned FCPCA G2 without a
/// `[trust.fcpca-g2]`; one in the file replaces it.
#[test]
fn fcpca_g2_is_built_in_and_a_configured_store_overrides_it() {
    let embedded = load_with_env(None, &Overrides::default(), BTreeMap::new()).expect("embedded");
    let https = embedded
        .flows
        .iter()
        .find(|f| f.name == "mobile-mdm-https")
        .expect("flow");
    let trust = match &https.check {
        flowprobe::config::KindSpec::Tls(t) => t.trust.clone(),
        other => panic!("not TLS: {other:?}"),
    };
    assert_eq!(trust, ["fcpca-g2"]);
    assert!(embedded.trust.is_empty(), "no PEM file needed");
    let wanted = vec![
        "fcpca-g2".to_string(),
        "dod-root-ca-3".to_string(),
        "dod-root-ca-6".to_string(),
    ];
    let stores = flowprobe::probe::load_stores(&embedded.trust, &wanted).expect("built-ins");
    let subject = |name: &str| stores[name].anchors()[0].subject.clone();
    assert_eq!(
        subject("fcpca-g2"),
        "CN=Federal Common Policy CA G2, OU=FPKI, O=U.S. Government, C=US"
    );
    assert_eq!(
        subject("dod-root-ca-6"),
        "CN=DoD Root CA 6, OU=PKI, OU=DoD, O=U.S. Government, C=US"
    );

    let dir = support::tempdir();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/trust/fcpca-g2-fixture.pem");
    let text = format!(
        "catalog = \"jamf-pro\"\n[targets]\nmdm = \"mdm.example.mil\"\n[trust.fcpca-g2]\nanchors = [{:?}]\n",
        fixture.display().to_string()
    );
    let p = support::write(dir.path(), "override.toml", &text);
    let c = load(&p).expect("valid");
    let stores = flowprobe::probe::load_stores(&c.trust, &["fcpca-g2".to_string()]).expect("loads");
    assert!(
        stores["fcpca-g2"].anchors()[0]
            .subject
            .ends_with("G2 (fixture), OU=FPKI, O=U.S. Government, C=US"),
        "{}",
        stores["fcpca-g2"].anchors()[0].subject
    );
}
/// The jamf-pro catalog's `mobile-mdm-ocsp` is disabled, and disabled
/// flows are dropped before validation: enabled by name, it must validate
/// as docs/ocsp.md shows it (an ocsp flow fed by the 443 chain, warning,
/// trusting what that flow trusts).
#[test]
fn catalog_ocsp_flow_validates_when_enabled() {
    let dir = support::tempdir();
    let base = "catalog = \"jamf-pro\"\n[targets]\nmdm = \"mdm.example.mil\"\n";
    let off = load(&support::write(dir.path(), "off.toml", base)).expect("valid");
    assert!(off.flows.iter().all(|f| f.name != "mobile-mdm-ocsp"));
    let text = format!("{base}[[flow]]\nname = \"mobile-mdm-ocsp\"\nenabled = true\n");
    let p = support::write(dir.path(), "ocsp.toml", &text);
    let c = load(&p).expect("valid");
    assert_eq!(c.flows.len(), off.flows.len() + 1);
    let f = c
        .flows
        .iter()
        .find(|f| f.name == "mobile-mdm-ocsp")
        .expect("enabled");
    assert_eq!(f.severity, flowprobe::config::Severity::Warning);
    assert_eq!(
        (f.from.as_str(), f.to.as_str(), f.port),
        ("mobile-devices", "mdm", 80)
    );
    assert_eq!(f.host.to_string(), "mdm.example.mil");
    let spec = match &f.check {
        flowprobe::config::KindSpec::Ocsp(s) => s,
        other => panic!("not ocsp: {other:?}"),
    };
    assert_eq!(spec.from_flow, "mobile-mdm-https");
    assert!(spec.rewrite && spec.urls.is_empty());
    assert_eq!(spec.trust, ["fcpca-g2"], "inherited from mobile-mdm-https");
    config_check_accepts(&p);
}

// Hostile input: a file that is not UTF-8 says where the bad byte is.
#[test]
fn invalid_utf8_names_line_and_byte_offset() {
    let dir = support::tempdir();
    let p = dir.path().join("latin1.toml");
    std::fs::write(&p, b"catalog = \"none\"\n# ok\nvantages = [\"caf\xe9\"]\n").expect("write");
    let err = load(&p).expect_err("not UTF-8");
    assert!(
        err.contains(&format!(
            "{}: not valid UTF-8 at line 3, column 17 (byte offset 38, byte 0xe9)",
            p.display()
        )),
        "{err}"
    );
}

// Hostile input: nesting past the parser's recursion limit gives the
// line, whichever construct hits it; nesting past any setting's depth
// (but under the parser's limit) is rejected with its key path.
#[test]
fn deep_nesting_is_located() {
    let dir = support::tempdir();
    let dotted = vec!["k"; 300].join(".");
    let cases = [
        (
            format!("catalog = \"none\"\n\n[{dotted}]\nb = 1\n"),
            "TOML syntax error at line 3: recursion limit",
        ),
        (
            format!("catalog = \"none\"\n{dotted} = 1\n"),
            "TOML syntax error at line 2: recursion limit",
        ),
        (
            format!(
                "catalog = \"none\"\nx = {}{}\n",
                "[".repeat(300),
                "]".repeat(300)
            ),
            "TOML syntax error at line 2, column",
        ),
        (
            format!(
                "catalog = \"none\"\nx = {}1{}\n",
                "{a = ".repeat(300),
                "}".repeat(300)
            ),
            "TOML syntax error at line 2, column",
        ),
    ];
    for (text, want) in cases {
        let p = support::write(dir.path(), "deep.toml", &text);
        let err = load(&p).expect_err("too deep");
        assert!(err.contains(want), "want {want:?} in:\n{err}");
    }
    // 40 levels parse, but no setting goes that deep: the key path says where.
    let p = support::write(
        dir.path(),
        "deep.toml",
        &format!(
            "catalog = \"none\"\n[vantage.a]\nlabels = {}{}\n",
            "[".repeat(40),
            "]".repeat(40)
        ),
    );
    let err = load(&p).expect_err("too deep");
    let path = format!("vantage.a.labels{}...", "[0]".repeat(14));
    assert!(
        err.contains(&format!(
            "{}: {path}: nested deeper than 16 levels",
            p.display()
        )),
        "{err}"
    );
}

// Hostile input: 50k CRL flows whose from_flow name each other in a ring
// are all reported, each at its own key (validation looks names up in
// sets, not lists: it was quadratic).
#[test]
fn ring_of_from_flow_references_reports_every_flow() {
    let n = 50_000;
    let mut text = String::from("catalog = \"none\"\n[targets]\nmdm = \"127.0.0.1\"\n");
    for i in 0..n {
        text.push_str(&format!(
            "[[flow]]\nname = \"crl-{i}\"\nfrom = \"v\"\nto = \"mdm\"\nport = 80\ncheck = \"crl\"\ncrl = {{ from_flow = \"crl-{}\" }}\n",
            (i + 1) % n
        ));
    }
    let dir = support::tempdir();
    let p = support::write(dir.path(), "ring.toml", &text);
    let err = load(&p).expect_err("ring");
    assert!(
        err.starts_with(&format!("configuration has {n} errors")),
        "{}",
        &err[..err.len().min(500)]
    );
    for i in [0, 1, n / 2, n - 1] {
        let want = format!(
            "flow[crl-{i}].crl.from_flow: flow \"crl-{}\" is not a check = \"tls\" flow",
            (i + 1) % n
        );
        assert!(err.contains(&want), "missing {want}");
    }
}

/// `[trust.NAME]` relying-party settings: built-in names resolve to OIDs,
/// a built-in store needs no anchors, and `config check` accepts it.
#[test]
fn trust_policy_settings_resolve_names_and_apply_to_a_builtin_store() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config/valid/trust-policies.toml");
    let c = load(&file).expect("valid");
    let spec = &c.trust["fcpca-g2"];
    assert!(spec.anchors.is_empty());
    let rp = &spec.relying_party;
    assert!(rp.require_explicit_policy && !rp.inhibit_any_policy);
    assert_eq!(
        rp.initial_policies
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["2.16.840.1.101.3.2.1.3.6", "2.16.840.1.101.3.2.1.3.7"]
    );
    config_check_accepts(&file);
    let stores =
        flowprobe::probe::load_stores(&c.trust, &["fcpca-g2".to_owned()]).expect("stores load");
    assert_eq!(stores["fcpca-g2"].relying_party(), rp);
    assert_eq!(stores["fcpca-g2"].anchors().len(), 1);
}

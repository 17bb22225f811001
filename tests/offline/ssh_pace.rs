//! `defaults.ssh_pace` and `vantage.NAME.ssh_pace`: validated into the SSH
//! flows' specs, printed by `config show` so that it loads back, and the
//! `config check` warnings of a schedule the pace cannot keep (on stderr,
//! exit 0). The invalid values are in
//! `tests/fixtures/config/invalid/ssh-pace.toml`.

use flowprobe_testkit as support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use flowprobe::config::{Config, KindSpec, Overrides, load_with_env};

fn load(dir: &Path, text: &str) -> Config {
    let p = support::write(dir, "flowprobe.toml", text);
    load_with_env(Some(&p), &Overrides::default(), BTreeMap::new())
        .unwrap_or_else(|e| panic!("invalid:\n{e}\n{text}"))
}

fn pace_of(c: &Config, flow: &str) -> Duration {
    match &c.flows.iter().find(|f| f.name == flow).expect("flow").check {
        KindSpec::Ssh(s) => s.pace,
        other => panic!("{flow} is not an ssh flow: {other:?}"),
    }
}

/// `n` SSH flows from `from` to target `to` every `interval`, with a
/// timeout of 95% of it.
fn flows_to(from: &str, to: &str, n: usize, interval: &str) -> String {
    let every = humantime::parse_duration(interval).expect("interval");
    let timeout = humantime::format_duration(every * 95 / 100);
    (0..n)
        .map(|i| {
            format!(
                "[[flow]]\nname = \"{from}-{to}-ssh-{i}\"\nfrom = \"{from}\"\nto = \"{to}\"\n\
                 port = {}\ncheck = \"ssh\"\ninterval = \"{interval}\"\ntimeout = \"{timeout}\"\n",
                2200 + i
            )
        })
        .collect()
}

fn ssh_flows(from: &str, n: usize, interval: &str) -> String {
    flows_to(from, "t", n, interval)
}

#[test]
fn pace_defaults_to_one_second_and_vantages_override_it() {
    let dir = support::tempdir();
    let text = format!(
        "catalog = \"none\"\n[targets]\nt = \"127.0.0.1\"\n{}{}{}",
        ssh_flows("administrators", 1, "30s"),
        ssh_flows("mobile-devices", 1, "30s"),
        "[vantage.mobile-devices]\nssh_pace = \"2500ms\"\n",
    );
    let c = load(dir.path(), &text);
    assert_eq!(c.defaults.ssh_pace, Duration::from_secs(1));
    assert_eq!(c.ssh_pace("administrators"), Duration::from_secs(1));
    assert_eq!(c.ssh_pace("mobile-devices"), Duration::from_millis(2500));
    assert_eq!(
        pace_of(&c, "administrators-t-ssh-0"),
        Duration::from_secs(1)
    );
    assert_eq!(
        pace_of(&c, "mobile-devices-t-ssh-0"),
        Duration::from_millis(2500)
    );

    let text = text.replace(
        "catalog = \"none\"\n",
        "catalog = \"none\"\n[defaults]\nssh_pace = \"0s\"\n",
    );
    let c = load(dir.path(), &text);
    assert_eq!(pace_of(&c, "administrators-t-ssh-0"), Duration::ZERO);
    assert_eq!(
        pace_of(&c, "mobile-devices-t-ssh-0"),
        Duration::from_millis(2500)
    );
}

#[test]
fn config_show_prints_the_pace_and_it_loads_back() {
    let dir = support::tempdir();
    let text = format!(
        "catalog = \"none\"\n[defaults]\nssh_pace = \"1500ms\"\n[targets]\nt = \"127.0.0.1\"\n\
         [vantage.administrators]\nsource_address = \"127.0.0.1\"\nssh_pace = \"0s\"\n\
         [vantage.mobile-devices]\nssh_pace = \"3s\"\n{}{}",
        ssh_flows("administrators", 1, "30s"),
        ssh_flows("mobile-devices", 1, "30s"),
    );
    let first = load(dir.path(), &text);
    let shown = flowprobe::config::to_toml(&first);
    let table: toml::Table = shown.parse().expect("TOML");
    assert_eq!(table["defaults"]["ssh_pace"].as_str(), Some("1s 500ms"));
    assert_eq!(
        table["vantage"]["administrators"]["ssh_pace"].as_str(),
        Some("0s")
    );
    assert_eq!(
        table["vantage"]["mobile-devices"]["ssh_pace"].as_str(),
        Some("3s")
    );
    let second = load(dir.path(), &shown);
    assert_eq!(first.defaults, second.defaults);
    assert_eq!(first.ssh_pace_overrides, second.ssh_pace_overrides);
    assert_eq!(first.vantage_defs, second.vantage_defs);
    assert_eq!(first.flows, second.flows);
}

#[test]
fn invalid_paces_name_their_key_path() {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/invalid/ssh-pace.toml");
    let err = load_with_env(Some(&file), &Overrides::default(), BTreeMap::new())
        .expect_err("invalid")
        .to_string();
    for want in [
        "ssh-pace.toml: defaults.ssh_pace: invalid duration \"soon\"",
        "ssh-pace.toml: vantage.administrators.ssh_pace: 2m is above the maximum of 1m",
        "ssh-pace.toml: vantage.mobile-devices.ssh_pace: invalid duration \"-1s\"",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
}

/// `flowprobe config check` on `text`: (exit code, stderr).
fn config_check(dir: &Path, text: &str) -> (Option<i32>, String) {
    let p = support::write(dir, "check.toml", text);
    let out = support::flowprobe(&["config", "check", "--config", p.to_str().expect("utf8")]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The warnings of one kind in `config check`'s stderr.
fn warnings<'a>(stderr: &'a str, kind: &str) -> Vec<&'a str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("warning: ") && l.contains(kind))
        .collect()
}

const RATE: &str = "connections a second";
const TOGETHER: &str = "started together";

#[test]
fn config_check_warns_when_the_schedule_outruns_the_pace_and_still_exits_0() {
    let dir = support::tempdir();
    let head = "catalog = \"none\"\n[targets]\nt = \"127.0.0.1\"\nu = \"127.0.0.2\"\n";
    // Three flows every 2 s: 1.5 starts a second against one per second.
    let (code, err) = config_check(
        dir.path(),
        &format!("{head}{}", ssh_flows("administrators", 3, "2s")),
    );
    assert_eq!(code, Some(0), "{err}");
    let rate = warnings(&err, RATE);
    assert_eq!(rate.len(), 1, "{err}");
    let w = rate[0];
    assert!(w.contains("check.toml: defaults.ssh_pace: "), "{w}");
    assert!(w.contains("vantage administrators to 127.0.0.1"), "{w}");
    assert!(w.contains("start 1.50 connections a second"), "{w}");
    assert!(
        w.contains("administrators-t-ssh-0, administrators-t-ssh-1, administrators-t-ssh-2"),
        "{w}"
    );

    // Two flows every 2 s is exactly one a second: no warning at all.
    let (code, err) = config_check(
        dir.path(),
        &format!("{head}{}", ssh_flows("administrators", 2, "2s")),
    );
    assert_eq!(code, Some(0));
    assert!(!err.contains("warning:"), "{err}");

    // A vantage's own pace is the key named; pacing off silences it.
    let (_, err) = config_check(
        dir.path(),
        &format!(
            "{head}[vantage.administrators]\nssh_pace = \"2s\"\n{}",
            ssh_flows("administrators", 3, "4s")
        ),
    );
    let rate = warnings(&err, RATE);
    assert_eq!(rate.len(), 1, "{err}");
    assert!(
        rate[0].contains("check.toml: vantage.administrators.ssh_pace: "),
        "{err}"
    );
    let (_, err) = config_check(
        dir.path(),
        &format!(
            "{head}[vantage.administrators]\nssh_pace = \"0s\"\n{}",
            ssh_flows("administrators", 3, "2s")
        ),
    );
    assert!(!err.contains("warning:"), "{err}");

    // Other vantages and other servers are other lanes: one flow a second
    // in each is within the pace.
    let text = format!(
        "{head}{}{}{}",
        flows_to("administrators", "t", 1, "1s"),
        flows_to("administrators", "u", 1, "1s"),
        flows_to("mobile-devices", "t", 1, "1s"),
    );
    let (_, err) = config_check(dir.path(), &text);
    assert!(!err.contains("warning:"), "{err}");
    // Expected-closed SSH flows never connect: they do not count.
    let closed = flows_to("administrators", "t", 1, "1s")
        .replace("check = \"ssh\"", "check = \"ssh\"\nexpect = \"closed\"")
        .replace("-ssh-0", "-closed");
    let (_, err) = config_check(dir.path(), &format!("{text}{closed}"));
    assert!(!err.contains("warning:"), "{err}");
}

#[test]
fn config_check_warns_when_flows_started_together_cannot_all_start_in_time() {
    let dir = support::tempdir();
    let head = "catalog = \"none\"\n[targets]\nt = \"127.0.0.1\"\n";
    // Six flows every 6 s ask exactly one start a second, but started
    // together (a one-shot check) the last waits 5 s: more than the 4.7 s
    // their 5.7 s timeout leaves (1 s of it is kept for the probe itself).
    let (code, err) = config_check(
        dir.path(),
        &format!("{head}{}", ssh_flows("administrators", 6, "6s")),
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(warnings(&err, RATE).is_empty(), "{err}");
    let together = warnings(&err, TOGETHER);
    assert_eq!(together.len(), 1, "{err}");
    for part in [
        "check.toml: defaults.ssh_pace: the 6 SSH flows from vantage administrators to 127.0.0.1",
        "one-shot `flowprobe check`",
        "the last would wait 5s",
        "5s 700ms timeout",
    ] {
        assert!(together[0].contains(part), "{part} not in {}", together[0]);
    }
    // Five: the last waits 4 s, which the timeout leaves.
    let text = format!("{head}{}", ssh_flows("administrators", 5, "6s"));
    let (_, err) = config_check(dir.path(), &text);
    assert!(!err.contains("warning:"), "{err}");
    // The library says the same as the command.
    let c = load(
        dir.path(),
        &format!("{head}{}", ssh_flows("administrators", 6, "6s")),
    );
    let w = flowprobe::config::warnings(&c);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].key, "defaults.ssh_pace");
    assert!(w[0].to_string().starts_with("warning: "), "{}", w[0]);
}

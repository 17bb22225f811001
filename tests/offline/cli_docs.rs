//! `--version`, `completions` and the hidden `man` on the real binary: what
//! the packages ship is generated from the clap definitions, so these pin
//! that the generation covers every command and nothing hidden.

use std::process::{Command, Output};

fn flowprobe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowprobe"))
        .args(args)
        .output()
        .expect("run flowprobe")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn version_names_version_commit_and_build_date() {
    let o = flowprobe(&["--version"]);
    assert!(o.status.success());
    let line = stdout(&o);
    let rest = line
        .trim_end()
        .strip_prefix(concat!(
            "flowprobe ",
            env!("CARGO_PKG_VERSION"),
            " (commit "
        ))
        .unwrap_or_else(|| panic!("unexpected --version: {line:?}"));
    let (commit, date) = rest
        .strip_suffix(')')
        .and_then(|r| r.split_once(", built "))
        .unwrap_or_else(|| panic!("unexpected --version: {line:?}"));
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "commit {commit:?}"
    );
    let d: Vec<&str> = date.split('-').collect();
    assert!(
        d.len() == 3
            && [4, 2, 2] == [d[0].len(), d[1].len(), d[2].len()]
            && d.iter().all(|p| p.chars().all(|c| c.is_ascii_digit())),
        "build date {date:?}"
    );
}

#[test]
fn man_writes_one_page_per_visible_command_and_none_for_hidden_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = flowprobe(&["man", "--dir", &dir.path().display().to_string()]);
    assert!(o.status.success(), "{o:?}");
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    assert_eq!(
        pages,
        [
            "flowprobe-catalog.1",
            "flowprobe-check.1",
            "flowprobe-completions.1",
            "flowprobe-config-check.1",
            "flowprobe-config-show.1",
            "flowprobe-config.1",
            "flowprobe-pki-check.1",
            "flowprobe-pki.1",
            "flowprobe-profile-check.1",
            "flowprobe-profile.1",
            "flowprobe-run.1",
            "flowprobe.1",
        ]
    );
    for p in &pages {
        let text = std::fs::read_to_string(dir.path().join(p)).expect("read page");
        let stem = p.trim_end_matches(".1");
        assert!(
            text.contains(&format!("\n.TH {stem} 1 ")),
            "{p}: no .TH {stem} 1"
        );
        assert!(text.contains(".SH SYNOPSIS"), "{p}: no SYNOPSIS");
    }
    let top = std::fs::read_to_string(dir.path().join("flowprobe.1")).expect("read");
    for section in [".SH FILES", ".SH ENVIRONMENT", ".SH \"EXIT STATUS\""] {
        assert!(top.contains(section), "flowprobe.1 lacks {section}");
    }
    assert!(!top.contains("flowprobe\\-man"), "hidden `man` listed");
}

#[test]
fn completions_cover_every_subcommand_for_bash_zsh_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let o = flowprobe(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {o:?}");
        let script = stdout(&o);
        for sub in [
            "run",
            "check",
            "config",
            "catalog",
            "completions",
            "vantage",
            "pki",
            "profile",
            "password-file",
        ] {
            assert!(script.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let bash = stdout(&flowprobe(&["completions", "bash"]));
    assert!(bash.contains("flowprobe__subcmd__config__subcmd__check"));
    assert!(
        !bash.contains("flowprobe__subcmd__man"),
        "hidden `man` completed"
    );
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error() {
    let o = flowprobe(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
}

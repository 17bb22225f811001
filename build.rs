//! Stamps the binary with the git commit and the build date for
//! `flowprobe --version`, the man pages and `flowprobe_build_info`.
//!
//! Works without git: from a release tarball (no `.git`) the commit is
//! `BUILD_GIT_COMMIT` when set, else `unknown`. The date honours
//! `SOURCE_DATE_EPOCH` (reproducible builds, Debian and RPM tooling set it).
//! Only changes of HEAD re-run this script, so ordinary edits do not make
//! cargo rebuild the crate for a new timestamp.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=BUILD_GIT_COMMIT");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());

    let commit = std::env::var("BUILD_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| git_commit(&manifest))
        .unwrap_or_else(|| "unknown".to_string());
    // Not FLOWPROBE_*: cargo also sets these in the environment of `cargo
    // run` and `cargo test`, where FLOWPROBE_* are configuration overrides.
    println!("cargo:rustc-env=BUILD_INFO_COMMIT={commit}");

    let now = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
        .unwrap_or_else(SystemTime::now);
    let stamp = humantime::format_rfc3339_seconds(now).to_string();
    let date = stamp.get(..10).unwrap_or("unknown");
    println!("cargo:rustc-env=BUILD_INFO_DATE={date}");
}

/// The short commit of the checkout this crate is the top of. (No `-dirty`
/// mark: this script re-runs only when HEAD moves, so it would go stale.)
/// `None` outside git, when git is missing, or
/// when the crate sits inside some other repository (a tarball unpacked into
/// a packaging tree must not take that tree's commit).
fn git_commit(manifest: &Path) -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(manifest)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != manifest.canonicalize().ok()? {
        return None;
    }
    // Re-run when HEAD moves: HEAD itself (branch switch) and the branch ref
    // (commit), loose or packed. Paths resolve for worktrees too. Only files
    // that exist: cargo re-runs on every build for a missing one.
    let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
    watch.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    for path in watch {
        if let Some(p) = git(&["rev-parse", "--git-path", &path]).map(|p| manifest.join(p))
            && p.is_file()
        {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
    git(&["rev-parse", "--short=12", "HEAD"])
}

//! What this binary is: the crate version and the git commit and build date
//! that `build.rs` stamped in. One place, so `--version`, the man pages and
//! `flowprobe_build_info` never disagree.

/// The crate version (`Cargo.toml`).
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Short git commit of the build, or `unknown` (built outside git).
pub(crate) const COMMIT: &str = env!("BUILD_INFO_COMMIT");
/// Build date, `YYYY-MM-DD` (UTC; `SOURCE_DATE_EPOCH` when set).
pub(crate) const BUILD_DATE: &str = env!("BUILD_INFO_DATE");
/// `flowprobe --version`: `0.1.0 (commit 0123abcd4567, built 2026-01-31)`.
pub(crate) const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("BUILD_INFO_COMMIT"),
    ", built ",
    env!("BUILD_INFO_DATE"),
    ")"
);

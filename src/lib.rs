//! flowprobe: proves, continuously and from the places that matter, that the
//! network flows a Jamf Pro MDM deployment needs are open, and only those.
//!
//! # Layout
//!
//! - [`config`]: typed configuration, built-in catalogs, layered loading and
//!   validation that names every error with its file and key path; each
//!   check kind's settings and their validation in `config::check`.
//! - [`net`]: the vantage's network identity: DNS (hickory) and TCP connect
//!   (socket2) from its source address and interface; phase times from the
//!   kernel (`TCP_INFO`, receive timestamps) in `net::kernel_time`; the
//!   file-descriptor budget of the probes in `net::fds`.
//! - [`probe`]: one module per check kind behind one signature, and the
//!   shared wrapper that times phases, enforces the budget and judges.
//! - [`analyze`]: pure judgements over captured facts (chains, SSH, CRLs, OCSP).
//! - [`wire`]: hand-written, bounded protocol parsers (SSH transport start),
//!   fuzzed in `fuzz/`.
//! - [`outcome`]: the closed set of reasons and findings.
//! - [`schedule`]: per-flow timing on a shared start grid, spread,
//!   probe slots by severity with shedding (`schedule::slots`), reload,
//!   cancel.
//! - [`metrics`]: the Prometheus series, created once and updated per probe,
//!   encoded in chunks that `/metrics` streams.
//! - [`state`]: the last report of every flow, for the API and `check`.
//! - [`web`]: the HTTP server: `/metrics`, `/-/*`, `/api/v1/flows`, `/`.
//! - [`daemon`]: `flowprobe run`: wiring, signals, reload.
//! - [`cli`]: the command line, the `check` renderers, shell completions
//!   and man pages.
//! - [`version`]: version, git commit and build date (from `build.rs`).

pub mod analyze;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod metrics;
pub mod net;
pub mod outcome;
pub mod probe;
pub mod schedule;
pub mod state;
pub mod version;
pub mod web;
pub mod wire;

//! flowprobe: proves, continuously and from the places that matter, that the
//! network flows a Jamf Pro MDM deployment needs are open, and only those.
//!
//! # Layout
//!
//! Dependencies run one way, from the command line down (CONTRIBUTING.md
//! draws the picture): `cli` -> `daemon` -> `web` -> `schedule` ->
//! `state` -> `metrics` -> `probe` (and `audit`) -> `net` -> `config` ->
//! `analyze` -> `wire` -> `outcome` -> `text` (and `version`). A module
//! uses only those after it (`daemon` starts `web`; `web` never reaches
//! back). The check kinds ([`kinds`]) are the one vertical slice: each
//! kind's folder has its settings, probe, facts, rendering and series,
//! using the layers' interfaces (`config::validate`, `probe::Ctx`,
//! `metrics::KindRecorder`), and the layers reach kinds only through the
//! registry in `kinds/mod.rs`.
//!
//! - [`kinds`]: one folder per check kind (`tcp`, `tls`, `ssh`, `http`,
//!   `crl`, `ocsp`, `dns`) implementing `kinds::Kind`, and the `kinds!` registry
//!   that generates `KindId`, `KindSpec`, `KindFacts` and every dispatch.
//! - [`config`]: typed configuration, built-in catalogs, layered loading and
//!   validation that names every error with its file and key path (each
//!   kind validates its own table).
//! - [`net`]: the vantage's network identity: DNS (hickory) and TCP connect
//!   (socket2) from its source address and interface; phase times from the
//!   kernel (`TCP_INFO`, receive timestamps) in `net::kernel_time`; the
//!   file-descriptor budget of the probes in `net::fds`.
//! - [`probe`]: the shared wrapper that resolves, times phases, enforces
//!   the budget, calls the flow's kind and judges; `probe::plan` builds a
//!   run (vantage networks, prepared flows, trust stores, the descriptor
//!   budget) for the daemon and `check`.
//! - [`analyze`]: pure judgements over captured facts (chains, SSH, CRLs,
//!   OCSP, the bundles of `pki check` in `analyze::bundle`); the RFC 5280
//!   path validator with certificate policies (the RFC 9618 graph) and name
//!   constraints in `analyze::pkix`, which `analyze::chain` runs over the
//!   candidate paths it links from the sent certificates.
//! - [`wire`]: hand-written, bounded protocol parsers (SSH transport start,
//!   TLS ClientHello and the server's first answer), fuzzed in `fuzz/`.
//! - [`audit`]: before the upload: PKCS#12/PEM bundles and configuration
//!   profiles (plist, CMS) decoded from bytes for `pki check` and
//!   `profile check`.
//! - [`outcome`]: the closed set of reasons and findings (with typed
//!   subjects).
//! - [`text`]: renderings every layer shares: Unix/RFC 3339 times, text
//!   made safe for a terminal, the frame of an XML document (markup itself
//!   is escaped by `maud` templates, never by hand), and the `named_enum!`
//!   table of one spelling per variant.
//! - [`schedule`]: per-flow timing on a shared start grid, spread,
//!   probe slots by severity with shedding (`schedule::slots`), reload,
//!   cancel.
//! - [`metrics`]: the Prometheus series, created once and updated per probe,
//!   encoded in chunks that `/metrics` streams.
//! - [`state`]: the last report of every flow, for the API and `check`, and
//!   its recent outcomes (`state::history`, a bounded ring per flow).
//! - [`web`]: the HTTP server: `/metrics`, `/-/*`, `/api/v1/flows`, the
//!   status pages `/` and `/flow/{vantage}/{name}` (`web::page`, with the
//!   embedded CSS/JS of `web/assets/`), the encodings shared between
//!   concurrent readers (`web::snapshot`), and gzip for clients that accept
//!   it (`web::gzip`).
//! - [`daemon`]: `flowprobe run` on a given listener: wiring, reload on a
//!   hang-up, stop on a shutdown future (signals are `cli`'s).
//! - [`cli`]: the command line, the `check` renderers, shell completions
//!   and man pages.
//! - [`version`]: version, git commit and build date (from `build.rs`).

pub mod analyze;
pub mod audit;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod kinds;
pub mod metrics;
pub mod net;
pub mod outcome;
pub mod probe;
pub mod schedule;
pub mod state;
pub mod text;
pub(crate) mod version;
pub mod web;
pub mod wire;

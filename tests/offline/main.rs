//! Tests that need no network peer beyond loopback servers the test itself
//! runs in-process: configuration, the command line, chain judgement
//! against `openssl verify`, `/metrics` streaming. One binary, so the crate
//! is linked once for all of them.

mod check_cli;
mod cli_docs;
mod config;
mod docs_drift;
mod first_round_log;
mod fpki_real;
mod limbo;
mod metrics_stream;
mod pki_audit;
mod pkits;
mod pkix_hostile;
mod run_cli;
mod ssh_pace;
mod tls_chain;
mod tls_oracle;

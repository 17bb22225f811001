//! Probes: one module per check kind behind one signature, and one shared
//! wrapper ([`run`]) that does DNS, the timeout budget, phase timing, tracing
//! and the verdict.

pub mod board;
pub mod crl;
pub mod http;
pub mod ocsp;
pub mod once;
pub mod plan;
mod report;
mod run;
pub mod ssh;
pub mod tcp;
pub mod tls;

pub use report::{Attempt, Details, Phase, Phases, ProbeReport};
pub use run::{Prepared, VantageNet, run};

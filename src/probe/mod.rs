//! The shared probe machinery: one wrapper ([`run`]) that does DNS, the
//! timeout budget, phase timing, tracing and the verdict, and calls the
//! flow's check kind (`crate::kinds`) for one address; the plan of a run,
//! the trust stores it loads and the board where TLS flows leave chains.

pub(crate) mod board;
mod cause;
pub mod once;
pub mod plan;
mod report;
pub mod run;
pub(crate) mod stores;

pub use crate::kinds::KindFacts;
pub use cause::Cause;
pub use report::{Attempt, Phase, Phases, ProbeReport};
pub use run::{Ctx, Failure, Prepared, ProbeResult, Success, VantageNet, run};
pub use stores::{Stores, load_stores};

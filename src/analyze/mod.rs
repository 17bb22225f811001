//! Pure analysis: judgements over captured facts, no I/O.

pub mod chain;
pub mod trust;

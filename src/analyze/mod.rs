//! Pure analysis: judgements over captured facts, no I/O.

pub mod ssh_policy;

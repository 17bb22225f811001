//! flowprobe: proves that the network flows a Jamf Pro MDM deployment needs
//! are open, and only those.
//!
//! # Layout
//!
//! - [`outcome`]: the closed set of reasons and findings every probe ends in.
//! - [`probe`]: one module per check kind.
//! - [`analyze`]: pure judgements over captured facts.
pub mod analyze;
pub mod outcome;
pub mod probe;

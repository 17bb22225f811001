//! flowprobe: proves that the network flows a Jamf Pro MDM deployment needs
//! are open, and only those.
//!
//! # Layout
//!
//! - [`outcome`]: the closed set of reasons and findings every probe ends in.
//! - [`analyze`]: pure judgements over captured facts (certificate chains).
//! - [`probe`]: one module per check kind (TLS handshake).
pub mod analyze;
pub mod outcome;
pub mod probe;

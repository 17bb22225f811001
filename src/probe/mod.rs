//! Probes, one module per check kind.
//!
//! - [`ssh_wire`]: the SSH identification and KEXINIT exchange.
pub mod ssh_wire;

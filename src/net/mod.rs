//! Network primitives with the vantage's identity: DNS through its resolver,
//! TCP from its source address and interface.

pub mod dns;
mod dns_socket;
pub mod fds;
pub mod kernel_time;
pub mod remote;
pub mod tcp;

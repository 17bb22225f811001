//! Network primitives with the vantage's identity: DNS through its resolver,
//! TCP from its source address and interface; and the fleet check's
//! clients of other instances (`remote`) and of the central store (`prom`).

pub mod dns;
mod dns_socket;
pub mod fds;
pub mod kernel_time;
pub mod prom;
pub mod remote;
pub mod tcp;

//! Network primitives with the vantage's identity: DNS through its resolver,
//! TCP from its source address and interface; and the fleet check's
//! clients of other instances (`remote`) and of the central store (`prom`).

pub mod dns;
mod dns_socket;
pub(crate) mod fds;
pub(crate) mod kernel_time;
pub(crate) mod prom;
pub(crate) mod remote;
pub(crate) mod tcp;

//! One module per check kind behind one signature.

pub mod tls;

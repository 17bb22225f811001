pub mod pki;
pub mod servers;

//! Probes against real peers on loopback (OpenSSH, nginx, `openssl
//! s_server`, HTTP and CRL servers) and hostile fakes. One binary, so the
//! crate is linked once for all of them; each module's servers are its own.

mod crl;
mod dns_kind;
mod fpki_lab;
mod http;
mod ocsp;
mod scanners;
mod ssh_dropbear;
mod ssh_hostile;
mod ssh_penalty;
mod ssh_real;
mod tls_flow;
mod tls_oversized;
mod tls_probe;
mod tls_protocols;

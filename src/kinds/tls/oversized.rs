//! The second look after rustls refused a handshake message over its
//! 64 KiB limit ([`RUSTLS_HANDSHAKE_LIMIT`]): one more connection, a
//! hand-written TLS 1.2 ClientHello, and the server's Certificate message
//! read as a stream (`wire::tls::certificate`), so the probe still reports
//! the message's size, how many certificates arrived and the leaf.
//!
//! Bounds: one connection, within the probe's budget (the caller passes
//! when to stop); the scan's limits bound the memory and the bytes read
//! whatever the server claims. Its time is not a phase of the probe (the
//! `tls` phase stays the handshake's). No key exchange happens. Under TLS
//! 1.3 the Certificate is encrypted: a server that refuses TLS 1.2 leaves
//! the size unknown, and the facts say so.

use std::net::SocketAddr;

use rustls::pki_types::CertificateDer;
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use super::error::RUSTLS_HANDSHAKE_LIMIT;
use crate::analyze::chain::CertFacts;
use crate::config::Vantage;
use crate::text::{rfc3339, thousands};
use crate::wire::tls::suites::{self, Kex};
use crate::wire::tls::{
    CertificateError, CertificateLimits, CertificateScan, HelloSpec, Version, encode_client_hello,
    read_certificate,
};

/// What the second look learnt about the server's certificate message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OversizedFacts {
    /// rustls's limit on one handshake message, in bytes.
    pub limit: usize,
    /// The Certificate message's length as its header claims (body bytes);
    /// `null` when the second look never saw that header.
    pub message_bytes: Option<usize>,
    /// Bytes of that message that arrived.
    pub received_bytes: usize,
    /// Certificates whose bytes all arrived.
    pub certificates: usize,
    /// The whole message arrived.
    pub complete: bool,
    /// The leaf's length, once its length field arrived.
    pub leaf_bytes: Option<usize>,
    /// Certificates kept and judged as the chain (leaf first, a prefix of
    /// the list within the scan's limits).
    pub kept: usize,
    /// The version and suite the server chose for the second look.
    pub version: Option<String>,
    pub cipher_suite: Option<String>,
    /// The server refused a TLS 1.2 hello (an alert, a close, or TLS 1.3
    /// chosen): the certificate message is encrypted under TLS 1.3, so its
    /// size is unknown to us.
    pub tls12_refused: bool,
    /// Why the look ended before the whole message arrived; `null` when it
    /// did not.
    pub stopped: Option<String>,
}

/// The facts and the certificates kept, as DER.
#[derive(Debug)]
pub(crate) struct SecondLook {
    pub facts: OversizedFacts,
    pub certificates: Vec<CertificateDer<'static>>,
}

/// The suites a TLS 1.2 server can answer with a certificate: every
/// authenticated one of the first-hello list (a server only picks one;
/// offering more only makes an answer likelier, up to the 127 some
/// servers accept).
fn suites_with_certificates() -> Vec<u16> {
    suites::LEGACY
        .iter()
        .filter(|s| s.kex != Kex::Anon)
        .map(|s| s.code)
        .collect()
}

/// Connects to `addr`, says hello as TLS 1.2 with SNI `server_name` and
/// reads the Certificate message until it is complete, something ends it
/// or `until` passes.
pub(crate) async fn second_look(
    addr: SocketAddr,
    vantage: &Vantage,
    server_name: &str,
    until: Instant,
) -> SecondLook {
    let mut random = [0u8; 32];
    // Only has to look random; a failing RNG leaves zeros, still a hello.
    let _ = rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut random);
    let offered = suites_with_certificates();
    let hello = encode_client_hello(&HelloSpec {
        version: Version::Tls12,
        suites: &offered,
        server_name: Some(server_name),
        random,
        encrypt_then_mac: false,
    });
    let mut scan = CertificateScan::new(CertificateLimits::default());
    let look = async {
        let mut tcp = crate::net::tcp::connect(addr, vantage)
            .await
            .map_err(|e| format!("no second connection: {e}"))?;
        let _ = tcp.set_nodelay(true);
        tcp.write_all(&hello)
            .await
            .map_err(|e| format!("closed before the hello was sent: {e}"))?;
        read_certificate(&mut tcp, &mut scan)
            .await
            .map_err(|e| e.to_string())
    };
    let stopped = match tokio::time::timeout_at(until, look).await {
        Ok(Ok(())) => None,
        Ok(Err(why)) => Some(why),
        Err(_) => Some("the probe's budget ran out".to_owned()),
    };
    let tls12_refused = refused(scan.error(), scan.facts().read);
    let f = scan.into_facts();
    let facts = OversizedFacts {
        limit: RUSTLS_HANDSHAKE_LIMIT,
        message_bytes: f.message_length,
        received_bytes: f.received,
        certificates: f.complete,
        complete: f.done,
        leaf_bytes: f.leaf_length,
        kept: f.kept.len(),
        version: f
            .server_hello
            .as_ref()
            .and_then(|h| Version::from_wire(h.version()))
            .map(|v| v.label().to_owned()),
        cipher_suite: f
            .server_hello
            .as_ref()
            .map(|h| suites::name(h.cipher_suite)),
        tls12_refused,
        stopped,
    };
    SecondLook {
        facts,
        certificates: f.kept.into_iter().map(CertificateDer::from).collect(),
    }
}

/// Whether the scan's end is a server turning TLS 1.2 down.
fn refused(error: Option<&CertificateError>, read: usize) -> bool {
    match error {
        Some(CertificateError::Tls13) => true,
        // Before the ServerHello completed: an alert, or a silent close.
        Some(CertificateError::Alert { .. }) => true,
        Some(CertificateError::Closed { .. }) => read == 0,
        _ => false,
    }
}

/// The sentence for the probe's detail: what was too large, what arrived,
/// and the leaf's name and expiry when the leaf was kept.
pub(crate) fn describe(facts: &OversizedFacts, leaf: Option<&CertFacts>) -> String {
    let limit = thousands(facts.limit as u64);
    let mut out = match facts.message_bytes {
        Some(message) if message > facts.limit => format!(
            "certificate message of {} bytes exceeds rustls's {limit}-byte handshake limit; {}",
            thousands(message as u64),
            received(facts)
        ),
        Some(message) => format!(
            "a handshake message exceeds rustls's {limit}-byte limit, but not the certificate \
             message ({} bytes); {}",
            thousands(message as u64),
            received(facts)
        ),
        None if facts.tls12_refused => format!(
            "a handshake message exceeds rustls's {limit}-byte limit; its size is unknown: the \
             server refused a TLS 1.2 hello ({}), and under TLS 1.3 the certificate message is \
             encrypted",
            facts.stopped.as_deref().unwrap_or("no answer")
        ),
        None => format!(
            "a handshake message exceeds rustls's {limit}-byte limit; a second look over TLS 1.2 \
             found no certificate message ({})",
            facts.stopped.as_deref().unwrap_or("no answer")
        ),
    };
    match (leaf, facts.leaf_bytes) {
        (Some(leaf), _) if leaf.error.is_none() => {
            out.push_str(&format!("; leaf {}", leaf.subject));
            if let Some(t) = leaf.not_after {
                out.push_str(&format!(", not after {}", rfc3339(t)));
            }
        }
        (Some(leaf), _) => out.push_str(&format!(
            "; leaf does not parse: {}",
            leaf.error.as_deref().unwrap_or_default()
        )),
        (None, Some(bytes)) if facts.message_bytes.is_some() => out.push_str(&format!(
            "; leaf of {} bytes, not kept (over {} bytes, or incomplete)",
            thousands(bytes as u64),
            thousands(CertificateLimits::default().max_leaf as u64)
        )),
        (None, _) => {}
    }
    out
}

/// `300 certificates received`, and how the read ended when it did not
/// reach the message's end.
fn received(facts: &OversizedFacts) -> String {
    let count = match facts.certificates {
        1 => "1 certificate received".to_owned(),
        n => format!("{n} certificates received"),
    };
    match (&facts.stopped, facts.complete) {
        (_, true) => count,
        (Some(why), false) => format!(
            "{count} in the first {} bytes before {why}",
            thousands(facts.received_bytes as u64)
        ),
        (None, false) => count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> OversizedFacts {
        OversizedFacts {
            limit: RUSTLS_HANDSHAKE_LIMIT,
            message_bytes: Some(2_097_412),
            received_bytes: 2_097_412,
            certificates: 300,
            complete: true,
            leaf_bytes: Some(800),
            kept: 33,
            version: Some("TLSv1.2".into()),
            cipher_suite: None,
            tls12_refused: false,
            stopped: None,
        }
    }

    #[test]
    fn the_detail_names_size_count_and_leaf() {
        let leaf = CertFacts {
            subject: "CN=mdm.lab.test, O=Lab".into(),
            not_after: Some(1_900_000_000),
            ..CertFacts::default()
        };
        assert_eq!(
            describe(&facts(), Some(&leaf)),
            "certificate message of 2,097,412 bytes exceeds rustls's 65,535-byte handshake \
             limit; 300 certificates received; leaf CN=mdm.lab.test, O=Lab, not after \
             2030-03-17T17:46:40Z"
        );
    }

    #[test]
    fn a_cut_read_says_where_it_stopped_and_a_big_leaf_its_size() {
        let f = OversizedFacts {
            message_bytes: Some(16_777_215),
            received_bytes: 1_000_003,
            certificates: 0,
            complete: false,
            leaf_bytes: Some(16_777_209),
            kept: 0,
            stopped: Some("the probe's budget ran out".into()),
            ..facts()
        };
        assert_eq!(
            describe(&f, None),
            "certificate message of 16,777,215 bytes exceeds rustls's 65,535-byte handshake \
             limit; 0 certificates received in the first 1,000,003 bytes before the probe's \
             budget ran out; leaf of 16,777,209 bytes, not kept (over 1,048,576 bytes, or \
             incomplete)"
        );
    }

    #[test]
    fn a_tls13_only_server_leaves_the_size_unknown() {
        let f = OversizedFacts {
            message_bytes: None,
            received_bytes: 0,
            certificates: 0,
            leaf_bytes: None,
            kept: 0,
            tls12_refused: true,
            complete: false,
            stopped: Some("server sent alert ProtocolVersion (70)".into()),
            ..facts()
        };
        let d = describe(&f, None);
        assert!(d.contains("its size is unknown"), "{d}");
        assert!(d.contains("under TLS 1.3"), "{d}");
        assert!(d.contains("alert ProtocolVersion (70)"), "{d}");
    }

    #[test]
    fn refusals_are_alerts_tls13_and_silent_closes() {
        assert!(refused(Some(&CertificateError::Tls13), 90));
        assert!(refused(Some(&CertificateError::Closed { read: 0 }), 0));
        assert!(!refused(Some(&CertificateError::Closed { read: 10 }), 10));
        assert!(!refused(None, 10));
        assert!(!refused(Some(&CertificateError::EmptyRecord), 5));
    }
}

//! The ClientHello record (RFC 5246 7.4.1.2, RFC 8446 4.1.2).
//!
//! A hello for TLS 1.2 and below offers its version in `client_version`
//! and no `supported_versions`, so a server that also speaks TLS 1.3 still
//! answers with the legacy version if it accepts it; a TLS 1.3 hello offers
//! only 1.3 in `supported_versions`. Key shares are fixed public values
//! (the X25519 base point and the P-256 generator): the server's answer is
//! all we read, no secret is ever derived.
//!
//! An SSL 3.0 hello is the RFC 6101 5.6.1.2 message: record and
//! `client_version` 3.0 and no extensions at all (SSL 3.0 has none, and
//! old stacks may refuse what they cannot parse); only the renegotiation
//! SCSV (RFC 5746 3.3 allows it in SSL 3.0) is added to the suites.
//!
//! Every other hello is padded (RFC 7685) so that its handshake message is
//! never 256 to 511 bytes long, which hangs old F5 firmware, nor 10 or 14
//! past a multiple of 256 above that (another intolerance testssl.sh
//! found, its PR 1113).

use super::Version;
use super::suites::{MAX_OFFER, RENEGOTIATION_SCSV};

/// What one hello offers.
#[derive(Debug, Clone)]
pub struct HelloSpec<'a> {
    pub version: Version,
    /// Cipher suite codes, in preference order.
    pub suites: &'a [u16],
    /// SNI; left out when `None` or not a DNS name (an IP address).
    pub server_name: Option<&'a str>,
    pub random: [u8; 32],
    /// Offer Encrypt-then-MAC (RFC 7366; not in TLS 1.3 hellos).
    pub encrypt_then_mac: bool,
}

const GROUP_X25519: u16 = 0x001d;
const GROUP_P256: u16 = 0x0017;
/// x25519, secp256r1, secp384r1, secp521r1, ffdhe2048, ffdhe3072.
const GROUPS: [u16; 6] = [GROUP_X25519, GROUP_P256, 0x0018, 0x0019, 0x0100, 0x0101];
/// ECDSA, RSA-PSS and PKCS#1 with SHA-2, Ed25519, then SHA-1 last: a TLS
/// 1.2 server with only a SHA-1 configuration still answers.
const SIGNATURE_SCHEMES: [u16; 13] = [
    0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0807, 0x0201, 0x0203,
    0x0202,
];
/// The X25519 base point (u = 9).
const X25519_SHARE: [u8; 32] = {
    let mut p = [0u8; 32];
    p[0] = 9;
    p
};
/// The P-256 generator, uncompressed (SEC 1 2.3.3).
const P256_SHARE: [u8; 65] = [
    0x04, 0x6B, 0x17, 0xD1, 0xF2, 0xE1, 0x2C, 0x42, 0x47, 0xF8, 0xBC, 0xE6, 0xE5, 0x63, 0xA4, 0x40,
    0xF2, 0x77, 0x03, 0x7D, 0x81, 0x2D, 0xEB, 0x33, 0xA0, 0xF4, 0xA1, 0x39, 0x45, 0xD8, 0x98, 0xC2,
    0x96, 0x4F, 0xE3, 0x42, 0xE2, 0xFE, 0x1A, 0x7F, 0x9B, 0x8E, 0xE7, 0xEB, 0x4A, 0x7C, 0x0F, 0x9E,
    0x16, 0x2B, 0xCE, 0x33, 0x57, 0x6B, 0x31, 0x5E, 0xCE, 0xCB, 0xB6, 0x40, 0x68, 0x37, 0xBF, 0x51,
    0xF5,
];

fn u16be(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends `body` with a 2-byte length prefix.
fn vec16(out: &mut Vec<u8>, body: &[u8]) {
    u16be(out, body.len() as u16);
    out.extend_from_slice(body);
}

fn extension(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    u16be(out, kind);
    vec16(out, body);
}

/// A host name SNI may carry (RFC 6066 3: no IP literals, ASCII).
fn sni_name(name: &str) -> Option<&str> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.parse::<std::net::IpAddr>().is_err()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    ok.then_some(name.trim_end_matches('.'))
}

fn extensions(spec: &HelloSpec<'_>) -> Vec<u8> {
    let mut ext = Vec::with_capacity(256);
    if let Some(name) = spec.server_name.and_then(sni_name) {
        let mut list = vec![0u8];
        vec16(&mut list, name.as_bytes());
        let mut body = Vec::new();
        vec16(&mut body, &list);
        extension(&mut ext, 0x0000, &body);
    }
    let mut groups = Vec::new();
    for g in GROUPS {
        u16be(&mut groups, g);
    }
    let mut body = Vec::new();
    vec16(&mut body, &groups);
    extension(&mut ext, 0x000a, &body);
    // ec_point_formats: uncompressed only.
    extension(&mut ext, 0x000b, &[1, 0]);
    let mut schemes = Vec::new();
    for s in SIGNATURE_SCHEMES {
        u16be(&mut schemes, s);
    }
    let mut body = Vec::new();
    vec16(&mut body, &schemes);
    extension(&mut ext, 0x000d, &body);
    // extended_master_secret (RFC 7627): empty.
    extension(&mut ext, 0x0017, &[]);
    if spec.encrypt_then_mac && spec.version != Version::Tls13 {
        // encrypt_then_mac (RFC 7366): empty.
        extension(&mut ext, 0x0016, &[]);
    }
    if spec.version == Version::Tls13 {
        // supported_versions: 1.3 only.
        extension(&mut ext, 0x002b, &[2, 0x03, 0x04]);
        let mut shares = Vec::new();
        u16be(&mut shares, GROUP_X25519);
        vec16(&mut shares, &X25519_SHARE);
        u16be(&mut shares, GROUP_P256);
        vec16(&mut shares, &P256_SHARE);
        let mut body = Vec::new();
        vec16(&mut body, &shares);
        extension(&mut ext, 0x0033, &body);
    }
    ext
}

const EXT_PADDING: u16 = 0x0015;

/// The padding extension's body length that moves a handshake message of
/// `len` bytes (without padding) out of the lengths some servers choke
/// on; `None` when it needs none.
fn padding_for(len: usize) -> Option<usize> {
    if (256..512).contains(&len) {
        // The extension's own 4-byte header counts too.
        Some(512usize.saturating_sub(len + 4))
    } else if len >= 512 && matches!(len % 256, 10 | 14) {
        Some(1)
    } else {
        None
    }
}

/// The ClientHello as one handshake record, ready to write.
pub fn encode_client_hello(spec: &HelloSpec<'_>) -> Vec<u8> {
    let legacy = spec.version.min(Version::Tls12);
    let mut body = Vec::with_capacity(512);
    u16be(&mut body, legacy.wire());
    body.extend_from_slice(&spec.random);
    if spec.version == Version::Tls13 {
        // Middlebox compatibility mode (RFC 8446 D.4): a 32-byte session id.
        body.push(32);
        body.extend(spec.random.iter().rev());
    } else {
        body.push(0);
    }
    let mut suites = Vec::with_capacity(2 * spec.suites.len() + 2);
    // Some servers refuse 128 suites or more; the plan never offers more.
    for &c in spec.suites.iter().take(MAX_OFFER) {
        u16be(&mut suites, c);
    }
    if spec.version != Version::Tls13 {
        u16be(&mut suites, RENEGOTIATION_SCSV);
    }
    vec16(&mut body, &suites);
    // compression_methods: null only.
    body.extend_from_slice(&[1, 0]);
    if spec.version != Version::Ssl3 {
        let mut ext = extensions(spec);
        // Handshake header, body so far, extensions length and block.
        if let Some(pad) = padding_for(4 + body.len() + 2 + ext.len()) {
            extension(&mut ext, EXT_PADDING, &vec![0u8; pad]);
        }
        vec16(&mut body, &ext);
    }

    let mut handshake = Vec::with_capacity(body.len() + 4);
    handshake.push(1); // client_hello
    let len = body.len() as u32;
    handshake.extend_from_slice(&len.to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);

    let mut record = Vec::with_capacity(handshake.len() + 5);
    record.push(22); // handshake
    // The record version of a first hello is 3.1 by custom (RFC 8446
    // 5.1), 3.0 for an SSL 3.0 hello so such servers do not balk.
    let record_version = if spec.version == Version::Ssl3 {
        Version::Ssl3
    } else {
        Version::Tls10
    };
    u16be(&mut record, record_version.wire());
    vec16(&mut record, &handshake);
    record
}

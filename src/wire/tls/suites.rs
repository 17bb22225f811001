//! The cipher suites the enumeration offers, with the IANA facts a policy
//! judges (key exchange, bulk cipher, MAC). Names are the IANA names
//! (RFC 8446 B.4, the TLS Cipher Suites registry).
//!
//! The list is what matters on MDM-facing servers and in STIG scans, not
//! every registered suite: a server can only choose a suite we offered, so
//! an unlisted suite never needs a name.

/// Key exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kex {
    /// TLS 1.3: the suite does not name one (always (EC)DHE).
    Tls13,
    Ecdhe,
    Dhe,
    /// Static RSA key transport: no forward secrecy.
    Rsa,
    /// Anonymous (EC)DH: no server authentication.
    Anon,
}

/// Bulk cipher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    Null,
    Rc4,
    Rc2,
    Des,
    TripleDes,
    AesCbc,
    CamelliaCbc,
    AesGcm,
    AesCcm,
    AesCcm8,
    Chacha20Poly1305,
}

impl Cipher {
    /// CBC mode (MAC-then-encrypt in TLS 1.2 and below).
    pub fn is_cbc(self) -> bool {
        matches!(
            self,
            Cipher::Des | Cipher::TripleDes | Cipher::AesCbc | Cipher::CamelliaCbc | Cipher::Rc2
        )
    }

    pub fn is_aead(self) -> bool {
        matches!(
            self,
            Cipher::AesGcm | Cipher::AesCcm | Cipher::AesCcm8 | Cipher::Chacha20Poly1305
        )
    }
}

/// Record MAC (`Aead` when the cipher authenticates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mac {
    Aead,
    Md5,
    Sha1,
    Sha256,
    Sha384,
}

/// One cipher suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite {
    pub code: u16,
    pub name: &'static str,
    pub kex: Kex,
    pub cipher: Cipher,
    pub mac: Mac,
    /// An export-grade (40/56-bit) suite.
    pub export: bool,
}

const fn s(code: u16, name: &'static str, kex: Kex, cipher: Cipher, mac: Mac) -> Suite {
    Suite {
        code,
        name,
        kex,
        cipher,
        mac,
        export: false,
    }
}

const fn x(code: u16, name: &'static str, kex: Kex, cipher: Cipher, mac: Mac) -> Suite {
    Suite {
        code,
        name,
        kex,
        cipher,
        mac,
        export: true,
    }
}

use Cipher::*;
use Kex::*;
use Mac::*;

/// TLS 1.3 suites (RFC 8446 B.4).
pub const TLS13: [Suite; 5] = [
    s(0x1302, "TLS_AES_256_GCM_SHA384", Tls13, AesGcm, Aead),
    s(0x1301, "TLS_AES_128_GCM_SHA256", Tls13, AesGcm, Aead),
    s(
        0x1303,
        "TLS_CHACHA20_POLY1305_SHA256",
        Tls13,
        Chacha20Poly1305,
        Aead,
    ),
    s(0x1304, "TLS_AES_128_CCM_SHA256", Tls13, AesCcm, Aead),
    s(0x1305, "TLS_AES_128_CCM_8_SHA256", Tls13, AesCcm8, Aead),
];

/// Suites of TLS 1.2 and below, strongest first: a server that follows the
/// client's order picks the best it has, so the version hello names what
/// a modern client would get.
pub const LEGACY: [Suite; 62] = [
    s(
        0xC02C,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        Ecdhe,
        AesGcm,
        Aead,
    ),
    s(
        0xC030,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        Ecdhe,
        AesGcm,
        Aead,
    ),
    s(
        0xC02B,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        Ecdhe,
        AesGcm,
        Aead,
    ),
    s(
        0xC02F,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        Ecdhe,
        AesGcm,
        Aead,
    ),
    s(
        0xC0AD,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CCM",
        Ecdhe,
        AesCcm,
        Aead,
    ),
    s(
        0xC0AC,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
        Ecdhe,
        AesCcm,
        Aead,
    ),
    s(
        0xCCA9,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        Ecdhe,
        Chacha20Poly1305,
        Aead,
    ),
    s(
        0xCCA8,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        Ecdhe,
        Chacha20Poly1305,
        Aead,
    ),
    s(
        0x009F,
        "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        Dhe,
        AesGcm,
        Aead,
    ),
    s(
        0x009E,
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        Dhe,
        AesGcm,
        Aead,
    ),
    s(
        0xCCAA,
        "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        Dhe,
        Chacha20Poly1305,
        Aead,
    ),
    s(
        0xC024,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        Ecdhe,
        AesCbc,
        Sha384,
    ),
    s(
        0xC028,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        Ecdhe,
        AesCbc,
        Sha384,
    ),
    s(
        0xC023,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        Ecdhe,
        AesCbc,
        Sha256,
    ),
    s(
        0xC027,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        Ecdhe,
        AesCbc,
        Sha256,
    ),
    s(
        0x006B,
        "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
        Dhe,
        AesCbc,
        Sha256,
    ),
    s(
        0x0067,
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
        Dhe,
        AesCbc,
        Sha256,
    ),
    s(
        0xC00A,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        Ecdhe,
        AesCbc,
        Sha1,
    ),
    s(
        0xC014,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        Ecdhe,
        AesCbc,
        Sha1,
    ),
    s(
        0xC009,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        Ecdhe,
        AesCbc,
        Sha1,
    ),
    s(
        0xC013,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        Ecdhe,
        AesCbc,
        Sha1,
    ),
    s(
        0x0039,
        "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
        Dhe,
        AesCbc,
        Sha1,
    ),
    s(
        0x0033,
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
        Dhe,
        AesCbc,
        Sha1,
    ),
    s(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", Rsa, AesGcm, Aead),
    s(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", Rsa, AesGcm, Aead),
    s(
        0x003D,
        "TLS_RSA_WITH_AES_256_CBC_SHA256",
        Rsa,
        AesCbc,
        Sha256,
    ),
    s(
        0x003C,
        "TLS_RSA_WITH_AES_128_CBC_SHA256",
        Rsa,
        AesCbc,
        Sha256,
    ),
    s(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", Rsa, AesCbc, Sha1),
    s(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", Rsa, AesCbc, Sha1),
    s(
        0x0084,
        "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA",
        Rsa,
        CamelliaCbc,
        Sha1,
    ),
    s(
        0x0041,
        "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA",
        Rsa,
        CamelliaCbc,
        Sha1,
    ),
    s(
        0xC012,
        "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
        Ecdhe,
        TripleDes,
        Sha1,
    ),
    s(
        0xC008,
        "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA",
        Ecdhe,
        TripleDes,
        Sha1,
    ),
    s(
        0x0016,
        "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
        Dhe,
        TripleDes,
        Sha1,
    ),
    s(
        0x000A,
        "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        Rsa,
        TripleDes,
        Sha1,
    ),
    s(0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", Ecdhe, Rc4, Sha1),
    s(0xC007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", Ecdhe, Rc4, Sha1),
    s(0x0005, "TLS_RSA_WITH_RC4_128_SHA", Rsa, Rc4, Sha1),
    s(0x0004, "TLS_RSA_WITH_RC4_128_MD5", Rsa, Rc4, Md5),
    s(0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA", Dhe, Des, Sha1),
    s(0x0009, "TLS_RSA_WITH_DES_CBC_SHA", Rsa, Des, Sha1),
    x(
        0x0014,
        "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA",
        Dhe,
        Des,
        Sha1,
    ),
    x(0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", Rsa, Des, Sha1),
    x(0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5", Rsa, Rc2, Md5),
    x(0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5", Rsa, Rc4, Md5),
    s(
        0x00A7,
        "TLS_DH_anon_WITH_AES_256_GCM_SHA384",
        Anon,
        AesGcm,
        Aead,
    ),
    s(
        0x00A6,
        "TLS_DH_anon_WITH_AES_128_GCM_SHA256",
        Anon,
        AesGcm,
        Aead,
    ),
    s(
        0x006D,
        "TLS_DH_anon_WITH_AES_256_CBC_SHA256",
        Anon,
        AesCbc,
        Sha256,
    ),
    s(
        0x006C,
        "TLS_DH_anon_WITH_AES_128_CBC_SHA256",
        Anon,
        AesCbc,
        Sha256,
    ),
    s(
        0xC019,
        "TLS_ECDH_anon_WITH_AES_256_CBC_SHA",
        Anon,
        AesCbc,
        Sha1,
    ),
    s(
        0xC018,
        "TLS_ECDH_anon_WITH_AES_128_CBC_SHA",
        Anon,
        AesCbc,
        Sha1,
    ),
    s(
        0x003A,
        "TLS_DH_anon_WITH_AES_256_CBC_SHA",
        Anon,
        AesCbc,
        Sha1,
    ),
    s(
        0x0034,
        "TLS_DH_anon_WITH_AES_128_CBC_SHA",
        Anon,
        AesCbc,
        Sha1,
    ),
    s(
        0x001B,
        "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA",
        Anon,
        TripleDes,
        Sha1,
    ),
    s(0x0018, "TLS_DH_anon_WITH_RC4_128_MD5", Anon, Rc4, Md5),
    s(0xC015, "TLS_ECDH_anon_WITH_NULL_SHA", Anon, Null, Sha1),
    s(0xC010, "TLS_ECDHE_RSA_WITH_NULL_SHA", Ecdhe, Null, Sha1),
    s(0xC006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA", Ecdhe, Null, Sha1),
    s(0x003B, "TLS_RSA_WITH_NULL_SHA256", Rsa, Null, Sha256),
    s(0x0002, "TLS_RSA_WITH_NULL_SHA", Rsa, Null, Sha1),
    s(0x0001, "TLS_RSA_WITH_NULL_MD5", Rsa, Null, Md5),
    x(0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5", Anon, Rc4, Md5),
];

/// `TLS_EMPTY_RENEGOTIATION_INFO_SCSV` (RFC 5746): appended to legacy
/// hellos so servers that insist on secure renegotiation still answer.
pub const RENEGOTIATION_SCSV: u16 = 0x00FF;

/// A known suite by its code.
pub fn by_code(code: u16) -> Option<&'static Suite> {
    TLS13.iter().chain(LEGACY.iter()).find(|s| s.code == code)
}

/// The IANA name, or `0xC0FF` for a code we do not list.
pub fn name(code: u16) -> String {
    by_code(code).map_or_else(|| format!("0x{code:04X}"), |s| s.name.to_owned())
}

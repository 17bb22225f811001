//! The cipher suites the enumeration offers, with the IANA facts a policy
//! judges (key exchange, bulk cipher, MAC). Names are the IANA names
//! (RFC 8446 B.4, the TLS Cipher Suites registry); the facts are read from
//! the name, which spells them (`TLS_<kex>_WITH_<cipher>_<mac>`).
//!
//! Offered: every registered suite of TLS 1.2 and below that needs no
//! credential a prober cannot have, 225 of them: RSA, DHE (RSA and DSS),
//! ECDHE, static DH and ECDH, anonymous, EXPORT and EXPORT1024, NULL, RC4,
//! RC2, DES, 3DES, IDEA, SEED, AES (CBC, GCM, CCM, CCM_8), Camellia, ARIA
//! and ChaCha20-Poly1305; and the five TLS 1.3 suites. Not offered: PSK,
//! SRP and Kerberos suites (they need a shared secret or a ticket), GOST,
//! the unregistered FORTEZZA and `SSL_RSA_FIPS_*` codes, and
//! `TLS_NULL_WITH_NULL_NULL`. A server can only choose a suite we offered,
//! so an unlisted suite never needs a name.
//!
//! No hello offers more than [`MAX_OFFER`] suites: some servers and load
//! balancers refuse a ClientHello with 128 or more (testssl.sh issue 806).
//! Up to TLS 1.1 every usable suite fits in one hello; for TLS 1.2 the
//! list is split: [`LEGACY`] (119 suites, the most deployed: AES,
//! ChaCha20, 3DES, RC4, DES, EXPORT, NULL, anonymous, static ECDH,
//! Camellia-CBC, SEED, IDEA) goes into its hello, [`RARE`] (106: ARIA,
//! Camellia-GCM, static finite-field DH, ...) into a second hello asked
//! only when the first was refused in a way a suite could cause.

use std::sync::LazyLock;

use super::Version;

/// Most suites in one hello (the renegotiation SCSV makes 128).
pub(crate) const MAX_OFFER: usize = 127;

/// Key exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kex {
    /// TLS 1.3: the suite does not name one (always (EC)DHE).
    Tls13,
    Ecdhe,
    Dhe,
    /// Static RSA key transport: no forward secrecy.
    Rsa,
    /// Static DH or ECDH (the key in the certificate): no forward secrecy.
    Dh,
    /// Anonymous (EC)DH: no server authentication.
    Anon,
}

/// Bulk cipher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    Null,
    Rc4,
    Rc2,
    /// Single DES, the 40-bit export variant included.
    Des,
    TripleDes,
    Idea,
    Seed,
    AesCbc,
    CamelliaCbc,
    AriaCbc,
    AesGcm,
    AesCcm,
    AesCcm8,
    CamelliaGcm,
    AriaGcm,
    Chacha20Poly1305,
}

impl Cipher {
    /// CBC mode (MAC-then-encrypt in TLS 1.2 and below).
    pub(crate) fn is_cbc(self) -> bool {
        matches!(
            self,
            Cipher::Des
                | Cipher::TripleDes
                | Cipher::Rc2
                | Cipher::Idea
                | Cipher::Seed
                | Cipher::AesCbc
                | Cipher::CamelliaCbc
                | Cipher::AriaCbc
        )
    }

    pub(crate) fn is_aead(self) -> bool {
        matches!(
            self,
            Cipher::AesGcm
                | Cipher::AesCcm
                | Cipher::AesCcm8
                | Cipher::CamelliaGcm
                | Cipher::AriaGcm
                | Cipher::Chacha20Poly1305
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
    /// An export-grade suite (40/56-bit keys, EXPORT and EXPORT1024).
    pub export: bool,
}

impl Suite {
    /// Elliptic-curve key exchange (ECDHE, ECDH, ECDH_anon): defined for
    /// TLS 1.0 and later (RFC 4492), never negotiated in SSL 3.0.
    pub(crate) fn elliptic(&self) -> bool {
        self.name.starts_with("TLS_ECDH")
    }

    /// The oldest version that can negotiate it: AEAD ciphers and SHA-2
    /// MACs need TLS 1.2 (RFC 5246), elliptic curves TLS 1.0.
    pub(crate) fn min_version(&self) -> Version {
        if self.kex == Kex::Tls13 {
            Version::Tls13
        } else if self.cipher.is_aead() || matches!(self.mac, Mac::Sha256 | Mac::Sha384) {
            Version::Tls12
        } else if self.elliptic() {
            Version::Tls10
        } else {
            Version::Ssl3
        }
    }

    /// Whether a hello offering `version` should offer it.
    pub(crate) fn usable_in(&self, version: Version) -> bool {
        if version == Version::Tls13 {
            self.kex == Kex::Tls13
        } else {
            self.kex != Kex::Tls13 && self.min_version() <= version
        }
    }
}

/// Cipher names as they start the part after `_WITH_`, longer first where
/// one is the start of another (`AES_128_CCM_8` before `AES_128_CCM`).
const CIPHERS: [(&str, Cipher); 28] = [
    ("NULL", Cipher::Null),
    ("RC4_128", Cipher::Rc4),
    ("RC4_56", Cipher::Rc4),
    ("RC4_40", Cipher::Rc4),
    ("RC2_CBC_56", Cipher::Rc2),
    ("RC2_CBC_40", Cipher::Rc2),
    ("DES40_CBC", Cipher::Des),
    ("DES_CBC", Cipher::Des),
    ("3DES_EDE_CBC", Cipher::TripleDes),
    ("IDEA_CBC", Cipher::Idea),
    ("SEED_CBC", Cipher::Seed),
    ("AES_128_CBC", Cipher::AesCbc),
    ("AES_256_CBC", Cipher::AesCbc),
    ("AES_128_GCM", Cipher::AesGcm),
    ("AES_256_GCM", Cipher::AesGcm),
    ("AES_128_CCM_8", Cipher::AesCcm8),
    ("AES_256_CCM_8", Cipher::AesCcm8),
    ("AES_128_CCM", Cipher::AesCcm),
    ("AES_256_CCM", Cipher::AesCcm),
    ("CAMELLIA_128_CBC", Cipher::CamelliaCbc),
    ("CAMELLIA_256_CBC", Cipher::CamelliaCbc),
    ("CAMELLIA_128_GCM", Cipher::CamelliaGcm),
    ("CAMELLIA_256_GCM", Cipher::CamelliaGcm),
    ("ARIA_128_CBC", Cipher::AriaCbc),
    ("ARIA_256_CBC", Cipher::AriaCbc),
    ("ARIA_128_GCM", Cipher::AriaGcm),
    ("ARIA_256_GCM", Cipher::AriaGcm),
    ("CHACHA20_POLY1305", Cipher::Chacha20Poly1305),
];

/// The facts of a TLS 1.2-and-below suite from its IANA name; `None` for a
/// name of a shape not in the tables (a test holds every entry to it).
/// TLS 1.3 names have no `_WITH_`: [`TLS13`] spells its facts out.
fn classify(code: u16, name: &'static str) -> Option<Suite> {
    let (kx, rest) = name.strip_prefix("TLS_")?.split_once("_WITH_")?;
    let kex = if kx.contains("anon") {
        Kex::Anon
    } else if kx.starts_with("ECDHE_") {
        Kex::Ecdhe
    } else if kx.starts_with("DHE_") {
        Kex::Dhe
    } else if kx.starts_with("ECDH_") || kx.starts_with("DH_") {
        Kex::Dh
    } else if kx == "RSA" || kx.starts_with("RSA_EXPORT") {
        Kex::Rsa
    } else {
        return None;
    };
    let (cipher, tail) = CIPHERS.iter().find_map(|(prefix, c)| {
        let tail = rest.strip_prefix(prefix)?;
        (tail.is_empty() || tail.starts_with('_')).then_some((*c, tail.trim_start_matches('_')))
    })?;
    let mac = if cipher.is_aead() {
        // The tail names the PRF hash (or nothing, for CCM).
        Mac::Aead
    } else {
        match tail {
            "MD5" => Mac::Md5,
            "SHA" => Mac::Sha1,
            "SHA256" => Mac::Sha256,
            "SHA384" => Mac::Sha384,
            _ => return None,
        }
    };
    Some(Suite {
        code,
        name,
        kex,
        cipher,
        mac,
        export: kx.contains("EXPORT"),
    })
}

const fn tls13(code: u16, name: &'static str, cipher: Cipher) -> Suite {
    Suite {
        code,
        name,
        kex: Kex::Tls13,
        cipher,
        mac: Mac::Aead,
        export: false,
    }
}

/// TLS 1.3 suites (RFC 8446 B.4).
pub(crate) const TLS13: [Suite; 5] = [
    tls13(0x1302, "TLS_AES_256_GCM_SHA384", Cipher::AesGcm),
    tls13(0x1301, "TLS_AES_128_GCM_SHA256", Cipher::AesGcm),
    tls13(
        0x1303,
        "TLS_CHACHA20_POLY1305_SHA256",
        Cipher::Chacha20Poly1305,
    ),
    tls13(0x1304, "TLS_AES_128_CCM_SHA256", Cipher::AesCcm),
    tls13(0x1305, "TLS_AES_128_CCM_8_SHA256", Cipher::AesCcm8),
];

fn table(entries: &[(u16, &'static str)]) -> Vec<Suite> {
    entries
        .iter()
        .filter_map(|&(code, name)| classify(code, name))
        .collect()
}

/// The suites of a version's first hello, strongest first: a server that
/// follows the client's order picks the best it has, so the version hello
/// names what a modern client would get.
pub(crate) static LEGACY: LazyLock<Vec<Suite>> = LazyLock::new(|| table(&COMMON));

/// The rest of the registry's TLS 1.2-and-below suites.
pub(crate) static RARE: LazyLock<Vec<Suite>> = LazyLock::new(|| table(&RARE_CODES));

/// Every TLS 1.2-and-below suite we know: [`LEGACY`], then [`RARE`].
pub(crate) fn all_legacy() -> impl Iterator<Item = &'static Suite> {
    LEGACY.iter().chain(RARE.iter())
}

/// `TLS_EMPTY_RENEGOTIATION_INFO_SCSV` (RFC 5746): appended to legacy
/// hellos so servers that insist on secure renegotiation still answer.
pub(crate) const RENEGOTIATION_SCSV: u16 = 0x00FF;

/// A known suite by its code.
pub(crate) fn by_code(code: u16) -> Option<&'static Suite> {
    TLS13.iter().chain(all_legacy()).find(|s| s.code == code)
}

/// A known suite by its IANA name.
pub fn by_name(name: &str) -> Option<&'static Suite> {
    TLS13.iter().chain(all_legacy()).find(|s| s.name == name)
}

/// The IANA name, or `0xC0FF` for a code we do not list.
pub(crate) fn name(code: u16) -> String {
    by_code(code).map_or_else(|| format!("0x{code:04X}"), |s| s.name.to_owned())
}

/// A version hello's suites, in preference order (see [`LEGACY`]).
const COMMON: [(u16, &str); 119] = [
    (0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    (0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    (0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    (0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    (0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"),
    (0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"),
    (0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xC0AF, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"),
    (0xC0AE, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"),
    (0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"),
    (0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"),
    (0x00A3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384"),
    (0x00A2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"),
    (0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xC09F, "TLS_DHE_RSA_WITH_AES_256_CCM"),
    (0xC09E, "TLS_DHE_RSA_WITH_AES_128_CCM"),
    (0xC0A3, "TLS_DHE_RSA_WITH_AES_256_CCM_8"),
    (0xC0A2, "TLS_DHE_RSA_WITH_AES_128_CCM_8"),
    (0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"),
    (0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"),
    (0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"),
    (0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
    (0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"),
    (0x006A, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256"),
    (0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"),
    (0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256"),
    (0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
    (0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    (0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
    (0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    (0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"),
    (0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA"),
    (0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"),
    (0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA"),
    (0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA"),
    (0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA"),
    (0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA"),
    (0x009A, "TLS_DHE_RSA_WITH_SEED_CBC_SHA"),
    (0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384"),
    (0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    (0xC09D, "TLS_RSA_WITH_AES_256_CCM"),
    (0xC09C, "TLS_RSA_WITH_AES_128_CCM"),
    (0xC0A1, "TLS_RSA_WITH_AES_256_CCM_8"),
    (0xC0A0, "TLS_RSA_WITH_AES_128_CCM_8"),
    (0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256"),
    (0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256"),
    (0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
    (0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    (0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA"),
    (0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA"),
    (0x00C0, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256"),
    (0x00BA, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0x0096, "TLS_RSA_WITH_SEED_CBC_SHA"),
    (0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA"),
    (0x00C4, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256"),
    (0x00BE, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xC032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384"),
    (0xC02E, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384"),
    (0xC031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256"),
    (0xC02D, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256"),
    (0xC02A, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384"),
    (0xC026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384"),
    (0xC029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256"),
    (0xC025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256"),
    (0xC00F, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA"),
    (0xC005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA"),
    (0xC00E, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA"),
    (0xC004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA"),
    (0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"),
    (0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA"),
    (0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xC00D, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xC003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA"),
    (0x0010, "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x000D, "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA"),
    (0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"),
    (0xC007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"),
    (0xC00C, "TLS_ECDH_RSA_WITH_RC4_128_SHA"),
    (0xC002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA"),
    (0x0066, "TLS_DHE_DSS_WITH_RC4_128_SHA"),
    (0x0005, "TLS_RSA_WITH_RC4_128_SHA"),
    (0x0004, "TLS_RSA_WITH_RC4_128_MD5"),
    (0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA"),
    (0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA"),
    (0x0009, "TLS_RSA_WITH_DES_CBC_SHA"),
    (0x0062, "TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA"),
    (0x0064, "TLS_RSA_EXPORT1024_WITH_RC4_56_SHA"),
    (0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"),
    (0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA"),
    (0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"),
    (0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"),
    (0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"),
    (0x00A7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384"),
    (0x00A6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256"),
    (0x006D, "TLS_DH_anon_WITH_AES_256_CBC_SHA256"),
    (0x006C, "TLS_DH_anon_WITH_AES_128_CBC_SHA256"),
    (0xC019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA"),
    (0xC018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"),
    (0x003A, "TLS_DH_anon_WITH_AES_256_CBC_SHA"),
    (0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA"),
    (0xC017, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA"),
    (0x001B, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA"),
    (0xC016, "TLS_ECDH_anon_WITH_RC4_128_SHA"),
    (0x0018, "TLS_DH_anon_WITH_RC4_128_MD5"),
    (0x001A, "TLS_DH_anon_WITH_DES_CBC_SHA"),
    (0x0019, "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA"),
    (0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5"),
    (0xC015, "TLS_ECDH_anon_WITH_NULL_SHA"),
    (0xC010, "TLS_ECDHE_RSA_WITH_NULL_SHA"),
    (0xC006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA"),
    (0xC00B, "TLS_ECDH_RSA_WITH_NULL_SHA"),
    (0xC001, "TLS_ECDH_ECDSA_WITH_NULL_SHA"),
    (0x003B, "TLS_RSA_WITH_NULL_SHA256"),
    (0x0002, "TLS_RSA_WITH_NULL_SHA"),
    (0x0001, "TLS_RSA_WITH_NULL_MD5"),
];

/// The rarer half, asked only when the first hello was refused.
const RARE_CODES: [(u16, &str); 106] = [
    (0xC05C, "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256"),
    (0xC05D, "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384"),
    (0xC060, "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256"),
    (0xC061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384"),
    (0xC086, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC087, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC08A, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC08B, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC052, "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256"),
    (0xC053, "TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384"),
    (0xC056, "TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256"),
    (0xC057, "TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384"),
    (0xC07C, "TLS_DHE_RSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC07D, "TLS_DHE_RSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC080, "TLS_DHE_DSS_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC081, "TLS_DHE_DSS_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256"),
    (0xC051, "TLS_RSA_WITH_ARIA_256_GCM_SHA384"),
    (0xC07A, "TLS_RSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC07B, "TLS_RSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0x00A0, "TLS_DH_RSA_WITH_AES_128_GCM_SHA256"),
    (0x00A1, "TLS_DH_RSA_WITH_AES_256_GCM_SHA384"),
    (0x00A4, "TLS_DH_DSS_WITH_AES_128_GCM_SHA256"),
    (0x00A5, "TLS_DH_DSS_WITH_AES_256_GCM_SHA384"),
    (0xC054, "TLS_DH_RSA_WITH_ARIA_128_GCM_SHA256"),
    (0xC055, "TLS_DH_RSA_WITH_ARIA_256_GCM_SHA384"),
    (0xC058, "TLS_DH_DSS_WITH_ARIA_128_GCM_SHA256"),
    (0xC059, "TLS_DH_DSS_WITH_ARIA_256_GCM_SHA384"),
    (0xC05E, "TLS_ECDH_ECDSA_WITH_ARIA_128_GCM_SHA256"),
    (0xC05F, "TLS_ECDH_ECDSA_WITH_ARIA_256_GCM_SHA384"),
    (0xC062, "TLS_ECDH_RSA_WITH_ARIA_128_GCM_SHA256"),
    (0xC063, "TLS_ECDH_RSA_WITH_ARIA_256_GCM_SHA384"),
    (0xC07E, "TLS_DH_RSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC07F, "TLS_DH_RSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC082, "TLS_DH_DSS_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC083, "TLS_DH_DSS_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC088, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC089, "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC08C, "TLS_ECDH_RSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC08D, "TLS_ECDH_RSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC05A, "TLS_DH_anon_WITH_ARIA_128_GCM_SHA256"),
    (0xC05B, "TLS_DH_anon_WITH_ARIA_256_GCM_SHA384"),
    (0xC084, "TLS_DH_anon_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC085, "TLS_DH_anon_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC048, "TLS_ECDHE_ECDSA_WITH_ARIA_128_CBC_SHA256"),
    (0xC049, "TLS_ECDHE_ECDSA_WITH_ARIA_256_CBC_SHA384"),
    (0xC04C, "TLS_ECDHE_RSA_WITH_ARIA_128_CBC_SHA256"),
    (0xC04D, "TLS_ECDHE_RSA_WITH_ARIA_256_CBC_SHA384"),
    (0xC072, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xC073, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384"),
    (0xC076, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xC077, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384"),
    (0x00BD, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256"),
    (0x00C3, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256"),
    (0xC042, "TLS_DHE_DSS_WITH_ARIA_128_CBC_SHA256"),
    (0xC043, "TLS_DHE_DSS_WITH_ARIA_256_CBC_SHA384"),
    (0xC044, "TLS_DHE_RSA_WITH_ARIA_128_CBC_SHA256"),
    (0xC045, "TLS_DHE_RSA_WITH_ARIA_256_CBC_SHA384"),
    (0x0063, "TLS_DHE_DSS_EXPORT1024_WITH_DES_CBC_SHA"),
    (0x0065, "TLS_DHE_DSS_EXPORT1024_WITH_RC4_56_SHA"),
    (0x0099, "TLS_DHE_DSS_WITH_SEED_CBC_SHA"),
    (0xC03C, "TLS_RSA_WITH_ARIA_128_CBC_SHA256"),
    (0xC03D, "TLS_RSA_WITH_ARIA_256_CBC_SHA384"),
    (0x0060, "TLS_RSA_EXPORT1024_WITH_RC4_56_MD5"),
    (0x0061, "TLS_RSA_EXPORT1024_WITH_RC2_CBC_56_MD5"),
    (0x0036, "TLS_DH_DSS_WITH_AES_256_CBC_SHA"),
    (0x0037, "TLS_DH_RSA_WITH_AES_256_CBC_SHA"),
    (0x003E, "TLS_DH_DSS_WITH_AES_128_CBC_SHA256"),
    (0x003F, "TLS_DH_RSA_WITH_AES_128_CBC_SHA256"),
    (0x0068, "TLS_DH_DSS_WITH_AES_256_CBC_SHA256"),
    (0x0069, "TLS_DH_RSA_WITH_AES_256_CBC_SHA256"),
    (0x0085, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA"),
    (0x0086, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA"),
    (0x00BB, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA256"),
    (0x00BC, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0x00C1, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA256"),
    (0x00C2, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA256"),
    (0xC03E, "TLS_DH_DSS_WITH_ARIA_128_CBC_SHA256"),
    (0xC03F, "TLS_DH_DSS_WITH_ARIA_256_CBC_SHA384"),
    (0xC040, "TLS_DH_RSA_WITH_ARIA_128_CBC_SHA256"),
    (0xC041, "TLS_DH_RSA_WITH_ARIA_256_CBC_SHA384"),
    (0xC04A, "TLS_ECDH_ECDSA_WITH_ARIA_128_CBC_SHA256"),
    (0xC04B, "TLS_ECDH_ECDSA_WITH_ARIA_256_CBC_SHA384"),
    (0xC04E, "TLS_ECDH_RSA_WITH_ARIA_128_CBC_SHA256"),
    (0xC04F, "TLS_ECDH_RSA_WITH_ARIA_256_CBC_SHA384"),
    (0xC074, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xC075, "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_CBC_SHA384"),
    (0xC078, "TLS_ECDH_RSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xC079, "TLS_ECDH_RSA_WITH_CAMELLIA_256_CBC_SHA384"),
    (0x000B, "TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA"),
    (0x000C, "TLS_DH_DSS_WITH_DES_CBC_SHA"),
    (0x000E, "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA"),
    (0x000F, "TLS_DH_RSA_WITH_DES_CBC_SHA"),
    (0x0030, "TLS_DH_DSS_WITH_AES_128_CBC_SHA"),
    (0x0031, "TLS_DH_RSA_WITH_AES_128_CBC_SHA"),
    (0x0042, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0043, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0097, "TLS_DH_DSS_WITH_SEED_CBC_SHA"),
    (0x0098, "TLS_DH_RSA_WITH_SEED_CBC_SHA"),
    (0x0089, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA"),
    (0x00BF, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256"),
    (0x00C5, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256"),
    (0xC046, "TLS_DH_anon_WITH_ARIA_128_CBC_SHA256"),
    (0xC047, "TLS_DH_anon_WITH_ARIA_256_CBC_SHA384"),
    (0x0046, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA"),
    (0x009B, "TLS_DH_anon_WITH_SEED_CBC_SHA"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_classified_and_listed_once() {
        assert_eq!(LEGACY.len(), COMMON.len());
        assert_eq!(RARE.len(), RARE_CODES.len());
        assert_eq!(LEGACY.len() + RARE.len(), 225);
        let mut codes: Vec<u16> = all_legacy().map(|s| s.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 225, "a code listed twice");
        assert!(LEGACY.len() <= MAX_OFFER && RARE.len() <= MAX_OFFER);
        assert!(codes.iter().all(|c| !TLS13.iter().any(|t| t.code == *c)));
    }

    #[test]
    fn names_give_the_facts() {
        let s = |code| *by_code(code).expect("listed");
        let x = s(0x000A);
        assert_eq!(
            (x.kex, x.cipher, x.mac, x.export),
            (Kex::Rsa, Cipher::TripleDes, Mac::Sha1, false)
        );
        assert_eq!(x.name, "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
        assert_eq!(x.min_version(), Version::Ssl3);
        let x = s(0x0013);
        assert_eq!((x.kex, x.cipher), (Kex::Dhe, Cipher::TripleDes));
        let x = s(0xC00E);
        assert_eq!(
            (x.kex, x.cipher, x.mac),
            (Kex::Dh, Cipher::AesCbc, Mac::Sha1)
        );
        assert_eq!(x.min_version(), Version::Tls10);
        assert_eq!(s(0x0030).kex, Kex::Dh);
        let x = s(0x0062);
        assert!(x.export);
        assert_eq!((x.kex, x.cipher), (Kex::Rsa, Cipher::Des));
        let x = s(0x0019);
        assert!(x.export);
        assert_eq!((x.kex, x.cipher), (Kex::Anon, Cipher::Des));
        assert_eq!(s(0xC017).kex, Kex::Anon);
        let x = s(0xC0A0);
        assert_eq!((x.cipher, x.mac), (Cipher::AesCcm8, Mac::Aead));
        assert_eq!(s(0xC09C).cipher, Cipher::AesCcm);
        let x = s(0xC02F);
        assert_eq!(
            (x.kex, x.cipher, x.mac),
            (Kex::Ecdhe, Cipher::AesGcm, Mac::Aead)
        );
        assert_eq!(x.min_version(), Version::Tls12);
        assert_eq!(s(0x0007).cipher, Cipher::Idea);
        assert_eq!(s(0x0096).cipher, Cipher::Seed);
        assert_eq!(s(0xC03C).cipher, Cipher::AriaCbc);
        assert_eq!(s(0xC03C).mac, Mac::Sha256);
        assert_eq!(s(0xC07A).cipher, Cipher::CamelliaGcm);
        assert_eq!(s(0x0064).cipher, Cipher::Rc4);
        assert_eq!(s(0x0061).cipher, Cipher::Rc2);
        assert_eq!(s(0xCCAA).cipher, Cipher::Chacha20Poly1305);
        assert_eq!(s(0x003B).mac, Mac::Sha256);
        assert_eq!(s(0x0001).mac, Mac::Md5);
        assert!(s(0x0001).cipher == Cipher::Null && !s(0x0001).export);
        assert_eq!(
            by_name("TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA"),
            Some(&s(0x0013))
        );
        assert_eq!(name(0xC0FF), "0xC0FF");
    }

    #[test]
    fn versions_a_suite_is_offered_in() {
        let ssl3 = LEGACY.iter().filter(|s| s.usable_in(Version::Ssl3)).count();
        let tls10 = LEGACY
            .iter()
            .filter(|s| s.usable_in(Version::Tls10))
            .count();
        assert!(ssl3 < tls10 && tls10 < LEGACY.len(), "{ssl3} {tls10}");
        assert!(
            LEGACY
                .iter()
                .filter(|s| s.usable_in(Version::Ssl3))
                .all(|s| !s.elliptic() && matches!(s.mac, Mac::Sha1 | Mac::Md5))
        );
        assert!(TLS13.iter().all(|s| s.usable_in(Version::Tls13)));
        assert!(!TLS13[0].usable_in(Version::Tls12));
        assert!(!LEGACY[0].usable_in(Version::Tls13));
    }
}

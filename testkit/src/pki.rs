//! A test PKI shaped like the one a DoD MDM server really pushes:
//!
//! ```text
//! Federal Common Policy CA G2 (self-signed anchor of the fcpca-g2 store)
//!  -> Federal Bridge CA G4
//!   -> DoD Interoperability Root CA 2
//!    -> DoD Root CA 3 (cross-certificate; same key as the self-signed one)
//!     -> DOD SW CA-66
//!      -> leaf (mdm.lab.test, localhost, 127.0.0.1)
//! DoD Root CA 3 (self-signed anchor of the dod store)
//! ```
//!
//! Keys are RSA-2048 like the real ones: `openssl genpkey` makes them
//! (rcgen with ring cannot generate RSA keys, but ring signs with them from
//! PKCS#8), once per test process.

use flowprobe::analyze::trust::{Anchor, TrustStore};
use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, DistinguishedName, DnType, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_RSA_SHA256, SanType, SerialNumber,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const LEAF_NAMES: [&str; 3] = ["mdm.lab.test", "localhost", "127.0.0.1"];
const DAY: Duration = Duration::from_secs(86_400);

/// Which certificates of the PKI are broken, and how.
#[derive(Debug, Clone, Default)]
pub struct PkiOptions {
    /// The DoD Root CA 3 cross-certificate expired yesterday.
    pub cross_expired: bool,
    /// The leaf expired yesterday.
    pub leaf_expired: bool,
    /// The leaf expires this many days from now.
    pub leaf_expires_in_days: Option<u64>,
    /// SANs of the leaf instead of [`LEAF_NAMES`] (the wrong-host case).
    pub leaf_names: Option<Vec<String>>,
    /// DOD SW CA-66 carries basicConstraints CA:FALSE (it cannot issue).
    pub issuing_not_ca: bool,
}

/// The generated certificates and the keys the tests serve them with.
pub struct Pki {
    pub fcpca: CertificateDer<'static>,
    pub bridge: CertificateDer<'static>,
    pub interop: CertificateDer<'static>,
    /// DoD Root CA 3 issued by DoD Interoperability Root CA 2.
    pub dod_root_cross: CertificateDer<'static>,
    /// DoD Root CA 3, self-signed, same key and subject as the cross-cert.
    pub dod_root_self: CertificateDer<'static>,
    pub ca66: CertificateDer<'static>,
    pub leaf: CertificateDer<'static>,
    pub leaf_key_pem: String,
    /// For signing extra leaves with the `openssl` CLI.
    pub ca66_key_pem: String,
    /// The DoD Root CA 6 branch, also cross-certified by DoD
    /// Interoperability Root CA 2: the cross-certificate, the self-signed
    /// root (same key), DOD SW CA-74 under it and a leaf (same names and
    /// key as [`Pki::leaf`]) issued by CA-74.
    pub dod_root6_cross: CertificateDer<'static>,
    pub dod_root6_self: CertificateDer<'static>,
    pub ca74: CertificateDer<'static>,
    pub leaf74: CertificateDer<'static>,
}

struct KeyPems {
    fcpca: String,
    bridge: String,
    interop: String,
    dod_root: String,
    ca66: String,
    leaf: String,
    dod_root6: String,
    ca74: String,
}

fn keys() -> &'static KeyPems {
    static KEYS: OnceLock<KeyPems> = OnceLock::new();
    KEYS.get_or_init(|| KeyPems {
        fcpca: cached_rsa_key("fcpca"),
        bridge: cached_rsa_key("bridge"),
        interop: cached_rsa_key("interop"),
        dod_root: cached_rsa_key("dod-root"),
        ca66: cached_rsa_key("ca66"),
        leaf: cached_rsa_key("leaf"),
        dod_root6: cached_rsa_key("dod-root6"),
        ca74: cached_rsa_key("ca74"),
    })
}

/// The lab PKI's RSA-2048 key `name`, generated once per build directory
/// (`target/<profile>/testkeys/`) and shared by every test process: the
/// test runner starts one process per test, and `openssl genpkey` for
/// eight keys costs about a second each time. A key is written to a
/// temporary file and renamed into place, so concurrent first runs each
/// get a whole key; a process uses the one it read for its whole life.
fn cached_rsa_key(name: &str) -> String {
    let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("testkeys")))
    else {
        return openssl_rsa_key(2048);
    };
    let path = dir.join(format!("{name}.pem"));
    if let Ok(pem) = std::fs::read_to_string(&path)
        && pem.contains("PRIVATE KEY")
    {
        return pem;
    }
    let pem = openssl_rsa_key(2048);
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let stored = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&tmp, &pem))
        .and_then(|()| std::fs::rename(&tmp, &path));
    if stored.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    pem
}

/// A PKCS#8 PEM RSA key from the `openssl` CLI.
pub fn openssl_rsa_key(bits: u32) -> String {
    let out = Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt"])
        .arg(format!("rsa_keygen_bits:{bits}"))
        .output()
        .expect("run openssl genpkey");
    assert!(out.status.success(), "openssl genpkey: {out:?}");
    String::from_utf8(out.stdout).expect("PEM is ASCII")
}

fn key(pem: &str) -> KeyPair {
    KeyPair::from_pkcs8_pem_and_sign_algo(pem, &PKCS_RSA_SHA256).expect("RSA PKCS#8 key")
}

/// `CN=<cn>, OU=PKI, OU=DoD, O=U.S. Government, C=US` (DER order reversed).
/// rcgen keeps one value per attribute type, so the second OU goes in as a
/// custom type with the OU OID.
pub fn dod_name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "US");
    dn.push(DnType::OrganizationName, "U.S. Government");
    dn.push(DnType::OrganizationalUnitName, "DoD");
    dn.push(DnType::CustomDnType(vec![2, 5, 4, 11]), "PKI");
    dn.push(DnType::CommonName, cn);
    dn
}

/// `CN=<cn>, OU=FPKI, O=U.S. Government, C=US`.
pub fn fpki_name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "US");
    dn.push(DnType::OrganizationName, "U.S. Government");
    dn.push(DnType::OrganizationalUnitName, "FPKI");
    dn.push(DnType::CommonName, cn);
    dn
}

/// The CRL file name DISA uses: the CN without spaces, `-` as `_`
/// (`DOD SW CA-66` -> `DODSWCA_66.crl`).
fn crl_file(cn: &str) -> String {
    format!("{}.crl", cn.replace(' ', "").replace('-', "_"))
}

fn crl_url(ca: &str) -> String {
    format!("http://crl.lab.test/{}", crl_file(ca))
}

/// Sets validity relative to the real clock, in seconds from now. rcgen
/// takes `time` values; they are reached from the epoch so the tests need
/// no direct `time` dependency.
fn set_validity(params: &mut CertificateParams, from: i64, to: i64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + Duration::from_secs((now + from) as u64);
    params.not_after = epoch + Duration::from_secs((now + to) as u64);
}

fn days(n: i64) -> i64 {
    n * DAY.as_secs() as i64
}

fn ca_params(dn: DistinguishedName, crl_ca: &str, serial: u64) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.serial_number = Some(SerialNumber::from(serial));
    params.crl_distribution_points = vec![CrlDistributionPoint {
        uris: vec![crl_url(crl_ca)],
    }];
    set_validity(&mut params, days(-365), days(3650));
    params
}

impl Pki {
    /// The healthy PKI.
    pub fn new() -> Pki {
        Pki::generate(&PkiOptions::default())
    }

    pub fn generate(options: &PkiOptions) -> Pki {
        let k = keys();
        let (fcpca_key, bridge_key, interop_key) = (key(&k.fcpca), key(&k.bridge), key(&k.interop));
        let (dod_root_key, ca66_key, leaf_key) = (key(&k.dod_root), key(&k.ca66), key(&k.leaf));

        // Self-signed anchors carry no CRL distribution point of their own
        // in real life, but the issuing CA's URL is harmless and testable.
        let fcpca_params = ca_params(
            fpki_name("Federal Common Policy CA G2"),
            "Federal Common Policy CA G2",
            0x1001,
        );
        let fcpca = fcpca_params.self_signed(&fcpca_key).expect("fcpca");
        let fcpca_issuer = Issuer::new(fcpca_params, &fcpca_key);

        let bridge_params = ca_params(
            fpki_name("Federal Bridge CA G4"),
            "Federal Common Policy CA G2",
            0x2001,
        );
        let bridge = bridge_params
            .signed_by(&bridge_key, &fcpca_issuer)
            .expect("bridge");
        let bridge_issuer = Issuer::new(bridge_params, &bridge_key);

        let interop_params = ca_params(
            dod_name("DoD Interoperability Root CA 2"),
            "Federal Bridge CA G4",
            0x3001,
        );
        let interop = interop_params
            .signed_by(&interop_key, &bridge_issuer)
            .expect("interop");
        let interop_issuer = Issuer::new(interop_params, &interop_key);

        let mut cross_params = ca_params(
            dod_name("DoD Root CA 3"),
            "DoD Interoperability Root CA 2",
            0x4001,
        );
        if options.cross_expired {
            set_validity(&mut cross_params, days(-400), days(-1));
        }
        let dod_root_cross = cross_params
            .signed_by(&dod_root_key, &interop_issuer)
            .expect("cross");

        let root_params = ca_params(dod_name("DoD Root CA 3"), "DoD Root CA 3", 0x4002);
        let dod_root_self = root_params.self_signed(&dod_root_key).expect("dod root");
        let dod_root_issuer = Issuer::new(root_params, &dod_root_key);

        let mut ca66_params = ca_params(dod_name("DOD SW CA-66"), "DoD Root CA 3", 0x5001);
        if options.issuing_not_ca {
            ca66_params.is_ca = IsCa::ExplicitNoCa;
        }
        let ca66 = ca66_params
            .signed_by(&ca66_key, &dod_root_issuer)
            .expect("ca66");
        let ca66_issuer = Issuer::new(ca66_params, &ca66_key);

        let names = options
            .leaf_names
            .clone()
            .unwrap_or_else(|| LEAF_NAMES.iter().map(|n| n.to_string()).collect());
        let mut leaf_params = CertificateParams::default();
        leaf_params.distinguished_name = dod_name(&names[0]);
        leaf_params.subject_alt_names = names.iter().map(|n| san(n)).collect();
        leaf_params.serial_number = Some(SerialNumber::from(0x6001u64));
        leaf_params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        leaf_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        leaf_params.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec![crl_url("DOD SW CA-66")],
        }];
        set_validity(&mut leaf_params, days(-30), days(365));
        if options.leaf_expired {
            set_validity(&mut leaf_params, days(-400), days(-1));
        }
        if let Some(n) = options.leaf_expires_in_days {
            // An hour of slack so "in 10 days" does not round to 9.
            set_validity(&mut leaf_params, days(-30), days(n as i64) + 3600);
        }
        let leaf = leaf_params
            .signed_by(&leaf_key, &ca66_issuer)
            .expect("leaf");

        let (root6_key, ca74_key) = (key(&k.dod_root6), key(&k.ca74));
        let root6_cross = ca_params(
            dod_name("DoD Root CA 6"),
            "DoD Interoperability Root CA 2",
            0x4101,
        )
        .signed_by(&root6_key, &interop_issuer)
        .expect("root 6 cross");
        let root6_params = ca_params(dod_name("DoD Root CA 6"), "DoD Root CA 6", 0x4102);
        let root6_self = root6_params.self_signed(&root6_key).expect("root 6");
        let root6_issuer = Issuer::new(root6_params, &root6_key);
        let ca74_params = ca_params(dod_name("DOD SW CA-74"), "DoD Root CA 6", 0x5101);
        let ca74 = ca74_params
            .signed_by(&ca74_key, &root6_issuer)
            .expect("ca74");
        let ca74_issuer = Issuer::new(ca74_params, &ca74_key);
        leaf_params.serial_number = Some(SerialNumber::from(0x6101u64));
        leaf_params.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec![crl_url("DOD SW CA-74")],
        }];
        let leaf74 = leaf_params
            .signed_by(&leaf_key, &ca74_issuer)
            .expect("leaf74");

        Pki {
            fcpca: fcpca.der().clone(),
            bridge: bridge.der().clone(),
            interop: interop.der().clone(),
            dod_root_cross: dod_root_cross.der().clone(),
            dod_root_self: dod_root_self.der().clone(),
            ca66: ca66.der().clone(),
            leaf: leaf.der().clone(),
            leaf_key_pem: k.leaf.clone(),
            ca66_key_pem: k.ca66.clone(),
            dod_root6_cross: root6_cross.der().clone(),
            dod_root6_self: root6_self.der().clone(),
            ca74: ca74.der().clone(),
            leaf74: leaf74.der().clone(),
        }
    }

    /// The Root CA 6 branch's full path: leaf (CA-74) to Federal Bridge CA G4.
    pub fn full_path_root6(&self) -> Vec<CertificateDer<'static>> {
        vec![
            self.leaf74.clone(),
            self.ca74.clone(),
            self.dod_root6_cross.clone(),
            self.interop.clone(),
            self.bridge.clone(),
        ]
    }

    /// One `dod` store holding both DoD roots, as a real DoD trust list does.
    pub fn dod_roots_store(&self) -> TrustStore {
        store("dod", &[&self.dod_root_self, &self.dod_root6_self])
    }

    /// What a correctly configured MDM server sends: leaf to Federal
    /// Bridge CA G4, anchor omitted.
    pub fn full_path(&self) -> Vec<CertificateDer<'static>> {
        vec![
            self.leaf.clone(),
            self.ca66.clone(),
            self.dod_root_cross.clone(),
            self.interop.clone(),
            self.bridge.clone(),
        ]
    }

    /// The common misconfiguration: the path stops at the DoD Root CA 3
    /// cross-certificate.
    pub fn dod_path(&self) -> Vec<CertificateDer<'static>> {
        vec![
            self.leaf.clone(),
            self.ca66.clone(),
            self.dod_root_cross.clone(),
        ]
    }

    pub fn leaf_key(&self) -> PrivateKeyDer<'static> {
        pem_key(&self.leaf_key_pem)
    }

    pub fn fcpca_store(&self) -> TrustStore {
        store("fcpca-g2", &[&self.fcpca])
    }

    pub fn dod_store(&self) -> TrustStore {
        store("dod", &[&self.dod_root_self])
    }

    /// Writes the PKI as PEM files into `dir` for the lab script, the
    /// benchmark and `openssl s_server`; returns the paths by role.
    pub fn write_pem(&self, dir: &Path) -> PemFiles {
        let files = PemFiles::in_dir(dir);
        write(&files.fcpca_anchor, &pem_all(&[&self.fcpca]));
        write(&files.dod_anchor, &pem_all(&[&self.dod_root_self]));
        write(
            &files.full_chain,
            &pem_all(&self.full_path().iter().collect::<Vec<_>>()),
        );
        write(
            &files.dod_chain,
            &pem_all(&self.dod_path().iter().collect::<Vec<_>>()),
        );
        write(&files.leaf, &pem_all(&[&self.leaf]));
        write(&files.leaf_key, &self.leaf_key_pem);
        write(&files.ca66, &pem_all(&[&self.ca66]));
        write(&files.ca66_key, &self.ca66_key_pem);
        files
    }
}

impl Default for Pki {
    fn default() -> Self {
        Pki::new()
    }
}

/// Where [`Pki::write_pem`] put each file.
#[derive(Debug, Clone)]
pub struct PemFiles {
    pub fcpca_anchor: PathBuf,
    pub dod_anchor: PathBuf,
    /// leaf, DOD SW CA-66, DoD Root CA 3 (cross), Interop, Bridge.
    pub full_chain: PathBuf,
    /// leaf, DOD SW CA-66, DoD Root CA 3 (cross).
    pub dod_chain: PathBuf,
    pub leaf: PathBuf,
    pub leaf_key: PathBuf,
    pub ca66: PathBuf,
    pub ca66_key: PathBuf,
}

impl PemFiles {
    fn in_dir(dir: &Path) -> PemFiles {
        PemFiles {
            fcpca_anchor: dir.join("fcpca-g2.pem"),
            dod_anchor: dir.join("dod-root-ca-3.pem"),
            full_chain: dir.join("chain-full.pem"),
            dod_chain: dir.join("chain-dod.pem"),
            leaf: dir.join("leaf.pem"),
            leaf_key: dir.join("leaf.key"),
            ca66: dir.join("dod-sw-ca-66.pem"),
            ca66_key: dir.join("dod-sw-ca-66.key"),
        }
    }
}

fn san(name: &str) -> SanType {
    match name.parse() {
        Ok(ip) => SanType::IpAddress(ip),
        Err(_) => SanType::DnsName(name.try_into().expect("DNS SAN")),
    }
}

pub fn store(name: &str, anchors: &[&CertificateDer<'static>]) -> TrustStore {
    let anchors = anchors
        .iter()
        .map(|der| Anchor::from_der((*der).clone()).expect("anchor parses"))
        .collect();
    TrustStore::new(name, anchors)
}

pub fn pem_key(pem: &str) -> PrivateKeyDer<'static> {
    use rustls::pki_types::pem::PemObject;
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).expect("PKCS#8 PEM"))
}

pub fn pem_all(certs: &[&CertificateDer<'_>]) -> String {
    certs.iter().map(|der| to_pem("CERTIFICATE", der)).collect()
}

fn to_pem(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Leaves rustls and rcgen will not make: the `openssl` CLI signs them
/// with DOD SW CA-66's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeakLeaf {
    Rsa1024,
    Sha1Signed,
}

/// An openssl-made leaf, as DER and as files for `openssl s_server`.
pub struct OpensslLeaf {
    pub der: CertificateDer<'static>,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

impl Pki {
    pub fn openssl_leaf(&self, dir: &Path, weak: WeakLeaf) -> OpensslLeaf {
        let files = self.write_pem(dir);
        let tag = match weak {
            WeakLeaf::Rsa1024 => "rsa1024",
            WeakLeaf::Sha1Signed => "sha1",
        };
        let key_path = dir.join(format!("leaf-{tag}.key"));
        let key_pem = match weak {
            WeakLeaf::Rsa1024 => openssl_rsa_key(1024),
            WeakLeaf::Sha1Signed => self.leaf_key_pem.clone(),
        };
        write(&key_path, &key_pem);
        let csr = dir.join(format!("leaf-{tag}.csr"));
        openssl(&[
            "req",
            "-new",
            "-key",
            path_str(&key_path),
            "-subj",
            "/C=US/O=U.S. Government/OU=DoD/OU=PKI/CN=mdm.lab.test",
            "-out",
            path_str(&csr),
        ]);
        let ext = dir.join(format!("leaf-{tag}.ext"));
        write(
            &ext,
            "subjectAltName=DNS:mdm.lab.test,DNS:localhost,IP:127.0.0.1\n\
             basicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\n\
             crlDistributionPoints=URI:http://crl.lab.test/DODSWCA_66.crl\n",
        );
        let cert_path = dir.join(format!("leaf-{tag}.pem"));
        let digest = match weak {
            WeakLeaf::Rsa1024 => "-sha256",
            WeakLeaf::Sha1Signed => "-sha1",
        };
        openssl(&[
            "x509",
            "-req",
            "-in",
            path_str(&csr),
            "-CA",
            path_str(&files.ca66),
            "-CAkey",
            path_str(&files.ca66_key),
            "-set_serial",
            "0x7001",
            "-days",
            "90",
            digest,
            "-extfile",
            path_str(&ext),
            "-out",
            path_str(&cert_path),
        ]);
        use rustls::pki_types::pem::PemObject;
        let der =
            CertificateDer::from_pem_file(&cert_path).expect("openssl wrote a PEM certificate");
        OpensslLeaf {
            der,
            cert_path,
            key_path,
        }
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

/// A self-signed serverAuth leaf for `mdm.lab.test` (subject CN and DNS
/// SAN) from the `openssl` CLI, valid two days: `(certificate, key)` as
/// `STEM.pem` and `STEM.key` in `dir`. `key` is what follows `-newkey`
/// (`["rsa:2048"]`, `["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]`):
/// the protocol tests need RSA and ECDSA servers whose suites depend on it.
pub fn self_signed_leaf(dir: &Path, stem: &str, key: &[&str]) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{stem}.pem"));
    let key_path = dir.join(format!("{stem}.key"));
    let mut args = vec!["req", "-x509", "-newkey"];
    args.extend_from_slice(key);
    args.extend_from_slice(&[
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=mdm.lab.test",
        "-addext",
        "subjectAltName=DNS:mdm.lab.test",
        "-addext",
        "extendedKeyUsage=serverAuth",
        "-keyout",
        path_str(&key_path),
        "-out",
        path_str(&cert),
    ]);
    openssl(&args);
    (cert, key_path)
}

pub fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two CA names that certify each other many times over (every "Loop CA
/// A" is issued by "Loop CA B"'s key and the other way round), after a leaf
/// issued by A: a graph whose paths explode without the search bounds.
/// ECDSA P-256, so sixty certificates are quick to make.
pub fn hostile_chain(len: usize) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let (key_a, key_b) = (
        KeyPair::generate().expect("key"),
        KeyPair::generate().expect("key"),
    );
    let ca = |cn: &str, serial: u64| {
        let mut params = CertificateParams::default();
        params.distinguished_name = dod_name(cn);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.serial_number = Some(serial.into());
        params
    };
    let issuer_a = Issuer::new(ca("Loop CA A", 1), &key_a);
    let issuer_b = Issuer::new(ca("Loop CA B", 2), &key_b);
    let mut leaf = CertificateParams::new(vec!["mdm.lab.test".to_owned()]).expect("params");
    leaf.distinguished_name
        .push(DnType::CommonName, "mdm.lab.test");
    let leaf_key = KeyPair::generate().expect("key");
    let mut sent = vec![
        leaf.signed_by(&leaf_key, &issuer_a)
            .expect("leaf")
            .der()
            .clone(),
    ];
    for i in 1..len as u64 {
        let cert = if i % 2 == 1 {
            ca("Loop CA A", 100 + i).signed_by(&key_a, &issuer_b)
        } else {
            ca("Loop CA B", 100 + i).signed_by(&key_b, &issuer_a)
        };
        sent.push(cert.expect("loop cert").der().clone());
    }
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    (sent, key)
}

/// The CAs of the test PKI that issue CRLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ca {
    Fcpca,
    Bridge,
    Interop,
    DodRoot,
    Ca66,
}

impl Ca {
    pub const ALL: [Ca; 5] = [Ca::Fcpca, Ca::Bridge, Ca::Interop, Ca::DodRoot, Ca::Ca66];

    pub fn cn(self) -> &'static str {
        match self {
            Ca::Fcpca => "Federal Common Policy CA G2",
            Ca::Bridge => "Federal Bridge CA G4",
            Ca::Interop => "DoD Interoperability Root CA 2",
            Ca::DodRoot => "DoD Root CA 3",
            Ca::Ca66 => "DOD SW CA-66",
        }
    }

    /// The path of this CA's CRL in the certificates' distribution points.
    pub fn crl_path(self) -> String {
        format!("/{}", crl_file(self.cn()))
    }

    fn dn(self) -> DistinguishedName {
        match self {
            Ca::Fcpca | Ca::Bridge => fpki_name(self.cn()),
            _ => dod_name(self.cn()),
        }
    }

    fn key_pem(self) -> &'static str {
        let k = keys();
        match self {
            Ca::Fcpca => &k.fcpca,
            Ca::Bridge => &k.bridge,
            Ca::Interop => &k.interop,
            Ca::DodRoot => &k.dod_root,
            Ca::Ca66 => &k.ca66,
        }
    }
}

/// How a test CRL is made.
#[derive(Debug, Clone)]
pub struct CrlOptions {
    /// thisUpdate and nextUpdate in seconds from now.
    pub this_update: i64,
    pub next_update: i64,
    /// Serials listed as revoked.
    pub revoked: Vec<u64>,
    /// Signed by another key under the CA's name.
    pub wrong_key: bool,
}

impl Default for CrlOptions {
    fn default() -> Self {
        CrlOptions {
            this_update: -3600,
            next_update: days(7),
            revoked: Vec::new(),
            wrong_key: false,
        }
    }
}

/// A DER CRL issued by `ca` (rcgen, RSA-SHA256 with the CA's key).
pub fn crl(ca: Ca, opts: &CrlOptions) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    // rcgen takes `time` values; reached from the epoch (no `time` dep).
    let offset =
        |secs: i64| rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs((now + secs) as u64);
    let mut params = CertificateParams::default();
    params.distinguished_name = ca.dn();
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let signing = if opts.wrong_key {
        key(&keys().leaf)
    } else {
        key(ca.key_pem())
    };
    let issuer = Issuer::new(params, &signing);
    let crl = rcgen::CertificateRevocationListParams {
        this_update: offset(opts.this_update),
        next_update: offset(opts.next_update),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: opts
            .revoked
            .iter()
            .map(|s| rcgen::RevokedCertParams {
                serial_number: SerialNumber::from(*s),
                revocation_time: offset(-600),
                reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    };
    crl.signed_by(&issuer).expect("CRL").der().to_vec()
}

/// The CRL as PEM (`-----BEGIN X509 CRL-----`).
pub fn crl_pem(der: &[u8]) -> String {
    to_pem("X509 CRL", der)
}

/// A P-256 hierarchy for constraint cases: `cas[0]` is made self-signed
/// (the anchor), each next one is issued by the one before, the leaf by
/// the last. Returns the anchor, what a server would send (leaf first,
/// then the CAs bottom-up, the anchor left out) and the leaf's key.
pub fn ec_hierarchy(
    cas: Vec<CertificateParams>,
    leaf: CertificateParams,
) -> (
    CertificateDer<'static>,
    Vec<CertificateDer<'static>>,
    PrivateKeyDer<'static>,
) {
    let mut issued: Vec<CertificateDer<'static>> = Vec::new();
    let mut issuer: Option<Issuer<'static, KeyPair>> = None;
    for params in cas {
        let key = KeyPair::generate().expect("P-256 key");
        let cert = match &issuer {
            None => params.self_signed(&key),
            Some(i) => params.signed_by(&key, i),
        }
        .expect("CA certificate");
        issued.push(cert.der().clone());
        issuer = Some(Issuer::new(params, key));
    }
    let leaf_key = KeyPair::generate().expect("P-256 key");
    let leaf = leaf
        .signed_by(&leaf_key, issuer.as_ref().expect("at least the anchor"))
        .expect("leaf");
    let anchor = issued.remove(0);
    let mut sent = vec![leaf.der().clone()];
    sent.extend(issued.into_iter().rev());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    (anchor, sent, key)
}

/// A CA for [`ec_hierarchy`]: CA:TRUE, keyCertSign and cRLSign, valid for a
/// year around now.
pub fn ec_ca(cn: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = dod_name(cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    set_validity(&mut params, days(-30), days(365));
    params
}

/// A TLS server leaf for [`LEAF_NAMES`], EKU serverAuth.
pub fn ec_leaf() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = dod_name(LEAF_NAMES[0]);
    params.subject_alt_names = LEAF_NAMES.iter().map(|n| san(n)).collect();
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    set_validity(&mut params, days(-30), days(200));
    params
}

/// Validity in days from now, for [`ec_ca`] and [`ec_leaf`] parameters.
pub fn valid_days(params: &mut CertificateParams, from: i64, to: i64) {
    set_validity(params, days(from), days(to));
}

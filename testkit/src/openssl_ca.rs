//! Certificates made with the `openssl` CLI only (`req`, `ca`), so the
//! oracle tests judge chains that neither rcgen nor flowprobe built.
//! EC P-256 keys keep each case quick; `openssl ca` gives control over
//! validity (an expired, superseded cross-certificate).

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A CA (or leaf) made by the CLI: its PEM certificate and key on disk.
#[derive(Debug, Clone)]
pub struct Made {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub der: CertificateDer<'static>,
}

/// An OpenSSL `ca` working directory.
pub struct OpensslCa {
    dir: PathBuf,
    next_serial: u32,
}

/// `C=US, O=U.S. Government, OU=DoD, OU=PKI, CN=<cn>`, as `-subj` wants it.
pub fn dod_subject(cn: &str) -> String {
    format!("/C=US/O=U.S. Government/OU=DoD/OU=PKI/CN={cn}")
}

/// Extensions of a CA certificate; `extra` lines override or add.
pub fn ca_ext(basic: &str, key_usage: &str) -> String {
    format!(
        "basicConstraints=critical,{basic}\nkeyUsage=critical,{key_usage}\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
}

/// Extensions of a TLS server leaf for `mdm.lab.test` and loopback.
pub fn leaf_ext(eku: &str) -> String {
    format!(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage={eku}\nsubjectAltName=DNS:mdm.lab.test,DNS:localhost,IP:127.0.0.1\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
}

impl OpensslCa {
    pub fn new(dir: &Path) -> OpensslCa {
        std::fs::write(dir.join("index.txt"), "").expect("index");
        std::fs::write(
            dir.join("ca.cnf"),
            format!(
                "[ca]\ndefault_ca = d\n[d]\ndatabase = {0}/index.txt\nnew_certs_dir = {0}\nserial = {0}/serial\n\
                 default_md = sha256\npolicy = p\nunique_subject = no\nemail_in_dn = no\n\
                 [p]\ncountryName = optional\norganizationName = optional\n\
                 organizationalUnitName = optional\ncommonName = supplied\n",
                dir.display()
            ),
        )
        .expect("ca.cnf");
        OpensslCa {
            dir: dir.to_path_buf(),
            next_serial: 0x1000,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A new P-256 key, or the key of an existing certificate (a
    /// cross-certificate and a self-signed root share theirs).
    pub fn key(&self, name: &str) -> PathBuf {
        let key = self.path(&format!("{name}.key"));
        if !key.exists() {
            run(&[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                s(&key),
            ]);
        }
        key
    }

    /// A self-signed root.
    pub fn root(&mut self, name: &str, subject: &str) -> Made {
        let key = self.key(name);
        let cert = self.path(&format!("{name}.pem"));
        run(&[
            "req",
            "-x509",
            "-new",
            "-key",
            s(&key),
            "-subj",
            subject,
            "-days",
            "3650",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-addext",
            "subjectKeyIdentifier=hash",
            "-out",
            s(&cert),
        ]);
        made(cert, key)
    }

    /// `file` (a new name) issued by `issuer`, for `key_name`'s key (made
    /// when new), valid from `start` to `end` (`YYYYMMDDHHMMSSZ`).
    #[allow(clippy::too_many_arguments)]
    pub fn issue(
        &mut self,
        file: &str,
        key_name: &str,
        subject: &str,
        issuer: &Made,
        ext: &str,
        start: &str,
        end: &str,
    ) -> Made {
        let key = self.key(key_name);
        let csr = self.path(&format!("{file}.csr"));
        let extfile = self.path(&format!("{file}.ext"));
        let cert = self.path(&format!("{file}.pem"));
        std::fs::write(&extfile, ext).expect("ext");
        std::fs::write(self.path("serial"), format!("{:X}\n", self.next_serial)).expect("serial");
        self.next_serial += 1;
        run(&[
            "req",
            "-new",
            "-key",
            s(&key),
            "-subj",
            subject,
            "-out",
            s(&csr),
        ]);
        run(&[
            "ca",
            "-batch",
            "-notext",
            "-preserveDN",
            "-config",
            s(&self.path("ca.cnf")),
            "-cert",
            s(&issuer.cert),
            "-keyfile",
            s(&issuer.key),
            "-in",
            s(&csr),
            "-out",
            s(&cert),
            "-extfile",
            s(&extfile),
            "-startdate",
            start,
            "-enddate",
            end,
        ]);
        made(cert, key)
    }

    /// Concatenated PEM of `certs`, written to `name`.
    pub fn bundle(&self, name: &str, certs: &[&Made]) -> PathBuf {
        let path = self.path(name);
        let text: String = certs
            .iter()
            .map(|m| std::fs::read_to_string(&m.cert).expect("read pem"))
            .collect();
        std::fs::write(&path, text).expect("bundle");
        path
    }
}

/// `openssl verify -purpose sslserver` of `leaf` with `untrusted` as the
/// only intermediates and `anchor` as the only trust anchor: the oracle.
/// Returns whether OpenSSL accepts, and what it printed.
pub fn openssl_verify(anchor: &Path, untrusted: &Path, leaf: &Path) -> (bool, String) {
    let out = Command::new("openssl")
        .args(["verify", "-purpose", "sslserver", "-CAfile"])
        .arg(anchor)
        .arg("-untrusted")
        .arg(untrusted)
        .arg(leaf)
        .output()
        .expect("run openssl verify");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn made(cert: PathBuf, key: PathBuf) -> Made {
    let der = CertificateDer::from_pem_file(&cert).expect("openssl wrote PEM");
    Made { cert, key, der }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

fn run(args: &[&str]) {
    super::pki::openssl(args);
}

/// `YYYYMMDDHHMMSSZ` for `days` from now (negative: in the past).
pub fn date(days: i64) -> String {
    let now = std::time::SystemTime::now();
    let shift = std::time::Duration::from_secs(days.unsigned_abs() * 86_400);
    let t = if days < 0 { now - shift } else { now + shift };
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_digit())
        .chain(std::iter::once('Z'))
        .collect()
}

//! `flowprobe pki check` and `flowprobe profile check` on files made the
//! way an engineer makes them: PKCS#12 with the `openssl pkcs12 -export`
//! CLI (legacy RC2/3DES and the OpenSSL 3 AES/PBKDF2 default, with and
//! without a password), PEM bundles with keys from `openssl pkcs8`,
//! `genpkey`, `ecparam`, `rsa`/`ec -aes*`, profiles as XML and binary
//! plists, CMS-signed with `openssl smime`/`openssl cms`. The path verdicts
//! of the full, missing-cross-certificate, expired-CA and superseded cases
//! are cross-checked with `openssl verify` over the same certificates, the
//! signer verdicts with `openssl cms -verify`.

use flowprobe_testkit as support;

use std::path::{Path, PathBuf};
use std::process::Output;

use rustls::pki_types::CertificateDer;
use support::openssl_ca::{Made, OpensslCa, date, dod_subject, openssl_verify};
use support::pki::{Pki, PkiOptions, openssl, openssl_rsa_key, pem_all};
use support::{flowprobe, have, require};

/// The PKI written out as PEM, plus the files the cases build from it.
struct Files {
    dir: tempfile::TempDir,
    pki: Pki,
}

impl Files {
    fn new(pki: Pki) -> Files {
        let dir = support::tempdir();
        let f = Files { dir, pki };
        f.write("fcpca-g2.pem", &pem_all(&[&f.pki.fcpca]));
        f.write("leaf.pem", &pem_all(&[&f.pki.leaf]));
        f.write("leaf.key", &f.pki.leaf_key_pem);
        f.write("password", "s3cret!\n");
        f.write("wrong-password", "guess\n");
        f
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn s(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    /// The CA certificates the server sends after the leaf.
    fn cas(&self, name: &str, certs: &[&CertificateDer<'static>]) -> PathBuf {
        self.write(name, &pem_all(certs))
    }

    /// `openssl pkcs12 -export` of the leaf, its key and `cas`, with the
    /// password `s3cret!` (or none) and `extra` encryption options.
    fn p12(&self, name: &str, cas: &Path, password: Option<&str>, extra: &[&str]) -> String {
        let out = self.s(name);
        let pass = format!("pass:{}", password.unwrap_or(""));
        let (leaf, key, cas) = (
            self.s("leaf.pem"),
            self.s("leaf.key"),
            cas.display().to_string(),
        );
        let mut args = vec![
            "pkcs12",
            "-export",
            "-in",
            &leaf,
            "-inkey",
            &key,
            "-certfile",
            &cas,
            "-passout",
            &pass,
            "-out",
            &out,
        ];
        args.extend_from_slice(extra);
        openssl(&args);
        out
    }

    fn full_cas(&self) -> Vec<&CertificateDer<'static>> {
        let p = &self.pki;
        vec![&p.ca66, &p.dod_root_cross, &p.interop, &p.bridge]
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn pki_check(f: &Files, file: &str, extra: &[&str]) -> Output {
    let trust = f.s("fcpca-g2.pem");
    let mut args = vec!["pki", "check", file, "--trust", &trust];
    args.extend_from_slice(extra);
    flowprobe(&args)
}

fn openssl_ok() -> bool {
    require(have("openssl"), "the openssl CLI")
}

#[test]
fn pkcs12_full_path_passes_in_every_encryption_and_openssl_agrees() {
    if !openssl_ok() {
        return;
    }
    let f = Files::new(Pki::new());
    let cas = f.cas("cas.pem", &f.full_cas());
    let (ok, said) = openssl_verify(&f.path("fcpca-g2.pem"), &cas, &f.path("leaf.pem"));
    assert!(ok, "oracle refuses the full path: {said}");
    let pw = f.s("password");
    let cases = [
        ("aes.p12", Some("s3cret!"), vec![]),
        (
            "3des.p12",
            Some("s3cret!"),
            vec![
                "-keypbe",
                "PBE-SHA1-3DES",
                "-certpbe",
                "PBE-SHA1-3DES",
                "-macalg",
                "sha1",
            ],
        ),
        ("rc2-legacy.p12", Some("s3cret!"), vec!["-legacy"]),
        ("empty-password.p12", None, vec![]),
        ("legacy-empty-password.p12", None, vec!["-legacy"]),
    ];
    for (name, password, extra) in cases {
        let p12 = f.p12(name, &cas, password, &extra);
        let args: Vec<&str> = if password.is_some() {
            vec!["--password-file", &pw]
        } else {
            vec![]
        };
        let o = pki_check(&f, &p12, &args);
        let out = text(&o);
        assert_eq!(code(&o), 0, "{name}: {out}");
        assert!(
            out.contains("key 0: rsa 2048 matches the certificate at position 0"),
            "{name}: {out}"
        );
        assert!(
            out.contains("path fcpca-g2: valid, positions 0 -> 1 -> 2 -> 3 -> 4"),
            "{name}: {out}"
        );
        assert!(out.trim_end().ends_with("PASS"), "{name}: {out}");
    }

    // JSON: the order a server sends, as file indexes; the file's own
    // order is shuffled, the sent order is not.
    let shuffled = f.cas(
        "shuffled.pem",
        &[
            &f.pki.bridge,
            &f.pki.ca66,
            &f.pki.interop,
            &f.pki.dod_root_cross,
        ],
    );
    let p12 = f.p12("shuffled.p12", &shuffled, Some("s3cret!"), &[]);
    let o = pki_check(&f, &p12, &["--password-file", &pw, "--output", "json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["ok"], true);
    let subjects: Vec<&str> = v["report"]["certificates"]
        .as_array()
        .expect("certificates")
        .iter()
        .map(|c| c["subject_cn"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        subjects,
        [
            "mdm.lab.test",
            "DOD SW CA-66",
            "DoD Root CA 3",
            "DoD Interoperability Root CA 2",
            "Federal Bridge CA G4"
        ]
    );
    assert_eq!(
        v["report"]["keys"][0]["matches"]["matches"]["certificate"],
        0
    );
}

#[test]
fn pkcs12_missing_cross_certificate_fails_naming_it() {
    if !openssl_ok() {
        return;
    }
    let f = Files::new(Pki::new());
    let cas = f.cas(
        "no-cross.pem",
        &[&f.pki.ca66, &f.pki.interop, &f.pki.bridge],
    );
    let (ok, said) = openssl_verify(&f.path("fcpca-g2.pem"), &cas, &f.path("leaf.pem"));
    assert!(
        !ok,
        "oracle accepts a path without the cross-certificate: {said}"
    );
    let p12 = f.p12("no-cross.p12", &cas, None, &[]);
    let o = pki_check(&f, &p12, &[]);
    let out = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains("missing: CN=DoD Root CA 3, OU=PKI, OU=DoD, O=U.S. Government, C=US (the issuer of position 1, DOD SW CA-66)"),
        "{out}"
    );
    assert!(out.contains("fail chain_incomplete"), "{out}");
    assert!(out.trim_end().ends_with("FAIL"), "{out}");
}

#[test]
fn pkcs12_expired_ca_fails_and_a_superseded_extra_only_warns() {
    if !openssl_ok() {
        return;
    }
    // Keys are shared per test process, so the expired cross-certificate
    // of a second generation is the same CA's older certificate.
    let old = Pki::generate(&PkiOptions {
        cross_expired: true,
        ..PkiOptions::default()
    });
    let f = Files::new(Pki::new());

    let expired = f.cas(
        "expired.pem",
        &[
            &f.pki.ca66,
            &old.dod_root_cross,
            &f.pki.interop,
            &f.pki.bridge,
        ],
    );
    let (ok, said) = openssl_verify(&f.path("fcpca-g2.pem"), &expired, &f.path("leaf.pem"));
    assert!(!ok && said.contains("expired"), "oracle: {said}");
    let p12 = f.p12("expired.p12", &expired, None, &[]);
    let o = pki_check(&f, &p12, &[]);
    let out = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    let expired_line = out
        .lines()
        .find(|l| l.starts_with("fail cert_expired"))
        .unwrap_or_else(|| panic!("no cert_expired finding: {out}"));
    // It names position 2, and position 2 is the cross-certificate (issued
    // by DoD Interoperability Root CA 2) with that very notAfter.
    let at = expired_line
        .strip_prefix("fail cert_expired: store fcpca-g2: position 2 (DoD Root CA 3) expired at ")
        .unwrap_or_else(|| panic!("{expired_line}"));
    assert!(
        out.contains(&format!(
            "  2  CA          DoD Root CA 3  issuer DoD Interoperability Root CA 2  until {at}"
        )),
        "{out}"
    );

    // The current and the superseded cross-certificate: the path uses the
    // current one, the old one is hygiene.
    let mut both = f.full_cas();
    both.push(&old.dod_root_cross);
    let both = f.cas("superseded.pem", &both);
    let (ok, said) = openssl_verify(&f.path("fcpca-g2.pem"), &both, &f.path("leaf.pem"));
    assert!(
        ok,
        "oracle refuses the path beside a superseded extra: {said}"
    );
    let p12 = f.p12("superseded.p12", &both, None, &[]);
    let o = pki_check(&f, &p12, &[]);
    let out = text(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(
        out.contains("path fcpca-g2: valid, positions 0 -> 1 -> 2 -> 3 -> 4"),
        "{out}"
    );
    assert!(
        out.contains("warn chain_extra: position 5 (DoD Root CA 3"),
        "{out}"
    );
    assert!(out.contains("is on no valid path"), "{out}");
}

#[test]
fn a_key_that_matches_no_certificate_fails_and_a_wrong_password_is_a_clear_error() {
    if !openssl_ok() {
        return;
    }
    let f = Files::new(Pki::new());
    let cas = f.cas("cas.pem", &f.full_cas());
    // `openssl pkcs12 -export` refuses a key that does not match, so the
    // mismatched bundle is PEM, as an engineer assembles one by hand.
    let other = openssl_rsa_key(2048);
    let bundle = format!(
        "{other}{}{}",
        pem_all(&[&f.pki.leaf]),
        std::fs::read_to_string(&cas).expect("cas")
    );
    let pem = f.write("mismatch.pem", &bundle);
    let o = pki_check(&f, &pem.display().to_string(), &[]);
    let out = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains("key 0: rsa 2048 matches NO certificate"),
        "{out}"
    );
    assert!(
        out.contains(
            "fail key_mismatch: private key 0 (rsa 2048) matches none of the 5 certificates"
        ),
        "{out}"
    );

    let p12 = f.p12("aes.p12", &cas, Some("s3cret!"), &[]);
    let o = pki_check(&f, &p12, &["--password-file", &f.s("wrong-password")]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        text(&o).contains("aes.p12: wrong password for the PKCS#12 (its MAC does not verify)"),
        "{}",
        text(&o)
    );
    let o = pki_check(&f, &p12, &[]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        text(&o).contains("protected by a password: give it with --password-file"),
        "{}",
        text(&o)
    );
}

/// `openssl` with `args`, returning the file it wrote (`out`).
fn made(f: &Files, out: &str, args: &[&str]) -> String {
    let path = f.s(out);
    let mut all = args.to_vec();
    all.extend_from_slice(&["-out", &path]);
    openssl(&all);
    path
}

/// A PEM bundle: the files' texts one after the other.
fn pem_bundle(f: &Files, name: &str, parts: &[&str]) -> String {
    let text: String = parts
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("part"))
        .collect();
    f.write(name, &text).display().to_string()
}

#[test]
fn encrypted_pem_keys_are_decrypted_and_compared_legacy_encryption_is_a_clear_error() {
    if !openssl_ok() {
        return;
    }
    let f = Files::new(Pki::new());
    let cas = f.cas("cas.pem", &f.full_cas()).display().to_string();
    let (leaf, key, pw) = (f.s("leaf.pem"), f.s("leaf.key"), f.s("password"));
    let topk8 = |out: &str, extra: &[&str]| {
        let mut args = vec!["pkcs8", "-topk8", "-in", &key, "-passout", "pass:s3cret!"];
        args.extend_from_slice(extra);
        made(&f, out, &args)
    };
    // PBES2 as OpenSSL 3 writes it (PBKDF2-HMAC-SHA256, AES-256-CBC), the
    // 3DES / HMAC-SHA1 form of older tools, and scrypt (N=16384, r=8).
    let cases = [
        ("aes", topk8("aes.p8", &["-v2", "aes-256-cbc"])),
        (
            "3des-sha1",
            topk8("3des.p8", &["-v2", "des3", "-v2prf", "hmacWithSHA1"]),
        ),
        (
            "scrypt",
            topk8("scrypt.p8", &["-scrypt", "-v2", "aes-256-cbc"]),
        ),
    ];
    for (name, p8) in &cases {
        let bundle = pem_bundle(&f, &format!("{name}.pem"), &[p8, &leaf, &cas]);
        let o = pki_check(&f, &bundle, &["--password-file", &pw]);
        let out = text(&o);
        assert_eq!(code(&o), 0, "{name}: {out}");
        assert!(
            out.contains("pem, 5 certificates, 1 private key")
                && out.contains("key 0: rsa 2048 matches the certificate at position 0"),
            "{name}: {out}"
        );
        assert!(out.trim_end().ends_with("PASS"), "{name}: {out}");
    }
    let (_, aes) = &cases[0];
    let bundle = pem_bundle(&f, "aes.pem", &[aes, &leaf, &cas]);
    let o = pki_check(&f, &bundle, &[]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        text(&o).contains(
            "PEM private key 0 is encrypted (ENCRYPTED PRIVATE KEY): give its password with --password-file"
        ),
        "{}",
        text(&o)
    );
    let o = pki_check(&f, &bundle, &["--password-file", &f.s("wrong-password")]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        text(&o).contains("wrong password for PEM private key 0 (ENCRYPTED PRIVATE KEY)"),
        "{}",
        text(&o)
    );

    // The wrong key, encrypted by `openssl genpkey -aes256`: before it
    // was decrypted this bundle read as "no private key" and passed.
    let other = made(
        &f,
        "other.p8",
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-aes256",
            "-pass",
            "pass:s3cret!",
        ],
    );
    let bundle = pem_bundle(&f, "other.pem", &[&other, &leaf, &cas]);
    let o = pki_check(&f, &bundle, &["--password-file", &pw]);
    let out = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains("key 0: rsa 2048 matches NO certificate")
            && out.contains("fail key_mismatch: private key 0 (rsa 2048) matches none"),
        "{out}"
    );

    // OpenSSL's `-v1` (a PKCS#12 PBE), which the pkcs8 crate does not
    // decrypt: said, not skipped.
    let v1 = topk8("v1.p8", &["-v1", "PBE-SHA1-3DES"]);
    let bundle = pem_bundle(&f, "v1.pem", &[&v1, &leaf]);
    let o = pki_check(&f, &bundle, &["--password-file", &pw]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        text(&o).contains(
            "PEM private key 0 (ENCRYPTED PRIVATE KEY) cannot be decrypted: \
             the PKCS#12 PBE scheme 1.2.840.113549.1.12.1.3"
        ),
        "{}",
        text(&o)
    );

    // RFC 1421 encryption (`Proc-Type: 4,ENCRYPTED`) of an RSA and an EC key.
    let legacy = made(
        &f,
        "legacy-rsa.key",
        &[
            "rsa",
            "-in",
            &key,
            "-aes256",
            "-traditional",
            "-passout",
            "pass:s3cret!",
        ],
    );
    let ec = made(&f, "ec.key", &["ecparam", "-name", "prime256v1", "-genkey"]);
    let legacy_ec = made(
        &f,
        "legacy-ec.key",
        &["ec", "-in", &ec, "-aes128", "-passout", "pass:s3cret!"],
    );
    for (label, dek, file) in [
        ("RSA PRIVATE KEY", "AES-256-CBC", &legacy),
        ("EC PRIVATE KEY", "AES-128-CBC", &legacy_ec),
    ] {
        let bundle = pem_bundle(&f, "legacy.pem", &[&leaf, file]);
        let o = pki_check(&f, &bundle, &["--password-file", &pw]);
        assert_eq!(code(&o), 2, "{label}: {}", text(&o));
        assert!(
            text(&o).contains(&format!(
                "PEM private key 0 ({label}) is encrypted the legacy OpenSSL way \
                 (Proc-Type: 4,ENCRYPTED, DEK-Info {dek}), which is not read"
            )),
            "{label}: {}",
            text(&o)
        );
    }
}

#[test]
fn sec1_ec_keys_are_compared() {
    if !openssl_ok() {
        return;
    }
    let f = Files::new(Pki::new());
    let cas = f.cas("cas.pem", &f.full_cas()).display().to_string();
    f.write("ca66.pem", &pem_all(&[&f.pki.ca66]));
    f.write("ca66.key", &f.pki.ca66_key_pem);
    // `openssl ecparam -genkey` writes EC PARAMETERS, then the SEC1 key.
    let ec = made(&f, "ec.key", &["ecparam", "-name", "prime256v1", "-genkey"]);
    let ec_text = std::fs::read_to_string(&ec).expect("ec key");
    assert!(
        ec_text.contains("BEGIN EC PARAMETERS") && ec_text.contains("BEGIN EC PRIVATE KEY"),
        "{ec_text}"
    );
    let csr = made(
        &f,
        "ec.csr",
        &["req", "-new", "-key", &ec, "-subj", "/CN=mdm.lab.test"],
    );
    let ext = f.write(
        "ec.ext",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    );
    let ec_leaf = made(
        &f,
        "ec-leaf.pem",
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &f.s("ca66.pem"),
            "-CAkey",
            &f.s("ca66.key"),
            "-set_serial",
            "0x7101",
            "-days",
            "90",
            "-extfile",
            &ext.display().to_string(),
        ],
    );
    let bundle = pem_bundle(&f, "ec.pem", &[&ec, &ec_leaf, &cas]);
    let o = pki_check(&f, &bundle, &[]);
    let out = text(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(
        out.contains("key 0: ec P-256 matches the certificate at position 0"),
        "{out}"
    );
    assert!(
        out.contains("path fcpca-g2: valid, positions 0 -> 1 -> 2 -> 3 -> 4"),
        "{out}"
    );

    // A P-384 SEC1 key beside the RSA server certificate: compared, and
    // it is not the certificate's.
    let p384 = made(
        &f,
        "p384.key",
        &["ecparam", "-name", "secp384r1", "-genkey"],
    );
    let bundle = pem_bundle(&f, "p384.pem", &[&p384, &f.s("leaf.pem"), &cas]);
    let o = pki_check(&f, &bundle, &[]);
    let out = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains("key 0: ec P-384 matches NO certificate"),
        "{out}"
    );
    assert!(!out.contains("not compared"), "{out}");
}

#[test]
fn a_pkcs12_with_the_server_certificate_but_no_key_fails_a_ca_only_one_passes() {
    if !openssl_ok() {
        return;
    }
    let f = Files::new(Pki::new());
    let cas = f.cas("cas.pem", &f.full_cas()).display().to_string();
    let nokey = made(
        &f,
        "nokey.p12",
        &[
            "pkcs12",
            "-export",
            "-nokeys",
            "-in",
            &f.s("leaf.pem"),
            "-certfile",
            &cas,
            "-passout",
            "pass:",
        ],
    );
    let o = pki_check(&f, &nokey, &[]);
    let out = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains("pkcs12, 5 certificates, 0 private keys"),
        "{out}"
    );
    assert!(
        out.contains(
            "fail key_mismatch: the PKCS#12 carries the server certificate mdm.lab.test but no private key"
        ),
        "{out}"
    );
    let ca_only = made(
        &f,
        "ca-only.p12",
        &[
            "pkcs12", "-export", "-nokeys", "-in", &cas, "-passout", "pass:",
        ],
    );
    let o = pki_check(&f, &ca_only, &[]);
    let out = text(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(
        out.contains("no private key") && !out.contains("key_mismatch"),
        "{out}"
    );
}

/// A Certificate payload of `kind` (`pkcs12`, `pem`, `root`) numbered
/// `n`, with its `Password` key when given and `content` as its data
/// (`None`: no PayloadContent).
fn cert_payload(kind: &str, n: u32, password: Option<&str>, content: Option<&[u8]>) -> String {
    use base64::Engine;
    let password = password
        .map(|p| format!("<key>Password</key><string>{p}</string>\n"))
        .unwrap_or_default();
    let content = content
        .map(|c| {
            format!(
                "<key>PayloadContent</key><data>{}</data>\n",
                base64::engine::general_purpose::STANDARD.encode(c)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<dict>
<key>PayloadType</key><string>com.apple.security.{kind}</string>
<key>PayloadIdentifier</key><string>mil.lab.mdm.pki.{kind}{n}</string>
<key>PayloadDisplayName</key><string>{kind} {n}</string>
<key>PayloadUUID</key><string>0B6A8A52-8D0E-4C8B-9C55-1D2F0A0001{n:02}</string>
<key>PayloadVersion</key><integer>1</integer>
{password}{content}</dict>
"#
    )
}

/// A configuration profile around `payloads` (dictionaries as XML).
fn profile_with(payloads: &[String]) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
<key>PayloadType</key><string>Configuration</string>
<key>PayloadIdentifier</key><string>mil.lab.mdm.pki</string>
<key>PayloadDisplayName</key><string>MDM PKI and mail</string>
<key>PayloadUUID</key><string>0B6A8A52-8D0E-4C8B-9C55-1D2F0A000001</string>
<key>PayloadVersion</key><integer>1</integer>
<key>PayloadContent</key>
<array>
{}</array>
</dict>
</plist>
"#,
        payloads.concat()
    )
}

/// A profile with a PKCS#12 Certificate payload and an Exchange payload
/// whose S/MIME keys are `smime` (`None`: left out).
fn profile_xml(p12: &[u8], password: &str, smime: [Option<bool>; 3]) -> String {
    let keys = [
        "SMIMESigningUserOverrideable",
        "SMIMESigningCertificateUUIDUserOverrideable",
        "SMIMEEncryptByDefaultUserOverrideable",
    ];
    let settings: String = keys
        .iter()
        .zip(smime)
        .filter_map(|(k, v)| v.map(|v| format!("<key>{k}</key><{v}/>\n")))
        .collect();
    let server = cert_payload("pkcs12", 2, Some(password), Some(p12)).replace(
        "<key>PayloadDisplayName</key><string>pkcs12 2</string>",
        "<key>PayloadDisplayName</key><string>MDM server identity</string>",
    );
    profile_with(&[
        server,
        format!(
            r#"<dict>
<key>PayloadType</key><string>com.apple.eas.account</string>
<key>PayloadIdentifier</key><string>mil.lab.mdm.eas</string>
<key>PayloadDisplayName</key><string>Exchange</string>
<key>PayloadUUID</key><string>0B6A8A52-8D0E-4C8B-9C55-1D2F0A000003</string>
<key>PayloadVersion</key><integer>1</integer>
<key>Host</key><string>mail.lab.test</string>
<key>SSL</key><true/>
{settings}</dict>
"#
        ),
        r#"<dict>
<key>PayloadType</key><string>com.apple.security.scep</string>
<key>PayloadIdentifier</key><string>mil.lab.mdm.scep</string>
<key>PayloadDisplayName</key><string>Device identity</string>
<key>PayloadUUID</key><string>0B6A8A52-8D0E-4C8B-9C55-1D2F0A000004</string>
<key>PayloadVersion</key><integer>1</integer>
<key>PayloadContent</key><dict>
<key>URL</key><string>https://scep.lab.test/scep</string>
<key>Challenge</key><string>do-not-print-me</string>
<key>Keysize</key><integer>2048</integer>
</dict>
</dict>
"#
        .to_owned(),
    ])
}

fn profile_check(f: &Files, files: &[&str], extra: &[&str]) -> Output {
    let trust = f.s("fcpca-g2.pem");
    let mut args = vec!["profile", "check"];
    args.extend_from_slice(files);
    args.extend_from_slice(&["--trust", &trust]);
    args.extend_from_slice(extra);
    flowprobe(&args)
}

#[test]
fn profiles_plain_binary_and_signed_pass_and_openssl_agrees_on_the_path() {
    if !openssl_ok() {
        return;
    }
    let f = Files::new(Pki::new());
    let cas = f.cas("cas.pem", &f.full_cas());
    let (ok, said) = openssl_verify(&f.path("fcpca-g2.pem"), &cas, &f.path("leaf.pem"));
    assert!(ok, "oracle: {said}");
    let p12 = std::fs::read(f.p12("server.p12", &cas, Some("s3cret!"), &["-legacy"])).expect("p12");
    let xml = f.write(
        "plain.mobileconfig",
        &profile_xml(&p12, "s3cret!", [Some(true); 3]),
    );

    let value = plist::Value::from_file(&xml).expect("the test's XML is a plist");
    let binary = f.path("binary.mobileconfig");
    value.to_file_binary(&binary).expect("binary plist");

    // Signed by DOD SW CA-66's key (any key does; the signer is reported).
    f.write("ca66.pem", &pem_all(&[&f.pki.ca66]));
    f.write("ca66.key", &f.pki.ca66_key_pem);
    let (signed, streamed) = (f.s("signed.mobileconfig"), f.s("streamed.mobileconfig"));
    let (ca66, ca66_key, xml_s) = (f.s("ca66.pem"), f.s("ca66.key"), xml.display().to_string());
    openssl(&[
        "smime",
        "-sign",
        "-binary",
        "-nodetach",
        "-outform",
        "der",
        "-in",
        &xml_s,
        "-signer",
        &ca66,
        "-inkey",
        &ca66_key,
        "-out",
        &signed,
    ]);
    // BER with indefinite lengths and a chunked eContent (`-stream`).
    openssl(&[
        "cms",
        "-sign",
        "-binary",
        "-nodetach",
        "-stream",
        "-outform",
        "der",
        "-in",
        &xml_s,
        "-signer",
        &ca66,
        "-inkey",
        &ca66_key,
        "-out",
        &streamed,
    ]);

    let binary_s = binary.display().to_string();
    let o = profile_check(&f, &[&xml_s, &binary_s, &signed, &streamed], &[]);
    let out = text(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(out.contains("4 profiles, 4 pass, 0 fail"), "{out}");
    assert!(
        out.contains("plain.mobileconfig: xml plist, unsigned"),
        "{out}"
    );
    assert!(
        out.contains("binary.mobileconfig: binary plist, unsigned"),
        "{out}"
    );
    assert!(
        out.contains("signed.mobileconfig: cms-signed xml plist"),
        "{out}"
    );
    assert_eq!(
        out.matches("signature valid: signer CN=DOD SW CA-66")
            .count(),
        2,
        "{out}"
    );
    assert_eq!(
        out.matches("path fcpca-g2: valid, positions 0 -> 1 -> 2 -> 3 -> 4")
            .count(),
        4,
        "{out}"
    );
    assert_eq!(
        out.matches("ok   SMIMEEncryptByDefaultUserOverrideable = true")
            .count(),
        4,
        "{out}"
    );
    assert!(
        out.contains("Challenge = (set)") && !out.contains("do-not-print-me"),
        "{out}"
    );

    let o = profile_check(&f, &[&signed], &["--output", "json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["profiles"][0]["signature"]["valid"], true);
    assert_eq!(
        v["profiles"][0]["payloads"][0]["judged"]["kind"],
        "certificate"
    );
    assert_eq!(
        v["profiles"][0]["payloads"][1]["judged"]["settings"][2]["ok"],
        true
    );

    // One byte of the signed content changed: the signature fails.
    let mut bytes = std::fs::read(&signed).expect("signed");
    let at = bytes
        .windows(13)
        .position(|w| w == b"mail.lab.test")
        .expect("content");
    bytes[at] = b'n';
    let tampered = f.path("tampered.mobileconfig");
    std::fs::write(&tampered, bytes).expect("write");
    let o = profile_check(&f, &[&tampered.display().to_string()], &[]);
    let out = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(out.contains("fail profile_signature"), "{out}");
}

#[test]
fn profiles_missing_and_false_smime_keys_fail_and_bad_files_are_clear_errors() {
    if !openssl_ok() {
        return;
    }
    let f = Files::new(Pki::new());
    let cas = f.cas("cas.pem", &f.full_cas());
    let p12 = std::fs::read(f.p12("server.p12", &cas, Some("s3cret!"), &[])).expect("p12");
    let bad = f.write(
        "smime.mobileconfig",
        &profile_xml(&p12, "s3cret!", [Some(true), None, Some(false)]),
    );
    let o = profile_check(&f, &[&bad.display().to_string()], &[]);
    let out = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains("FAIL SMIMESigningCertificateUUIDUserOverrideable = missing"),
        "{out}"
    );
    assert!(
        out.contains("FAIL SMIMEEncryptByDefaultUserOverrideable = false"),
        "{out}"
    );
    assert!(
        out.contains("ok   SMIMESigningUserOverrideable = true"),
        "{out}"
    );
    assert_eq!(out.matches("fail profile_setting").count(), 2, "{out}");

    // The payload's own password is wrong: the device would refuse it.
    let wrong = f.write(
        "wrong.mobileconfig",
        &profile_xml(&p12, "nope", [Some(true); 3]),
    );
    let o = profile_check(&f, &[&wrong.display().to_string()], &[]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(
        text(&o).contains("the payload's Password does not open its PKCS#12"),
        "{}",
        text(&o)
    );

    let truncated = f.write(
        "truncated.mobileconfig",
        "<?xml version=\"1.0\"?>\n<plist version=\"1.0\"><dict><key>PayloadType</key>",
    );
    let o = profile_check(&f, &[&truncated.display().to_string()], &[]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        text(&o)
            .contains("truncated.mobileconfig: not a valid property list (XML or binary plist)"),
        "{}",
        text(&o)
    );
    let not_profile = f.write(
        "array.mobileconfig",
        "<plist version=\"1.0\"><array/></plist>",
    );
    let o = profile_check(&f, &[&not_profile.display().to_string()], &[]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        text(&o).contains("not a configuration profile: the top level is not a dictionary"),
        "{}",
        text(&o)
    );

    // 100 MB (sparse): refused by its size, not read.
    let huge = f.path("huge.mobileconfig");
    std::fs::File::create(&huge)
        .and_then(|h| h.set_len(100 * 1024 * 1024))
        .expect("sparse file");
    let o = profile_check(&f, &[&huge.display().to_string()], &[]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        text(&o).contains("huge.mobileconfig: 104857600 bytes is more than the 16777216 bytes"),
        "{}",
        text(&o)
    );
    let o = pki_check(&f, &huge.display().to_string(), &[]);
    assert_eq!(code(&o), 2, "{}", text(&o));
}

/// `openssl cms -sign` of `content` by `signer`, DER, with `extra` options
/// (`-certfile`, `-nocerts`).
fn cms_sign(f: &Files, out: &str, content: &str, signer: &Made, extra: &[&str]) -> String {
    let (cert, key) = (
        signer.cert.display().to_string(),
        signer.key.display().to_string(),
    );
    let mut args = vec![
        "cms",
        "-sign",
        "-binary",
        "-nodetach",
        "-outform",
        "der",
        "-in",
        content,
        "-signer",
        &cert,
        "-inkey",
        &key,
    ];
    args.extend_from_slice(extra);
    made(f, out, &args)
}

/// `openssl cms -verify` against the lab FCPCA G2 only: what a device that
/// trusts it concludes about a signed profile (the oracle).
fn openssl_cms_verify(f: &Files, signed: &str) -> (bool, String) {
    let out = std::process::Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "der", "-in", signed])
        .args(["-CAfile", &f.s("fcpca-g2.pem"), "-out", "/dev/null"])
        .output()
        .expect("run openssl cms -verify");
    (out.status.success(), text(&out))
}

#[test]
fn a_signed_profiles_signer_is_judged_against_the_stores_and_a_missing_signer_fails() {
    if !openssl_ok() {
        return;
    }
    let f = Files::new(Pki::new());
    let cas = f.cas("cas.pem", &f.full_cas()).display().to_string();
    let p12 =
        std::fs::read(f.p12("server.p12", Path::new(&cas), Some("s3cret!"), &[])).expect("p12");
    let xml = f
        .write(
            "plain.mobileconfig",
            &profile_xml(&p12, "s3cret!", [Some(true); 3]),
        )
        .display()
        .to_string();
    // A profile-signing certificate as a CA issues one: S/MIME and code
    // signing EKUs (no serverAuth), issued by DOD SW CA-66; and the same
    // key's certificate that expired yesterday.
    let ca_dir = f.path("ca");
    std::fs::create_dir(&ca_dir).expect("ca dir");
    let mut ca = OpensslCa::new(&ca_dir);
    let ca66 = Made {
        cert: f.write("ca66.pem", &pem_all(&[&f.pki.ca66])),
        key: f.write("ca66.key", &f.pki.ca66_key_pem),
        der: f.pki.ca66.clone(),
    };
    let ext = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
               extendedKeyUsage=emailProtection,codeSigning\n\
               subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";
    let subject = dod_subject("MDM Profile Signer");
    let signer = ca.issue(
        "signer",
        "signer",
        &subject,
        &ca66,
        ext,
        &date(-1),
        &date(365),
    );
    let expired = ca.issue(
        "expired",
        "signer",
        &subject,
        &ca66,
        ext,
        &date(-30),
        &date(-1),
    );

    let full = cms_sign(&f, "full.mobileconfig", &xml, &signer, &["-certfile", &cas]);
    let alone = cms_sign(&f, "alone.mobileconfig", &xml, &signer, &[]);
    let old = cms_sign(&f, "old.mobileconfig", &xml, &expired, &["-certfile", &cas]);
    let nocerts = cms_sign(&f, "nocerts.mobileconfig", &xml, &signer, &["-nocerts"]);

    // The signer with its whole path carried: verified, nothing to say.
    let (ok, said) = openssl_cms_verify(&f, &full);
    assert!(ok, "oracle refuses the fully carried signer: {said}");
    let o = profile_check(&f, &[&full], &[]);
    let out = text(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(
        out.contains("signature valid: signer CN=MDM Profile Signer, OU=PKI, OU=DoD"),
        "{out}"
    );
    assert!(
        out.contains(
            "  signer path fcpca-g2: valid, positions 0 -> 1 -> 2 -> 3 -> 4 \
             to CN=Federal Common Policy CA G2, OU=FPKI"
        ),
        "{out}"
    );
    assert!(!out.contains("profile_signature"), "{out}");

    // Only the signer's own certificate: the signature verifies, the path
    // does not, and a device shows it as not verified: a warning.
    let (ok, said) = openssl_cms_verify(&f, &alone);
    assert!(!ok, "oracle verifies a signer without its path: {said}");
    let o = profile_check(&f, &[&alone], &[]);
    let out = text(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(
        out.contains("signature valid: signer CN=MDM Profile Signer"),
        "{out}"
    );
    assert!(
        out.contains(
            "  signer path fcpca-g2: not valid, positions 0: path stops at CN=MDM Profile Signer"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "  warn profile_signature: signer certificate CN=MDM Profile Signer, OU=PKI, OU=DoD, \
             O=U.S. Government, C=US: chain_incomplete store fcpca-g2: path stops at"
        ) && out.contains("the signature verifies, but a device that trusts only these stores shows the profile as not verified"),
        "{out}"
    );

    // Expired yesterday: the same warning, naming the expiry.
    let (ok, said) = openssl_cms_verify(&f, &old);
    assert!(!ok && said.contains("expired"), "oracle: {said}");
    let o = profile_check(&f, &[&old], &["--output", "json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let profile = &v["profiles"][0];
    assert_eq!(profile["signature"]["valid"], true);
    assert_eq!(
        profile["signer_chain"]["anchors"][0]["verified"], false,
        "{profile}"
    );
    let warning = profile["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["reason"] == "profile_signature")
        .expect("a signer warning");
    assert_eq!(warning["level"], "warn");
    // The signer's own path says why, as data: the signer expired.
    let anchor = &profile["signer_chain"]["anchors"][0];
    assert_eq!(
        (
            &anchor["reason"],
            &anchor["violation"]["rule"],
            &anchor["violation"]["position"]
        ),
        (&"cert_expired".into(), &"expired".into(), &0.into()),
        "{profile}"
    );
    let detail = warning["detail"].as_str().unwrap_or("");
    assert!(
        detail.starts_with("signer certificate CN=MDM Profile Signer")
            && detail.contains("cert_expired store fcpca-g2: position 0 (MDM Profile Signer")
            && detail.contains("expired at"),
        "{detail}"
    );

    // Without the signer's certificate nothing can be verified.
    let o = profile_check(&f, &[&nocerts], &[]);
    let out = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains("signature INVALID: signer certificate not included"),
        "{out}"
    );
    assert!(
        out.contains(
            "fail profile_signature: the profile's signature does not verify: \
             the signer's certificate is not in the SignedData"
        ),
        "{out}"
    );
    assert!(!out.contains("signer path"), "{out}");
}

#[test]
fn profile_certificate_payloads_pem_root_password_file_and_missing_content() {
    if !openssl_ok() {
        return;
    }
    let old = Pki::generate(&PkiOptions {
        cross_expired: true,
        ..PkiOptions::default()
    });
    let f = Files::new(Pki::new());
    let cas = f.cas("cas.pem", &f.full_cas());
    let p12 = std::fs::read(f.p12("server.p12", &cas, Some("s3cret!"), &[])).expect("p12");

    // A PKCS#12 payload without a Password key: --password-file opens it.
    let xml = profile_with(&[cert_payload("pkcs12", 1, None, Some(&p12))]);
    let nopass = f.write("nopass.mobileconfig", &xml).display().to_string();
    let o = profile_check(&f, &[&nopass], &["--password-file", &f.s("password")]);
    let out = text(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(
        out.contains("    pkcs12, password from password-file"),
        "{out}"
    );
    assert!(
        out.contains("    path fcpca-g2: valid, positions 0 -> 1 -> 2 -> 3 -> 4"),
        "{out}"
    );
    let o = profile_check(&f, &[&nopass], &[]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        text(&o).contains(
            "nopass.mobileconfig: payload 0 (mil.lab.mdm.pki.pkcs121): \
             the PKCS#12 is protected by a password: give it with --password-file"
        ),
        "{}",
        text(&o)
    );

    // `.pem` (the server certificate and its CAs as PEM text) and `.root`
    // (one DER CA certificate) payloads, judged as `pki check` judges the
    // same bytes; an expired root fails; a payload without content fails.
    let leaf_and_cas = format!(
        "{}{}",
        pem_all(&[&f.pki.leaf]),
        std::fs::read_to_string(&cas).expect("cas")
    );
    let xml = profile_with(&[
        cert_payload("pem", 1, None, Some(leaf_and_cas.as_bytes())),
        cert_payload("root", 2, None, Some(f.pki.fcpca.as_ref())),
        cert_payload("root", 3, None, Some(old.dod_root_cross.as_ref())),
        cert_payload("pem", 4, None, None),
    ]);
    let certs = f.write("certs.mobileconfig", &xml).display().to_string();
    let o = profile_check(&f, &[&certs], &[]);
    let out = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains(
            "  payload 0 com.apple.security.pem \"pem 1\": PASS\n    pem, password from none\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("    path fcpca-g2: valid, positions 0 -> 1 -> 2 -> 3 -> 4"),
        "{out}"
    );
    assert!(
        out.contains(
            "  payload 1 com.apple.security.root \"root 2\": PASS\n    der, password from none\n"
        ) && out.contains("      0  self-signed Federal Common Policy CA G2"),
        "{out}"
    );
    assert!(
        out.contains("  payload 2 com.apple.security.root \"root 3\": FAIL\n")
            && out.contains("    fail cert_expired: position 0 (CN=DoD Root CA 3"),
        "{out}"
    );
    assert!(
        out.contains("  payload 3 com.apple.security.pem \"pem 4\": FAIL\n")
            && out.contains(
                "    fail profile_setting: the certificate payload has no PayloadContent data"
            ),
        "{out}"
    );
    assert!(!out.contains("not judged"), "{out}");
}

/// `pki check` never passes with nothing judged: the real DoD CA path
/// without a server certificate is judged from its lowest CA (a warning
/// that says so), also when the CA comes first in the file; `--at` sets
/// the validation time; a file none of whose certificates parses fails;
/// `--name` on a file without a server certificate fails.
#[test]
fn a_ca_only_file_is_judged_from_its_lowest_ca_and_unparsable_files_fail() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fpki");
    let path = fixtures.join("dod-sw-ca-66-path.pem").display().to_string();
    let at = ["--at", "2024-10-20T00:00:00Z", "--trust", "fcpca-g2"];
    let mut args = vec!["pki", "check", &path];
    args.extend_from_slice(&at);
    let o = flowprobe(&args);
    let out = text(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(out.contains("validated at 2024-10-20T00:00:00Z"), "{out}");
    assert!(
        out.contains(
            "warn chain_incomplete: no server certificate in the file: judged the path of CA \
             certificate DOD SW CA-66 (file index 0) to each store"
        ),
        "{out}"
    );
    assert!(
        out.contains("path fcpca-g2: valid, positions 0 -> 1 -> 2 -> 3"),
        "{out}"
    );
    // The same file after the DoD Root CA 3 cross-certificate expired.
    let o = flowprobe(&[
        "pki",
        "check",
        &path,
        "--at",
        "2024-12-01T00:00:00Z",
        "--trust",
        "fcpca-g2",
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    // CA first in file order: the root cross before the issuing CA.
    let dir = tempfile::tempdir().expect("tempdir");
    let shuffled = dir.path().join("ca-first.pem");
    let read = |n: &str| std::fs::read_to_string(fixtures.join(n)).expect("fixture");
    std::fs::write(
        &shuffled,
        read("dod-root-ca-3-by-dod-interop-root-ca-2.pem")
            + &read("fbca-g4-by-fcpca-g2.pem")
            + &read("dod-sw-ca-66.pem")
            + &read("dod-interop-root-ca-2-by-fbca-g4.pem"),
    )
    .expect("write");
    let shuffled = shuffled.display().to_string();
    let mut args = vec!["pki", "check", &shuffled];
    args.extend_from_slice(&at);
    let o = flowprobe(&args);
    let out = text(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(
        out.contains("CA certificate DOD SW CA-66 (file index 2)"),
        "{out}"
    );
    // --name needs a server certificate.
    let mut args = vec!["pki", "check", &path, "--name", "mdm.example.mil"];
    args.extend_from_slice(&at);
    let o = flowprobe(&args);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("no server certificate in the file to check the name"));
    // Only unparsable certificates: nothing judged is a failure.
    let junk = dir.path().join("junk.pem");
    std::fs::write(
        &junk,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".repeat(3),
    )
    .expect("write");
    let junk = junk.display().to_string();
    let o = flowprobe(&[
        "pki", "check", &junk, "--trust", "fcpca-g2", "--output", "json",
    ]);
    let out = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(out.contains("\"ok\": false"), "{out}");
    assert!(
        out.contains("none of the 3 certificates of the file parses"),
        "{out}"
    );
    // A policy the path does not carry, required: refused by name.
    let mut args = vec![
        "pki",
        "check",
        &path,
        "--initial-policy",
        "id-fpki-common-authentication",
        "--require-explicit-policy",
    ];
    args.extend_from_slice(&at);
    let o = flowprobe(&args);
    let out = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains("include none of store fcpca-g2's initial_policies"),
        "{out}"
    );
    let o = flowprobe(&["pki", "check", &path, "--initial-policy", "id-bogus"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
}

/// A certificate whose subject holds a newline, a forged log line, a
/// terminal escape and a right-to-left override: `pki check` shows them
/// escaped, so no line of its output is forged (issue 30 row 5).
#[test]
fn hostile_subject_text_is_shown_escaped() {
    let mut params = support::pki::ec_ca("x");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "evil\nflowprobe: flow up\u{1b}[2J\u{202e}txt",
    );
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("cert");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("hostile.pem");
    std::fs::write(&file, cert.pem()).expect("write");
    let file = file.display().to_string();
    let o = flowprobe(&["pki", "check", &file, "--trust", "fcpca-g2"]);
    let out = text(&o);
    assert!(
        out.contains("evil\\nflowprobe: flow up\\u{1b}[2J\\u{202e}txt"),
        "{out}"
    );
    assert!(
        !out.contains('\u{1b}') && !out.contains('\u{202e}'),
        "{out}"
    );
    assert!(
        !out.lines().any(|l| l.starts_with("flowprobe: flow up")),
        "a forged line: {out}"
    );
}

/// A 135-byte binary plist whose object i is `[i+1, i+1]` would expand to
/// 2^40 values through shared references: `profile check` refuses it with
/// a clear error before reading it, instead of filling the host's memory
/// (issue 30 row 1).
#[test]
fn a_binary_plist_reference_bomb_is_refused_before_reading() {
    let n: u8 = 40;
    let mut bytes = b"bplist00".to_vec();
    let mut offsets = Vec::new();
    for i in 0..n {
        offsets.push(bytes.len() as u16);
        if i + 1 < n {
            bytes.extend([0xA2, i + 1, i + 1]);
        } else {
            bytes.extend([0x10, 1]);
        }
    }
    let table = bytes.len() as u64;
    for o in offsets {
        bytes.extend(o.to_be_bytes());
    }
    bytes.extend([0, 0, 0, 0, 0, 0, 2, 1]);
    bytes.extend(u64::from(n).to_be_bytes());
    bytes.extend(0u64.to_be_bytes());
    bytes.extend(table.to_be_bytes());
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bomb.mobileconfig");
    std::fs::write(&file, &bytes).expect("write");
    let file = file.display().to_string();
    let o = flowprobe(&["profile", "check", &file, "--trust", "fcpca-g2"]);
    let out = text(&o);
    assert_eq!(code(&o), 2, "{out}");
    assert!(
        out.contains("expands to more than 200000 values through shared references"),
        "{out}"
    );
}

/// A `.mobileconfig` whose PEM Certificate payload holds only unparsable
/// CERTIFICATE blocks fails that payload and the profile: nothing judged is
/// no pass (issue 30 row 2, inside a profile).
#[test]
fn a_profile_payload_of_unparsable_certificates_fails() {
    let junk = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".repeat(3);
    let xml = profile_with(&[cert_payload("pem", 1, None, Some(junk.as_bytes()))]);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("junk.mobileconfig");
    std::fs::write(&file, xml).expect("write");
    let file = file.display().to_string();
    let o = flowprobe(&["profile", "check", &file, "--trust", "fcpca-g2"]);
    let out = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains("payload 0 com.apple.security.pem \"pem 1\": FAIL"),
        "{out}"
    );
    assert!(
        out.contains("none of the 3 certificates of the file parses"),
        "{out}"
    );
}

use super::*;
use crate::outcome::Level;
use proptest::prelude::*;

fn names(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An offer with the same list in both directions.
fn offer(kex: &str, host_key: &str, ciphers: &str, macs: &str, compression: &str) -> KexInit {
    KexInit {
        cookie: [0; 16],
        kex_algorithms: names(kex),
        server_host_key_algorithms: names(host_key),
        encryption_client_to_server: names(ciphers),
        encryption_server_to_client: names(ciphers),
        mac_client_to_server: names(macs),
        mac_server_to_client: names(macs),
        compression_client_to_server: names(compression),
        compression_server_to_client: names(compression),
        languages_client_to_server: vec![],
        languages_server_to_client: vec![],
        first_kex_packet_follows: false,
        reserved: 0,
    }
}

fn stig_offer() -> KexInit {
    offer(
        "ecdh-sha2-nistp256,diffie-hellman-group16-sha512,ext-info-s,kex-strict-s-v00@openssh.com",
        "rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256",
        "aes256-gcm@openssh.com,aes256-ctr,aes128-ctr",
        "hmac-sha2-512-etm@openssh.com,hmac-sha2-256",
        "none,zlib@openssh.com",
    )
}

#[test]
fn stig_offer_complies_and_markers_are_not_algorithms() {
    let j = judge(&stig_offer(), &SshPolicy::stig());
    assert!(j.is_compliant(), "{j:?}");
    assert_eq!(j.markers, ["ext-info-s", "kex-strict-s-v00@openssh.com"]);
    assert!(j.offered.iter().all(|a| a.allowed && !is_marker(&a.name)));
    assert_eq!(j.offered.len(), 12);
    assert!(findings(&j, Action::Fail).is_empty());
}

#[test]
fn weak_offer_names_exactly_the_violations() {
    let mut kex = stig_offer();
    kex.kex_algorithms.push("diffie-hellman-group1-sha1".into());
    kex.server_host_key_algorithms.push("ssh-rsa".into());
    // Weak only in one direction still counts.
    kex.encryption_server_to_client.push("aes128-cbc".into());
    kex.mac_client_to_server.push("hmac-sha1".into());
    let j = judge(&kex, &SshPolicy::stig());
    let want: BTreeMap<AlgorithmKind, Vec<String>> = [
        (AlgorithmKind::Kex, names("diffie-hellman-group1-sha1")),
        (AlgorithmKind::HostKey, names("ssh-rsa")),
        (AlgorithmKind::Cipher, names("aes128-cbc")),
        (AlgorithmKind::Mac, names("hmac-sha1")),
    ]
    .into();
    assert_eq!(j.violations, want);
    assert_eq!(j.violation_count(AlgorithmKind::Cipher), 1);
    let found = findings(&j, Action::Fail);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].reason, Reason::SshWeakAlgorithms);
    assert_eq!(found[0].level, Level::Fail);
    assert_eq!(
        found[0].detail,
        "policy stig: kex: diffie-hellman-group1-sha1; host_key: ssh-rsa; \
         cipher: aes128-cbc; mac: hmac-sha1"
    );
    assert_eq!(findings(&j, Action::Warn)[0].level, Level::Warn);
    assert!(findings(&j, Action::Off).is_empty());
}

#[test]
fn directions_are_merged_without_duplicates() {
    let mut kex = stig_offer();
    kex.encryption_server_to_client = names("aes128-ctr,aes192-ctr");
    let j = judge(&kex, &SshPolicy::stig());
    let ciphers: Vec<&str> = j
        .offered
        .iter()
        .filter(|a| a.kind == AlgorithmKind::Cipher)
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(
        ciphers,
        [
            "aes256-gcm@openssh.com",
            "aes256-ctr",
            "aes128-ctr",
            "aes192-ctr"
        ]
    );
}

#[test]
fn fips_allows_host_certificates_stig_does_not() {
    let mut kex = stig_offer();
    kex.server_host_key_algorithms
        .push("rsa-sha2-512-cert-v01@openssh.com".into());
    assert!(judge(&kex, &SshPolicy::fips()).is_compliant());
    assert!(!judge(&kex, &SshPolicy::stig()).is_compliant());
    assert_eq!(
        SshPolicy::builtin("fips").map(|p| p.name),
        Some("fips".into())
    );
    assert!(SshPolicy::builtin("nope").is_none());
    for name in BUILTIN_POLICIES {
        let policy = SshPolicy::builtin(name).unwrap();
        assert!(
            policy.validate().is_empty(),
            "{name}: {:?}",
            policy.validate()
        );
    }
}

#[test]
fn none_compression_is_a_switch() {
    let mut policy = SshPolicy::stig();
    policy.allow_none_compression = false;
    let j = judge(&stig_offer(), &policy);
    assert_eq!(
        j.violations.get(&AlgorithmKind::Compression),
        Some(&names("none"))
    );
}

#[test]
fn missing_required_algorithms_are_findings() {
    let mut policy = SshPolicy::stig();
    policy.required_kex = names("ecdh-sha2-nistp384");
    policy.required_macs = names("hmac-sha2-256");
    let j = judge(&stig_offer(), &policy);
    assert!(j.violations.is_empty());
    assert_eq!(
        j.missing_required,
        [(AlgorithmKind::Kex, names("ecdh-sha2-nistp384"))].into()
    );
    assert_eq!(
        findings(&j, Action::Fail)[0].detail,
        "policy stig: missing required kex: ecdh-sha2-nistp384"
    );
}

#[test]
fn custom_policy_from_toml() {
    let text = r#"
        kex = ["ecdh-sha2-nistp384"]
        host_key = ["ecdsa-sha2-nistp384"]
        ciphers = ["aes256-gcm@openssh.com"]
        macs = ["hmac-sha2-512-etm@openssh.com"]
        required_kex = ["ecdh-sha2-nistp384"]
    "#;
    let policy: SshPolicy = toml::from_str(text).unwrap();
    let policy = policy.named("site");
    assert_eq!(policy.name, "site");
    assert!(policy.allow_none_compression);
    assert!(!policy.allow_protocol_1_99);
    assert!(policy.compression.is_empty());
    assert!(policy.validate().is_empty());

    let unknown = format!("{text}\ncipher = [\"aes128-ctr\"]");
    let err = toml::from_str::<SshPolicy>(&unknown).unwrap_err();
    assert!(err.to_string().contains("unknown field `cipher`"), "{err}");
    let missing = toml::from_str::<SshPolicy>("kex = []").unwrap_err();
    assert!(missing.to_string().contains("missing field"), "{missing}");
}

#[test]
fn validate_names_keys() {
    let mut policy = SshPolicy::stig();
    policy.macs.clear();
    policy.ciphers.push("aes 128".into());
    policy.compression.push("none".into());
    policy.required_host_key = names("ssh-ed25519");
    assert_eq!(
        policy.validate(),
        [
            "required_host_key[0]: \"ssh-ed25519\" is required but not allowed",
            "ciphers[5]: \"aes 128\" is not an algorithm name",
            "macs: empty, so every server would violate",
            "compression: list `none` through allow_none_compression, not here",
        ]
    );
}

#[test]
fn protocol_1_99_is_a_banner_finding_unless_allowed() {
    let mut policy = SshPolicy::stig();
    assert!(protocol_finding("2.0", &policy, Action::Fail).is_none());
    let f = protocol_finding("1.99", &policy, Action::Fail).unwrap();
    assert_eq!(f.reason, Reason::SshBanner);
    policy.allow_protocol_1_99 = true;
    assert!(protocol_finding("1.99", &policy, Action::Fail).is_none());
}

#[test]
fn pins() {
    let kex = stig_offer();
    assert!(host_key_pin_finding(&kex, &names("rsa-sha2-512"), Action::Fail).is_none());
    let f = host_key_pin_finding(&kex, &names("ecdsa-sha2-nistp384"), Action::Warn).unwrap();
    assert_eq!((f.reason, f.level), (Reason::SshHostKey, Level::Warn));
    assert!(f.detail.contains("ecdsa-sha2-nistp384"), "{}", f.detail);

    let pin = Regex::new(r"^OpenSSH_9\.2p1 Debian-2\+deb12u\d+$").unwrap();
    let comments = Some("Debian-2+deb12u3");
    assert!(software_pin_finding("OpenSSH_9.2p1", comments, &pin, Action::Fail).is_none());
    let f = software_pin_finding("OpenSSH_9.3p1", comments, &pin, Action::Fail).unwrap();
    assert_eq!(f.reason, Reason::SshSoftware);
    assert!(software_pin_finding("OpenSSH_9.3p1", None, &pin, Action::Off).is_none());
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(
            STIG_CIPHERS
                .iter()
                .chain(&STIG_MACS)
                .chain(&MARKERS)
                .chain(&["none", "aes128-cbc", "ssh-rsa", "hmac-sha1"])
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
        ),
        "[a-z0-9@.-]{1,20}",
    ]
}

proptest! {
    #[test]
    fn judgement_accounts_for_every_offered_name(
        lists in proptest::array::uniform10(proptest::collection::vec(name(), 0..6)),
    ) {
        let [a, b, c, d, e, f, g, h, i, j] = lists;
        let kex = KexInit {
            cookie: [0; 16],
            kex_algorithms: a,
            server_host_key_algorithms: b,
            encryption_client_to_server: c,
            encryption_server_to_client: d,
            mac_client_to_server: e,
            mac_server_to_client: f,
            compression_client_to_server: g,
            compression_server_to_client: h,
            languages_client_to_server: i,
            languages_server_to_client: j,
            first_kex_packet_follows: false,
            reserved: 0,
        };
        let policy = SshPolicy::stig();
        let judged = judge(&kex, &policy);
        for kind in AlgorithmKind::ALL {
            let offered: Vec<&str> = judged
                .offered
                .iter()
                .filter(|o| o.kind == kind)
                .map(|o| o.name.as_str())
                .collect();
            let denied: Vec<&str> = judged
                .offered
                .iter()
                .filter(|o| o.kind == kind && !o.allowed)
                .map(|o| o.name.as_str())
                .collect();
            let violations: Vec<&str> = judged
                .violations
                .get(&kind)
                .map(|v| v.iter().map(String::as_str).collect())
                .unwrap_or_default();
            prop_assert_eq!(denied, violations);
            let mut deduped = offered.clone();
            deduped.dedup();
            prop_assert_eq!(deduped.len(), offered.len());
            prop_assert!(offered.iter().all(|n| !is_marker(n)));
        }
        prop_assert_eq!(judged.is_compliant(), findings(&judged, Action::Fail).is_empty());
    }
}

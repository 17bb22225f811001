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
        "ecdh-sha2-nistp256,diffie-hellman-group-exchange-sha256,ext-info-s,kex-strict-s-v00@openssh.com",
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

/// Dropbear (2022.83, as Debian 12 ships it) ends its kex list with
/// `kexguess2@matt.ucc.asn.au`: a signal that it accepts a guessed first
/// key exchange packet, never a key exchange to negotiate.
#[test]
fn dropbear_kexguess2_is_a_marker_not_a_forbidden_kex() {
    let mut kex = stig_offer();
    kex.kex_algorithms = names(
        "ecdh-sha2-nistp256,ecdh-sha2-nistp384,kexguess2@matt.ucc.asn.au,kex-strict-s-v00@openssh.com",
    );
    let j = judge(&kex, &SshPolicy::stig());
    assert!(j.is_compliant(), "{j:?}");
    assert_eq!(
        j.markers,
        ["kexguess2@matt.ucc.asn.au", "kex-strict-s-v00@openssh.com"]
    );
    assert!(
        j.offered
            .iter()
            .all(|a| a.name != "kexguess2@matt.ucc.asn.au")
    );
    assert!(findings(&j, Action::Fail).is_empty());
    // A policy that requires a kex is not met by the marker.
    let mut policy = SshPolicy::stig();
    policy.required_kex = vec!["ecdh-sha2-nistp521".into()];
    let j = judge(&kex, &policy);
    assert_eq!(
        j.missing_required[&AlgorithmKind::Kex],
        ["ecdh-sha2-nistp521"]
    );
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
        "policy stig (common ground of RHEL 8 STIG V2R5, RHEL 9 STIG V2R7, \
         Ubuntu 22.04 STIG V2R7, Ubuntu 24.04 STIG V1R1): \
         RHEL-08-040342, RHEL-09-215105, UBTU-22-255060, UBTU-24-100840: \
         kex diffie-hellman-group1-sha1 is not allowed; \
         host_key ssh-rsa is not allowed; \
         RHEL-08-010291, RHEL-09-255065, UBTU-22-255050, UBTU-24-100820: \
         cipher aes128-cbc is not allowed; \
         RHEL-08-010290, RHEL-09-255075, UBTU-22-255055, UBTU-24-100830: \
         mac hmac-sha1 is not allowed"
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
    let mut policy = SshPolicy::builtin("stig-rhel9").unwrap();
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
        "policy stig-rhel9 (RHEL 9 STIG V2R7): missing required kex: ecdh-sha2-nistp384"
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
            "ciphers[4]: \"aes 128\" is not an algorithm name",
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

fn policy(name: &str) -> SshPolicy {
    SshPolicy::builtin(name).unwrap_or_else(|| panic!("no built-in {name}"))
}

fn with_cipher(cipher: &str) -> KexInit {
    let mut kex = stig_offer();
    kex.encryption_client_to_server.push(cipher.into());
    kex
}

#[test]
fn every_builtin_is_named_valid_and_cites_a_release() {
    for name in BUILTIN_POLICIES {
        let p = policy(name);
        assert_eq!(p.name, name);
        assert!(p.validate().is_empty(), "{name}: {:?}", p.validate());
        assert!(!p.release.is_empty(), "{name}");
        // The common-ground offer passes every built-in.
        assert!(judge(&stig_offer(), &p).is_compliant(), "{name}");
    }
    assert!(SshPolicy::builtin("nope").is_none());
}

#[test]
fn release_lists_are_the_rule_texts() {
    let rhel9 = policy("stig-rhel9");
    assert_eq!(rhel9.release, "RHEL 9 STIG V2R7");
    assert_eq!(
        rhel9.ciphers,
        names("aes256-gcm@openssh.com,aes256-ctr,aes128-gcm@openssh.com,aes128-ctr")
    );
    assert_eq!(
        rhel9.macs,
        names(
            "hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512,hmac-sha2-256"
        )
    );
    assert_eq!(rhel9.compression, names("zlib@openssh.com"));
    let rules: Vec<(AlgorithmKind, &str)> = rhel9
        .basis
        .iter()
        .map(|b| (b.kind, b.rule.as_str()))
        .collect();
    assert_eq!(
        rules,
        [
            (AlgorithmKind::Kex, "RHEL-09-215105"),
            (AlgorithmKind::Cipher, "RHEL-09-255065"),
            (AlgorithmKind::Mac, "RHEL-09-255075"),
            (AlgorithmKind::Compression, "RHEL-09-255130"),
        ]
    );
    let ubuntu = policy("stig-ubuntu2204");
    assert_eq!(
        ubuntu.kex,
        names(
            "ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256"
        )
    );
    assert!(policy("stig-ubuntu2204-v1r1").allows(AlgorithmKind::Cipher, "aes192-ctr"));
    let ubuntu24 = policy("stig-ubuntu2404");
    assert!(ubuntu24.allows(AlgorithmKind::Kex, "diffie-hellman-group14-sha256"));
    assert!(!ubuntu24.allows(AlgorithmKind::Kex, "diffie-hellman-group18-sha512"));
    let rhel8 = policy("stig-rhel8");
    assert!(rhel8.allows(AlgorithmKind::Kex, "diffie-hellman-group18-sha512"));
    assert!(!rhel8.allows(AlgorithmKind::Cipher, "aes192-ctr"));
}

#[test]
fn stig_is_the_strict_common_ground() {
    let stig = SshPolicy::stig();
    assert_eq!(
        stig.kex,
        names(
            "ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256"
        )
    );
    assert_eq!(stig.ciphers, policy("stig-rhel9").ciphers);
    assert_eq!(stig.macs, policy("stig-rhel9").macs);
    for kind in AlgorithmKind::ALL {
        for name in stig.allowed(kind) {
            for release in [
                "stig-rhel8",
                "stig-rhel9",
                "stig-ubuntu2204",
                "stig-ubuntu2404",
            ] {
                assert!(policy(release).allows(kind, name), "{release} {name}");
            }
        }
    }
    // A name one release allows and another does not breaks only the other.
    let mut kex = stig_offer();
    kex.kex_algorithms
        .push("diffie-hellman-group14-sha256".into());
    let found = findings(&judge(&kex, &stig), Action::Fail);
    assert!(
        found[0]
            .detail
            .ends_with("): UBTU-22-255060: kex diffie-hellman-group14-sha256 is not allowed"),
        "{}",
        found[0].detail
    );
}

#[test]
fn aes192_ctr_passes_old_ubuntu_and_fips_and_fails_current_releases_naming_the_rule() {
    let kex = with_cipher("aes192-ctr");
    assert!(judge(&kex, &policy("stig-ubuntu2204-v1r1")).is_compliant());
    assert!(judge(&kex, &policy("fips")).is_compliant());
    for (name, rule) in [
        ("stig-rhel9", "RHEL-09-255065"),
        ("stig-rhel8", "RHEL-08-010291"),
        ("stig-ubuntu2204", "UBTU-22-255050"),
        ("stig-ubuntu2404", "UBTU-24-100820"),
    ] {
        let found = findings(&judge(&kex, &policy(name)), Action::Fail);
        assert_eq!(found.len(), 1, "{name}");
        assert!(
            found[0]
                .detail
                .ends_with(&format!("{rule}: cipher aes192-ctr is not allowed")),
            "{name}: {}",
            found[0].detail
        );
    }
    let j = judge(&kex, &SshPolicy::stig());
    let offered = j.offered.iter().find(|a| a.name == "aes192-ctr").unwrap();
    assert_eq!(
        offered.rules,
        names("RHEL-08-010291,RHEL-09-255065,UBTU-22-255050,UBTU-24-100820")
    );
}

#[test]
fn delayed_compression_passes_rhel9_with_a_note_pre_auth_zlib_breaks_255130() {
    let rhel9 = policy("stig-rhel9");
    let j = judge(&stig_offer(), &rhel9);
    assert!(j.is_compliant());
    assert_eq!(j.notes, [COMPRESSION_NOTE]);
    // `Compression no`: only `none`, nothing the wire cannot tell.
    let mut no = stig_offer();
    no.compression_client_to_server = names("none");
    no.compression_server_to_client = names("none");
    assert!(judge(&no, &rhel9).notes.is_empty());

    let mut pre_auth = stig_offer();
    pre_auth.compression_server_to_client = names("none,zlib");
    let j = judge(&pre_auth, &rhel9);
    assert_eq!(j.violation_count(AlgorithmKind::Compression), 1);
    let found = findings(&j, Action::Fail);
    assert!(
        found[0].detail.starts_with(
            "policy stig-rhel9 (RHEL 9 STIG V2R7): RHEL-09-255130: compression zlib is not \
             allowed (zlib compresses before authentication) (note: zlib@openssh.com is delayed"
        ),
        "{}",
        found[0].detail
    );
    // Releases without a compression rule still refuse pre-auth zlib, unattributed.
    let found = findings(&judge(&pre_auth, &policy("stig-ubuntu2404")), Action::Fail);
    assert!(
        found[0].detail.ends_with(
            "): compression zlib is not allowed (zlib compresses before authentication)"
        ),
        "{}",
        found[0].detail
    );
}

#[test]
fn post_quantum_kex_is_data_and_not_fips() {
    for pq in [
        "mlkem768x25519-sha256",
        "sntrup761x25519-sha512",
        "sntrup761x25519-sha512@openssh.com",
    ] {
        let mut kex = stig_offer();
        kex.kex_algorithms.insert(0, pq.into());
        for name in ["stig", "fips", "stig-rhel9"] {
            let j = judge(&kex, &policy(name));
            assert_eq!(j.violations[&AlgorithmKind::Kex], [pq], "{name}");
        }
    }
}

#[test]
fn configured_rule_ids_are_named_in_violations() {
    let text = r#"
        release = "Site SSH baseline 2026-01"
        rules = { ciphers = "SITE-SSH-7" }
        kex = ["ecdh-sha2-nistp256", "diffie-hellman-group-exchange-sha256"]
        host_key = ["rsa-sha2-512", "rsa-sha2-256", "ecdsa-sha2-nistp256"]
        ciphers = ["aes256-gcm@openssh.com", "aes256-ctr", "aes128-ctr"]
        macs = ["hmac-sha2-512-etm@openssh.com", "hmac-sha2-256"]
        compression = ["zlib@openssh.com"]
    "#;
    let site = toml::from_str::<SshPolicy>(text).unwrap().named("site");
    let found = findings(&judge(&with_cipher("aes192-ctr"), &site), Action::Fail);
    assert_eq!(
        found[0].detail,
        "policy site (Site SSH baseline 2026-01): SITE-SSH-7: cipher aes192-ctr is not allowed"
    );
    let bad = text.replace("ciphers = \"SITE-SSH-7\"", "cipher = \"X\"");
    let err = toml::from_str::<SshPolicy>(&bad).unwrap_err();
    assert!(err.to_string().contains("unknown field `cipher`"), "{err}");
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select({
            let stig = SshPolicy::stig();
            stig.ciphers
                .iter()
                .chain(&stig.macs)
                .map(String::as_str)
                .chain(MARKERS)
                .chain([
                    "none",
                    "zlib",
                    "aes192-ctr",
                    "aes128-cbc",
                    "ssh-rsa",
                    "hmac-sha1",
                ])
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
        }),
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
        // Every violation under the STIG common ground names a rule, except
        // host keys, which no STIG rule lists.
        for o in judged.offered.iter().filter(|o| !o.allowed) {
            prop_assert_eq!(o.rules.is_empty(), o.kind == AlgorithmKind::HostKey);
        }
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

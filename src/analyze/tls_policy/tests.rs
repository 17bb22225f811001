use super::*;
use crate::wire::tls::{Answer, ServerHello, Version};

fn hello(version: Version, suite: u16) -> Answer {
    let legacy = version.min(Version::Tls12).wire();
    let extensions = (version == Version::Tls13).then(|| vec![(0x002b, vec![3, 4])]);
    Answer::Hello(ServerHello {
        legacy_version: legacy,
        random: [1; 32],
        session_id: Vec::new(),
        cipher_suite: suite,
        compression: 0,
        extensions,
    })
}

/// A policy judged by suite families only (the first form of the built-in
/// policy): the family machinery's tests use it, the built-ins their own.
fn families_policy() -> TlsPolicy {
    TlsPolicy {
        release: "a families-only test policy".to_owned(),
        versions: vec![Version::Tls12, Version::Tls13],
        required_versions: vec![Version::Tls12],
        recommended_versions: vec![Version::Tls13],
        forbidden: [BROKEN.as_slice(), &[Family::StaticRsa, Family::StaticDh]].concat(),
        warn: vec![Family::CbcSha1],
        require_ecdhe_aead: true,
        ..TlsPolicy::empty("families")
    }
}

const REFUSE: Answer = Answer::Alert {
    level: 2,
    description: 70,
};

/// Runs the plan against a fake server: `serve(question) -> answer`.
fn scan_with(policy: &TlsPolicy, serve: impl Fn(&Question) -> Answer) -> ProtocolScan {
    scan_silent(policy, |q| Some(serve(q)))
}

/// The same, `None` being no answer at all.
fn scan_silent(policy: &TlsPolicy, serve: impl Fn(&Question) -> Option<Answer>) -> ProtocolScan {
    let mut scan = ProtocolScan::default();
    for _ in 0..64 {
        let Some(q) = scan.next_question(policy) else {
            return scan;
        };
        let reply = match serve(&q) {
            Some(a) => reply_to(&q, &a),
            None => Reply::NoAnswer {
                why: Silence::Timeout {
                    after: std::time::Duration::from_secs(1),
                },
            },
        };
        scan.exchanges.push(Exchange::new(q, reply));
    }
    panic!("the plan did not end: {scan:#?}");
}

const NO_SHARED_SUITE: Answer = Answer::Alert {
    level: 2,
    description: 40,
};

/// A server with `versions` and `suites` (client order wins), refusing
/// unknown versions with protocol_version and a hello without a shared
/// suite with handshake_failure, as OpenSSL does.
fn server(versions: &[Version], suites: &[u16]) -> impl Fn(&Question) -> Answer + use<> {
    let versions = versions.to_vec();
    let suites = suites.to_vec();
    move |q| {
        let (max, offered) = q.offer();
        let Some(v) = versions.iter().copied().filter(|v| *v <= max).max() else {
            return REFUSE;
        };
        if (v == Version::Tls13) != (max == Version::Tls13) {
            return REFUSE;
        }
        let usable = |c: &&u16| {
            crate::wire::tls::suites::by_code(**c)
                .expect("known")
                .usable_in(v)
        };
        match offered.iter().filter(usable).find(|c| suites.contains(c)) {
            Some(c) => hello(v, *c),
            None => NO_SHARED_SUITE,
        }
    }
}

#[test]
fn a_modern_server_complies_in_a_few_hellos() {
    let p = families_policy();
    let scan = scan_with(
        &p,
        server(&[Version::Tls12, Version::Tls13], &[0x1302, 0xC030, 0xC02F]),
    );
    let j = judge(&scan, &p);
    assert!(j.violations.is_empty(), "{:?}", j.violations);
    assert!(j.warnings.is_empty(), "{:?}", j.warnings);
    assert!(j.complete);
    assert_eq!(j.accepted_versions(), ["TLSv1.2", "TLSv1.3"]);
    assert_eq!(j.ecdhe_aead, Some(true));
    assert!(
        j.families.iter().all(|f| f.accepted == Some(false)),
        "{:?}",
        j.families
    );
    // 5 versions + 8 families (none settled by the version hellos).
    assert_eq!(scan.exchanges.len(), 13, "{:#?}", scan.exchanges);
    assert!(findings(&j, Action::Fail).is_empty());
}

#[test]
fn a_legacy_server_fails_naming_versions_and_suites() {
    let p = families_policy();
    let scan = scan_with(
        &p,
        server(
            &[Version::Tls10, Version::Tls11, Version::Tls12],
            &[0x002F, 0x000A, 0xC02F],
        ),
    );
    let j = judge(&scan, &p);
    let f = findings(&j, Action::Fail);
    let fail = f
        .iter()
        .find(|f| f.level == Level::Fail)
        .expect("violation");
    assert_eq!(fail.reason, Reason::TlsWeakProtocol);
    for want in [
        "accepts TLS 1.0 with TLS_RSA_WITH_AES_128_CBC_SHA",
        "accepts TLS 1.1 with TLS_RSA_WITH_AES_128_CBC_SHA",
        "accepts DES/3DES suites: TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        "accepts static-RSA key exchange: TLS_RSA_WITH_AES_128_CBC_SHA, TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    ] {
        assert!(fail.detail.contains(want), "{want:?} in {}", fail.detail);
    }
    assert!(
        fail.detail
            .starts_with("policy families (a families-only test policy")
    );
    let warn = f.iter().find(|f| f.level == Level::Warn).expect("warnings");
    assert!(
        warn.detail
            .contains("does not accept TLS 1.3 (recommended)"),
        "{}",
        warn.detail
    );
    assert!(
        warn.detail.contains("CBC suites with SHA-1"),
        "{}",
        warn.detail
    );
    assert_eq!(
        findings(&j, Action::Warn)
            .iter()
            .filter(|f| f.level == Level::Fail)
            .count(),
        0
    );
}

#[test]
fn tls12_without_ecdhe_aead_and_tls13_only_servers() {
    let p = families_policy();
    let j = judge(&scan_with(&p, server(&[Version::Tls12], &[0xC027])), &p);
    assert_eq!(j.ecdhe_aead, Some(false));
    assert!(
        j.violations
            .iter()
            .any(|v| matches!(v, Breach::NoEcdheAead { .. })),
        "{:?}",
        j.violations
    );

    let scan = scan_with(&p, server(&[Version::Tls13], &[0x1301]));
    assert_eq!(
        scan.exchanges.len(),
        5,
        "no family hellos without a legacy version"
    );
    let j = judge(&scan, &p);
    assert_eq!(
        j.violations,
        [Breach::VersionRequired {
            version: Version::Tls12,
            cite: String::new()
        }]
    );
    assert!(j.families.iter().all(|f| f.accepted == Some(false)));
}

#[test]
fn an_unanswered_question_does_not_hold_up_the_rest() {
    let p = families_policy();
    // SSL 3.0 and TLS 1.0 hellos are dropped (an IPS); the rest answers.
    let legacy = server(
        &[Version::Tls10, Version::Tls11, Version::Tls12],
        &[0xC02F, 0x002F],
    );
    let scan = scan_silent(&p, |q| match q.offer().0 {
        Version::Ssl3 | Version::Tls10 => None,
        _ => Some(legacy(q)),
    });
    let ssl3 = Question::Version {
        version: Version::Ssl3,
    };
    let tls10 = Question::Version {
        version: Version::Tls10,
    };
    // Asked in order, then the silent ones once more, after the rest.
    assert_eq!(scan.exchanges[0].question, ssl3);
    assert_eq!(scan.exchanges[1].question, tls10);
    assert_eq!(
        scan.exchanges[2].question,
        Question::Version {
            version: Version::Tls11
        }
    );
    let n = scan.exchanges.len();
    assert_eq!(scan.exchanges[n - 2].question, ssl3);
    assert_eq!(scan.exchanges[n - 1].question, tls10);
    assert_eq!(scan.attempts(&ssl3), MAX_ATTEMPTS);
    assert!(scan.is_finished(&p) && !scan.is_complete(&p));

    let j = judge(&scan, &p);
    assert!(!j.complete);
    assert_eq!(j.versions[0].accepted, None, "SSL 3.0 unknown, not refused");
    assert_eq!(j.versions[1].accepted, None);
    assert_eq!(j.versions[2].accepted, Some(true), "TLS 1.1 was asked");
    let unanswered: Vec<Question> = j.unanswered.iter().map(|u| u.question).collect();
    assert_eq!(unanswered, [ssl3, tls10]);
    let f = findings(&j, Action::Fail);
    let warn = f
        .iter()
        .find(|f| f.detail.contains("enumeration incomplete"))
        .expect("an incomplete warning");
    assert_eq!(
        (warn.level, warn.reason),
        (Level::Warn, Reason::TlsWeakProtocol)
    );
    assert!(
        warn.detail.ends_with("no answer to: SSL 3.0, TLS 1.0"),
        "{}",
        warn.detail
    );
    assert!(
        f.iter()
            .any(|f| f.level == Level::Fail && f.detail.contains("accepts TLS 1.1")),
        "{f:?}"
    );
    assert!(findings(&j, Action::Off).is_empty(), "off raises nothing");

    // A run cut short lists what it did not ask yet.
    let mut partial = ProtocolScan::default();
    partial.exchanges.push(Exchange::new(
        ssl3,
        Reply::NoAnswer {
            why: Silence::BudgetSpent,
        },
    ));
    assert_eq!(partial.next_question(&p), Some(tls10), "moves on");
    let j = judge(&partial, &p);
    assert!(!j.complete && j.violations.is_empty());
    let f = findings(&j, Action::Fail);
    assert!(
        f[0].detail
            .contains("no answer to: SSL 3.0, TLS 1.0 (not asked yet), TLS 1.1 (not asked yet)"),
        "{}",
        f[0].detail
    );
}

#[test]
fn an_ssl3_server_hello_is_accepted_and_judged() {
    let p = families_policy();
    let q = Question::Version {
        version: Version::Ssl3,
    };
    let (version, offer) = q.offer();
    assert_eq!(version, Version::Ssl3);
    assert!(offer.contains(&0x000A) && offer.contains(&0x002F));
    for code in &offer {
        let s = crate::wire::tls::suites::by_code(*code).expect("known");
        assert!(
            !s.elliptic() && !s.cipher.is_aead() && s.min_version() == Version::Ssl3,
            "{} in an SSL 3.0 hello",
            s.name
        );
    }
    let rec = crate::wire::tls::encode_client_hello(&crate::wire::tls::HelloSpec {
        version,
        suites: &offer,
        server_name: Some("mdm.example.mil"),
        random: [0; 32],
        encrypt_then_mac: false,
    });
    assert_eq!(&rec[..3], &[22, 3, 0]);
    assert!(rec.len() - 5 < 256, "{} bytes", rec.len() - 5);
    // An SSL 3.0 ServerHello: version 3.0, no extensions.
    let answer = Answer::Hello(ServerHello {
        legacy_version: 0x0300,
        random: [9; 32],
        session_id: vec![1; 32],
        cipher_suite: 0x000A,
        compression: 0,
        extensions: None,
    });
    assert_eq!(
        reply_to(&q, &answer),
        Reply::Accepted {
            version: Version::Ssl3,
            suite: "TLS_RSA_WITH_3DES_EDE_CBC_SHA".into(),
            etm: None,
        }
    );
    let scan = scan_with(
        &p,
        server(&[Version::Ssl3, Version::Tls12], &[0x000A, 0xC02F]),
    );
    let j = judge(&scan, &p);
    assert_eq!(j.versions[0].accepted, Some(true));
    assert!(
        j.violations.iter().any(|v| *v
            == Breach::VersionAccepted {
                version: Version::Ssl3,
                suite: Some("TLS_RSA_WITH_3DES_EDE_CBC_SHA".into()),
                cite: String::new(),
            }),
        "{:?}",
        j.violations
    );
    assert!(
        j.violations.iter().any(|v| matches!(
            v,
            Breach::FamilyAccepted {
                family: Family::Des,
                ..
            }
        )),
        "{:?}",
        j.violations
    );
}

#[test]
fn a_version_served_only_with_a_rare_suite_is_found() {
    let p = families_policy();
    // TLS 1.2 with ARIA only: the first hello (no ARIA) gets a
    // handshake_failure, the rarer suites' hello is accepted.
    let aria = 0xC061; // TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384
    assert!(
        !Question::Version {
            version: Version::Tls12
        }
        .offer()
        .1
        .contains(&aria)
    );
    let scan = scan_with(&p, server(&[Version::Tls12], &[aria]));
    let j = judge(&scan, &p);
    assert_eq!(j.versions[3].accepted, Some(true), "{:#?}", scan.exchanges);
    assert_eq!(
        j.versions[3].suite.as_deref(),
        Some("TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384")
    );
    // SSL 3.0 to 1.1 were refused by version: no rarer-suites hello.
    assert_eq!(
        scan.exchanges
            .iter()
            .filter(|e| matches!(e.question, Question::RareSuites { .. }))
            .count(),
        1
    );
    // A version refused for its suites, also with the rarer ones: refused.
    let scan = scan_with(&p, server(&[Version::Tls12, Version::Tls13], &[0x1301]));
    assert_eq!(scan.version_accepted(Version::Tls12), Some(false));
    assert!(scan.answered(&Question::RareSuites {
        version: Version::Tls12
    }));
}

#[test]
fn forbidden_families_are_asked_at_every_accepted_legacy_version() {
    let p = families_policy();
    // EXPORT suites exist up to TLS 1.0 only (RFC 4346): a server with
    // TLS 1.0 and 1.2 and an export suite accepts it at 1.0 alone.
    let export = 0x0008; // TLS_RSA_EXPORT_WITH_DES40_CBC_SHA
    let plain = server(&[Version::Tls10, Version::Tls12], &[0xC02F, export]);
    let scan = scan_with(&p, |q| match q {
        Question::Family {
            family: Family::Export,
            version: Version::Tls12,
        } => NO_SHARED_SUITE,
        _ => plain(q),
    });
    let j = judge(&scan, &p);
    assert!(
        j.violations.iter().any(
            |v| matches!(v, Breach::FamilyAccepted { family: Family::Export, suites, .. }
                if suites == &["TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"])
        ),
        "{:?} {:#?}",
        j.violations,
        scan.exchanges
    );
    // The warned family only at the highest legacy version.
    assert!(!scan.exchanges.iter().any(|e| matches!(
        e.question,
        Question::Family {
            family: Family::CbcSha1,
            version: Version::Tls10
        }
    )));
    assert!(j.complete);
}

#[test]
fn static_dh_is_its_own_forbidden_family() {
    let p = families_policy();
    let ecdh = 0xC031; // TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256
    let j = judge(
        &scan_with(&p, server(&[Version::Tls12], &[0xC02F, ecdh])),
        &p,
    );
    assert!(
        j.violations.iter().any(|v| matches!(v,
            Breach::FamilyAccepted { family: Family::StaticDh, suites, .. }
                if suites == &["TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256"])),
        "{:?}",
        j.violations
    );
    assert!(!Family::StaticRsa.contains(crate::wire::tls::suites::by_code(ecdh).expect("known")));
}

#[test]
fn every_hello_of_a_plan_fits_the_limits() {
    use crate::wire::tls::{HelloSpec, encode_client_hello, suites::MAX_OFFER};
    let p = families_policy();
    let mut questions: Vec<Question> = Vec::new();
    for version in Version::ALL {
        questions.push(Question::Version { version });
        questions.push(Question::RareSuites { version });
        for family in Family::ALL {
            questions.push(Question::Family { family, version });
        }
    }
    questions.push(Question::EcdheAead);
    let mut sizes = Vec::new();
    for q in &questions {
        let (version, offer) = q.offer();
        assert!(offer.len() <= MAX_OFFER, "{q:?}: {}", offer.len());
        let rec = encode_client_hello(&HelloSpec {
            version,
            suites: &offer,
            server_name: Some("mdm.lab.test"),
            random: [0; 32],
            encrypt_then_mac: false,
        });
        let len = rec.len() - 5;
        assert!(!(256..512).contains(&len), "{q:?}: {len} bytes");
        sizes.push((q.human(), len));
    }
    // What docs/tls-protocol-policy.md says: the version hellos are padded to 512 bytes,
    // the SSL 3.0 one is 173 (no extensions), family hellos 49-200 or
    // padded to 512 (5 more each with the record header).
    let size = |q: &str| sizes.iter().find(|(h, _)| h == q).map(|(_, l)| *l);
    assert_eq!(size("SSL 3.0"), Some(173));
    for v in ["TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"] {
        assert_eq!(size(v), Some(512), "{v}");
    }
    for family in p.families() {
        for version in ["SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2"] {
            let len = size(&format!("{} at {version}", family.human())).expect("asked");
            assert!(
                (49..=200).contains(&len) || len == 512,
                "{family:?} at {version}: {len}"
            );
        }
    }
}

#[test]
fn replies_outside_the_offer_are_invalid() {
    let q = Question::Version {
        version: Version::Tls10,
    };
    assert_eq!(
        reply_to(&q, &hello(Version::Tls10, 0x1301)),
        Reply::Invalid {
            why: Invalidity::SuiteNotOffered { suite: 0x1301 }
        }
    );
    let newer = reply_to(&q, &hello(Version::Tls12, 0xC02F));
    assert_eq!(
        newer,
        Reply::Refused {
            why: Refusal::AnsweredWith {
                version: Version::Tls12
            }
        }
    );
    assert!(matches!(newer, Reply::Refused { why } if why.by_version()));
    let mut retry = hello(Version::Tls13, 0x1301);
    if let Answer::Hello(h) = &mut retry {
        h.random = crate::wire::tls::HRR_RANDOM;
    }
    assert_eq!(
        reply_to(&q, &retry),
        Reply::Invalid {
            why: Invalidity::RetryWithoutTls13
        }
    );
    let mut compressed = hello(Version::Tls10, 0x002F);
    if let Answer::Hello(h) = &mut compressed {
        h.compression = 1;
    }
    assert_eq!(
        reply_to(&q, &compressed),
        Reply::Invalid {
            why: Invalidity::CompressionNotOffered { method: 1 }
        }
    );
    let mut unknown = hello(Version::Tls10, 0x002F);
    if let Answer::Hello(h) = &mut unknown {
        h.legacy_version = 0x7f1c;
    }
    assert_eq!(
        reply_to(&q, &unknown),
        Reply::Invalid {
            why: Invalidity::UnknownVersion { version: 0x7f1c }
        }
    );
    let q13 = Question::Version {
        version: Version::Tls13,
    };
    assert!(matches!(
        reply_to(&q13, &retry),
        Reply::Accepted {
            version: Version::Tls13,
            ..
        }
    ));
    assert_eq!(
        reply_to(&q13, &hello(Version::Tls12, 0xC02F)),
        Reply::Invalid {
            why: Invalidity::VersionMismatch {
                chose: Version::Tls12,
                offered: Version::Tls13
            }
        }
    );
    assert_eq!(
        reply_to(&q13, &REFUSE),
        Reply::Refused {
            why: Refusal::Alert(Alert {
                level: 2,
                description: 70
            })
        }
    );
    // A close without a byte refuses; anything else unreadable is invalid.
    let closed = crate::wire::tls::TlsWireError::Closed { received: 0 };
    assert_eq!(
        reply_to_error(&closed),
        Reply::Refused {
            why: Refusal::Wire(closed.clone())
        }
    );
    let late = crate::wire::tls::TlsWireError::Closed { received: 3 };
    assert_eq!(
        reply_to_error(&late),
        Reply::Invalid {
            why: Invalidity::Wire(late.clone())
        }
    );
}

#[test]
fn builtins_validate_and_stig_is_an_alias() {
    for name in BUILTIN_POLICIES {
        let p = TlsPolicy::builtin(name).expect("built in");
        assert!(p.validate().is_empty(), "{name}: {:?}", p.validate());
    }
    let stig = TlsPolicy::builtin("stig").expect("stig");
    assert_eq!(stig.name, "stig");
    assert_eq!(stig.versions, TlsPolicy::nist().versions);
}

/// `server`, answering a hello that offers Encrypt-then-MAC with a CBC
/// suite with the extension when `etm`.
fn server_etm(
    versions: &[Version],
    suites: &[u16],
    etm: bool,
) -> impl Fn(&Question) -> Answer + use<> {
    let plain = server(versions, suites);
    move |q| {
        let mut a = plain(q);
        if let Answer::Hello(h) = &mut a {
            let cbc = crate::wire::tls::suites::by_code(h.cipher_suite)
                .is_some_and(|s| s.cipher.is_cbc());
            if etm && cbc && q.offers_etm() {
                h.extensions = Some(vec![(0x0016, Vec::new())]);
            }
        }
        a
    }
}

fn code(name: &str) -> u16 {
    crate::wire::tls::suites::by_name(name)
        .expect("known suite")
        .code
}

const TLS12_13: &[Version] = &[Version::Tls12, Version::Tls13];

/// nginx with its default `ssl_ciphers` (`HIGH:!aNULL:!MD5` on OpenSSL 3):
/// ECDHE-GCM, ChaCha20, Camellia and RSA key transport besides.
fn nginx_default() -> Vec<u16> {
    [
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        "TLS_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_RSA_WITH_AES_128_CBC_SHA",
    ]
    .iter()
    .map(|n| code(n))
    .collect()
}

#[test]
fn nist_is_the_text_lists_appendix_d_a_warning_and_the_rest_a_violation() {
    let p = TlsPolicy::nist();
    // Only what SP 800-52r2 lists, and Appendix D's static RSA: a pass
    // with a warning naming the appendix.
    let listed: Vec<u16> = [
        "TLS_AES_256_GCM_SHA384",
        "TLS_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_RSA_WITH_AES_256_GCM_SHA384",
    ]
    .iter()
    .map(|n| code(n))
    .collect();
    let scan = scan_with(&p, server_etm(TLS12_13, &listed, true));
    let j = judge(&scan, &p);
    assert!(j.violations.is_empty(), "{:?}", j.violations);
    assert_eq!(j.transitional, ["TLS_RSA_WITH_AES_256_GCM_SHA384"]);
    assert!(
        j.warnings
            .iter()
            .any(|w| matches!(w, Breach::KeyTransport { suites, cite }
                if cite.contains("Appendix D") && suites == &["TLS_RSA_WITH_AES_256_GCM_SHA384"])),
        "{:?}",
        j.warnings
    );
    assert!(j.complete);
    assert_eq!(j.etm, Some(EtmVerdict::NoCbc));

    // nginx's defaults: ChaCha20 (and Camellia) are outside the lists (not
    // approved algorithms), at TLS 1.2 and 1.3 alike. One hello finds one
    // suite: the first outside suite the server takes is named.
    let scan = scan_with(&p, server_etm(TLS12_13, &nginx_default(), true));
    let j = judge(&scan, &p);
    for s in [
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ] {
        assert!(j.outside.iter().any(|o| o == s), "{s} in {:?}", j.outside);
    }
    assert!(
        j.violations
            .iter()
            .any(|v| matches!(v, Breach::SuitesOutside { cite, .. }
            if cite.contains("NIST SP 800-52r2 3.3.1.1"))),
        "{:?}",
        j.violations
    );
    assert!(
        j.warnings
            .iter()
            .any(|w| matches!(w, Breach::KeyTransport { cite, .. }
        if cite.contains("Appendix D")))
    );
}

#[test]
fn disa_tomcat_refuses_rsa_key_transport_and_names_its_rules() {
    let p = TlsPolicy::builtin("disa-tomcat-9").expect("built in");
    let listed: Vec<u16> = [
        "TLS_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        "TLS_RSA_WITH_AES_256_GCM_SHA384",
    ]
    .iter()
    .map(|n| code(n))
    .collect();
    let j = judge(&scan_with(&p, server(TLS12_13, &listed)), &p);
    assert!(
        j.violations.iter().any(|v| matches!(v,
            Breach::FamilyAccepted { family: Family::StaticRsa, cite, .. }
                if cite.contains("V-222927 TCAT-AS-000020"))),
        "{:?}",
        j.violations
    );
    assert!(j.transitional.is_empty());
    assert!(
        j.outside.is_empty(),
        "a suite its family names is not named twice: {:?}",
        j.outside
    );
    // TLS 1.1 is a finding here (V-222929), a warning under NIST.
    let old = server(&[Version::Tls11, Version::Tls12], &listed);
    let j = judge(&scan_with(&p, &old), &p);
    assert!(
        j.violations.iter().any(
            |v| matches!(v, Breach::VersionAccepted { version: Version::Tls11, cite, .. }
                if cite.contains("V-222929 TCAT-AS-000040"))
        ),
        "{:?}",
        j.violations
    );
    let n = TlsPolicy::nist();
    let j = judge(&scan_with(&n, old), &n);
    assert!(
        j.warnings.iter().any(
            |w| matches!(w, Breach::VersionDiscouraged { version: Version::Tls11, cite }
                if cite.contains("should not"))
        ),
        "{:?}",
        j.warnings
    );
}

#[test]
fn ccm8_is_an_ecdhe_aead_suite() {
    let p = TlsPolicy::nist();
    let suites = [
        code("TLS_AES_128_GCM_SHA256"),
        code("TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"),
    ];
    let j = judge(&scan_with(&p, server(TLS12_13, &suites)), &p);
    assert_eq!(j.ecdhe_aead, Some(true));
    assert!(j.violations.is_empty(), "{:?}", j.violations);
}

#[test]
fn cbc_without_encrypt_then_mac_is_a_violation() {
    let p = TlsPolicy::nist();
    let suites = [
        code("TLS_AES_128_GCM_SHA256"),
        code("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        code("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
    ];
    let j = judge(&scan_with(&p, server_etm(TLS12_13, &suites, false)), &p);
    assert_eq!(
        j.etm,
        Some(EtmVerdict::Missing {
            version: Version::Tls12,
            suite: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256".into()
        })
    );
    assert!(
        j.violations.iter().any(
            |v| matches!(v, Breach::NoEncryptThenMac { version: Version::Tls12, cite, .. }
                if cite.contains("RFC 7366"))
        ),
        "{:?}",
        j.violations
    );
    let j = judge(&scan_with(&p, server_etm(TLS12_13, &suites, true)), &p);
    assert_eq!(j.etm, Some(EtmVerdict::Supported));
    assert!(j.violations.is_empty(), "{:?}", j.violations);
}

#[test]
fn apple_ats_needs_a_suite_an_iphone_offers() {
    let p = TlsPolicy::apple_ats();
    // 800-52r2 allows it, an iPhone does not offer it.
    let only = [code("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256")];
    let scan = scan_with(&p, server(&[Version::Tls12], &only));
    let j = judge(&scan, &p);
    assert_eq!(j.ats, Some(false));
    assert!(
        j.violations
            .iter()
            .any(|v| matches!(v, Breach::AppleCannotConnect { .. })),
        "{:?}",
        j.violations
    );
    assert!(scan.answered(&Question::Ats {
        version: Version::Tls12
    }));
    // An ATS suite at TLS 1.2 (found by the version hello itself), or TLS 1.3.
    for (versions, suites) in [
        (
            &[Version::Tls12][..],
            vec![code("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")],
        ),
        (&[Version::Tls13][..], vec![code("TLS_AES_128_GCM_SHA256")]),
    ] {
        let j = judge(&scan_with(&p, server(versions, &suites)), &p);
        assert_eq!(j.ats, Some(true), "{versions:?}");
        assert!(j.violations.is_empty(), "{:?}", j.violations);
    }
}

#[test]
fn one_enumeration_serves_several_policies() {
    let policies = [TlsPolicy::nist(), TlsPolicy::apple_ats()];
    let asking = TlsPolicy::asking(&policies);
    let scan = scan_with(&asking, server_etm(TLS12_13, &nginx_default(), true));
    let nist = judge(&scan, &policies[0]);
    let ats = judge(&scan, &policies[1]);
    assert!(nist.complete && ats.complete);
    assert!(!nist.violations.is_empty());
    assert_eq!(ats.ats, Some(true));
    assert!(ats.violations.is_empty(), "{:?}", ats.violations);
}

#[test]
fn ats_judges_the_server_certificate_key_and_hash() {
    let mut leaf = crate::analyze::chain::CertFacts {
        key_type: "rsa".into(),
        key_bits: 2048,
        signature_algorithm: "sha256WithRSAEncryption".into(),
        ..Default::default()
    };
    assert!(ats_path(&leaf).is_empty());
    leaf.key_bits = 1024;
    leaf.signature_algorithm = "sha1WithRSAEncryption".into();
    let v = ats_path(&leaf);
    assert_eq!(v.len(), 2, "{v:?}");
    leaf.key_type = "ec".into();
    leaf.key_bits = 256;
    leaf.signature_algorithm = "ecdsa-with-SHA384".into();
    assert!(ats_path(&leaf).is_empty());
}

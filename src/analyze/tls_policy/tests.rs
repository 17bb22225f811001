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

const REFUSE: Answer = Answer::Alert {
    level: 2,
    description: 70,
};

/// Runs the plan against a fake server: `serve(question) -> answer`.
fn scan_with(policy: &TlsPolicy, serve: impl Fn(&Question) -> Answer) -> ProtocolScan {
    let mut scan = ProtocolScan::default();
    for _ in 0..32 {
        let Some(q) = scan.next_question(policy) else {
            return scan;
        };
        let reply = reply_to(&q, &serve(&q));
        scan.exchanges.push(Exchange { question: q, reply });
    }
    panic!("the plan did not end: {scan:#?}");
}

/// A server with `versions` and `suites` (client order wins).
fn server(versions: &[Version], suites: &[u16]) -> impl Fn(&Question) -> Answer {
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
        // TLS 1.0/1.1 know neither AEAD nor SHA-2 MACs.
        let usable = |c: &&u16| {
            let s = crate::wire::tls::suites::by_code(**c).expect("known");
            v >= Version::Tls12
                || matches!(
                    s.mac,
                    crate::wire::tls::suites::Mac::Sha1 | crate::wire::tls::suites::Mac::Md5
                )
        };
        match offered.iter().filter(usable).find(|c| suites.contains(c)) {
            Some(c) => hello(v, *c),
            None => REFUSE,
        }
    }
}

#[test]
fn a_modern_server_complies_in_a_few_hellos() {
    let p = TlsPolicy::nist();
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
    // 5 versions + 7 families (none settled by the version hellos).
    assert_eq!(scan.exchanges.len(), 12);
    assert!(findings(&j, Action::Fail).is_empty());
}

#[test]
fn a_legacy_server_fails_naming_versions_and_suites() {
    let p = TlsPolicy::nist();
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
            .starts_with("policy nist-800-52r2 (NIST SP 800-52r2")
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
    let p = TlsPolicy::nist();
    let j = judge(&scan_with(&p, server(&[Version::Tls12], &[0xC027])), &p);
    assert_eq!(j.ecdhe_aead, Some(false));
    assert!(
        j.violations.iter().any(|v| v.contains("no ECDHE suite")),
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
    assert_eq!(j.violations, ["does not accept TLS 1.2 (required)"]);
    assert!(j.families.iter().all(|f| f.accepted == Some(false)));
}

#[test]
fn unanswered_questions_are_unknown_and_asked_again() {
    let p = TlsPolicy::nist();
    let mut scan = ProtocolScan::default();
    scan.exchanges.push(Exchange {
        question: Question::Version {
            version: Version::Ssl3,
        },
        reply: Reply::NoAnswer {
            detail: "timed out".into(),
        },
    });
    let j = judge(&scan, &p);
    assert_eq!(j.versions[0].accepted, None);
    assert!(!j.complete);
    assert!(j.violations.is_empty());
    let again = scan.without_unanswered();
    assert_eq!(
        again.next_question(&p),
        Some(Question::Version {
            version: Version::Ssl3
        })
    );
}

#[test]
fn replies_outside_the_offer_are_invalid() {
    let q = Question::Version {
        version: Version::Tls10,
    };
    assert!(matches!(
        reply_to(&q, &hello(Version::Tls10, 0x1301)),
        Reply::Invalid { .. }
    ));
    assert!(matches!(
        reply_to(&q, &hello(Version::Tls12, 0xC02F)),
        Reply::Refused { .. }
    ));
    let mut retry = hello(Version::Tls13, 0x1301);
    if let Answer::Hello(h) = &mut retry {
        h.random = crate::wire::tls::HRR_RANDOM;
    }
    assert!(matches!(reply_to(&q, &retry), Reply::Invalid { .. }));
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
    assert!(matches!(reply_to(&q13, &REFUSE), Reply::Refused { .. }));
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

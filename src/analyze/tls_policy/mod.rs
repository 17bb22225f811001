//! TLS protocol policy as data, and the judgement of what a server accepts.
//!
//! The enumeration (`kinds::tls::protocols`) asks the server a handful of
//! questions, one ClientHello each ([`Question`]): does it accept SSL 3.0,
//! TLS 1.0, 1.1, 1.2, 1.3; at its highest legacy version, does it accept a
//! suite of each weak [`Family`] the policy names (and the forbidden ones
//! at its other legacy versions); does its TLS 1.2 offer an ECDHE AEAD
//! suite. [`ProtocolScan`] holds the answers and says what to ask next;
//! [`judge`] compares them with a [`TlsPolicy`]; [`Runs`] keeps the last
//! finished run for the probes in between.
//!
//! A question without an answer (the budget ran out, the server stayed
//! silent) is *unknown*, never "refused": a timeout of ours must not hide
//! a weak version. Unknown versions and families get no metric series, and
//! a judgement with unknowns says so in a warning.
//!
//! Built in: `nist-800-52r2` (alias `stig`), see [`TlsPolicy::nist`].
//! Users define their own in config:
//!
//! ```toml
//! [tls_policy.site]
//! release = "Site TLS baseline 2026-01"   # optional, shown in findings
//! versions = ["1.2", "1.3"]               # may be accepted: ssl3, 1.0, 1.1, 1.2, 1.3
//! required_versions = ["1.2"]             # must be accepted (default: none)
//! recommended_versions = ["1.3"]          # warn when not accepted (default: none)
//! forbidden = ["null", "export", "anon", "rc4", "des", "static_rsa", "static_dh"]
//! warn = ["cbc_sha1"]                     # accepted: a warning (default: none)
//! require_ecdhe_aead = true               # TLS 1.2 must accept ECDHE with AES-GCM/CCM
//! on_violation = "fail"                   # or "warn", or "off" (no findings)
//! ```

use std::sync::LazyLock;

use serde::Serialize;

use crate::outcome::{Action, Finding, Level, Reason};
use crate::text::named_enum;
use crate::wire::tls::Version;
use crate::wire::tls::suites::{self, Cipher, Kex, Suite};

mod breach;
pub(crate) mod lists;
mod runs;
mod scan;
mod why;

pub use breach::{Breach, sentences};

pub use runs::Runs;
pub use scan::{Exchange, MAX_ATTEMPTS, ProtocolScan, Question, Reply, reply_to, reply_to_error};
pub use why::{Alert, Invalidity, Refusal, Silence};

named_enum! {
/// Suite families a policy forbids or warns about; label values of
/// `flowprobe_tls_weak_suites{family}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// No encryption.
    Null = "null",
    /// Export-grade (40/56-bit) keys.
    Export = "export",
    /// Anonymous key exchange: no server authentication.
    Anon = "anon",
    Rc4 = "rc4",
    /// Single DES and 3DES (SWEET32).
    Des = "des",
    /// RSA key transport: no forward secrecy.
    StaticRsa = "static_rsa",
    /// Static DH or ECDH (the key in the certificate): no forward secrecy
    /// either.
    StaticDh = "static_dh",
    /// CBC with HMAC-SHA-1 (Lucky 13 class; allowed by SP 800-52r2 but
    /// not preferred).
    CbcSha1 = "cbc_sha1",
}
}

impl Family {
    /// For people, in findings.
    pub(crate) fn human(self) -> &'static str {
        match self {
            Family::Null => "NULL-cipher suites",
            Family::Export => "EXPORT suites",
            Family::Anon => "anonymous suites",
            Family::Rc4 => "RC4 suites",
            Family::Des => "DES/3DES suites",
            Family::StaticRsa => "static-RSA key exchange",
            Family::StaticDh => "static (EC)DH key exchange",
            Family::CbcSha1 => "CBC suites with SHA-1",
        }
    }

    pub(crate) fn contains(self, s: &Suite) -> bool {
        match self {
            Family::Null => s.cipher == Cipher::Null,
            Family::Export => s.export,
            Family::Anon => s.kex == Kex::Anon,
            Family::Rc4 => s.cipher == Cipher::Rc4,
            Family::Des => matches!(s.cipher, Cipher::Des | Cipher::TripleDes),
            Family::StaticRsa => s.kex == Kex::Rsa,
            Family::StaticDh => s.kex == Kex::Dh,
            Family::CbcSha1 => s.cipher.is_cbc() && s.mac == suites::Mac::Sha1,
        }
    }
}

/// ECDHE with AES-GCM or AES-CCM (CCM_8 included): what SP 800-52r2 3.3.1
/// prefers, and what a policy with `require_ecdhe_aead` wants a TLS 1.2
/// server to accept.
pub(crate) fn is_ecdhe_aead(s: &Suite) -> bool {
    s.kex == Kex::Ecdhe && matches!(s.cipher, Cipher::AesGcm | Cipher::AesCcm | Cipher::AesCcm8)
}

/// A suite an Apple device offers under App Transport Security.
pub(crate) fn is_ats(s: &Suite) -> bool {
    static ATS: LazyLock<Vec<u16>> = LazyLock::new(|| lists::codes(lists::APPLE_ATS));
    ATS.contains(&s.code)
}

named_enum! {
/// A document's list of suites: what it lists is allowed, what it lists
/// for a transition only is a warning, anything else a violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SuiteSet {
    /// SP 800-52r2 3.3.1.1 and 3.3.1.2; Appendix D transitional.
    Nist = "nist-800-52r2",
    /// SP 800-52r2 3.3.1.1 and 3.3.1.2 only (the DISA web STIGs): RSA key
    /// transport is outside.
    NistStrict = "nist-800-52r2-3.3.1",
}
}

static NIST_LISTED: LazyLock<Vec<u16>> = LazyLock::new(|| {
    let mut v = lists::codes(lists::NIST_3311);
    v.extend(lists::codes(lists::NIST_3312));
    v
});
static NIST_TRANSITIONAL: LazyLock<Vec<u16>> =
    LazyLock::new(|| lists::codes(lists::NIST_APPENDIX_D));

impl SuiteSet {
    /// Listed, or transitional.
    pub(crate) fn covers(self, s: &Suite) -> bool {
        NIST_LISTED.contains(&s.code) || self.is_transitional(s)
    }

    /// Allowed for a transition only: a warning.
    pub(crate) fn is_transitional(self, s: &Suite) -> bool {
        match self {
            SuiteSet::Nist => NIST_TRANSITIONAL.contains(&s.code),
            SuiteSet::NistStrict => false,
        }
    }
}

/// Where each rule of a policy comes from, cited in its findings
/// (document, section or rule ID, release); empty for none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Cites {
    pub versions: String,
    pub discouraged: String,
    pub suites: String,
    pub transitional: String,
    pub families: String,
    pub ecdhe_aead: String,
    pub etm: String,
    pub ats: String,
}

/// Which versions and suite families a server may accept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsPolicy {
    /// The `[tls_policy.NAME]` key or the built-in's name.
    pub name: String,
    /// Where the policy comes from, cited in findings.
    pub release: String,
    /// Versions the server may accept; any other accepted is a violation.
    pub versions: Vec<Version>,
    pub required_versions: Vec<Version>,
    /// Not accepting one is a warning.
    pub recommended_versions: Vec<Version>,
    /// Accepted: a warning (a "should not" of the document).
    pub discouraged_versions: Vec<Version>,
    pub forbidden: Vec<Family>,
    pub warn: Vec<Family>,
    pub require_ecdhe_aead: bool,
    /// The documents' suite lists: a suite outside one is a violation.
    pub suites: Vec<SuiteSet>,
    /// CBC negotiated without Encrypt-then-MAC (RFC 7366) is a violation.
    pub require_etm: bool,
    /// Apple ATS: TLS 1.3 or 1.2 with an ATS suite, and the server
    /// certificate's key and signature hash (judged on the path).
    pub ats: bool,
    pub cites: Cites,
    pub on_violation: Action,
}

/// Built-in policy names; `stig` is an alias of `nist-800-52r2`.
pub(crate) const BUILTIN_POLICIES: [&str; 5] = [
    "nist-800-52r2",
    "stig",
    "disa-tomcat-9",
    "disa-apache-2.4",
    "apple-ats",
];

const NIST: &str = "NIST SP 800-52r2";

/// The families no built-in allows (NULL, EXPORT, anonymous, RC4,
/// DES/3DES): outside every list, asked as families too so that
/// `flowprobe_tls_weak_suites` says which.
const BROKEN: [Family; 5] = [
    Family::Null,
    Family::Export,
    Family::Anon,
    Family::Rc4,
    Family::Des,
];

impl TlsPolicy {
    /// A policy that asks and judges nothing but what its fields say:
    /// the base of the built-ins and of `[tls_policy.NAME]`.
    pub(crate) fn empty(name: &str) -> Self {
        TlsPolicy {
            name: name.to_owned(),
            release: String::new(),
            versions: Version::ALL.to_vec(),
            required_versions: Vec::new(),
            recommended_versions: Vec::new(),
            discouraged_versions: Vec::new(),
            forbidden: Vec::new(),
            warn: Vec::new(),
            require_ecdhe_aead: false,
            suites: Vec::new(),
            require_etm: false,
            ats: false,
            cites: Cites::default(),
            on_violation: Action::Fail,
        }
    }

    /// NIST SP 800-52 Rev. 2 (2019-08) for government-only servers, as
    /// the text says it:
    /// - 3.1: TLS 1.2 shall be supported, TLS 1.3 shall be since
    ///   2024-01-01; TLS 1.1 should not be used (a warning); TLS 1.0,
    ///   SSL 3.0 shall not.
    /// - 3.3.1.1 and 3.3.1.2 list the suites; Appendix D lists ten RSA key
    ///   transport suites that "may be used" during a transition (a
    ///   warning naming the appendix); any other suite is a violation.
    ///   NULL, EXPORT, anonymous, RC4 and DES/3DES are outside the lists;
    ///   they are asked as families too, so their metrics say which.
    /// - 3.3.1: ephemeral keys and AEAD preferred: TLS 1.2 must offer ECDHE
    ///   with AES-GCM or AES-CCM (CCM_8 included).
    /// - 3.4.2: a server that negotiates CBC suites shall support
    ///   Encrypt-then-MAC.
    pub fn nist() -> Self {
        TlsPolicy {
            release: "NIST SP 800-52 Rev. 2 (2019-08)".to_owned(),
            versions: vec![Version::Tls11, Version::Tls12, Version::Tls13],
            required_versions: vec![Version::Tls12, Version::Tls13],
            discouraged_versions: vec![Version::Tls11],
            forbidden: BROKEN.to_vec(),
            require_ecdhe_aead: true,
            suites: vec![SuiteSet::Nist],
            require_etm: true,
            cites: Cites {
                versions: format!("{NIST} 3.1"),
                discouraged: format!("{NIST} 3.1: should not"),
                suites: format!("{NIST} 3.3.1.1, 3.3.1.2"),
                transitional: format!("{NIST} Appendix D, transition only"),
                families: format!("{NIST} 3.3.1"),
                ecdhe_aead: format!("{NIST} 3.3.1"),
                etm: format!("{NIST} 3.4.2, RFC 7366"),
                ats: String::new(),
            },
            ..TlsPolicy::empty("nist-800-52r2")
        }
    }

    /// A DISA web STIG: TLS 1.2 or higher, the suites of SP 800-52r2
    /// 3.3.1.1 (and 3.3.1.2 for TLS 1.3) only, FIPS-approved algorithms
    /// only: RSA key transport is a finding here.
    fn disa(name: &str, release: &str, versions: &str, suites: &str) -> Self {
        TlsPolicy {
            release: release.to_owned(),
            versions: vec![Version::Tls12, Version::Tls13],
            required_versions: vec![Version::Tls12],
            forbidden: [BROKEN.as_slice(), &[Family::StaticRsa]].concat(),
            suites: vec![SuiteSet::NistStrict],
            cites: Cites {
                versions: versions.to_owned(),
                suites: suites.to_owned(),
                families: suites.to_owned(),
                ..Cites::default()
            },
            ..TlsPolicy::empty(name)
        }
    }

    /// Apple App Transport Security, what every iPhone and iPad enforces
    /// for the MDM and enrollment endpoints: TLS 1.2 or 1.3 with one of
    /// the ATS suites (forward secrecy; AES-GCM, ChaCha20-Poly1305 or
    /// AES-CBC-SHA), the server certificate's key RSA >= 2048 or ECC >=
    /// 256 and its signature SHA-256 or better. Versions a server accepts
    /// besides do not matter to a device.
    pub(crate) fn apple_ats() -> Self {
        TlsPolicy {
            release: "Apple ATS (Security: SecProtocolInternal.h, SecProtocolConfiguration.m)"
                .to_owned(),
            ats: true,
            cites: Cites {
                ats: "Apple ATS".to_owned(),
                ..Cites::default()
            },
            ..TlsPolicy::empty("apple-ats")
        }
    }

    pub(crate) fn builtin(name: &str) -> Option<Self> {
        match name {
            "nist-800-52r2" => Some(TlsPolicy::nist()),
            "stig" => Some(TlsPolicy {
                name: "stig".to_owned(),
                ..TlsPolicy::nist()
            }),
            "disa-tomcat-9" => Some(TlsPolicy::disa(
                "disa-tomcat-9",
                "Apache Tomcat Application Server 9 STIG V2R1",
                "V-222929 TCAT-AS-000040",
                "V-222927 TCAT-AS-000020, V-222968 TCAT-AS-000750; SP 800-52r2 3.3.1.1",
            )),
            "disa-apache-2.4" => Some(TlsPolicy::disa(
                "disa-apache-2.4",
                "Apache Server 2.4 UNIX Server STIG (SV-214230r881408)",
                "V-214230 AS24-U1-000030",
                "V-214230 AS24-U1-000030, V-214269 AS24-U1-000900; SP 800-52r2 3.3.1.1",
            )),
            "apple-ats" => Some(TlsPolicy::apple_ats()),
            _ => None,
        }
    }

    /// What to ask for several policies at once: one enumeration serves
    /// them all (the union of their questions); each is judged on it.
    pub(crate) fn asking(policies: &[TlsPolicy]) -> Self {
        let mut a = TlsPolicy::empty("");
        for p in policies {
            for f in &p.forbidden {
                if !a.forbidden.contains(f) {
                    a.forbidden.push(*f);
                }
            }
            for f in &p.warn {
                if !a.warn.contains(f) {
                    a.warn.push(*f);
                }
            }
            for set in &p.suites {
                if !a.suites.contains(set) {
                    a.suites.push(*set);
                }
            }
            a.require_ecdhe_aead |= p.require_ecdhe_aead;
            a.require_etm |= p.require_etm;
            a.ats |= p.ats;
        }
        a.warn.retain(|f| !a.forbidden.contains(f));
        a
    }

    /// The families the enumeration asks about: forbidden, then warned.
    pub fn families(&self) -> Vec<Family> {
        Family::ALL
            .iter()
            .copied()
            .filter(|f| self.forbidden.contains(f) || self.warn.contains(f))
            .collect()
    }

    /// Contradictions, each naming its key, for config validation.
    pub(crate) fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.versions.is_empty() {
            problems.push("versions: empty, so every server would violate".to_owned());
        }
        for (key, list) in [
            ("required_versions", &self.required_versions),
            ("recommended_versions", &self.recommended_versions),
            ("discouraged_versions", &self.discouraged_versions),
        ] {
            for v in list {
                if !self.versions.contains(v) {
                    problems.push(format!("{key}: {:?} is not in versions", v.config_name()));
                }
            }
        }
        for f in &self.warn {
            if self.forbidden.contains(f) {
                problems.push(format!(
                    "warn: {:?} is also forbidden; list it once",
                    f.as_str()
                ));
            }
        }
        if self.require_ecdhe_aead && !self.versions.contains(&Version::Tls12) {
            problems.push("require_ecdhe_aead: needs \"1.2\" in versions".to_owned());
        }
        problems
    }
}

/// One version as judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionVerdict {
    pub version: Version,
    /// `None`: unknown (not asked yet, or no answer).
    pub accepted: Option<bool>,
    /// The suite the server chose for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    pub allowed: bool,
}

/// One family the policy names, as judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FamilyVerdict {
    pub family: Family,
    pub accepted: Option<bool>,
    /// Suites of the family the server chose in some answer.
    pub suites: Vec<String>,
    pub level: Level,
}

/// What the server accepts, judged by one policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtocolJudgement {
    pub policy: String,
    pub release: String,
    pub versions: Vec<VersionVerdict>,
    pub families: Vec<FamilyVerdict>,
    /// TLS 1.2 with ECDHE and AES-GCM/CCM; `None` when unknown or not asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecdhe_aead: Option<bool>,
    /// Accepted suites outside the policy's lists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outside: Vec<String>,
    /// Accepted suites the lists allow for a transition only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transitional: Vec<String>,
    /// Encrypt-then-MAC with CBC, when the policy requires it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etm: Option<EtmVerdict>,
    /// Apple devices can connect (suites only; the path is judged with
    /// the chain); `None` when not asked or unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ats: Option<bool>,
    /// The rules the answers break.
    #[serde(serialize_with = "breach::serialize_list")]
    pub violations: Vec<Breach>,
    /// The rules the answers strain (discouraged, not forbidden).
    #[serde(serialize_with = "breach::serialize_list")]
    pub warnings: Vec<Breach>,
    /// Every question answered in the reported run.
    pub complete: bool,
    /// The questions the reported run got no answer to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unanswered: Vec<Unanswered>,
}

/// A question without an answer in the reported run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unanswered {
    #[serde(flatten)]
    pub question: Question,
    /// Hellos sent for it that got no answer (0: not asked yet; the run
    /// goes on at the next probe).
    pub tries: usize,
    /// An earlier run's answer stands in for it (see
    /// [`ProtocolScan::carry_from`]).
    pub kept: bool,
}

impl Unanswered {
    fn human(&self) -> String {
        let what = self.question.human();
        if self.tries == 0 {
            format!("{what} (not asked yet)")
        } else if self.kept {
            format!("{what} (the last known answer is kept)")
        } else {
            what
        }
    }
}

impl ProtocolJudgement {
    /// Accepted versions, for the probe's detail line (`TLSv1.2, TLSv1.3`).
    pub fn accepted_versions(&self) -> Vec<&'static str> {
        self.versions
            .iter()
            .filter(|v| v.accepted == Some(true))
            .map(|v| v.version.label())
            .collect()
    }
}

/// Judges the answers in `scan` by `policy`.
pub fn judge(scan: &ProtocolScan, policy: &TlsPolicy) -> ProtocolJudgement {
    let versions = version_verdicts(scan, policy);
    let families = family_verdicts(scan, policy);
    let ecdhe_aead = ecdhe_aead_verdict(scan, policy);

    let c = &policy.cites;
    let mut violations = Vec::new();
    let mut warnings = Vec::new();
    version_breaches(&versions, policy, &mut violations, &mut warnings);
    family_breaches(&families, c, &mut violations, &mut warnings);
    let suites = suite_verdicts(scan, policy);
    suite_breaches(&suites, ecdhe_aead, c, &mut violations, &mut warnings);
    let etm = etm_verdict(scan, policy);
    if let Some(EtmVerdict::Missing { version, suite }) = &etm {
        violations.push(Breach::NoEncryptThenMac {
            version: *version,
            suite: suite.clone(),
            cite: c.etm.clone(),
        });
    }
    let ats = ats_verdict(scan, policy);
    if ats == Some(false) {
        violations.push(Breach::AppleCannotConnect {
            cite: c.ats.clone(),
        });
    }
    let unanswered = unanswered(scan, policy);
    ProtocolJudgement {
        policy: policy.name.clone(),
        release: policy.release.clone(),
        complete: unanswered.is_empty(),
        unanswered,
        versions,
        families,
        ecdhe_aead,
        outside: suites.outside,
        transitional: suites.transitional,
        etm,
        ats,
        violations,
        warnings,
    }
}

/// Each version: whether the server accepts it, and whether `policy`
/// allows it.
fn version_verdicts(scan: &ProtocolScan, policy: &TlsPolicy) -> Vec<VersionVerdict> {
    Version::ALL
        .into_iter()
        .map(|v| VersionVerdict {
            version: v,
            accepted: scan.version_accepted(v),
            suite: scan.suite_for(v).map(|s| s.name.to_owned()),
            allowed: policy.versions.contains(&v),
        })
        .collect()
}

/// Each family `policy` names: whether the server accepts a suite of it,
/// and how much that matters.
fn family_verdicts(scan: &ProtocolScan, policy: &TlsPolicy) -> Vec<FamilyVerdict> {
    policy
        .families()
        .into_iter()
        .map(|f| {
            let suites: Vec<String> = scan
                .accepted_suites()
                .filter(|s| f.contains(s))
                .map(|s| s.name.to_owned())
                .collect();
            FamilyVerdict {
                family: f,
                accepted: if suites.is_empty() {
                    scan.family_refused(f, policy).then_some(false)
                } else {
                    Some(true)
                },
                suites,
                level: if policy.forbidden.contains(&f) {
                    Level::Fail
                } else {
                    Level::Warn
                },
            }
        })
        .collect()
}

/// Whether TLS 1.2 accepts an ECDHE AEAD suite, when `policy` requires
/// one and the server speaks TLS 1.2; `None` when not asked or unknown.
fn ecdhe_aead_verdict(scan: &ProtocolScan, policy: &TlsPolicy) -> Option<bool> {
    let tls12 = scan.version_accepted(Version::Tls12);
    if !policy.require_ecdhe_aead || tls12 != Some(true) {
        None
    } else if scan
        .accepted()
        .any(|(v, s)| v == Version::Tls12 && is_ecdhe_aead(s))
    {
        Some(true)
    } else if scan.answered(&Question::EcdheAead) {
        Some(false)
    } else {
        None
    }
}

/// The version rules: accepted but not allowed, accepted but discouraged,
/// refused but required or recommended.
fn version_breaches(
    versions: &[VersionVerdict],
    policy: &TlsPolicy,
    violations: &mut Vec<Breach>,
    warnings: &mut Vec<Breach>,
) {
    let c = &policy.cites;
    for v in versions {
        let version = v.version;
        match (v.accepted, v.allowed) {
            (Some(true), false) => violations.push(Breach::VersionAccepted {
                version,
                suite: v.suite.clone(),
                cite: c.versions.clone(),
            }),
            (Some(true), true) if policy.discouraged_versions.contains(&version) => {
                warnings.push(Breach::VersionDiscouraged {
                    version,
                    cite: c.discouraged.clone(),
                })
            }
            (Some(false), _) if policy.required_versions.contains(&version) => {
                violations.push(Breach::VersionRequired {
                    version,
                    cite: c.versions.clone(),
                })
            }
            (Some(false), _) if policy.recommended_versions.contains(&version) => {
                warnings.push(Breach::VersionRecommended {
                    version,
                    cite: c.versions.clone(),
                })
            }
            _ => {}
        }
    }
}

/// An accepted family: a violation when forbidden, else a warning.
fn family_breaches(
    families: &[FamilyVerdict],
    c: &Cites,
    violations: &mut Vec<Breach>,
    warnings: &mut Vec<Breach>,
) {
    for f in families {
        if f.accepted == Some(true) {
            let what = Breach::FamilyAccepted {
                family: f.family,
                suites: f.suites.clone(),
                cite: c.families.clone(),
            };
            match f.level {
                Level::Fail => violations.push(what),
                _ => warnings.push(what),
            }
        }
    }
}

/// The suite rules: accepted suites outside the lists, suites allowed for
/// a transition only, no ECDHE AEAD suite in TLS 1.2.
fn suite_breaches(
    suites: &SuiteVerdicts,
    ecdhe_aead: Option<bool>,
    c: &Cites,
    violations: &mut Vec<Breach>,
    warnings: &mut Vec<Breach>,
) {
    if !suites.outside.is_empty() {
        violations.push(Breach::SuitesOutside {
            suites: suites.outside.clone(),
            cite: c.suites.clone(),
        });
    }
    if !suites.transitional.is_empty() {
        warnings.push(Breach::KeyTransport {
            suites: suites.transitional.clone(),
            cite: c.transitional.clone(),
        });
    }
    if ecdhe_aead == Some(false) {
        violations.push(Breach::NoEcdheAead {
            cite: c.ecdhe_aead.clone(),
        });
    }
}

/// The questions of `policy` the run has no answer to.
fn unanswered(scan: &ProtocolScan, policy: &TlsPolicy) -> Vec<Unanswered> {
    scan.unanswered(policy)
        .into_iter()
        .map(|question| Unanswered {
            tries: scan.attempts(&question),
            kept: scan.answered(&question),
            question,
        })
        .collect()
}

/// Apple ATS on the server certificate a device is shown: an RSA key of
/// at least 2048 bits or an EC key of at least 256, signed with SHA-256 or
/// better (`SecProtocolConfiguration.m`: the ATS minimums).
pub(crate) fn ats_path(leaf: &crate::analyze::chain::CertFacts) -> Vec<Breach> {
    const ATS: &str = "Apple ATS";
    let mut out = Vec::new();
    let key_ok = match leaf.key_type.as_str() {
        "rsa" | "rsa-pss" => leaf.key_bits >= 2048,
        "ec" | "ecdsa" => leaf.key_bits >= 256,
        _ => false,
    };
    if !key_ok {
        out.push(Breach::AppleKey {
            key_type: leaf.key_type.clone(),
            key_bits: leaf.key_bits,
            cite: ATS.to_owned(),
        });
    }
    let sig = leaf.signature_algorithm.to_ascii_lowercase();
    let hash_ok = ["sha256", "sha384", "sha512"]
        .iter()
        .any(|h| sig.contains(h))
        || (sig == "rsassapss");
    if !hash_ok {
        out.push(Breach::AppleSignature {
            algorithm: leaf.signature_algorithm.clone(),
            cite: ATS.to_owned(),
        });
    }
    out
}

/// Accepted suites against the policy's lists, by name.
struct SuiteVerdicts {
    outside: Vec<String>,
    transitional: Vec<String>,
}

fn suite_verdicts(scan: &ProtocolScan, policy: &TlsPolicy) -> SuiteVerdicts {
    let mut out = SuiteVerdicts {
        outside: Vec::new(),
        transitional: Vec::new(),
    };
    if policy.suites.is_empty() {
        return out;
    }
    for s in scan.accepted_suites() {
        // A forbidden family names it already.
        if policy.forbidden.iter().any(|f| f.contains(s)) {
            continue;
        }
        if !policy.suites.iter().all(|set| set.covers(s)) {
            out.outside.push(s.name.to_owned());
        } else if policy.suites.iter().any(|set| set.is_transitional(s)) {
            out.transitional.push(s.name.to_owned());
        }
    }
    out
}

/// What the `Cbc` answers say of Encrypt-then-MAC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "etm", rename_all = "snake_case")]
pub enum EtmVerdict {
    /// Every CBC answer came with the extension.
    Supported,
    /// A CBC suite was negotiated without it.
    Missing { version: Version, suite: String },
    /// No CBC suite of the lists is accepted: nothing to require.
    NoCbc,
}

fn etm_verdict(scan: &ProtocolScan, policy: &TlsPolicy) -> Option<EtmVerdict> {
    if !policy.require_etm {
        return None;
    }
    let mut any = false;
    let mut all_answered = true;
    for e in &scan.exchanges {
        let Question::Cbc { .. } = e.question else {
            continue;
        };
        match &e.reply {
            Reply::Accepted {
                version,
                suite,
                etm: Some(false),
            } => {
                return Some(EtmVerdict::Missing {
                    version: *version,
                    suite: suite.clone(),
                });
            }
            Reply::Accepted { .. } => any = true,
            Reply::NoAnswer { .. } => all_answered = false,
            _ => {}
        }
    }
    if any {
        Some(EtmVerdict::Supported)
    } else if all_answered
        && scan
            .exchanges
            .iter()
            .any(|e| matches!(e.question, Question::Cbc { .. }))
    {
        Some(EtmVerdict::NoCbc)
    } else {
        None
    }
}

/// `Some(true)`: an answer shows a suite an Apple device offers at TLS
/// 1.2 or 1.3; `Some(false)`: the ATS questions were refused (or the
/// server accepts neither version); `None`: unknown.
fn ats_verdict(scan: &ProtocolScan, policy: &TlsPolicy) -> Option<bool> {
    if !policy.ats {
        return None;
    }
    if scan
        .accepted()
        .any(|(v, s)| v >= Version::Tls12 && is_ats(s))
    {
        return Some(true);
    }
    let settled = [Version::Tls13, Version::Tls12].into_iter().all(|v| {
        scan.version_accepted(v) == Some(false)
            || (scan.version_accepted(v) == Some(true)
                && scan.answered(&Question::Ats { version: v }))
    });
    settled.then_some(false)
}

/// The `tls_weak_protocol` findings of a judgement: the violations at the
/// policy's `on_violation` level, the warnings as a warning, and a warning
/// naming the questions without an answer (their verdicts are unknown, or
/// an earlier run's). `on_violation = "off"` raises none.
pub fn findings(j: &ProtocolJudgement, action: Action) -> Vec<Finding> {
    let policy = if j.release.is_empty() {
        format!("policy {}", j.policy)
    } else {
        format!("policy {} ({})", j.policy, j.release)
    };
    let mut out = Vec::new();
    if !j.violations.is_empty() {
        out.extend(Finding::for_action(
            action,
            Reason::TlsWeakProtocol,
            format!("{policy}: {}", sentences(&j.violations)),
        ));
    }
    if action == Action::Off {
        return out;
    }
    if !j.warnings.is_empty() {
        out.push(Finding::new(
            Reason::TlsWeakProtocol,
            Level::Warn,
            format!("{policy}: {}", sentences(&j.warnings)),
        ));
    }
    if !j.unanswered.is_empty() {
        let items: Vec<String> = j.unanswered.iter().map(Unanswered::human).collect();
        out.push(Finding::new(
            Reason::TlsWeakProtocol,
            Level::Warn,
            format!(
                "{policy}: protocol enumeration incomplete, no answer to: {}",
                items.join(", ")
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests;

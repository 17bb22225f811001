//! TLS protocol policy as data, and the judgement of what a server accepts.
//!
//! The enumeration (`probe::tls::protocols`) asks the server a handful of
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

use serde::Serialize;

use crate::outcome::{Action, Finding, Level, Reason};
use crate::text::named_enum;
use crate::wire::tls::Version;
use crate::wire::tls::suites::{self, Cipher, Kex, Suite};

mod runs;
mod scan;

pub use runs::Runs;
pub use scan::{Exchange, MAX_ATTEMPTS, ProtocolScan, Question, Reply, reply_to, reply_to_error};

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
    pub fn human(self) -> &'static str {
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

    pub fn contains(self, s: &Suite) -> bool {
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

/// ECDHE with AES-GCM or AES-CCM: what SP 800-52r2 3.3.1 prefers, and what
/// a policy with `require_ecdhe_aead` wants a TLS 1.2 server to accept.
pub fn is_ecdhe_aead(s: &Suite) -> bool {
    s.kex == Kex::Ecdhe && matches!(s.cipher, Cipher::AesGcm | Cipher::AesCcm)
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
    pub forbidden: Vec<Family>,
    pub warn: Vec<Family>,
    pub require_ecdhe_aead: bool,
    pub on_violation: Action,
}

/// Built-in policy names; `stig` is an alias of `nist-800-52r2`.
pub const BUILTIN_POLICIES: [&str; 2] = ["nist-800-52r2", "stig"];

impl TlsPolicy {
    /// NIST SP 800-52 Rev. 2 for government servers, which the STIGs of
    /// the MDM's web tier point to:
    /// - 3.1: TLS 1.2 shall be supported, TLS 1.3 should be (and shall be
    ///   by 2024-01-01: a warning here, so a TLS 1.2-only Tomcat still
    ///   passes the gate but is told); SSL 3.0, TLS 1.0 and 1.1 shall not.
    /// - 3.3.1: only suites of approved algorithms; ephemeral (EC)DHE
    ///   preferred, AEAD preferred: NULL, EXPORT, anonymous, RC4, DES/3DES
    ///   (also SP 800-131A Rev. 2), RSA key transport and static (EC)DH
    ///   (static keys, no forward secrecy, like RSA key transport) are
    ///   forbidden; CBC with SHA-1 is listed but not preferred: a warning.
    /// - Apache Tomcat STIG TCAT-AS-001480 (TLS 1.2 or greater on secured
    ///   connectors) and TCAT-AS-000020 (strong ciphers) say the same for
    ///   the Jamf Pro Tomcat.
    pub fn nist() -> Self {
        TlsPolicy {
            name: "nist-800-52r2".to_owned(),
            release: "NIST SP 800-52r2 3.1, 3.3.1; STIG TCAT-AS-001480, TCAT-AS-000020".to_owned(),
            versions: vec![Version::Tls12, Version::Tls13],
            required_versions: vec![Version::Tls12],
            recommended_versions: vec![Version::Tls13],
            forbidden: vec![
                Family::Null,
                Family::Export,
                Family::Anon,
                Family::Rc4,
                Family::Des,
                Family::StaticRsa,
                Family::StaticDh,
            ],
            warn: vec![Family::CbcSha1],
            require_ecdhe_aead: true,
            on_violation: Action::Fail,
        }
    }

    pub fn builtin(name: &str) -> Option<Self> {
        match name {
            "nist-800-52r2" => Some(TlsPolicy::nist()),
            "stig" => Some(TlsPolicy {
                name: "stig".to_owned(),
                ..TlsPolicy::nist()
            }),
            _ => None,
        }
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
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.versions.is_empty() {
            problems.push("versions: empty, so every server would violate".to_owned());
        }
        for (key, list) in [
            ("required_versions", &self.required_versions),
            ("recommended_versions", &self.recommended_versions),
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
    pub violations: Vec<String>,
    pub warnings: Vec<String>,
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
    let versions: Vec<VersionVerdict> = Version::ALL
        .into_iter()
        .map(|v| VersionVerdict {
            version: v,
            accepted: scan.version_accepted(v),
            suite: scan.suite_for(v).map(|s| s.name.to_owned()),
            allowed: policy.versions.contains(&v),
        })
        .collect();
    let families: Vec<FamilyVerdict> = policy
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
        .collect();
    let tls12 = scan.version_accepted(Version::Tls12);
    let ecdhe_aead = if !policy.require_ecdhe_aead || tls12 != Some(true) {
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
    };

    let mut violations = Vec::new();
    let mut warnings = Vec::new();
    for v in &versions {
        match (v.accepted, v.allowed) {
            (Some(true), false) => violations.push(match &v.suite {
                Some(s) => format!("accepts {} with {s}", v.version.human()),
                None => format!("accepts {}", v.version.human()),
            }),
            (Some(false), _) if policy.required_versions.contains(&v.version) => {
                violations.push(format!("does not accept {} (required)", v.version.human()))
            }
            (Some(false), _) if policy.recommended_versions.contains(&v.version) => warnings.push(
                format!("does not accept {} (recommended)", v.version.human()),
            ),
            _ => {}
        }
    }
    for f in &families {
        if f.accepted == Some(true) {
            let what = format!("accepts {}: {}", f.family.human(), f.suites.join(", "));
            match f.level {
                Level::Fail => violations.push(what),
                _ => warnings.push(what),
            }
        }
    }
    if ecdhe_aead == Some(false) {
        violations.push("accepts TLS 1.2 but no ECDHE suite with AES-GCM or AES-CCM".to_owned());
    }
    let unanswered: Vec<Unanswered> = scan
        .unanswered(policy)
        .into_iter()
        .map(|question| Unanswered {
            tries: scan.attempts(&question),
            kept: scan.answered(&question),
            question,
        })
        .collect();
    ProtocolJudgement {
        policy: policy.name.clone(),
        release: policy.release.clone(),
        complete: unanswered.is_empty(),
        unanswered,
        versions,
        families,
        ecdhe_aead,
        violations,
        warnings,
    }
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
            format!("{policy}: {}", j.violations.join("; ")),
        ));
    }
    if action == Action::Off {
        return out;
    }
    if !j.warnings.is_empty() {
        out.push(Finding::new(
            Reason::TlsWeakProtocol,
            Level::Warn,
            format!("{policy}: {}", j.warnings.join("; ")),
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

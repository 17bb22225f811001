//! SSH algorithm policy as data, and the judgement of a server's offer.
//!
//! A policy lists, per kind, the algorithms a server may offer. Anything
//! else the server offers is a violation: a client could negotiate it.
//! STIG lists change between releases of the same STIG (RHEL-08-010291 once
//! allowed `aes192-ctr`, UBTU-22-255050 until V2R7), so the built-ins are one
//! policy per release (`stig-rhel8`, `stig-rhel9`, `stig-ubuntu2204`,
//! `stig-ubuntu2204-v1r1`, `stig-ubuntu2404`), each list tagged with the rule
//! that sets it, so a violation names the rule it breaks; `stig` is what all
//! current releases allow, and `fips` the FIPS 140-approved algorithms. The
//! data and its sources are in `ssh_policy/builtin.rs`. Users define their
//! own in config:
//!
//! ```toml
//! [ssh_policy.site]
//! release = "Site SSH baseline 2026-01"               # optional, shown in findings
//! rules = { ciphers = "SITE-SSH-7" }                  # optional rule IDs per list
//! kex = ["ecdh-sha2-nistp384", "ecdh-sha2-nistp521"]  # allowed key exchange
//! host_key = ["ecdsa-sha2-nistp384"]                  # allowed host-key algorithms
//! ciphers = ["aes256-gcm@openssh.com", "aes256-ctr"]  # allowed ciphers
//! macs = ["hmac-sha2-512-etm@openssh.com"]            # allowed MACs
//! compression = ["zlib@openssh.com"]                  # allowed besides `none` (default: empty)
//! allow_none_compression = true                       # `none` is allowed (default: true)
//! allow_protocol_1_99 = false                         # SSH-1 compatibility (default: false)
//! required_kex = ["ecdh-sha2-nistp384"]               # must be offered (default: empty)
//! # also required_host_key, required_ciphers, required_macs, required_compression
//! ```
//!
//! Direction: a KEXINIT offers ciphers, MACs and compression separately for
//! each direction. The judgement takes the union of both (deduplicated, in
//! the server's order), because a weak algorithm offered in either direction
//! can be negotiated. Language lists are not algorithms and are ignored.
//! Markers (`ext-info-*`, `kex-strict-*`, dropbear's `kexguess2@...`) are
//! signals in the kex list, not algorithms: they are reported apart and
//! never violate.

use crate::outcome::{Action, Finding, Reason, Subject};
use crate::text::named_enum;
use crate::wire::ssh::{KexInit, is_valid_algorithm_name};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

named_enum! {
/// Kinds of algorithm a server offers, in report order; label values on
/// `flowprobe_ssh_algorithm{kind}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlgorithmKind {
    Kex = "kex",
    HostKey = "host_key",
    Cipher = "cipher",
    Mac = "mac",
    Compression = "compression",
}
}

/// Names in a KEXINIT that signal extensions rather than name algorithms:
/// RFC 8308's `ext-info-*`, OpenSSH's strict key exchange (the Terrapin
/// fix), and dropbear's `kexguess2@matt.ucc.asn.au`, which says the server
/// can take a guessed first key exchange packet (dropbear puts it in its
/// kex list; no key exchange is negotiated by that name).
pub(crate) const MARKERS: [&str; 5] = [
    "ext-info-s",
    "ext-info-c",
    "kex-strict-s-v00@openssh.com",
    "kex-strict-c-v00@openssh.com",
    "kexguess2@matt.ucc.asn.au",
];

pub(crate) fn is_marker(name: &str) -> bool {
    MARKERS.contains(&name)
}

/// One STIG rule an allowed list comes from: a violation of `kind` names
/// every rule whose list does not allow the offered name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Basis {
    pub kind: AlgorithmKind,
    /// `RHEL-09-255065`
    pub rule: String,
    /// `RHEL 9 STIG V2R7`
    pub release: String,
    /// What the rule allows (compression: besides `none`).
    pub allows: Vec<String>,
}

/// Rule IDs a configured policy's lists come from, by list key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleIds {
    pub kex: Option<String>,
    pub host_key: Option<String>,
    pub ciphers: Option<String>,
    pub macs: Option<String>,
    pub compression: Option<String>,
}

/// Which algorithms a server may offer; see the module doc for the TOML form.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SshPolicy {
    /// The `[ssh_policy.NAME]` key, or the built-in's name; set by
    /// [`SshPolicy::named`], not read from the table.
    #[serde(skip)]
    pub name: String,
    /// Where the lists come from (`RHEL 9 STIG V2R7`); empty when unsaid.
    #[serde(default)]
    pub release: String,
    /// The rule IDs of a configured policy's lists (`rules = { ciphers =
    /// "SITE-SSH-7" }`); built-ins carry theirs in `basis`.
    #[serde(default)]
    pub rules: RuleIds,
    pub kex: Vec<String>,
    pub host_key: Vec<String>,
    pub ciphers: Vec<String>,
    pub macs: Vec<String>,
    /// Compression methods allowed besides `none`.
    #[serde(default)]
    pub compression: Vec<String>,
    #[serde(default = "yes")]
    pub allow_none_compression: bool,
    /// Whether a `SSH-1.99` identification (SSH-1 still accepted) is fine.
    #[serde(default)]
    pub allow_protocol_1_99: bool,
    #[serde(default)]
    pub required_kex: Vec<String>,
    #[serde(default)]
    pub required_host_key: Vec<String>,
    #[serde(default)]
    pub required_ciphers: Vec<String>,
    #[serde(default)]
    pub required_macs: Vec<String>,
    #[serde(default)]
    pub required_compression: Vec<String>,
    /// The rules the lists come from; built from `rules` for a configured
    /// policy by [`SshPolicy::named`].
    #[serde(skip)]
    pub basis: Vec<Basis>,
}

fn yes() -> bool {
    true
}

/// Names of the built-in policies: the STIG common ground (`stig`, the
/// catalog's default), one per STIG release, and `fips`.
pub const BUILTIN_POLICIES: [&str; 7] = [
    "stig",
    "stig-rhel8",
    "stig-rhel9",
    "stig-ubuntu2204",
    "stig-ubuntu2204-v1r1",
    "stig-ubuntu2404",
    "fips",
];

/// What the wire cannot tell about `zlib@openssh.com` under a compression
/// rule such as RHEL-09-255130.
pub const COMPRESSION_NOTE: &str = "zlib@openssh.com is delayed compression (after authentication), \
which the rule accepts; the wire cannot tell `Compression delayed` from `Compression yes` \
(OpenSSH 7.4 and later offer the same for both), and the rule's check of sshd_config still \
flags `yes`";

/// The FIPS 140 lists of `fips`: approved primitives, so wider than any
/// STIG release (`aes192-ctr`, host certificates).
const FIPS_CIPHERS: [&str; 5] = [
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
    "aes256-gcm@openssh.com",
    "aes128-gcm@openssh.com",
];

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|&n| n.to_owned()).collect()
}

impl SshPolicy {
    /// A policy that allows nothing, for builders.
    fn empty(name: &str) -> Self {
        SshPolicy {
            name: name.to_owned(),
            release: String::new(),
            rules: RuleIds::default(),
            kex: Vec::new(),
            host_key: Vec::new(),
            ciphers: Vec::new(),
            macs: Vec::new(),
            compression: Vec::new(),
            allow_none_compression: true,
            allow_protocol_1_99: false,
            required_kex: Vec::new(),
            required_host_key: Vec::new(),
            required_ciphers: Vec::new(),
            required_macs: Vec::new(),
            required_compression: Vec::new(),
            basis: Vec::new(),
        }
    }

    /// The policy under its config or built-in name; a configured policy's
    /// `rules` become its basis.
    pub(crate) fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        let release = if self.release.is_empty() {
            format!("policy {}", self.name)
        } else {
            self.release.clone()
        };
        let rules = self.rules.clone();
        let tagged = [
            (AlgorithmKind::Kex, rules.kex),
            (AlgorithmKind::HostKey, rules.host_key),
            (AlgorithmKind::Cipher, rules.ciphers),
            (AlgorithmKind::Mac, rules.macs),
            (AlgorithmKind::Compression, rules.compression),
        ];
        for (kind, rule) in tagged {
            if let Some(rule) = rule {
                let allows = self.allowed(kind).to_vec();
                self.basis.push(Basis {
                    kind,
                    rule,
                    release: release.clone(),
                    allows,
                });
            }
        }
        self
    }

    /// The strict common ground of the current STIG releases (RHEL 8, RHEL 9,
    /// Ubuntu 22.04, Ubuntu 24.04); `ssh_policy/builtin.rs` cites the sources.
    pub fn stig() -> Self {
        builtin::common_ground()
    }

    /// FIPS 140-approved algorithms, not a STIG release: the STIG ciphers
    /// plus `aes192-ctr`, the FIPS key exchange set, and the OpenSSH
    /// host-certificate forms of the host-key algorithms
    /// (`rsa-sha2-256-cert-v01@openssh.com`, ...), which use the same
    /// approved signatures and which RHEL's FIPS crypto policy allows.
    pub(crate) fn fips() -> Self {
        let mut p = builtin::RHEL9.policy();
        p.name = "fips".to_owned();
        p.release = "FIPS 140-approved algorithms".to_owned();
        p.ciphers = strings(&FIPS_CIPHERS);
        let certs = builtin::HOST_KEY
            .iter()
            .map(|n| format!("{n}-cert-v01@openssh.com"));
        p.host_key.extend(certs);
        p.basis.clear();
        p
    }

    /// A built-in policy by name.
    pub fn builtin(name: &str) -> Option<Self> {
        match name {
            "stig" => Some(SshPolicy::stig()),
            "fips" => Some(SshPolicy::fips()),
            _ => builtin::RELEASES
                .iter()
                .find(|r| r.policy == name)
                .map(|r| r.policy()),
        }
    }

    /// Allowed algorithms of one kind (`none` compression aside).
    pub(crate) fn allowed(&self, kind: AlgorithmKind) -> &[String] {
        match kind {
            AlgorithmKind::Kex => &self.kex,
            AlgorithmKind::HostKey => &self.host_key,
            AlgorithmKind::Cipher => &self.ciphers,
            AlgorithmKind::Mac => &self.macs,
            AlgorithmKind::Compression => &self.compression,
        }
    }

    fn allowed_mut(&mut self, kind: AlgorithmKind) -> &mut Vec<String> {
        match kind {
            AlgorithmKind::Kex => &mut self.kex,
            AlgorithmKind::HostKey => &mut self.host_key,
            AlgorithmKind::Cipher => &mut self.ciphers,
            AlgorithmKind::Mac => &mut self.macs,
            AlgorithmKind::Compression => &mut self.compression,
        }
    }

    pub(crate) fn required(&self, kind: AlgorithmKind) -> &[String] {
        match kind {
            AlgorithmKind::Kex => &self.required_kex,
            AlgorithmKind::HostKey => &self.required_host_key,
            AlgorithmKind::Cipher => &self.required_ciphers,
            AlgorithmKind::Mac => &self.required_macs,
            AlgorithmKind::Compression => &self.required_compression,
        }
    }

    /// Whether the server may offer `name` as a `kind` algorithm.
    pub(crate) fn allows(&self, kind: AlgorithmKind, name: &str) -> bool {
        if kind == AlgorithmKind::Compression && name == "none" {
            return self.allow_none_compression;
        }
        self.allowed(kind).iter().any(|a| a == name)
    }

    /// The rules a disallowed `kind` algorithm `name` breaks, in basis order.
    pub(crate) fn broken_rules(&self, kind: AlgorithmKind, name: &str) -> Vec<String> {
        let mut rules: Vec<String> = Vec::new();
        for b in self.basis.iter().filter(|b| b.kind == kind) {
            let none_ok = kind == AlgorithmKind::Compression && name == "none";
            if !none_ok && !b.allows.iter().any(|a| a == name) && !rules.contains(&b.rule) {
                rules.push(b.rule.clone());
            }
        }
        rules
    }

    /// Problems that make the policy useless or contradictory, each naming
    /// its key (`ciphers[2]: ...`), for config validation.
    pub(crate) fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for kind in AlgorithmKind::ALL {
            let key = allowed_key(kind);
            if kind != AlgorithmKind::Compression && self.allowed(kind).is_empty() {
                problems.push(format!("{key}: empty, so every server would violate"));
            }
            for (i, name) in self.allowed(kind).iter().enumerate() {
                if !is_valid_algorithm_name(name) {
                    problems.push(format!("{key}[{i}]: {name:?} is not an algorithm name"));
                }
            }
            for (i, name) in self.required(kind).iter().enumerate() {
                if !self.allows(kind, name) {
                    problems.push(format!(
                        "required_{key}[{i}]: {name:?} is required but not allowed"
                    ));
                }
            }
        }
        if self.compression.iter().any(|n| n == "none") {
            problems.push(
                "compression: list `none` through allow_none_compression, not here".to_owned(),
            );
        }
        problems
    }
}

/// The TOML key of a kind's allowed list.
fn allowed_key(kind: AlgorithmKind) -> &'static str {
    match kind {
        AlgorithmKind::Kex => "kex",
        AlgorithmKind::HostKey => "host_key",
        AlgorithmKind::Cipher => "ciphers",
        AlgorithmKind::Mac => "macs",
        AlgorithmKind::Compression => "compression",
    }
}

/// One algorithm the server offered, judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfferedAlgorithm {
    pub kind: AlgorithmKind,
    pub name: String,
    pub allowed: bool,
    /// The rules a disallowed algorithm breaks (`RHEL-09-255065`); empty
    /// when allowed or when no rule sets the list.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}

/// A server's offer judged by one policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SshJudgement {
    pub policy: String,
    /// Where the policy's lists come from (`RHEL 9 STIG V2R7`).
    pub release: String,
    /// Every offered algorithm, by kind, in the server's order.
    pub offered: Vec<OfferedAlgorithm>,
    /// Marker names seen in the kex list.
    pub markers: Vec<String>,
    /// Offered but not allowed; kinds without violations are absent.
    pub violations: BTreeMap<AlgorithmKind, Vec<String>>,
    /// Required but not offered; kinds without gaps are absent.
    pub missing_required: BTreeMap<AlgorithmKind, Vec<String>>,
    /// What the wire cannot tell, for people ([`COMPRESSION_NOTE`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl SshJudgement {
    pub fn is_compliant(&self) -> bool {
        self.violations.is_empty() && self.missing_required.is_empty()
    }

    /// Violations of one kind, for `flowprobe_ssh_violations{kind}`.
    pub fn violation_count(&self, kind: AlgorithmKind) -> usize {
        self.violations.get(&kind).map_or(0, Vec::len)
            + self.missing_required.get(&kind).map_or(0, Vec::len)
    }
}

/// The offered names of one kind: both directions merged, markers included.
fn offered_names(kex: &KexInit, kind: AlgorithmKind) -> Vec<&str> {
    let lists: [&[String]; 2] = match kind {
        AlgorithmKind::Kex => [&kex.kex_algorithms, &[]],
        AlgorithmKind::HostKey => [&kex.server_host_key_algorithms, &[]],
        AlgorithmKind::Cipher => [
            &kex.encryption_client_to_server,
            &kex.encryption_server_to_client,
        ],
        AlgorithmKind::Mac => [&kex.mac_client_to_server, &kex.mac_server_to_client],
        AlgorithmKind::Compression => [
            &kex.compression_client_to_server,
            &kex.compression_server_to_client,
        ],
    };
    let mut names: Vec<&str> = Vec::new();
    for name in lists.into_iter().flatten() {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    names
}

/// Judges what the server offers by `policy`.
pub fn judge(kex: &KexInit, policy: &SshPolicy) -> SshJudgement {
    let mut judgement = SshJudgement {
        policy: policy.name.clone(),
        release: policy.release.clone(),
        offered: Vec::new(),
        markers: Vec::new(),
        violations: BTreeMap::new(),
        missing_required: BTreeMap::new(),
        notes: Vec::new(),
    };
    for kind in AlgorithmKind::ALL {
        let names = offered_names(kex, kind);
        for &name in &names {
            if is_marker(name) {
                judgement.markers.push(name.to_owned());
                continue;
            }
            let allowed = policy.allows(kind, name);
            if !allowed {
                judgement
                    .violations
                    .entry(kind)
                    .or_default()
                    .push(name.to_owned());
            }
            let rules = if allowed {
                Vec::new()
            } else {
                policy.broken_rules(kind, name)
            };
            judgement.offered.push(OfferedAlgorithm {
                kind,
                name: name.to_owned(),
                allowed,
                rules,
            });
        }
        let missing: Vec<String> = policy
            .required(kind)
            .iter()
            .filter(|r| !names.contains(&r.as_str()))
            .cloned()
            .collect();
        if !missing.is_empty() {
            judgement.missing_required.insert(kind, missing);
        }
    }
    let compression_rule = policy
        .basis
        .iter()
        .any(|b| b.kind == AlgorithmKind::Compression);
    let delayed = judgement
        .offered
        .iter()
        .any(|a| a.kind == AlgorithmKind::Compression && a.allowed && a.name == "zlib@openssh.com");
    if compression_rule && delayed {
        judgement.notes.push(COMPRESSION_NOTE.to_owned());
    }
    judgement
}

/// `RULE: cipher a is not allowed`, `RULE: ciphers a, b are not allowed`:
/// a kind's violations grouped by the rules they break, in offer order.
fn violation_phrases(j: &SshJudgement, kind: AlgorithmKind) -> Vec<String> {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for a in j.offered.iter().filter(|a| a.kind == kind && !a.allowed) {
        let rules = a.rules.join(", ");
        match groups.iter_mut().find(|(r, _)| *r == rules) {
            Some((_, names)) => names.push(&a.name),
            None => groups.push((rules, vec![&a.name])),
        }
    }
    groups
        .into_iter()
        .map(|(rules, names)| {
            let what = if names.len() == 1 {
                format!("{} {} is not allowed", kind.as_str(), names[0])
            } else {
                let plural = match kind {
                    AlgorithmKind::Kex => "kex algorithms",
                    AlgorithmKind::HostKey => "host_key algorithms",
                    AlgorithmKind::Cipher => "ciphers",
                    AlgorithmKind::Mac => "macs",
                    AlgorithmKind::Compression => "compression methods",
                };
                format!("{plural} {} are not allowed", names.join(", "))
            };
            let what = if kind == AlgorithmKind::Compression && names.contains(&"zlib") {
                format!("{what} (zlib compresses before authentication)")
            } else {
                what
            };
            if rules.is_empty() {
                what
            } else {
                format!("{rules}: {what}")
            }
        })
        .collect()
}

/// The `ssh_weak_algorithms` finding for a judgement, naming every violation
/// with the rule it breaks (`policy stig-rhel9 (RHEL 9 STIG V2R7):
/// RHEL-09-255065: cipher aes192-ctr is not allowed`); none when the offer
/// complies or `action` is off.
pub fn findings(j: &SshJudgement, action: Action) -> Vec<Finding> {
    if j.is_compliant() {
        return Vec::new();
    }
    let mut parts: Vec<String> = AlgorithmKind::ALL
        .into_iter()
        .flat_map(|kind| violation_phrases(j, kind))
        .collect();
    parts.extend(
        j.missing_required.iter().map(|(kind, names)| {
            format!("missing required {}: {}", kind.as_str(), names.join(", "))
        }),
    );
    let policy = if j.release.is_empty() {
        format!("policy {}", j.policy)
    } else {
        format!("policy {} ({})", j.policy, j.release)
    };
    let mut detail = format!("{policy}: {}", parts.join("; "));
    // The compression note matters where compression is judged.
    if j.violations.contains_key(&AlgorithmKind::Compression) {
        for note in &j.notes {
            detail.push_str(&format!(" (note: {note})"));
        }
    }
    Finding::for_action(action, Reason::SshWeakAlgorithms, detail)
        .map(|f| {
            f.about(Subject::SshOffer {
                policy: j.policy.clone(),
            })
        })
        .into_iter()
        .collect()
}

/// `ssh_banner` when the server still accepts SSH-1 (`1.99`) and the policy
/// does not allow that.
pub(crate) fn protocol_finding(
    protocol: &str,
    policy: &SshPolicy,
    action: Action,
) -> Option<Finding> {
    if protocol == "2.0" || policy.allow_protocol_1_99 {
        return None;
    }
    let detail = format!(
        "policy {}: protocol {protocol} also accepts SSH-1",
        policy.name
    );
    Finding::for_action(action, Reason::SshBanner, detail)
}

/// `ssh_host_key` when the server does not offer every `expected` host-key
/// algorithm: a changed or replaced key type is worth a look.
pub(crate) fn host_key_pin_finding(
    kex: &KexInit,
    expected: &[String],
    action: Action,
) -> Option<Finding> {
    let missing: Vec<&str> = expected
        .iter()
        .filter(|e| !kex.server_host_key_algorithms.contains(e))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return None;
    }
    let detail = format!(
        "expected host-key algorithms not offered: {} (offered: {})",
        missing.join(", "),
        kex.server_host_key_algorithms.join(", ")
    );
    Finding::for_action(action, Reason::SshHostKey, detail)
}

/// `ssh_software` when the identification does not match `pattern`. The
/// pattern sees software and comments joined by a space
/// (`OpenSSH_9.2p1 Debian-2+deb12u3`), so a pin can include the distribution
/// patch level; it is unanchored unless written with `^...$`.
pub(crate) fn software_pin_finding(
    software: &str,
    comments: Option<&str>,
    pattern: &Regex,
    action: Action,
) -> Option<Finding> {
    let seen = match comments {
        Some(c) => format!("{software} {c}"),
        None => software.to_owned(),
    };
    if pattern.is_match(&seen) {
        return None;
    }
    let detail = format!("software {seen:?} does not match {:?}", pattern.as_str());
    Finding::for_action(action, Reason::SshSoftware, detail)
}

mod builtin;

#[cfg(test)]
mod tests;

//! SSH algorithm policy as data, and the judgement of a server's offer.
//!
//! A policy lists, per kind, the algorithms a server may offer. Anything
//! else the server offers is a violation: a client could negotiate it. The
//! built-in `stig` and `fips` policies follow design.md section 1; users
//! define their own in config because the lists change between STIG releases:
//!
//! ```toml
//! [ssh_policy.site]
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
//! Markers (`ext-info-*`, `kex-strict-*`) are signals in the kex list, not
//! algorithms: they are reported apart and never violate.

use crate::outcome::{Action, Finding, Reason};
use crate::probe::ssh_wire::{KexInit, is_valid_algorithm_name};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Kinds of algorithm a server offers, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlgorithmKind {
    Kex,
    HostKey,
    Cipher,
    Mac,
    Compression,
}

impl AlgorithmKind {
    pub const ALL: [AlgorithmKind; 5] = [
        AlgorithmKind::Kex,
        AlgorithmKind::HostKey,
        AlgorithmKind::Cipher,
        AlgorithmKind::Mac,
        AlgorithmKind::Compression,
    ];

    /// Label value on `flowprobe_ssh_algorithm{kind}`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlgorithmKind::Kex => "kex",
            AlgorithmKind::HostKey => "host_key",
            AlgorithmKind::Cipher => "cipher",
            AlgorithmKind::Mac => "mac",
            AlgorithmKind::Compression => "compression",
        }
    }
}

/// Names in a KEXINIT that signal extensions rather than name algorithms.
pub const MARKERS: [&str; 4] = [
    "ext-info-s",
    "ext-info-c",
    "kex-strict-s-v00@openssh.com",
    "kex-strict-c-v00@openssh.com",
];

pub fn is_marker(name: &str) -> bool {
    MARKERS.contains(&name)
}

/// Which algorithms a server may offer; see the module doc for the TOML form.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SshPolicy {
    /// The `[ssh_policy.NAME]` key, or the built-in's name; set by
    /// [`SshPolicy::named`], not read from the table.
    #[serde(skip)]
    pub name: String,
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
}

fn yes() -> bool {
    true
}

/// Names of the built-in policies.
pub const BUILTIN_POLICIES: [&str; 2] = ["stig", "fips"];

const STIG_KEX: [&str; 7] = [
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group14-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
];
const STIG_HOST_KEY: [&str; 5] = [
    "rsa-sha2-256",
    "rsa-sha2-512",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
];
const STIG_CIPHERS: [&str; 5] = [
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
    "aes256-gcm@openssh.com",
    "aes128-gcm@openssh.com",
];
const STIG_MACS: [&str; 4] = [
    "hmac-sha2-512",
    "hmac-sha2-256",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
];

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|&n| n.to_owned()).collect()
}

impl SshPolicy {
    /// The policy under its config or built-in name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The DISA STIG lists (design.md section 1): the union of what recent
    /// OpenSSH STIG rules allow, plain host-key forms only.
    pub fn stig() -> Self {
        SshPolicy {
            name: "stig".to_owned(),
            kex: strings(&STIG_KEX),
            host_key: strings(&STIG_HOST_KEY),
            ciphers: strings(&STIG_CIPHERS),
            macs: strings(&STIG_MACS),
            compression: strings(&["zlib@openssh.com"]),
            allow_none_compression: true,
            allow_protocol_1_99: false,
            required_kex: Vec::new(),
            required_host_key: Vec::new(),
            required_ciphers: Vec::new(),
            required_macs: Vec::new(),
            required_compression: Vec::new(),
        }
    }

    /// `stig` plus the OpenSSH host-certificate forms of its host-key
    /// algorithms (`rsa-sha2-256-cert-v01@openssh.com`, ...). FIPS 140
    /// approves primitives, and a host certificate uses the same approved
    /// signature algorithms, which is also what RHEL's FIPS crypto policy
    /// allows; the STIG rule text lists only the plain forms.
    pub fn fips() -> Self {
        let mut policy = SshPolicy::stig().named("fips");
        let certs: Vec<String> = STIG_HOST_KEY
            .iter()
            .map(|n| format!("{n}-cert-v01@openssh.com"))
            .collect();
        policy.host_key.extend(certs);
        policy
    }

    /// A built-in policy by name.
    pub fn builtin(name: &str) -> Option<Self> {
        match name {
            "stig" => Some(SshPolicy::stig()),
            "fips" => Some(SshPolicy::fips()),
            _ => None,
        }
    }

    /// Allowed algorithms of one kind (`none` compression aside).
    pub fn allowed(&self, kind: AlgorithmKind) -> &[String] {
        match kind {
            AlgorithmKind::Kex => &self.kex,
            AlgorithmKind::HostKey => &self.host_key,
            AlgorithmKind::Cipher => &self.ciphers,
            AlgorithmKind::Mac => &self.macs,
            AlgorithmKind::Compression => &self.compression,
        }
    }

    pub fn required(&self, kind: AlgorithmKind) -> &[String] {
        match kind {
            AlgorithmKind::Kex => &self.required_kex,
            AlgorithmKind::HostKey => &self.required_host_key,
            AlgorithmKind::Cipher => &self.required_ciphers,
            AlgorithmKind::Mac => &self.required_macs,
            AlgorithmKind::Compression => &self.required_compression,
        }
    }

    /// Whether the server may offer `name` as a `kind` algorithm.
    pub fn allows(&self, kind: AlgorithmKind, name: &str) -> bool {
        if kind == AlgorithmKind::Compression && name == "none" {
            return self.allow_none_compression;
        }
        self.allowed(kind).iter().any(|a| a == name)
    }

    /// Problems that make the policy useless or contradictory, each naming
    /// its key (`ciphers[2]: ...`), for config validation.
    pub fn validate(&self) -> Vec<String> {
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
}

/// A server's offer judged by one policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SshJudgement {
    pub policy: String,
    /// Every offered algorithm, by kind, in the server's order.
    pub offered: Vec<OfferedAlgorithm>,
    /// Marker names seen in the kex list.
    pub markers: Vec<String>,
    /// Offered but not allowed; kinds without violations are absent.
    pub violations: BTreeMap<AlgorithmKind, Vec<String>>,
    /// Required but not offered; kinds without gaps are absent.
    pub missing_required: BTreeMap<AlgorithmKind, Vec<String>>,
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
        offered: Vec::new(),
        markers: Vec::new(),
        violations: BTreeMap::new(),
        missing_required: BTreeMap::new(),
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
            judgement.offered.push(OfferedAlgorithm {
                kind,
                name: name.to_owned(),
                allowed,
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
    judgement
}

/// The `ssh_weak_algorithms` finding for a judgement, naming every violation
/// by kind (`kex: diffie-hellman-group1-sha1; cipher: aes128-cbc`); none when
/// the offer complies or `action` is off.
pub fn findings(j: &SshJudgement, action: Action) -> Vec<Finding> {
    if j.is_compliant() {
        return Vec::new();
    }
    let mut parts: Vec<String> = j
        .violations
        .iter()
        .map(|(kind, names)| format!("{}: {}", kind.as_str(), names.join(", ")))
        .collect();
    parts.extend(
        j.missing_required.iter().map(|(kind, names)| {
            format!("missing required {}: {}", kind.as_str(), names.join(", "))
        }),
    );
    let detail = format!("policy {}: {}", j.policy, parts.join("; "));
    Finding::for_action(action, Reason::SshWeakAlgorithms, detail)
        .into_iter()
        .collect()
}

/// `ssh_banner` when the server still accepts SSH-1 (`1.99`) and the policy
/// does not allow that.
pub fn protocol_finding(protocol: &str, policy: &SshPolicy, action: Action) -> Option<Finding> {
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
pub fn host_key_pin_finding(kex: &KexInit, expected: &[String], action: Action) -> Option<Finding> {
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
pub fn software_pin_finding(
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

#[cfg(test)]
mod tests;

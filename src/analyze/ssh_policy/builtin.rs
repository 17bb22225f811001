//! The built-in SSH policies as data: one per STIG release, each allowed
//! list tagged with the rule that sets it, so a violation names its rule.
//!
//! Sources (rule texts as the MITRE SAF `*-stig-baseline` repositories
//! publish them, checked 2026):
//! - RHEL 9 STIG V2R7: `mitre/redhat-enterprise-linux-9-stig-baseline`
//!   (main, after the "v2r7 delta"): RHEL-09-255065 (SV-257989r1051240),
//!   RHEL-09-255075 (SV-257991r1051246), RHEL-09-255130 (SV-258002r1155590).
//!   The STIG names no KexAlgorithms list for RHEL 9: RHEL-09-215105 requires
//!   the FIPS crypto policy, whose OpenSSH key exchange on RHEL 9 is the same
//!   FIPS set RHEL 8's rule spells out.
//! - RHEL 8 STIG V2R5: `mitre/redhat-enterprise-linux-8-stig-baseline`
//!   (branch V2R5): RHEL-08-010291 (SV-230252r1067104; revision r917873 and
//!   earlier also allowed `aes192-ctr`), RHEL-08-010290 (SV-230251r1044814),
//!   RHEL-08-040342 (SV-255924r1017372).
//! - Ubuntu 22.04 STIG V2R7 (January 2026): UBTU-22-255050 lost `aes192-ctr`
//!   in V2R7 (DISA's V2R7 change history as quoted by ansible-lockdown's
//!   UBUNTU22-STIG; the MITRE profile still carries the V1R1 text).
//!   UBTU-22-255055 (SV-260532r953409) and UBTU-22-255060 (SV-260533r953412)
//!   are unchanged from V1R1.
//! - Ubuntu 22.04 STIG V1R1: `mitre/canonical-ubuntu-22.04-lts-stig-baseline`:
//!   UBTU-22-255050 (SV-260531r953406) with `aes192-ctr`; releases before V2R7
//!   kept that list.
//! - Ubuntu 24.04 STIG V1R1: `mitre/canonical-ubuntu-24.04-lts-stig-baseline`:
//!   UBTU-24-100820 (SV-270667r1067107), UBTU-24-100830 (SV-270668r1067110),
//!   UBTU-24-100840 (SV-270669r1067112).
//!
//! No STIG rule lists host-key algorithms: every STIG policy allows the
//! FIPS 186 signature algorithms below, plain forms only.

use super::{AlgorithmKind, Basis, SshPolicy};

/// One allowed list and the rule that sets it (none: no rule names a list).
pub(super) struct List {
    pub rule: Option<&'static str>,
    pub names: &'static [&'static str],
}

/// One STIG release's SSH lists.
pub(super) struct Release {
    pub policy: &'static str,
    pub release: &'static str,
    pub kex: List,
    pub ciphers: List,
    pub macs: List,
    /// Allowed besides `none`.
    pub compression: List,
}

/// FIPS 186 host-key signature algorithms (no STIG rule lists them).
pub(super) const HOST_KEY: [&str; 5] = [
    "rsa-sha2-256",
    "rsa-sha2-512",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
];

/// The FIPS 140 key exchange set (RHEL-08-040342, and RHEL 9's FIPS policy).
const FIPS_KEX: &[&str] = &[
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group14-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
];

/// The four AES modes every current release allows.
const AES_GCM_CTR: &[&str] = &[
    "aes256-gcm@openssh.com",
    "aes256-ctr",
    "aes128-gcm@openssh.com",
    "aes128-ctr",
];

const SHA2_MACS: &[&str] = &[
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512",
    "hmac-sha2-256",
];

/// Delayed compression only; see [`super::COMPRESSION_NOTE`].
const DELAYED: &[&str] = &["zlib@openssh.com"];

const NO_RULE_COMPRESSION: List = List {
    rule: None,
    names: DELAYED,
};

pub(super) const RHEL9: Release = Release {
    policy: "stig-rhel9",
    release: "RHEL 9 STIG V2R7",
    kex: List {
        rule: Some("RHEL-09-215105"),
        names: FIPS_KEX,
    },
    ciphers: List {
        rule: Some("RHEL-09-255065"),
        names: AES_GCM_CTR,
    },
    macs: List {
        rule: Some("RHEL-09-255075"),
        names: SHA2_MACS,
    },
    compression: List {
        rule: Some("RHEL-09-255130"),
        names: DELAYED,
    },
};

pub(super) const RHEL8: Release = Release {
    policy: "stig-rhel8",
    release: "RHEL 8 STIG V2R5",
    kex: List {
        rule: Some("RHEL-08-040342"),
        names: FIPS_KEX,
    },
    ciphers: List {
        rule: Some("RHEL-08-010291"),
        names: AES_GCM_CTR,
    },
    macs: List {
        rule: Some("RHEL-08-010290"),
        names: SHA2_MACS,
    },
    compression: NO_RULE_COMPRESSION,
};

const UBUNTU2204_KEX: List = List {
    rule: Some("UBTU-22-255060"),
    names: &[
        "ecdh-sha2-nistp256",
        "ecdh-sha2-nistp384",
        "ecdh-sha2-nistp521",
        "diffie-hellman-group-exchange-sha256",
    ],
};

const UBUNTU2204_MACS: List = List {
    rule: Some("UBTU-22-255055"),
    names: SHA2_MACS,
};

pub(super) const UBUNTU2204: Release = Release {
    policy: "stig-ubuntu2204",
    release: "Ubuntu 22.04 STIG V2R7",
    kex: UBUNTU2204_KEX,
    ciphers: List {
        rule: Some("UBTU-22-255050"),
        names: AES_GCM_CTR,
    },
    macs: UBUNTU2204_MACS,
    compression: NO_RULE_COMPRESSION,
};

pub(super) const UBUNTU2204_V1R1: Release = Release {
    policy: "stig-ubuntu2204-v1r1",
    release: "Ubuntu 22.04 STIG V1R1",
    kex: UBUNTU2204_KEX,
    ciphers: List {
        rule: Some("UBTU-22-255050"),
        names: &[
            "aes256-ctr",
            "aes256-gcm@openssh.com",
            "aes192-ctr",
            "aes128-ctr",
            "aes128-gcm@openssh.com",
        ],
    },
    macs: UBUNTU2204_MACS,
    compression: NO_RULE_COMPRESSION,
};

pub(super) const UBUNTU2404: Release = Release {
    policy: "stig-ubuntu2404",
    release: "Ubuntu 24.04 STIG V1R1",
    kex: List {
        rule: Some("UBTU-24-100840"),
        names: &[
            "ecdh-sha2-nistp521",
            "ecdh-sha2-nistp384",
            "ecdh-sha2-nistp256",
            "diffie-hellman-group-exchange-sha256",
            "diffie-hellman-group16-sha512",
            "diffie-hellman-group14-sha256",
        ],
    },
    ciphers: List {
        rule: Some("UBTU-24-100820"),
        names: AES_GCM_CTR,
    },
    macs: List {
        rule: Some("UBTU-24-100830"),
        names: SHA2_MACS,
    },
    compression: NO_RULE_COMPRESSION,
};

/// The current releases whose common ground is `stig`.
pub(super) const CURRENT: [&Release; 4] = [&RHEL8, &RHEL9, &UBUNTU2204, &UBUNTU2404];

/// Every single-release policy.
pub(super) const RELEASES: [&Release; 5] =
    [&RHEL8, &RHEL9, &UBUNTU2204, &UBUNTU2204_V1R1, &UBUNTU2404];

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|&n| n.to_owned()).collect()
}

impl Release {
    fn lists(&self) -> [(AlgorithmKind, &List); 4] {
        [
            (AlgorithmKind::Kex, &self.kex),
            (AlgorithmKind::Cipher, &self.ciphers),
            (AlgorithmKind::Mac, &self.macs),
            (AlgorithmKind::Compression, &self.compression),
        ]
    }

    /// The rules this release's lists come from.
    fn basis(&self) -> Vec<Basis> {
        self.lists()
            .into_iter()
            .filter_map(|(kind, list)| {
                list.rule.map(|rule| Basis {
                    kind,
                    rule: rule.to_owned(),
                    release: self.release.to_owned(),
                    allows: strings(list.names),
                })
            })
            .collect()
    }

    pub(super) fn policy(&self) -> SshPolicy {
        let mut p = SshPolicy::empty(self.policy);
        p.release = self.release.to_owned();
        p.kex = strings(self.kex.names);
        p.host_key = strings(&HOST_KEY);
        p.ciphers = strings(self.ciphers.names);
        p.macs = strings(self.macs.names);
        p.compression = strings(self.compression.names);
        p.basis = self.basis();
        p
    }
}

/// `stig`: what every current release allows, in RHEL 9's order; a name
/// outside it breaks the rule of each release that does not allow it.
pub(super) fn common_ground() -> SshPolicy {
    let releases: Vec<SshPolicy> = CURRENT.iter().map(|r| r.policy()).collect();
    let mut p = RHEL9.policy();
    p.name = "stig".to_owned();
    p.release = format!("common ground of {}", CURRENT.map(|r| r.release).join(", "));
    for kind in AlgorithmKind::ALL {
        let keep: Vec<String> = p
            .allowed(kind)
            .iter()
            .filter(|n| releases.iter().all(|r| r.allows(kind, n)))
            .cloned()
            .collect();
        *p.allowed_mut(kind) = keep;
    }
    p.basis = CURRENT.iter().flat_map(|r| r.basis()).collect();
    p
}

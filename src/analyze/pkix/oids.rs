//! Names of the public certificate-policy OIDs of the Federal PKI (Federal
//! Common Policy and Federal Bridge certificate policies) and of the DoD
//! certificate policy, as GSA's FPKI CITE guide (Appendix A, the
//! idmanagement.gov repository) lists them, so that `initial_policies =
//! ["id-fpki-common-hardware"]` reads as it should and reports show both
//! name and OID.

/// (name, OID); names are unique.
pub(crate) const NAMED: &[(&str, &str)] = &[
    ("anyPolicy", "2.5.29.32.0"),
    // Federal Bridge CA certificate policy.
    (
        "id-fpki-certpcy-rudimentaryAssurance",
        "2.16.840.1.101.3.2.1.3.1",
    ),
    ("id-fpki-certpcy-basicAssurance", "2.16.840.1.101.3.2.1.3.2"),
    (
        "id-fpki-certpcy-mediumAssurance",
        "2.16.840.1.101.3.2.1.3.3",
    ),
    ("id-fpki-certpcy-highAssurance", "2.16.840.1.101.3.2.1.3.4"),
    (
        "id-fpki-certpcy-mediumHardware",
        "2.16.840.1.101.3.2.1.3.12",
    ),
    ("id-fpki-certpcy-medium-CBP", "2.16.840.1.101.3.2.1.3.14"),
    ("id-fpki-certpcy-mediumHW-CBP", "2.16.840.1.101.3.2.1.3.15"),
    ("id-fpki-certpcy-pivi-hardware", "2.16.840.1.101.3.2.1.3.18"),
    ("id-fpki-certpcy-pivi-cardAuth", "2.16.840.1.101.3.2.1.3.19"),
    (
        "id-fpki-certpcy-pivi-contentSigning",
        "2.16.840.1.101.3.2.1.3.20",
    ),
    ("id-fpki-certpcy-mediumDevice", "2.16.840.1.101.3.2.1.3.37"),
    (
        "id-fpki-certpcy-mediumDeviceHardware",
        "2.16.840.1.101.3.2.1.3.38",
    ),
    // Federal Common Policy.
    ("id-fpki-common-policy", "2.16.840.1.101.3.2.1.3.6"),
    ("id-fpki-common-hardware", "2.16.840.1.101.3.2.1.3.7"),
    ("id-fpki-common-devices", "2.16.840.1.101.3.2.1.3.8"),
    ("id-fpki-common-authentication", "2.16.840.1.101.3.2.1.3.13"),
    ("id-fpki-common-High", "2.16.840.1.101.3.2.1.3.16"),
    ("id-fpki-common-cardAuth", "2.16.840.1.101.3.2.1.3.17"),
    (
        "id-fpki-common-devicesHardware",
        "2.16.840.1.101.3.2.1.3.36",
    ),
    (
        "id-fpki-common-piv-contentSigning",
        "2.16.840.1.101.3.2.1.3.39",
    ),
    (
        "id-fpki-common-pivAuth-derived",
        "2.16.840.1.101.3.2.1.3.40",
    ),
    (
        "id-fpki-common-pivAuth-derived-hardware",
        "2.16.840.1.101.3.2.1.3.41",
    ),
    // DoD certificate policy.
    ("id-US-dod-basic", "2.16.840.1.101.2.1.11.2"),
    ("id-US-dod-FORTEZZA", "2.16.840.1.101.2.1.11.4"),
    ("id-US-dod-medium", "2.16.840.1.101.2.1.11.5"),
    ("id-US-dod-type1", "2.16.840.1.101.2.1.11.6"),
    ("id-US-dod-mediumHardware", "2.16.840.1.101.2.1.11.9"),
    ("id-US-dod-PIV-Auth", "2.16.840.1.101.2.1.11.10"),
    ("id-US-dod-mediumNPE", "2.16.840.1.101.2.1.11.17"),
    ("id-US-dod-medium-2048", "2.16.840.1.101.2.1.11.18"),
    ("id-US-dod-mediumHardware-2048", "2.16.840.1.101.2.1.11.19"),
    ("id-US-dod-PIV-Auth-2048", "2.16.840.1.101.2.1.11.20"),
    ("id-US-dod-peerInterop", "2.16.840.1.101.2.1.11.31"),
    ("id-US-dod-mediumNPE-112", "2.16.840.1.101.2.1.11.36"),
    ("id-US-dod-mediumNPE-128", "2.16.840.1.101.2.1.11.37"),
    ("id-US-dod-mediumNPE-192", "2.16.840.1.101.2.1.11.38"),
    ("id-US-dod-medium-112", "2.16.840.1.101.2.1.11.39"),
    ("id-US-dod-medium-128", "2.16.840.1.101.2.1.11.40"),
    ("id-US-dod-medium-192", "2.16.840.1.101.2.1.11.41"),
    ("id-US-dod-mediumHardware-112", "2.16.840.1.101.2.1.11.42"),
    ("id-US-dod-mediumHardware-128", "2.16.840.1.101.2.1.11.43"),
    ("id-US-dod-mediumHardware-192", "2.16.840.1.101.2.1.11.44"),
];

/// The OID a configured policy names: a built-in name or a dotted OID.
pub(crate) fn resolve(name_or_oid: &str) -> Option<String> {
    if let Some((_, oid)) = NAMED.iter().find(|(n, _)| *n == name_or_oid) {
        return Some((*oid).to_owned());
    }
    let arcs: Vec<&str> = name_or_oid.split('.').collect();
    let numeric = arcs.len() >= 2
        && arcs
            .iter()
            .all(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()) && a.len() <= 20);
    let first_ok = matches!(arcs.first(), Some(&"0" | &"1" | &"2"));
    (numeric && first_ok).then(|| name_or_oid.to_owned())
}

/// The built-in name of `oid`, if it has one.
pub(crate) fn name_of(oid: &str) -> Option<&'static str> {
    NAMED.iter().find(|(_, o)| *o == oid).map(|(n, _)| *n)
}

/// `name (OID)`, or the OID alone.
pub(crate) fn describe(oid: &str) -> String {
    match name_of(oid) {
        Some(name) => format!("{name} ({oid})"),
        None => oid.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_oids_are_unique_and_resolve() {
        for (i, (n, o)) in NAMED.iter().enumerate() {
            assert!(
                NAMED[i + 1..].iter().all(|(n2, o2)| n2 != n && o2 != o),
                "{n}"
            );
            assert_eq!(resolve(n).as_deref(), Some(*o));
            assert_eq!(name_of(o), Some(*n));
        }
        assert_eq!(resolve("1.2.3").as_deref(), Some("1.2.3"));
        assert_eq!(resolve("id-nonsense"), None);
        assert_eq!(resolve("9.1"), None);
        assert_eq!(resolve("1..2"), None);
    }
}

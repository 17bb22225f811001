//! Built-in catalogs: named sets of flows (and their default targets) that a
//! configuration starts from.

/// A built-in catalog: its name, a one-line summary and its TOML text (a
/// `[targets]` table and `[[flow]]` entries, merged under the user's file).
/// `catalog` in the file names one or a list (`["jamf-pro", "apple-mdm"]`),
/// merged in order.
pub(crate) struct Catalog {
    pub name: &'static str,
    pub summary: &'static str,
    pub toml: &'static str,
}

pub(crate) const CATALOGS: &[Catalog] = &[
    Catalog {
        name: "jamf-pro",
        summary: "DISA Jamf Pro EMM STIG supplement, Table 1-2, with the 2026 APNs provider flows",
        toml: include_str!("catalogs/jamf-pro.toml"),
    },
    Catalog {
        name: "apple-mdm",
        summary: "Apple hosts an MDM and its devices need (enrollment, activation, Apps and Books); use next to jamf-pro",
        toml: include_str!("catalogs/apple-mdm.toml"),
    },
];

/// `catalog = "none"`: only the flows in the file.
pub(crate) const NO_CATALOG: &str = "none";

pub(crate) fn find(name: &str) -> Option<&'static Catalog> {
    CATALOGS.iter().find(|c| c.name == name)
}

/// Base values under everything else.
pub(crate) const DEFAULTS_TOML: &str = include_str!("catalogs/defaults.toml");

/// What serves when there is no configuration file at all.
pub(crate) const EMBEDDED_TOML: &str = include_str!("catalogs/embedded.toml");

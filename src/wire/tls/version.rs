//! Protocol versions the enumeration asks about.

use serde::Serialize;

/// SSL 3.0 to TLS 1.3, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Version {
    #[serde(rename = "SSLv3")]
    Ssl3,
    #[serde(rename = "TLSv1.0")]
    Tls10,
    #[serde(rename = "TLSv1.1")]
    Tls11,
    #[serde(rename = "TLSv1.2")]
    Tls12,
    #[serde(rename = "TLSv1.3")]
    Tls13,
}

impl Version {
    pub(crate) const ALL: [Version; 5] = [
        Version::Ssl3,
        Version::Tls10,
        Version::Tls11,
        Version::Tls12,
        Version::Tls13,
    ];

    /// The two bytes on the wire (`ProtocolVersion`).
    pub(crate) fn wire(self) -> u16 {
        match self {
            Version::Ssl3 => 0x0300,
            Version::Tls10 => 0x0301,
            Version::Tls11 => 0x0302,
            Version::Tls12 => 0x0303,
            Version::Tls13 => 0x0304,
        }
    }

    pub(crate) fn from_wire(v: u16) -> Option<Version> {
        Version::ALL.into_iter().find(|x| x.wire() == v)
    }

    /// Label value (`flowprobe_tls_protocol_accepted{version}`), written
    /// like `flowprobe_tls_version_info`'s: `TLSv1.2`.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Version::Ssl3 => "SSLv3",
            Version::Tls10 => "TLSv1.0",
            Version::Tls11 => "TLSv1.1",
            Version::Tls12 => "TLSv1.2",
            Version::Tls13 => "TLSv1.3",
        }
    }

    /// How configuration writes it, like `min_version`: `"1.2"`.
    pub(crate) fn config_name(self) -> &'static str {
        match self {
            Version::Ssl3 => "ssl3",
            Version::Tls10 => "1.0",
            Version::Tls11 => "1.1",
            Version::Tls12 => "1.2",
            Version::Tls13 => "1.3",
        }
    }

    pub(crate) fn from_config(s: &str) -> Option<Version> {
        Version::ALL.into_iter().find(|v| v.config_name() == s)
    }

    /// For people: `TLS 1.0`, `SSL 3.0`.
    pub(crate) fn human(self) -> &'static str {
        match self {
            Version::Ssl3 => "SSL 3.0",
            Version::Tls10 => "TLS 1.0",
            Version::Tls11 => "TLS 1.1",
            Version::Tls12 => "TLS 1.2",
            Version::Tls13 => "TLS 1.3",
        }
    }
}

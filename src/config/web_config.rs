//! The web configuration file of `flowprobe run --web.config.file`, in the
//! exporter-toolkit format that Prometheus, node_exporter and
//! blackbox_exporter read (and `promtool check web-config` checks), so one
//! file and one habit serve the whole monitoring stack.
//!
//! Parsing checks what can be checked without touching the key material;
//! `web::tls` builds the TLS server from it. Relative paths are relative to
//! the file's directory, as in exporter-toolkit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, ConfigErrors};
use crate::wire::tls::Version;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebConfig {
    tls_server_config: Option<RawTls>,
    http_server_config: Option<RawHttp>,
    basic_auth_users: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_file: Option<String>,
    key_file: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<String>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    curve_preferences: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

/// The validated web configuration.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct WebConfig {
    pub tls: Option<TlsSettings>,
    /// User name to bcrypt hash; empty: no authentication.
    pub users: BTreeMap<String, String>,
    /// Added to every response.
    pub headers: Vec<(String, String)>,
}

/// The hashes stay out of debug output (and so out of logs).
impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls)
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("headers", &self.headers)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub client_auth: ClientAuth,
    pub client_ca_file: Option<PathBuf>,
    pub min_version: Version,
    pub max_version: Version,
    /// Go names of the TLS 1.2 suites allowed; empty: rustls's defaults.
    pub cipher_suites: Vec<String>,
    /// Go names of the key-exchange groups allowed; empty: rustls's defaults.
    pub curve_preferences: Vec<String>,
}

/// `client_auth_type`. exporter-toolkit's `RequestClientCert` and
/// `RequireAnyClientCert` accept certificates nobody verified; flowprobe
/// refuses them rather than give a false sense of mutual TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    VerifyIfGiven,
    RequireAndVerify,
}

/// The Go cipher-suite names flowprobe's TLS server knows (TLS 1.2; TLS 1.3
/// suites are not configurable, as in Go).
pub(crate) const CIPHER_SUITES: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
];

/// The Go curve names flowprobe's TLS server knows.
pub(crate) const CURVES: &[&str] = &["X25519", "CurveP256", "CurveP384"];

/// Read and validate `path`; every problem is reported, each with the file
/// and the key.
pub(crate) fn load_web_config(path: &Path) -> Result<WebConfig, ConfigErrors> {
    let origin = path.display().to_string();
    let err = |key: &str, message: String| ConfigError {
        origin: origin.clone(),
        key: key.to_string(),
        message,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigErrors(vec![err("", format!("cannot read: {e}"))]))?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse_web_config(&text, base).map_err(|errs| {
        ConfigErrors(
            errs.into_iter()
                .map(|(key, message)| err(&key, message))
                .collect(),
        )
    })
}

/// Parse the YAML text; relative paths resolve against `base`. Errors are
/// (key path, reason).
pub fn parse_web_config(text: &str, base: &Path) -> Result<WebConfig, Vec<(String, String)>> {
    let raw: RawWebConfig = if text.trim().is_empty() {
        RawWebConfig::default()
    } else {
        let de = serde_yaml_ng::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let key = if key == "." { String::new() } else { key };
            vec![(key, e.into_inner().to_string())]
        })?
    };
    let mut errs: Vec<(String, String)> = Vec::new();
    let tls = raw.tls_server_config.and_then(|t| tls(t, base, &mut errs));
    let mut users = BTreeMap::new();
    for (user, hash) in raw.basic_auth_users.unwrap_or_default() {
        if hash.parse::<bcrypt::HashParts>().is_err() {
            // The hash itself is not repeated: it is a secret too.
            errs.push((
                format!("basic_auth_users.{user}"),
                "is not a bcrypt hash (like $2y$10$...; make one with `htpasswd -nBC 10 USER`)"
                    .into(),
            ));
        } else {
            users.insert(user, hash);
        }
    }
    let mut headers = Vec::new();
    if let Some(http) = raw.http_server_config {
        if http.http2 == Some(true) {
            // Accepted for compatibility; flowprobe serves HTTP/1.1.
        }
        for (name, value) in http.headers.unwrap_or_default() {
            let key = format!("http_server_config.headers.{name}");
            if axum::http::HeaderName::try_from(name.as_str()).is_err() {
                errs.push((key, "is not a valid header name".into()));
            } else if axum::http::HeaderValue::try_from(value.as_str()).is_err() {
                errs.push((key, "is not a valid header value".into()));
            } else if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                errs.push((key, "is set by the server and cannot be overridden".into()));
            } else {
                headers.push((name, value));
            }
        }
    }
    if errs.is_empty() {
        Ok(WebConfig {
            tls,
            users,
            headers,
        })
    } else {
        Err(errs)
    }
}

/// Headers the server owns (as in exporter-toolkit's list).
const RESERVED_HEADERS: &[&str] = &[
    "authorization",
    "content-length",
    "content-type",
    "content-encoding",
    "server",
    "www-authenticate",
    "transfer-encoding",
];

fn tls(t: RawTls, base: &Path, errs: &mut Vec<(String, String)>) -> Option<TlsSettings> {
    let at = |k: &str| format!("tls_server_config.{k}");
    let path = |s: Option<String>| s.filter(|s| !s.is_empty()).map(|s| base.join(s));
    let cert_file = path(t.cert_file);
    let key_file = path(t.key_file);
    if cert_file.is_none() {
        errs.push((at("cert_file"), "is required".into()));
    }
    if key_file.is_none() {
        errs.push((at("key_file"), "is required".into()));
    }
    let client_ca_file = path(t.client_ca_file);
    let client_auth = match t.client_auth_type.as_deref().unwrap_or("NoClientCert") {
        "NoClientCert" => Some(ClientAuth::None),
        "VerifyClientCertIfGiven" => Some(ClientAuth::VerifyIfGiven),
        "RequireAndVerifyClientCert" => Some(ClientAuth::RequireAndVerify),
        other @ ("RequestClientCert" | "RequireAnyClientCert") => {
            errs.push((
                at("client_auth_type"),
                format!(
                    "{other} accepts unverified client certificates; use VerifyClientCertIfGiven or RequireAndVerifyClientCert"
                ),
            ));
            None
        }
        other => {
            errs.push((
                at("client_auth_type"),
                format!(
                    "{other:?}: expected NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"
                ),
            ));
            None
        }
    };
    if matches!(
        client_auth,
        Some(ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify)
    ) && client_ca_file.is_none()
    {
        errs.push((
            at("client_ca_file"),
            "is required to verify client certificates".into(),
        ));
    }
    let min_version = version(t.min_version, "min_version", Version::Tls12, errs);
    let max_version = version(t.max_version, "max_version", Version::Tls13, errs);
    if let (Some(lo), Some(hi)) = (min_version, max_version)
        && lo > hi
    {
        errs.push((at("max_version"), "is below min_version".into()));
    }
    let names = |list: Option<Vec<String>>, key: &str, known: &[&str], errs: &mut Vec<_>| {
        let list = list.unwrap_or_default();
        for (i, n) in list.iter().enumerate() {
            if !known.contains(&n.as_str()) {
                errs.push((
                    format!("{}[{i}]", at(key)),
                    format!("{n:?}: expected one of {}", known.join(", ")),
                ));
            }
        }
        list
    };
    let cipher_suites = names(t.cipher_suites, "cipher_suites", CIPHER_SUITES, errs);
    let curve_preferences = names(t.curve_preferences, "curve_preferences", CURVES, errs);
    let _ = t.prefer_server_cipher_suites; // rustls always prefers the server's order
    Some(TlsSettings {
        cert_file: cert_file?,
        key_file: key_file?,
        client_auth: client_auth?,
        client_ca_file,
        min_version: min_version?,
        max_version: max_version?,
        cipher_suites,
        curve_preferences,
    })
}

fn version(
    s: Option<String>,
    key: &str,
    default: Version,
    errs: &mut Vec<(String, String)>,
) -> Option<Version> {
    match s.as_deref() {
        None | Some("") => Some(default),
        Some("TLS12") => Some(Version::Tls12),
        Some("TLS13") => Some(Version::Tls13),
        Some(v @ ("TLS10" | "TLS11")) => {
            errs.push((
                format!("tls_server_config.{key}"),
                format!("{v}: flowprobe serves TLS 1.2 and 1.3 only"),
            ));
            None
        }
        Some(v) => {
            errs.push((
                format!("tls_server_config.{key}"),
                format!("{v:?}: expected TLS12 or TLS13"),
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$2b$10$qQpFTYPQONH2LOYsfAWHrujloVDzTJXoJWt37j8/2EyK5iWYUiDPu";

    #[test]
    fn full_file_parses_with_paths_relative_to_it() {
        let text = format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: /abs/server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n  min_version: TLS13\nbasic_auth_users:\n  prometheus: '{HASH}'\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n"
        );
        let c = parse_web_config(&text, Path::new("/etc/fp")).expect("valid");
        let t = c.tls.clone().expect("tls");
        assert_eq!(t.cert_file, Path::new("/etc/fp/server.pem"));
        assert_eq!(t.key_file, Path::new("/abs/server.key"));
        assert_eq!(t.client_auth, ClientAuth::RequireAndVerify);
        assert_eq!(t.min_version, Version::Tls13);
        assert_eq!(c.users.len(), 1);
        assert_eq!(c.headers, vec![("X-Frame-Options".into(), "deny".into())]);
        assert!(
            !format!("{c:?}").contains("$2b$"),
            "hashes stay out of Debug"
        );
    }

    #[test]
    fn every_error_is_named_at_once_and_no_hash_is_echoed() {
        let text = "tls_server_config:\n  client_auth_type: RequireAnyClientCert\n  min_version: TLS11\nbasic_auth_users:\n  ops: not-a-hash-secret\n";
        let errs = parse_web_config(text, Path::new(".")).expect_err("invalid");
        let keys: Vec<_> = errs.iter().map(|(k, _)| k.as_str()).collect();
        for k in [
            "tls_server_config.cert_file",
            "tls_server_config.key_file",
            "tls_server_config.client_auth_type",
            "tls_server_config.min_version",
            "basic_auth_users.ops",
        ] {
            assert!(keys.contains(&k), "{k} missing in {errs:?}");
        }
        assert!(!format!("{errs:?}").contains("not-a-hash-secret"));
    }

    #[test]
    fn unknown_key_names_its_path() {
        let errs = parse_web_config("tls_server_config:\n  certfile: x\n", Path::new("."))
            .expect_err("unknown key");
        assert_eq!(errs[0].0, "tls_server_config.certfile");
        assert!(errs[0].1.contains("certfile"), "{errs:?}");
    }

    #[test]
    fn shipped_example_parses() {
        let text = include_str!("../../deploy/web-config.yml");
        let c = parse_web_config(text, Path::new("/etc/flowprobe")).expect("example valid");
        assert!(c.tls.is_some() && c.users.contains_key("prometheus"));
        let hash = &c.users["prometheus"];
        assert!(bcrypt::verify("flowprobe-example", hash).unwrap_or(false));
    }

    #[test]
    fn empty_file_is_plain_http_without_auth() {
        assert_eq!(
            parse_web_config("", Path::new(".")),
            Ok(WebConfig::default())
        );
    }
}

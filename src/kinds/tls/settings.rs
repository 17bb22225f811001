//! `tls = { ... }` on a flow: handshake settings plus the chain policy, in
//! one flat table (`trust`, `server_name`, `alpn`, `min_version`,
//! `client_cert`, `client_key`, and every [`ChainPolicy`] key).

use std::path::PathBuf;

use crate::analyze::chain::ChainPolicy;
use crate::analyze::ocsp::StapleMode;
use crate::analyze::tls_policy::TlsPolicy;
use crate::config::Collector;
use crate::config::validate::{FlowCtx, section};
use crate::wire::tls::Version;

/// Every name must be `system`, a built-in store or a `[trust.NAME]` of
/// the file; the error lists what exists.
pub(crate) fn check_store_names(names: &[String], key: &str, ctx: &FlowCtx, errs: &mut Collector) {
    for (i, t) in names.iter().enumerate() {
        if t != SYSTEM
            && !ctx.trust.contains_key(t)
            && !crate::analyze::builtin_anchors::is_builtin(t)
        {
            let builtins: Vec<&str> = crate::analyze::builtin_anchors::BUILTIN_ANCHORS
                .iter()
                .map(|a| a.name)
                .collect();
            errs.push(
                format!("{key}[{i}]"),
                format!(
                    "unknown trust store {t:?}: define [trust.{t}] with anchors, or use a built-in ({}) or \"system\" (defined: {})",
                    builtins.join(", "),
                    ctx.trust.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            );
        }
    }
}

pub use crate::probe::stores::SYSTEM;

const OWN_KEYS: [&str; 11] = [
    "protocol_policy",
    "protocol_interval",
    "trust",
    "server_name",
    "alpn",
    "min_version",
    "client_cert",
    "client_key",
    "client_auth",
    "ocsp_staple",
    "cert_profile",
];

/// What a server that asks for a client certificate, and refuses the
/// handshake without one, means for the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// A failure (`tls_handshake`): the flow is meant to complete.
    Fail,
    /// Expected: the service authenticates its clients (APNs courier asks
    /// for the device's certificate). The chain the server sent is judged
    /// as in a completed handshake.
    Expected,
}

/// How often the protocol enumeration runs when `protocol_interval` is
/// not set: it costs a dozen connections, and what a server accepts
/// changes with its configuration, not from minute to minute.
pub(crate) const DEFAULT_PROTOCOL_INTERVAL: std::time::Duration =
    std::time::Duration::from_secs(3600);

/// `protocol_policy` and `protocol_interval`: which versions and suites
/// the server may accept, asked with extra ClientHellos now and then.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolSpec {
    /// Each judged on the same enumeration; never empty.
    pub policies: Vec<TlsPolicy>,
    /// The union of their questions ([`TlsPolicy::asking`]).
    pub asking: TlsPolicy,
    pub interval: std::time::Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TlsSpec {
    /// Trust stores the sent path must reach, each judged separately.
    pub trust: Vec<String>,
    /// SNI and the name checked against the SANs; default the target host.
    pub server_name: Option<String>,
    pub alpn: Vec<String>,
    /// The lowest version the handshake offers: TLS 1.2 or 1.3 (what
    /// rustls speaks; the configuration accepts no other).
    pub min_version: Version,
    pub client_cert: Option<(PathBuf, PathBuf)>,
    pub client_auth: ClientAuth,
    /// What the OCSP response the server staples must be.
    pub ocsp_staple: StapleMode,
    /// SP 800-52r2 3.2's certificate profile on the verified path: `warn`
    /// (default), `fail` (its "shall" rules fail) or `off`.
    pub cert_profile: crate::outcome::Action,
    pub policy: ChainPolicy,
    /// The protocol enumeration, when a `protocol_policy` is named.
    pub protocol: Option<ProtocolSpec>,
    /// The table as written (after catalog merge), for `config show`.
    pub table: toml::Table,
}

impl TlsSpec {
    pub(crate) fn validate(
        value: Option<&toml::Value>,
        key: &str,
        ctx: &FlowCtx,
        errs: &mut Collector,
    ) -> Option<TlsSpec> {
        let key = format!("{key}.tls");
        let table = match value {
            None => toml::Table::new(),
            Some(toml::Value::Table(t)) => t.clone(),
            Some(_) => {
                errs.push(
                    &key,
                    "must be a table, e.g. tls = { trust = [\"fcpca-g2\"] }",
                );
                return None;
            }
        };
        let before = errs.errors.len();
        let t = Fields {
            table: &table,
            key: &key,
        };
        // In the order of the keys' errors.
        let trust = t.trust(ctx, errs);
        let server_name = t.server_name(errs);
        let alpn = t.alpn(errs);
        let min_version = t.min_version(errs);
        let client_cert = t.client_cert(errs);
        let client_auth = t.client_auth(errs);
        let protocol = protocol_spec(&table, &key, ctx, errs);
        let ocsp_staple = t.ocsp_staple(errs);
        let cert_profile = t.cert_profile(errs);
        let policy = t.chain_policy(errs);
        if errs.errors.len() != before {
            return None;
        }
        Some(TlsSpec {
            trust,
            server_name,
            alpn,
            min_version: min_version?,
            client_cert,
            client_auth: client_auth?,
            ocsp_staple: ocsp_staple?,
            cert_profile: cert_profile?,
            policy: policy?,
            protocol: protocol?,
            table,
        })
    }
}

/// The `tls` table of one flow and its key, read one setting at a time;
/// each reader pushes its key's errors and gives `None` for a bad value.
struct Fields<'a> {
    table: &'a toml::Table,
    key: &'a str,
}

impl Fields<'_> {
    /// A list of strings; empty when absent.
    fn strings(&self, name: &str, errs: &mut Collector) -> Option<Vec<String>> {
        let key = self.key;
        match self.table.get(name) {
            None => Some(Vec::new()),
            Some(toml::Value::Array(a)) => {
                let v: Option<Vec<String>> =
                    a.iter().map(|x| x.as_str().map(String::from)).collect();
                if v.is_none() {
                    errs.push(format!("{key}.{name}"), "must be a list of strings");
                }
                v
            }
            Some(_) => {
                errs.push(format!("{key}.{name}"), "must be a list of strings");
                None
            }
        }
    }

    /// A string; `None` when absent too.
    fn string(&self, name: &str, errs: &mut Collector) -> Option<String> {
        match self.table.get(name) {
            None => None,
            Some(toml::Value::String(s)) => Some(s.clone()),
            Some(_) => {
                errs.push(format!("{}.{name}", self.key), "must be a string");
                None
            }
        }
    }

    /// `trust`. Absent: the system store. An explicit empty list judges no
    /// path (facts, name and issuer only: APNs courier chains to Apple's
    /// own CA, in no Linux store).
    fn trust(&self, ctx: &FlowCtx, errs: &mut Collector) -> Vec<String> {
        let mut trust = self.strings("trust", errs).unwrap_or_default();
        if self.table.get("trust").is_none() {
            trust.push(SYSTEM.to_string());
        }
        check_store_names(&trust, &format!("{}.trust", self.key), ctx, errs);
        trust
    }

    fn server_name(&self, errs: &mut Collector) -> Option<String> {
        let server_name = self.string("server_name", errs);
        if let Some(n) = &server_name
            && rustls::pki_types::ServerName::try_from(n.as_str()).is_err()
        {
            errs.push(
                format!("{}.server_name", self.key),
                format!("{n:?} is not a DNS name or IP address"),
            );
        }
        server_name
    }

    fn alpn(&self, errs: &mut Collector) -> Vec<String> {
        let alpn = self.strings("alpn", errs).unwrap_or_default();
        if alpn.iter().any(|p| p.is_empty() || p.len() > 255) {
            errs.push(
                format!("{}.alpn", self.key),
                "protocol names are 1 to 255 bytes",
            );
        }
        alpn
    }

    /// `min_version`: TLS 1.2 (default) or 1.3.
    fn min_version(&self, errs: &mut Collector) -> Option<Version> {
        match self.string("min_version", errs).as_deref() {
            None | Some("1.2") => Some(Version::Tls12),
            Some("1.3") => Some(Version::Tls13),
            Some(other) => {
                errs.push(
                    format!("{}.min_version", self.key),
                    format!("{other:?}: expected \"1.2\" or \"1.3\""),
                );
                None
            }
        }
    }

    /// `client_cert` and `client_key`, both or neither, each readable.
    fn client_cert(&self, errs: &mut Collector) -> Option<(PathBuf, PathBuf)> {
        let key = self.key;
        match (
            self.string("client_cert", errs),
            self.string("client_key", errs),
        ) {
            (None, None) => None,
            (Some(c), Some(k)) => {
                for (name, p) in [("client_cert", &c), ("client_key", &k)] {
                    if let Err(e) = std::fs::metadata(p) {
                        errs.push(format!("{key}.{name}"), format!("cannot read {p}: {e}"));
                    }
                }
                Some((PathBuf::from(c), PathBuf::from(k)))
            }
            _ => {
                errs.push(
                    format!("{key}.client_cert"),
                    "client_cert and client_key go together",
                );
                None
            }
        }
    }

    fn client_auth(&self, errs: &mut Collector) -> Option<ClientAuth> {
        match self.string("client_auth", errs).as_deref() {
            None | Some("fail") => Some(ClientAuth::Fail),
            Some("expected") => Some(ClientAuth::Expected),
            Some(other) => {
                errs.push(
                    format!("{}.client_auth", self.key),
                    format!("{other:?}: expected \"fail\" or \"expected\""),
                );
                None
            }
        }
    }

    fn ocsp_staple(&self, errs: &mut Collector) -> Option<StapleMode> {
        match self.string("ocsp_staple", errs).as_deref() {
            None => Some(StapleMode::Warn),
            Some(s) => s
                .parse()
                .map_err(|e: String| errs.push(format!("{}.ocsp_staple", self.key), e))
                .ok(),
        }
    }

    fn cert_profile(&self, errs: &mut Collector) -> Option<crate::outcome::Action> {
        match self.string("cert_profile", errs).as_deref() {
            None => Some(crate::outcome::Action::Warn),
            Some(s) => crate::outcome::Action::parse(s).or_else(|| {
                errs.push(
                    format!("{}.cert_profile", self.key),
                    format!("{s:?}: expected \"warn\", \"fail\" or \"off\""),
                );
                None
            }),
        }
    }

    /// Every key not the handshake's own: the [`ChainPolicy`].
    fn chain_policy(&self, errs: &mut Collector) -> Option<ChainPolicy> {
        let rest: toml::Table = self
            .table
            .iter()
            .filter(|(k, _)| !OWN_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        section::<ChainPolicy>(Some(toml::Value::Table(rest)), self.key, errs)
    }
}

/// `protocol_policy` (a built-in or `[tls_policy.NAME]`) and
/// `protocol_interval`; `Some(None)` when no policy is named.
fn protocol_spec(
    table: &toml::Table,
    key: &str,
    ctx: &FlowCtx,
    errs: &mut Collector,
) -> Option<Option<ProtocolSpec>> {
    let interval = match table.get("protocol_interval") {
        None => Some(DEFAULT_PROTOCOL_INTERVAL),
        Some(toml::Value::String(s)) => {
            crate::config::validate::duration(s, &format!("{key}.protocol_interval"), errs)
        }
        Some(_) => {
            errs.push(
                format!("{key}.protocol_interval"),
                "must be a duration string such as \"1h\"",
            );
            None
        }
    };
    let names: Vec<&str> = match table.get("protocol_policy") {
        None => {
            if table.contains_key("protocol_interval") {
                errs.push(
                    format!("{key}.protocol_interval"),
                    "has no effect without protocol_policy",
                );
                return None;
            }
            return Some(None);
        }
        Some(toml::Value::String(s)) => vec![s.as_str()],
        Some(toml::Value::Array(a)) if !a.is_empty() && a.iter().all(toml::Value::is_str) => {
            a.iter().filter_map(toml::Value::as_str).collect()
        }
        Some(_) => {
            errs.push(
                format!("{key}.protocol_policy"),
                "must be a policy name or a list of them, e.g. \"nist-800-52r2\" or [\"nist-800-52r2\", \"apple-ats\"]",
            );
            return None;
        }
    };
    let mut policies: Vec<TlsPolicy> = Vec::new();
    for name in names {
        let Some(policy) = ctx.tls_policies.get(name) else {
            errs.push(
                format!("{key}.protocol_policy"),
                format!(
                    "unknown policy {name:?}; known: {}",
                    ctx.tls_policies
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            return None;
        };
        if policies.iter().any(|p| p.name == name) {
            errs.push(
                format!("{key}.protocol_policy"),
                format!("{name:?} is named twice"),
            );
            return None;
        }
        policies.push(policy.clone());
    }
    Some(Some(ProtocolSpec {
        asking: TlsPolicy::asking(&policies),
        policies,
        interval: interval?,
    }))
}

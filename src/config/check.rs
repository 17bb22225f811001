//! What a flow checks, validated from its config table into a typed spec:
//! one file per check kind below `check/`, each owning its keys, defaults
//! and validation, so the probes receive settings that cannot be invalid.

pub mod crl;
pub mod http;
pub mod ocsp;
pub mod ssh;
pub mod tls;
pub mod tls_policy;

pub use ssh::SshPolicies;
pub use tls_policy::TlsPolicies;

use crate::config::Collector;
use crate::config::raw::RawFlow;
use crate::config::validate::FlowCtx;
use crate::text::named_enum;

named_enum! {
/// The kind of check, as written in `check = "..."`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckKind {
    Tcp = "tcp",
    Tls = "tls",
    Ssh = "ssh",
    Http = "http",
    Crl = "crl",
    Ocsp = "ocsp",
}
}

/// A flow's check with its validated settings.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckSpec {
    Tcp,
    Tls(Box<tls::TlsSpec>),
    Ssh(Box<ssh::SshSpec>),
    Http(Box<http::HttpSpec>),
    Crl(Box<crl::CrlSpec>),
    Ocsp(Box<ocsp::OcspSpec>),
}

impl CheckSpec {
    pub fn kind(&self) -> CheckKind {
        match self {
            CheckSpec::Tcp => CheckKind::Tcp,
            CheckSpec::Tls(_) => CheckKind::Tls,
            CheckSpec::Ssh(_) => CheckKind::Ssh,
            CheckSpec::Http(_) => CheckKind::Http,
            CheckSpec::Crl(_) => CheckKind::Crl,
            CheckSpec::Ocsp(_) => CheckKind::Ocsp,
        }
    }

    /// The TLS settings of a `tls` flow. Accessors like this one match
    /// every kind by name: a new kind must say what it is here.
    pub fn tls(&self) -> Option<&tls::TlsSpec> {
        match self {
            CheckSpec::Tls(t) => Some(t),
            CheckSpec::Tcp
            | CheckSpec::Ssh(_)
            | CheckSpec::Http(_)
            | CheckSpec::Crl(_)
            | CheckSpec::Ocsp(_) => None,
        }
    }

    /// The SSH settings of an `ssh` flow.
    pub fn ssh(&self) -> Option<&ssh::SshSpec> {
        match self {
            CheckSpec::Ssh(s) => Some(s),
            CheckSpec::Tcp
            | CheckSpec::Tls(_)
            | CheckSpec::Http(_)
            | CheckSpec::Crl(_)
            | CheckSpec::Ocsp(_) => None,
        }
    }

    /// The trust stores a flow judges certificates against (tls, crl and
    /// ocsp flows).
    pub fn trust(&self) -> Option<&[String]> {
        match self {
            CheckSpec::Tls(t) => Some(&t.trust),
            CheckSpec::Crl(c) => Some(&c.trust),
            CheckSpec::Ocsp(o) => Some(&o.trust),
            CheckSpec::Tcp | CheckSpec::Ssh(_) | CheckSpec::Http(_) => None,
        }
    }

    /// The TLS flow whose captured chain this flow reads (crl and ocsp
    /// flows).
    pub fn from_flow(&self) -> Option<&str> {
        match self {
            CheckSpec::Crl(c) => c.from_flow.as_deref(),
            CheckSpec::Ocsp(o) => Some(o.from_flow.as_str()),
            CheckSpec::Tcp | CheckSpec::Tls(_) | CheckSpec::Ssh(_) | CheckSpec::Http(_) => None,
        }
    }

    /// Validate `check` and the table of that kind; tables of other kinds
    /// are errors, so a typo'd kind does not silently drop settings.
    pub(crate) fn validate(
        raw: &RawFlow,
        key: &str,
        ctx: &FlowCtx,
        errs: &mut Collector,
    ) -> Option<CheckSpec> {
        let name = raw.check.as_deref().unwrap_or("tcp");
        let Some(kind) = CheckKind::parse(name) else {
            errs.push(
                format!("{key}.check"),
                format!("{name:?}: {}", CheckKind::expected()),
            );
            return None;
        };
        let tables = [
            ("tls", raw.tls.is_some(), CheckKind::Tls),
            ("ssh", raw.ssh.is_some(), CheckKind::Ssh),
            ("http", raw.http.is_some(), CheckKind::Http),
            ("crl", raw.crl.is_some(), CheckKind::Crl),
            ("ocsp", raw.ocsp.is_some(), CheckKind::Ocsp),
        ];
        for (table, present, for_kind) in tables {
            if present && for_kind != kind {
                errs.push(
                    format!("{key}.{table}"),
                    format!("settings for check \"{table}\" on a \"{name}\" flow"),
                );
            }
        }
        match kind {
            CheckKind::Tcp => Some(CheckSpec::Tcp),
            CheckKind::Tls => tls::TlsSpec::validate(raw.tls.as_ref(), key, ctx, errs)
                .map(|s| CheckSpec::Tls(Box::new(s))),
            CheckKind::Ssh => {
                ssh::SshSpec::validate(raw.ssh.as_ref(), raw.from.as_deref(), key, ctx, errs)
                    .map(|s| CheckSpec::Ssh(Box::new(s)))
            }
            CheckKind::Http => http::HttpSpec::validate(raw.http.as_ref(), key, errs)
                .map(|s| CheckSpec::Http(Box::new(s))),
            CheckKind::Crl => crl::CrlSpec::validate(raw.crl.as_ref(), key, ctx, errs)
                .map(|s| CheckSpec::Crl(Box::new(s))),
            CheckKind::Ocsp => ocsp::OcspSpec::validate(raw.ocsp.as_ref(), key, ctx, errs)
                .map(|s| CheckSpec::Ocsp(Box::new(s))),
        }
    }

    /// The check's own table for `config show`: `(key, table)`.
    pub fn to_toml(&self) -> Option<(&'static str, toml::Table)> {
        match self {
            CheckSpec::Tcp => None,
            CheckSpec::Tls(s) => Some(("tls", s.table.clone())),
            CheckSpec::Ssh(s) => Some(("ssh", s.table.clone())),
            CheckSpec::Http(s) => Some(("http", s.table.clone())),
            CheckSpec::Crl(s) => Some(("crl", s.table.clone())),
            CheckSpec::Ocsp(s) => Some(("ocsp", s.table.clone())),
        }
    }
}

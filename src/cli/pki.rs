//! `flowprobe pki check FILE`: the PKCS#12 (or PEM bundle) an engineer is
//! about to upload into a profile's Certificate payload, judged as the TLS
//! check judges what a server sends. Also the `--trust`, `--password-file`
//! and `--output` handling that `profile check` shares.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use clap::{Args, Subcommand, ValueEnum};

use super::{EXIT_FAIL, EXIT_USAGE};
use crate::analyze::bundle::{BundleReport, KeyMatch};
use crate::analyze::pkix::RelyingParty;
use crate::analyze::trust::TrustStore;
use crate::audit::{self, MAX_FILE_BYTES};
use crate::config::TrustSpec;
use crate::kinds::show::path_line;
use crate::outcome::Level;
use crate::text::rfc3339;

#[derive(Subcommand, Debug)]
pub enum PkiAction {
    /// Check a PKCS#12 (.p12/.pfx) or PEM bundle: key matches certificate,
    /// a valid path to each store, missing or superseded certificates, the
    /// order a TLS server sends them in. Exit 0 pass, 1 fail, 2 error.
    Check {
        /// The PKCS#12 or PEM file.
        file: PathBuf,
        /// Also check that the server certificate is valid for this host
        /// name (RFC 6125; a file without a server certificate fails).
        #[arg(long, value_name = "HOST")]
        name: Option<String>,
        #[command(flatten)]
        audit: AuditArgs,
    },
}

/// Options shared by `pki check` and `profile check`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    /// File whose first line is the PKCS#12 password [default: the empty
    /// password; a profile payload's own `Password` key wins].
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Trust store the path must reach (repeatable): a built-in
    /// (`fcpca-g2`, `dod-root-ca-3`, `dod-root-ca-6`), `system`, a PEM
    /// file or directory (named by its file stem), or NAME=PATH.
    #[arg(long = "trust", default_value = "fcpca-g2")]
    pub trust: Vec<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "table")]
    pub output: AuditOutput,
    /// Validate at this time (RFC 3339, e.g. 2024-10-20T00:00:00Z) instead
    /// of now: a path before a cross-certificate expires, or a published
    /// bundle as of its date.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<SystemTime>,
    /// RFC 5280 user-initial-policy-set for every store (repeatable): a
    /// built-in name (`id-fpki-common-hardware`) or an OID, in the
    /// anchor's domain [default: anyPolicy].
    #[arg(long = "initial-policy", value_name = "POLICY")]
    pub initial_policies: Vec<String>,
    /// A policy of the initial set must be valid for the whole path.
    #[arg(long)]
    pub require_explicit_policy: bool,
    /// Policy mappings are not allowed on the path.
    #[arg(long)]
    pub inhibit_policy_mapping: bool,
    /// anyPolicy in a certificate does not stand for every policy.
    #[arg(long)]
    pub inhibit_any_policy: bool,
}

impl AuditArgs {
    /// The validation time: `--at`, or now.
    pub(crate) fn now(&self) -> SystemTime {
        self.at.unwrap_or_else(SystemTime::now)
    }

    /// The relying-party settings the flags give; `None` when none is set
    /// (each store keeps its own).
    fn relying_party(&self) -> Result<Option<RelyingParty>, String> {
        let mut initial_policies = std::collections::BTreeSet::new();
        for p in &self.initial_policies {
            let oid = crate::analyze::pkix::oids::resolve(p).ok_or_else(|| {
                format!("--initial-policy {p:?}: neither a dotted OID nor a built-in policy name")
            })?;
            initial_policies.insert(oid);
        }
        let rp = RelyingParty {
            initial_policies,
            require_explicit_policy: self.require_explicit_policy,
            inhibit_policy_mapping: self.inhibit_policy_mapping,
            inhibit_any_policy: self.inhibit_any_policy,
        };
        Ok((rp != RelyingParty::default()).then_some(rp))
    }
}

fn parse_time(s: &str) -> Result<SystemTime, String> {
    humantime::parse_rfc3339_weak(s).map_err(|e| format!("{s:?} is not an RFC 3339 time: {e}"))
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditOutput {
    Table,
    Json,
}

pub(super) fn run(action: &PkiAction) -> ExitCode {
    let PkiAction::Check { file, name, audit } = action;
    let name = match name.as_deref().map(rustls::pki_types::ServerName::try_from) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(e)) => {
            eprintln!("flowprobe pki check: --name: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let (stores, password) = match prepare(audit) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let refs: Vec<&TrustStore> = stores.iter().map(|s| s.as_ref()).collect();
    let decoded = audit::read_bounded(file, MAX_FILE_BYTES).and_then(|bytes| {
        audit::bundle::decode(&bytes, password.as_deref()).map_err(|source| {
            audit::FileError::Bundle {
                path: file.clone(),
                source,
            }
        })
    });
    let decoded = match decoded {
        Ok(d) => d,
        Err(e) => {
            eprintln!("flowprobe pki check: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let report = audit::bundle::judge(&decoded, &refs, audit.now(), name.as_ref());
    let ok = report.passed();
    match audit.output {
        AuditOutput::Table => {
            let mut out = format!(
                "{}: {}, {} certificates, {} private key{}\n",
                file.display(),
                decoded.format.as_str(),
                decoded.certs.len(),
                decoded.keys.len(),
                if decoded.keys.len() == 1 { "" } else { "s" }
            );
            out.push_str(&bundle_lines(&report, ""));
            let _ = writeln!(out, "\n{}", if ok { "PASS" } else { "FAIL" });
            print!("{out}");
        }
        AuditOutput::Json => {
            #[derive(serde::Serialize)]
            struct Out<'a> {
                ok: bool,
                file: &'a Path,
                format: &'a str,
                report: &'a BundleReport,
            }
            print_json(&Out {
                ok,
                file,
                format: decoded.format.as_str(),
                report: &report,
            });
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAIL)
    }
}

/// Loads the trust stores and reads the password file; on error prints it
/// and returns the usage exit code.
pub(super) fn prepare(
    args: &AuditArgs,
) -> Result<(Vec<Arc<TrustStore>>, Option<String>), ExitCode> {
    let mut specs = BTreeMap::new();
    let mut wanted = Vec::new();
    for value in &args.trust {
        let (name, path) = match value.split_once('=') {
            Some((n, p)) => (n.to_owned(), Some(PathBuf::from(p))),
            None if value == "system" || crate::analyze::builtin_anchors::is_builtin(value) => {
                (value.clone(), None)
            }
            None => {
                let path = PathBuf::from(value);
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or(value);
                (stem.to_owned(), Some(path))
            }
        };
        if let Some(path) = path {
            specs.insert(
                name.clone(),
                TrustSpec {
                    anchors: vec![path],
                    relying_party: RelyingParty::default(),
                },
            );
        }
        wanted.push(name);
    }
    let stores = crate::probe::load_stores(&specs, &wanted).map_err(|errors| {
        for e in errors {
            eprintln!("--trust {}", e.trim_start_matches("trust."));
        }
        ExitCode::from(EXIT_USAGE)
    })?;
    let relying_party = args.relying_party().map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(EXIT_USAGE)
    })?;
    let stores = wanted
        .iter()
        .filter_map(|n| stores.get(n).cloned())
        .map(|s| match &relying_party {
            Some(rp) => Arc::new(s.as_ref().clone().with_relying_party(rp.clone())),
            None => s,
        })
        .collect();
    let password = match &args.password_file {
        Some(p) => Some(audit::read_password(p).map_err(|e| {
            eprintln!("--password-file {e}");
            ExitCode::from(EXIT_USAGE)
        })?),
        None => None,
    };
    Ok((stores, password))
}

pub(super) fn print_json<T: serde::Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => println!("{{\"error\":\"{e}\"}}"),
    }
}

/// A bundle's report for people, each line prefixed by `indent`.
pub(super) fn bundle_lines(r: &BundleReport, indent: &str) -> String {
    let mut out = String::new();
    for (i, k) in r.keys.iter().enumerate() {
        let verdict = match &k.matches {
            KeyMatch::Matches { certificate } => {
                let position = r.order.iter().position(|f| f == certificate).unwrap_or(0);
                format!("matches the certificate at position {position}")
            }
            KeyMatch::NoCertificate => "matches NO certificate".to_owned(),
            KeyMatch::Unreadable { detail } => format!("not compared: {detail}"),
        };
        let _ = writeln!(out, "{indent}key {i}: {} {verdict}", k.key_type);
    }
    if r.keys.is_empty() {
        let _ = writeln!(out, "{indent}no private key");
    }
    let _ = writeln!(
        out,
        "{indent}certificates in the order a TLS server sends them:"
    );
    for c in &r.certificates {
        let file = r.order.get(c.position).copied().unwrap_or(c.position);
        let role = match (r.leaf.is_some() && c.position == 0, c.self_signed, c.is_ca) {
            (true, _, _) => "server",
            (_, true, _) => "self-signed",
            (_, _, true) => "CA",
            _ => "end-entity",
        };
        if let Some(e) = &c.error {
            let _ = writeln!(
                out,
                "{indent}  {} unparsable (file #{file}): {e}",
                c.position
            );
            continue;
        }
        let _ = writeln!(
            out,
            "{indent}  {}  {:<11} {}  issuer {}  until {}  {} {}  file #{file}",
            c.position,
            role,
            if c.subject_cn.is_empty() {
                &c.subject
            } else {
                &c.subject_cn
            },
            if c.issuer_cn.is_empty() {
                &c.issuer
            } else {
                &c.issuer_cn
            },
            c.not_after.map_or_else(|| "?".into(), rfc3339),
            c.key_type,
            c.key_bits
        );
    }
    if let Some(chain) = &r.chain {
        let _ = writeln!(out, "{indent}validated at {}", rfc3339(chain.validated_at));
        for a in chain.anchors() {
            let _ = writeln!(out, "{indent}{}", path_line(a));
        }
        if !chain.order_ok() {
            let _ = writeln!(
                out,
                "{indent}order: not each certificate certifies the one before"
            );
        }
    }
    for m in &r.missing {
        let _ = writeln!(out, "{indent}missing: {m}");
    }
    for f in &r.findings {
        let lvl = match f.level {
            Level::Fail => "fail",
            Level::Warn => "warn",
            Level::Info => "info",
        };
        let _ = writeln!(out, "{indent}{lvl} {}: {}", f.reason, f.detail);
    }
    out
}

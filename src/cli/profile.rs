//! `flowprobe profile check FILE.mobileconfig...`: each configuration
//! profile before it is scoped: its signature, its Certificate payloads
//! (as `pki check`), its Exchange payloads' S/MIME settings (seed 1.5.1),
//! and the facts of its identity and SCEP payloads.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use super::pki::{AuditArgs, AuditOutput, bundle_lines, prepare, print_json};
use super::{EXIT_FAIL, EXIT_USAGE};
use crate::analyze::trust::TrustStore;
use crate::audit::profile::{self, Context, Judged, PayloadReport, ProfileReport};
use crate::audit::{self, FileError, MAX_FILE_BYTES};
use crate::kinds::show::path_line;
use crate::outcome::Level;
use crate::text::rfc3339;

#[derive(Subcommand, Debug)]
pub enum ProfileAction {
    /// Check configuration profiles (XML, binary or CMS-signed): the
    /// signature, Certificate payloads as `pki check` does, the Exchange
    /// payloads' three S/MIME overridable keys. Exit 0 pass, 1 fail, 2 error.
    Check {
        /// The `.mobileconfig` files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        audit: AuditArgs,
    },
}

pub(super) fn run(action: &ProfileAction) -> ExitCode {
    let ProfileAction::Check { files, audit } = action;
    let (stores, password) = match prepare(audit) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let refs: Vec<&TrustStore> = stores.iter().map(|s| s.as_ref()).collect();
    let ctx = Context {
        stores: &refs,
        password: password.as_deref(),
        now: audit.now(),
    };
    let mut errors = false;
    let mut reports = Vec::new();
    for file in files {
        let judged = audit::read_bounded(file, MAX_FILE_BYTES).and_then(|bytes| {
            profile::audit(&bytes, &ctx).map_err(|source| FileError::Profile {
                path: file.clone(),
                source,
            })
        });
        match judged {
            Ok(r) => reports.push((file.as_path(), r)),
            Err(e) => {
                eprintln!("flowprobe profile check: {e}");
                errors = true;
            }
        }
    }
    let ok = reports.iter().all(|(_, r)| r.passed());
    match audit.output {
        AuditOutput::Table => {
            let mut out = String::new();
            for (file, r) in &reports {
                out.push_str(&table(file, r));
            }
            let failed = reports.iter().filter(|(_, r)| !r.passed()).count();
            let _ = writeln!(
                out,
                "{} profiles, {} pass, {} fail{}",
                reports.len(),
                reports.len() - failed,
                failed,
                if errors {
                    ", and errors (see stderr)"
                } else {
                    ""
                }
            );
            print!("{out}");
        }
        AuditOutput::Json => {
            #[derive(serde::Serialize)]
            struct One<'a> {
                file: &'a Path,
                ok: bool,
                #[serde(flatten)]
                report: &'a ProfileReport,
            }
            #[derive(serde::Serialize)]
            struct Out<'a> {
                ok: bool,
                profiles: Vec<One<'a>>,
            }
            print_json(&Out {
                ok: ok && !errors,
                profiles: reports
                    .iter()
                    .map(|(file, report)| One {
                        file,
                        ok: report.passed(),
                        report,
                    })
                    .collect(),
            });
        }
    }
    if errors {
        ExitCode::from(EXIT_USAGE)
    } else if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAIL)
    }
}

fn status(passed: bool) -> &'static str {
    if passed { "PASS" } else { "FAIL" }
}

fn level(l: Level) -> &'static str {
    match l {
        Level::Fail => "fail",
        Level::Warn => "warn",
        Level::Info => "info",
    }
}

fn table(file: &Path, r: &ProfileReport) -> String {
    let mut out = String::new();
    let container = match &r.signature {
        Some(_) => format!("CMS-signed {:?} plist", r.plist).to_lowercase(),
        None => format!("{:?} plist, unsigned", r.plist).to_lowercase(),
    };
    let _ = writeln!(
        out,
        "{}: {container}: {} {:?} ({}), {} payloads: {}",
        file.display(),
        r.payload_type,
        r.display_name,
        r.identifier,
        r.payloads.len(),
        status(r.passed())
    );
    signature_lines(r, &mut out);
    for f in &r.findings {
        let _ = writeln!(out, "  {} {}: {}", level(f.level), f.reason, f.detail);
    }
    for p in &r.payloads {
        payload_lines(p, &mut out);
    }
    out
}

/// The signature of a signed profile, and the paths of its signer.
fn signature_lines(r: &ProfileReport, out: &mut String) {
    if let Some(s) = &r.signature {
        let signer = s.signer.as_ref().map_or_else(
            || "signer certificate not included".to_owned(),
            |c| {
                format!(
                    "signer {} (issuer {}, serial {}, until {})",
                    c.subject,
                    c.issuer,
                    c.serial,
                    rfc3339(c.not_after)
                )
            },
        );
        let _ = writeln!(
            out,
            "  signature {}: {signer}",
            if s.valid { "valid" } else { "INVALID" }
        );
    }
    // Position 0 is the signer, then the certificates carried with it.
    for a in r.signer_chain.iter().flat_map(|c| c.anchors()) {
        let _ = writeln!(out, "  signer {}", path_line(a));
    }
}

/// One payload: its status line, what was judged, its findings.
fn payload_lines(p: &PayloadReport, out: &mut String) {
    let _ = writeln!(
        out,
        "  payload {} {} {:?}: {}",
        p.index,
        p.payload_type,
        p.display_name,
        payload_status(p)
    );
    match &p.judged {
        Judged::Certificate {
            format,
            password,
            bundle,
        } => {
            if let Some(b) = bundle {
                let _ = writeln!(out, "    {format}, password from {password}");
                // Findings of the bundle are the payload's findings.
                let lines = bundle_lines(b, "    ");
                out.push_str(&lines);
                for f in p.findings.iter().filter(|f| !b.findings.contains(f)) {
                    let _ = writeln!(out, "    {} {}: {}", level(f.level), f.reason, f.detail);
                }
                return;
            }
        }
        Judged::Exchange { settings, facts } => {
            for s in settings {
                let _ = writeln!(
                    out,
                    "    {} {} = {}",
                    if s.ok { "ok  " } else { "FAIL" },
                    s.key,
                    s.value
                );
            }
            for (k, v) in facts {
                let _ = writeln!(out, "    {k} = {v}");
            }
        }
        Judged::Facts { facts } => {
            for (k, v) in facts {
                let _ = writeln!(out, "    {k} = {v}");
            }
        }
        Judged::Other => {}
    }
    for f in &p.findings {
        let _ = writeln!(out, "    {} {}: {}", level(f.level), f.reason, f.detail);
    }
}

/// A failing finding makes the payload FAIL, judged or not (a
/// certificate payload without content, a payload that is not a
/// dictionary).
fn payload_status(p: &PayloadReport) -> &'static str {
    let passed = p.findings.iter().all(|f| f.level != Level::Fail);
    match p.judged {
        _ if !passed => status(false),
        Judged::Other => "not judged",
        Judged::Facts { .. } => "facts",
        _ => status(true),
    }
}

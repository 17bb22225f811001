//! `check = "ssh"`: read the server's identification and KEXINIT over the
//! vantage's TCP connection (never authenticating, never completing a key
//! exchange), then judge the offered algorithms by the flow's policy.

pub use crate::config::check::ssh::SshSpec;

use std::net::SocketAddr;

use serde::Serialize;

use crate::analyze::ssh_policy::{self, SshJudgement};
use crate::outcome::verdict;
use crate::probe::report::{Details, Phase};
use crate::probe::run::{CheckResult, Ctx, Failure, Success};
use crate::wire::ssh::{WireLimits, exchange};

/// SSH facts of one probe, for `/api/v1/flows` and `check --output json`.
#[derive(Debug, Clone, Serialize)]
pub struct SshDetails {
    pub protocol: String,
    pub software: String,
    pub comments: Option<String>,
    /// Every offered algorithm by kind, judged by the policy.
    pub judgement: SshJudgement,
}

pub async fn check(ctx: &Ctx<'_>, addr: SocketAddr, spec: &SshSpec) -> CheckResult {
    let mut stream = ctx.connect(addr).await?;
    let limits = WireLimits::default();
    let hello = ctx
        .timed(Phase::Ssh, exchange(&mut stream, &limits))
        .await
        .map_err(|e| Failure::new(e.reason(), format!("{addr}: {e}")))?;
    let judgement = ssh_policy::judge(&hello.kexinit, &spec.policy);
    let mut findings = Vec::new();
    findings.extend(ssh_policy::protocol_finding(
        &hello.protocol,
        &spec.policy,
        spec.on_violation,
    ));
    findings.extend(ssh_policy::findings(&judgement, spec.on_violation));
    if !spec.host_key.is_empty() {
        findings.extend(ssh_policy::host_key_pin_finding(
            &hello.kexinit,
            &spec.host_key,
            spec.on_pin_mismatch,
        ));
    }
    if let Some(pattern) = &spec.software {
        findings.extend(ssh_policy::software_pin_finding(
            &hello.software,
            hello.comments.as_deref(),
            &pattern.0,
            spec.on_pin_mismatch,
        ));
    }
    let reason = verdict(&findings);
    let mut detail = format!(
        "{addr}: SSH-{}-{}, policy {} {}",
        hello.protocol,
        hello.software,
        spec.policy.name,
        if judgement.is_compliant() {
            "met".to_string()
        } else {
            format!("violated ({reason})")
        }
    );
    if !judgement.notes.is_empty() {
        // The full note is in the judgement (API, JSON output).
        detail.push_str(
            "; zlib@openssh.com offered: the wire cannot tell `Compression delayed` from `yes`",
        );
    }
    Ok(Success {
        detail,
        findings,
        details: Details::Ssh(Box::new(SshDetails {
            protocol: hello.protocol,
            software: hello.software,
            comments: hello.comments,
            judgement,
        })),
    })
}

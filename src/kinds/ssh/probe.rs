//! `check = "ssh"`: read the server's identification and KEXINIT over the
//! vantage's TCP connection (never authenticating, never completing a key
//! exchange), then judge the offered algorithms by the flow's policy.
//!
//! Every connection first waits for its turn under the vantage's SSH pace
//! ([`pace`]): servers running OpenSSH 9.8 or later penalise each
//! connection that ends before authenticating, and a probe is one.

use super::settings::SshSpec;
use super::{pace, refusal};
use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::analyze::ssh_policy::{self, SshJudgement};
use crate::config::ssh_pace::reserve;
use crate::kinds::{KindFacts, Registered};
use crate::outcome::{Reason, verdict};
use crate::probe::{Ctx, Failure, Phase, ProbeResult, Success};
use crate::wire::ssh::{WireLimits, exchange};

/// SSH facts of one probe, for `/api/v1/flows` and `check --output json`.
#[derive(Debug, Clone, Serialize)]
pub struct SshFacts {
    pub protocol: String,
    pub software: String,
    pub comments: Option<String>,
    /// Every offered algorithm by kind, judged by the policy.
    pub judgement: SshJudgement,
}

pub(super) async fn run(ctx: &Ctx<'_>, addr: SocketAddr, spec: &SshSpec) -> ProbeResult {
    let waited = wait_for_pace(ctx, addr, spec.pace).await?;
    let mut stream = ctx.connect(addr).await?;
    let limits = WireLimits::default();
    let hello = ctx
        .timed(Phase::Ssh, exchange(&mut stream, &limits))
        .await
        .map_err(|e| {
            let detail = match refusal::hint(&e) {
                Some(hint) => format!("{addr}: {e}; {hint}"),
                None => format!("{addr}: {e}"),
            };
            Failure::new(e.reason(), detail).with_cause(<super::Ssh as Registered>::cause(e))
        })?;
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
    if !waited.is_zero() {
        detail.push_str(&format!(
            "; started after {} waiting for the SSH pace",
            humantime::format_duration(waited)
        ));
    }
    Ok(Success {
        detail,
        findings,
        facts: KindFacts::Ssh(Box::new(SshFacts {
            protocol: hello.protocol,
            software: hello.software,
            comments: hello.comments,
            judgement,
        })),
    })
}

/// Waits for this connection's turn under the vantage's SSH pace, within
/// the flow's budget: the wait never takes the part of the timeout kept
/// for the connection and the exchange ([`reserve`]). Returns the wait,
/// in whole milliseconds; a turn that comes too late is `resource`: the
/// probe was not made, and the detail says the pace is why.
async fn wait_for_pace(
    ctx: &Ctx<'_>,
    addr: SocketAddr,
    pace: Duration,
) -> Result<Duration, Failure> {
    let kept = reserve(ctx.flow.timeout);
    let latest = ctx.deadline.checked_sub(kept).unwrap_or(ctx.deadline);
    let key = pace::PaceKey::new(&ctx.net.vantage, addr.ip());
    match pace::shared().wait(&key, pace, latest).await {
        Ok(waited) => {
            let waited =
                Duration::from_millis(u64::try_from(waited.as_millis()).unwrap_or(u64::MAX));
            if !waited.is_zero() {
                tracing::debug!(server = %addr, waited = ?waited, "waited for the SSH pace");
            }
            Ok(waited)
        }
        Err(e) => Err(Failure::new(
            Reason::Resource,
            format!(
                "{addr}: {e}, keeping {} of the {} timeout for the connection; the schedule asks \
                 more of this server than the pace allows (see the warnings of `flowprobe config \
                 check`)",
                humantime::format_duration(kept),
                humantime::format_duration(ctx.flow.timeout)
            ),
        )),
    }
}

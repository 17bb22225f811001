//! `check = "tls"`: a real handshake over the vantage's TCP connection,
//! then the captured chain judged against the flow's trust stores and
//! policy. The chain's structure is analysed once per distinct chain; the
//! time-dependent findings (expiry) are judged every probe.

use parking_lot::Mutex;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use crate::net::kernel_time::StampedStream;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
use serde::Serialize;

use super::oversized::{self, OversizedFacts};
use super::protocols::{self, ProtocolFacts, ProtocolState};
use super::settings::{ClientAuth, TlsSpec};
use super::{Negotiated, TlsClient, TlsFailure, TlsParams, findings};
use crate::analyze::chain::{ChainCache, ChainReport, OrderRule};
use crate::analyze::trust::TrustStore;
use crate::config::{Flow, Host};
use crate::kinds::{KindFacts, Registered};
use crate::outcome::{Finding, Level, Reason, verdict};
use crate::probe::Phase;
use crate::probe::Stores;
use crate::probe::{Ctx, Failure, ProbeResult, Success};

/// What a TLS flow prepares once: its client configuration, its stores and
/// its chain cache.
#[derive(Debug)]
pub struct TlsState {
    client: TlsClient,
    stores: Vec<Arc<TrustStore>>,
    spec: TlsSpec,
    server_name: ServerName<'static>,
    cache: Mutex<ChainCache>,
    /// The protocol enumeration and its kept result (`protocol_policy`).
    protocols: Option<ProtocolState>,
}

/// TLS facts of one probe, for `/api/v1/flows` and `check --output json`.
#[derive(Debug, Clone, Serialize)]
pub struct TlsFacts {
    pub server_name: String,
    pub version: Option<String>,
    pub cipher_suite: Option<String>,
    pub alpn: Option<String>,
    pub client_cert_requested: bool,
    /// Positions of cross-certificates: CA certificates, not self-signed,
    /// whose subject is an anchor in one of the flow's trust stores (the
    /// DoD Root CA 3 issued by DoD Interoperability Root CA 2, say).
    pub cross: Vec<usize>,
    /// Every certificate the server sent and the judgement of the path;
    /// present whenever certificates were received, even on failure.
    pub chain: Option<ChainReport>,
    /// What the server accepts (versions, weak suites) by the flow's
    /// `protocol_policy`: the last enumeration, reported on every probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocols: Option<Box<ProtocolFacts>>,
    /// The stapled OCSP response and its judgement (completed handshakes
    /// with `tls.ocsp_staple` other than "off"; `null` when none arrived).
    pub ocsp_staple: Option<super::staple::Staple>,
    /// A handshake message over rustls's 64 KiB limit: what the second
    /// look at the certificate message found; the certificates it kept
    /// are judged as `chain`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oversized: Option<OversizedFacts>,
}

impl TlsState {
    pub fn new(flow: &Flow, spec: &TlsSpec, stores: &Stores) -> Result<Self, String> {
        let name = spec
            .server_name
            .clone()
            .unwrap_or_else(|| match &flow.host {
                Host::Name(n) => n.clone(),
                Host::Ip(ip) => ip.to_string(),
            });
        let server_name = ServerName::try_from(name.clone())
            .map_err(|e| format!("flow[{}].tls.server_name {name:?}: {e}", flow.name))?;
        let client_cert = match &spec.client_cert {
            None => None,
            Some((cert, key)) => {
                let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                    .and_then(|i| i.collect::<Result<_, _>>())
                    .map_err(|e| {
                        format!(
                            "flow[{}].tls.client_cert {}: {e}",
                            flow.name,
                            cert.display()
                        )
                    })?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                    format!("flow[{}].tls.client_key {}: {e}", flow.name, key.display())
                })?;
                Some((chain, key))
            }
        };
        let client = TlsClient::new(TlsParams {
            server_name: server_name.clone(),
            alpn: spec.alpn.iter().map(|p| p.as_bytes().to_vec()).collect(),
            min_version: spec.min_version,
            client_cert,
        })
        .map_err(|e| format!("flow[{}].tls: {e}", flow.name))?;
        let stores =
            spec.trust
                .iter()
                .map(|t| {
                    stores.get(t).cloned().ok_or_else(|| {
                        format!("flow[{}].tls.trust: store {t:?} not loaded", flow.name)
                    })
                })
                .collect::<Result<_, _>>()?;
        Ok(TlsState {
            client,
            stores,
            spec: spec.clone(),
            protocols: spec
                .protocol
                .clone()
                .map(|p| ProtocolState::new(p, server_name.to_str().into_owned())),
            server_name,
            cache: Mutex::new(ChainCache::new()),
        })
    }

    /// Anchor fingerprints, so a reload notices changed anchor files.
    pub(crate) fn anchors_fingerprint(&self) -> Vec<[u8; 32]> {
        self.stores
            .iter()
            .flat_map(|s| s.anchors().iter().map(|a| a.sha256))
            .collect()
    }

    fn cross(&self, chain: Option<&ChainReport>) -> Vec<usize> {
        let Some(chain) = chain else {
            return Vec::new();
        };
        chain
            .certificates
            .iter()
            .filter(|c| c.is_ca && !c.self_signed)
            .filter(|c| {
                self.stores
                    .iter()
                    .any(|s| s.anchors().iter().any(|a| a.subject == c.subject))
            })
            .map(|c| c.position)
            .collect()
    }

    /// The details of a handshake that did not complete: nothing was
    /// negotiated, the chain (if one arrived) is judged.
    fn unfinished(
        &self,
        server_name: String,
        client_cert_requested: bool,
        chain: Option<ChainReport>,
    ) -> KindFacts {
        KindFacts::Tls(Box::new(TlsFacts {
            server_name,
            version: None,
            cipher_suite: None,
            alpn: None,
            client_cert_requested,
            cross: self.cross(chain.as_ref()),
            chain,
            protocols: None,
            ocsp_staple: None,
            oversized: None,
        }))
    }

    fn judge(&self, certs: &[CertificateDer<'static>], rule: OrderRule) -> Option<ChainReport> {
        if certs.is_empty() {
            return None;
        }
        let stores: Vec<&TrustStore> = self.stores.iter().map(Arc::as_ref).collect();
        let mut cache = self.cache.lock();
        Some(cache.analyze(
            certs,
            &stores,
            &self.spec.policy,
            &self.server_name,
            SystemTime::now(),
            rule,
        ))
    }
}

/// The handshake and its judgement, then, for a flow with a
/// `protocol_policy` whose server took the connection, the protocol
/// enumeration's (kept or fresh) result and findings.
pub(super) async fn run(ctx: &Ctx<'_>, addr: SocketAddr, state: &TlsState) -> ProbeResult {
    let result = handshake_check(ctx, addr, state).await;
    let Some(protocols) = &state.protocols else {
        return result;
    };
    let reached = match &result {
        Ok(_) => true,
        Err(f) => matches!(f.facts, KindFacts::Tls(_)),
    };
    if !reached {
        return result;
    }
    let until = protocols::stop_before(ctx.deadline, ctx.flow.timeout);
    let report = protocols
        .report(addr, &ctx.net.vantage, until, ctx.flow.timeout)
        .await;
    let actions = protocols
        .policies()
        .iter()
        .map(|p| p.on_violation)
        .collect();
    with_protocols(result, report, actions)
}

/// Adds the enumeration's findings, accepted versions and facts.
fn with_protocols(
    result: ProbeResult,
    mut report: ProtocolFacts,
    actions: Vec<crate::outcome::Action>,
) -> ProbeResult {
    // Apple ATS also judges the server certificate a device is shown.
    let leaf = match &result {
        Ok(s) => leaf_facts(&s.facts),
        Err(f) => leaf_facts(&f.facts),
    };
    let judgements = std::iter::once(&mut report.judgement).chain(report.other_policies.iter_mut());
    let mut found = Vec::new();
    for (j, action) in judgements.zip(actions) {
        if j.ats.is_some()
            && let Some(leaf) = leaf
        {
            j.violations
                .extend(crate::analyze::tls_policy::ats_path(leaf));
        }
        found.extend(crate::analyze::tls_policy::findings(j, action));
    }
    let accepted = report.judgement.accepted_versions();
    let clause = if accepted.is_empty() {
        String::new()
    } else {
        format!("; accepts {}", accepted.join(", "))
    };
    let attach = |details: &mut KindFacts| {
        if let KindFacts::Tls(d) = details {
            d.protocols = Some(Box::new(report));
        }
    };
    match result {
        Ok(mut s) => {
            let before = verdict(&s.findings);
            s.findings.extend(found);
            let after = verdict(&s.findings);
            s.detail.push_str(&clause);
            if before == Reason::Ok && after != Reason::Ok {
                s.detail.push_str(&crate::outcome::reason_suffix(after));
            }
            attach(&mut s.facts);
            Ok(s)
        }
        Err(mut f) => {
            f.findings.extend(found);
            f.detail.push_str(&clause);
            attach(&mut f.facts);
            Err(f)
        }
    }
}

/// The server certificate's facts, when the handshake got that far.
fn leaf_facts(details: &KindFacts) -> Option<&crate::analyze::chain::CertFacts> {
    details
        .get::<super::Tls>()?
        .chain
        .as_ref()?
        .certificates
        .first()
}

async fn handshake_check(ctx: &Ctx<'_>, addr: SocketAddr, state: &TlsState) -> ProbeResult {
    let tcp = ctx.connect(addr).await?;
    let (tcp, stamps) = StampedStream::new(tcp);
    let result = ctx
        .timed_net(Phase::Tls, state.client.handshake(tcp), |_| {
            stamps.exchange()
        })
        .await;
    let server_name = state.server_name.to_str().into_owned();
    match result {
        Ok(facts) => Ok(completed(ctx, addr, state, server_name, facts)),
        Err(failure)
            if state.spec.client_auth == ClientAuth::Expected
                && matches!(failure.error, super::TlsError::ClientCertRequired { .. })
                && !failure.certificates.is_empty() =>
        {
            Ok(refused_as_expected(ctx, addr, state, server_name, failure))
        }
        Err(failure) => Err(failed(ctx, addr, state, server_name, failure).await),
    }
}

/// A completed handshake: the chain, the certificate profile and the
/// stapled OCSP response judged.
fn completed(
    ctx: &Ctx<'_>,
    addr: SocketAddr,
    state: &TlsState,
    server_name: String,
    facts: Negotiated,
) -> Success {
    let rule = if facts.version == "TLSv1.3" {
        OrderRule::Tls13
    } else {
        OrderRule::Tls12
    };
    let chain = state.judge(&facts.certificates, rule);
    publish(ctx, chain.as_ref(), &facts.certificates);
    let mut found = findings(None, chain.as_ref());
    if let Some(chain) = &chain {
        found.extend(crate::analyze::chain::nist_profile::findings(
            chain,
            state.spec.cert_profile,
        ));
    }
    let (staple, stapled) = super::staple::judge(
        state.spec.ocsp_staple,
        &facts.certificates,
        facts.ocsp_response.as_deref(),
        &state.stores,
        SystemTime::now(),
    );
    // After the chain's: a broken chain explains more than its staple.
    found.extend(stapled);
    let reason = verdict(&found);
    let detail = format!(
        "{addr}: {} {}, {} certificates{}",
        facts.version,
        facts.cipher_suite,
        facts.certificates.len(),
        crate::outcome::reason_suffix(reason)
    );
    Success {
        detail,
        findings: found,
        facts: KindFacts::Tls(Box::new(TlsFacts {
            server_name,
            version: Some(facts.version),
            cipher_suite: Some(facts.cipher_suite),
            alpn: facts.alpn,
            client_cert_requested: facts.client_cert_requested,
            cross: state.cross(chain.as_ref()),
            chain,
            protocols: None,
            ocsp_staple: staple,
            oversized: None,
        })),
    }
}

/// A server that refused us for want of a client certificate, as the flow
/// expects (`client_auth = "expected"`): the chain it sent judged.
fn refused_as_expected(
    ctx: &Ctx<'_>,
    addr: SocketAddr,
    state: &TlsState,
    server_name: String,
    failure: TlsFailure,
) -> Success {
    // The service authenticates its clients and refused us, as it
    // refuses every client without a device certificate: the
    // server's side of the handshake is what a device would see.
    let chain = state.judge(&failure.certificates, OrderRule::Tls12);
    publish(ctx, chain.as_ref(), &failure.certificates);
    let mut found = findings(None, chain.as_ref());
    found.push(Finding::new(
        Reason::TlsHandshake,
        Level::Info,
        format!("expected: {}", failure.error),
    ));
    let reason = verdict(&found);
    Success {
        detail: format!(
            "{addr}: {} certificates, client certificate requested (expected){}",
            failure.certificates.len(),
            crate::outcome::reason_suffix(reason)
        ),
        findings: found,
        facts: state.unfinished(server_name, true, chain),
    }
}

/// A handshake that failed: its failure leads, and the chain that arrived
/// (from a second look when the certificate message was over rustls's
/// limit) is judged.
async fn failed(
    ctx: &Ctx<'_>,
    addr: SocketAddr,
    state: &TlsState,
    server_name: String,
    mut failure: TlsFailure,
) -> Failure {
    let oversized = look_again(ctx, addr, &server_name, &mut failure).await;
    // The version is unknown: judge order by the stricter rule.
    let chain = state.judge(&failure.certificates, OrderRule::Tls12);
    publish(ctx, chain.as_ref(), &failure.certificates);
    if let (Some(facts), super::TlsError::TooLarge { detail, .. }) =
        (&oversized, &mut failure.error)
    {
        let leaf = chain.as_ref().and_then(|c| c.certificates.first());
        *detail = oversized::describe(facts, leaf);
    }
    // The handshake's failure leads: the chain's findings explain
    // what arrived, not why the handshake failed.
    let found = findings(Some(&failure.error), chain.as_ref());
    let reason = found.first().map_or(failure.error.reason(), |f| f.reason);
    let mut details = state.unfinished(
        server_name,
        matches!(failure.error, super::TlsError::ClientCertRequired { .. }),
        chain,
    );
    if let KindFacts::Tls(d) = &mut details {
        d.oversized = oversized;
    }
    Failure {
        reason,
        detail: format!("{addr}: {}", failure.error),
        cause: Some(Box::new(<super::Tls as Registered>::cause(failure.error))),
        facts: details,
        findings: found,
    }
}

/// For a handshake message over rustls's limit, the second look's facts;
/// the certificates it kept become the failure's when rustls read none.
async fn look_again(
    ctx: &Ctx<'_>,
    addr: SocketAddr,
    server_name: &str,
    failure: &mut TlsFailure,
) -> Option<OversizedFacts> {
    match failure.error {
        super::TlsError::TooLarge { .. } => {
            // rustls read no certificate: look again, by hand.
            let until = protocols::stop_before(ctx.deadline, ctx.flow.timeout);
            let look = oversized::second_look(addr, &ctx.net.vantage, server_name, until).await;
            if failure.certificates.is_empty() {
                failure.certificates = look.certificates;
            }
            Some(look.facts)
        }
        _ => None,
    }
}

/// Leave the captured chain on the board for CRL flows (`from_flow`).
fn publish(ctx: &Ctx<'_>, chain: Option<&ChainReport>, certs: &[CertificateDer<'static>]) {
    if let Some(chain) = chain {
        ctx.prepared.board.put(
            &ctx.flow.name,
            crate::probe::board::Captured {
                chain: chain.clone(),
                certificates: certs.to_vec(),
                at: SystemTime::now(),
            },
        );
    }
}

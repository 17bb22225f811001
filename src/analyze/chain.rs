//! Certificate-chain analysis: is the whole path to each required anchor
//! pushed, in order, valid, for this name, with strong keys and signatures?
//!
//! Pure functions over DER. Analysis is split in two so a daemon probing
//! every 30 s does not redo signature checks for an unchanged chain:
//! [`analyze_structure`] (paths, order, names, keys; cached by
//! [`chain_fingerprint`] in [`ChainCache`]) and [`judge_time`] (validity,
//! recomputed every probe because time moves).

mod facts;
mod path;
mod policy;

pub use facts::{CertFacts, is_weak_signature, render_name, signature_name};
pub use path::{MAX_CANDIDATES, MAX_DEPTH, MAX_EXPANSIONS};
pub use policy::{ChainPolicy, Notice, Pattern, RequiredCert};

use crate::analyze::trust::TrustStore;
use crate::outcome::{Action, Finding, Level, Reason};
use path::{PathOutcome, SentGraph};
use rustls::pki_types::{CertificateDer, ServerName};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The result of judging one store: did the sent certificates alone reach
/// one of its anchors?
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnchorResult {
    pub store: String,
    pub verified: bool,
    /// Sent positions from the leaf; on failure, the deepest path tried.
    pub path: Vec<usize>,
    pub anchor_subject: Option<String>,
    pub detail: String,
}

/// Everything about a chain that does not depend on the clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StructuralReport {
    pub fingerprint: String,
    pub certificates: Vec<CertFacts>,
    pub anchors: Vec<AnchorResult>,
    /// Each certificate certifies the one before it (RFC 5246 7.4.2).
    pub order_ok: bool,
    /// Positions of sent certificates that are self-signed or a copy of an
    /// anchor of a judged store.
    pub anchor_sent: Vec<usize>,
    /// Positions of repeats of an earlier sent certificate.
    pub duplicates: Vec<usize>,
    /// Positions that certify nothing in the leaf's path.
    pub unrelated: Vec<usize>,
    pub findings: Vec<Finding>,
}

/// The full judgement of a chain at one instant: the (shared, cached)
/// structure plus every finding, time-dependent ones included. Structure
/// fields are reached through `Deref`; sharing it keeps a TLS probe from
/// deep-copying every certificate's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub structure: Arc<StructuralReport>,
    /// Most important first; [`crate::outcome::verdict`] gives the reason.
    pub findings: Vec<Finding>,
}

impl std::ops::Deref for ChainReport {
    type Target = StructuralReport;
    fn deref(&self) -> &StructuralReport {
        &self.structure
    }
}

/// The same JSON as the structure, with this report's findings.
impl Serialize for ChainReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let st = &self.structure;
        let mut m = s.serialize_struct("ChainReport", 8)?;
        m.serialize_field("fingerprint", &st.fingerprint)?;
        m.serialize_field("certificates", &st.certificates)?;
        m.serialize_field("anchors", &st.anchors)?;
        m.serialize_field("order_ok", &st.order_ok)?;
        m.serialize_field("anchor_sent", &st.anchor_sent)?;
        m.serialize_field("duplicates", &st.duplicates)?;
        m.serialize_field("unrelated", &st.unrelated)?;
        m.serialize_field("findings", &self.findings)?;
        m.end()
    }
}

impl ChainReport {
    pub fn reason(&self) -> Reason {
        crate::outcome::verdict(&self.findings)
    }
}

/// SHA-256 over the length-prefixed DER of every sent certificate: equal
/// fingerprints mean an unchanged chain whose structure need not be
/// re-analysed.
pub fn chain_fingerprint(sent: &[CertificateDer<'_>]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for cert in sent {
        hasher.update((cert.len() as u64).to_be_bytes());
        hasher.update(cert.as_ref());
    }
    hasher.finalize().into()
}

/// Judges a chain completely: structure, then time.
pub fn analyze(
    sent: &[CertificateDer<'_>],
    stores: &[&TrustStore],
    policy: &ChainPolicy,
    server_name: &ServerName<'_>,
    now: SystemTime,
) -> ChainReport {
    judge_shared(
        Arc::new(analyze_structure(sent, stores, policy, server_name)),
        policy,
        now,
    )
}

/// Paths per store, order, duplicates, extras, required certificates, the
/// host name and key/signature strength: everything the clock cannot change.
pub fn analyze_structure(
    sent: &[CertificateDer<'_>],
    stores: &[&TrustStore],
    policy: &ChainPolicy,
    server_name: &ServerName<'_>,
) -> StructuralReport {
    let (certificates, parsed): (Vec<CertFacts>, Vec<_>) = sent
        .iter()
        .enumerate()
        .map(|(position, der)| facts::extract(position, der.as_ref()))
        .unzip();
    let graph = SentGraph::new(
        &parsed,
        certificates.iter().map(|c| c.self_signed).collect(),
    );
    let mut findings = Vec::new();

    let anchors: Vec<AnchorResult> = stores
        .iter()
        .map(|store| judge_store(&graph, store, policy, &mut findings))
        .collect();

    let order_ok = (1..graph.len()).all(|i| graph.certifies(i, i - 1));
    if !order_ok {
        let detail = order_detail(&graph, &certificates);
        findings.extend(Finding::for_action(
            policy.chain_order,
            Reason::ChainOrder,
            detail,
        ));
    }

    // A cross-certificate shares subject and key with an anchor but is a
    // needed intermediate; only the anchor's own bytes count as sent.
    let anchor_sent: Vec<usize> = (0..graph.len())
        .filter(|p| certificates[*p].self_signed || is_anchor_copy(&certificates[*p], stores))
        .collect();
    for p in &anchor_sent {
        notice(
            &mut findings,
            policy.anchor_sent,
            format!(
                "position {p} ({}) is an anchor or self-signed; sending it is allowed but useless",
                label(&certificates[*p])
            ),
        );
    }

    let duplicates: Vec<usize> = (0..certificates.len())
        .filter(|p| {
            certificates[..*p]
                .iter()
                .any(|c| c.sha256 == certificates[*p].sha256)
        })
        .collect();
    for p in &duplicates {
        notice(
            &mut findings,
            policy.duplicates,
            format!(
                "position {p} ({}) repeats an earlier certificate",
                label(&certificates[*p])
            ),
        );
    }

    let reachable = graph.reachable_from_leaf();
    let unrelated: Vec<usize> = (0..certificates.len())
        .filter(|p| !reachable[*p] && !duplicates.contains(p))
        .collect();
    for p in &unrelated {
        notice(
            &mut findings,
            policy.unrelated,
            format!(
                "position {p} ({}) certifies nothing in the leaf's path",
                label(&certificates[*p])
            ),
        );
    }

    judge_required(&certificates, policy, &mut findings);
    judge_name(sent.first(), server_name, policy, &mut findings);
    judge_strength(&certificates, policy, &mut findings);

    StructuralReport {
        fingerprint: hex::encode(chain_fingerprint(sent)),
        certificates,
        anchors,
        order_ok,
        anchor_sent,
        duplicates,
        unrelated,
        findings,
    }
}

/// Adds the validity findings of every sent certificate at `now`.
pub fn judge_time(
    structure: &StructuralReport,
    policy: &ChainPolicy,
    now: SystemTime,
) -> ChainReport {
    judge_shared(Arc::new(structure.clone()), policy, now)
}

/// [`judge_time`] on a shared structure: no copy of the certificate facts.
fn judge_shared(
    structure: Arc<StructuralReport>,
    policy: &ChainPolicy,
    now: SystemTime,
) -> ChainReport {
    let mut findings = structure.findings.clone();
    let now_secs = unix_secs(now);
    let warning = i64::try_from(policy.expiry_warning.as_secs()).unwrap_or(i64::MAX);
    for cert in &structure.certificates {
        let (Some(not_before), Some(not_after)) = (cert.not_before, cert.not_after) else {
            continue;
        };
        let who = format!("position {} ({})", cert.position, label(cert));
        if now_secs < not_before {
            findings.extend(Finding::for_action(
                policy.cert_not_yet_valid,
                Reason::CertNotYetValid,
                format!("{who} is not valid before {}", rfc3339(not_before)),
            ));
        } else if now_secs > not_after {
            findings.extend(Finding::for_action(
                policy.cert_expired,
                Reason::CertExpired,
                format!("{who} expired at {}", rfc3339(not_after)),
            ));
        } else if not_after.saturating_sub(now_secs) < warning {
            let days = (not_after - now_secs) / 86_400;
            findings.extend(Finding::for_action(
                policy.cert_expiring,
                Reason::CertExpiring,
                format!("{who} expires at {} (in {days} days)", rfc3339(not_after)),
            ));
        }
    }
    findings.sort_by_key(|f| (level_rank(f.level), reason_rank(f.reason)));
    ChainReport {
        structure,
        findings,
    }
}

/// Remembers the structure of the last chain a flow saw. One cache per flow
/// (stores, policy and server name are the flow's, fixed until a reload,
/// which builds a new cache).
#[derive(Debug, Default)]
pub struct ChainCache {
    last: Option<([u8; 32], Arc<StructuralReport>)>,
}

impl ChainCache {
    pub fn new() -> Self {
        ChainCache::default()
    }

    /// Like [`analyze`], reusing the structure when the chain is unchanged.
    pub fn analyze(
        &mut self,
        sent: &[CertificateDer<'_>],
        stores: &[&TrustStore],
        policy: &ChainPolicy,
        server_name: &ServerName<'_>,
        now: SystemTime,
    ) -> ChainReport {
        let fingerprint = chain_fingerprint(sent);
        let structure = match &self.last {
            Some((known, structure)) if *known == fingerprint => Arc::clone(structure),
            _ => {
                let structure = Arc::new(analyze_structure(sent, stores, policy, server_name));
                self.last = Some((fingerprint, Arc::clone(&structure)));
                structure
            }
        };
        judge_shared(structure, policy, now)
    }
}

fn judge_store(
    graph: &SentGraph<'_>,
    store: &TrustStore,
    policy: &ChainPolicy,
    findings: &mut Vec<Finding>,
) -> AnchorResult {
    let name = store.name().to_owned();
    match graph.find_path(store) {
        PathOutcome::Verified {
            path,
            anchor_subject,
        } => AnchorResult {
            detail: format!("sent path reaches {anchor_subject}"),
            store: name,
            verified: true,
            path,
            anchor_subject: Some(anchor_subject),
        },
        PathOutcome::Incomplete { path, detail } => unverified(
            name,
            path,
            detail,
            (policy.chain_incomplete, Reason::ChainIncomplete),
            findings,
        ),
        PathOutcome::Untrusted { path, detail } => unverified(
            name,
            path,
            detail,
            (policy.chain_untrusted, Reason::ChainUntrusted),
            findings,
        ),
    }
}

/// A store the sent certificates do not reach, and the finding the policy
/// asks for.
fn unverified(
    store: String,
    path: Vec<usize>,
    detail: String,
    (action, reason): (Action, Reason),
    findings: &mut Vec<Finding>,
) -> AnchorResult {
    findings.extend(Finding::for_action(
        action,
        reason,
        format!("store {store}: {detail}"),
    ));
    AnchorResult {
        store,
        verified: false,
        path,
        anchor_subject: None,
        detail,
    }
}

fn is_anchor_copy(cert: &CertFacts, stores: &[&TrustStore]) -> bool {
    stores
        .iter()
        .flat_map(|s| s.anchors())
        .any(|a| hex::encode(a.sha256) == cert.sha256)
}

fn order_detail(graph: &SentGraph<'_>, certificates: &[CertFacts]) -> String {
    let broken: Vec<String> = (1..graph.len())
        .filter(|i| !graph.certifies(*i, i - 1))
        .take(3)
        .map(|i| {
            format!(
                "position {i} ({}) does not certify position {} ({})",
                label(&certificates[i]),
                i - 1,
                label(&certificates[i - 1])
            )
        })
        .collect();
    broken.join("; ")
}

fn judge_required(certificates: &[CertFacts], policy: &ChainPolicy, findings: &mut Vec<Finding>) {
    for required in &policy.require {
        let found = certificates
            .iter()
            .any(|c| c.error.is_none() && required.matches(&c.subject, &c.issuer, &c.sha256));
        if !found {
            findings.extend(Finding::for_action(
                policy.cert_required,
                Reason::CertRequired,
                format!("no sent certificate matches {}", required.describe()),
            ));
        }
    }
}

fn judge_name(
    leaf: Option<&CertificateDer<'_>>,
    server_name: &ServerName<'_>,
    policy: &ChainPolicy,
    findings: &mut Vec<Finding>,
) {
    let Some(leaf) = leaf else { return };
    let result = webpki::EndEntityCert::try_from(leaf)
        .map_err(|e| format!("leaf not usable for the name check: {e}"))
        .and_then(|ee| {
            ee.verify_is_valid_for_subject_name(server_name)
                .map_err(|e| format!("leaf is not valid for {}: {e}", server_name.to_str()))
        });
    if let Err(detail) = result {
        findings.extend(Finding::for_action(
            policy.name_mismatch,
            Reason::NameMismatch,
            detail,
        ));
    }
}

fn judge_strength(certificates: &[CertFacts], policy: &ChainPolicy, findings: &mut Vec<Finding>) {
    for cert in certificates.iter().filter(|c| c.error.is_none()) {
        let minimum = match cert.key_type.as_str() {
            "rsa" | "rsa-pss" | "dsa" => Some(policy.min_rsa_bits),
            "ec" => Some(policy.min_ec_bits),
            _ => None,
        };
        if let Some(minimum) = minimum.filter(|m| cert.key_bits < *m) {
            findings.extend(Finding::for_action(
                policy.weak_key,
                Reason::WeakKey,
                format!(
                    "position {} ({}) has a {}-bit {} key, below {minimum}",
                    cert.position,
                    label(cert),
                    cert.key_bits,
                    cert.key_type
                ),
            ));
        }
        if !cert.self_signed && is_weak_signature(&cert.signature_algorithm) {
            findings.extend(Finding::for_action(
                policy.weak_signature,
                Reason::WeakSignature,
                format!(
                    "position {} ({}) is signed with {}",
                    cert.position,
                    label(cert),
                    cert.signature_algorithm
                ),
            ));
        }
    }
}

fn notice(findings: &mut Vec<Finding>, notice: Notice, detail: String) {
    let action = match notice {
        Notice::Fail => Action::Fail,
        Notice::Warn => Action::Warn,
        Notice::Off => Action::Off,
        Notice::Info => {
            findings.push(Finding::new(Reason::ChainOrder, Level::Info, detail));
            return;
        }
    };
    findings.extend(Finding::for_action(action, Reason::ChainOrder, detail));
}

/// How a certificate is named in details: its CN, or its subject, or its hash.
fn label(cert: &CertFacts) -> String {
    if !cert.subject_cn.is_empty() {
        cert.subject_cn.clone()
    } else if !cert.subject.is_empty() {
        cert.subject.clone()
    } else {
        format!("unparsable, sha256 {}", cert.sha256)
    }
}

fn level_rank(level: Level) -> u8 {
    match level {
        Level::Fail => 0,
        Level::Warn => 1,
        Level::Info => 2,
    }
}

/// Which failure names a flow's reason when several hold: a certificate
/// that is already invalid first, then the STIG's path requirement, then
/// what a client would reject, then hygiene, then what is merely coming.
fn reason_rank(reason: Reason) -> u8 {
    match reason {
        Reason::CertExpired => 0,
        Reason::CertNotYetValid => 1,
        Reason::ChainIncomplete => 2,
        Reason::ChainUntrusted => 3,
        Reason::NameMismatch => 4,
        Reason::WeakKey => 5,
        Reason::WeakSignature => 6,
        Reason::ChainOrder => 7,
        Reason::CertRequired => 8,
        Reason::CertExpiring => 9,
        _ => 10,
    }
}

fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

fn rfc3339(secs: i64) -> String {
    match u64::try_from(secs) {
        Ok(s) => humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(s)).to_string(),
        Err(_) => format!("{secs} (unix seconds)"),
    }
}

//! Certificate-chain analysis: would a device that trusts each required
//! store accept the path the server sent, in order, for this name, with
//! strong keys and signatures?
//!
//! Pure functions over DER, in three steps so a daemon probing every 30 s
//! does not redo signature checks for an unchanged chain:
//! [`analyze_structure`] (facts, name, keys, duplicates: cached by
//! [`chain_fingerprint`]), [`validate_paths`] (the verdict per store from
//! the RFC 5280 validator of [`crate::analyze::pkix`], with its
//! explanation, order, extras: cached until a validity boundary of a sent
//! certificate or anchor is crossed) and
//! [`judge`] (the findings at this instant: expiry windows, order rule of
//! the negotiated version).

mod facts;
pub(crate) mod nist_profile;
mod path;
mod policy;
mod validate;

pub use crate::analyze::pkix::QualifiedPolicy;
pub use crate::analyze::pkix::{Culprit, Violation};
pub use crate::analyze::x509::{is_weak_signature, render_name, signature_name};
pub use facts::{CertFacts, is_self_signed, ocsp_uris};
pub use path::{MAX_CANDIDATES, MAX_DEPTH, MAX_EXPANSIONS, MAX_LINKED};
pub use policy::{ChainPolicy, Notice, Pattern, Purpose, RequiredCert};

use crate::analyze::trust::TrustStore;
use crate::outcome::{Action, Finding, Level, Reason, Subject};
use crate::text::{rfc3339, unix_secs};
use path::{PathOutcome, SentGraph};
use rustls::pki_types::{CertificateDer, ServerName};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use validate::{Explanation, Valid};

/// The verdict for one store at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnchorResult {
    pub store: String,
    /// The validator accepted a path from the leaf to one of the store's
    /// anchors using only the sent certificates.
    pub verified: bool,
    /// `ok` when verified; otherwise what is wrong with the candidate path:
    /// `chain_incomplete` (an issuer was not sent), `chain_untrusted` (it
    /// ends at a certificate the store does not trust) or the reason of
    /// `violation` (a linked path that breaks a rule).
    pub reason: Reason,
    /// Sent positions from the leaf: the verified path, or on failure the
    /// candidate the explanation is about.
    pub path: Vec<usize>,
    pub anchor_subject: Option<String>,
    /// Earliest notAfter and latest notBefore of the sent certificates on
    /// the verified path: when the path stops validating.
    pub not_after: Option<i64>,
    pub not_before: Option<i64>,
    /// Why the store is not verified, as facts.
    pub violation: Option<Violation>,
    pub detail: String,
    /// The user-constrained policy set of the verified path (RFC 5280
    /// 6.1.5 (g)): each policy as the anchor's domain names it (what the
    /// store's `initial_policies` are written in) and as the leaf asserts
    /// it through the path's mappings. Empty when not verified, or when
    /// the path is valid only because no policy was required.
    pub policies: Vec<QualifiedPolicy>,
    /// Whether a policy was required on the verified path (the store's
    /// `require_explicit_policy` or a certificate's requireExplicitPolicy).
    pub policy_required: bool,
}

impl AnchorResult {
    /// The verdict of a store with no valid path: why (`reason`, and the
    /// rule as facts when a linked path breaks one), along which candidate.
    pub(crate) fn refused(
        store: String,
        reason: Reason,
        path: Vec<usize>,
        violation: Option<Violation>,
        detail: String,
    ) -> Self {
        AnchorResult {
            store,
            verified: false,
            reason,
            path,
            anchor_subject: None,
            not_after: None,
            not_before: None,
            violation,
            detail,
            policies: Vec::new(),
            policy_required: false,
        }
    }
}

/// Everything about a chain that does not depend on the clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StructuralReport {
    pub fingerprint: String,
    pub certificates: Vec<CertFacts>,
    /// Positions of sent certificates that are self-signed or a copy of an
    /// anchor of a judged store.
    pub anchor_sent: Vec<usize>,
    /// Positions of repeats of an earlier sent certificate.
    pub duplicates: Vec<usize>,
    /// Positions that certify nothing in the leaf's path.
    pub unrelated: Vec<usize>,
    pub findings: Vec<Finding>,
}

/// The verdict of every store at one instant, the order of the sent
/// paths and the certificates on none of them. Valid for every instant in
/// `[valid_from, valid_until)`: no sent certificate's or anchor's validity
/// begins or ends inside it, so the validator would answer the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathReport {
    pub anchors: Vec<AnchorResult>,
    /// The sent list, up to the last certificate any path uses and with
    /// exact repeats skipped, is a chain in which each certificate
    /// certifies the one before it (see [`validate_paths`] for the rule).
    pub order_ok: bool,
    /// Positions on no path of any store, anchors and duplicates aside
    /// from their own lists.
    pub extras: Vec<usize>,
    #[serde(skip)]
    order_detail: String,
    #[serde(skip)]
    findings: Vec<Finding>,
    #[serde(skip)]
    valid_from: i64,
    #[serde(skip)]
    valid_until: i64,
}

/// The full judgement of a chain at one instant: the (shared, cached)
/// structure and paths plus every finding. Structure fields are reached
/// through `Deref`; sharing keeps a TLS probe from deep-copying facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub structure: Arc<StructuralReport>,
    pub paths: Arc<PathReport>,
    /// Most important first; [`crate::outcome::verdict`] gives the reason.
    pub findings: Vec<Finding>,
    /// The instant (Unix seconds) the paths were judged at: the probe's
    /// time, or `pki check --at`.
    pub validated_at: i64,
}

impl std::ops::Deref for ChainReport {
    type Target = StructuralReport;
    fn deref(&self) -> &StructuralReport {
        &self.structure
    }
}

/// The same JSON as before the split, plus `extras`.
impl Serialize for ChainReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let st = &self.structure;
        let mut m = s.serialize_struct("ChainReport", 10)?;
        m.serialize_field("fingerprint", &st.fingerprint)?;
        m.serialize_field("certificates", &st.certificates)?;
        m.serialize_field("anchors", &self.paths.anchors)?;
        m.serialize_field("order_ok", &self.paths.order_ok)?;
        m.serialize_field("anchor_sent", &st.anchor_sent)?;
        m.serialize_field("duplicates", &st.duplicates)?;
        m.serialize_field("unrelated", &st.unrelated)?;
        m.serialize_field("extras", &self.paths.extras)?;
        m.serialize_field("findings", &self.findings)?;
        m.serialize_field("validated_at", &self.validated_at)?;
        m.end()
    }
}

impl ChainReport {
    pub fn reason(&self) -> Reason {
        crate::outcome::verdict(&self.findings)
    }

    pub fn anchors(&self) -> &[AnchorResult] {
        &self.paths.anchors
    }

    pub fn order_ok(&self) -> bool {
        self.paths.order_ok
    }

    pub fn extras(&self) -> &[usize] {
        &self.paths.extras
    }
}

/// Which order rule the negotiated version imposes on the sent list:
/// RFC 5246 7.4.2 (TLS 1.2) says each certificate MUST certify the one
/// before it; RFC 8446 4.4.2 (TLS 1.3) makes that a SHOULD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderRule {
    /// TLS 1.2, and any handshake whose version is unknown.
    Tls12,
    Tls13,
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

/// Judges a chain completely at `now`.
pub fn analyze(
    sent: &[CertificateDer<'_>],
    stores: &[&TrustStore],
    policy: &ChainPolicy,
    server_name: &ServerName<'_>,
    now: SystemTime,
    rule: OrderRule,
) -> ChainReport {
    ChainCache::new().analyze(sent, stores, policy, server_name, now, rule)
}

/// Order, duplicates, unrelated extras, required certificates, the host
/// name and key/signature strength: everything the clock cannot change.
pub(crate) fn analyze_structure(
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

    // A cross-certificate shares subject and key with an anchor but is a
    // needed intermediate; only the anchor's own bytes count as sent.
    let anchor_sent: Vec<usize> = (0..graph.len())
        .filter(|p| certificates[*p].self_signed || is_anchor_copy(&certificates[*p], stores))
        .collect();
    for p in &anchor_sent {
        notice(
            &mut findings,
            policy.anchor_sent,
            *p,
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
    let reachable = graph.reachable_from_leaf();
    let unrelated: Vec<usize> = (0..certificates.len())
        .filter(|p| !reachable[*p] && !duplicates.contains(p))
        .collect();

    judge_required(&certificates, policy, &mut findings);
    judge_issuer(&certificates, policy, &mut findings);
    judge_name(sent.first(), server_name, policy, &mut findings);
    judge_strength(&certificates, policy, &mut findings);

    StructuralReport {
        fingerprint: hex::encode(chain_fingerprint(sent)),
        certificates,
        anchor_sent,
        duplicates,
        unrelated,
        findings,
    }
}

/// Validates every store at `now` and explains each refusal; finds the
/// order of the sent list and the certificates on no path.
///
/// The order rule (`chain_order`): RFC 5246 7.4.2 wants each sent
/// certificate to certify the one before it. Read from the leaf up to the
/// last certificate any store's path uses, so certificates after a complete
/// path never break the order; within that stretch:
/// - an exact repeat of a certificate sent earlier (the leaf included) is
///   skipped, and the next certificate must certify the last one not
///   skipped. A client that reads the list in order skips what it has
///   already seen (GnuTLS records the certificates it has seen and skips
///   repeats: its commit 09b40be fixed a regression that had failed such
///   chains), and path builders (OpenSSL, webpki) ignore them. A literal
///   reading of RFC 5246 would object to a repeat; it is reported as
///   `chain_extra` instead (hygiene, not order);
/// - any other certificate, whether a superseded cross-certificate, an
///   unrelated one or a sent anchor, that does not certify the one before it
///   breaks the order: a client reading strictly finds the wrong issuer
///   there. A sent anchor needs no exception: at the end of its path it
///   certifies the certificate before it (a self-signed root's twin
///   cross-certificate shares its subject and key, so it certifies the
///   root too), and after the last path certificate it is not read.
pub(crate) fn validate_paths(
    sent: &[CertificateDer<'_>],
    structure: &StructuralReport,
    stores: &[&TrustStore],
    policy: &ChainPolicy,
    now: SystemTime,
) -> PathReport {
    let now = unix_secs(now);
    let certs = &structure.certificates;
    let parsed: Vec<_> = sent
        .iter()
        .enumerate()
        .map(|(position, der)| facts::extract(position, der.as_ref()).1)
        .collect();
    let graph = SentGraph::new(&parsed, certs.iter().map(|c| c.self_signed).collect());
    let mut findings = Vec::new();
    let anchors: Vec<AnchorResult> = stores
        .iter()
        .map(|store| judge_store(certs, &graph, store, policy, now, &mut findings))
        .collect();

    let reach = anchors
        .iter()
        .filter_map(|a| a.path.iter().max())
        .max()
        .map_or(1, |m| m + 1)
        .min(certs.len());
    let mut broken: Vec<String> = Vec::new();
    let mut before = 0;
    for i in (1..reach).filter(|i| !structure.duplicates.contains(i)) {
        if !graph.certifies(i, before) && broken.len() < 3 {
            broken.push(format!(
                "position {i} ({}) does not certify position {before} ({})",
                label(&certs[i]),
                label(&certs[before])
            ));
        }
        before = i;
    }

    let on_path: Vec<bool> = (0..certs.len())
        .map(|p| anchors.iter().any(|a| a.path.contains(&p)))
        .collect();
    let extras: Vec<usize> = (0..certs.len())
        .filter(|p| !on_path[*p] && !structure.anchor_sent.contains(p))
        .collect();
    for p in &extras {
        notice(
            &mut findings,
            policy.chain_extra,
            *p,
            extra_detail(*p, structure),
        );
    }

    let (valid_from, valid_until) = stable_interval(certs, stores, now);
    PathReport {
        anchors,
        order_ok: broken.is_empty(),
        extras,
        order_detail: broken.join("; "),
        findings,
        valid_from,
        valid_until,
    }
}

/// Every finding at `now`: structure, paths, order under `rule`, and the
/// expiry of the verified paths (recomputed every probe: days left change).
pub fn judge(
    structure: Arc<StructuralReport>,
    paths: Arc<PathReport>,
    policy: &ChainPolicy,
    now: SystemTime,
    rule: OrderRule,
) -> ChainReport {
    let now = unix_secs(now);
    let mut findings = structure.findings.clone();
    findings.extend(paths.findings.iter().cloned());
    if !paths.order_ok {
        let action = match rule {
            OrderRule::Tls12 => policy.chain_order,
            OrderRule::Tls13 => policy.chain_order_tls13,
        };
        findings.extend(Finding::for_action(
            action,
            Reason::ChainOrder,
            paths.order_detail.clone(),
        ));
    }
    judge_expiring(
        &structure.certificates,
        &paths.anchors,
        policy,
        now,
        &mut findings,
    );
    findings.sort_by_key(|f| (level_rank(f.level), reason_rank(f.reason)));
    ChainReport {
        structure,
        paths,
        findings,
        validated_at: now,
    }
}

/// A verified path that stops validating within the warning window: per
/// certificate on any verified path, the leaf against `expiry_warning`,
/// CA certificates against `ca_expiry_warning` when set.
fn judge_expiring(
    certs: &[CertFacts],
    anchors: &[AnchorResult],
    policy: &ChainPolicy,
    now: i64,
    findings: &mut Vec<Finding>,
) {
    let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    for cert in certs {
        let stores: Vec<&str> = anchors
            .iter()
            .filter(|a| a.verified && a.path.contains(&cert.position))
            .map(|a| a.store.as_str())
            .collect();
        let Some(not_after) = cert.not_after.filter(|_| !stores.is_empty()) else {
            continue;
        };
        let window = match (cert.position, policy.ca_expiry_warning) {
            (0, _) | (_, None) => secs(policy.expiry_warning),
            (_, Some(ca)) => secs(ca),
        };
        if not_after.saturating_sub(now) < window {
            let days = (not_after - now) / 86_400;
            findings.extend(
                Finding::for_action(
                    policy.cert_expiring,
                    Reason::CertExpiring,
                    format!(
                        "position {} ({}) expires at {} (in {days} days), on the verified path to {}",
                        cert.position,
                        label(cert),
                        rfc3339(not_after),
                        stores.join(", ")
                    ),
                )
                .map(|f| f.about(at(cert))),
            );
        }
    }
}

/// The instants around `now` at which some sent certificate or anchor
/// becomes valid or stops being valid; between them the validator's
/// answer cannot change.
fn stable_interval(certs: &[CertFacts], stores: &[&TrustStore], now: i64) -> (i64, i64) {
    let sent = certs
        .iter()
        .flat_map(|c| [c.not_before, c.not_after.map(|t| t.saturating_add(1))])
        .flatten();
    let anchors = stores
        .iter()
        .flat_map(|s| s.anchors())
        .flat_map(|a| [a.not_before, a.not_after.saturating_add(1)]);
    let (mut from, mut until) = (i64::MIN, i64::MAX);
    for t in sent.chain(anchors) {
        if t <= now {
            from = from.max(t);
        } else {
            until = until.min(t);
        }
    }
    (from, until)
}

/// Remembers the last chain a flow saw: its structure, and its paths for
/// as long as no validity boundary is crossed. One cache per flow (stores,
/// policy and server name are the flow's, fixed until a reload, which
/// builds a new cache).
#[derive(Debug, Default)]
pub struct ChainCache {
    last: Option<([u8; 32], Arc<StructuralReport>, Arc<PathReport>)>,
}

impl ChainCache {
    pub fn new() -> Self {
        ChainCache::default()
    }

    /// Like [`analyze`], reusing what the chain and the clock allow.
    pub fn analyze(
        &mut self,
        sent: &[CertificateDer<'_>],
        stores: &[&TrustStore],
        policy: &ChainPolicy,
        server_name: &ServerName<'_>,
        now: SystemTime,
        rule: OrderRule,
    ) -> ChainReport {
        let fingerprint = chain_fingerprint(sent);
        let secs = unix_secs(now);
        let (structure, paths) = match &self.last {
            Some((known, structure, paths))
                if *known == fingerprint
                    && (paths.valid_from..paths.valid_until).contains(&secs) =>
            {
                (Arc::clone(structure), Arc::clone(paths))
            }
            Some((known, structure, _)) if *known == fingerprint => {
                let structure = Arc::clone(structure);
                let paths = Arc::new(validate_paths(sent, &structure, stores, policy, now));
                (structure, paths)
            }
            _ => {
                let structure = Arc::new(analyze_structure(sent, stores, policy, server_name));
                let paths = Arc::new(validate_paths(sent, &structure, stores, policy, now));
                (structure, paths)
            }
        };
        self.last = Some((fingerprint, Arc::clone(&structure), Arc::clone(&paths)));
        judge(structure, paths, policy, now, rule)
    }
}

fn judge_store(
    certs: &[CertFacts],
    graph: &SentGraph<'_>,
    store: &TrustStore,
    policy: &ChainPolicy,
    now: i64,
    findings: &mut Vec<Finding>,
) -> AnchorResult {
    let name = store.name().to_owned();
    let explanation = match validate::validate(graph, store, now, policy.purpose) {
        Ok(valid) => return verified(name, certs, store, valid),
        Err(explanation) => explanation,
    };
    let (path, violation, reason, detail) = match explanation {
        Explanation::Unlinked(PathOutcome::Incomplete { path, detail }) => {
            (path, None, Reason::ChainIncomplete, detail)
        }
        Explanation::Unlinked(PathOutcome::Untrusted { path, detail }) => {
            (path, None, Reason::ChainUntrusted, detail)
        }
        Explanation::Broken { path, violation } => {
            let detail = violation.render(certs, store.name());
            (path, Some(violation.clone()), violation.reason(), detail)
        }
    };
    let action = match reason {
        Reason::ChainIncomplete => policy.chain_incomplete,
        Reason::ChainUntrusted => policy.chain_untrusted,
        Reason::CertExpired => policy.cert_expired,
        Reason::CertNotYetValid => policy.cert_not_yet_valid,
        Reason::WeakSignature => policy.weak_signature,
        _ => policy.chain_invalid,
    };
    findings.extend(
        Finding::for_action(action, reason, format!("store {name}: {detail}")).map(|f| {
            f.about(Subject::Store {
                store: name.clone(),
            })
        }),
    );
    AnchorResult::refused(name, reason, path, violation, detail)
}

/// The verdict of a store with a valid path, and what it proves.
fn verified(name: String, certs: &[CertFacts], store: &TrustStore, valid: Valid) -> AnchorResult {
    let on_path = || valid.path.iter().filter_map(|p| certs.get(*p));
    let anchor_subject = store
        .anchors()
        .get(valid.anchor)
        .map(|a| a.subject.clone())
        .unwrap_or_default();
    let policies = &valid.policies;
    let detail = if policies.policies.is_empty() {
        format!("sent path validates to {anchor_subject} (no certificate policy was required)")
    } else {
        format!(
            "sent path validates to {anchor_subject} with policies {}",
            render_policies(&policies.policies)
        )
    };
    AnchorResult {
        store: name,
        verified: true,
        reason: Reason::Ok,
        not_after: on_path().filter_map(|c| c.not_after).min(),
        not_before: on_path().filter_map(|c| c.not_before).max(),
        detail,
        path: valid.path,
        anchor_subject: Some(anchor_subject),
        violation: None,
        policies: valid.policies.policies,
        policy_required: valid.policies.policy_required,
    }
}

/// `authority -> leaf` per policy, by name where one is known; one name
/// when the mapping leaves it unchanged.
pub(crate) fn render_policies(policies: &[QualifiedPolicy]) -> String {
    use crate::analyze::pkix::oids::describe;
    policies
        .iter()
        .map(|q| {
            if q.authority == q.leaf {
                describe(&q.authority)
            } else {
                format!("{} -> {}", describe(&q.authority), describe(&q.leaf))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A certificate on no path, with the facts that tell a superseded
/// cross-certificate from a stray one.
fn extra_detail(position: usize, structure: &StructuralReport) -> String {
    let certs = &structure.certificates;
    let cert = &certs[position];
    if let Some(first) = certs[..position].iter().find(|c| c.sha256 == cert.sha256) {
        return format!(
            "position {position} ({}) repeats position {}",
            label(cert),
            first.position
        );
    }
    if cert.error.is_some() {
        return format!("position {position} ({}) is on no path", label(cert));
    }
    let facts = format!(
        "{}, issuer {}, serial {}, notAfter {}",
        label(cert),
        cert.issuer_cn,
        cert.serial,
        cert.not_after.map_or_else(String::new, rfc3339)
    );
    if structure.unrelated.contains(&position) {
        format!("position {position} ({facts}) certifies nothing in the leaf's path")
    } else {
        format!("position {position} ({facts}) is on no valid path")
    }
}

fn is_anchor_copy(cert: &CertFacts, stores: &[&TrustStore]) -> bool {
    stores
        .iter()
        .flat_map(|s| s.anchors())
        .any(|a| hex::encode(a.sha256) == cert.sha256)
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

/// TLS interception: a sent certificate whose issuer is not the one the
/// service's own PKI uses. The first such certificate is named.
fn judge_issuer(certificates: &[CertFacts], policy: &ChainPolicy, findings: &mut Vec<Finding>) {
    let Some(pattern) = &policy.issuer else {
        return;
    };
    let stranger = certificates
        .iter()
        .find(|c| c.error.is_some() || !pattern.0.is_match(&c.issuer));
    if let Some(c) = stranger {
        let issuer = if c.error.is_some() {
            "an unparsable certificate".to_owned()
        } else {
            c.issuer.clone()
        };
        findings.extend(
            Finding::for_action(
                policy.tls_intercepted,
                Reason::TlsIntercepted,
                format!(
                    "position {} ({}) is issued by {issuer}, not by /{}/: the connection is \
                     re-signed by someone else (TLS interception)",
                    c.position,
                    label(c),
                    pattern.0.as_str()
                ),
            )
            .map(|f| f.about(at(c))),
        );
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
            findings.extend(
                Finding::for_action(
                    policy.weak_key,
                    Reason::WeakKey,
                    format!(
                        "position {} ({}) has a {}-bit {} key, below {minimum}",
                        cert.position,
                        label(cert),
                        cert.key_bits,
                        cert.key_type
                    ),
                )
                .map(|f| f.about(at(cert))),
            );
        }
        if !cert.self_signed && is_weak_signature(&cert.signature_algorithm) {
            findings.extend(
                Finding::for_action(
                    policy.weak_signature,
                    Reason::WeakSignature,
                    format!(
                        "position {} ({}) is signed with {}",
                        cert.position,
                        label(cert),
                        cert.signature_algorithm
                    ),
                )
                .map(|f| f.about(at(cert))),
            );
        }
    }
}

/// A hygiene finding (`chain_extra`) about the sent certificate at
/// `position`: an anchor the server sends itself, a repeat, a certificate
/// on no valid path.
fn notice(findings: &mut Vec<Finding>, notice: Notice, position: usize, detail: String) {
    let subject = Subject::Certificate { position };
    let action = match notice {
        Notice::Fail => Action::Fail,
        Notice::Warn => Action::Warn,
        Notice::Off => Action::Off,
        Notice::Info => {
            findings.push(Finding::new(Reason::ChainExtra, Level::Info, detail).about(subject));
            return;
        }
    };
    findings
        .extend(Finding::for_action(action, Reason::ChainExtra, detail).map(|f| f.about(subject)));
}

fn at(cert: &CertFacts) -> Subject {
    Subject::Certificate {
        position: cert.position,
    }
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
        // Interception explains every other failure of the chain.
        Reason::TlsIntercepted => 0,
        Reason::CertExpired => 0,
        Reason::CertNotYetValid => 1,
        Reason::ChainIncomplete => 2,
        Reason::ChainUntrusted => 3,
        Reason::ChainInvalid => 4,
        Reason::NameMismatch => 5,
        Reason::WeakKey => 6,
        Reason::WeakSignature => 7,
        Reason::ChainOrder => 8,
        Reason::CertRequired => 9,
        Reason::ChainExtra => 10,
        Reason::CertExpiring => 11,
        _ => 12,
    }
}

//! The enumeration's questions and answers, and what to ask next.
//!
//! One run asks every question of the plan once, in order, then asks the
//! ones that got no answer once more: an unanswered question never blocks
//! the ones after it, and a server that silently drops some hellos costs at
//! most [`MAX_ATTEMPTS`] waits per dropped hello. A run is *finished* when
//! every question is answered or was tried that often; it is *complete*
//! when every question got an answer in it.

use serde::Serialize;

use super::why::{Alert, Invalidity, Refusal, Silence};
use super::{Family, SuiteSet, TlsPolicy, is_ats, is_ecdhe_aead};
use crate::wire::tls::suites::{self, LEGACY, MAX_OFFER, RARE, Suite, TLS13};
use crate::wire::tls::{Answer, TlsWireError, Version};

/// Hellos one question gets within a run before it counts as unanswered:
/// once in the pass over the plan, once more after it.
pub const MAX_ATTEMPTS: usize = 2;

/// One ClientHello's question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "asks", rename_all = "snake_case")]
pub enum Question {
    /// Is this version accepted? Offers every suite we know that the
    /// version can negotiate, or for TLS 1.2, whose 225 do not fit in one
    /// hello, the first-hello suites ([`suites::LEGACY`]).
    Version { version: Version },
    /// Is TLS 1.2 accepted with one of the rarer suites
    /// ([`suites::RARE`])? Asked only when its own hello was refused in a
    /// way a suite could cause (not a `protocol_version` alert): no hello
    /// offers more than 127 suites, as some servers refuse longer lists.
    /// For the other versions its offer is empty and it is never asked.
    RareSuites { version: Version },
    /// Is a suite of this family accepted at `version`? Asked at the
    /// highest legacy version the server accepts for every family the
    /// policy names, and at its other accepted legacy versions for the
    /// forbidden families no answer showed yet (export suites, for one,
    /// exist only up to TLS 1.0).
    Family { family: Family, version: Version },
    /// Does TLS 1.2 offer ECDHE with AES-GCM/CCM?
    EcdheAead,
    /// Is a suite outside the document's lists ([`SuiteSet`]) accepted at
    /// `version`? Every such suite we know, split into hellos of at most
    /// [`MAX_OFFER`] (`part` 0, 1, ...).
    Outside {
        set: SuiteSet,
        version: Version,
        part: u8,
    },
    /// Is a transitional suite of the set (SP 800-52r2 Appendix D: RSA key
    /// transport) accepted at `version`?
    Transitional { set: SuiteSet, version: Version },
    /// With a CBC suite of the lists at `version`, does the server agree
    /// to Encrypt-then-MAC (RFC 7366)? The hello offers the extension.
    Cbc { version: Version },
    /// Does the server accept `version` with what an iPhone offers (Apple
    /// ATS suites only)?
    Ats { version: Version },
}

impl Question {
    /// The version the hello offers and its suites, in preference order.
    pub(crate) fn offer(&self) -> (Version, Vec<u16>) {
        fn pick<'a>(
            list: impl Iterator<Item = &'a Suite>,
            version: Version,
            keep: impl Fn(&Suite) -> bool,
        ) -> Vec<u16> {
            list.filter(|s| s.usable_in(version) && keep(s))
                .map(|s| s.code)
                .take(MAX_OFFER)
                .collect()
        }
        // Up to TLS 1.1 every suite the version can use fits in one hello;
        // only TLS 1.2's are split.
        let fits = |version: Version| {
            suites::all_legacy()
                .filter(|s| s.usable_in(version))
                .count()
                <= MAX_OFFER
        };
        match *self {
            Question::Version {
                version: Version::Tls13,
            } => (Version::Tls13, TLS13.iter().map(|s| s.code).collect()),
            Question::Version { version } if fits(version) => {
                (version, pick(suites::all_legacy(), version, |_| true))
            }
            Question::Version { version } => (version, pick(LEGACY.iter(), version, |_| true)),
            Question::RareSuites { version } if fits(version) => (version, Vec::new()),
            Question::RareSuites { version } => (version, pick(RARE.iter(), version, |_| true)),
            Question::Family { family, version } => (
                version,
                pick(suites::all_legacy(), version, |s| family.contains(s)),
            ),
            Question::EcdheAead => (
                Version::Tls12,
                pick(suites::all_legacy(), Version::Tls12, is_ecdhe_aead),
            ),
            Question::Outside { set, version, part } => {
                let all: Vec<u16> = known(version)
                    .filter(|s| !set.covers(s))
                    .map(|s| s.code)
                    .collect();
                let chunk = all
                    .chunks(MAX_OFFER)
                    .nth(usize::from(part))
                    .map(<[u16]>::to_vec)
                    .unwrap_or_default();
                (version, chunk)
            }
            Question::Transitional { set, version } => (
                version,
                known(version)
                    .filter(|s| set.is_transitional(s))
                    .map(|s| s.code)
                    .take(MAX_OFFER)
                    .collect(),
            ),
            Question::Cbc { version } => (
                version,
                known(version)
                    .filter(|s| s.cipher.is_cbc() && SuiteSet::Nist.covers(s))
                    .map(|s| s.code)
                    .take(MAX_OFFER)
                    .collect(),
            ),
            Question::Ats { version } => (
                version,
                known(version)
                    .filter(|s| is_ats(s))
                    .map(|s| s.code)
                    .take(MAX_OFFER)
                    .collect(),
            ),
        }
    }

    /// Hellos of this question offer Encrypt-then-MAC.
    pub(crate) fn offers_etm(&self) -> bool {
        matches!(self, Question::Cbc { .. })
    }

    /// The version the question is about.
    fn offer_version(&self) -> Version {
        match *self {
            Question::Version { version }
            | Question::RareSuites { version }
            | Question::Family { version, .. }
            | Question::Outside { version, .. }
            | Question::Transitional { version, .. }
            | Question::Cbc { version }
            | Question::Ats { version } => version,
            Question::EcdheAead => Version::Tls12,
        }
    }

    /// For people, in findings: `TLS 1.0`, `DES/3DES suites at TLS 1.1`.
    pub(crate) fn human(&self) -> String {
        match self {
            Question::Version { version } => version.human().to_owned(),
            Question::RareSuites { version } => {
                format!("{} with the rarer suites", version.human())
            }
            Question::Family { family, version } => {
                format!("{} at {}", family.human(), version.human())
            }
            Question::EcdheAead => "ECDHE with AES-GCM/CCM at TLS 1.2".to_owned(),
            Question::Outside { set, version, part } => format!(
                "suites outside {} at {} (part {})",
                set.as_str(),
                version.human(),
                part + 1
            ),
            Question::Transitional { set, version } => {
                format!(
                    "transitional suites of {} at {}",
                    set.as_str(),
                    version.human()
                )
            }
            Question::Cbc { version } => {
                format!("CBC with Encrypt-then-MAC at {}", version.human())
            }
            Question::Ats { version } => format!("Apple ATS suites at {}", version.human()),
        }
    }
}

/// Every suite we know that a hello of `version` can offer.
fn known(version: Version) -> impl Iterator<Item = &'static Suite> {
    TLS13
        .iter()
        .chain(suites::all_legacy())
        .filter(move |s| s.usable_in(version))
}

/// The parts an [`Question::Outside`] question of `set` at `version` has
/// (0 when every suite we know is in the set).
pub(crate) fn outside_parts(set: SuiteSet, version: Version) -> u8 {
    let n = known(version).filter(|s| !set.covers(s)).count();
    u8::try_from(n.div_ceil(MAX_OFFER)).unwrap_or(u8::MAX)
}

/// What the server said to one question. Serialized by hand (below):
/// besides its typed `why`, a reply that is not accepted keeps the
/// `detail` sentence it had before `why` existed, rendered from `why`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A ServerHello (or a TLS 1.3 HelloRetryRequest, which also selects
    /// version and suite) within the offer.
    Accepted {
        /// `negotiated` in JSON: beside the question's own `version`.
        version: Version,
        suite: String,
        /// Whether the server agreed to Encrypt-then-MAC, for a hello that
        /// offered it ([`Question::Cbc`]); absent from JSON when `None`.
        etm: Option<bool>,
    },
    /// An alert, a close or a reset: a client could not go on. JSON has
    /// `by_version` beside `why` ([`Refusal::by_version`]).
    Refused { why: Refusal },
    /// An answer that is not TLS or breaks the protocol: a client could
    /// not go on either.
    Invalid { why: Invalidity },
    /// No answer before the wait ended, or no connection: unknown.
    NoAnswer { why: Silence },
}

/// `{"answer": "refused", "detail": "alert protocol_version (level 2)",
/// "why": {"kind": "alert", ...}, "by_version": true}`: the fields the
/// derived form had, in its order, with `why` added.
impl Serialize for Reply {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        match self {
            Reply::Accepted {
                version,
                suite,
                etm,
            } => {
                m.serialize_entry("answer", "accepted")?;
                m.serialize_entry("negotiated", version)?;
                m.serialize_entry("suite", suite)?;
                if let Some(etm) = etm {
                    m.serialize_entry("etm", etm)?;
                }
            }
            Reply::Refused { why } => {
                m.serialize_entry("answer", "refused")?;
                m.serialize_entry("detail", &why.to_string())?;
                m.serialize_entry("why", why)?;
                m.serialize_entry("by_version", &why.by_version())?;
            }
            Reply::Invalid { why } => {
                m.serialize_entry("answer", "invalid")?;
                m.serialize_entry("detail", &why.to_string())?;
                m.serialize_entry("why", why)?;
            }
            Reply::NoAnswer { why } => {
                m.serialize_entry("answer", "no_answer")?;
                m.serialize_entry("detail", &why.to_string())?;
                m.serialize_entry("why", why)?;
            }
        }
        m.end()
    }
}

/// A question and its reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exchange {
    #[serde(flatten)]
    pub question: Question,
    #[serde(flatten)]
    pub reply: Reply,
    /// Taken from an earlier run because this run got no answer to the
    /// question: the last known answer stands until a run answers again.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub carried: bool,
}

impl Exchange {
    /// An exchange of this run.
    pub fn new(question: Question, reply: Reply) -> Self {
        Exchange {
            question,
            reply,
            carried: false,
        }
    }
}

/// The answer of a server to `question`, checked against what it offered.
pub fn reply_to(question: &Question, answer: &Answer) -> Reply {
    let hello = match answer {
        Answer::Alert { level, description } => {
            return Reply::Refused {
                why: Refusal::Alert(Alert {
                    level: *level,
                    description: *description,
                }),
            };
        }
        Answer::Hello(h) => h,
    };
    let (offered, suites) = question.offer();
    let invalid = |why: Invalidity| Reply::Invalid { why };
    let Some(version) = Version::from_wire(hello.version()) else {
        return invalid(Invalidity::UnknownVersion {
            version: hello.version(),
        });
    };
    if hello.is_retry() && (offered != Version::Tls13 || version != Version::Tls13) {
        return invalid(Invalidity::RetryWithoutTls13);
    }
    if version > offered {
        // The server answered with its own version instead of an alert:
        // it does not accept the one asked about.
        return Reply::Refused {
            why: Refusal::AnsweredWith { version },
        };
    }
    if (version == Version::Tls13) != (offered == Version::Tls13) {
        return invalid(Invalidity::VersionMismatch {
            chose: version,
            offered,
        });
    }
    if !suites.contains(&hello.cipher_suite) {
        return invalid(Invalidity::SuiteNotOffered {
            suite: hello.cipher_suite,
        });
    }
    if hello.compression != 0 {
        return invalid(Invalidity::CompressionNotOffered {
            method: hello.compression,
        });
    }
    let etm = (question.offers_etm() && version != Version::Tls13).then(|| {
        hello
            .extensions
            .iter()
            .flatten()
            .any(|(kind, _)| *kind == EXT_ENCRYPT_THEN_MAC)
    });
    Reply::Accepted {
        version,
        suite: suites::name(hello.cipher_suite),
        etm,
    }
}

/// RFC 7366.
const EXT_ENCRYPT_THEN_MAC: u16 = 0x0016;

/// The reply when reading the answer failed.
pub fn reply_to_error(error: &TlsWireError) -> Reply {
    if error.is_refusal() {
        Reply::Refused {
            why: Refusal::Wire(error.clone()),
        }
    } else {
        Reply::Invalid {
            why: Invalidity::Wire(error.clone()),
        }
    }
}

/// Every question asked and its reply, in order; then the answers carried
/// from an earlier run, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProtocolScan {
    pub exchanges: Vec<Exchange>,
}

impl ProtocolScan {
    /// The accepted (version, suite) pairs, from every exchange.
    pub(crate) fn accepted(&self) -> impl Iterator<Item = (Version, &'static Suite)> + '_ {
        self.exchanges.iter().filter_map(|e| match &e.reply {
            Reply::Accepted { version, suite, .. } => suites::by_name(suite).map(|s| (*version, s)),
            _ => None,
        })
    }

    /// Distinct accepted suites, in order of discovery.
    pub(crate) fn accepted_suites(&self) -> impl Iterator<Item = &'static Suite> + '_ {
        let mut seen: Vec<u16> = Vec::new();
        self.accepted().map(|(_, s)| s).filter(move |s| {
            let new = !seen.contains(&s.code);
            seen.push(s.code);
            new
        })
    }

    /// The definite reply to `question` (not [`Reply::NoAnswer`]), this
    /// run's before a carried one.
    pub(crate) fn reply(&self, question: &Question) -> Option<&Reply> {
        self.exchanges
            .iter()
            .find(|e| e.question == *question && !matches!(e.reply, Reply::NoAnswer { .. }))
            .map(|e| &e.reply)
    }

    /// Whether `question` has a definite reply, carried or not.
    pub(crate) fn answered(&self, question: &Question) -> bool {
        self.reply(question).is_some()
    }

    /// Whether this run got a definite reply to `question`.
    fn answered_now(&self, question: &Question) -> bool {
        self.exchanges.iter().any(|e| {
            e.question == *question && !e.carried && !matches!(e.reply, Reply::NoAnswer { .. })
        })
    }

    /// Hellos this run sent for `question`.
    pub(crate) fn attempts(&self, question: &Question) -> usize {
        self.exchanges
            .iter()
            .filter(|e| e.question == *question && !e.carried)
            .count()
    }

    /// `Some(true)` when some answer negotiated `v`; `Some(false)` when
    /// its hello was refused for the version, or refused and the rarer
    /// suites' hello refused as well; `None` otherwise (unknown).
    pub(crate) fn version_accepted(&self, v: Version) -> Option<bool> {
        if self.accepted().any(|(x, _)| x == v) {
            return Some(true);
        }
        self.reply(&Question::Version { version: v })?;
        if self.needs_rare(v) {
            self.answered(&Question::RareSuites { version: v })
                .then_some(false)
        } else {
            Some(false)
        }
    }

    /// The version's hello was refused in a way a suite could cause.
    fn needs_rare(&self, v: Version) -> bool {
        v != Version::Tls13
            && !Question::RareSuites { version: v }.offer().1.is_empty()
            && matches!(
                self.reply(&Question::Version { version: v }),
                Some(Reply::Refused { why }) if !why.by_version()
            )
    }

    /// The suite the server chose with `v`, preferring its own question's.
    pub(crate) fn suite_for(&self, v: Version) -> Option<&'static Suite> {
        let own = self
            .exchanges
            .iter()
            .find_map(|e| match (&e.question, &e.reply) {
                (
                    Question::Version { version } | Question::RareSuites { version },
                    Reply::Accepted {
                        version: got,
                        suite,
                        ..
                    },
                ) if *version == v && *got == v => suites::by_name(suite),
                _ => None,
            });
        own.or_else(|| self.accepted().find(|(x, _)| *x == v).map(|(_, s)| s))
    }

    /// Accepted versions below TLS 1.3, highest first.
    fn legacy_accepted(&self) -> Vec<Version> {
        Version::ALL
            .into_iter()
            .rev()
            .filter(|v| *v < Version::Tls13 && self.version_accepted(*v) == Some(true))
            .collect()
    }

    /// The highest accepted version below TLS 1.3.
    pub(crate) fn legacy_max(&self) -> Option<Version> {
        self.legacy_accepted().first().copied()
    }

    /// Whether an answer showed a suite of `f`.
    fn family_seen(&self, f: Family) -> bool {
        self.accepted_suites().any(|s| f.contains(s))
    }

    /// The family questions for what is known accepted: every family of
    /// the policy at the highest legacy version, the forbidden ones at the
    /// others; none whose offer would be empty.
    fn family_questions(&self, policy: &TlsPolicy) -> Vec<Question> {
        let mut out = Vec::new();
        for (i, version) in self.legacy_accepted().into_iter().enumerate() {
            for family in policy.families() {
                let q = Question::Family { family, version };
                if (i == 0 || policy.forbidden.contains(&family)) && !q.offer().1.is_empty() {
                    out.push(q);
                }
            }
        }
        out
    }

    /// Definitely no suite of `f`: the server accepts no version below TLS
    /// 1.3 at all (TLS 1.3 suites are in no family), or every family
    /// question for `f` at the versions it accepts got a refusal.
    pub(crate) fn family_refused(&self, f: Family, policy: &TlsPolicy) -> bool {
        let legacy_all_refused = Version::ALL
            .into_iter()
            .filter(|v| *v < Version::Tls13)
            .all(|v| self.version_accepted(v) == Some(false));
        legacy_all_refused
            || (self.legacy_max().is_some()
                && self
                    .family_questions(policy)
                    .iter()
                    .filter_map(|q| match q {
                        Question::Family { family, version } if *family == f => Some((q, *version)),
                        _ => None,
                    })
                    .all(|(q, v)| self.answered(q) || self.refused_all(v, |s| f.contains(s))))
    }

    /// Every suite we know at `v` that `pick` selects was in the offer of
    /// a hello at `v` the server refused: none of them is accepted there.
    /// An `Outside` question's refusal settles every family outside the
    /// lists without a hello of its own.
    pub(crate) fn refused_all(&self, v: Version, pick: impl Fn(&Suite) -> bool) -> bool {
        let refused: Vec<u16> = self
            .exchanges
            .iter()
            .filter(|e| matches!(e.reply, Reply::Refused { .. }) && e.question.offer_version() == v)
            .flat_map(|e| e.question.offer().1)
            .collect();
        known(v)
            .filter(|s| pick(s))
            .all(|s| refused.contains(&s.code))
    }

    /// Whether an answer showed a suite `pick` selects at `v`.
    fn seen_at(&self, v: Version, pick: impl Fn(&Suite) -> bool) -> bool {
        self.accepted().any(|(x, s)| x == v && pick(s))
    }

    /// Every question the answers so far call for, in the order asked;
    /// questions another reply already settled are left out (a TLS 1.0
    /// hello answered with a static-RSA suite settles `static_rsa`).
    pub fn plan(&self, policy: &TlsPolicy) -> Vec<Question> {
        let mut plan: Vec<Question> = Version::ALL
            .into_iter()
            .map(|version| Question::Version { version })
            .collect();
        plan.extend(
            Version::ALL
                .into_iter()
                .filter(|v| self.needs_rare(*v))
                .map(|version| Question::RareSuites { version }),
        );
        let accepted: Vec<Version> = Version::ALL
            .into_iter()
            .filter(|v| self.version_accepted(*v) == Some(true))
            .collect();
        for set in &policy.suites {
            for &version in &accepted {
                for part in 0..outside_parts(*set, version) {
                    plan.push(Question::Outside {
                        set: *set,
                        version,
                        part,
                    });
                }
            }
        }
        plan.extend(
            self.family_questions(policy)
                .into_iter()
                .filter(|q| match q {
                    Question::Family { family, version } => {
                        !self.family_seen(*family)
                            && !self.refused_all(*version, |s| family.contains(s))
                    }
                    _ => true,
                }),
        );
        let tls12_ecdhe_aead = self
            .accepted()
            .any(|(v, s)| v == Version::Tls12 && is_ecdhe_aead(s));
        if policy.require_ecdhe_aead
            && self.version_accepted(Version::Tls12) == Some(true)
            && !tls12_ecdhe_aead
        {
            plan.push(Question::EcdheAead);
        }
        let legacy: Vec<Version> = accepted
            .iter()
            .copied()
            .filter(|v| *v < Version::Tls13)
            .collect();
        for set in &policy.suites {
            for &version in &legacy {
                let q = Question::Transitional { set: *set, version };
                let transitional = |s: &Suite| set.is_transitional(s);
                if !q.offer().1.is_empty()
                    && !self.seen_at(version, transitional)
                    && !self.refused_all(version, transitional)
                {
                    plan.push(q);
                }
            }
        }
        if policy.require_etm {
            for &version in legacy.iter().filter(|v| **v >= Version::Tls10) {
                let q = Question::Cbc { version };
                if !q.offer().1.is_empty() {
                    plan.push(q);
                }
            }
        }
        if policy.ats && !self.accepted().any(|(_, s)| is_ats(s)) {
            for version in [Version::Tls13, Version::Tls12] {
                if accepted.contains(&version) {
                    plan.push(Question::Ats { version });
                }
            }
        }
        plan
    }

    /// The next question for `policy`: the first of the plan not asked
    /// yet, else the first unanswered one with tries left; `None` when the
    /// run is finished.
    pub(crate) fn next_question(&self, policy: &TlsPolicy) -> Option<Question> {
        let plan = self.plan(policy);
        let open = |q: &&Question| !self.answered(q);
        plan.iter()
            .filter(open)
            .find(|q| self.attempts(q) == 0)
            .or_else(|| {
                plan.iter()
                    .filter(open)
                    .find(|q| self.attempts(q) < MAX_ATTEMPTS)
            })
            .copied()
    }

    /// Every question answered or tried [`MAX_ATTEMPTS`] times.
    pub(crate) fn is_finished(&self, policy: &TlsPolicy) -> bool {
        self.next_question(policy).is_none()
    }

    /// The plan's questions this run got no answer to (not asked yet,
    /// silent, or answered only by a carried answer).
    pub(crate) fn unanswered(&self, policy: &TlsPolicy) -> Vec<Question> {
        self.plan(policy)
            .into_iter()
            .filter(|q| !self.answered_now(q))
            .collect()
    }

    /// Every question of the plan answered in this run.
    #[cfg(test)]
    pub(crate) fn is_complete(&self, policy: &TlsPolicy) -> bool {
        self.unanswered(policy).is_empty()
    }

    /// Adds `previous`'s answer, marked carried, for every question of the
    /// plan this run has no answer to: a hello that goes unanswered (an IPS
    /// started dropping it) keeps its last known answer instead of turning
    /// a violation into an unknown. A carried answer may call for more
    /// questions (a TLS 1.0 still taken as accepted brings its suite
    /// questions back); their last answers are carried too, until the plan
    /// holds still. An old answer to a question the new answers no longer
    /// call for (a version now refused) is not carried: it would bring
    /// back what it was about.
    pub(crate) fn carry_from(&mut self, previous: &ProtocolScan, policy: &TlsPolicy) {
        // Each round carries at least one more of `previous`'s answers, or
        // ends: at most that many rounds.
        for _ in 0..=previous.exchanges.len() {
            let plan = self.plan(policy);
            let mut carried: Vec<Exchange> = Vec::new();
            for e in &previous.exchanges {
                if !plan.contains(&e.question)
                    || matches!(e.reply, Reply::NoAnswer { .. })
                    || self.answered(&e.question)
                    || carried.iter().any(|c| c.question == e.question)
                {
                    continue;
                }
                carried.push(Exchange {
                    carried: true,
                    ..e.clone()
                });
            }
            if carried.is_empty() {
                return;
            }
            self.exchanges.extend(carried);
        }
    }
}

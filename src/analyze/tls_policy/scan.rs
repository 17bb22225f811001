//! The enumeration's questions and answers, and what to ask next.

use serde::Serialize;

use super::{Family, TlsPolicy, is_ecdhe_aead};
use crate::wire::tls::suites::{self, LEGACY, Suite, TLS13};
use crate::wire::tls::{Answer, TlsWireError, Version};

/// One ClientHello's question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "asks", rename_all = "snake_case")]
pub enum Question {
    /// Is this version accepted? Offers every suite we know for it.
    Version { version: Version },
    /// Is a suite of this family accepted (at `version`, the highest
    /// legacy version the server accepts)?
    Family { family: Family, version: Version },
    /// Does TLS 1.2 offer ECDHE with AES-GCM/CCM?
    EcdheAead,
}

impl Question {
    /// The version the hello offers and its suites, in preference order.
    pub fn offer(&self) -> (Version, Vec<u16>) {
        let codes = |f: &dyn Fn(&Suite) -> bool| -> Vec<u16> {
            LEGACY.iter().filter(|s| f(s)).map(|s| s.code).collect()
        };
        match *self {
            Question::Version {
                version: Version::Tls13,
            } => (Version::Tls13, TLS13.iter().map(|s| s.code).collect()),
            Question::Version { version } => (version, codes(&|_| true)),
            Question::Family { family, version } => (version, codes(&|s| family.contains(s))),
            Question::EcdheAead => (Version::Tls12, codes(&is_ecdhe_aead)),
        }
    }
}

/// What the server said to one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Reply {
    /// A ServerHello (or a TLS 1.3 HelloRetryRequest, which also selects
    /// version and suite) within the offer.
    Accepted {
        /// `negotiated` in JSON: beside the question's own `version`.
        #[serde(rename = "negotiated")]
        version: Version,
        suite: String,
    },
    /// An alert, a close or a reset: a client could not go on.
    Refused { detail: String },
    /// An answer that is not TLS or breaks the protocol: a client could
    /// not go on either.
    Invalid { detail: String },
    /// No answer before the wait ended, or no connection: unknown.
    NoAnswer { detail: String },
}

/// A question and its reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exchange {
    #[serde(flatten)]
    pub question: Question,
    #[serde(flatten)]
    pub reply: Reply,
}

/// The answer of a server to `question`, checked against what it offered.
pub fn reply_to(question: &Question, answer: &Answer) -> Reply {
    let hello = match answer {
        Answer::Alert { level, description } => {
            return Reply::Refused {
                detail: format!("alert {} (level {level})", alert_name(*description)),
            };
        }
        Answer::Hello(h) => h,
    };
    let (offered, suites) = question.offer();
    let invalid = |detail: String| Reply::Invalid { detail };
    let Some(version) = Version::from_wire(hello.version()) else {
        return invalid(format!("chose unknown version 0x{:04x}", hello.version()));
    };
    if hello.is_retry() && (offered != Version::Tls13 || version != Version::Tls13) {
        return invalid("HelloRetryRequest to a hello without TLS 1.3".to_owned());
    }
    if version > offered {
        // The server answered with its own version instead of an alert:
        // it does not accept the one asked about.
        return Reply::Refused {
            detail: format!("answered with {}", version.label()),
        };
    }
    if (version == Version::Tls13) != (offered == Version::Tls13) {
        return invalid(format!(
            "chose {} for a {} hello",
            version.label(),
            offered.label()
        ));
    }
    if !suites.contains(&hello.cipher_suite) {
        return invalid(format!(
            "chose suite {}, which was not offered",
            suites::name(hello.cipher_suite)
        ));
    }
    if hello.compression != 0 {
        return invalid(format!(
            "chose compression method {}, which was not offered",
            hello.compression
        ));
    }
    Reply::Accepted {
        version,
        suite: suites::name(hello.cipher_suite),
    }
}

/// The reply when reading the answer failed.
pub fn reply_to_error(error: &TlsWireError) -> Reply {
    if error.is_refusal() {
        Reply::Refused {
            detail: error.to_string(),
        }
    } else {
        Reply::Invalid {
            detail: error.to_string(),
        }
    }
}

fn alert_name(d: u8) -> String {
    match d {
        0 => "close_notify".into(),
        10 => "unexpected_message".into(),
        40 => "handshake_failure".into(),
        47 => "illegal_parameter".into(),
        50 => "decode_error".into(),
        70 => "protocol_version".into(),
        71 => "insufficient_security".into(),
        80 => "internal_error".into(),
        86 => "inappropriate_fallback".into(),
        112 => "unrecognized_name".into(),
        other => other.to_string(),
    }
}

/// Every question asked and its reply, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProtocolScan {
    pub exchanges: Vec<Exchange>,
}

impl ProtocolScan {
    /// The accepted (version, suite) pairs, from every exchange.
    pub fn accepted(&self) -> impl Iterator<Item = (Version, &'static Suite)> + '_ {
        self.exchanges.iter().filter_map(|e| match &e.reply {
            Reply::Accepted { version, suite } => suite_by_name(suite).map(|s| (*version, s)),
            _ => None,
        })
    }

    /// Distinct accepted suites, in order of discovery.
    pub fn accepted_suites(&self) -> impl Iterator<Item = &'static Suite> + '_ {
        let mut seen: Vec<u16> = Vec::new();
        self.accepted().map(|(_, s)| s).filter(move |s| {
            let new = !seen.contains(&s.code);
            seen.push(s.code);
            new
        })
    }

    /// Whether `question` got a definite reply (not [`Reply::NoAnswer`]).
    pub fn answered(&self, question: &Question) -> bool {
        self.exchanges
            .iter()
            .any(|e| e.question == *question && !matches!(e.reply, Reply::NoAnswer { .. }))
    }

    fn asked(&self, question: &Question) -> bool {
        self.exchanges.iter().any(|e| e.question == *question)
    }

    /// `Some(true)` when some answer negotiated `v`, `Some(false)` when its
    /// own question got a definite answer that did not, `None` otherwise.
    pub fn version_accepted(&self, v: Version) -> Option<bool> {
        if self.accepted().any(|(x, _)| x == v) {
            Some(true)
        } else if self.answered(&Question::Version { version: v }) {
            Some(false)
        } else {
            None
        }
    }

    /// The suite the server chose with `v`, preferring its own question's.
    pub fn suite_for(&self, v: Version) -> Option<&'static Suite> {
        let own = self
            .exchanges
            .iter()
            .find_map(|e| match (&e.question, &e.reply) {
                (
                    Question::Version { version },
                    Reply::Accepted {
                        version: got,
                        suite,
                    },
                ) if *version == v && *got == v => suite_by_name(suite),
                _ => None,
            });
        own.or_else(|| self.accepted().find(|(x, _)| *x == v).map(|(_, s)| s))
    }

    /// The highest accepted version below TLS 1.3: where families are asked.
    pub fn legacy_max(&self) -> Option<Version> {
        self.accepted()
            .map(|(v, _)| v)
            .filter(|v| *v < Version::Tls13)
            .max()
    }

    /// Definitely no suite of `f`: its question was refused, or the server
    /// accepts no version below TLS 1.3 at all (TLS 1.3 suites are in no
    /// family).
    pub fn family_refused(&self, f: Family) -> bool {
        let legacy_all_refused = Version::ALL
            .into_iter()
            .filter(|v| *v < Version::Tls13)
            .all(|v| self.version_accepted(v) == Some(false));
        legacy_all_refused
            || self.exchanges.iter().any(|e| {
                matches!(e.question, Question::Family { family, .. } if family == f)
                    && !matches!(e.reply, Reply::NoAnswer { .. } | Reply::Accepted { .. })
            })
    }

    /// The next question for `policy`, `None` when there is nothing left
    /// to ask. Questions whose answer another reply already gave are
    /// skipped (a TLS 1.0 hello answered with a static-RSA suite settles
    /// `static_rsa`).
    pub fn next_question(&self, policy: &TlsPolicy) -> Option<Question> {
        for version in Version::ALL {
            let q = Question::Version { version };
            if !self.asked(&q) {
                return Some(q);
            }
        }
        if let Some(version) = self.legacy_max() {
            for family in policy.families() {
                let q = Question::Family { family, version };
                let known = self.accepted_suites().any(|s| family.contains(s));
                if !known && !self.asked(&q) {
                    return Some(q);
                }
            }
        }
        let tls12_ecdhe_aead = self
            .accepted()
            .any(|(v, s)| v == Version::Tls12 && is_ecdhe_aead(s));
        if policy.require_ecdhe_aead
            && self.version_accepted(Version::Tls12) == Some(true)
            && !tls12_ecdhe_aead
            && !self.asked(&Question::EcdheAead)
        {
            return Some(Question::EcdheAead);
        }
        None
    }

    /// Nothing left to ask and every question answered.
    pub fn is_complete(&self, policy: &TlsPolicy) -> bool {
        self.next_question(policy).is_none()
            && !self
                .exchanges
                .iter()
                .any(|e| matches!(e.reply, Reply::NoAnswer { .. }))
    }

    /// The scan without its unanswered questions, to ask them again.
    pub fn without_unanswered(&self) -> ProtocolScan {
        ProtocolScan {
            exchanges: self
                .exchanges
                .iter()
                .filter(|e| !matches!(e.reply, Reply::NoAnswer { .. }))
                .cloned()
                .collect(),
        }
    }
}

fn suite_by_name(name: &str) -> Option<&'static Suite> {
    TLS13.iter().chain(LEGACY.iter()).find(|s| s.name == name)
}

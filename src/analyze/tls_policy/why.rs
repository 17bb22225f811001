//! Why a hello of the protocol scan was not accepted, as facts: a
//! [`Reply`](super::Reply) that is not `Accepted` carries one of these,
//! and its `detail` sentence is rendered from it (`Display`). Code and
//! tests match these, never the wording.

use std::time::Duration;

use serde::Serialize;

use crate::net::tcp::ConnectError;
use crate::outcome::IoFailure;
use crate::wire::tls::{TlsWireError, Version, suites};

/// A TLS alert record (RFC 8446 6), the server's own word for turning the
/// hello down. Serialized as `{"description": 40, "name":
/// "handshake_failure", "level": 2}`, `name` only for the alerts servers
/// send to a hello (the others show their number in the sentence too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("alert {} (level {level})", self.shown())]
pub struct Alert {
    /// 1 warning, 2 fatal.
    pub level: u8,
    pub description: u8,
}

/// `protocol_version`: the server does not speak the version offered.
const PROTOCOL_VERSION: u8 = 70;

impl Alert {
    /// The RFC's name of the description, for the alerts a server sends
    /// to a ClientHello.
    pub(crate) fn name(self) -> Option<&'static str> {
        Some(match self.description {
            0 => "close_notify",
            10 => "unexpected_message",
            40 => "handshake_failure",
            47 => "illegal_parameter",
            50 => "decode_error",
            70 => "protocol_version",
            71 => "insufficient_security",
            80 => "internal_error",
            86 => "inappropriate_fallback",
            112 => "unrecognized_name",
            _ => return None,
        })
    }

    /// The name, or the number when it has none here.
    fn shown(self) -> String {
        self.name()
            .map_or_else(|| self.description.to_string(), str::to_owned)
    }
}

impl Serialize for Alert {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("description", &self.description)?;
        if let Some(name) = self.name() {
            m.serialize_entry("name", name)?;
        }
        m.serialize_entry("level", &self.level)?;
        m.end()
    }
}

/// Why a hello was refused: a client could not go on. In JSON as `why`,
/// `{"kind": "alert", ...}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Refusal {
    /// An alert record instead of a ServerHello.
    #[error("{0}")]
    Alert(Alert),
    /// A ServerHello of a higher version than the hello offered: the
    /// server answered with its own version instead of an alert.
    #[error("answered with {}", version.label())]
    AnsweredWith { version: Version },
    /// The connection closed or was reset before the answer (servers do
    /// that instead of an alert); see `TlsWireError::is_refusal`.
    #[error(transparent)]
    Wire(TlsWireError),
    /// The connection ended while the hello was written.
    #[error("closed before the hello was sent: {0}")]
    ClosedBeforeHello(#[source] IoFailure),
}

impl Refusal {
    /// The refusal is about the version itself (a `protocol_version`
    /// alert, or a ServerHello of another version): no other suite offer
    /// could change it, so the rarer suites are not asked.
    pub(crate) fn by_version(&self) -> bool {
        match self {
            Refusal::Alert(alert) => alert.description == PROTOCOL_VERSION,
            Refusal::AnsweredWith { .. } => true,
            Refusal::Wire(_) | Refusal::ClosedBeforeHello(_) => false,
        }
    }
}

/// Why an answer breaks the protocol or is not TLS: a client could not go
/// on either. In JSON as `why`, `{"kind": "suite_not_offered", ...}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Invalidity {
    /// A ServerHello version no TLS knows (the wire value).
    #[error("chose unknown version 0x{version:04x}")]
    UnknownVersion { version: u16 },
    /// A HelloRetryRequest, which only TLS 1.3 has, to a hello without it
    /// (or naming another version).
    #[error("HelloRetryRequest to a hello without TLS 1.3")]
    RetryWithoutTls13,
    /// TLS 1.3 chosen for a legacy hello, or a legacy version for a TLS
    /// 1.3 one (a lower version than offered is otherwise a legal answer).
    #[error("chose {} for a {} hello", chose.label(), offered.label())]
    VersionMismatch { chose: Version, offered: Version },
    /// In JSON the IANA name (`0xC0FF` for one we do not list), like an
    /// accepted reply's `suite`.
    #[error("chose suite {}, which was not offered", suites::name(*suite))]
    SuiteNotOffered {
        #[serde(serialize_with = "suite_name")]
        suite: u16,
    },
    /// Every hello offers the null method only.
    #[error("chose compression method {method}, which was not offered")]
    CompressionNotOffered { method: u8 },
    /// The answer could not be read as a ServerHello or alert.
    #[error(transparent)]
    Wire(TlsWireError),
}

fn suite_name<S: serde::Serializer>(code: &u16, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&suites::name(*code))
}

/// Why nothing is known: no answer before the wait ended, or no
/// connection. In JSON as `why`, `{"kind": "timeout", "after_secs": 1.0}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Silence {
    /// The hello's own wait ran out (`question_wait`).
    #[error("no answer within {}", humantime::format_duration(*after))]
    Timeout {
        #[serde(rename = "after_secs", serialize_with = "secs")]
        after: Duration,
    },
    /// The probe's budget ran out first.
    #[error("no answer before the probe's budget ran out")]
    BudgetSpent,
    /// The TCP connect failed; serialized with the connect error's facts
    /// (`"error": "refused", "addr": ...`).
    #[error("no connection: {0}")]
    NoConnection(#[source] ConnectError),
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::tls_policy::Reply;
    use crate::wire::tls::ServerHelloError;
    use serde_json::json;
    use std::io;

    /// Each sentence once: they are today's `detail` strings, which JSON
    /// readers may still show.
    #[test]
    fn every_reason_says_its_sentence() {
        let addr: std::net::SocketAddr = "127.0.0.1:443".parse().expect("addr");
        let reset = || io::Error::from(io::ErrorKind::ConnectionReset);
        let cases: Vec<(String, &str)> = vec![
            (
                Refusal::Alert(Alert {
                    level: 2,
                    description: 40,
                })
                .to_string(),
                "alert handshake_failure (level 2)",
            ),
            (
                Refusal::Alert(Alert {
                    level: 1,
                    description: 42,
                })
                .to_string(),
                "alert 42 (level 1)",
            ),
            (
                Refusal::AnsweredWith {
                    version: Version::Tls12,
                }
                .to_string(),
                "answered with TLSv1.2",
            ),
            (
                Refusal::Wire(TlsWireError::Closed { received: 0 }).to_string(),
                "connection closed after 0 bytes, before an answer",
            ),
            (
                Refusal::ClosedBeforeHello(reset().into()).to_string(),
                "closed before the hello was sent: connection reset",
            ),
            (
                Invalidity::UnknownVersion { version: 0x7f1c }.to_string(),
                "chose unknown version 0x7f1c",
            ),
            (
                Invalidity::RetryWithoutTls13.to_string(),
                "HelloRetryRequest to a hello without TLS 1.3",
            ),
            (
                Invalidity::VersionMismatch {
                    chose: Version::Tls13,
                    offered: Version::Tls12,
                }
                .to_string(),
                "chose TLSv1.3 for a TLSv1.2 hello",
            ),
            (
                Invalidity::SuiteNotOffered { suite: 0x1301 }.to_string(),
                "chose suite TLS_AES_128_GCM_SHA256, which was not offered",
            ),
            (
                Invalidity::CompressionNotOffered { method: 1 }.to_string(),
                "chose compression method 1, which was not offered",
            ),
            (
                Invalidity::Wire(TlsWireError::NotTls {
                    first: "HTTP/1.1".into(),
                })
                .to_string(),
                "not a TLS record: \"HTTP/1.1\"",
            ),
            (
                Silence::Timeout {
                    after: Duration::from_secs(1),
                }
                .to_string(),
                "no answer within 1s",
            ),
            (
                Silence::BudgetSpent.to_string(),
                "no answer before the probe's budget ran out",
            ),
            (
                Silence::NoConnection(ConnectError::Refused { addr }).to_string(),
                "no connection: 127.0.0.1:443: connection refused (RST)",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    /// `detail` stays the sentence it always was; `why` adds the facts.
    #[test]
    fn replies_serialize_the_sentence_and_the_facts() {
        let json = |r: Reply| serde_json::to_value(&r).expect("json");
        assert_eq!(
            json(Reply::Refused {
                why: Refusal::Alert(Alert {
                    level: 2,
                    description: 70,
                }),
            }),
            json!({
                "answer": "refused",
                "detail": "alert protocol_version (level 2)",
                "why": {"kind": "alert", "description": 70, "name": "protocol_version", "level": 2},
                "by_version": true,
            })
        );
        assert_eq!(
            json(Reply::Refused {
                why: Refusal::Alert(Alert {
                    level: 2,
                    description: 42,
                }),
            })["why"],
            json!({"kind": "alert", "description": 42, "level": 2})
        );
        assert_eq!(
            json(Reply::Invalid {
                why: Invalidity::SuiteNotOffered { suite: 0x1301 },
            }),
            json!({
                "answer": "invalid",
                "detail": "chose suite TLS_AES_128_GCM_SHA256, which was not offered",
                "why": {"kind": "suite_not_offered", "suite": "TLS_AES_128_GCM_SHA256"},
            })
        );
        assert_eq!(
            json(Reply::Invalid {
                why: Invalidity::Wire(TlsWireError::MalformedServerHello(
                    ServerHelloError::Truncated { what: "random" }
                )),
            })["why"],
            json!({"kind": "wire", "error": "malformed_server_hello", "problem": "truncated", "what": "random"})
        );
        // The problem's own `kind` field would clash with `why`'s tag.
        assert_eq!(
            json(Reply::Invalid {
                why: Invalidity::Wire(TlsWireError::MalformedServerHello(
                    ServerHelloError::DuplicateExtension { kind: 0xff01 }
                )),
            })["why"],
            json!({"kind": "wire", "error": "malformed_server_hello", "problem": "duplicate_extension", "extension": 0xff01})
        );
        assert_eq!(
            json(Reply::Refused {
                why: Refusal::Wire(TlsWireError::Io(io::Error::from_raw_os_error(104).into())),
            })["why"],
            json!({
                "kind": "wire",
                "error": "io",
                "io": "ConnectionReset",
                "errno": 104,
                "message": io::Error::from_raw_os_error(104).to_string(),
            })
        );
        assert_eq!(
            json(Reply::NoAnswer {
                why: Silence::Timeout {
                    after: Duration::from_millis(1500),
                },
            }),
            json!({
                "answer": "no_answer",
                "detail": "no answer within 1s 500ms",
                "why": {"kind": "timeout", "after_secs": 1.5},
            })
        );
        let addr: std::net::SocketAddr = "127.0.0.1:443".parse().expect("addr");
        assert_eq!(
            json(Reply::NoAnswer {
                why: Silence::NoConnection(ConnectError::Refused { addr }),
            })["why"],
            json!({"kind": "no_connection", "error": "refused", "addr": "127.0.0.1:443"})
        );
    }

    #[test]
    fn only_a_protocol_version_alert_or_another_version_refuses_by_version() {
        let alert = |description| {
            Refusal::Alert(Alert {
                level: 2,
                description,
            })
        };
        assert!(alert(70).by_version());
        assert!(!alert(40).by_version());
        assert!(
            Refusal::AnsweredWith {
                version: Version::Tls13
            }
            .by_version()
        );
        assert!(!Refusal::Wire(TlsWireError::Closed { received: 0 }).by_version());
    }
}

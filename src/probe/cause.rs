//! Why an attempt failed, as data: the typed error of the stage that
//! failed, next to the `reason` and the `detail` sentence made from it.
//! Serialized as the attempt's (and the report's) `cause`, tagged by
//! `stage`, each error by `error`:
//!
//! ```json
//! {"stage": "dns", "error": "no_address", "name": "mdm.example", "family": "IPv6"}
//! {"stage": "connect", "error": "refused", "addr": "192.0.2.7:443"}
//! {"stage": "timeout", "phase": "tls"}
//! {"stage": "slot", "used": 3, "limit": 3}
//! {"stage": "tls", "error": "version", "detail": "..."}
//! {"stage": "ssh", "error": "closed_before_banner", "close": "fin", "notice": null}
//! {"stage": "http", "error": "redirect_loop", "url": "http://mdm.example/a"}
//! ```
//!
//! The shared stages (the vantage's DNS, the TCP connect, the budget) are
//! named here; a kind's own errors come from the registry
//! ([`crate::kinds::KindCause`], one variant per kind, `Kind::Error`), so
//! this file names no kind.
//!
//! A kind's stage is its name, so a kind named like a shared stage (the
//! `dns` kind) must keep `Kind::Error = NoCause` (as it does: its query
//! failures are facts in its `details`), or its causes would read as the
//! resolver's. Giving it an error type means renaming one of the two
//! stages first.

use serde::Serialize;

use super::report::Phase;
use crate::kinds::KindCause;
use crate::net::dns::DnsError;
use crate::net::tcp::ConnectError;

/// The typed fact behind a failed attempt.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Cause {
    /// The vantage's DNS: the flow's own name or a redirect hop's.
    Dns(DnsError),
    /// The TCP connect.
    Connect(ConnectError),
    /// The flow's budget ran out in `phase` (none: before any phase ran).
    /// Out in `connect`, the reason is `filtered`; else `timeout`
    /// (`dns_timeout` for the flow's own lookup).
    Timeout {
        #[serde(skip_serializing_if = "Option::is_none")]
        phase: Option<Phase>,
    },
    /// No probe slot came free in time, so no probe was made (`resource`):
    /// `used` of the `limit` slots (the file-descriptor budget or
    /// `defaults.max_in_flight`) were taken.
    Slot { used: usize, limit: usize },
    /// The kind's own protocol; its `stage` is the kind's name.
    #[serde(untagged)]
    Kind(KindCause),
}

impl From<DnsError> for Cause {
    fn from(e: DnsError) -> Self {
        Cause::Dns(e)
    }
}

impl From<ConnectError> for Cause {
    fn from(e: ConnectError) -> Self {
        Cause::Connect(e)
    }
}

impl From<KindCause> for Cause {
    fn from(e: KindCause) -> Self {
        Cause::Kind(e)
    }
}

impl Cause {
    /// The kind's error, when the cause is of kind `K`.
    pub fn kind<K: crate::kinds::Registered>(&self) -> Option<&K::Error> {
        match self {
            Cause::Kind(c) => K::error(c),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json(c: Cause) -> serde_json::Value {
        serde_json::to_value(c).expect("json")
    }

    #[test]
    fn shared_causes_are_tagged_by_stage_and_error() {
        assert_eq!(
            json(Cause::Dns(DnsError::NoAddress {
                name: "mdm.example".into(),
                family: "IPv6",
            })),
            json!({"stage": "dns", "error": "no_address", "name": "mdm.example", "family": "IPv6"})
        );
        assert_eq!(
            json(Cause::Dns(DnsError::Answered {
                name: "mdm.example".into(),
                code: hickory_resolver::proto::op::ResponseCode::ServFail,
            })),
            json!({"stage": "dns", "error": "answered", "name": "mdm.example", "code": 2})
        );
        assert_eq!(
            json(Cause::Connect(ConnectError::Refused {
                addr: "192.0.2.7:443".parse().expect("addr"),
            })),
            json!({"stage": "connect", "error": "refused", "addr": "192.0.2.7:443"})
        );
        assert_eq!(
            json(Cause::Timeout {
                phase: Some(Phase::Tls)
            }),
            json!({"stage": "timeout", "phase": "tls"})
        );
        assert_eq!(
            json(Cause::Timeout { phase: None }),
            json!({"stage": "timeout"})
        );
        assert_eq!(
            json(Cause::Slot { used: 3, limit: 3 }),
            json!({"stage": "slot", "used": 3, "limit": 3})
        );
    }

    #[test]
    fn io_errors_are_their_kind_number_and_message() {
        let e = ConnectError::Resource(std::io::Error::from_raw_os_error(24).into());
        let text = e.to_string();
        let v = json(Cause::Connect(e));
        assert_eq!(v["stage"], "connect");
        assert_eq!(v["error"], "resource");
        assert_eq!(v["errno"], 24);
        assert!(v["io"].is_string(), "{v}");
        assert!(
            text.contains(v["message"].as_str().expect("message")),
            "{v}"
        );
    }
}

//! What to tell an operator when an SSH server accepts the connection and
//! closes it before its identification: the wire says what happened
//! ([`SshWireError::ClosedBeforeBanner`]), this says what probably caused it
//! and how to fix it.

use crate::wire::ssh::{RefusalNotice, SshWireError};

/// The likely cause and fix of an early close, for the probe's detail;
/// `None` for every other failure.
pub(crate) fn hint(e: &SshWireError) -> Option<&'static str> {
    let SshWireError::ClosedBeforeBanner { notice, .. } = e else {
        return None;
    };
    Some(match notice {
        Some(RefusalNotice::ExceededMaxStartups) => {
            "the server (OpenSSH before 9.8) refused it for MaxStartups or PerSourceMaxStartups: \
             too many unauthenticated connections at once"
        }
        Some(RefusalNotice::NotAllowed) | None => {
            "likely cause: OpenSSH 9.8+ PerSourcePenalties, which refuses a source address for up \
             to 10 minutes once connections that ended before authenticating (such as these \
             probes) outweigh its threshold (else MaxStartups, or a proxy with no server behind \
             it); fix: put the vantage addresses in the server's PerSourcePenaltyExemptList, or \
             set PerSourcePenalties noauth:0, and keep ssh_pace at 1s or more otherwise"
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ssh::Close;

    #[test]
    fn only_early_closes_get_a_hint_and_only_penalties_name_the_fix() {
        let silent = SshWireError::ClosedBeforeBanner {
            close: Close::Reset,
            notice: None,
        };
        let not_allowed = SshWireError::ClosedBeforeBanner {
            close: Close::Fin,
            notice: Some(RefusalNotice::NotAllowed),
        };
        for e in [&silent, &not_allowed] {
            let h = hint(e).expect("hint");
            assert!(h.contains("PerSourcePenalties"), "{h}");
            assert!(h.contains("PerSourcePenaltyExemptList"), "{h}");
            assert!(h.contains("noauth:0"), "{h}");
        }
        let old = SshWireError::ClosedBeforeBanner {
            close: Close::Fin,
            notice: Some(RefusalNotice::ExceededMaxStartups),
        };
        let h = hint(&old).expect("hint");
        assert!(
            h.contains("MaxStartups") && !h.contains("PerSourcePenalties"),
            "{h}"
        );
        let other = SshWireError::ClosedBeforeIdentification {
            pre_banner_lines: 1,
            first_line: Some("HTTP/1.1 400 Bad Request".into()),
        };
        assert_eq!(hint(&other), None);
    }

    #[test]
    fn as_a_cause_an_early_close_keeps_how_and_the_notice() {
        use crate::kinds::Registered;
        let json = |e: SshWireError| {
            serde_json::to_value(<super::super::Ssh as Registered>::cause(e)).expect("json")
        };
        assert_eq!(
            json(SshWireError::ClosedBeforeBanner {
                close: Close::Fin,
                notice: Some(RefusalNotice::NotAllowed),
            }),
            serde_json::json!({
                "stage": "ssh",
                "error": "closed_before_banner",
                "close": "fin",
                "notice": "not_allowed",
            })
        );
        assert_eq!(
            json(SshWireError::ClosedBeforeBanner {
                close: Close::Reset,
                notice: None,
            }),
            serde_json::json!({
                "stage": "ssh",
                "error": "closed_before_banner",
                "close": "rst",
                "notice": null,
            })
        );
        // A nested problem: its fields join the cause's, tagged by `kind`.
        assert_eq!(
            json(SshWireError::MalformedKexInit(
                crate::wire::ssh::KexInitError::Truncated {
                    field: "cookie",
                    needed: 16,
                    available: 3,
                }
            )),
            serde_json::json!({
                "stage": "ssh",
                "error": "malformed_kex_init",
                "kind": "truncated",
                "field": "cookie",
                "needed": 16,
                "available": 3,
            })
        );
        assert_eq!(
            json(SshWireError::Io(
                std::io::Error::from(std::io::ErrorKind::ConnectionReset).into()
            )),
            serde_json::json!({
                "stage": "ssh",
                "error": "io",
                "io": "ConnectionReset",
                "message": "connection reset",
            })
        );
    }
}

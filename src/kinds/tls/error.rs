//! Why a TLS handshake failed, mapped onto the closed reason set.

use crate::outcome::Reason;
use rustls::{AlertDescription, InvalidMessage, PeerIncompatible};
use std::io;
use thiserror::Error;

/// The largest handshake message rustls accepts (its `MAX_HANDSHAKE_SIZE`,
/// not configurable): TLS allows 2^24 - 1 bytes, rustls refuses more than
/// 64 KiB to bound its memory.
pub const RUSTLS_HANDSHAKE_LIMIT: usize = 0xffff;

/// A failed handshake, with the facts an operator needs to act on it.
/// Variants a rustls error can lead to keep it as their `source`, so a
/// caller can match rustls's typed error instead of our wording.
///
/// Serialized as a probe's `cause` (`{"stage": "tls", "error": "version",
/// "detail": "..."}`); the rustls error is not (its text is the detail).
#[derive(Debug, Clone, PartialEq, Error, serde::Serialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum TlsError {
    /// No TLS version both sides accept (e.g. a TLS-1.2-only server and
    /// `min_version = "1.3"`).
    #[error("no common TLS version: {detail}")]
    Version {
        detail: String,
        #[source]
        #[serde(skip)]
        cause: Option<rustls::Error>,
    },
    /// The server asked for a client certificate and rejected us without one.
    #[error("server requires a client certificate: {detail}")]
    ClientCertRequired {
        detail: String,
        #[source]
        #[serde(skip)]
        cause: Option<rustls::Error>,
    },
    /// The server's handshake signature did not verify with its leaf key
    /// (forged, or a key the ring provider refuses, such as RSA-1024).
    #[error("server's handshake signature does not verify: {detail}")]
    Signature {
        detail: String,
        #[source]
        #[serde(skip)]
        cause: Option<rustls::Error>,
    },
    /// Any other disagreement between two TLS stacks.
    #[error("TLS handshake failed: {detail}")]
    Handshake {
        detail: String,
        #[source]
        #[serde(skip)]
        cause: Option<rustls::Error>,
    },
    /// A handshake message over rustls's limit of
    /// [`RUSTLS_HANDSHAKE_LIMIT`] bytes (a 2 MB certificate, a
    /// 300-certificate chain). The probe replaces `detail` with what its
    /// second look at the server's certificate message found.
    #[error("TLS handshake failed: {detail}")]
    TooLarge {
        detail: String,
        #[source]
        #[serde(skip)]
        cause: Option<rustls::Error>,
    },
    /// The peer answered with bytes that are not TLS records (SSH, HTTP):
    /// the port serves another protocol, which is a routing problem rather
    /// than a TLS one, hence `protocol_error`.
    #[error("peer does not speak TLS: {detail}")]
    NotTls {
        detail: String,
        #[source]
        #[serde(skip)]
        cause: Option<rustls::Error>,
    },
    #[error("connection reset during the TLS handshake: {detail}")]
    Reset { detail: String },
    /// The flow's TLS settings cannot make a client (bad client key).
    #[error("invalid TLS client settings: {detail}")]
    Config { detail: String },
}

impl TlsError {
    pub fn reason(&self) -> Reason {
        match self {
            TlsError::Version { .. } => Reason::TlsVersion,
            TlsError::ClientCertRequired { .. }
            | TlsError::Signature { .. }
            | TlsError::Handshake { .. }
            | TlsError::TooLarge { .. } => Reason::TlsHandshake,
            TlsError::NotTls { .. } => Reason::ProtocolError,
            TlsError::Reset { .. } => Reason::Reset,
            TlsError::Config { .. } => Reason::Internal,
        }
    }

    /// Classifies the error tokio-rustls returned from a handshake.
    /// `asked_without_cert`: the server requested a client certificate
    /// and we had none, which explains a following alert.
    pub(crate) fn from_handshake(err: &io::Error, asked_without_cert: bool) -> TlsError {
        if let Some(tls) = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        {
            return TlsError::from_rustls(tls, asked_without_cert);
        }
        let detail = err.to_string();
        match err.kind() {
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => TlsError::Reset { detail },
            io::ErrorKind::UnexpectedEof if asked_without_cert => TlsError::ClientCertRequired {
                detail: "server closed the connection after asking for a client certificate".into(),
                cause: None,
            },
            io::ErrorKind::UnexpectedEof => TlsError::Handshake {
                detail: "peer closed the connection during the handshake".into(),
                cause: None,
            },
            _ => TlsError::Handshake {
                detail,
                cause: None,
            },
        }
    }

    pub(crate) fn from_rustls(err: &rustls::Error, asked_without_cert: bool) -> TlsError {
        let detail = err.to_string();
        match err {
            rustls::Error::AlertReceived(AlertDescription::ProtocolVersion) => TlsError::Version {
                detail,
                cause: Some(err.clone()),
            },
            rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => {
                TlsError::ClientCertRequired {
                    detail,
                    cause: Some(err.clone()),
                }
            }
            rustls::Error::AlertReceived(_) if asked_without_cert => TlsError::ClientCertRequired {
                detail,
                cause: Some(err.clone()),
            },
            rustls::Error::PeerIncompatible(
                PeerIncompatible::ServerDoesNotSupportTls12Or13
                | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
                | PeerIncompatible::SupportedVersionsExtensionRequired
                | PeerIncompatible::Tls12NotOffered
                | PeerIncompatible::Tls12NotOfferedOrEnabled,
            ) => TlsError::Version {
                detail,
                cause: Some(err.clone()),
            },
            rustls::Error::InvalidMessage(InvalidMessage::HandshakePayloadTooLarge) => {
                TlsError::TooLarge {
                    detail: format!(
                        "a handshake message exceeds rustls's {}-byte limit",
                        crate::text::thousands(RUSTLS_HANDSHAKE_LIMIT as u64)
                    ),
                    cause: Some(err.clone()),
                }
            }
            rustls::Error::InvalidMessage(
                InvalidMessage::InvalidContentType | InvalidMessage::UnknownProtocolVersion,
            ) => TlsError::NotTls {
                detail,
                cause: Some(err.clone()),
            },
            // The recording verifier accepts every chain, so a certificate
            // error can only come from the handshake signature check.
            rustls::Error::InvalidCertificate(_) => TlsError::Signature {
                detail,
                cause: Some(err.clone()),
            },
            _ => TlsError::Handshake {
                detail,
                cause: Some(err.clone()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn a_message_over_the_limit_is_too_large_and_tls_handshake() {
        let cause = rustls::Error::InvalidMessage(InvalidMessage::HandshakePayloadTooLarge);
        let e = TlsError::from_rustls(&cause, false);
        assert!(matches!(e, TlsError::TooLarge { .. }), "{e:?}");
        assert_eq!(e.reason(), Reason::TlsHandshake);
        assert_eq!(
            e.to_string(),
            "TLS handshake failed: a handshake message exceeds rustls's 65,535-byte limit"
        );
    }

    #[test]
    fn the_rustls_error_stays_the_source() {
        let e = TlsError::from_rustls(
            &rustls::Error::AlertReceived(AlertDescription::ProtocolVersion),
            false,
        );
        assert_eq!(e.reason(), Reason::TlsVersion);
        let source = e.source().and_then(|s| s.downcast_ref::<rustls::Error>());
        assert_eq!(
            source,
            Some(&rustls::Error::AlertReceived(
                AlertDescription::ProtocolVersion
            ))
        );
    }

    #[test]
    fn as_a_cause_the_error_is_tagged_tls_without_the_rustls_error() {
        use crate::kinds::Registered;
        let e = TlsError::from_rustls(
            &rustls::Error::AlertReceived(AlertDescription::ProtocolVersion),
            false,
        );
        let detail = e.to_string();
        let cause = <super::super::Tls as Registered>::cause(e);
        let v = serde_json::to_value(&cause).expect("json");
        assert_eq!(
            v,
            serde_json::json!({
                "stage": "tls",
                "error": "version",
                "detail": "received fatal alert: ProtocolVersion",
            })
        );
        assert!(detail.ends_with(v["detail"].as_str().expect("detail")));
        assert!(matches!(
            cause.kind::<super::super::Tls>(),
            Some(TlsError::Version { .. })
        ));
        assert!(cause.kind::<crate::kinds::ssh::Ssh>().is_none());
    }
}

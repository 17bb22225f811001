//! Why a TLS handshake failed, mapped onto the closed reason set.

use crate::outcome::Reason;
use rustls::{AlertDescription, InvalidMessage, PeerIncompatible};
use std::io;
use thiserror::Error;

/// A failed handshake, with the facts an operator needs to act on it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TlsError {
    /// No TLS version both sides accept (e.g. a TLS-1.2-only server and
    /// `min_version = "1.3"`).
    #[error("no common TLS version: {detail}")]
    Version { detail: String },
    /// The server asked for a client certificate and rejected us without one.
    #[error("server requires a client certificate: {detail}")]
    ClientCertRequired { detail: String },
    /// The server's handshake signature did not verify with its leaf key
    /// (forged, or a key the ring provider refuses, such as RSA-1024).
    #[error("server's handshake signature does not verify: {detail}")]
    Signature { detail: String },
    /// Any other disagreement between two TLS stacks.
    #[error("TLS handshake failed: {detail}")]
    Handshake { detail: String },
    /// The peer answered with bytes that are not TLS records (SSH, HTTP):
    /// the port serves another protocol, which is a routing problem rather
    /// than a TLS one, hence `protocol_error`.
    #[error("peer does not speak TLS: {detail}")]
    NotTls { detail: String },
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
            | TlsError::Handshake { .. } => Reason::TlsHandshake,
            TlsError::NotTls { .. } => Reason::ProtocolError,
            TlsError::Reset { .. } => Reason::Reset,
            TlsError::Config { .. } => Reason::Internal,
        }
    }

    /// Classifies the error tokio-rustls returned from a handshake.
    /// `asked_without_cert`: the server requested a client certificate
    /// and we had none, which explains a following alert.
    pub fn from_handshake(err: &io::Error, asked_without_cert: bool) -> TlsError {
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
            },
            io::ErrorKind::UnexpectedEof => TlsError::Handshake {
                detail: "peer closed the connection during the handshake".into(),
            },
            _ => TlsError::Handshake { detail },
        }
    }

    pub fn from_rustls(err: &rustls::Error, asked_without_cert: bool) -> TlsError {
        let detail = err.to_string();
        match err {
            rustls::Error::AlertReceived(AlertDescription::ProtocolVersion) => {
                TlsError::Version { detail }
            }
            rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => {
                TlsError::ClientCertRequired { detail }
            }
            rustls::Error::AlertReceived(_) if asked_without_cert => {
                TlsError::ClientCertRequired { detail }
            }
            rustls::Error::PeerIncompatible(
                PeerIncompatible::ServerDoesNotSupportTls12Or13
                | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
                | PeerIncompatible::SupportedVersionsExtensionRequired
                | PeerIncompatible::Tls12NotOffered
                | PeerIncompatible::Tls12NotOfferedOrEnabled,
            ) => TlsError::Version { detail },
            rustls::Error::InvalidMessage(
                InvalidMessage::InvalidContentType | InvalidMessage::UnknownProtocolVersion,
            ) => TlsError::NotTls { detail },
            // The recording verifier accepts every chain, so a certificate
            // error can only come from the handshake signature check.
            rustls::Error::InvalidCertificate(_) => TlsError::Signature { detail },
            _ => TlsError::Handshake { detail },
        }
    }
}

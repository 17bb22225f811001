//! The TLS probe's I/O: one handshake over the core's TCP connection,
//! recording what the server sent whatever happens.
//!
//! A [`TlsClient`] is built once per flow (building a `ClientConfig` costs
//! more than the handshake's own CPU) and reused by every probe. The caller
//! applies the timeout; after a timeout, [`TlsClient::take_captured`] still
//! gives the certificates received so far.

use crate::wire::tls::Version;

use super::error::TlsError;

use super::recorder::Recorder;
use crate::analyze::chain::ChainReport;
use crate::net::kernel_time::StampedStream;
use crate::outcome::{Finding, Level, Reason, Subject};
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ProtocolVersion};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;

/// How long to wait, after a TLS 1.3 handshake in which the server asked
/// for a client certificate we do not have, for the server's verdict: in
/// TLS 1.3 the client finishes before the server judges its certificate.
pub const CLIENT_AUTH_VERDICT_WAIT: Duration = Duration::from_secs(1);

/// A flow's TLS settings.
#[derive(Debug)]
pub struct TlsParams {
    /// SNI, and the name the leaf is checked against.
    pub server_name: ServerName<'static>,
    /// ALPN protocols offered, e.g. `h2` for the APNs provider API.
    pub alpn: Vec<Vec<u8>>,
    pub min_version: Version,
    /// Chain and key for mutual TLS (APNs legacy 2195).
    pub client_cert: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

/// What a successful handshake negotiated and what the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// `TLSv1.2` or `TLSv1.3`.
    pub version: String,
    /// IANA-style name, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    pub alpn: Option<String>,
    /// Leaf first, in the order sent.
    pub certificates: Vec<CertificateDer<'static>>,
    pub client_cert_requested: bool,
    /// The OCSP response stapled to the leaf, if any.
    pub ocsp_response: Option<Vec<u8>>,
}

/// A failed handshake and whatever certificates arrived before it failed.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsFailure {
    pub error: TlsError,
    /// Empty when the server never sent its Certificate message.
    pub certificates: Vec<CertificateDer<'static>>,
}

/// A flow's reusable TLS client.
#[derive(Debug)]
pub struct TlsClient {
    config: Arc<ClientConfig>,
    recorder: Arc<Recorder>,
    server_name: ServerName<'static>,
    /// The recorder has one slot: handshakes through one client take turns.
    in_flight: tokio::sync::Mutex<()>,
}

impl TlsClient {
    /// Builds the flow's `ClientConfig` (ring provider, recording verifier).
    pub fn new(params: TlsParams) -> Result<TlsClient, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client_cert = match params.client_cert {
            Some((chain, key)) => Some(Arc::new(
                CertifiedKey::from_der(chain, key, &provider).map_err(|e| TlsError::Config {
                    detail: e.to_string(),
                })?,
            )),
            None => None,
        };
        let recorder = Arc::new(Recorder::new(
            provider.signature_verification_algorithms,
            client_cert,
        ));
        let versions: &[&'static rustls::SupportedProtocolVersion] = match params.min_version {
            Version::Tls13 => &[&rustls::version::TLS13],
            // rustls speaks nothing older than 1.2, and the configuration
            // accepts no lower minimum.
            Version::Ssl3 | Version::Tls10 | Version::Tls11 | Version::Tls12 => {
                &[&rustls::version::TLS13, &rustls::version::TLS12]
            }
        };
        let mut config = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(versions)
            .map_err(|e| TlsError::Config {
                detail: e.to_string(),
            })?
            .dangerous()
            .with_custom_certificate_verifier(Arc::clone(&recorder) as Arc<dyn ServerCertVerifier>)
            .with_client_cert_resolver(Arc::clone(&recorder) as _);
        config.alpn_protocols = params.alpn;
        // A probe measures a full handshake every time.
        config.resumption = rustls::client::Resumption::disabled();
        Ok(TlsClient {
            config: Arc::new(config),
            recorder,
            server_name: params.server_name,
            in_flight: tokio::sync::Mutex::new(()),
        })
    }

    pub fn server_name(&self) -> &ServerName<'static> {
        &self.server_name
    }

    /// Runs one handshake over `tcp`, then sends close_notify.
    pub async fn handshake(&self, tcp: impl Into<StampedStream>) -> Result<Negotiated, TlsFailure> {
        let tcp = tcp.into();
        let _turn = self.in_flight.lock().await;
        self.recorder.reset();
        let connector = TlsConnector::from(Arc::clone(&self.config));
        let connected = connector.connect(self.server_name.clone(), tcp).await;
        let asked_without_cert =
            self.recorder.client_cert_requested() && !self.recorder.has_client_cert();
        let mut stream = match connected {
            Ok(stream) => stream,
            Err(err) => {
                return Err(TlsFailure {
                    error: TlsError::from_handshake(&err, asked_without_cert),
                    certificates: self.take_captured().unwrap_or_default(),
                });
            }
        };
        let (_, conn) = stream.get_ref();
        let version = conn.protocol_version();
        let facts = Negotiated {
            version: version_name(version),
            cipher_suite: conn
                .negotiated_cipher_suite()
                .map(|s| {
                    let suite = s.suite();
                    suite
                        .as_str()
                        .map_or_else(|| format!("{suite:?}"), str::to_owned)
                })
                .unwrap_or_default(),
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            certificates: self.take_captured().unwrap_or_default(),
            client_cert_requested: self.recorder.client_cert_requested(),
            ocsp_response: self.recorder.take_ocsp(),
        };
        if asked_without_cert
            && version == Some(ProtocolVersion::TLSv1_3)
            && let Some(error) = server_verdict(&mut stream).await
        {
            return Err(TlsFailure {
                error,
                certificates: facts.certificates,
            });
        }
        // close_notify; a server that already left is no failure of ours.
        let _ = stream.shutdown().await;
        Ok(facts)
    }

    /// The certificates of the last (possibly abandoned) handshake.
    pub fn take_captured(&self) -> Option<Vec<CertificateDer<'static>>> {
        self.recorder.take_chain()
    }
}

/// Waits briefly for a TLS 1.3 server to reject our missing client
/// certificate; `None` when it did not.
async fn server_verdict(
    stream: &mut tokio_rustls::client::TlsStream<StampedStream>,
) -> Option<TlsError> {
    let mut byte = [0u8; 1];
    match tokio::time::timeout(CLIENT_AUTH_VERDICT_WAIT, stream.read(&mut byte)).await {
        Ok(Err(err)) => Some(TlsError::from_handshake(&err, true)),
        Ok(Ok(0)) => Some(TlsError::ClientCertRequired {
            detail: "server closed the connection after asking for a client certificate".into(),
            cause: None,
        }),
        Ok(Ok(_)) | Err(_) => None,
    }
}

fn version_name(version: Option<ProtocolVersion>) -> String {
    match version {
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

/// The findings of a TLS probe: the handshake's failure (if any), then the
/// chain's. When the handshake signature failed because the leaf's key is
/// below policy (ring refuses RSA-1024), the weak key is the explanation
/// and leads.
pub fn findings(handshake: Option<&TlsError>, chain: Option<&ChainReport>) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some(error) = handshake {
        findings.push(Finding::new(error.reason(), Level::Fail, error.to_string()));
    }
    if let Some(chain) = chain {
        findings.extend(chain.findings.iter().cloned());
    }
    if matches!(handshake, Some(TlsError::Signature { .. })) {
        let weak_leaf = findings.iter().position(|f| {
            f.reason == Reason::WeakKey
                && f.level == Level::Fail
                && f.subject == Some(Subject::Certificate { position: 0 })
        });
        if let Some(i) = weak_leaf {
            let weak = findings.remove(i);
            findings.insert(0, weak);
        }
    }
    findings
}

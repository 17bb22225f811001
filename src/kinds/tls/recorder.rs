//! Captures what the server sent before anything is judged.
//!
//! rustls normally verifies the chain inside the handshake and, on
//! failure, forgets it. flowprobe's own analysis judges the chain, so the
//! verifier here records the certificates and accepts them; the handshake
//! signature (proof that the server holds the leaf's key) is still verified
//! for real with the ring provider's algorithms.

use parking_lot::Mutex;
use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, Error, SignatureScheme};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Records the server's certificates and whether it asked for ours.
///
/// One recorder belongs to one flow's `ClientConfig`; handshakes through it
/// are serialised by the caller ([`super::TlsClient`]), so the slot holds
/// the chain of the handshake in progress.
#[derive(Debug)]
pub(crate) struct Recorder {
    chain: Mutex<Option<Vec<CertificateDer<'static>>>>,
    /// The OCSP response the server stapled (rustls always asks for one).
    ocsp: Mutex<Option<Vec<u8>>>,
    client_cert_requested: AtomicBool,
    algorithms: WebPkiSupportedAlgorithms,
    client_cert: Option<Arc<CertifiedKey>>,
}

impl Recorder {
    pub(super) fn new(
        algorithms: WebPkiSupportedAlgorithms,
        client_cert: Option<Arc<CertifiedKey>>,
    ) -> Self {
        Recorder {
            chain: Mutex::new(None),
            ocsp: Mutex::new(None),
            client_cert_requested: AtomicBool::new(false),
            algorithms,
            client_cert,
        }
    }

    /// Forgets the previous handshake.
    pub(crate) fn reset(&self) {
        *self.chain.lock() = None;
        *self.ocsp.lock() = None;
        self.client_cert_requested.store(false, Ordering::SeqCst);
    }

    /// The certificates of the last handshake, leaf first; `None` when the
    /// server never sent its Certificate message.
    pub(crate) fn take_chain(&self) -> Option<Vec<CertificateDer<'static>>> {
        self.chain.lock().take()
    }

    /// The stapled OCSP response of the last handshake; `None` when the
    /// server stapled none.
    pub(crate) fn take_ocsp(&self) -> Option<Vec<u8>> {
        self.ocsp.lock().take()
    }

    pub(crate) fn client_cert_requested(&self) -> bool {
        self.client_cert_requested.load(Ordering::SeqCst)
    }

    pub(crate) fn has_client_cert(&self) -> bool {
        self.client_cert.is_some()
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let mut chain = Vec::with_capacity(intermediates.len() + 1);
        chain.push(end_entity.clone().into_owned());
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        *self.chain.lock() = Some(chain);
        *self.ocsp.lock() = (!ocsp_response.is_empty()).then(|| ocsp_response.to_vec());
        // Judged afterwards by analyze::chain, with every fact kept.
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl ResolvesClientCert for Recorder {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        // Knowing the server asked explains a later rejection (APNs 2195).
        self.client_cert_requested.store(true, Ordering::SeqCst);
        self.client_cert.clone()
    }

    fn has_certs(&self) -> bool {
        self.client_cert.is_some()
    }
}

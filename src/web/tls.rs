//! The rustls server configuration of the web endpoints, built from the
//! `tls_server_config` of the web configuration file. TLS 1.2 is the floor
//! whatever the file says (STIG hosts refuse TLS 1.1 and below); client
//! certificates, when asked for, are verified against `client_ca_file`.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use crate::config::web_config::{ClientAuth, TlsSettings};
use crate::wire::tls::Version;

/// Build the server configuration; the error names the file and the key
/// and never carries key material.
pub(crate) fn server_config(t: &TlsSettings) -> Result<Arc<ServerConfig>, String> {
    let certs = read_certs(&t.cert_file, "tls_server_config.cert_file")?;
    let key = PrivateKeyDer::from_pem_file(&t.key_file).map_err(|e| {
        format!(
            "tls_server_config.key_file: {}: no usable private key ({e})",
            t.key_file.display()
        )
    })?;
    let provider = Arc::new(provider(t));
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
        (Version::Tls12, &rustls::version::TLS12),
        (Version::Tls13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| (t.min_version..=t.max_version).contains(v))
    .map(|(_, p)| p)
    .collect();
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: {e}"))?;
    let builder = match t.client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify => {
            let ca = t
                .client_ca_file
                .as_deref()
                .ok_or("tls_server_config.client_ca_file: is required")?;
            let mut roots = rustls::RootCertStore::empty();
            for c in read_certs(ca, "tls_server_config.client_ca_file")? {
                roots.add(c).map_err(|e| {
                    format!("tls_server_config.client_ca_file: {}: {e}", ca.display())
                })?;
            }
            let mut v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            if t.client_auth == ClientAuth::VerifyIfGiven {
                v = v.allow_unauthenticated();
            }
            let verifier = v
                .build()
                .map_err(|e| format!("tls_server_config.client_ca_file: {e}"))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| {
        format!(
            "tls_server_config: {} and {} do not make a certificate and its key ({e})",
            t.cert_file.display(),
            t.key_file.display()
        )
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_certs(path: &Path, key: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{key}: {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{key}: {}: no certificate in it", path.display()));
    }
    Ok(certs)
}

/// ring's provider, narrowed to the suites and groups the file allows.
fn provider(t: &TlsSettings) -> CryptoProvider {
    let mut p = rustls::crypto::ring::default_provider();
    if !t.cipher_suites.is_empty() {
        p.cipher_suites.retain(|s| {
            s.version() == &rustls::version::TLS13
                || t.cipher_suites.iter().any(|n| go_suite_name(s) == *n)
        });
    }
    if !t.curve_preferences.is_empty() {
        let wanted: Vec<rustls::NamedGroup> = t
            .curve_preferences
            .iter()
            .filter_map(|n| match n.as_str() {
                "X25519" => Some(rustls::NamedGroup::X25519),
                "CurveP256" => Some(rustls::NamedGroup::secp256r1),
                "CurveP384" => Some(rustls::NamedGroup::secp384r1),
                _ => None,
            })
            .collect();
        p.kx_groups.retain(|g| wanted.contains(&g.name()));
    }
    p
}

/// rustls names the ChaCha suites with their hash, Go without.
fn go_suite_name(s: &rustls::SupportedCipherSuite) -> &'static str {
    let name = s.suite().as_str().unwrap_or_default();
    if name.contains("CHACHA20") {
        name.strip_suffix("_SHA256").unwrap_or(name)
    } else {
        name
    }
}

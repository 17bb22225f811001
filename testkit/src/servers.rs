//! Loopback servers on port 0 for the TLS probe tests: rustls, `openssl
//! s_server` (a TLS stack that is not rustls) and hostile non-TLS peers.

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How the rustls test server is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServerMode {
    #[default]
    Default,
    Tls12Only,
    /// Requires a client certificate issued by the given anchor.
    ClientAuthRequired,
}

/// A task serving TLS until dropped.
pub struct Server {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub async fn rustls_server(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    mode: ServerMode,
    client_root: Option<CertificateDer<'static>>,
) -> Server {
    let builder = ServerConfig::builder_with_provider(provider());
    let builder = match mode {
        ServerMode::Tls12Only => builder.with_protocol_versions(&[&rustls::version::TLS12]),
        _ => builder.with_safe_default_protocol_versions(),
    }
    .expect("versions");
    let builder = if mode == ServerMode::ClientAuthRequired {
        let mut roots = RootCertStore::empty();
        roots
            .add(client_root.expect("client auth needs a root"))
            .expect("root");
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .expect("client verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder.with_single_cert(chain, key).expect("server cert");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = tls.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                    }
                }
            });
        }
    });
    Server { addr, task }
}

/// Accepts, writes `greeting` (maybe nothing) and then never says more.
pub async fn raw_server(greeting: &'static [u8]) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut tcp, _)) = listener.accept().await {
            let _ = tcp.write_all(greeting).await;
            held.push(tcp);
        }
    });
    Server { addr, task }
}

/// `openssl s_server` on a port of its choosing, killed on drop.
pub struct OpensslServer {
    pub addr: SocketAddr,
    child: Child,
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `openssl s_server` with a leaf, its key, the rest of the chain
/// and extra arguments (`-no_tls1_3`, ...).
pub fn openssl_server(
    cert: &Path,
    key: &Path,
    chain: Option<&Path>,
    extra: &[&str],
) -> OpensslServer {
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_server",
        "-accept",
        "127.0.0.1:0",
        "-cipher",
        "DEFAULT:@SECLEVEL=0",
    ])
    .arg("-cert")
    .arg(cert)
    .arg("-key")
    .arg(key);
    if let Some(chain) = chain {
        cmd.arg("-cert_chain").arg(chain);
    }
    let mut child = cmd
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn openssl s_server");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("openssl s_server exited before listening")
            .expect("read stdout");
        if let Some(addr) = line.strip_prefix("ACCEPT ") {
            break addr.parse().expect("ACCEPT address");
        }
    };
    // Keep draining stdout so s_server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    OpensslServer { addr, child }
}

//! A loopback HTTP/1.1 server for the HTTP and CRL tests, written on raw
//! tokio sockets so every hostile answer is exactly what the test says:
//! fixed bodies, redirects, a 200 MB stream that is never allocated, and a
//! body dripping one byte a second. It logs each request's path and Host.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What a path answers.
#[derive(Debug, Clone)]
pub enum Route {
    Body {
        status: u16,
        content_type: &'static str,
        body: Arc<Vec<u8>>,
    },
    Redirect {
        status: u16,
        location: String,
    },
    /// `total` zero bytes in 64 KiB writes; `declared` sends
    /// Content-Length, otherwise the body ends when the connection closes.
    Stream {
        total: u64,
        declared: bool,
    },
    /// Declares `total` bytes and sends one per `every`.
    Drip {
        total: u64,
        every: Duration,
    },
}

impl Route {
    pub fn ok(content_type: &'static str, body: impl Into<Vec<u8>>) -> Route {
        Route::Body {
            status: 200,
            content_type,
            body: Arc::new(body.into()),
        }
    }

    pub fn crl(der: Vec<u8>) -> Route {
        Route::ok("application/pkix-crl", der)
    }
}

pub struct HttpServer {
    pub addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    log: Arc<Mutex<Vec<(String, String)>>>,
    /// Body bytes the stream routes managed to write.
    pub streamed: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HttpServer {
    pub async fn start() -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let routes: Arc<Mutex<HashMap<String, Route>>> = Arc::default();
        let log: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let streamed = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn({
            let (routes, log, streamed) = (routes.clone(), log.clone(), streamed.clone());
            async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    let (routes, log, streamed) = (routes.clone(), log.clone(), streamed.clone());
                    tokio::spawn(async move {
                        let _ = serve(tcp, routes, log, streamed).await;
                    });
                }
            }
        });
        HttpServer {
            addr,
            routes,
            log,
            streamed,
            task,
        }
    }

    pub fn route(&self, path: &str, route: Route) {
        self.routes
            .lock()
            .expect("routes")
            .insert(path.to_string(), route);
    }

    /// `(path, Host header)` of every request so far.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.log.lock().expect("log").clone()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        404 => "Not Found",
        _ => "Whatever",
    }
}

async fn serve(
    mut tcp: TcpStream,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    log: Arc<Mutex<Vec<(String, String)>>>,
    streamed: Arc<AtomicU64>,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tcp.read(&mut buf).await?;
        if n == 0 || head.len() > 16 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
    let host = text
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("host").then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    log.lock().expect("log").push((path.clone(), host));
    let route = routes.lock().expect("routes").get(&path).cloned();
    match route {
        None => {
            let body = b"<html><body><h1>404 Not Found</h1></body></html>";
            let h = format!(
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            tcp.write_all(h.as_bytes()).await?;
            tcp.write_all(body).await?;
        }
        Some(Route::Body {
            status,
            content_type,
            body,
        }) => {
            let h = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                reason_phrase(status),
                body.len()
            );
            tcp.write_all(h.as_bytes()).await?;
            tcp.write_all(&body).await?;
        }
        Some(Route::Redirect { status, location }) => {
            let h = format!(
                "HTTP/1.1 {status} {}\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                reason_phrase(status)
            );
            tcp.write_all(h.as_bytes()).await?;
        }
        Some(Route::Stream { total, declared }) => {
            let length = if declared {
                format!("Content-Length: {total}\r\n")
            } else {
                String::new()
            };
            let h = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\n{length}Connection: close\r\n\r\n"
            );
            tcp.write_all(h.as_bytes()).await?;
            let chunk = vec![0u8; 64 * 1024];
            let mut sent = 0u64;
            while sent < total {
                let n = chunk.len().min((total - sent) as usize);
                tcp.write_all(&chunk[..n]).await?;
                sent += n as u64;
                streamed.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
        Some(Route::Drip { total, every }) => {
            let h = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n"
            );
            tcp.write_all(h.as_bytes()).await?;
            for _ in 0..total {
                tcp.write_all(b"0").await?;
                tokio::time::sleep(every).await;
            }
        }
    }
    tcp.shutdown().await?;
    Ok(())
}

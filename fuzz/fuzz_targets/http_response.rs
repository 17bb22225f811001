//! Any bytes as an HTTP server's answer (the port-80 CRL server, an OCSP
//! responder, a `check = "http"` target): one hop of the client ends in a
//! response or an error, never a panic, and the body stays within the cap.
//!
//! The first byte picks the options: bit 0 keeps the body, bit 1 follows
//! redirects, bits 2-3 the body cap (0, 16, 4096 or 65536 bytes), bit 4
//! lets the server speak before the request arrives, bits 5-6 the read size
//! (all at once, 1, 7 or 64 bytes). The rest is what the server sends; the
//! request is swallowed.
#![no_main]

use std::io;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use flowprobe::kinds::http::HttpError;
use flowprobe::kinds::http::client::{FetchOpts, exchange};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::runtime::Runtime;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    })
}

const CAPS: [u64; 4] = [0, 16, 4096, 65536];
const PIECES: [usize; 4] = [usize::MAX, 1, 7, 64];

/// The server's side: answers once the request has been written (as a real
/// server does), unless it speaks first; then EOF.
struct Server<'a> {
    answer: &'a [u8],
    piece: usize,
    asked: bool,
    waiting: Option<Waker>,
}

impl AsyncRead for Server<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.asked {
            self.waiting = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = self.answer.len().min(self.piece).min(buf.remaining());
        let (now, rest) = self.answer.split_at(n);
        buf.put_slice(now);
        self.answer = rest;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Server<'_> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.asked = true;
        if let Some(w) = self.waiting.take() {
            w.wake();
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, answer)) = data.split_first() else {
        return;
    };
    let opts = FetchOpts {
        max_redirects: if mode & 2 != 0 { 5 } else { 0 },
        max_body: CAPS[usize::from((mode >> 2) & 3)],
        keep_body: mode & 1 != 0,
        host_header: None,
    };
    let server = Server {
        answer,
        piece: PIECES[usize::from((mode >> 5) & 3)],
        asked: mode & 16 != 0,
        waiting: None,
    };
    let result = runtime().block_on(exchange(server, "crl.test", "/x.crl", &opts, None));
    if std::env::var_os("FZDEBUG").is_some() {
        eprintln!("{result:?}");
    }
    match result {
        Ok(ex) => {
            assert!(ex.body_bytes <= opts.max_body, "body over the cap");
            assert!(
                ex.body.len() as u64 <= opts.max_body,
                "kept body over the cap"
            );
            if opts.keep_body {
                assert_eq!(ex.body.len() as u64, ex.body_bytes, "kept body miscounted");
            } else {
                assert!(ex.body.is_empty(), "body kept without keep_body");
            }
            assert!(
                ex.body_bytes <= answer.len() as u64,
                "more body than bytes sent"
            );
        }
        Err(e) => {
            assert!(!e.to_string().is_empty(), "an error without a detail");
            if let HttpError::BodyTooLarge {
                declared,
                limit,
                read,
                ..
            } = e
            {
                assert_eq!(limit, opts.max_body, "judged against another cap");
                assert!(
                    declared.is_some_and(|n| n > limit) || read > limit,
                    "too large within the cap"
                );
            }
        }
    }
});

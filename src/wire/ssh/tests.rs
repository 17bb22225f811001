//! Exchange tests over in-memory streams; real and hostile servers are in
//! `tests/peers/ssh_real.rs` and `tests/peers/ssh_hostile.rs`.

use super::inbound::{Inbound, LineRead};
use super::*;
use crate::outcome::Reason;
use proptest::prelude::*;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A server script: reads come from `input` at most `chunk` bytes at a time,
/// writes are collected in `output`.
struct Scripted {
    input: io::Cursor<Vec<u8>>,
    chunk: usize,
    output: Vec<u8>,
    /// Once `input` is read: a reset (RST) instead of end of file.
    reset_at_end: bool,
}

impl Scripted {
    fn new(input: Vec<u8>, chunk: usize) -> Self {
        Scripted {
            input: io::Cursor::new(input),
            chunk,
            output: Vec::new(),
            reset_at_end: false,
        }
    }
}

impl AsyncRead for Scripted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let data = this.input.get_ref();
        let at = (this.input.position() as usize).min(data.len());
        let n = this.chunk.min(buf.remaining()).min(data.len() - at);
        if n == 0 && this.reset_at_end {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        buf.put_slice(&data[at..at + n]);
        this.input.set_position((at + n) as u64);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Scripted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.output.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn sample_kexinit() -> KexInit {
    let names = |s: &str| s.split(',').map(str::to_owned).collect::<Vec<_>>();
    KexInit {
        cookie: [1; 16],
        kex_algorithms: names("ecdh-sha2-nistp256,kex-strict-s-v00@openssh.com"),
        server_host_key_algorithms: names("rsa-sha2-512"),
        encryption_client_to_server: names("aes256-ctr"),
        encryption_server_to_client: names("aes256-ctr"),
        mac_client_to_server: names("hmac-sha2-512"),
        mac_server_to_client: names("hmac-sha2-512"),
        compression_client_to_server: names("none"),
        compression_server_to_client: names("none"),
        languages_client_to_server: vec![],
        languages_server_to_client: vec![],
        first_kex_packet_follows: false,
        reserved: 0,
    }
}

fn server_bytes(banner: &str) -> Vec<u8> {
    let mut bytes = banner.as_bytes().to_vec();
    bytes.extend(encode_packet(&sample_kexinit().encode()));
    bytes
}

fn exchange_script(input: Vec<u8>, chunk: usize) -> (Result<SshHello, SshWireError>, Vec<u8>) {
    let mut stream = Scripted::new(input, chunk);
    let result = run(exchange(&mut stream, &WireLimits::default()));
    (result, stream.output)
}

#[test]
fn reads_banner_and_kexinit_in_any_chunking() {
    let input = server_bytes("hello there\r\nSSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
    for chunk in [1, 3, 7, 64, 4096] {
        let (result, output) = exchange_script(input.clone(), chunk);
        let hello = result.unwrap_or_else(|e| panic!("chunk {chunk}: {e}"));
        assert_eq!(hello.protocol, "2.0");
        assert_eq!(hello.software, "OpenSSH_9.2p1");
        assert_eq!(hello.comments.as_deref(), Some("Debian-2+deb12u3"));
        assert_eq!(hello.pre_banner_lines, 1);
        assert_eq!(hello.kexinit, sample_kexinit());
        // Our identification, then one DISCONNECT packet, nothing else.
        let rest = output
            .strip_prefix(OUR_IDENTIFICATION.as_bytes())
            .expect("identification first");
        assert_eq!(rest.len() % 8, 0);
        assert_eq!(
            u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize + 4,
            rest.len()
        );
        assert!(rest[4] >= 4, "padding");
        assert_eq!(rest[5], 1, "SSH_MSG_DISCONNECT");
        assert_eq!(&rest[6..10], &11u32.to_be_bytes(), "BY_APPLICATION");
    }
}

#[test]
fn our_identification_is_valid() {
    let line = OUR_IDENTIFICATION.trim_end_matches("\r\n");
    let id = parse_identification(line.as_bytes()).unwrap();
    assert_eq!(id.protocol, "2.0");
    assert!(
        !id.software.contains('-'),
        "software version must not contain '-'"
    );
    assert!(OUR_IDENTIFICATION.len() <= 255);
}

#[test]
fn encode_packet_pads_to_blocks() {
    for len in 0..40 {
        let packet = encode_packet(&vec![20; len]);
        let padding = usize::from(packet[4]);
        assert_eq!(packet.len() % 8, 0, "len {len}");
        assert!((4..12).contains(&padding), "len {len}");
        assert_eq!(packet.len(), 4 + 1 + len + padding);
    }
}

#[test]
fn errors_map_to_reasons() {
    let cases: Vec<(Vec<u8>, Reason)> = vec![
        (b"".to_vec(), Reason::SshBanner),
        (b"SSH-1.5-old\r\n".to_vec(), Reason::SshBanner),
        (b"SSH-2.0\r\n".to_vec(), Reason::SshBanner),
        (vec![b'x'; 300], Reason::SshBanner),
        (b"x\n".repeat(65), Reason::SshBanner),
        (b"SSH-2.0-x\r\n\x80\0\0\0".to_vec(), Reason::ProtocolError),
        (b"SSH-2.0-x\r\n\0\0\0\x05".to_vec(), Reason::ProtocolError),
        (b"SSH-2.0-x\r\n\0\0\0\x0d".to_vec(), Reason::ProtocolError),
        (
            b"SSH-2.0-x\r\n\0\0\0\x0c\x02".to_vec(),
            Reason::ProtocolError,
        ),
        (
            b"SSH-2.0-x\r\n\0\0\0\x0c\x0b\x14".to_vec(),
            Reason::ProtocolError,
        ),
        (
            b"SSH-2.0-x\r\n\0\0\0\x0c\x04\x15aaaaaa\0\0\0\0".to_vec(),
            Reason::ProtocolError,
        ),
        (
            b"SSH-2.0-x\r\n\0\0\0\x0c\x04\x14aaaaaa\0\0\0\0".to_vec(),
            Reason::ProtocolError,
        ),
    ];
    for (input, want) in cases {
        let (result, _) = exchange_script(input.clone(), 4096);
        let err = result.expect_err("must fail");
        assert_eq!(err.reason(), want, "{} -> {err}", input.escape_ascii());
    }
}

#[test]
fn disconnect_before_kexinit_is_reported() {
    let mut payload = vec![1];
    payload.extend_from_slice(&2u32.to_be_bytes());
    payload.extend_from_slice(&7u32.to_be_bytes());
    payload.extend_from_slice(b"go away");
    payload.extend_from_slice(&0u32.to_be_bytes());
    let mut input = b"SSH-2.0-x\r\n".to_vec();
    input.extend(encode_packet(&payload));
    let (result, _) = exchange_script(input, 4096);
    match result {
        Err(SshWireError::Disconnected { code, description }) => {
            assert_eq!((code, description.as_str()), (2, "go away"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn http_answer_names_its_first_line() {
    let (result, _) = exchange_script(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(), 4096);
    match result {
        Err(SshWireError::ClosedBeforeIdentification {
            pre_banner_lines: 2,
            first_line: Some(first),
        }) => assert_eq!(first, "HTTP/1.1 400 Bad Request"),
        other => panic!("{other:?}"),
    }
}

/// The close of a server that accepted and sent nothing but (at most) an
/// OpenSSH listener's refusal is its own error, told from a wrong service.
#[test]
fn close_right_after_accept_is_told_apart() {
    use RefusalNotice::*;
    let cases: [(&[u8], bool, Option<RefusalNotice>, Reason); 6] = [
        (b"", false, None, Reason::SshBanner),
        (b"", true, None, Reason::Reset),
        (
            b"Not allowed at this time\r\n",
            false,
            Some(NotAllowed),
            Reason::SshBanner,
        ),
        (
            b"Not allowed at this time\r\n",
            true,
            Some(NotAllowed),
            Reason::Reset,
        ),
        (
            b"Exceeded MaxStartups\r\n",
            false,
            Some(ExceededMaxStartups),
            Reason::SshBanner,
        ),
        (
            b"Exceeded MaxStartups\n",
            true,
            Some(ExceededMaxStartups),
            Reason::Reset,
        ),
    ];
    for (input, reset, want_notice, want_reason) in cases {
        for chunk in [1, 4096] {
            let mut stream = Scripted::new(input.to_vec(), chunk);
            stream.reset_at_end = reset;
            let err = run(exchange(&mut stream, &WireLimits::default())).expect_err("fails");
            let close = if reset { Close::Reset } else { Close::Fin };
            match &err {
                SshWireError::ClosedBeforeBanner { close: c, notice } => {
                    assert_eq!((*c, *notice), (close, want_notice), "{err}");
                }
                other => panic!("{}: {other:?}", input.escape_ascii()),
            }
            assert_eq!(err.reason(), want_reason, "{err}");
            assert!(
                err.to_string()
                    .starts_with("the server accepted the connection and closed it"),
                "{err}"
            );
        }
    }
}

/// Anything more than the bare notice is a server that said something
/// else: the old error, with its first line.
#[test]
fn more_than_a_refusal_notice_is_not_an_early_close() {
    for (input, reset) in [
        (&b"Not allowed at this time\r\nbye\r\n"[..], false),
        (b"Not allowed", false),
        (b"Not allowed at this time\r\npartial", false),
        (b"hello\r\n", false),
    ] {
        let mut stream = Scripted::new(input.to_vec(), 4096);
        stream.reset_at_end = reset;
        let err = run(exchange(&mut stream, &WireLimits::default())).expect_err("fails");
        assert!(
            matches!(err, SshWireError::ClosedBeforeIdentification { .. }),
            "{}: {err:?}",
            input.escape_ascii()
        );
    }
    // A reset after other lines stays an I/O reset.
    let mut stream = Scripted::new(b"hello\r\n".to_vec(), 4096);
    stream.reset_at_end = true;
    let err = run(exchange(&mut stream, &WireLimits::default())).expect_err("fails");
    assert!(matches!(err, SshWireError::Io(_)), "{err:?}");
    assert_eq!(err.reason(), Reason::Reset);
}

#[test]
fn endless_line_costs_one_line_of_memory() {
    run(async {
        let mut endless = tokio::io::repeat(b'A');
        let mut inbound = Inbound::new();
        let read = inbound.line(&mut endless, 255).await.unwrap();
        assert!(matches!(read, LineRead::TooLong));
        assert!(inbound.allocated() <= 255, "{}", inbound.allocated());
    });
}

fn arbitrary_server() -> impl Strategy<Value = Vec<u8>> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..600);
    prop_oneof![
        bytes(),
        bytes().prop_map(|tail| [b"SSH-2.0-x\r\n".to_vec(), tail].concat()),
        (any::<u32>(), bytes()).prop_map(|(len, tail)| {
            [b"SSH-2.0-x\r\n".to_vec(), len.to_be_bytes().to_vec(), tail].concat()
        }),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(at, byte)| {
            let mut good = server_bytes("SSH-2.0-x\r\n");
            let at = at.index(good.len());
            good[at] = byte;
            good
        }),
    ]
}

proptest! {
    #[test]
    fn any_server_bytes_end_in_a_result(input in arbitrary_server(), chunk in 1usize..64) {
        let (result, _) = exchange_script(input, chunk);
        if let Err(e) = result {
            prop_assert_ne!(e.reason(), Reason::Ok);
        }
    }
}

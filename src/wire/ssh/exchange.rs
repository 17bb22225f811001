//! One probe conversation: identifications, the server's KEXINIT, goodbye.

use super::error::{Close, RefusalNotice, is_reset, printable};
use super::inbound::{Inbound, LineRead};
use super::{
    IdentificationError, KexInit, SshWireError, is_identification_line, parse_identification,
    parse_kexinit,
};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

/// What we send: protocol 2.0, our name and version, no comments.
pub const OUR_IDENTIFICATION: &str =
    concat!("SSH-2.0-flowprobe_", env!("CARGO_PKG_VERSION"), "\r\n");

/// `SSH_MSG_DISCONNECT` and `SSH_DISCONNECT_BY_APPLICATION` (RFC 4253 11.1, 4250 4.2.2).
const MSG_DISCONNECT: u8 = 1;
const DISCONNECT_BY_APPLICATION: u32 = 11;

/// Bounds on what a server may make us read; the caller bounds time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireLimits {
    /// Per line, terminator included; RFC 4253 4.2 says 255.
    pub max_line_bytes: usize,
    /// Lines allowed before the identification.
    pub max_pre_banner_lines: usize,
    /// Bytes allowed before the identification.
    pub max_pre_banner_bytes: usize,
    /// `packet_length` field limit; OpenSSH uses 256 KiB, a KEXINIT is ~2 KiB.
    pub max_packet_length: u32,
}

impl Default for WireLimits {
    fn default() -> Self {
        WireLimits {
            max_line_bytes: 255,
            max_pre_banner_lines: 64,
            max_pre_banner_bytes: 16 * 1024,
            max_packet_length: 256 * 1024,
        }
    }
}

/// What the server told us before any key exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SshHello {
    /// `2.0`, or `1.99` for a server that also accepts SSH-1.
    pub protocol: String,
    pub software: String,
    pub comments: Option<String>,
    /// Free-form lines the server sent before its identification.
    pub pre_banner_lines: usize,
    pub kexinit: KexInit,
}

/// Reads the server's identification and KEXINIT, then disconnects.
///
/// Our identification goes out first, as the OpenSSH client does: both sides
/// may send at once (RFC 4253 4.2), and a non-SSH service (an HTTP server)
/// then answers with an error we can show instead of waiting for a timeout.
/// We never send KEXINIT, so no key exchange starts and nothing
/// authenticates. The goodbye (`SSH_MSG_DISCONNECT`, by application, then a
/// write shutdown) is best effort: once the KEXINIT is read the probe has
/// its facts, and a server that already hung up does not change them.
///
/// Apply the time budget around this future (`tokio::time::timeout`);
/// dropping it at any await is safe.
pub async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    limits: &WireLimits,
) -> Result<SshHello, SshWireError> {
    send_identification(stream).await?;
    let mut inbound = Inbound::new();
    let (id, pre_banner_lines) = read_identification(stream, &mut inbound, limits).await?;
    let kexinit = read_kexinit(stream, &mut inbound, limits).await?;
    let _ = say_goodbye(stream).await;
    Ok(SshHello {
        protocol: id.protocol,
        software: id.software,
        comments: id.comments,
        pre_banner_lines,
        kexinit,
    })
}

/// Writes our identification. A reset here comes before any byte of the
/// server's: it closed the connection as soon as it accepted it.
async fn send_identification<S: AsyncWrite + Unpin>(stream: &mut S) -> Result<(), SshWireError> {
    let sent = async {
        stream.write_all(OUR_IDENTIFICATION.as_bytes()).await?;
        stream.flush().await
    };
    sent.await.map_err(|e| {
        if is_reset(&e) || e.kind() == std::io::ErrorKind::BrokenPipe {
            SshWireError::ClosedBeforeBanner {
                close: Close::Reset,
                notice: None,
            }
        } else {
            SshWireError::Io(e.into())
        }
    })
}

async fn read_identification<S: AsyncRead + Unpin>(
    stream: &mut S,
    inbound: &mut Inbound,
    limits: &WireLimits,
) -> Result<(super::Identification, usize), SshWireError> {
    let mut lines = 0;
    let mut bytes = 0;
    let mut first_line = None;
    // Set while the only line so far is an OpenSSH listener's refusal.
    let mut notice = None;
    loop {
        let read = match inbound.line(stream, limits.max_line_bytes).await {
            Ok(read) => read,
            Err(e) if is_reset(&e) => {
                return Err(closed_before_banner(inbound, lines, notice, Close::Reset)
                    .unwrap_or(SshWireError::Io(e.into())));
            }
            Err(e) => return Err(SshWireError::Io(e.into())),
        };
        let line =
            match read {
                LineRead::Line(line) => line,
                LineRead::TooLong => {
                    return Err(SshWireError::LineTooLong {
                        limit: limits.max_line_bytes,
                    });
                }
                LineRead::Closed => {
                    return Err(closed_before_banner(inbound, lines, notice, Close::Fin)
                        .unwrap_or(SshWireError::ClosedBeforeIdentification {
                            pre_banner_lines: lines,
                            first_line,
                        }));
                }
            };
        if is_identification_line(line) {
            return match parse_identification(line) {
                Ok(id) => Ok((id, lines)),
                Err(IdentificationError::Ssh1Only { protocol }) => Err(SshWireError::Ssh1Only {
                    protocol,
                    line: printable(line),
                }),
                Err(problem) => Err(SshWireError::InvalidIdentification {
                    line: printable(line),
                    problem,
                }),
            };
        }
        notice = if lines == 0 {
            RefusalNotice::of_line(line)
        } else {
            None
        };
        lines += 1;
        // The terminator is not in `line`; count at least its `\n`.
        bytes += line.len() + 1;
        first_line.get_or_insert_with(|| printable(line));
        if lines > limits.max_pre_banner_lines || bytes > limits.max_pre_banner_bytes {
            return Err(SshWireError::TooManyPreBannerLines {
                lines,
                bytes,
                limit_lines: limits.max_pre_banner_lines,
                limit_bytes: limits.max_pre_banner_bytes,
            });
        }
    }
}

/// The close of a server that sent nothing, or nothing but a refusal
/// notice, before it closed; `None` when it sent anything else.
fn closed_before_banner(
    inbound: &Inbound,
    lines: usize,
    notice: Option<RefusalNotice>,
    close: Close,
) -> Option<SshWireError> {
    let silent = lines == 0 || (lines == 1 && notice.is_some());
    (silent && inbound.pending() == 0).then_some(SshWireError::ClosedBeforeBanner { close, notice })
}

/// Reads one unencrypted binary packet (RFC 4253 6) and parses it as KEXINIT.
async fn read_kexinit<S: AsyncRead + Unpin>(
    stream: &mut S,
    inbound: &mut Inbound,
    limits: &WireLimits,
) -> Result<KexInit, SshWireError> {
    let header = inbound
        .peek(stream, 4)
        .await?
        .map_err(|received| truncated("packet length", 4, received))?;
    let packet_length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    check_packet_length(packet_length, limits)?;
    let total = 4 + packet_length as usize;
    let packet = inbound
        .peek(stream, total)
        .await?
        .map_err(|received| truncated("KEXINIT packet", total, received))?;
    let padding_length = packet[4];
    // Padding is at least 4 bytes and leaves room for a message number.
    if padding_length < 4 || u32::from(padding_length) + 2 > packet_length {
        return Err(SshWireError::BadPadding {
            padding_length,
            packet_length,
        });
    }
    let payload = &packet[5..total - usize::from(padding_length)];
    let result = match payload[0] {
        super::MSG_KEXINIT => parse_kexinit(payload).map_err(SshWireError::from),
        MSG_DISCONNECT => Err(disconnected(&payload[1..])),
        message_type => Err(SshWireError::NotKexInit { message_type }),
    };
    inbound.consume(total);
    result
}

fn check_packet_length(packet_length: u32, limits: &WireLimits) -> Result<(), SshWireError> {
    if packet_length > limits.max_packet_length {
        return Err(SshWireError::PacketTooLarge {
            packet_length,
            limit: limits.max_packet_length,
        });
    }
    // Smallest legal unencrypted packet: 16 bytes in all (RFC 4253 6).
    if packet_length < 12 {
        return Err(SshWireError::BadPacketLength {
            packet_length,
            rule: "a packet is at least 16 bytes",
        });
    }
    // `packet_length + 4` is a multiple of 8, written so it cannot overflow.
    if packet_length % 8 != 4 {
        return Err(SshWireError::BadPacketLength {
            packet_length,
            rule: "a packet before key exchange is a multiple of 8 bytes",
        });
    }
    Ok(())
}

fn truncated(what: &'static str, expected: usize, received: usize) -> SshWireError {
    SshWireError::Truncated {
        what,
        expected,
        received,
    }
}

/// Reads `uint32 reason, string description` leniently: the goodbye itself
/// is the fact, its text only helps people.
fn disconnected(body: &[u8]) -> SshWireError {
    let word = |b: &[u8]| -> Option<u32> { Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?)) };
    let code = word(body).unwrap_or(0);
    let description = body
        .get(4..)
        .and_then(|rest| {
            let len = usize::try_from(word(rest)?).ok()?;
            rest.get(4..4usize.checked_add(len)?)
        })
        .map(printable)
        .unwrap_or_default();
    SshWireError::Disconnected { code, description }
}

/// Frames `payload` as an unencrypted binary packet: padded to the 8-byte
/// block with at least 4 bytes of padding. Zero padding is fine here: the
/// RFC's random padding protects encrypted packets, and these are not.
pub fn encode_packet(payload: &[u8]) -> Vec<u8> {
    let unpadded = 4 + 1 + payload.len();
    let mut padding = 8 - unpadded % 8;
    if padding < 4 {
        padding += 8;
    }
    let packet_length = (1 + payload.len() + padding) as u32;
    let mut packet = Vec::with_capacity(unpadded + padding);
    packet.extend_from_slice(&packet_length.to_be_bytes());
    packet.push(padding as u8);
    packet.extend_from_slice(payload);
    packet.resize(unpadded + padding, 0);
    packet
}

fn disconnect_payload() -> Vec<u8> {
    let description = b"flowprobe: probe finished";
    let mut payload = vec![MSG_DISCONNECT];
    payload.extend_from_slice(&DISCONNECT_BY_APPLICATION.to_be_bytes());
    payload.extend_from_slice(&(description.len() as u32).to_be_bytes());
    payload.extend_from_slice(description);
    payload.extend_from_slice(&0u32.to_be_bytes()); // language tag: empty
    payload
}

async fn say_goodbye<S: AsyncWrite + Unpin>(stream: &mut S) -> std::io::Result<()> {
    stream
        .write_all(&encode_packet(&disconnect_payload()))
        .await?;
    stream.shutdown().await
}

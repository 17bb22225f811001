//! The server's first answer, from the bytes it sent: a ServerHello (or
//! HelloRetryRequest, a ServerHello with a fixed random) or an alert.
//!
//! [`scan_answer`] looks at everything received so far and says how many
//! bytes it needs next or what the answer is, so the reader can never be
//! made to buffer more than one record or more than [`MAX_SERVER_HELLO`].

use super::error::{ServerHelloError, TlsWireError, printable};

/// Largest plaintext record (RFC 8446 5.1: 2^14).
pub const MAX_RECORD: usize = 1 << 14;
/// Largest ServerHello body: version, random, a 32-byte session id,
/// suite, compression and 2^16 - 1 bytes of extensions.
pub const MAX_SERVER_HELLO: usize = 2 + 32 + 33 + 2 + 1 + 2 + 0xffff;

/// Records a ServerHello may be split over before we give up: a real one
/// fits in one; the largest possible needs five.
pub const MAX_RECORDS: usize = 16;

/// SHA-256 of "HelloRetryRequest" (RFC 8446 4.1.3): the random of an HRR.
pub const HRR_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;
const EXT_KEY_SHARE: u16 = 0x0033;

/// A parsed ServerHello; every field as sent, so it re-encodes exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    pub legacy_version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub cipher_suite: u16,
    pub compression: u8,
    /// `(type, body)` in the order sent; `None` when the hello had no
    /// extensions block at all (allowed before TLS 1.3).
    pub extensions: Option<Vec<(u16, Vec<u8>)>>,
}

impl ServerHello {
    /// A HelloRetryRequest (TLS 1.3): the server wants another key share.
    pub(crate) fn is_retry(&self) -> bool {
        self.random == HRR_RANDOM
    }

    fn extension(&self, kind: u16) -> Option<&[u8]> {
        self.extensions
            .as_ref()?
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, b)| b.as_slice())
    }

    /// `supported_versions`' selected version, when sent (checked to be
    /// two bytes by the parser).
    pub(crate) fn selected_version(&self) -> Option<u16> {
        self.extension(EXT_SUPPORTED_VERSIONS)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_be_bytes)
    }

    /// The negotiated version: `supported_versions` wins (RFC 8446 4.2.1).
    pub(crate) fn version(&self) -> u16 {
        self.selected_version().unwrap_or(self.legacy_version)
    }

    /// The key-share group: the server's share, or the group an HRR asks for.
    #[cfg(test)]
    pub(crate) fn key_share_group(&self) -> Option<u16> {
        let b = self.extension(EXT_KEY_SHARE)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }

    /// The body, as [`parse_server_hello`] reads it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.legacy_version.to_be_bytes());
        out.extend_from_slice(&self.random);
        out.push(self.session_id.len() as u8);
        out.extend_from_slice(&self.session_id);
        out.extend_from_slice(&self.cipher_suite.to_be_bytes());
        out.push(self.compression);
        if let Some(exts) = &self.extensions {
            let mut block = Vec::new();
            for (k, b) in exts {
                block.extend_from_slice(&k.to_be_bytes());
                block.extend_from_slice(&(b.len() as u16).to_be_bytes());
                block.extend_from_slice(b);
            }
            out.extend_from_slice(&(block.len() as u16).to_be_bytes());
            out.extend_from_slice(&block);
        }
        out
    }
}

/// Reads from a slice, every take bounded by what is left.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ServerHelloError> {
        if self.rest.len() < n {
            return Err(ServerHelloError::Truncated { what });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, ServerHelloError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, ServerHelloError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
}

/// Parses a ServerHello body (after the 4-byte handshake header).
pub fn parse_server_hello(body: &[u8]) -> Result<ServerHello, ServerHelloError> {
    let mut r = Reader { rest: body };
    let legacy_version = r.u16("version")?;
    let mut random = [0u8; 32];
    random.copy_from_slice(r.take(32, "random")?);
    let sid_len = r.u8("session id")?;
    if sid_len > 32 {
        return Err(ServerHelloError::SessionIdTooLong { length: sid_len });
    }
    let session_id = r.take(usize::from(sid_len), "session id")?.to_vec();
    let cipher_suite = r.u16("cipher suite")?;
    let compression = r.u8("compression method")?;
    let extensions = if r.rest.is_empty() {
        None
    } else {
        let len = r.u16("extensions length")?;
        let mut block = Reader {
            rest: r.take(usize::from(len), "extensions")?,
        };
        let mut exts: Vec<(u16, Vec<u8>)> = Vec::new();
        while !block.rest.is_empty() {
            let kind = block.u16("extension type")?;
            let len = block.u16("extension length")?;
            let data = block.take(usize::from(len), "extension body")?;
            if exts.iter().any(|(k, _)| *k == kind) {
                return Err(ServerHelloError::DuplicateExtension { kind });
            }
            let ok = match kind {
                EXT_SUPPORTED_VERSIONS => data.len() == 2,
                EXT_KEY_SHARE => data.len() >= 2,
                _ => true,
            };
            if !ok {
                let what = if kind == EXT_KEY_SHARE {
                    "key_share"
                } else {
                    "supported_versions"
                };
                return Err(ServerHelloError::BadExtension { what });
            }
            exts.push((kind, data.to_vec()));
        }
        Some(exts)
    };
    if !r.rest.is_empty() {
        return Err(ServerHelloError::TrailingBytes {
            count: r.rest.len(),
        });
    }
    Ok(ServerHello {
        legacy_version,
        random,
        session_id,
        cipher_suite,
        compression,
        extensions,
    })
}

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Hello(ServerHello),
    /// An alert record (RFC 8446 6): `handshake_failure` (40) and
    /// `protocol_version` (70) are the usual refusals.
    Alert {
        level: u8,
        description: u8,
    },
}

/// Progress over the bytes received so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    /// Not enough yet: wait until this many bytes in total have arrived.
    Need(usize),
    /// The answer, complete.
    Done(Answer),
}

const ALERT_WARNING: u8 = 1;
const ALERT_CLOSE_NOTIFY: u8 = 0;

/// Reads the records in `received` up to the first answer. Handshake
/// records are joined until the first message is complete; warning alerts
/// before it are skipped (within [`MAX_RECORDS`]); anything but handshake
/// and alert records before it is an error.
pub fn scan_answer(received: &[u8]) -> Result<Scan, TlsWireError> {
    let mut at = 0usize;
    // The first handshake message's bytes, across records.
    let mut handshake: Vec<u8> = Vec::new();
    for _ in 0..MAX_RECORDS {
        let Some(header) = received.get(at..at + 5) else {
            return Ok(Scan::Need(at + 5));
        };
        let content_type = header[0];
        let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if !matches!(content_type, 20..=24) || header[1] != 3 {
            return Err(TlsWireError::NotTls {
                first: printable(&received[..received.len().min(40)]),
            });
        }
        if length > MAX_RECORD {
            return Err(TlsWireError::RecordTooLarge {
                length,
                limit: MAX_RECORD,
            });
        }
        let what = match content_type {
            21 => "alert",
            22 => "handshake",
            other => {
                return Err(TlsWireError::UnexpectedRecord {
                    content_type: other,
                });
            }
        };
        if length == 0 {
            return Err(TlsWireError::EmptyRecord { what });
        }
        let Some(fragment) = received.get(at + 5..at + 5 + length) else {
            return Ok(Scan::Need(at + 5 + length));
        };
        at += 5 + length;
        if content_type == 21 {
            if !handshake.is_empty() || fragment.len() < 2 || fragment.len() % 2 != 0 {
                // An alert in the middle of a hello, or a cut alert.
                return Err(TlsWireError::UnexpectedRecord { content_type });
            }
            // Warnings before the hello are not the answer: Apache and
            // OpenSSL send unrecognized_name (112) at warning level when
            // SNI matches no virtual host, then the ServerHello. The
            // first fatal alert or close_notify is.
            let answer = fragment
                .chunks_exact(2)
                .find(|a| a[0] != ALERT_WARNING || a[1] == ALERT_CLOSE_NOTIFY);
            if let Some(a) = answer {
                return Ok(Scan::Done(Answer::Alert {
                    level: a[0],
                    description: a[1],
                }));
            }
            continue;
        }
        handshake.extend_from_slice(fragment);
        if handshake.len() < 4 {
            continue;
        }
        if handshake[0] != 2 {
            return Err(TlsWireError::NotServerHello {
                message_type: handshake[0],
            });
        }
        let body_len = usize::from(handshake[1]) << 16
            | usize::from(handshake[2]) << 8
            | usize::from(handshake[3]);
        if body_len > MAX_SERVER_HELLO {
            return Err(TlsWireError::HandshakeTooLarge {
                length: body_len,
                limit: MAX_SERVER_HELLO,
            });
        }
        if handshake.len() >= 4 + body_len {
            let hello = parse_server_hello(&handshake[4..4 + body_len])?;
            return Ok(Scan::Done(Answer::Hello(hello)));
        }
    }
    Err(TlsWireError::TooManyRecords { limit: MAX_RECORDS })
}

//! The server's Certificate message of a TLS 1.2 (or older) handshake,
//! read as a stream (RFC 5246 7.4.2): the records after our ClientHello,
//! the ServerHello, then the certificate list, counted as it arrives.
//!
//! rustls refuses any handshake message over 64 KiB, so a server whose
//! chain is larger (a 2 MB certificate, a 300-certificate chain) fails its
//! handshake without one certificate fact. This scan is the second look:
//! it never holds the whole message, only what [`CertificateLimits`]
//! allows, so a server claiming 2^24 - 1 bytes costs at most the limits,
//! and it keeps what arrived whatever ends it (an alert, a close, garbage,
//! the caller's deadline). Under TLS 1.3 the Certificate is encrypted:
//! the scan ends with [`CertificateError::Tls13`] when a server picks it.
//!
//! [`CertificateScan::feed`] takes the bytes in any split;
//! [`read_certificate`] drives it over a stream.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::error::{ServerHelloError, printable};
use super::server_hello::{MAX_RECORD, MAX_SERVER_HELLO, ServerHello, parse_server_hello};

const CONTENT_ALERT: u8 = 21;
const CONTENT_HANDSHAKE: u8 = 22;
const SERVER_HELLO: u8 = 2;
const CERTIFICATE: u8 = 11;

/// What a scan keeps and how far it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateLimits {
    /// The largest leaf kept whole; a larger one is only measured.
    pub max_leaf: usize,
    /// Bytes of the certificates after the leaf kept whole, together.
    pub max_rest_bytes: usize,
    /// Certificates after the leaf kept whole.
    pub max_rest_count: usize,
    /// Bytes read in all (record headers included) before giving up.
    pub max_read: usize,
}

impl Default for CertificateLimits {
    /// 1 MiB for the leaf, 512 KiB or 32 certificates for the rest (a real
    /// path is under ten), and 16 MiB + 128 KiB read: the largest message
    /// TLS can carry (2^24 - 1 bytes), its record headers and the
    /// ServerHello.
    fn default() -> Self {
        CertificateLimits {
            max_leaf: 1 << 20,
            max_rest_bytes: 512 << 10,
            max_rest_count: 32,
            max_read: (1 << 24) + (128 << 10),
        }
    }
}

/// What arrived so far; valid whatever ended the scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateFacts {
    pub server_hello: Option<ServerHello>,
    /// The Certificate message's body length, as its header claims.
    pub message_length: Option<usize>,
    /// Body bytes of the Certificate message that arrived.
    pub received: usize,
    /// Certificates whose bytes all arrived.
    pub complete: usize,
    /// The leaf's length as claimed, once its length field arrived.
    pub leaf_length: Option<usize>,
    /// The certificates kept whole, leaf first: a prefix of the list
    /// (nothing after the first certificate not kept).
    pub kept: Vec<Vec<u8>>,
    /// The whole Certificate message arrived.
    pub done: bool,
    /// Bytes fed in all.
    pub read: usize,
}

/// Why a scan ended before the whole Certificate message arrived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("not a TLS record: {first:?}")]
    NotTls { first: String },
    #[error("record of {length} bytes over the limit of {limit}")]
    RecordTooLarge { length: usize, limit: usize },
    #[error("empty handshake record")]
    EmptyRecord,
    #[error("alert record of {length} bytes (2 expected)")]
    BadAlert { length: usize },
    #[error("record of content type {content_type} before the certificate message")]
    UnexpectedRecord { content_type: u8 },
    /// The server ended the handshake: `protocol_version` (70) or
    /// `handshake_failure` (40) from a server that refuses TLS 1.2.
    #[error("server sent alert {name} ({description})")]
    Alert {
        level: u8,
        description: u8,
        name: String,
    },
    #[error("first handshake message is type {message_type}, not ServerHello (2)")]
    NotServerHello { message_type: u8 },
    #[error("ServerHello of {length} bytes over the limit of {limit}")]
    ServerHelloTooLarge { length: usize, limit: usize },
    #[error("malformed ServerHello: {0}")]
    MalformedServerHello(#[from] ServerHelloError),
    /// A TLS 1.3 ServerHello (or HelloRetryRequest): what follows is
    /// encrypted.
    #[error("server chose TLS 1.3, where the certificate message is encrypted")]
    Tls13,
    #[error("server chose unknown version 0x{version:04x}")]
    UnknownVersion { version: u16 },
    /// An anonymous or PSK suite, or a server that skips its certificate.
    #[error("handshake message type {message_type} after the ServerHello, not Certificate (11)")]
    NoCertificate { message_type: u8 },
    #[error("certificate message of {length} bytes cannot hold its list length")]
    ShortMessage { length: usize },
    #[error("certificate list of {list} bytes in a message of {message} bytes (list + 3 expected)")]
    ListMismatch { list: usize, message: usize },
    #[error("certificate list ends inside the length of certificate {position}")]
    ListTruncated { position: usize },
    #[error("certificate {position} is empty")]
    EmptyCertificate { position: usize },
    #[error("certificate {position} of {length} bytes overruns the list ({left} bytes left)")]
    CertificateOverrun {
        position: usize,
        length: usize,
        left: usize,
    },
    #[error("more than {limit} bytes read without the whole certificate message")]
    ReadLimit { limit: usize },
    #[error("connection closed after {read} bytes")]
    Closed { read: usize },
    #[error("I/O error: {detail}")]
    Io { detail: String },
}

impl From<io::Error> for CertificateError {
    fn from(e: io::Error) -> Self {
        CertificateError::Io {
            detail: e.to_string(),
        }
    }
}

/// Where the record layer is.
#[derive(Debug)]
enum Record {
    Header { buf: [u8; 5], have: usize },
    Body { content_type: u8, left: usize },
}

/// Where the handshake stream is.
#[derive(Debug)]
enum Handshake {
    /// A message header; `hello_seen` says which message it must start.
    Header {
        buf: [u8; 4],
        have: usize,
    },
    ServerHello {
        body: Vec<u8>,
        need: usize,
    },
    ListLength {
        buf: [u8; 3],
        have: usize,
    },
    CertLength {
        buf: [u8; 3],
        have: usize,
    },
    /// `keep` holds the certificate's bytes so far when it is kept.
    CertBody {
        left: usize,
        keep: Option<Vec<u8>>,
    },
    Done,
}

/// A Certificate message being read: feed it bytes as they arrive.
#[derive(Debug)]
pub struct CertificateScan {
    limits: CertificateLimits,
    facts: CertificateFacts,
    record: Record,
    handshake: Handshake,
    hello_seen: bool,
    alert: Vec<u8>,
    /// Bytes of the certificate list not yet read.
    list_left: usize,
    /// Bytes kept of the certificates after the leaf.
    rest_kept: usize,
    /// Every certificate so far was kept (the kept list stays a prefix).
    keeping: bool,
    failed: Option<CertificateError>,
}

fn u24(b: [u8; 3]) -> usize {
    usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2])
}

/// Copies into `buf[*have..]` from `input`; returns what is left of it.
fn fill<'a>(buf: &mut [u8], have: &mut usize, input: &'a [u8]) -> &'a [u8] {
    let take = (buf.len() - *have).min(input.len());
    buf[*have..*have + take].copy_from_slice(&input[..take]);
    *have += take;
    &input[take..]
}

fn alert_name(description: u8) -> String {
    let name = format!("{:?}", rustls::AlertDescription::from(description));
    // rustls names the ones it does not know `Unknown(n)`.
    if name.starts_with("Unknown") {
        "unknown".to_owned()
    } else {
        name
    }
}

impl CertificateScan {
    pub fn new(limits: CertificateLimits) -> Self {
        CertificateScan {
            limits,
            facts: CertificateFacts::default(),
            record: Record::Header {
                buf: [0; 5],
                have: 0,
            },
            handshake: Handshake::Header {
                buf: [0; 4],
                have: 0,
            },
            hello_seen: false,
            alert: Vec::new(),
            list_left: 0,
            rest_kept: 0,
            keeping: true,
            failed: None,
        }
    }

    pub fn facts(&self) -> &CertificateFacts {
        &self.facts
    }

    pub(crate) fn into_facts(self) -> CertificateFacts {
        self.facts
    }

    /// The error that ended the scan, if one did.
    pub(crate) fn error(&self) -> Option<&CertificateError> {
        self.failed.as_ref()
    }

    /// Takes the next bytes of the stream. `Ok(true)` once the whole
    /// Certificate message arrived (bytes after it are ignored); an error
    /// ends the scan for good and is returned again by later calls.
    pub fn feed(&mut self, input: &[u8]) -> Result<bool, CertificateError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.facts.done {
            return Ok(true);
        }
        let allowed = self.limits.max_read.saturating_sub(self.facts.read);
        let (now, over) = input.split_at(input.len().min(allowed));
        let result = match self.records(now) {
            Ok(()) if !self.facts.done && !over.is_empty() => Err(CertificateError::ReadLimit {
                limit: self.limits.max_read,
            }),
            Ok(()) => Ok(self.facts.done),
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }

    fn records(&mut self, mut input: &[u8]) -> Result<(), CertificateError> {
        while !input.is_empty() && !self.facts.done {
            match &mut self.record {
                Record::Header { buf, have } => {
                    let rest = fill(buf, have, input);
                    self.facts.read += input.len() - rest.len();
                    input = rest;
                    if *have < 5 {
                        continue;
                    }
                    let header = *buf;
                    self.record = self.open_record(header)?;
                }
                Record::Body { content_type, left } => {
                    let content_type = *content_type;
                    let take = (*left).min(input.len());
                    let mut chunk = &input[..take];
                    let result = if content_type == CONTENT_ALERT {
                        self.alert(&mut chunk)
                    } else {
                        self.handshake(&mut chunk)
                    };
                    // Only what was used counts: the same stream cut
                    // anywhere gives the same facts.
                    let used = take - chunk.len();
                    self.facts.read += used;
                    input = &input[used..];
                    if let Record::Body { left, .. } = &mut self.record {
                        *left -= used;
                        if *left == 0 {
                            self.record = Record::Header {
                                buf: [0; 5],
                                have: 0,
                            };
                        }
                    }
                    result?;
                }
            }
        }
        Ok(())
    }

    /// An alert record's bytes (two, checked at its header).
    fn alert(&mut self, input: &mut &[u8]) -> Result<(), CertificateError> {
        self.alert.extend_from_slice(input);
        *input = &[];
        match self.alert[..] {
            [level, description] => Err(CertificateError::Alert {
                level,
                description,
                name: alert_name(description),
            }),
            _ => Ok(()),
        }
    }

    /// Checks a record header; the record's body comes next.
    fn open_record(&self, header: [u8; 5]) -> Result<Record, CertificateError> {
        let content_type = header[0];
        let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if !matches!(content_type, 20..=24) || header[1] != 3 {
            return Err(CertificateError::NotTls {
                first: printable(&header),
            });
        }
        // A ciphertext may be 2048 bytes longer; a plaintext record not.
        if length > MAX_RECORD {
            return Err(CertificateError::RecordTooLarge {
                length,
                limit: MAX_RECORD,
            });
        }
        match content_type {
            CONTENT_ALERT if length != 2 => Err(CertificateError::BadAlert { length }),
            CONTENT_HANDSHAKE if length == 0 => Err(CertificateError::EmptyRecord),
            CONTENT_ALERT | CONTENT_HANDSHAKE => Ok(Record::Body {
                content_type,
                left: length,
            }),
            other => Err(CertificateError::UnexpectedRecord {
                content_type: other,
            }),
        }
    }

    fn handshake(&mut self, input: &mut &[u8]) -> Result<(), CertificateError> {
        while !input.is_empty() {
            match &mut self.handshake {
                Handshake::Header { buf, have } => {
                    *input = fill(buf, have, input);
                    if *have == 4 {
                        let header = *buf;
                        self.handshake = self.open_message(header)?;
                    }
                }
                Handshake::ServerHello { body, need } => {
                    let take = (*need - body.len()).min(input.len());
                    body.extend_from_slice(&input[..take]);
                    *input = &input[take..];
                    if body.len() == *need {
                        let hello = parse_server_hello(body)?;
                        let version = hello.version();
                        self.facts.server_hello = Some(hello.clone());
                        if version == 0x0304 || hello.is_retry() {
                            return Err(CertificateError::Tls13);
                        }
                        if !(0x0300..=0x0303).contains(&version) {
                            return Err(CertificateError::UnknownVersion { version });
                        }
                        self.hello_seen = true;
                        self.handshake = Handshake::Header {
                            buf: [0; 4],
                            have: 0,
                        };
                    }
                }
                Handshake::ListLength { buf, have } => {
                    let rest = fill(buf, have, input);
                    self.facts.received += input.len() - rest.len();
                    *input = rest;
                    if *have == 3 {
                        let list = u24(*buf);
                        let message = self.facts.message_length.unwrap_or_default();
                        if list + 3 != message {
                            return Err(CertificateError::ListMismatch { list, message });
                        }
                        self.list_left = list;
                        self.next_certificate()?;
                    }
                }
                Handshake::CertLength { buf, have } => {
                    let rest = fill(buf, have, input);
                    self.facts.received += input.len() - rest.len();
                    *input = rest;
                    if *have == 3 {
                        let length = u24(*buf);
                        self.handshake = self.open_certificate(length)?;
                    }
                }
                Handshake::CertBody { left, keep } => {
                    let take = (*left).min(input.len());
                    if let Some(kept) = keep {
                        kept.extend_from_slice(&input[..take]);
                    }
                    *left -= take;
                    self.facts.received += take;
                    *input = &input[take..];
                    if *left == 0 {
                        if let Some(kept) = keep.take() {
                            self.facts.kept.push(kept);
                        }
                        self.facts.complete += 1;
                        self.next_certificate()?;
                    }
                }
                Handshake::Done => return Ok(()),
            }
        }
        Ok(())
    }

    /// Checks a message header: the ServerHello first, then the
    /// Certificate.
    fn open_message(&mut self, header: [u8; 4]) -> Result<Handshake, CertificateError> {
        let message_type = header[0];
        let length = u24([header[1], header[2], header[3]]);
        if !self.hello_seen {
            if message_type != SERVER_HELLO {
                return Err(CertificateError::NotServerHello { message_type });
            }
            if length > MAX_SERVER_HELLO {
                return Err(CertificateError::ServerHelloTooLarge {
                    length,
                    limit: MAX_SERVER_HELLO,
                });
            }
            if length == 0 {
                return Err(ServerHelloError::Truncated { what: "version" }.into());
            }
            return Ok(Handshake::ServerHello {
                body: Vec::new(),
                need: length,
            });
        }
        if message_type != CERTIFICATE {
            return Err(CertificateError::NoCertificate { message_type });
        }
        self.facts.message_length = Some(length);
        if length < 3 {
            return Err(CertificateError::ShortMessage { length });
        }
        Ok(Handshake::ListLength {
            buf: [0; 3],
            have: 0,
        })
    }

    /// After the list length or a certificate: the next length, or done.
    fn next_certificate(&mut self) -> Result<(), CertificateError> {
        self.handshake = match self.list_left {
            0 => {
                self.facts.done = true;
                Handshake::Done
            }
            1 | 2 => {
                return Err(CertificateError::ListTruncated {
                    position: self.facts.complete,
                });
            }
            _ => Handshake::CertLength {
                buf: [0; 3],
                have: 0,
            },
        };
        Ok(())
    }

    /// Checks a certificate's length against the list and decides whether
    /// its bytes are kept.
    fn open_certificate(&mut self, length: usize) -> Result<Handshake, CertificateError> {
        let position = self.facts.complete;
        // next_certificate saw to it that the length field fits.
        self.list_left = self.list_left.saturating_sub(3);
        if length == 0 {
            return Err(CertificateError::EmptyCertificate { position });
        }
        if length > self.list_left {
            return Err(CertificateError::CertificateOverrun {
                position,
                length,
                left: self.list_left,
            });
        }
        self.list_left -= length;
        let keep = if position == 0 {
            self.facts.leaf_length = Some(length);
            length <= self.limits.max_leaf
        } else {
            self.keeping
                && self.facts.kept.len() <= self.limits.max_rest_count
                && self.rest_kept + length <= self.limits.max_rest_bytes
        };
        if keep && position > 0 {
            self.rest_kept += length;
        }
        self.keeping &= keep;
        Ok(Handshake::CertBody {
            left: length,
            // Grown as the bytes arrive, never to the claimed length first.
            keep: keep.then(Vec::new),
        })
    }
}

/// Reads from `stream` into `scan` until the Certificate message is
/// complete or something ends the scan. The caller bounds the time (a
/// timeout around this future leaves the facts in `scan`); the bytes are
/// bounded by the scan's limits.
pub async fn read_certificate<S: AsyncRead + Unpin>(
    stream: &mut S,
    scan: &mut CertificateScan,
) -> Result<(), CertificateError> {
    let mut buf = vec![0u8; MAX_RECORD + 5];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                let e = CertificateError::from(e);
                scan.failed = Some(e.clone());
                return Err(e);
            }
        };
        if n == 0 {
            let e = CertificateError::Closed {
                read: scan.facts.read,
            };
            scan.failed = Some(e.clone());
            return Err(e);
        }
        if scan.feed(&buf[..n])? {
            return Ok(());
        }
    }
}

#[cfg(test)]
#[path = "certificate_tests.rs"]
mod tests;

//! `SSH_MSG_KEXINIT` (RFC 4253 section 7.1): what the server offers.
//!
//! The payload comes from an unauthenticated peer, so every length is checked
//! against what is left before it is used, and nothing here can panic.

use serde::Serialize;

/// Message number of `SSH_MSG_KEXINIT`.
pub const MSG_KEXINIT: u8 = 20;

/// RFC 4251 section 6: algorithm names are at most 64 characters.
const MAX_NAME_LEN: usize = 64;

/// A parsed KEXINIT: the server's algorithm offer, in its order of preference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KexInit {
    /// Random per connection: not a fact about the server, so not reported.
    #[serde(skip)]
    pub cookie: [u8; 16],
    pub kex_algorithms: Vec<String>,
    pub server_host_key_algorithms: Vec<String>,
    pub encryption_client_to_server: Vec<String>,
    pub encryption_server_to_client: Vec<String>,
    pub mac_client_to_server: Vec<String>,
    pub mac_server_to_client: Vec<String>,
    pub compression_client_to_server: Vec<String>,
    pub compression_server_to_client: Vec<String>,
    pub languages_client_to_server: Vec<String>,
    pub languages_server_to_client: Vec<String>,
    pub first_kex_packet_follows: bool,
    pub reserved: u32,
}

/// Field names in wire order, used in errors.
const NAME_LIST_FIELDS: [&str; 10] = [
    "kex_algorithms",
    "server_host_key_algorithms",
    "encryption_client_to_server",
    "encryption_server_to_client",
    "mac_client_to_server",
    "mac_server_to_client",
    "compression_client_to_server",
    "compression_server_to_client",
    "languages_client_to_server",
    "languages_server_to_client",
];

/// Why a KEXINIT payload is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KexInitError {
    #[error("empty payload")]
    Empty,
    #[error("message type {message_type} is not KEXINIT ({MSG_KEXINIT})")]
    NotKexInit { message_type: u8 },
    #[error("truncated at {field}: needs {needed} bytes, {available} left")]
    Truncated {
        field: &'static str,
        needed: usize,
        available: usize,
    },
    #[error("{field}: {problem}")]
    BadNameList {
        field: &'static str,
        problem: NameListError,
    },
    #[error("{count} unexpected bytes after the reserved field")]
    TrailingBytes { count: usize },
}

/// Why a name-list (RFC 4251 section 5) is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NameListError {
    #[error("name {index} is empty")]
    EmptyName { index: usize },
    #[error("byte 0x{byte:02x} at offset {offset} is not printable US-ASCII")]
    InvalidByte { byte: u8, offset: usize },
    #[error("name {index} is {length} bytes, over the limit of {MAX_NAME_LEN}")]
    NameTooLong { index: usize, length: usize },
}

/// Whether `name` is a syntactically valid algorithm name: 1 to 64 printable
/// US-ASCII characters without comma or whitespace.
pub fn is_valid_algorithm_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

/// Parses a KEXINIT payload, message number (20) included, as carried in the
/// server's first binary packet.
///
/// Strict where a lenient parser would let garbage through to the policy:
/// names must be valid and the payload must end after the reserved field. A
/// non-zero boolean is true (RFC 4251 section 5).
pub fn parse_kexinit(payload: &[u8]) -> Result<KexInit, KexInitError> {
    let (&message_type, rest) = payload.split_first().ok_or(KexInitError::Empty)?;
    if message_type != MSG_KEXINIT {
        return Err(KexInitError::NotKexInit { message_type });
    }
    let mut fields = Fields { rest };
    let mut cookie = [0u8; 16];
    cookie.copy_from_slice(fields.take("cookie", 16)?);
    let mut lists: [Vec<String>; 10] = Default::default();
    for (list, field) in lists.iter_mut().zip(NAME_LIST_FIELDS) {
        *list = fields.name_list(field)?;
    }
    let first_kex_packet_follows = fields.take("first_kex_packet_follows", 1)?[0] != 0;
    let reserved = fields.u32("reserved")?;
    if !fields.rest.is_empty() {
        return Err(KexInitError::TrailingBytes {
            count: fields.rest.len(),
        });
    }
    let [
        kex_algorithms,
        server_host_key_algorithms,
        encryption_client_to_server,
        encryption_server_to_client,
        mac_client_to_server,
        mac_server_to_client,
        compression_client_to_server,
        compression_server_to_client,
        languages_client_to_server,
        languages_server_to_client,
    ] = lists;
    Ok(KexInit {
        cookie,
        kex_algorithms,
        server_host_key_algorithms,
        encryption_client_to_server,
        encryption_server_to_client,
        mac_client_to_server,
        mac_server_to_client,
        compression_client_to_server,
        compression_server_to_client,
        languages_client_to_server,
        languages_server_to_client,
        first_kex_packet_follows,
        reserved,
    })
}

impl KexInit {
    /// The ten name-lists in wire order.
    pub(crate) fn name_lists(&self) -> [&[String]; 10] {
        [
            &self.kex_algorithms,
            &self.server_host_key_algorithms,
            &self.encryption_client_to_server,
            &self.encryption_server_to_client,
            &self.mac_client_to_server,
            &self.mac_server_to_client,
            &self.compression_client_to_server,
            &self.compression_server_to_client,
            &self.languages_client_to_server,
            &self.languages_server_to_client,
        ]
    }

    /// The payload (message number included) that [`parse_kexinit`] reads
    /// back into `self`; test servers and the fuzz corpus are built with it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![MSG_KEXINIT];
        out.extend_from_slice(&self.cookie);
        for list in self.name_lists() {
            let joined = list.join(",");
            out.extend_from_slice(&(joined.len() as u32).to_be_bytes());
            out.extend_from_slice(joined.as_bytes());
        }
        out.push(u8::from(self.first_kex_packet_follows));
        out.extend_from_slice(&self.reserved.to_be_bytes());
        out
    }
}

/// A cursor over the unread part of the payload.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn take(&mut self, field: &'static str, needed: usize) -> Result<&'a [u8], KexInitError> {
        if self.rest.len() < needed {
            return Err(KexInitError::Truncated {
                field,
                needed,
                available: self.rest.len(),
            });
        }
        let (head, tail) = self.rest.split_at(needed);
        self.rest = tail;
        Ok(head)
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, KexInitError> {
        let bytes = self.take(field, 4)?;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn name_list(&mut self, field: &'static str) -> Result<Vec<String>, KexInitError> {
        let length = self.u32(field)?;
        // A length beyond the payload fails here, before any allocation.
        let length = usize::try_from(length).unwrap_or(usize::MAX);
        let bytes = self.take(field, length)?;
        parse_name_list(bytes).map_err(|problem| KexInitError::BadNameList { field, problem })
    }
}

fn parse_name_list(bytes: &[u8]) -> Result<Vec<String>, NameListError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(offset) = bytes.iter().position(|b| !(0x21..=0x7e).contains(b)) {
        return Err(NameListError::InvalidByte {
            byte: bytes[offset],
            offset,
        });
    }
    bytes
        .split(|&b| b == b',')
        .enumerate()
        .map(|(index, name)| match name.len() {
            0 => Err(NameListError::EmptyName { index }),
            length if length > MAX_NAME_LEN => Err(NameListError::NameTooLong { index, length }),
            // Checked printable ASCII above, so this is never lossy.
            _ => Ok(String::from_utf8_lossy(name).into_owned()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> KexInit {
        let list = |s: &str| -> Vec<String> {
            s.split(',')
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect()
        };
        KexInit {
            cookie: [7; 16],
            kex_algorithms: list("curve25519-sha256,ext-info-s"),
            server_host_key_algorithms: list("rsa-sha2-512,ssh-ed25519"),
            encryption_client_to_server: list("aes256-ctr"),
            encryption_server_to_client: list("aes256-ctr,aes128-cbc"),
            mac_client_to_server: list("hmac-sha2-256"),
            mac_server_to_client: list("hmac-sha2-256"),
            compression_client_to_server: list("none"),
            compression_server_to_client: list("none,zlib@openssh.com"),
            languages_client_to_server: list(""),
            languages_server_to_client: list(""),
            first_kex_packet_follows: false,
            reserved: 0,
        }
    }

    #[test]
    fn sample_roundtrips() {
        let kex = sample();
        assert_eq!(parse_kexinit(&kex.encode()), Ok(kex));
    }

    #[test]
    fn rejects_malformed_payloads() {
        let good = sample().encode();
        assert_eq!(parse_kexinit(&[]), Err(KexInitError::Empty));
        assert_eq!(
            parse_kexinit(&[21]),
            Err(KexInitError::NotKexInit { message_type: 21 })
        );
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(
            parse_kexinit(&trailing),
            Err(KexInitError::TrailingBytes { count: 1 })
        );
        assert!(matches!(
            parse_kexinit(&good[..good.len() - 1]),
            Err(KexInitError::Truncated {
                field: "reserved",
                ..
            })
        ));
        // The first name-list claims 4 GiB.
        let mut huge = good[..17].to_vec();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            parse_kexinit(&huge),
            Err(KexInitError::Truncated {
                field: "kex_algorithms",
                ..
            })
        ));
    }

    #[test]
    fn rejects_bad_names() {
        for (list, problem) in [
            ("a,,b", NameListError::EmptyName { index: 1 }),
            ("a,", NameListError::EmptyName { index: 1 }),
            (
                "a b",
                NameListError::InvalidByte {
                    byte: b' ',
                    offset: 1,
                },
            ),
            (
                &"x".repeat(65)[..],
                NameListError::NameTooLong {
                    index: 0,
                    length: 65,
                },
            ),
        ] {
            let mut payload = vec![MSG_KEXINIT; 17];
            payload.extend_from_slice(&(list.len() as u32).to_be_bytes());
            payload.extend_from_slice(list.as_bytes());
            assert_eq!(
                parse_kexinit(&payload),
                Err(KexInitError::BadNameList {
                    field: "kex_algorithms",
                    problem
                }),
                "{list}"
            );
        }
    }

    fn name() -> impl Strategy<Value = String> {
        "[!-+\\--~]{1,64}"
    }

    fn names() -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec(name(), 0..6)
    }

    prop_compose! {
        fn kexinit()(
            cookie in any::<[u8; 16]>(),
            lists in proptest::array::uniform10(names()),
            first_kex_packet_follows in any::<bool>(),
            reserved in any::<u32>(),
        ) -> KexInit {
            let [a, b, c, d, e, f, g, h, i, j] = lists;
            KexInit {
                cookie,
                kex_algorithms: a,
                server_host_key_algorithms: b,
                encryption_client_to_server: c,
                encryption_server_to_client: d,
                mac_client_to_server: e,
                mac_server_to_client: f,
                compression_client_to_server: g,
                compression_server_to_client: h,
                languages_client_to_server: i,
                languages_server_to_client: j,
                first_kex_packet_follows,
                reserved,
            }
        }
    }

    proptest! {
        #[test]
        fn any_bytes_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_kexinit(&payload);
        }

        #[test]
        fn mutated_kexinit_never_panics(
            kex in kexinit(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut payload = kex.encode();
            for (at, byte) in flips {
                let at = at.index(payload.len());
                payload[at] = byte;
            }
            let cut = cut.index(payload.len() + 1);
            let _ = parse_kexinit(&payload[..cut]);
        }

        #[test]
        fn generated_kexinit_roundtrips(kex in kexinit()) {
            let encoded = kex.encode();
            prop_assert_eq!(parse_kexinit(&encoded), Ok(kex));
        }

        #[test]
        fn valid_names_are_accepted(n in name()) {
            prop_assert!(is_valid_algorithm_name(&n));
        }
    }
}

//! The identification line (RFC 4253 section 4.2): `SSH-protoversion-softwareversion SP comments`.
//!
//! Pure and separate from the socket so it can be fuzzed on its own.

use serde::Serialize;

/// What the server said about itself in its identification line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identification {
    /// `2.0`, or `1.99` for a server that also speaks SSH-1.
    pub protocol: String,
    /// The software version, e.g. `OpenSSH_9.2p1`.
    pub software: String,
    /// Everything after the first space, e.g. `Debian-2+deb12u3`.
    pub comments: Option<String>,
}

/// Why a line is not a usable SSH-2 identification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IdentificationError {
    /// Not an identification at all: RFC 4253 lets servers send such lines
    /// before their identification.
    #[error("line does not start with `SSH-`")]
    NotIdentification,
    #[error("no `-` between protocol and software version")]
    MissingSoftware,
    #[error("empty software version")]
    EmptySoftware,
    /// RFC 4253 allows only printable US-ASCII in the identification.
    #[error("byte 0x{byte:02x} at position {position} is not printable US-ASCII")]
    InvalidByte { byte: u8, position: usize },
    /// SSH-1 is broken by design; `1.99` (both versions) is not this error.
    #[error("server speaks only SSH protocol {protocol}")]
    Ssh1Only { protocol: String },
    #[error("unsupported SSH protocol version {protocol}")]
    UnsupportedProtocol { protocol: String },
}

const PREFIX: &[u8] = b"SSH-";

/// Whether a received line is meant as an identification (and so must parse)
/// rather than one of the free-form lines allowed before it.
pub fn is_identification_line(line: &[u8]) -> bool {
    line.starts_with(PREFIX)
}

/// Parses one identification line with its line terminator (`\r\n`, or a bare
/// `\n` that OpenSSH also accepts) already removed.
///
/// Lenient where real servers differ from the RFC: the software version may
/// contain `-` (`Cisco-1.25`), since only the first `-` after the protocol
/// separates fields.
pub fn parse_identification(line: &[u8]) -> Result<Identification, IdentificationError> {
    let rest = line
        .strip_prefix(PREFIX)
        .ok_or(IdentificationError::NotIdentification)?;
    if let Some(position) = line.iter().position(|b| !(0x20..=0x7e).contains(b)) {
        return Err(IdentificationError::InvalidByte {
            byte: line[position],
            position,
        });
    }
    // Every byte is printable ASCII from here on, so the conversions below
    // cannot fail; `from_utf8_lossy` keeps that free of `unwrap`.
    let dash = rest
        .iter()
        .position(|&b| b == b'-')
        .ok_or(IdentificationError::MissingSoftware)?;
    let protocol = String::from_utf8_lossy(&rest[..dash]).into_owned();
    let after = &rest[dash + 1..];
    let (software, comments) = match after.iter().position(|&b| b == b' ') {
        Some(space) => (&after[..space], Some(&after[space + 1..])),
        None => (after, None),
    };
    check_protocol(&protocol)?;
    if software.is_empty() {
        return Err(IdentificationError::EmptySoftware);
    }
    Ok(Identification {
        protocol,
        software: String::from_utf8_lossy(software).into_owned(),
        comments: comments.map(|c| String::from_utf8_lossy(c).into_owned()),
    })
}

fn check_protocol(protocol: &str) -> Result<(), IdentificationError> {
    match protocol {
        "2.0" | "1.99" => Ok(()),
        p if p.starts_with("1.") => Err(IdentificationError::Ssh1Only {
            protocol: p.to_owned(),
        }),
        p => Err(IdentificationError::UnsupportedProtocol {
            protocol: p.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn openssh_with_comments() {
        let id = parse_identification(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3").unwrap();
        assert_eq!(id.protocol, "2.0");
        assert_eq!(id.software, "OpenSSH_9.2p1");
        assert_eq!(id.comments.as_deref(), Some("Debian-2+deb12u3"));
    }

    #[test]
    fn compat_1_99_and_dashes_in_software() {
        let id = parse_identification(b"SSH-1.99-Cisco-1.25").unwrap();
        assert_eq!(id.protocol, "1.99");
        assert_eq!(id.software, "Cisco-1.25");
        assert_eq!(id.comments, None);
    }

    #[test]
    fn rejections() {
        use IdentificationError::*;
        let cases: [(&[u8], IdentificationError); 6] = [
            (b"HTTP/1.1 400 Bad Request", NotIdentification),
            (b"SSH-2.0", MissingSoftware),
            (b"SSH-2.0- comment", EmptySoftware),
            (
                b"SSH-1.5-OpenSSH_1",
                Ssh1Only {
                    protocol: "1.5".into(),
                },
            ),
            (
                b"SSH-3.0-x",
                UnsupportedProtocol {
                    protocol: "3.0".into(),
                },
            ),
            (
                b"SSH-2.0-x\0",
                InvalidByte {
                    byte: 0,
                    position: 9,
                },
            ),
        ];
        for (line, want) in cases {
            assert_eq!(
                parse_identification(line),
                Err(want),
                "{}",
                line.escape_ascii()
            );
        }
    }

    proptest! {
        #[test]
        fn any_bytes_never_panic(line in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_identification(&line);
        }

        #[test]
        fn printable_software_roundtrips(
            software in "[!-~]{1,40}",
            comments in proptest::option::of("[ -~]{0,40}"),
        ) {
            let mut line = format!("SSH-2.0-{software}");
            if let Some(c) = &comments {
                line.push(' ');
                line.push_str(c);
            }
            let id = parse_identification(line.as_bytes()).unwrap();
            prop_assert_eq!(id.software, software);
            prop_assert_eq!(id.comments, comments);
        }
    }
}

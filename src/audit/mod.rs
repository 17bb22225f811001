//! Before the upload: the files an engineer is about to hand to Jamf Pro,
//! decoded and judged (`flowprobe pki check`, `flowprobe profile check`).
//!
//! - [`bundle`]: a PKCS#12 (legacy RC2/3DES or PBES2/AES, with or without
//!   a password) or a PEM bundle, into certificates and keys, then
//!   [`crate::analyze::bundle`] for the verdict.
//! - [`profile`]: a `.mobileconfig` (XML or binary plist, optionally
//!   CMS-signed; [`signed`] unwraps and verifies the signature) and the
//!   payloads that matter for the STIG supplement's sections 1.4 and 1.5.
//!
//! Every input is bytes from a file that a person chose, so nothing here
//! trusts it: files are refused by size before they are read
//! ([`read_bounded`]), and every decoder error is a typed error.

pub(crate) mod bplist;
pub mod bundle;
pub mod profile;
pub(crate) mod signed;

use std::io::Read;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The largest file either command reads. A profile with a PKCS#12 inside
/// is a few kilobytes and Jamf Pro itself refuses uploads far below this;
/// anything bigger is the wrong file, refused before it is read.
pub(crate) const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a file could not be judged at all (exit 2); each names the file.
#[derive(Debug, Error)]
pub(crate) enum FileError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: {size} bytes is more than the {max} bytes a PKCS#12 or profile can be; not read"
    )]
    TooLarge { path: PathBuf, size: u64, max: u64 },
    #[error("{path}: {source}")]
    Bundle {
        path: PathBuf,
        source: bundle::BundleError,
    },
    #[error("{path}: {source}")]
    Profile {
        path: PathBuf,
        source: profile::ProfileError,
    },
}

/// Reads `path` whole when it is at most `max` bytes. The size is checked
/// from the metadata first and the read is capped as well, so neither a
/// huge file nor a device or pipe that never ends is materialised.
pub(crate) fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, FileError> {
    let read_err = |source| FileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let size = file.metadata().map_err(read_err)?.len();
    if size > max {
        return Err(FileError::TooLarge {
            path: path.to_path_buf(),
            size,
            max,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > max {
        return Err(FileError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            max,
        });
    }
    Ok(bytes)
}

/// A password file's content: the first line, without its line ending
/// (`echo secret > f` and `printf secret > f` mean the same password).
pub(crate) fn read_password(path: &Path) -> Result<String, FileError> {
    let bytes = read_bounded(path, 64 * 1024)?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(text.lines().next().unwrap_or("").to_owned())
}

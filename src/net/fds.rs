//! The file-descriptor budget of the probes.
//!
//! A probe waiting for a SYN-ACK that never comes (a silent drop) costs one
//! descriptor and one timer, no CPU: thousands in flight are normal when a
//! firewall change drops traffic. What bounds them is descriptors, not a
//! fixed cap. So at start the soft `RLIMIT_NOFILE` is raised to the hard
//! limit (as Go's runtime does), what the process already holds plus a
//! reserve for the HTTP server and DNS is set aside, and the probes get the
//! rest. The reserves shrink with a small limit, so that a process started
//! under `prlimit --nofile=64` still probes (and sheds the rest, see
//! `schedule::slots`) instead of failing at start.

use std::io;

/// Connections the HTTP server (`/metrics`, the API, reloads) may hold.
/// It has no connection cap of its own yet; this is the share kept for it.
pub(crate) const WEB_RESERVE: u64 = 64;
/// Sockets kept for DNS (hickory opens one per query in flight, and falls
/// back to TCP for truncated answers), config files, anchors and logs.
pub(crate) const MISC_RESERVE: u64 = 32;

/// The descriptor limits in force, and whether the soft one was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NoFile {
    pub soft: u64,
    pub hard: u64,
    /// The soft limit before it was raised (None: it already was the hard one).
    pub raised_from: Option<u64>,
}

/// Raise the soft `RLIMIT_NOFILE` to the hard limit. A refusal (a seccomp
/// filter that forbids `setrlimit`, as the systemd unit's
/// `SystemCallFilter=~@resources` does) keeps the soft limit, and says so;
/// the unit sets `LimitNOFILE=` so that soft already equals hard there.
pub(crate) fn raise_nofile() -> (NoFile, Option<io::Error>) {
    let (soft, hard) = match getrlimit() {
        Ok(l) => l,
        Err(e) => return (NoFile::fallback(), Some(e)),
    };
    // An unlimited hard limit cannot be the soft one: the kernel caps
    // descriptors at fs.nr_open.
    let target = if hard == libc::RLIM_INFINITY {
        nr_open().unwrap_or(1 << 20)
    } else {
        hard
    };
    if soft >= target {
        return (
            NoFile {
                soft,
                hard,
                raised_from: None,
            },
            None,
        );
    }
    match setrlimit(target, hard) {
        Ok(()) => (
            NoFile {
                soft: target,
                hard,
                raised_from: Some(soft),
            },
            None,
        ),
        Err(e) => (
            NoFile {
                soft,
                hard,
                raised_from: None,
            },
            Some(e),
        ),
    }
}

impl NoFile {
    /// The limits now, without changing them.
    #[cfg(test)]
    pub(crate) fn current() -> NoFile {
        match getrlimit() {
            Ok((soft, hard)) => NoFile {
                soft,
                hard,
                raised_from: None,
            },
            Err(_) => NoFile::fallback(),
        }
    }

    /// Linux's default soft limit, when the limits cannot be read.
    fn fallback() -> NoFile {
        NoFile {
            soft: 1024,
            hard: 1024,
            raised_from: None,
        }
    }
}

/// How the soft limit is shared out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    /// The soft `RLIMIT_NOFILE` the budget is cut from.
    pub soft: u64,
    /// Descriptors open when the budget was made (runtime, listener, logs).
    pub open: u64,
    /// Kept for the HTTP server and for DNS and files.
    pub reserved: u64,
    /// Descriptors probes may hold at once.
    pub probes: usize,
}

impl Budget {
    /// The budget of a process whose soft limit is `soft` and that holds
    /// `open` descriptors now.
    pub(crate) fn new(soft: u64, open: u64) -> Budget {
        let web = (soft / 8).clamp(4, WEB_RESERVE);
        let misc = (soft / 16).clamp(2, MISC_RESERVE);
        let reserved = web + misc;
        let probes = soft.saturating_sub(open + reserved).max(1);
        Budget {
            soft,
            open,
            reserved,
            probes: usize::try_from(probes).unwrap_or(usize::MAX),
        }
    }

    /// The budget of this process, now.
    pub(crate) fn of_process(limits: &NoFile) -> Budget {
        Budget::new(limits.soft, open_descriptors().unwrap_or(16))
    }

    /// The probes-in-flight limit in force: `configured`
    /// (`defaults.max_in_flight`) when it fits the budget, else the budget.
    /// Probes beyond the descriptors would only fail with EMFILE.
    pub(crate) fn max_in_flight(&self, configured: Option<usize>) -> usize {
        configured
            .map_or(self.probes, |c| c.min(self.probes))
            .max(1)
    }
}

/// Descriptors this process holds (`/proc/self/fd`, minus the one reading it).
pub(crate) fn open_descriptors() -> Option<u64> {
    let n = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    Some(n.saturating_sub(1))
}

fn nr_open() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn getrlimit() -> io::Result<(u64, u64)> {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `l` is a valid, writable rlimit for the call's duration.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) } == 0 {
        Ok((l.rlim_cur, l.rlim_max))
    } else {
        Err(io::Error::last_os_error())
    }
}

fn setrlimit(soft: u64, hard: u64) -> io::Result<()> {
    let l = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `l` is a valid rlimit; the call only reads it.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &l) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_limit_keeps_fixed_reserves() {
        let b = Budget::new(65_536, 12);
        assert_eq!(b.reserved, WEB_RESERVE + MISC_RESERVE);
        assert_eq!(b.probes, 65_536 - 12 - 96);
        assert_eq!(b.max_in_flight(None), b.probes);
        assert_eq!(b.max_in_flight(Some(256)), 256, "a lower override stands");
        assert_eq!(
            b.max_in_flight(Some(1_000_000)),
            b.probes,
            "an override above the descriptors is cut to them"
        );
    }

    #[test]
    fn a_tiny_limit_still_leaves_probes_some_descriptors() {
        let b = Budget::new(64, 12);
        assert_eq!(b.reserved, 8 + 4);
        assert_eq!(b.probes, 40);
        let none_left = Budget::new(16, 20);
        assert_eq!(none_left.probes, 1, "never zero: one probe at a time");
    }

    #[test]
    fn raising_is_idempotent_and_reaches_the_hard_limit() {
        let (first, err) = raise_nofile();
        assert!(err.is_none(), "{err:?}");
        let (second, _) = raise_nofile();
        assert_eq!(second.raised_from, None);
        assert_eq!(first.soft, second.soft);
        assert_eq!(NoFile::current().soft, second.soft);
        assert!(open_descriptors().is_some_and(|n| n >= 3));
    }
}

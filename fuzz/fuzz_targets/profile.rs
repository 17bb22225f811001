//! Any bytes as a `.mobileconfig` into `audit::profile::audit` (the entry
//! point of `flowprobe profile check`): plist (XML or binary), CMS
//! SignedData, embedded PKCS#12 and certificates. No panic, no hang; a
//! profile that passes has a verified signature when it is signed.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use flowprobe::audit::profile::{Context, audit};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ctx = Context {
        stores: &[],
        password: None,
        now: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
    };
    if let Ok(report) = audit(data, &ctx) {
        if report.passed() {
            assert!(report.signature.as_ref().is_none_or(|s| s.valid));
        }
    }
});

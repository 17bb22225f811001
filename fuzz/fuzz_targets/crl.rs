//! Any bytes as a served CRL into the judgement (`analyze::crl::judge`, the
//! entry point a CRL server reaches): no panic, and a judged CRL's facts
//! agree with a second, independent scan of the same bytes.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use flowprobe::analyze::crl::{judge, scan::Crl};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    if let Ok(facts) = judge(data, &[], &[], now, Duration::from_secs(3600)) {
        if facts.format == "der" {
            let crl = Crl::parse(data).expect("judged, so it parses");
            let scan = crl.scan(&[]).expect("judged, so it scans");
            assert_eq!(scan.entries, facts.entries);
            assert_eq!(crl.this_update.timestamp(), facts.this_update);
        }
    }
});

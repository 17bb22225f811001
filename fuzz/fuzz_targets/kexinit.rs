//! Any bytes into the KEXINIT parser: no panic, and what parses re-encodes
//! to something that parses to the same offer.
#![no_main]

use flowprobe::wire::ssh::parse_kexinit;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(kex) = parse_kexinit(data) {
        assert_eq!(parse_kexinit(&kex.encode()), Ok(kex));
    }
});

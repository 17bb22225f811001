//! Any bytes into the identification-line parser: no panic, and what parses
//! is exactly its fields put back together.
#![no_main]

use flowprobe::wire::ssh::parse_identification;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(id) = parse_identification(data) {
        let mut line = format!("SSH-{}-{}", id.protocol, id.software);
        if let Some(comments) = &id.comments {
            line.push(' ');
            line.push_str(comments);
        }
        assert_eq!(line.as_bytes(), data);
    }
});

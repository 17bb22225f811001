//! Any text as a configuration file (`config::from_text`, what `config
//! check`, `run` and reloads read): no panic, and a rejected file names at
//! least one error, each with the file as its origin.
#![no_main]

use flowprobe::config::{Overrides, from_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(errors) = from_text("fuzz.toml", text, &Overrides::default(), Default::default()) {
        assert!(!errors.0.is_empty(), "rejected without a reason");
        assert!(errors.to_string().contains("fuzz.toml"), "{errors}");
    }
});

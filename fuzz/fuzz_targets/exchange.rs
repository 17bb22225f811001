//! Any bytes as a server's side of the conversation: the exchange ends in a
//! result or an error, never a panic, and never reads past its limits.
#![no_main]

use flowprobe::wire::ssh::{WireLimits, exchange};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tokio::runtime::Runtime;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let mut stream = tokio::io::join(data, tokio::io::sink());
    let _ = runtime().block_on(exchange(&mut stream, &WireLimits::default()));
});

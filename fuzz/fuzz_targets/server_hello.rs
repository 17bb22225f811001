//! Any bytes as the server's answer to a ClientHello: no panic; a parsed
//! ServerHello re-encodes to a body that parses to the same hello; every
//! question's judgement of the answer is total.
#![no_main]

use flowprobe::analyze::tls_policy::{Family, Question, reply_to, reply_to_error};
use flowprobe::wire::tls::{Answer, Scan, Version, parse_server_hello, scan_answer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let questions = [
        Question::Version {
            version: Version::Ssl3,
        },
        Question::Version {
            version: Version::Tls10,
        },
        Question::RareSuites {
            version: Version::Tls12,
        },
        Question::Version {
            version: Version::Tls13,
        },
        Question::Family {
            family: Family::Des,
            version: Version::Tls12,
        },
        Question::EcdheAead,
    ];
    match scan_answer(data) {
        Ok(Scan::Done(answer)) => {
            if let Answer::Hello(hello) = &answer {
                assert_eq!(parse_server_hello(&hello.encode()).as_ref(), Ok(hello));
            }
            for q in &questions {
                let _ = reply_to(q, &answer);
            }
        }
        Ok(Scan::Need(n)) => assert!(n > data.len() || data.is_empty()),
        Err(e) => {
            let _ = reply_to_error(&e);
        }
    }
    // The body parser on its own.
    if let Ok(hello) = parse_server_hello(data) {
        assert_eq!(hello.encode(), data);
    }
});

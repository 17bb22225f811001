use super::*;

fn hello_body(version: u16, suite: u16, exts: Option<&[(u16, &[u8])]>) -> Vec<u8> {
    let sh = ServerHello {
        legacy_version: version,
        random: [7; 32],
        session_id: vec![1, 2, 3],
        cipher_suite: suite,
        compression: 0,
        extensions: exts.map(|e| e.iter().map(|(k, b)| (*k, b.to_vec())).collect()),
    };
    sh.encode()
}

fn handshake_record(body: &[u8]) -> Vec<u8> {
    let mut hs = vec![2];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(body);
    let mut rec = vec![22, 3, 3];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

#[test]
fn client_hello_is_one_handshake_record_with_the_offer() {
    let suites = [0xC02F, 0x002F];
    let rec = encode_client_hello(&HelloSpec {
        version: Version::Tls10,
        suites: &suites,
        server_name: Some("mdm.example.mil"),
        random: [1; 32],
        encrypt_then_mac: false,
    });
    assert_eq!(&rec[..3], &[22, 3, 1]);
    assert_eq!(
        usize::from(u16::from_be_bytes([rec[3], rec[4]])),
        rec.len() - 5
    );
    assert_eq!(rec[5], 1, "client_hello");
    assert_eq!(&rec[9..11], &[3, 1], "client_version TLS 1.0");
    // session id empty, then the suites plus the renegotiation SCSV.
    assert_eq!(rec[43], 0);
    assert_eq!(&rec[44..46], &[0, 6]);
    assert_eq!(&rec[46..52], &[0xC0, 0x2F, 0x00, 0x2F, 0x00, 0xFF]);
    let text = rec.escape_ascii().to_string();
    assert!(text.contains("mdm.example.mil"), "SNI sent");
    assert!(
        !rec.windows(2).any(|w| w == [0x00, 0x2b]),
        "no supported_versions"
    );
}

#[test]
fn ssl3_hello_is_rfc_6101_without_extensions() {
    let suites = [0x000A, 0x002F];
    let rec = encode_client_hello(&HelloSpec {
        version: Version::Ssl3,
        suites: &suites,
        server_name: Some("mdm.example.mil"),
        random: [3; 32],
        encrypt_then_mac: false,
    });
    assert_eq!(&rec[..3], &[22, 3, 0], "record version 3.0");
    assert_eq!(rec[5], 1, "client_hello");
    assert_eq!(&rec[9..11], &[3, 0], "client_version 3.0");
    assert_eq!(&rec[11..43], &[3; 32]);
    assert_eq!(rec[43], 0, "no session id");
    assert_eq!(&rec[44..46], &[0, 6], "two suites and the SCSV");
    assert_eq!(&rec[46..52], &[0x00, 0x0A, 0x00, 0x2F, 0x00, 0xFF]);
    // compression_methods (null only), then the message ends: no
    // extensions block, not even an empty one, and so no SNI.
    assert_eq!(&rec[52..], &[1, 0]);
    let hs_len = u32::from_be_bytes([0, rec[6], rec[7], rec[8]]) as usize;
    assert_eq!(hs_len, rec.len() - 9);
}

/// The handshake message's length (the record's payload).
fn handshake_len(rec: &[u8]) -> usize {
    usize::from(u16::from_be_bytes([rec[3], rec[4]]))
}

#[test]
fn hellos_avoid_the_lengths_old_servers_choke_on() {
    let codes: Vec<u16> = (1..=127).collect();
    let mut padded = 0;
    for version in [Version::Tls10, Version::Tls12, Version::Tls13] {
        for sni in [None, Some("mdm.example.mil"), Some("a.b")] {
            for n in 0..=127 {
                let rec = encode_client_hello(&HelloSpec {
                    version,
                    suites: &codes[..n],
                    server_name: sni,
                    random: [4; 32],
                    encrypt_then_mac: false,
                });
                let len = handshake_len(&rec);
                assert_eq!(len, rec.len() - 5);
                assert!(
                    !(256..512).contains(&len),
                    "{version:?} {n} suites: {len} bytes"
                );
                assert!(
                    len < 512 || !matches!(len % 256, 10 | 14),
                    "{version:?} {n} suites: {len} bytes"
                );
                if rec.windows(2).any(|w| w == [0x00, 0x15]) {
                    padded += 1;
                }
            }
        }
    }
    assert!(padded > 100, "padding is used: {padded}");
    // More than 127 suites are cut: no hello reaches 128 with the SCSV.
    let many: Vec<u16> = (1..=300).collect();
    let rec = encode_client_hello(&HelloSpec {
        version: Version::Tls12,
        suites: &many,
        server_name: None,
        random: [5; 32],
        encrypt_then_mac: false,
    });
    assert_eq!(&rec[44..46], &(2u16 * 128).to_be_bytes());
}

#[test]
fn tls13_hello_offers_only_1_3_and_no_sni_for_an_address() {
    let rec = encode_client_hello(&HelloSpec {
        version: Version::Tls13,
        suites: &[0x1301],
        server_name: Some("127.0.0.1"),
        random: [2; 32],
        encrypt_then_mac: false,
    });
    assert_eq!(&rec[9..11], &[3, 3], "legacy_version 1.2");
    assert!(rec.windows(5).any(|w| w == [0x00, 0x2b, 0x00, 0x03, 0x02]));
    assert!(!rec.escape_ascii().to_string().contains("127.0.0.1"));
}

#[test]
fn server_hello_round_trips_and_reports_the_version() {
    let body = hello_body(
        0x0303,
        0x1302,
        Some(&[(0x002b, &[3, 4]), (0x0033, &[0, 0x1d, 0, 0])]),
    );
    let sh = parse_server_hello(&body).expect("parses");
    assert_eq!(sh.version(), 0x0304);
    assert_eq!(sh.cipher_suite, 0x1302);
    assert_eq!(sh.key_share_group(), Some(0x001d));
    assert!(!sh.is_retry());
    assert_eq!(sh.encode(), body);
    let legacy = parse_server_hello(&hello_body(0x0301, 0x002F, None)).expect("no extensions");
    assert_eq!(legacy.version(), 0x0301);
    assert_eq!(legacy.extensions, None);
}

#[test]
fn malformed_server_hellos_are_typed_errors() {
    let good = hello_body(0x0303, 0x002F, Some(&[(0xff01, &[0])]));
    for cut in 0..good.len() {
        if cut == 41 {
            continue; // ends before the extensions block: a valid hello
        }
        assert!(parse_server_hello(&good[..cut]).is_err(), "cut at {cut}");
    }
    let mut trailing = good.clone();
    trailing.push(0);
    // One more byte after the block reads as an extensions block start.
    assert!(parse_server_hello(&trailing).is_err());
    let dup = hello_body(0x0303, 0x002F, Some(&[(0xff01, &[0]), (0xff01, &[0])]));
    assert_eq!(
        parse_server_hello(&dup),
        Err(ServerHelloError::DuplicateExtension { kind: 0xff01 })
    );
    let bad_sv = hello_body(0x0303, 0x1301, Some(&[(0x002b, &[3])]));
    assert!(matches!(
        parse_server_hello(&bad_sv),
        Err(ServerHelloError::BadExtension { .. })
    ));
    let mut long_sid = good;
    long_sid[34] = 33;
    assert_eq!(
        parse_server_hello(&long_sid),
        Err(ServerHelloError::SessionIdTooLong { length: 33 })
    );
}

#[test]
fn scan_waits_for_whole_records_and_joins_fragments() {
    let rec = handshake_record(&hello_body(0x0303, 0xC02F, None));
    assert_eq!(scan_answer(&[]).ok(), Some(Scan::Need(5)));
    assert_eq!(scan_answer(&rec[..5]).ok(), Some(Scan::Need(rec.len())));
    assert!(matches!(
        scan_answer(&rec),
        Ok(Scan::Done(Answer::Hello(_)))
    ));
    // The same handshake message split over two records.
    let hs = &rec[5..];
    let (a, b) = hs.split_at(3);
    let mut split = vec![22, 3, 3, 0, a.len() as u8];
    split.extend_from_slice(a);
    split.extend_from_slice(&[22, 3, 3]);
    split.extend_from_slice(&(b.len() as u16).to_be_bytes());
    split.extend_from_slice(b);
    assert!(matches!(
        scan_answer(&split),
        Ok(Scan::Done(Answer::Hello(_)))
    ));
}

#[test]
fn hello_retry_request_is_recognised() {
    let mut body = hello_body(
        0x0303,
        0x1301,
        Some(&[(0x002b, &[3, 4]), (0x0033, &[0, 0x17])]),
    );
    body[2..34].copy_from_slice(&HRR_RANDOM);
    let rec = handshake_record(&body);
    let Ok(Scan::Done(Answer::Hello(sh))) = scan_answer(&rec) else {
        panic!("not a hello");
    };
    assert!(sh.is_retry());
    assert_eq!(sh.key_share_group(), Some(0x0017));
}

#[test]
fn alerts_and_hostile_answers() {
    assert_eq!(
        scan_answer(&[21, 3, 1, 0, 2, 2, 70]).ok(),
        Some(Scan::Done(Answer::Alert {
            level: 2,
            description: 70
        }))
    );
    assert!(matches!(
        scan_answer(b"HTTP/1.1 400 Bad Request\r\n"),
        Err(TlsWireError::NotTls { .. })
    ));
    assert!(matches!(
        scan_answer(&[22, 3, 3, 0xff, 0xff]),
        Err(TlsWireError::RecordTooLarge { length: 65535, .. })
    ));
    // A handshake header claiming 2^24 - 1 bytes fails before reading them.
    assert!(matches!(
        scan_answer(&[22, 3, 3, 0, 4, 2, 0xff, 0xff, 0xff]),
        Err(TlsWireError::HandshakeTooLarge {
            length: 0xff_ffff,
            ..
        })
    ));
    assert!(matches!(
        scan_answer(&[22, 3, 3, 0, 4, 11, 0, 0, 0]),
        Err(TlsWireError::NotServerHello { message_type: 11 })
    ));
    assert!(matches!(
        scan_answer(&[23, 3, 3, 0, 1, 0]),
        Err(TlsWireError::UnexpectedRecord { content_type: 23 })
    ));
    assert!(matches!(
        scan_answer(&[22, 3, 3, 0, 0]),
        Err(TlsWireError::EmptyRecord { .. })
    ));
    // One-byte records forever: the record count bounds the work.
    let mut drip: Vec<u8> = vec![22, 3, 3, 0, 3, 2, 0, 0xff];
    drip.extend([22u8, 3, 3, 0, 1, 0xff].repeat(64));
    assert!(matches!(
        scan_answer(&drip),
        Err(TlsWireError::TooManyRecords { .. })
    ));
}

#[test]
fn warning_alerts_before_the_hello_are_skipped() {
    // Apache/OpenSSL with an SNI that matches no vhost: unrecognized_name
    // as a warning, then the ServerHello.
    let warning = [21u8, 3, 1, 0, 2, 1, 112];
    let hello = handshake_record(&hello_body(0x0301, 0x002F, None));
    let mut answer = warning.to_vec();
    answer.extend_from_slice(&hello);
    assert_eq!(
        scan_answer(&warning).ok(),
        Some(Scan::Need(warning.len() + 5))
    );
    let Ok(Scan::Done(Answer::Hello(sh))) = scan_answer(&answer) else {
        panic!("not a hello: {:?}", scan_answer(&answer));
    };
    assert_eq!(sh.cipher_suite, 0x002F);
    // A record of two warnings is skipped as well.
    let mut two = vec![21u8, 3, 1, 0, 4, 1, 112, 1, 112];
    two.extend_from_slice(&hello);
    assert!(matches!(
        scan_answer(&two),
        Ok(Scan::Done(Answer::Hello(_)))
    ));
    // A warning, then a fatal alert: the fatal one is the answer.
    let mut fatal = warning.to_vec();
    fatal.extend_from_slice(&[21, 3, 1, 0, 2, 2, 40]);
    assert_eq!(
        scan_answer(&fatal).ok(),
        Some(Scan::Done(Answer::Alert {
            level: 2,
            description: 40
        }))
    );
    // close_notify ends the answer, whatever its level.
    assert_eq!(
        scan_answer(&[21, 3, 1, 0, 2, 1, 0]).ok(),
        Some(Scan::Done(Answer::Alert {
            level: 1,
            description: 0
        }))
    );
    // Warnings forever: bounded by the record count.
    let endless = warning.repeat(MAX_RECORDS + 1);
    assert!(matches!(
        scan_answer(&endless),
        Err(TlsWireError::TooManyRecords { .. })
    ));
    // A warning inside a split hello, or an odd-length alert, is an error.
    let mut inside = vec![22, 3, 3, 0, 2, 2, 0];
    inside.extend_from_slice(&warning);
    assert!(matches!(
        scan_answer(&inside),
        Err(TlsWireError::UnexpectedRecord { content_type: 21 })
    ));
    assert!(scan_answer(&[21, 3, 1, 0, 3, 1, 112, 1]).is_err());
}

#[tokio::test]
async fn read_answer_stops_at_the_answer_and_on_close() {
    let rec = handshake_record(&hello_body(0x0303, 0xC02F, None));
    let mut with_more = rec.clone();
    with_more.extend_from_slice(&[0xAA; 1000]);
    let mut r = with_more.as_slice();
    let answer = read_answer(&mut r).await.expect("answer");
    assert!(matches!(answer, Answer::Hello(_)));
    assert_eq!(r.len(), 1000, "nothing read past the hello");
    let mut cut = &rec[..rec.len() - 1];
    assert!(matches!(
        read_answer(&mut cut).await,
        Err(TlsWireError::Closed { .. })
    ));
    let mut empty: &[u8] = &[];
    let err = read_answer(&mut empty).await.expect_err("closed");
    assert!(err.is_refusal(), "{err}");
}

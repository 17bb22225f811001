use super::*;

fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

fn server_hello(version: u16, exts: Option<Vec<(u16, Vec<u8>)>>) -> Vec<u8> {
    let sh = ServerHello {
        legacy_version: version,
        random: [7; 32],
        session_id: vec![],
        cipher_suite: 0xC02F,
        compression: 0,
        extensions: exts,
    };
    message(2, &sh.encode())
}

/// A certificate list claiming `list` bytes, then the given entries.
fn certificate(list: usize, message_len: usize, certs: &[Vec<u8>]) -> Vec<u8> {
    let mut m = vec![11];
    m.extend_from_slice(&(message_len as u32).to_be_bytes()[1..]);
    m.extend_from_slice(&(list as u32).to_be_bytes()[1..]);
    for c in certs {
        m.extend_from_slice(&(c.len() as u32).to_be_bytes()[1..]);
        m.extend_from_slice(c);
    }
    m
}

fn honest_certificate(certs: &[Vec<u8>]) -> Vec<u8> {
    let list: usize = certs.iter().map(|c| c.len() + 3).sum();
    certificate(list, list + 3, certs)
}

/// The handshake stream in records of at most `size` bytes.
fn records(stream: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in stream.chunks(size) {
        out.extend_from_slice(&[22, 3, 3]);
        out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

fn certs(n: usize, len: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| vec![i as u8; len]).collect()
}

fn flight(certs: &[Vec<u8>]) -> Vec<u8> {
    let mut hs = server_hello(0x0303, Some(vec![]));
    hs.extend(honest_certificate(certs));
    // ServerHelloDone: after the certificate, never read.
    hs.extend(message(14, &[]));
    hs
}

/// Feeds `bytes` in pieces of `step`, returning the last result.
fn scan_in(bytes: &[u8], step: usize, limits: CertificateLimits) -> (CertificateScan, bool) {
    let mut scan = CertificateScan::new(limits);
    let mut done = false;
    for piece in bytes.chunks(step) {
        match scan.feed(piece) {
            Ok(d) => done = d,
            Err(_) => break,
        }
    }
    (scan, done)
}

#[test]
fn a_chain_split_over_records_and_reads_any_way_gives_the_same_facts() {
    let sent = certs(5, 1000);
    let stream = flight(&sent);
    for record in [1, 7, 100, 4096, MAX_RECORD] {
        let bytes = records(&stream, record);
        for step in [1, 3, 5, 64, 20_000] {
            let (scan, done) = scan_in(&bytes, step, CertificateLimits::default());
            assert!(done, "record {record} step {step}: {:?}", scan.error());
            let f = scan.facts();
            assert_eq!(f.complete, 5);
            assert_eq!(f.kept, sent);
            assert_eq!(f.message_length, Some(5 * 1003 + 3));
            assert_eq!(f.received, 5 * 1003 + 3);
            assert_eq!(f.leaf_length, Some(1000));
            assert_eq!(f.server_hello.as_ref().map(|h| h.version()), Some(0x0303));
            assert!(f.done);
        }
    }
}

#[test]
fn a_chain_over_64_kib_is_counted_and_only_the_budget_is_kept() {
    // 300 certificates of 450 bytes: 136 KB, over rustls's limit.
    let sent = certs(300, 450);
    let bytes = records(&flight(&sent), MAX_RECORD);
    let (scan, done) = scan_in(&bytes, 1500, CertificateLimits::default());
    assert!(done);
    let f = scan.facts();
    assert_eq!(f.complete, 300);
    assert_eq!(f.message_length, Some(300 * 453 + 3));
    // The leaf and 32 more.
    assert_eq!(f.kept.len(), 33);
    assert_eq!(f.kept[..], sent[..33]);
}

#[test]
fn a_leaf_over_the_cap_is_measured_not_kept_and_nothing_after_it_is_kept() {
    let mut sent = certs(1, 2_000_000);
    sent.extend(certs(2, 100));
    let bytes = records(&flight(&sent), MAX_RECORD);
    let (scan, done) = scan_in(&bytes, MAX_RECORD + 5, CertificateLimits::default());
    assert!(done);
    let f = scan.facts();
    assert_eq!(f.complete, 3);
    assert_eq!(f.leaf_length, Some(2_000_000));
    assert!(f.kept.is_empty());
    assert_eq!(f.message_length, Some(2_000_000 + 200 + 9 + 3));
}

#[test]
fn the_rest_budget_in_bytes_stops_keeping_at_the_first_certificate_over_it() {
    let sent = vec![vec![1; 10], vec![2; 300], vec![3; 300], vec![4; 10]];
    let limits = CertificateLimits {
        max_rest_bytes: 500,
        ..CertificateLimits::default()
    };
    let (scan, done) = scan_in(&records(&flight(&sent), 64), 64, limits);
    assert!(done);
    // The small fourth would fit, but the kept list stays a prefix.
    assert_eq!(scan.facts().kept, sent[..2]);
    assert_eq!(scan.facts().complete, 4);
}

#[test]
fn a_claim_longer_than_the_data_keeps_what_arrived() {
    // Claims 2^24 - 1 bytes, sends two certificates and stops.
    let sent = certs(2, 500);
    let max = (1 << 24) - 1;
    let mut hs = server_hello(0x0303, None);
    hs.extend(certificate(max - 3, max, &sent));
    let (scan, done) = scan_in(&records(&hs, MAX_RECORD), 777, CertificateLimits::default());
    assert!(!done);
    assert_eq!(scan.error(), None);
    let f = scan.facts();
    assert_eq!(f.message_length, Some(max));
    assert_eq!(f.complete, 2);
    assert_eq!(f.kept, sent);
    assert_eq!(f.received, 3 + 2 * 503);
}

#[test]
fn a_huge_claimed_certificate_is_not_allocated_up_front() {
    // One certificate claiming nearly 16 MiB, of which 1,000 bytes arrive.
    let max = (1 << 24) - 1;
    let mut hs = server_hello(0x0303, None);
    let mut m = vec![11];
    m.extend_from_slice(&(max as u32).to_be_bytes()[1..]);
    m.extend_from_slice(&((max - 3) as u32).to_be_bytes()[1..]);
    m.extend_from_slice(&((max - 6) as u32).to_be_bytes()[1..]);
    m.extend(vec![0x30; 1000]);
    hs.extend(m);
    let (scan, done) = scan_in(
        &records(&hs, MAX_RECORD),
        4096,
        CertificateLimits::default(),
    );
    assert!(!done);
    let f = scan.facts();
    assert_eq!(f.leaf_length, Some(max - 6));
    assert_eq!(f.complete, 0);
    assert!(f.kept.is_empty());
    // The leaf is over the 1 MiB cap: not even its prefix is held.
    assert!(matches!(
        scan.handshake,
        Handshake::CertBody { keep: None, .. }
    ));
}

#[test]
fn the_largest_legal_message_completes_within_the_default_read_limit() {
    // 256 certificates filling a 2^24 - 1 byte message exactly.
    let max = (1usize << 24) - 1;
    let mut sent = certs(256, 65_533);
    sent[255].truncate(65_533 - 4);
    let stream = flight(&sent);
    let (scan, done) = scan_in(
        &records(&stream, MAX_RECORD),
        1 << 16,
        CertificateLimits::default(),
    );
    assert!(done, "{:?}", scan.error());
    let f = scan.facts();
    assert_eq!(f.message_length, Some(max));
    assert_eq!(f.received, max);
    assert_eq!(f.complete, 256);
    // The leaf and the certificates that fit in 512 KiB.
    assert_eq!(f.kept.len(), 1 + (512 << 10) / 65_533);
}

#[test]
fn the_read_limit_ends_a_stream_that_never_completes() {
    let max = (1 << 24) - 1;
    let mut hs = server_hello(0x0303, None);
    hs.extend(certificate(max - 3, max, &certs(200, 16_000)));
    let limits = CertificateLimits {
        max_read: 1 << 20,
        ..CertificateLimits::default()
    };
    let mut scan = CertificateScan::new(limits);
    let mut result = Ok(false);
    for piece in records(&hs, MAX_RECORD).chunks(10_000) {
        result = scan.feed(piece);
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(CertificateError::ReadLimit { limit: 1 << 20 }));
    assert_eq!(scan.facts().read, 1 << 20);
    // Everything counted up to the limit stays.
    let complete = scan.facts().complete;
    assert!((60..66).contains(&complete), "{complete}");
    // The error is sticky.
    assert!(scan.feed(&[22]).is_err());
}

#[test]
fn a_zero_length_certificate_is_an_error_after_the_ones_before_it() {
    let sent = vec![vec![1; 10], vec![], vec![2; 10]];
    let (scan, done) = scan_in(
        &records(&flight(&sent), 100),
        100,
        CertificateLimits::default(),
    );
    assert!(!done);
    assert_eq!(
        scan.error(),
        Some(&CertificateError::EmptyCertificate { position: 1 })
    );
    assert_eq!(scan.facts().complete, 1);
    assert_eq!(scan.facts().kept, [vec![1; 10]]);
}

#[test]
fn list_and_message_lengths_must_agree() {
    // Trailing garbage in the message: the list is shorter.
    let sent = certs(1, 10);
    let mut hs = server_hello(0x0303, None);
    hs.extend(certificate(13, 20, &sent));
    hs.extend([0xde, 0xad, 0xbe, 0xef, 0, 0, 0]);
    let (scan, _) = scan_in(&records(&hs, 100), 100, CertificateLimits::default());
    assert_eq!(
        scan.error(),
        Some(&CertificateError::ListMismatch {
            list: 13,
            message: 20
        })
    );
    assert_eq!(scan.facts().message_length, Some(20));

    // A certificate longer than the list.
    let mut hs = server_hello(0x0303, None);
    hs.extend(certificate(8, 11, &[vec![5; 10]]));
    let (scan, _) = scan_in(&records(&hs, 100), 100, CertificateLimits::default());
    assert_eq!(
        scan.error(),
        Some(&CertificateError::CertificateOverrun {
            position: 0,
            length: 10,
            left: 5
        })
    );

    // A list ending inside a length field.
    let mut hs = server_hello(0x0303, None);
    hs.extend(message(11, &[0, 0, 2, 0, 0]));
    let (scan, _) = scan_in(&records(&hs, 100), 100, CertificateLimits::default());
    assert_eq!(
        scan.error(),
        Some(&CertificateError::ListTruncated { position: 0 })
    );

    // A message too short for its list length.
    let mut hs = server_hello(0x0303, None);
    hs.extend(message(11, &[0]));
    let (scan, _) = scan_in(&records(&hs, 100), 100, CertificateLimits::default());
    assert_eq!(
        scan.error(),
        Some(&CertificateError::ShortMessage { length: 1 })
    );
}

#[test]
fn an_empty_list_is_a_complete_message_without_certificates() {
    let mut hs = server_hello(0x0303, None);
    hs.extend(certificate(0, 3, &[]));
    let (scan, done) = scan_in(&records(&hs, 100), 100, CertificateLimits::default());
    assert!(done);
    assert_eq!(scan.facts().complete, 0);
}

#[test]
fn bytes_after_the_certificate_message_are_ignored() {
    let mut bytes = records(&flight(&certs(2, 10)), 1000);
    bytes.extend(b"garbage that is not TLS at all");
    let (scan, done) = scan_in(&bytes, bytes.len(), CertificateLimits::default());
    assert!(done, "{:?}", scan.error());
    assert_eq!(scan.facts().complete, 2);
}

#[test]
fn a_tls_1_3_server_hello_ends_the_scan() {
    let hs = server_hello(0x0303, Some(vec![(0x002b, vec![3, 4])]));
    let (scan, _) = scan_in(&records(&hs, 100), 100, CertificateLimits::default());
    assert_eq!(scan.error(), Some(&CertificateError::Tls13));
    assert!(scan.facts().server_hello.is_some());
}

#[test]
fn an_alert_ends_the_scan_with_its_name() {
    let bytes = [21, 3, 3, 0, 2, 2, 70];
    let (scan, _) = scan_in(&bytes, 1, CertificateLimits::default());
    assert_eq!(
        scan.error(),
        Some(&CertificateError::Alert {
            level: 2,
            description: 70,
            name: "ProtocolVersion".to_owned()
        })
    );
    assert!(
        scan.error()
            .is_some_and(|e| e.to_string() == "server sent alert ProtocolVersion (70)")
    );
}

#[test]
fn garbage_gets_a_bounded_reason() {
    let cases: [(&[u8], CertificateError); 6] = [
        (
            b"HTTP/1.1 400 Bad Request\r\n",
            CertificateError::NotTls {
                first: "HTTP/".to_owned(),
            },
        ),
        (
            &[22, 3, 3, 0x40, 0x01],
            CertificateError::RecordTooLarge {
                length: 0x4001,
                limit: MAX_RECORD,
            },
        ),
        (&[22, 3, 3, 0, 0], CertificateError::EmptyRecord),
        (
            &[21, 3, 3, 0, 1, 2],
            CertificateError::BadAlert { length: 1 },
        ),
        (
            &[23, 3, 3, 0, 1, 0],
            CertificateError::UnexpectedRecord { content_type: 23 },
        ),
        (
            &[22, 3, 3, 0, 4, 11, 0, 0, 0],
            CertificateError::NotServerHello { message_type: 11 },
        ),
    ];
    for (bytes, want) in cases {
        let mut scan = CertificateScan::new(CertificateLimits::default());
        assert_eq!(scan.feed(bytes), Err(want.clone()), "{bytes:?}");
        assert_eq!(scan.error(), Some(&want));
    }
    // A message other than Certificate after the hello.
    let mut hs = server_hello(0x0303, None);
    hs.extend(message(12, &[1, 2, 3]));
    let (scan, _) = scan_in(&records(&hs, 100), 100, CertificateLimits::default());
    assert_eq!(
        scan.error(),
        Some(&CertificateError::NoCertificate { message_type: 12 })
    );
}

#[tokio::test]
async fn the_reader_reports_a_close_and_keeps_the_facts() {
    let sent = certs(3, 100);
    let mut hs = server_hello(0x0303, None);
    let full = honest_certificate(&sent);
    hs.extend(&full[..full.len() - 50]);
    let bytes = records(&hs, 128);
    let mut stream: &[u8] = &bytes;
    let mut scan = CertificateScan::new(CertificateLimits::default());
    let r = read_certificate(&mut stream, &mut scan).await;
    assert_eq!(r, Err(CertificateError::Closed { read: bytes.len() }));
    assert_eq!(scan.facts().complete, 2);
    assert_eq!(scan.error(), r.err().as_ref());

    let bytes = records(&flight(&sent), 128);
    let mut stream: &[u8] = &bytes;
    let mut scan = CertificateScan::new(CertificateLimits::default());
    assert_eq!(read_certificate(&mut stream, &mut scan).await, Ok(()));
    assert_eq!(scan.facts().kept, sent);
}

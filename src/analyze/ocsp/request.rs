//! The request side: which responders a certificate names, which sent
//! certificate issued it, and the DER request about it.

use der_ocsp::Encode;
use der_ocsp::asn1::{Null, OctetString};
use spki::AlgorithmIdentifierOwned;
use x509_ocsp::{CertId, OcspRequest, Request, TbsRequest};

use der_ocsp::oid::ObjectIdentifier;

use super::{SHA1, SHA256, SHA384, SHA512, Which, parse};

/// The OCSP responder URLs of a certificate's Authority Information
/// Access extension (`http://` or otherwise; the caller decides what it
/// can fetch).
pub fn responder_urls(der: &[u8]) -> Vec<String> {
    parse(der, Which::Certificate).map_or_else(
        |_| Vec::new(),
        |cert| crate::analyze::chain::ocsp_uris(&cert),
    )
}

/// Index of the first candidate that issued `cert`: its subject is the
/// certificate's issuer and its key verifies the certificate's signature.
pub fn find_issuer(cert: &[u8], candidates: &[&[u8]]) -> Option<usize> {
    let cert = parse(cert, Which::Certificate).ok()?;
    candidates.iter().position(|c| {
        parse(c, Which::Issuer).is_ok_and(|issuer| {
            issuer.subject().as_raw() == cert.issuer().as_raw()
                && cert.verify_signature(Some(issuer.public_key())).is_ok()
        })
    })
}

pub(super) fn digest(alg: &ObjectIdentifier, data: &[u8]) -> Option<Vec<u8>> {
    let a = match *alg {
        SHA1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        SHA256 => &ring::digest::SHA256,
        SHA384 => &ring::digest::SHA384,
        SHA512 => &ring::digest::SHA512,
        _ => return None,
    };
    Some(ring::digest::digest(a, data).as_ref().to_vec())
}

/// The CertID of `cert` under `issuer`, with SHA-1: RFC 5019 (the profile
/// high-volume responders such as DoD's serve) requires it, and OpenSSL's
/// responder answers any digest the request uses.
pub fn cert_id(cert: &[u8], issuer: &[u8]) -> Result<CertId, String> {
    let c = parse(cert, Which::Certificate).map_err(|e| e.to_string())?;
    let i = parse(issuer, Which::Issuer).map_err(|e| format!("issuer: {e}"))?;
    let hash = |data: &[u8]| -> Result<OctetString, String> {
        let d = digest(&SHA1, data).ok_or("SHA-1 unavailable")?;
        OctetString::new(d).map_err(|e| e.to_string())
    };
    Ok(CertId {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: SHA1,
            parameters: Some(Null.into()),
        },
        issuer_name_hash: hash(i.subject().as_raw())?,
        issuer_key_hash: hash(&i.public_key().subject_public_key.data)?,
        serial_number: x509_cert::serial_number::SerialNumber::new(c.raw_serial())
            .map_err(|e| format!("serial number: {e}"))?,
    })
}

/// A DER OCSP request for `cert` (no nonce: RFC 5019 responders serve
/// pre-produced responses and ignore one).
pub fn request(cert: &[u8], issuer: &[u8]) -> Result<Vec<u8>, String> {
    let req = OcspRequest {
        tbs_request: TbsRequest {
            version: Default::default(),
            requestor_name: None,
            request_list: vec![Request {
                req_cert: cert_id(cert, issuer)?,
                single_request_extensions: None,
            }],
            request_extensions: None,
        },
        optional_signature: None,
    };
    req.to_der()
        .map_err(|e| format!("cannot encode the request: {e}"))
}

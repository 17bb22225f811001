//! How certificates and CRLs name things, one way for every judgement:
//! distinguished names in RFC 4514 order, serials in hex, signature
//! algorithms as OpenSSL prints them (so an operator can grep the same
//! string in `openssl x509 -text`).

use std::net::{Ipv4Addr, Ipv6Addr};
use x509_parser::extensions::GeneralName;
use x509_parser::objects::{oid_registry, oid2abbrev};
use x509_parser::prelude::{X509Certificate, X509Name};

/// Renders a name the way RFC 4514 and the DoD's documents write it: most
/// specific attribute first (`CN=DoD Root CA 3, OU=PKI, OU=DoD, ...`).
/// Values are made printable ([`crate::text::printable`]): a hostile
/// subject cannot forge a line or drive a terminal wherever it is shown.
pub fn render_name(name: &X509Name<'_>) -> String {
    let rdns: Vec<_> = name.iter().collect();
    let mut parts = Vec::new();
    for rdn in rdns.into_iter().rev() {
        for attr in rdn.iter() {
            let oid = attr.attr_type();
            let key = oid2abbrev(oid, oid_registry())
                .map(str::to_owned)
                .unwrap_or_else(|_| oid.to_id_string());
            let value = attr
                .as_str()
                .map(|v| crate::text::printable(v).into_owned())
                .unwrap_or_else(|_| format!("#{}", hex::encode(attr.as_slice())));
            parts.push(format!("{key}={value}"));
        }
    }
    parts.join(", ")
}

pub(crate) fn common_name(name: &X509Name<'_>) -> String {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(|cn| crate::text::printable(cn).into_owned())
        .unwrap_or_default()
}

/// A serial's octets without leading zeros: DER pads a positive serial
/// whose top bit is set with one, and some encoders pad more, so serials
/// are compared this way.
pub(crate) fn strip_zeros(raw: &[u8]) -> &[u8] {
    let significant = raw.iter().position(|b| *b != 0).unwrap_or(raw.len());
    &raw[significant..]
}

/// A serial in hex without leading zero octets (`00` for zero), as
/// `openssl x509 -serial` prints it, lower case.
pub(crate) fn serial_hex(raw: &[u8]) -> String {
    let trimmed = strip_zeros(raw);
    if trimmed.is_empty() {
        "00".to_owned()
    } else {
        hex::encode(trimmed)
    }
}

/// Signature algorithm names as OpenSSL prints them, so operators can
/// grep the same string in `openssl x509 -text`.
pub fn signature_name(oid: &str) -> String {
    let name = match oid {
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.10040.4.3" => "dsa_with_SHA1",
        "2.16.840.1.101.3.4.3.2" => "dsa_with_SHA256",
        "1.3.101.112" => "ED25519",
        "1.3.101.113" => "ED448",
        other => other,
    };
    name.to_owned()
}

/// MD2, MD5 and SHA-1 signatures can be forged (SHA-1: SHAttered, 2017).
pub fn is_weak_signature(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("md2") || lower.starts_with("md5") || lower.contains("sha1")
}

/// An iPAddress in its usual form (a v4 or v6 address, else hex).
pub(crate) fn render_ip(bytes: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Ipv4Addr::from(v4).to_string()
    } else if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        Ipv6Addr::from(v6).to_string()
    } else {
        hex::encode(bytes)
    }
}

/// keyUsage bits by RFC 5280 name; `None` when the extension is absent.
pub(crate) fn key_usage(cert: &X509Certificate<'_>) -> Option<Vec<String>> {
    let ku = cert.key_usage().ok().flatten()?.value;
    let bits = [
        (ku.digital_signature(), "digitalSignature"),
        (ku.non_repudiation(), "nonRepudiation"),
        (ku.key_encipherment(), "keyEncipherment"),
        (ku.data_encipherment(), "dataEncipherment"),
        (ku.key_agreement(), "keyAgreement"),
        (ku.key_cert_sign(), "keyCertSign"),
        (ku.crl_sign(), "cRLSign"),
        (ku.encipher_only(), "encipherOnly"),
        (ku.decipher_only(), "decipherOnly"),
    ];
    Some(
        bits.iter()
            .filter(|(set, _)| *set)
            .map(|(_, name)| (*name).to_owned())
            .collect(),
    )
}

/// extendedKeyUsage purposes (`serverAuth`, `any`, ... or the OID); `None` when absent.
pub(crate) fn ext_key_usage(cert: &X509Certificate<'_>) -> Option<Vec<String>> {
    let eku = cert.extended_key_usage().ok().flatten()?.value;
    let named = [
        (eku.any, "any"),
        (eku.server_auth, "serverAuth"),
        (eku.client_auth, "clientAuth"),
        (eku.code_signing, "codeSigning"),
        (eku.email_protection, "emailProtection"),
        (eku.time_stamping, "timeStamping"),
        (eku.ocsp_signing, "OCSPSigning"),
    ];
    let mut out: Vec<String> = named
        .iter()
        .filter(|(set, _)| *set)
        .map(|(_, name)| (*name).to_owned())
        .collect();
    out.extend(eku.other.iter().map(|oid| oid.to_id_string()));
    Some(out)
}

/// A general name as OpenSSL prints it (`DNS:`, `IP:addr/mask`, `DirName:`).
pub(crate) fn general_name(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(d) => format!("DNS:{}", crate::text::printable(d)),
        GeneralName::RFC822Name(e) => format!("email:{}", crate::text::printable(e)),
        GeneralName::URI(u) => format!("URI:{}", crate::text::printable(u)),
        GeneralName::IPAddress(b) if b.len() == 8 || b.len() == 32 => {
            let (addr, mask) = b.split_at(b.len() / 2);
            format!("IP:{}/{}", render_ip(addr), render_ip(mask))
        }
        GeneralName::IPAddress(b) => format!("IP:{}", render_ip(b)),
        GeneralName::DirectoryName(n) => format!("DirName:{}", render_name(n)),
        other => format!("{other:?}"),
    }
}

/// A nameConstraints extension for people:
/// `permitted: DNS:.mil; excluded: DNS:.lab.test`.
pub(crate) fn render_name_constraints(nc: &x509_parser::extensions::NameConstraints<'_>) -> String {
    let render = |trees: &Option<Vec<x509_parser::extensions::GeneralSubtree<'_>>>| {
        trees.as_ref().map(|t| {
            t.iter()
                .map(|s| general_name(&s.base))
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    let mut parts = Vec::new();
    if let Some(p) = render(&nc.permitted_subtrees) {
        parts.push(format!("permitted: {p}"));
    }
    if let Some(e) = render(&nc.excluded_subtrees) {
        parts.push(format!("excluded: {e}"));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serial 0 prints as `00` (as `openssl x509 -serial` does), not as an
    /// empty string; DER's sign padding is not part of the number.
    #[test]
    fn serials_print_without_padding_and_zero_is_00() {
        assert_eq!(serial_hex(&[0x00]), "00");
        assert_eq!(serial_hex(&[]), "00");
        assert_eq!(serial_hex(&[0x00, 0x9f, 0x01]), "9f01");
        assert_eq!(strip_zeros(&[0x00, 0x00, 0x01]), [0x01]);
        assert!(strip_zeros(&[0x00]).is_empty());
    }
}

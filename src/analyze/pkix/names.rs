//! Name comparison (RFC 5280 7.1) and name constraints (RFC 5280
//! 4.2.1.10, 6.1.3 (b)-(c)) for every name form a Federal or web path
//! uses: dNSName, iPAddress, rfc822Name, URI and directoryName (the
//! subject DN and directoryName SANs).

use x509_parser::extensions::{GeneralName, NameConstraints};
use x509_parser::prelude::X509Name;

/// A distinguished name in comparable form: per RDN its attributes, sorted,
/// as (type OID, value) with string values case-folded and their inner
/// whitespace collapsed (the RFC 4518 steps that matter in practice).
pub type NameKey = Vec<Vec<(String, Vec<u8>)>>;

/// The comparable form of `name`.
pub fn name_key(name: &X509Name<'_>) -> NameKey {
    name.iter()
        .map(|rdn| {
            let mut avas: Vec<(String, Vec<u8>)> = rdn
                .iter()
                .map(|ava| {
                    let oid = ava.attr_type().to_id_string();
                    let value = match ava.as_str() {
                        Ok(s) => fold(s).into_bytes(),
                        Err(_) => ava.attr_value().data.to_vec(),
                    };
                    (oid, value)
                })
                .collect();
            avas.sort();
            avas
        })
        .collect()
}

fn fold(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// RFC 5280 7.1: equal byte for byte, or equal after folding.
pub fn same_name(a: &X509Name<'_>, b: &X509Name<'_>) -> bool {
    a.as_raw() == b.as_raw() || name_key(a) == name_key(b)
}

/// A name of a certificate that constraints apply to.
#[derive(Debug, Clone)]
pub(super) enum Subject<'a> {
    Dns(&'a str),
    Ip(&'a [u8]),
    Email(String),
    Uri(&'a str),
    Dir(NameKey),
    /// otherName, x400Address, ediPartyName, registeredID: constrained
    /// only when a constraint of the same form exists, which flowprobe
    /// cannot process (so the path is refused).
    Other(&'static str),
}

impl Subject<'_> {
    fn form(&self) -> &'static str {
        match self {
            Subject::Dns(_) => "DNS",
            Subject::Ip(_) => "IP",
            Subject::Email(_) => "email",
            Subject::Uri(_) => "URI",
            Subject::Dir(_) => "DirName",
            Subject::Other(form) => form,
        }
    }

    /// For people.
    pub(super) fn render(&self) -> String {
        match self {
            Subject::Dns(d) => format!("DNS:{}", crate::text::printable(d)),
            Subject::Ip(b) => format!("IP:{}", crate::analyze::x509::render_ip(b)),
            Subject::Email(e) => format!("email:{}", crate::text::printable(e)),
            Subject::Uri(u) => format!("URI:{}", crate::text::printable(u)),
            Subject::Dir(k) => format!("DirName:{}", render_key(k)),
            Subject::Other(form) => (*form).to_owned(),
        }
    }
}

fn render_key(key: &NameKey) -> String {
    key.iter()
        .rev()
        .map(|rdn| {
            rdn.iter()
                .map(|(oid, v)| {
                    format!(
                        "{}={}",
                        short(oid),
                        crate::text::printable(&String::from_utf8_lossy(v))
                    )
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn short(oid: &str) -> &str {
    match oid {
        "2.5.4.3" => "cn",
        "2.5.4.6" => "c",
        "2.5.4.10" => "o",
        "2.5.4.11" => "ou",
        "2.5.4.7" => "l",
        "2.5.4.8" => "st",
        other => other,
    }
}

const EMAIL_ATTRIBUTE: &str = "1.2.840.113549.1.9.1";

/// The names of a certificate that name constraints judge: the subject DN
/// when not empty, its emailAddress attributes, and every SAN.
pub(crate) fn subjects<'a>(
    subject: &X509Name<'_>,
    sans: &'a [GeneralName<'a>],
) -> Vec<Subject<'a>> {
    let mut out = Vec::new();
    let key = name_key(subject);
    if !key.is_empty() {
        for rdn in &key {
            for (oid, value) in rdn {
                if oid == EMAIL_ATTRIBUTE {
                    out.push(Subject::Email(String::from_utf8_lossy(value).into_owned()));
                }
            }
        }
        out.push(Subject::Dir(key));
    }
    for name in sans {
        out.push(match name {
            GeneralName::DNSName(d) => Subject::Dns(d),
            GeneralName::IPAddress(b) => Subject::Ip(b),
            GeneralName::RFC822Name(e) => Subject::Email((*e).to_owned()),
            GeneralName::URI(u) => Subject::Uri(u),
            GeneralName::DirectoryName(n) => Subject::Dir(name_key(n)),
            GeneralName::OtherName(..) => Subject::Other("otherName"),
            GeneralName::X400Address(_) => Subject::Other("x400Address"),
            GeneralName::EDIPartyName(_) => Subject::Other("ediPartyName"),
            GeneralName::RegisteredID(_) => Subject::Other("registeredID"),
            GeneralName::Invalid(..) => Subject::Other("invalid"),
        });
    }
    out
}

/// The first name of `names` that `constraints` exclude or do not permit.
pub(crate) fn first_outside<'n>(
    constraints: &NameConstraints<'_>,
    names: &'n [Subject<'n>],
) -> Option<&'n Subject<'n>> {
    let permitted = constraints.permitted_subtrees.as_deref().unwrap_or(&[]);
    let excluded = constraints.excluded_subtrees.as_deref().unwrap_or(&[]);
    names.iter().find(|name| {
        let same_form: Vec<_> = permitted
            .iter()
            .filter(|t| form_of(&t.base) == name.form())
            .collect();
        let not_permitted =
            !same_form.is_empty() && !same_form.iter().any(|t| within(name, &t.base));
        let is_excluded = excluded
            .iter()
            .filter(|t| form_of(&t.base) == name.form())
            .any(|t| {
                within(name, &t.base)
                    || matches!(name, Subject::Other(_))
                    || wildcard_reaches(name, &t.base)
            });
        not_permitted || is_excluded
    })
}

/// Comparisons one constraints extension may cost (names times subtrees)
/// before the path is refused as too costly to judge: Go and webpki bound
/// it too (x509-limbo `pathological::nc-dos-*`).
pub const MAX_CHECKS: usize = 1 << 20;

/// Names times subtrees for `constraints` over `names`.
pub(crate) fn checks(constraints: &NameConstraints<'_>, names: usize) -> usize {
    let subtrees = constraints.permitted_subtrees.as_ref().map_or(0, Vec::len)
        + constraints.excluded_subtrees.as_ref().map_or(0, Vec::len);
    subtrees.saturating_mul(names)
}

/// A wildcard SAN (`*.example.com`) stands for names one label below;
/// it is excluded when one of those names lies in an excluded subtree
/// (`bar.example.com`), since the certificate would serve it (RFC 9525
/// wildcards under RFC 5280 constraints, CVE-2025-61727).
fn wildcard_reaches(name: &Subject<'_>, base: &GeneralName<'_>) -> bool {
    let (Subject::Dns(n), GeneralName::DNSName(b)) = (name, base) else {
        return false;
    };
    let Some(parent) = n.strip_prefix("*.") else {
        return false;
    };
    let base = b
        .trim_start_matches('.')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let parent = parent.trim_end_matches('.').to_ascii_lowercase();
    base.strip_suffix(&format!(".{parent}"))
        .is_some_and(|label| !label.is_empty() && !label.contains('.'))
}

/// A dNSName as RFC 5280 4.2.1.6 allows it (letters, digits, hyphens,
/// labels of 1 to 63 octets; a leading `*` label as RFC 9525 wildcards).
fn valid_dns(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn form_of(base: &GeneralName<'_>) -> &'static str {
    match base {
        GeneralName::DNSName(_) => "DNS",
        GeneralName::IPAddress(_) => "IP",
        GeneralName::RFC822Name(_) => "email",
        GeneralName::URI(_) => "URI",
        GeneralName::DirectoryName(_) => "DirName",
        GeneralName::OtherName(..) => "otherName",
        GeneralName::X400Address(_) => "x400Address",
        GeneralName::EDIPartyName(_) => "ediPartyName",
        GeneralName::RegisteredID(_) => "registeredID",
        GeneralName::Invalid(..) => "invalid",
    }
}

/// Whether `name` lies in the subtree `base` (same form assumed).
fn within(name: &Subject<'_>, base: &GeneralName<'_>) -> bool {
    match (name, base) {
        // A malformed name is in no subtree (it fails a permitted one).
        (Subject::Dns(n), GeneralName::DNSName(b)) => valid_dns(n) && dns_within(n, b),
        (Subject::Ip(n), GeneralName::IPAddress(b)) => ip_within(n, b),
        (Subject::Email(n), GeneralName::RFC822Name(b)) => email_within(n, b),
        (Subject::Uri(n), GeneralName::URI(b)) => uri_host(n).is_some_and(|h| host_within(h, b)),
        (Subject::Dir(n), GeneralName::DirectoryName(b)) => {
            let base = name_key(b);
            n.len() >= base.len() && n[..base.len()] == base[..]
        }
        // A form flowprobe cannot compare is never inside a permitted
        // subtree (so it fails closed).
        _ => false,
    }
}

/// RFC 5280: a dNSName constraint matches the name itself and any name
/// made by adding labels on the left; a leading period (an OpenSSL and
/// CA/Browser Forum usage) matches only names below it.
pub(crate) fn dns_within(name: &str, base: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let base = base.trim_end_matches('.').to_ascii_lowercase();
    if base.is_empty() {
        return true;
    }
    if let Some(below) = base.strip_prefix('.') {
        return name.len() > below.len() + 1 && name.ends_with(&format!(".{below}"));
    }
    name == base || name.ends_with(&format!(".{base}"))
}

fn host_within(host: &str, base: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let base = base.to_ascii_lowercase();
    match base.strip_prefix('.') {
        Some(below) => host.ends_with(&format!(".{below}")),
        None => host == base,
    }
}

fn email_within(name: &str, base: &str) -> bool {
    let Some((_, host)) = name.rsplit_once('@') else {
        return false;
    };
    if base.contains('@') {
        // A mailbox: the local part is case-sensitive, the host is not.
        let (bl, bh) = base.rsplit_once('@').unwrap_or((base, ""));
        let (nl, _) = name.rsplit_once('@').unwrap_or((name, ""));
        return nl == bl && host.eq_ignore_ascii_case(bh);
    }
    host_within(host, base)
}

/// The host of a URI with an authority (`scheme://[userinfo@]host[:port]`).
fn uri_host(uri: &str) -> Option<&str> {
    let (_, rest) = uri.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split(']').next().map(|h| h.trim_start_matches('['))?
    } else {
        host.split(':').next()?
    };
    (!host.is_empty()).then_some(host)
}

/// An iPAddress constraint is an address and a mask of twice the length.
fn ip_within(name: &[u8], base: &[u8]) -> bool {
    if base.len() != name.len() * 2 {
        return false;
    }
    let (addr, mask) = base.split_at(name.len());
    name.iter()
        .zip(addr)
        .zip(mask)
        .all(|((n, a), m)| n & m == a & m)
}

/// Whether every iPAddress subtree has a well-formed mask (contiguous ones).
pub(crate) fn well_formed(constraints: &NameConstraints<'_>) -> bool {
    // RFC 5280 4.2.1.10: at least one of the two, neither an empty
    // sequence.
    let (p, e) = (
        &constraints.permitted_subtrees,
        &constraints.excluded_subtrees,
    );
    if (p.is_none() && e.is_none())
        || p.as_ref().is_some_and(Vec::is_empty)
        || e.as_ref().is_some_and(Vec::is_empty)
    {
        return false;
    }
    let trees = constraints
        .permitted_subtrees
        .iter()
        .chain(constraints.excluded_subtrees.iter())
        .flatten();
    trees.into_iter().all(|t| match &t.base {
        GeneralName::IPAddress(b) if b.len() == 8 || b.len() == 32 => {
            let mask = &b[b.len() / 2..];
            let bits: Vec<bool> = mask
                .iter()
                .flat_map(|byte| (0..8).rev().map(move |i| byte >> i & 1 == 1))
                .collect();
            bits.windows(2).all(|w| w[0] || !w[1])
        }
        GeneralName::IPAddress(_) => false,
        _ => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_subtrees() {
        assert!(dns_within("mdm.example.mil", "example.mil"));
        assert!(dns_within("example.mil", "example.mil"));
        assert!(!dns_within("badexample.mil", "example.mil"));
        assert!(dns_within("a.example.mil", ".example.mil"));
        assert!(!dns_within("example.mil", ".example.mil"));
        assert!(dns_within("anything", ""));
    }

    #[test]
    fn wildcards_reach_one_label_down() {
        let base = GeneralName::DNSName("bar.example.com");
        assert!(wildcard_reaches(&Subject::Dns("*.example.com"), &base));
        assert!(!wildcard_reaches(&Subject::Dns("*.other.com"), &base));
        assert!(!wildcard_reaches(
            &Subject::Dns("*.example.com"),
            &GeneralName::DNSName("a.bar.example.com")
        ));
        assert!(valid_dns("*.example.com") && valid_dns("mdm.lab.test"));
        assert!(!valid_dns(".example.com") && !valid_dns("a..b") && !valid_dns(""));
    }

    #[test]
    fn ip_subtrees() {
        assert!(ip_within(&[10, 1, 2, 3], &[10, 0, 0, 0, 255, 0, 0, 0]));
        assert!(!ip_within(&[11, 1, 2, 3], &[10, 0, 0, 0, 255, 0, 0, 0]));
        assert!(!ip_within(&[10, 1, 2, 3], &[10, 0, 0, 0]));
    }

    #[test]
    fn email_and_uri_subtrees() {
        assert!(email_within("a@mail.mil", "mail.mil"));
        assert!(!email_within("a@x.mail.mil", "mail.mil"));
        assert!(email_within("a@x.mail.mil", ".mail.mil"));
        assert!(email_within("a@MAIL.mil", "a@mail.mil"));
        assert!(!email_within("b@mail.mil", "a@mail.mil"));
        assert_eq!(uri_host("https://u@Host.mil:8443/x"), Some("Host.mil"));
        assert_eq!(uri_host("urn:x"), None);
        assert_eq!(uri_host("http://[::1]:80/"), Some("::1"));
    }
}

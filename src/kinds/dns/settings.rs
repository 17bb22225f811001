//! `dns = { ... }` on a flow: which names to ask the flow's DNS server
//! for, which records, and what the answers must hold.
//!
//! ```toml
//! dns = { names = ["mdm.example.test"], record = "both", expect = ["192.0.2.10"], min_answers = 1 }
//! ```
//!
//! Names are absolute (no search list is applied; a trailing dot is
//! optional). `expect` holds addresses every name must answer: each IPv4
//! address among the name's `A` answers, each IPv6 address among its
//! `AAAA` answers, so an address of a family `record` does not ask for is
//! an error here rather than a check that can never pass.

use std::net::IpAddr;

use hickory_resolver::proto::rr::{Name, RecordType};

use crate::config::Collector;
use crate::config::validate::{Keys, check_table};
use crate::text::named_enum;

const KEYS: [&str; 4] = ["names", "record", "expect", "min_answers"];

/// At most this many names per flow (each is a query, two with `both`,
/// and a series of `flowprobe_dns_answers`).
pub(crate) const MAX_NAMES: usize = 16;
/// At most this many addresses in `expect`.
pub(crate) const MAX_EXPECT: usize = 32;
/// Addresses kept per name and record type; `min_answers` is at most this.
pub(crate) const MAX_ANSWERS: usize = 32;
/// Default `min_answers`.
pub(crate) const DEFAULT_MIN_ANSWERS: u32 = 1;

named_enum! {
/// Which address records to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RecordChoice {
    #[default]
    A = "A",
    Aaaa = "AAAA",
    Both = "both",
}
}

impl RecordChoice {
    /// The record types asked for each name, in order.
    pub(crate) fn types(self) -> &'static [RecordType] {
        match self {
            RecordChoice::A => &[RecordType::A],
            RecordChoice::Aaaa => &[RecordType::AAAA],
            RecordChoice::Both => &[RecordType::A, RecordType::AAAA],
        }
    }

    /// Whether an address of this family is ever answered.
    fn asks_for(self, ip: IpAddr) -> bool {
        match self {
            RecordChoice::A => ip.is_ipv4(),
            RecordChoice::Aaaa => ip.is_ipv6(),
            RecordChoice::Both => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DnsSpec {
    /// The names as written (a trailing dot is kept).
    pub names: Vec<String>,
    pub record: RecordChoice,
    /// Addresses every name must answer (each among the answers of its
    /// family); empty for none.
    pub expect: Vec<IpAddr>,
    /// Addresses each name must answer per record type asked.
    pub min_answers: u32,
    /// The table as written, for `config show`.
    pub table: toml::Table,
}

impl DnsSpec {
    pub(crate) fn validate(
        value: Option<&toml::Value>,
        key: &str,
        errs: &mut Collector,
    ) -> Option<DnsSpec> {
        let key = format!("{key}.dns");
        let table = check_table(
            value,
            &key,
            "dns = { names = [\"mdm.example.test\"] }",
            errs,
        )?;
        let before = errs.errors.len();
        let k = Keys {
            table: &table,
            key: key.clone(),
        };
        k.only(&KEYS, errs);
        let names = names(&k, errs);
        let record = match k.string("record", errs) {
            None => RecordChoice::default(),
            Some(s) => RecordChoice::parse(&s).unwrap_or_else(|| {
                errs.push(
                    k.path("record"),
                    format!("{s:?}: {}", RecordChoice::expected()),
                );
                RecordChoice::default()
            }),
        };
        let expect = expect(&k, record, errs);
        let min_answers = k
            .uint("min_answers", MAX_ANSWERS as u64, errs)
            .map_or(DEFAULT_MIN_ANSWERS, |n| n as u32);
        if errs.errors.len() != before {
            return None;
        }
        Some(DnsSpec {
            names,
            record,
            expect,
            min_answers,
            table,
        })
    }
}

/// `names`: required, 1 to [`MAX_NAMES`] distinct names.
fn names(k: &Keys<'_>, errs: &mut Collector) -> Vec<String> {
    let path = k.path("names");
    let list = match k.table.get("names") {
        None => {
            errs.push(
                path,
                "missing: list the names to ask for, e.g. names = [\"mdm.example.test\"]",
            );
            return Vec::new();
        }
        Some(toml::Value::Array(a)) => a,
        Some(_) => {
            errs.push(path, "must be a list of names");
            return Vec::new();
        }
    };
    if list.is_empty() {
        errs.push(path.clone(), "must name at least one name");
    } else if list.len() > MAX_NAMES {
        errs.push(
            path.clone(),
            format!("{} names: at most {MAX_NAMES} per flow", list.len()),
        );
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let Some(s) = v.as_str() else {
            errs.push(at, format!("{v}: must be a string"));
            continue;
        };
        if let Err(why) = check_name(s) {
            errs.push(at, format!("{s:?} is not a DNS name: {why}"));
            continue;
        }
        let norm = |n: &str| n.trim_end_matches('.').to_ascii_lowercase();
        if out.iter().any(|o| norm(o) == norm(s)) {
            errs.push(at, format!("{s:?} is listed twice"));
            continue;
        }
        out.push(s.to_string());
    }
    out
}

/// A name as a query carries it: ASCII letters, digits, `-` and `_`,
/// labels of 1 to 63 characters, at most 253 characters in all.
pub(crate) fn check_name(s: &str) -> Result<(), String> {
    let bare = s.strip_suffix('.').unwrap_or(s);
    if bare.is_empty() {
        return Err("empty".into());
    }
    if bare.parse::<IpAddr>().is_ok() {
        return Err("an IP address, not a name".into());
    }
    if !bare.is_ascii() {
        return Err("write an internationalized name in its xn-- form".into());
    }
    if bare.len() > 253 {
        return Err(format!("{} characters, at most 253", bare.len()));
    }
    for label in bare.split('.') {
        if label.is_empty() {
            return Err("an empty label (two dots in a row, or a leading dot)".into());
        }
        if label.len() > 63 {
            return Err(format!("label {label:?} is longer than 63 characters"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!("{c:?} in label {label:?}"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label {label:?} starts or ends with '-'"));
        }
    }
    // What the probe will build from it; every name that passed the rules
    // above parses, this only guards the two from drifting apart.
    Name::from_ascii(s).map_err(|e| e.to_string())?;
    Ok(())
}

/// `expect`: IP addresses of a family `record` asks for.
fn expect(k: &Keys<'_>, record: RecordChoice, errs: &mut Collector) -> Vec<IpAddr> {
    let path = k.path("expect");
    let list = match k.table.get("expect") {
        None => return Vec::new(),
        Some(toml::Value::Array(a)) => a,
        Some(_) => {
            errs.push(path, "must be a list of IP addresses");
            return Vec::new();
        }
    };
    if list.len() > MAX_EXPECT {
        errs.push(
            path.clone(),
            format!("{} addresses: at most {MAX_EXPECT}", list.len()),
        );
    }
    let mut out: Vec<IpAddr> = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let Some(ip) = v.as_str().and_then(|s| s.trim().parse::<IpAddr>().ok()) else {
            errs.push(at, format!("{v} is not an IP address"));
            continue;
        };
        if !record.asks_for(ip) {
            errs.push(
                at,
                format!(
                    "{ip} can never be answered: record = {:?} asks for {} addresses only",
                    record.as_str(),
                    if ip.is_ipv4() { "IPv6" } else { "IPv4" }
                ),
            );
            continue;
        }
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(table: &str) -> Result<DnsSpec, Vec<(String, String)>> {
        let v: toml::Table = format!("dns = {{ {table} }}").parse().expect("toml");
        validate(v.get("dns"))
    }

    fn validate(v: Option<&toml::Value>) -> Result<DnsSpec, Vec<(String, String)>> {
        let mut errs = Collector::new("test");
        DnsSpec::validate(v, "flow[x]", &mut errs).ok_or_else(|| {
            errs.errors
                .iter()
                .map(|e| (e.key.clone(), e.message.clone()))
                .collect()
        })
    }

    /// The key paths of the errors, in order.
    fn keys(r: Result<DnsSpec, Vec<(String, String)>>) -> Vec<String> {
        r.expect_err("invalid")
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    #[test]
    fn defaults_and_a_full_table() {
        let s = parse(r#"names = ["mdm.example.test"]"#).expect("valid");
        assert_eq!(s.names, vec!["mdm.example.test"]);
        assert_eq!(s.record, RecordChoice::A);
        assert_eq!(s.record.types(), &[RecordType::A]);
        assert!(s.expect.is_empty());
        assert_eq!(s.min_answers, 1);

        let s = parse(
            r#"names = ["mdm.example.test.", "Enroll.Example.Test"], record = "both",
               expect = ["192.0.2.10", "2001:db8::10", "192.0.2.10"], min_answers = 2"#,
        )
        .expect("valid");
        assert_eq!(s.names, vec!["mdm.example.test.", "Enroll.Example.Test"]);
        assert_eq!(s.record.types(), &[RecordType::A, RecordType::AAAA]);
        let want: Vec<IpAddr> = vec![
            "192.0.2.10".parse().expect("ip"),
            "2001:db8::10".parse().expect("ip"),
        ];
        assert_eq!(s.expect, want, "a repeated address counts once");
        assert_eq!(s.min_answers, 2);
        assert_eq!(
            parse(r#"names = ["a.test"], record = "AAAA""#).map(|s| s.record),
            Ok(RecordChoice::Aaaa)
        );
    }

    #[test]
    fn bad_names_are_each_an_error_at_their_index() {
        let r = parse(
            r#"names = ["ok.test", "bad name.test", "a..test", "-x.test", "192.0.2.1",
                        "mdm.test", "MDM.test.", "é.test", 7]"#,
        );
        let errs = r.clone().expect_err("invalid");
        assert_eq!(
            keys(r),
            [
                "flow[x].dns.names[1]",
                "flow[x].dns.names[2]",
                "flow[x].dns.names[3]",
                "flow[x].dns.names[4]",
                "flow[x].dns.names[6]",
                "flow[x].dns.names[7]",
                "flow[x].dns.names[8]",
            ]
        );
        assert!(errs[3].1.contains("IP address"), "{errs:?}");
        assert!(errs[4].1.contains("twice"), "{errs:?}");
        assert!(errs[6].1.contains("must be a string"), "{errs:?}");
        let long = format!(r#"names = ["{}.test"]"#, "a".repeat(64));
        assert_eq!(keys(parse(&long)), ["flow[x].dns.names[0]"]);
        let total = vec!["a".repeat(60); 5].join(".");
        assert_eq!(
            keys(parse(&format!(r#"names = ["{total}"]"#))),
            ["flow[x].dns.names[0]"]
        );
    }

    #[test]
    fn names_are_required_bounded_and_a_list() {
        assert_eq!(keys(parse("")), ["flow[x].dns.names"]);
        assert_eq!(
            keys(validate(None)),
            ["flow[x].dns.names"],
            "no table at all"
        );
        assert_eq!(keys(parse("names = []")), ["flow[x].dns.names"]);
        assert_eq!(keys(parse(r#"names = "mdm.test""#)), ["flow[x].dns.names"]);
        let many: Vec<String> = (0..=MAX_NAMES).map(|i| format!("\"n{i}.test\"")).collect();
        assert_eq!(
            keys(parse(&format!("names = [{}]", many.join(",")))),
            ["flow[x].dns.names"]
        );
        let max: Vec<String> = (0..MAX_NAMES).map(|i| format!("\"n{i}.test\"")).collect();
        assert!(parse(&format!("names = [{}]", max.join(","))).is_ok());
    }

    #[test]
    fn bad_addresses_are_each_an_error_at_their_index() {
        let r = parse(
            r#"names = ["a.test"], expect = ["192.0.2.1", "192.0.2.300", "2001:db8::1", "mdm.test", 5]"#,
        );
        let errs = r.clone().expect_err("invalid");
        assert_eq!(
            keys(r),
            [
                "flow[x].dns.expect[1]",
                "flow[x].dns.expect[2]",
                "flow[x].dns.expect[3]",
                "flow[x].dns.expect[4]",
            ]
        );
        assert!(errs[1].1.contains("IPv4 addresses only"), "{errs:?}");
        assert_eq!(
            keys(parse(
                r#"names = ["a.test"], record = "AAAA", expect = ["192.0.2.1"]"#
            )),
            ["flow[x].dns.expect[0]"]
        );
        assert_eq!(
            keys(parse(r#"names = ["a.test"], expect = "192.0.2.1""#)),
            ["flow[x].dns.expect"]
        );
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_their_key_all_at_once() {
        let r = parse(
            r#"names = ["a.test"], recrod = "A", record = "MX", min_answers = "1", timeout = "1s""#,
        );
        let errs = r.clone().expect_err("invalid");
        assert_eq!(
            keys(r),
            [
                "flow[x].dns.recrod",
                "flow[x].dns.timeout",
                "flow[x].dns.record",
                "flow[x].dns.min_answers",
            ]
        );
        assert!(errs[0].1.contains("unknown key"), "{errs:?}");
        assert!(errs[2].1.contains("\"both\""), "{errs:?}");
        assert_eq!(
            keys(parse(r#"names = ["a.test"], record = 1"#)),
            ["flow[x].dns.record"]
        );
        assert_eq!(
            keys(parse(r#"names = ["a.test"], min_answers = 33"#)),
            ["flow[x].dns.min_answers"]
        );
        assert_eq!(
            parse(r#"names = ["a.test"], min_answers = 0"#).map(|s| s.min_answers),
            Ok(0)
        );
        let v: toml::Table = "dns = \"mdm.test\"".parse().expect("toml");
        assert_eq!(keys(validate(v.get("dns"))), ["flow[x].dns"]);
    }
}

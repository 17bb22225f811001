//! `[fleet]`: the flowprobe instances `flowprobe check --fleet` asks, and
//! how to reach them (CA, client certificate, basic auth, timeout); or the
//! central Prometheus-compatible store (`[fleet.prometheus]`) the sites
//! push to, which the fleet check then reads instead.
//!
//! Validated once into types that cannot hold an invalid value: a URL is
//! a scheme, a host and a port; every file named is readable when the
//! configuration loads, so a fleet check fails on a typo before it asks
//! anyone. The password is read then and kept in a [`Secret`], which no
//! `Debug`, log line or `config show` prints.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::Collector;
use super::types::Host;
use super::validate::{duration, section};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFleet {
    pub defaults: Option<RawAccess>,
    pub instance: Option<Vec<toml::Value>>,
    /// A URL, or a table with `url` and the access keys.
    pub prometheus: Option<toml::Value>,
}

/// `[fleet.prometheus]` as written: the access keys of an instance, and
/// the freshness bound of the rows read from the store.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStore {
    pub url: Option<String>,
    pub ca_file: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub timeout: Option<String>,
    pub basic_auth: Option<RawBasicAuth>,
    pub stale_after: Option<String>,
}

/// The access settings, as `[fleet.defaults]` and each `[[fleet.instance]]`
/// write them (an instance adds `url` and `name`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAccess {
    pub url: Option<String>,
    pub name: Option<String>,
    pub vantages: Option<Vec<String>>,
    pub ca_file: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub timeout: Option<String>,
    pub basic_auth: Option<RawBasicAuth>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBasicAuth {
    pub username: Option<String>,
    pub password_file: Option<String>,
}

/// The fleet: the defaults and the configured instances (possibly none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fleet {
    pub defaults: Access,
    pub instances: Vec<Instance>,
    /// `[fleet.prometheus]`: `check --fleet` reads the matrix from here
    /// (unless `--direct`).
    pub store: Option<Store>,
}

/// The central store the sites' agents write to, read through its
/// Prometheus query API (`GET /api/v1/query`). A store holds what was
/// probed on schedule; it cannot probe now, so rows carry their age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    pub url: InstanceUrl,
    /// `[fleet.defaults]`, each key overridable, as for an instance.
    pub access: Access,
    /// A row whose last probe is older than this is `stale`. `None`: per
    /// flow, derived from its interval (`cli::fleet`).
    pub stale_after: Option<Duration>,
}

impl Store {
    /// The store as a peer of the HTTP client: named `prometheus` in
    /// errors and in the matrix's list of sources.
    pub(crate) fn as_instance(&self) -> Instance {
        Instance {
            name: "prometheus".into(),
            url: self.url.clone(),
            access: self.access.clone(),
            vantages: None,
        }
    }
}

impl Fleet {
    /// An instance given on the command line (`--remote URL`): the
    /// defaults' credentials, named by its URL's authority.
    pub(crate) fn ad_hoc(&self, url: &str) -> Result<Instance, String> {
        let url = InstanceUrl::parse(url)?;
        Ok(Instance {
            name: url.authority(),
            url,
            access: self.defaults.clone(),
            vantages: None,
        })
    }
}

/// How to reach an instance. Every field is optional: no CA means the
/// system's trust store, no basic auth means no `Authorization` header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub ca_file: Option<PathBuf>,
    pub client_cert: Option<ClientCert>,
    pub basic_auth: Option<BasicAuth>,
    /// `None`: derived from the flows' timeouts (`cli::fleet`).
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub username: String,
    pub password_file: PathBuf,
    pub password: Secret,
}

/// A secret read from a file: its `Debug` and `Display` say `<redacted>`,
/// so it cannot reach a log line or an error message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One instance: its name (in the matrix and in errors), URL and access,
/// and the vantages it runs (`None`: not declared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub name: String,
    pub url: InstanceUrl,
    pub access: Access,
    /// `vantages = [...]`: the only vantages whose rows this instance may
    /// answer for. A row for another vantage covers nothing (the matrix
    /// says `mismatch`): a host cannot prove a flow from a place it is not.
    pub vantages: Option<BTreeSet<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// `http[s]://host[:port][/prefix]`: no user info (credentials in a URL
/// end up in logs and shell history; `basic_auth` takes them from a
/// file), no query, no fragment. The path, when given, is a prefix under
/// which the daemon's API sits (a reverse proxy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceUrl {
    pub scheme: Scheme,
    pub host: Host,
    pub port: u16,
    /// Empty, or starting with `/` and not ending with it.
    pub prefix: String,
}

impl InstanceUrl {
    pub(crate) fn parse(s: &str) -> Result<InstanceUrl, String> {
        let (scheme, rest) = if let Some(r) = s.strip_prefix("https://") {
            (Scheme::Https, r)
        } else if let Some(r) = s.strip_prefix("http://") {
            (Scheme::Http, r)
        } else {
            return Err(format!(
                "{s:?} is not an http:// or https:// URL (like \"https://probe.example.mil:9725\")"
            ));
        };
        if rest.contains(['?', '#']) {
            return Err(format!("{s:?}: a query or fragment has no place here"));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(format!(
                "{s:?}: no user or password in the URL; use basic_auth with a password_file"
            ));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let Some((ip, after)) = v6.split_once(']') else {
                return Err(format!("{s:?}: unclosed [ in the host"));
            };
            (format!("[{ip}]"), after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (authority.to_string(), None),
            }
        };
        let host = Host::parse(&host)
            .filter(|_| !host.is_empty())
            .ok_or_else(|| format!("{s:?}: {host:?} is not a host name or IP address"))?;
        let port = match port {
            None => match scheme {
                Scheme::Http => 80,
                Scheme::Https => 443,
            },
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("{s:?}: {p:?} is not a port (1-65535)"))?,
        };
        let prefix = path.trim_end_matches('/').to_string();
        if prefix
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(format!("{s:?}: the path has spaces or control characters"));
        }
        Ok(InstanceUrl {
            scheme,
            host,
            port,
            prefix,
        })
    }

    /// `host:port`, IPv6 in brackets.
    pub(crate) fn authority(&self) -> String {
        format!("{}:{}", self.host.authority(), self.port)
    }
}

impl fmt::Display for InstanceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        write!(f, "{scheme}://{}{}", self.authority(), self.prefix)
    }
}

/// A file that must be readable now (opened, not just present).
fn readable(path: &str, key: &str, base: &Path, errs: &mut Collector) -> Option<PathBuf> {
    if path.is_empty() {
        errs.push(key, "is empty; name a file");
        return None;
    }
    let p = base.join(path);
    match std::fs::File::open(&p) {
        Ok(_) => Some(p),
        Err(e) => {
            errs.push(key, format!("cannot read {}: {e}", p.display()));
            None
        }
    }
}

/// Validate `[fleet]`; `None` when anything in it is wrong (every error
/// collected). Relative paths are relative to the working directory.
pub(crate) fn validate(
    value: Option<toml::Value>,
    known: &BTreeSet<String>,
    errs: &mut Collector,
) -> Option<Fleet> {
    let raw: RawFleet = section(value, "fleet", errs)?;
    let before = errs.errors.len();
    let base = Path::new("");
    let defaults = match raw.defaults {
        Some(d) => {
            for (k, v) in [
                ("url", d.url.is_some()),
                ("name", d.name.is_some()),
                ("vantages", d.vantages.is_some()),
            ] {
                if v {
                    errs.push(
                        format!("fleet.defaults.{k}"),
                        "belongs to a [[fleet.instance]], not to the defaults",
                    );
                }
            }
            access(&d, &Access::default(), "fleet.defaults", base, errs)
        }
        None => Some(Access::default()),
    };
    let defaults = defaults.unwrap_or_default();
    let mut instances = Vec::new();
    let mut names = BTreeSet::new();
    for (i, value) in raw.instance.unwrap_or_default().into_iter().enumerate() {
        let key = format!("fleet.instance[{i}]");
        let Some(r) = section::<RawAccess>(Some(value), &key, errs) else {
            continue;
        };
        let url = match r.url.as_deref() {
            None => {
                errs.push(format!("{key}.url"), "is required");
                None
            }
            Some(u) => InstanceUrl::parse(u)
                .map_err(|e| errs.push(format!("{key}.url"), e))
                .ok(),
        };
        let access = access(&r, &defaults, &key, base, errs);
        let (Some(url), Some(access)) = (url, access) else {
            continue;
        };
        let name = r.name.clone().unwrap_or_else(|| url.authority());
        if name.is_empty() || name.chars().any(char::is_control) {
            errs.push(format!("{key}.name"), "must be a non-empty name");
            continue;
        }
        if !names.insert(name.clone()) {
            errs.push(
                format!("{key}.name"),
                format!("duplicate instance name {name:?} (name one of them)"),
            );
            continue;
        }
        let vantages = r.vantages.map(|v| v.into_iter().collect::<BTreeSet<_>>());
        if vantages.as_ref().is_some_and(BTreeSet::is_empty) {
            errs.push(
                format!("{key}.vantages"),
                "is empty; list the vantages this instance runs, or leave the key out",
            );
            continue;
        }
        let unknown: Vec<&String> = vantages
            .iter()
            .flatten()
            .filter(|v| !known.contains(*v))
            .collect();
        if !unknown.is_empty() {
            for v in unknown {
                errs.push(
                    format!("{key}.vantages"),
                    format!(
                        "unknown vantage {}; known: {}",
                        crate::text::printable(&format!("{v:?}")),
                        known.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                );
            }
            continue;
        }
        instances.push(Instance {
            name,
            url,
            access,
            vantages,
        });
    }
    let store = raw.prometheus.and_then(|v| store(v, &defaults, base, errs));
    (errs.errors.len() == before).then_some(Fleet {
        defaults,
        instances,
        store,
    })
}

/// The longest `stale_after`: a week-old "last probe" is not a result.
const MAX_STALE_AFTER: Duration = Duration::from_secs(7 * 86_400);

/// `prometheus = "https://..."` ([fleet.defaults] access) or
/// `[fleet.prometheus]` with `url` and overrides.
fn store(value: toml::Value, defaults: &Access, dir: &Path, errs: &mut Collector) -> Option<Store> {
    const KEY: &str = "fleet.prometheus";
    let raw = match value {
        toml::Value::String(url) => RawStore {
            url: Some(url),
            ..RawStore::default()
        },
        toml::Value::Table(_) => section::<RawStore>(Some(value), KEY, errs)?,
        other => {
            errs.push(
                KEY,
                format!(
                    "a {} is neither a URL nor a table with `url`",
                    other.type_str()
                ),
            );
            return None;
        }
    };
    let url = match raw.url.as_deref() {
        None => {
            errs.push(format!("{KEY}.url"), "is required");
            None
        }
        Some(u) => InstanceUrl::parse(u)
            .map_err(|e| errs.push(format!("{KEY}.url"), e))
            .ok(),
    };
    let as_access = RawAccess {
        ca_file: raw.ca_file,
        cert_file: raw.cert_file,
        key_file: raw.key_file,
        timeout: raw.timeout,
        basic_auth: raw.basic_auth,
        ..RawAccess::default()
    };
    let access = access(&as_access, defaults, KEY, dir, errs);
    let stale_after = match raw.stale_after.as_deref() {
        None => Some(None),
        Some(s) => {
            let k = format!("{KEY}.stale_after");
            duration(s, &k, errs).and_then(|d| {
                if d.is_zero() || d > MAX_STALE_AFTER {
                    errs.push(k, "must be more than 0 and at most 7d");
                    None
                } else {
                    Some(Some(d))
                }
            })
        }
    };
    Some(Store {
        url: url?,
        access: access?,
        stale_after: stale_after?,
    })
}

/// `r` over `base`: each field given replaces the default's.
fn access(
    r: &RawAccess,
    base: &Access,
    key: &str,
    dir: &Path,
    errs: &mut Collector,
) -> Option<Access> {
    let before = errs.errors.len();
    let mut a = base.clone();
    if let Some(ca) = &r.ca_file {
        a.ca_file = readable(ca, &format!("{key}.ca_file"), dir, errs);
    }
    match (&r.cert_file, &r.key_file) {
        (None, None) => {}
        (Some(c), Some(k)) => {
            let cert_file = readable(c, &format!("{key}.cert_file"), dir, errs);
            let key_file = readable(k, &format!("{key}.key_file"), dir, errs);
            if let (Some(cert_file), Some(key_file)) = (cert_file, key_file) {
                a.client_cert = Some(ClientCert {
                    cert_file,
                    key_file,
                });
            }
        }
        (Some(_), None) => errs.push(
            format!("{key}.key_file"),
            "is required with cert_file (a client certificate needs its key)",
        ),
        (None, Some(_)) => errs.push(
            format!("{key}.cert_file"),
            "is required with key_file (a client certificate needs its key)",
        ),
    }
    if let Some(t) = &r.timeout {
        let k = format!("{key}.timeout");
        if let Some(d) = duration(t, &k, errs) {
            if d.is_zero() || d > Duration::from_secs(3600) {
                errs.push(k, "must be more than 0 and at most 1h");
            } else {
                a.timeout = Some(d);
            }
        }
    }
    if let Some(b) = &r.basic_auth {
        a.basic_auth = basic_auth(b, &format!("{key}.basic_auth"), dir, errs);
    }
    (errs.errors.len() == before).then_some(a)
}

/// The longest password file read; a longer one is not a password.
const MAX_PASSWORD_FILE: u64 = 4096;

fn basic_auth(b: &RawBasicAuth, key: &str, dir: &Path, errs: &mut Collector) -> Option<BasicAuth> {
    let username = match b.username.as_deref() {
        None | Some("") => {
            errs.push(format!("{key}.username"), "is required");
            None
        }
        Some(u) if u.contains(':') || u.chars().any(char::is_control) => {
            errs.push(
                format!("{key}.username"),
                "cannot contain ':' or control characters (RFC 7617)",
            );
            None
        }
        Some(u) => Some(u.to_string()),
    };
    let pkey = format!("{key}.password_file");
    let password = match b.password_file.as_deref() {
        None => {
            errs.push(&pkey, "is required (the password is read from a file, never written in the configuration)");
            None
        }
        Some(p) => readable(p, &pkey, dir, errs).and_then(|path| {
            let text = std::fs::metadata(&path)
                .ok()
                .filter(|m| m.len() <= MAX_PASSWORD_FILE)
                .and_then(|_| std::fs::read(&path).ok())
                .and_then(|b| String::from_utf8(b).ok());
            // Like Prometheus's password_file: the trailing newline an
            // editor adds is not part of the password.
            match text.as_deref().map(|t| t.trim_end_matches(['\n', '\r'])) {
                None => {
                    errs.push(
                        &pkey,
                        format!(
                            "{}: not a UTF-8 text file of at most {MAX_PASSWORD_FILE} bytes",
                            path.display()
                        ),
                    );
                    None
                }
                Some("") => {
                    errs.push(&pkey, format!("{}: is empty", path.display()));
                    None
                }
                Some(pw) => Some((path.clone(), Secret(pw.to_string()))),
            }
        }),
    };
    let (username, (password_file, password)) = (username?, password?);
    Some(BasicAuth {
        username,
        password_file,
        password,
    })
}

/// `[fleet]` for `config show`: paths, never the password.
pub(crate) fn to_toml(f: &Fleet) -> Option<toml::Table> {
    if *f == Fleet::default() {
        return None;
    }
    let mut t = toml::Table::new();
    let defaults = access_toml(&f.defaults);
    if !defaults.is_empty() {
        t.insert("defaults".into(), toml::Value::Table(defaults));
    }
    let instances: Vec<toml::Value> = f
        .instances
        .iter()
        .map(|i| {
            let mut it = toml::Table::new();
            it.insert("url".into(), toml::Value::String(i.url.to_string()));
            it.insert("name".into(), toml::Value::String(i.name.clone()));
            if let Some(v) = &i.vantages {
                it.insert(
                    "vantages".into(),
                    toml::Value::Array(v.iter().cloned().map(toml::Value::String).collect()),
                );
            }
            it.extend(access_toml(&i.access));
            toml::Value::Table(it)
        })
        .collect();
    if !instances.is_empty() {
        t.insert("instance".into(), toml::Value::Array(instances));
    }
    if let Some(s) = &f.store {
        let mut st = toml::Table::new();
        st.insert("url".into(), toml::Value::String(s.url.to_string()));
        st.extend(access_toml(&s.access));
        if let Some(d) = s.stale_after {
            st.insert(
                "stale_after".into(),
                toml::Value::String(humantime::format_duration(d).to_string()),
            );
        }
        t.insert("prometheus".into(), toml::Value::Table(st));
    }
    Some(t)
}

fn access_toml(a: &Access) -> toml::Table {
    let s = |p: &Path| toml::Value::String(p.display().to_string());
    let mut t = toml::Table::new();
    if let Some(ca) = &a.ca_file {
        t.insert("ca_file".into(), s(ca));
    }
    if let Some(c) = &a.client_cert {
        t.insert("cert_file".into(), s(&c.cert_file));
        t.insert("key_file".into(), s(&c.key_file));
    }
    if let Some(d) = a.timeout {
        t.insert(
            "timeout".into(),
            toml::Value::String(humantime::format_duration(d).to_string()),
        );
    }
    if let Some(b) = &a.basic_auth {
        let mut bt = toml::Table::new();
        bt.insert("username".into(), toml::Value::String(b.username.clone()));
        bt.insert("password_file".into(), s(&b.password_file));
        t.insert("basic_auth".into(), toml::Value::Table(bt));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = InstanceUrl::parse("https://probe.example.mil:9725").expect("ok");
        assert_eq!(u.port, 9725);
        assert_eq!(u.scheme, Scheme::Https);
        assert_eq!(u.to_string(), "https://probe.example.mil:9725");
        let u = InstanceUrl::parse("http://[2001:db8::1]:9725/fp/").expect("ok");
        assert_eq!(u.authority(), "[2001:db8::1]:9725");
        assert_eq!(u.prefix, "/fp");
        assert_eq!(
            InstanceUrl::parse("https://h").expect("ok").port,
            443,
            "the scheme's port"
        );
        for bad in [
            "ftp://h",
            "h:9725",
            "https://",
            "https://u:p@h",
            "https://h:0",
            "https://h:99999",
            "https://h:x",
            "https://h/?a",
            "https://bad host",
            "https://[::1",
        ] {
            assert!(InstanceUrl::parse(bad).is_err(), "{bad}");
        }
    }

    fn store_of(text: &str) -> (Option<Fleet>, Vec<String>) {
        let value: toml::Value = toml::from_str(text).expect("toml");
        let fleet = value.get("fleet").cloned();
        let mut errs = Collector::new("t.toml");
        let f = validate(fleet, &BTreeSet::new(), &mut errs);
        let keys = errs.errors.iter().map(|e| e.key.clone()).collect();
        (f, keys)
    }

    #[test]
    fn store_as_a_url_or_a_table() {
        let (f, errs) = store_of("[fleet]\nprometheus = \"https://prom.example.mil:9090\"\n");
        assert!(errs.is_empty(), "{errs:?}");
        let s = f.and_then(|f| f.store).expect("store");
        assert_eq!(s.url.port, 9090);
        assert_eq!(s.stale_after, None);
        let (f, errs) = store_of(
            "[fleet.defaults]\ntimeout = \"20s\"\n[fleet.prometheus]\nurl = \"http://127.0.0.1:9090/prom\"\nstale_after = \"90s\"\n",
        );
        assert!(errs.is_empty(), "{errs:?}");
        let s = f.and_then(|f| f.store).expect("store");
        assert_eq!(s.url.prefix, "/prom");
        assert_eq!(s.stale_after, Some(Duration::from_secs(90)));
        assert_eq!(
            s.access.timeout,
            Some(Duration::from_secs(20)),
            "the defaults apply to the store too"
        );
    }

    #[test]
    fn store_errors_name_their_keys() {
        let (f, errs) = store_of(
            "[fleet.prometheus]\nurl = \"ftp://x\"\nstale_after = \"0s\"\nca_file = \"/nonexistent/ca.pem\"\nbasic_auth = { username = \"ops\" }\n",
        );
        assert!(f.is_none());
        for k in [
            "fleet.prometheus.url",
            "fleet.prometheus.stale_after",
            "fleet.prometheus.ca_file",
            "fleet.prometheus.basic_auth.password_file",
        ] {
            assert!(errs.iter().any(|e| e == k), "{k} not in {errs:?}");
        }
        let (_, errs) = store_of("[fleet.prometheus]\nstale = \"1m\"\n");
        assert!(
            errs.iter().any(|e| e.starts_with("fleet.prometheus")),
            "{errs:?}"
        );
        let (_, errs) = store_of("[fleet]\nprometheus = 9090\n");
        assert_eq!(errs, ["fleet.prometheus"]);
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret("hunter2".into());
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
    }
}

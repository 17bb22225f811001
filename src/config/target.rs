//! An `http://` URL as the HTTP and CRL checks use it: parsed once at
//! config validation, joined with `Location` on redirects.

use super::Host;

/// An `http://` URL split into what a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: Host,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Target {
    /// `host` or `host:port` as written in `Host:` (IPv6 in brackets).
    pub(crate) fn authority(&self) -> String {
        let host = self.host.authority();
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}{}", self.authority(), self.path)
    }

    /// Parse an absolute `http://` URL. Other schemes are refused: this
    /// client speaks plain HTTP (CRLs are served over it by design).
    pub(crate) fn parse(url: &str) -> Result<Target, String> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("http") => {}
            Some(s) => {
                return Err(format!(
                    "{url:?}: scheme {s:?} is not supported (http only)"
                ));
            }
            None => return Err(format!("{url:?} is not an absolute http:// URL")),
        }
        let auth = uri
            .authority()
            .ok_or_else(|| format!("{url:?} has no host"))?;
        if auth.as_str().contains('@') {
            return Err(format!("{url:?}: credentials in URLs are not supported"));
        }
        let host = Host::parse(auth.host())
            .ok_or_else(|| format!("{url:?}: {:?} is not a host", auth.host()))?;
        let path = uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), |p| p.as_str().to_string());
        let path = if path.is_empty() { "/".into() } else { path };
        Ok(Target {
            host,
            port: auth.port_u16().unwrap_or(80),
            path,
        })
    }

    /// Where a `Location` points from here: absolute, scheme-relative,
    /// absolute-path or relative.
    pub(crate) fn join(&self, location: &str) -> Result<Target, String> {
        let loc = location.trim();
        if loc.contains("://") {
            return Target::parse(loc);
        }
        if let Some(rest) = loc.strip_prefix("//") {
            return Target::parse(&format!("http://{rest}"));
        }
        let path = if loc.starts_with('/') {
            loc.to_string()
        } else {
            let base = self.path.split('?').next().unwrap_or("/");
            let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{loc}")
        };
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(format!("Location {location:?} is not a valid path"));
        }
        Ok(Target {
            host: self.host.clone(),
            port: self.port,
            path,
        })
    }
}

//! Basic authentication and the configured response headers, on every
//! endpoint (`/metrics` included), and the lifecycle gate: state-changing
//! endpoints answer 403 unless `--web.enable-lifecycle` was given.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

use super::security::WebSecurity;

/// The client's address, put on each request by the server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub std::net::IpAddr);

/// Endpoints that change or cost something: off without the flag.
pub(crate) const LIFECYCLE_PATHS: &[&str] = &["/-/reload", "/api/v1/check"];

/// The middleware: 401 with `WWW-Authenticate: Basic` when users are
/// configured and the request does not carry one's name and password.
pub(crate) async fn authenticate(
    State(security): State<Arc<WebSecurity>>,
    req: Request,
    next: Next,
) -> Response {
    let active = security.current();
    let allowed = if active.requires_auth() {
        match credentials(req.headers()) {
            Some((user, password)) => {
                let source = req.extensions().get::<Peer>().map(|p| p.0);
                active.verify(&user, &password, source).await
            }
            None => false,
        }
    } else {
        true
    };
    let mut response = if allowed {
        next.run(req).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"flowprobe\"")],
            "Unauthorized\n",
        )
            .into_response()
    };
    for (name, value) in &active.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// What the gate lets through.
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    /// `--web.enable-lifecycle`.
    pub lifecycle: bool,
    /// `--web.allowed-hosts` (empty: any host).
    pub allowed_hosts: Arc<[String]>,
}

/// The request gate: a `Host` outside `--web.allowed-hosts` gets 421 (DNS
/// rebinding), a state-changing endpoint answers 403 without
/// `--web.enable-lifecycle`, and with it refuses what a browser on another
/// site can send without a preflight: an `Origin` that is not this host, or
/// no `Origin` with a form or text content type.
pub(crate) async fn lifecycle(State(gate): State<Gate>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    if !gate.allowed_hosts.is_empty() {
        let name = host.as_deref().map(host_name).unwrap_or_default();
        if !gate
            .allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
        {
            return (
                StatusCode::MISDIRECTED_REQUEST,
                "Host not allowed (--web.allowed-hosts).\n",
            )
                .into_response();
        }
    }
    if req.method() == Method::POST && LIFECYCLE_PATHS.contains(&req.uri().path()) {
        if !gate.lifecycle {
            // Prometheus's own answer to the same request.
            return (StatusCode::FORBIDDEN, "Lifecycle API is not enabled.\n").into_response();
        }
        if let Some(why) = cross_site(req.headers(), host.as_deref()) {
            return (StatusCode::FORBIDDEN, why).into_response();
        }
    }
    next.run(req).await
}

/// Why a state-changing POST looks sent by a page of another site.
fn cross_site(headers: &HeaderMap, host: Option<&str>) -> Option<&'static str> {
    match headers
        .get(header::ORIGIN)
        .map(|o| o.to_str().unwrap_or(""))
    {
        Some(origin) => {
            let authority = origin.split_once("://").map_or("", |(_, a)| a);
            let same = host.is_some_and(|h| h.eq_ignore_ascii_case(authority));
            (!same).then_some("Cross-origin request refused (Origin is not this host).\n")
        }
        None => {
            let simple = headers
                .get(header::CONTENT_TYPE)
                .and_then(|c| c.to_str().ok())
                .map(|c| {
                    c.split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_ascii_lowercase()
                })
                .is_some_and(|c| {
                    matches!(
                        c.as_str(),
                        "text/plain" | "application/x-www-form-urlencoded" | "multipart/form-data"
                    )
                });
            simple
                .then_some("Refused: a form or text POST without Origin (send no body, or JSON).\n")
        }
    }
}

/// The name part of a `Host` value (`[::1]:9725` -> `::1`).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    host.rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(name, _)| name)
}

/// The user and password of an `Authorization: Basic` header.
fn credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_site_posts_are_told_apart() {
        let h = |pairs: &[(header::HeaderName, &str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(k.clone(), v.parse().expect("header"));
            }
            m
        };
        let host = Some("127.0.0.1:9725");
        assert!(cross_site(&h(&[]), host).is_none(), "curl -X POST");
        assert!(cross_site(&h(&[(header::CONTENT_TYPE, "application/json")]), host).is_none());
        assert!(
            cross_site(
                &h(&[(header::CONTENT_TYPE, "text/plain;charset=UTF-8")]),
                host
            )
            .is_some()
        );
        assert!(cross_site(&h(&[(header::ORIGIN, "http://127.0.0.1:9725")]), host).is_none());
        assert!(cross_site(&h(&[(header::ORIGIN, "http://evil.example")]), host).is_some());
        assert!(cross_site(&h(&[(header::ORIGIN, "null")]), host).is_some());
        assert_eq!(host_name("[::1]:9725"), "::1");
        assert_eq!(host_name("mdm.example.mil:9725"), "mdm.example.mil");
        assert_eq!(host_name("localhost"), "localhost");
    }

    #[test]
    fn basic_credentials_are_decoded_and_others_refused() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            "Basic b3BzOnM6ZWNyZXQ=".parse().unwrap(),
        );
        assert_eq!(credentials(&h), Some(("ops".into(), "s:ecret".into())));
        h.insert(
            header::AUTHORIZATION,
            "Bearer b3BzOnNlY3JldA==".parse().unwrap(),
        );
        assert_eq!(credentials(&h), None);
        h.insert(header::AUTHORIZATION, "Basic !!!".parse().unwrap());
        assert_eq!(credentials(&h), None);
    }
}

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

/// Endpoints that change or cost something: off without the flag.
pub const LIFECYCLE_PATHS: &[&str] = &["/-/reload", "/api/v1/check"];

/// The middleware: 401 with `WWW-Authenticate: Basic` when users are
/// configured and the request does not carry one's name and password.
pub async fn authenticate(
    State(security): State<Arc<WebSecurity>>,
    req: Request,
    next: Next,
) -> Response {
    let active = security.current();
    let allowed = if active.requires_auth() {
        match credentials(req.headers()) {
            Some((user, password)) => active.verify(&user, &password).await,
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

/// The lifecycle gate; `enabled` is `--web.enable-lifecycle`.
pub async fn lifecycle(State(enabled): State<bool>, req: Request, next: Next) -> Response {
    if !enabled && req.method() == Method::POST && LIFECYCLE_PATHS.contains(&req.uri().path()) {
        // Prometheus's own answer to the same request.
        return (StatusCode::FORBIDDEN, "Lifecycle API is not enabled.\n").into_response();
    }
    next.run(req).await
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

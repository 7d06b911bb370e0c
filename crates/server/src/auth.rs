//! Signing in and out, OAuth 2.0 style: `POST /oauth2/token` with the
//! password grant (form-encoded or JSON) returns a bearer token that
//! expires; `POST /oauth2/revoke` ends it. Failed attempts are throttled
//! per account and per client address (429 with `Retry-After`).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use relata_engine::EngineError;
use serde_json::json;

use crate::AppState;

/// The largest sign-in request read.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// An OAuth error response (`{"error": …, "error_description": …}`).
fn oauth_error(status: StatusCode, error: &str, description: &str, retry_after: Option<u64>) -> Response {
    let body = json!({"error": error, "error_description": description}).to_string();
    let mut r = (status, [(http::header::CONTENT_TYPE, "application/json")], body).into_response();
    r.headers_mut().insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(s) = retry_after {
        if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
            r.headers_mut().insert(http::header::RETRY_AFTER, v);
        }
    }
    r
}

/// Form fields from an `application/x-www-form-urlencoded` or JSON body.
async fn fields(req: Request) -> Result<(Vec<(String, String)>, http::request::Parts), Response> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES).await.map_err(|_| {
        oauth_error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", "The request body is too large.", None)
    })?;
    let json_body = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let out = if json_body {
        let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &format!("The body is not valid JSON: {e}."), None)
        })?;
        let obj = v.as_object().ok_or_else(|| {
            oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "The body must be a JSON object.", None)
        })?;
        obj.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect()
    } else {
        form_urlencoded::parse(&bytes).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    };
    Ok((out, parts))
}

fn get<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

pub async fn token(State(st): State<AppState>, req: Request) -> Response {
    let (form, parts) = match fields(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    match get(&form, "grant_type") {
        Some("password") => {}
        Some(other) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("The grant type '{other}' is not supported; use 'password'."),
                None,
            )
        }
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is required.", None),
    }
    let (Some(user), Some(password)) = (get(&form, "username"), get(&form, "password")) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "username and password are required.", None);
    };
    let (user, password) = (user.to_string(), password.to_string());
    let address = relata_http::client_address(&parts, st.config.trust_forwarded_for);
    let org = st.org.clone();
    let policy = st.config.sign_in.clone();
    let result = relata_http::panics::blocking(move || org.sign_in(&user, &password, &address, &policy)).await;
    match result {
        Ok(Ok(signed)) => {
            let expires_in = (signed.expires_on - chrono::Utc::now()).num_seconds().max(0);
            let body = json!({
                "access_token": signed.token,
                "token_type": "Bearer",
                "expires_in": expires_in,
                "expires_on": signed.expires_on.timestamp(),
            });
            let mut r = Response::new(Body::from(body.to_string()));
            r.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r.headers_mut().insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Ok(Err(EngineError::Unauthorized(m))) => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", &m, None),
        Ok(Err(EngineError::Throttled(m, retry))) => {
            oauth_error(StatusCode::TOO_MANY_REQUESTS, "slow_down", &format!("{m} Retry in {retry} s."), Some(retry))
        }
        Ok(Err(e)) => crate::error::ApiError::from(e).into_response(),
        Err(_) => crate::error::ApiError::internal("the sign-in could not be completed").into_response(),
    }
}

/// Token revocation (RFC 7009): answers 200 whether or not the token was active.
pub async fn revoke(State(st): State<AppState>, req: Request) -> Response {
    let (form, _) = match fields(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(token) = get(&form, "token").map(str::to_string) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "token is required.", None);
    };
    let org = st.org.clone();
    match relata_http::panics::blocking(move || org.revoke_token_value(&token)).await {
        Ok(Ok(_)) => StatusCode::OK.into_response(),
        Ok(Err(e)) => crate::error::ApiError::from(e).into_response(),
        Err(_) => crate::error::ApiError::internal("the token could not be revoked").into_response(),
    }
}

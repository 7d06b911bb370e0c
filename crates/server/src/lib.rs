//! HTTP for Relata: the Dataverse-compatible Web API under
//! `/api/data/v9.2/`, sign-in (`/oauth2/token`, `/oauth2/revoke`),
//! `/health` and `/metrics`, with the web interface (`relata-ui`) mounted
//! at `/`.
//!
//! Invariant: this is the only crate that knows the Web API's JSON
//! shapes; it turns requests into engine calls and engine results into
//! responses, and holds no business rules. Engine work runs on blocking
//! threads, one transaction per request (or per `$batch` change set).

mod auth;
mod endpoints;
mod error;
mod limits;
pub mod webapi;

use relata_http::{metrics as metrics_layer, panics};

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use relata_engine::Org;

pub use error::ApiError;
use webapi::{ApiRequest, ApiResponse, API_PREFIX};

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body accepted (413 above it).
    pub max_body_bytes: usize,
    /// Requests per user per minute before 429 (0 = unlimited), counted
    /// across every process sharing the database.
    pub requests_per_minute: u32,
    /// Failed sign-in limits and the life of sign-in tokens.
    pub sign_in: relata_engine::SignInPolicy,
    /// Take the client address from `X-Forwarded-For` (behind a proxy).
    pub trust_forwarded_for: bool,
    /// `/metrics` answers only loopback clients unless this token is set;
    /// then it answers whoever sends `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 32 * 1024 * 1024,
            requests_per_minute: 0,
            sign_in: relata_engine::SignInPolicy::default(),
            trust_forwarded_for: false,
            metrics_token: None,
        }
    }
}

#[derive(Clone)]
struct AppState {
    org: Arc<Org>,
    config: Arc<ServerConfig>,
    limiter: Arc<limits::RateLimiter>,
}

/// The application's routes.
pub fn router(org: Arc<Org>, config: ServerConfig) -> Router {
    metrics_layer::install();
    panics::install_hook();
    let limiter = Arc::new(limits::RateLimiter::new(config.requests_per_minute));
    let ui = relata_ui::UiState {
        org: org.clone(),
        sign_in: config.sign_in.clone(),
        trust_forwarded_for: config.trust_forwarded_for,
    };
    let state = AppState { org, config: Arc::new(config), limiter };
    let module_endpoints = endpoints::routes(&state);
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/oauth2/token", axum::routing::post(auth::token))
        .route("/oauth2/revoke", axum::routing::post(auth::revoke))
        .route(API_PREFIX, any(web_api))
        .route(&format!("{API_PREFIX}/"), any(web_api))
        .route(&format!("{API_PREFIX}/{{*path}}"), any(web_api))
        .merge(module_endpoints)
        .fallback(not_found)
        .with_state(state)
        // Pages are text that compresses well; phones on slow links benefit most.
        .merge(relata_ui::router(ui).layer(tower_http::compression::CompressionLayer::new().gzip(true)))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(last_resort))
        .layer(axum::middleware::from_fn(metrics_layer::track))
}
/// The router's last resort for a panic outside [`blocking`].
fn last_resort(payload: Box<dyn std::any::Any + Send + 'static>) -> http::Response<axum::body::Body> {
    let id = panics::caught(payload.as_ref());
    let mut r = http::Response::new(axum::body::Body::from(ApiError::internal(id.message()).body()));
    *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    r
}

/// Serves until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    org: Arc<Org>,
    config: ServerConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(org, config);
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

fn to_response(r: ApiResponse) -> Response {
    let mut resp = Response::new(Body::from(r.body));
    *resp.status_mut() = r.status;
    let h = resp.headers_mut();
    h.insert("odata-version", HeaderValue::from_static("4.0"));
    for (k, v) in r.headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.append(k, v);
        }
    }
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = ApiResponse {
            status: self.status,
            headers: vec![(http::header::CONTENT_TYPE, "application/json; odata.metadata=minimal".into())],
            body: self.body(),
        };
        if let Some(s) = self.retry_after {
            r.headers.push((http::header::RETRY_AFTER, s.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers.push((http::header::WWW_AUTHENTICATE, "Bearer".into()));
        }
        to_response(r)
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("No resource at this address. The Web API lives under /api/data/v9.2/.")
}

async fn health(State(st): State<AppState>) -> Response {
    let org = st.org.clone();
    let started = Instant::now();
    let ok = panics::blocking(move || {
        org.db().read(|tx| tx.query("SELECT 1", &[], &[relata_store::Storage::BigInt]).map(|_| ()))
    })
    .await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let backend = st.org.db().backend().name();
    match ok {
        Ok(Ok(())) => (
            StatusCode::OK,
            [(http::header::CONTENT_TYPE, "application/json")],
            serde_json::json!({"status": "ok", "database": backend, "database_ms": ms}).to_string(),
        )
            .into_response(),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(http::header::CONTENT_TYPE, "application/json")],
            serde_json::json!({"status": "unavailable", "database": backend, "error": e.to_string()}).to_string(),
        )
            .into_response(),
        Err(id) => ApiError::internal(id.message()).into_response(),
    }
}

/// Metrics reveal traffic and user counts: by default only a client on this
/// machine reads them; a configured token opens them to a remote scraper.
async fn metrics(State(st): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    match &st.config.metrics_token {
        Some(expected) => {
            let given = bearer(&parts.headers).unwrap_or_default();
            let ok: bool = sha2_eq(given.as_bytes(), expected.as_bytes());
            if !ok {
                return ApiError::unauthorized("/metrics needs 'Authorization: Bearer <metrics token>'.")
                    .into_response();
            }
        }
        None => {
            let peer_local = parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .is_some_and(|c| c.0.ip().is_loopback());
            // Behind a trusted proxy every peer is the proxy: the client is
            // the forwarded address, and it must be local too.
            let client_local = !st.config.trust_forwarded_for
                || relata_http::client_address(&parts, true)
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !(peer_local && client_local) {
                return not_found().await.into_response();
            }
        }
    }
    let pool = st.org.db().pool_status();
    metrics::gauge!("relata_db_pool_connections").set(pool.connections as f64);
    metrics::gauge!("relata_db_pool_idle").set(pool.idle as f64);
    metrics::gauge!("relata_db_pool_max").set(pool.max as f64);
    (StatusCode::OK, [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics_layer::render())
        .into_response()
}

/// Compares secrets in time that does not depend on where they differ.
fn sha2_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer(headers: &http::HeaderMap) -> Result<String, ApiError> {
    let v = headers
        .get(http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("Authentication is required: send 'Authorization: Bearer <token>'."))?;
    let v = v.to_str().map_err(|_| ApiError::unauthorized("The Authorization header is not readable."))?;
    let token = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .ok_or_else(|| ApiError::unauthorized("Only Bearer authentication is supported."))?;
    Ok(token.trim().to_string())
}

async fn web_api(State(st): State<AppState>, req: Request) -> Response {
    let user = metrics_layer::UserSlot::default();
    let mut response = match web_api_inner(st, req, user.clone()).await {
        Ok(r) => to_response(r),
        Err(e) => e.into_response(),
    };
    metrics_layer::mark_user(&mut response, &user);
    response
}

async fn web_api_inner(st: AppState, req: Request, user: metrics_layer::UserSlot) -> Result<ApiResponse, ApiError> {
    let (parts, body) = req.into_parts();
    let token = bearer(&parts.headers)?;
    let limit = st.config.max_body_bytes;
    if let Some(len) = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > limit {
            return Err(ApiError::too_large(limit));
        }
    }
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| ApiError::too_large(limit))?;
    let host = parts.headers.get(http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    let scheme = parts.headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).unwrap_or("http");
    let raw_path = parts.uri.path();
    let rest = raw_path.strip_prefix(API_PREFIX).unwrap_or("").trim_start_matches('/');
    let path = percent_encoding::percent_decode_str(rest).decode_utf8_lossy().into_owned();
    let api = ApiRequest {
        method: parts.method.clone(),
        path,
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers.clone(),
        body,
        base: format!("{scheme}://{host}{API_PREFIX}"),
    };
    let org = st.org.clone();
    let limiter = st.limiter.clone();
    let limited = st.config.requests_per_minute > 0;
    panics::blocking(move || {
        if api.path == "$batch" {
            let principal = org.authenticate(&token)?;
            let _ = user.set(principal.user_id);
            limiter.check(&org, principal.user_id)?;
            return webapi::batch::handle(&org, &principal, &api);
        }
        // The budget is leased in its own transaction, before the request's.
        if limited {
            let principal = org.authenticate(&token)?;
            let _ = user.set(principal.user_id);
            limiter.check(&org, principal.user_id)?;
        }
        org.with_token(&token, !webapi::is_read(&api), |s| {
            let _ = user.set(s.principal.user_id);
            webapi::execute_in(s, &api)
        })
    })
    .await
    .map_err(|id| ApiError::internal(id.message()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_handler_that_panics_answers_500_without_its_text() {
        use tower::ServiceExt;
        panics::install_hook();
        let app = axum::Router::new()
            .route(
                "/boom",
                axum::routing::get(|| async {
                    let v: Vec<u8> = Vec::new();
                    let at = "user input 12345".len();
                    format!("{}", v[at])
                }),
            )
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(last_resort));
        let r = app.oneshot(http::Request::get("/boom").body(axum::body::Body::empty()).unwrap()).await.unwrap();
        assert_eq!(r.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.contains("Error id"), "{body}");
        assert!(!body.contains("index out of bounds") && !body.contains("the len is"), "{body}");
    }
}

//! HTTP for Relata: the Dataverse-compatible Web API under
//! `/api/data/v9.2/`, `/health` and `/metrics`.
//!
//! Invariant: this is the only crate that knows HTTP and the Web API's JSON
//! shapes; it turns requests into engine calls and engine results into
//! responses, and holds no business rules.

use std::future::Future;
use std::sync::Arc;

use relata_engine::Org;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body accepted (413 above it).
    pub max_body_bytes: usize,
    /// Requests per user per minute before 429 (0 = unlimited).
    pub requests_per_minute: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { max_body_bytes: 32 * 1024 * 1024, requests_per_minute: 0 }
    }
}

/// The application's routes.
pub fn router(org: Arc<Org>, config: ServerConfig) -> axum::Router {
    let _ = (org, config);
    axum::Router::new()
}

/// Serves until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    org: Arc<Org>,
    config: ServerConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(org, config);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

//! Prometheus metrics: requests by route and status, a latency histogram,
//! and the database pool (set when scraped).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once (several routers may exist in tests).
pub fn install() {
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
            .ok()
            .and_then(|b| b.install_recorder().ok())
    });
}

pub fn render() -> String {
    HANDLE.get().and_then(|h| h.as_ref()).map(|h| h.render()).unwrap_or_default()
}

/// The route family of a path, bounded so labels stay few.
fn route(path: &str) -> String {
    let Some(rest) = path.strip_prefix("/api/data/v9.2") else {
        return match path {
            "/health" | "/metrics" => path.to_string(),
            _ => "other".into(),
        };
    };
    let rest = rest.trim_start_matches('/');
    if rest.is_empty() {
        return "service".into();
    }
    let first = rest.split(['/', '(']).next().unwrap_or("");
    if first.starts_with('$') || first == "WhoAmI" || first.ends_with("Definitions") {
        return first.to_string();
    }
    let keyed = rest[first.len()..].starts_with('(');
    let deeper = rest[first.len()..].contains('/');
    match (keyed, deeper) {
        (false, false) => "entityset".into(),
        (true, false) => "record".into(),
        (_, true) => "related".into(),
    }
}

pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route(req.uri().path());
    let method = req.method().to_string();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    let secs = started.elapsed().as_secs_f64();
    metrics::counter!("relata_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status.clone()).increment(1);
    metrics::histogram!("relata_http_request_duration_seconds", "route" => route.clone(), "method" => method.clone())
        .record(secs);
    tracing::info!(target: "relata::http", %method, %route, status = %status, ms = secs * 1000.0, "request");
    resp
}

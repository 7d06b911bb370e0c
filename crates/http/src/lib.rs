//! HTTP plumbing the Web API (`relata-server`) and the web interface
//! (`relata-ui`) share: engine work run on blocking threads with panics
//! caught and logged under an error id (`panics`), Prometheus metrics of
//! every request (`metrics`), and the client's address.
//!
//! Invariant: knows no engine, no Web API shapes and no pages.

pub mod metrics;
pub mod panics;

use std::net::SocketAddr;

use axum::extract::ConnectInfo;

/// The client's address: the peer, or the first `X-Forwarded-For` hop
/// when the server is configured to trust its proxy.
pub fn client_address(parts: &http::request::Parts, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for {
        if let Some(first) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            return first.to_string();
        }
    }
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_else(|| "unknown".into())
}

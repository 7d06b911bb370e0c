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
        let handle = PrometheusBuilder::new()
            .set_buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
            .ok()
            .and_then(|b| b.install_recorder().ok())?;
        // The recorder queues every histogram sample until upkeep folds it
        // into the buckets; without this, memory grows with each request.
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new().name("relata-metrics".into()).spawn(move || loop {
            std::thread::sleep(UPKEEP_EVERY);
            upkeep.run_upkeep();
        });
        Some(handle)
    });
}

const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

pub fn render() -> String {
    HANDLE.get().and_then(|h| h.as_ref()).map(|h| h.render()).unwrap_or_default()
}

/// The signed-in user a handler served, put in the response's extensions
/// by the handlers that authenticate (Web API, web pages) so that the
/// request log can name them without authenticating again.
#[derive(Debug, Clone, Copy)]
pub struct SignedInUser(pub uuid::Uuid);

/// Where a handler that authenticates on a blocking thread leaves the
/// user it found; read back into [`SignedInUser`].
pub type UserSlot = std::sync::Arc<std::sync::OnceLock<uuid::Uuid>>;

/// Puts the user found (if any) into the response for the request log.
pub fn mark_user(response: &mut Response, slot: &UserSlot) {
    if let Some(user) = slot.get() {
        response.extensions_mut().insert(SignedInUser(*user));
    }
}

/// The route family of a path, bounded so labels stay few.
fn route(path: &str) -> String {
    let Some(rest) = path.strip_prefix("/api/data/v9.2") else {
        return match path {
            "/health" | "/metrics" => path.to_string(),
            "/oauth2/token" | "/oauth2/revoke" => "oauth2".into(),
            "/" | "/signin" | "/signout" => "ui".into(),
            _ => match path.strip_prefix("/ui/") {
                Some(p) if p.starts_with("static/") => "ui_static".into(),
                // A record's page, form or action: /ui/accounts/<id>/…
                Some(p) if p.split('/').any(|seg| uuid::Uuid::parse_str(seg).is_ok()) => "ui_record".into(),
                Some(_) => "ui".into(),
                None => "other".into(),
            },
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

/// The longest path (with its query) a log line carries.
const MAX_LOGGED_PATH: usize = 1000;

/// Query parameters whose values are secrets: they are logged as `***`.
fn secret_key(key: &str) -> bool {
    let key = percent_encoding::percent_decode_str(key).decode_utf8_lossy().to_ascii_lowercase();
    // OData's own options (`$skiptoken` is a paging position) are not secrets.
    if key.starts_with('$') {
        return false;
    }
    matches!(
        key.as_str(),
        "code" | "key" | "apikey" | "api_key" | "csrf" | "session" | "sig" | "signature" | "auth" | "authorization"
    ) || ["token", "password", "passwd", "secret", "cookie"].iter().any(|w| key.contains(w))
}

/// The path and query of a request as the log shows it: the values of
/// secret query parameters are replaced by `***`, and a very long one is
/// cut. Headers (Authorization, Cookie) are never logged.
fn loggable_path(uri: &http::Uri) -> String {
    let mut out = uri.path().to_string();
    if let Some(query) = uri.query() {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((k, _)) if secret_key(k) => {
                    out.push_str(k);
                    out.push_str("=***");
                }
                _ if secret_key(pair) => out.push_str("***"),
                _ => out.push_str(pair),
            }
        }
    }
    if out.len() > MAX_LOGGED_PATH {
        let mut cut = MAX_LOGGED_PATH;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// Counts and times every request, and logs it (target `relata::http`):
/// method, path without secrets, status, duration in ms and the signed-in
/// user's id when a handler found one. Health checks and scrapes log at
/// debug level, server errors at warn.
pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route(req.uri().path());
    let method = req.method().to_string();
    let path = loggable_path(req.uri());
    let resp = next.run(req).await;
    let code = resp.status().as_u16();
    let status = code.to_string();
    let secs = started.elapsed().as_secs_f64();
    metrics::counter!("relata_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status.clone()).increment(1);
    metrics::histogram!("relata_http_request_duration_seconds", "route" => route.clone(), "method" => method.clone())
        .record(secs);
    let ms = (secs * 10_000.0).round() / 10.0;
    let user = resp.extensions().get::<SignedInUser>().map(|u| u.0.to_string()).unwrap_or_else(|| "-".into());
    macro_rules! log {
        ($level:ident) => {
            tracing::$level!(target: "relata::http", %method, %path, status = code, ms, %user, %route, "request")
        };
    }
    if code >= 500 {
        log!(warn);
    } else if route == "/health" || route == "/metrics" {
        log!(debug);
    } else {
        log!(info);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logged(uri: &str) -> String {
        loggable_path(&uri.parse::<http::Uri>().unwrap())
    }

    #[test]
    fn secret_query_values_are_hidden() {
        assert_eq!(logged("/ui/accounts?view=1&page=2"), "/ui/accounts?view=1&page=2");
        assert_eq!(
            logged("/x?token=abc&access_token=def&Password=p&code=c&client_secret=s&q=ok"),
            "/x?token=***&access_token=***&Password=***&code=***&client_secret=***&q=ok"
        );
        assert_eq!(logged("/x?csrf=v&refresh%5Ftoken=r"), "/x?csrf=***&refresh%5Ftoken=***");
        // A bare secret key keeps its name only.
        assert_eq!(logged("/x?token&a=1"), "/x?***&a=1");
        let odata = "/api/data/v9.2/accounts?$filter=name%20eq%20'x'&$skiptoken=abc";
        assert_eq!(logged(odata), odata);
    }

    #[test]
    fn long_paths_are_cut() {
        let long = format!("/ui/accounts?q={}", "a".repeat(5000));
        let out = logged(&long);
        assert!(out.chars().count() <= MAX_LOGGED_PATH + 1 && out.ends_with('…'), "{}", out.len());
    }

    #[test]
    fn routes_are_few() {
        assert_eq!(route("/"), "ui");
        assert_eq!(route("/ui/accounts"), "ui");
        assert_eq!(route("/ui/pipeline"), "ui");
        assert_eq!(route("/ui/accounts/6f1c4c1e-6c2d-4b53-9d6a-1d7b2a9e0a11"), "ui_record");
        assert_eq!(route("/ui/accounts/6f1c4c1e-6c2d-4b53-9d6a-1d7b2a9e0a11/edit"), "ui_record");
        assert_eq!(route("/ui/static/app.css"), "ui_static");
        assert_eq!(route("/oauth2/token"), "oauth2");
        assert_eq!(route("/health"), "/health");
        assert_eq!(route("/api/data/v9.2/accounts"), "entityset");
        assert_eq!(route("/api/data/v9.2/accounts(6f1c4c1e-6c2d-4b53-9d6a-1d7b2a9e0a11)"), "record");
        assert_eq!(route("/wp-login.php"), "other");
    }
}

//! Module endpoints (`Registry::endpoint`): each registered path is
//! mounted here and its requests handed to the module whole, on a blocking
//! thread. The server knows nothing of their protocols.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use relata_engine::modules::{EndpointFn, EndpointRequest};
use relata_http::panics;

use crate::AppState;

/// The routes of every module endpoint.
pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for e in state.org.modules().endpoints() {
        let handler = e.handler;
        router = router.route(e.path, any(move |st: State<AppState>, req: Request| serve(st, req, handler)));
    }
    router
}

async fn serve(State(st): State<AppState>, req: Request, handler: EndpointFn) -> Response {
    let (parts, body) = req.into_parts();
    let limit = st.config.max_body_bytes;
    // An oversized body is not read; the module answers it in its own
    // protocol (1C, for one, reads only answers with status 200).
    let (body, body_too_large) = match axum::body::to_bytes(body, limit).await {
        Ok(body) => (body.to_vec(), false),
        Err(_) => (Vec::new(), true),
    };
    let query = form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let headers = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let request = EndpointRequest {
        method: parts.method.as_str().to_string(),
        query,
        headers,
        body,
        body_too_large,
        client_address: relata_http::client_address(&parts, st.config.trust_forwarded_for),
        sign_in: st.config.sign_in.clone(),
        max_body_bytes: limit,
    };
    let org = st.org.clone();
    match panics::blocking(move || handler(&org, &request)).await {
        Ok(answer) => {
            let mut r = Response::new(Body::from(answer.body));
            *r.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            for (k, v) in answer.headers {
                if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::from_str(&v)) {
                    r.headers_mut().append(k, v);
                }
            }
            r
        }
        Err(id) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            id.message(),
        )
            .into_response(),
    }
}

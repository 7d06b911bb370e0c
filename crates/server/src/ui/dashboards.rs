//! The home page and the dashboards: charts of the user's data, rendered
//! on the server as SVG.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Router;
use minijinja::context;

use super::i18n::{text, Text};
use super::pages::{path_and_query, shell, shell_context, signed_in};
use super::render;
use crate::AppState;

pub(super) mod charts;

pub(super) const TEMPLATES: &[(&str, &str)] = &[("home.html", include_str!("templates/home.html"))];

pub(super) const TEXT: &[Text] = &[];

pub(super) fn routes() -> Router<AppState> {
    Router::new()
}

pub(super) async fn home(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = path_and_query("/", &q);
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, token| {
        let sh = shell(s, lang, token, None)?;
        let welcome = text(lang, "welcome").replace("{name}", &sh.user_name);
        Ok(render("home.html", context! { ..shell_context(&sh), ..context! { welcome => welcome, q_global => "" } }))
    })
    .await
}

//! Time zones and the user's own settings: language, formats, time zone.

use axum::Router;

use super::i18n::Text;
use crate::AppState;

pub(super) const TEMPLATES: &[(&str, &str)] = &[];

pub(super) const TEXT: &[Text] = &[];

pub(super) fn routes() -> Router<AppState> {
    Router::new()
}

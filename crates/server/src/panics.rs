//! Panics never reach a client as text. Engine work runs through
//! [`blocking`], which catches a panic, logs its message and location under a
//! fresh error id and hands back only that id; the client sees "an unexpected
//! error occurred" and the id, which an operator finds in the log beside the
//! detail. Panics elsewhere in a request are caught by the router's last-resort
//! layer the same way.

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::sync::Once;

thread_local! {
    /// The message and location of the last panic on this thread, kept by the
    /// hook for the code that catches it.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Set while a request's work runs: its panics are logged with an error
    /// id by the catcher, not also by the hook.
    static CAUGHT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A request failed with an internal error, logged under this id.
#[derive(Debug, Clone)]
pub struct ErrorId(pub String);

impl ErrorId {
    /// What the client is told.
    pub fn message(&self) -> String {
        format!("An unexpected error occurred. Error id: {}.", self.0)
    }
}

/// Installs the hook that records panic details for [`caught`] (once per process).
pub fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = payload_text(info.payload());
            let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{message} at {location}")));
            if !CAUGHT.with(|c| c.get()) {
                previous(info);
            }
        }));
    });
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// Logs a caught panic under a new error id and returns the id.
pub fn caught(payload: &(dyn std::any::Any + Send)) -> ErrorId {
    let detail = LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| payload_text(payload));
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    tracing::error!(error_id = %id, panic = %detail, "a request failed with an internal error");
    ErrorId(id)
}

/// Runs `f` on this thread, turning a panic into a logged [`ErrorId`].
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, ErrorId> {
    let before = CAUGHT.with(|c| c.replace(true));
    let r = std::panic::catch_unwind(AssertUnwindSafe(f));
    CAUGHT.with(|c| c.set(before));
    r.map_err(|payload| caught(payload.as_ref()))
}

/// Runs blocking engine work off the async threads; a panic in it becomes
/// an [`ErrorId`].
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ErrorId> {
    match tokio::task::spawn_blocking(move || guarded(f)).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => Err(caught(e.into_panic().as_ref())),
        Err(_) => {
            let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
            tracing::error!(error_id = %id, "blocking work was cancelled");
            Err(ErrorId(id))
        }
    }
}

/// The router's last resort for a panic outside [`blocking`].
pub fn last_resort(payload: Box<dyn std::any::Any + Send + 'static>) -> http::Response<axum::body::Body> {
    let id = caught(payload.as_ref());
    let mut r = http::Response::new(axum::body::Body::from(crate::ApiError::internal(id.message()).body()));
    *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    r
}

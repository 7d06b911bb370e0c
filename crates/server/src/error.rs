//! API errors in Dataverse's shape: `{"error":{"code":"0x…","message":"…"}}`.

use http::StatusCode;
use relata_engine::EngineError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    /// Dataverse error code (hex), so clients that switch on it keep working.
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), retry_after: None }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "0x80060888", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "0x80060888", message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "0x80040220", message)
    }
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "0x80060888", message)
    }
    pub fn too_large(limit: usize) -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "0x80044183",
            format!("The request body is larger than the limit of {limit} bytes."),
        )
    }
    pub fn too_many(retry_after: u64) -> Self {
        ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "0x80072322",
            message: "Number of requests exceeded the limit for the current time window.".into(),
            retry_after: Some(retry_after),
        }
    }
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "0x80040216", message)
    }

    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"error": {"code": self.code, "message": self.message}}))
            .unwrap_or_default()
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, "0x80040217", m.text),
            EngineError::Invalid(m) | EngineError::Refused { message: m, .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "0x80040203", m)
            }
            EngineError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, "0x80040220", m.text),
            EngineError::PreconditionFailed(m) => ApiError::new(StatusCode::PRECONDITION_FAILED, "0x80060882", m),
            EngineError::Conflict(m) => ApiError::new(StatusCode::PRECONDITION_FAILED, "0x80040237", m),
            EngineError::Unauthorized(m) => ApiError::new(StatusCode::UNAUTHORIZED, "0x80040220", m),
            EngineError::Throttled(m, retry) => {
                let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "0x80072322", m);
                e.retry_after = Some(retry);
                e
            }
            EngineError::Unavailable(m) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "0x80040216", m),
            EngineError::Store(s) => {
                tracing::error!(error = %s, "database error");
                if s.is_busy() {
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "0x80040216",
                        "The database is busy; retry the request.",
                    )
                } else {
                    ApiError::internal("An unexpected database error occurred.")
                }
            }
        }
    }
}

impl From<relata_query::parser::ParseError> for ApiError {
    fn from(e: relata_query::parser::ParseError) -> Self {
        ApiError::bad_request(e.to_string())
    }
}

impl From<relata_store::StoreError> for ApiError {
    fn from(e: relata_store::StoreError) -> Self {
        EngineError::from(e).into()
    }
}

use relata_metadata::ValidationError;
use relata_query::QueryError;
use relata_store::StoreError;

/// What went wrong, in terms a caller can act on. The server maps each kind
/// to an HTTP status and a Dataverse error code.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Unknown entity, or a record that does not exist or that the caller
    /// may not read (the two are indistinguishable on purpose).
    #[error("{0}")]
    NotFound(String),
    /// Bad input: unknown attribute, wrong type, invalid state, bad query.
    #[error("{0}")]
    Invalid(String),
    /// The caller lacks a privilege.
    #[error("{0}")]
    Forbidden(String),
    /// `If-Match` named an older version, or a concurrent write won.
    #[error("{0}")]
    PreconditionFailed(String),
    /// A duplicate key or a record that already exists.
    #[error("{0}")]
    Conflict(String),
    /// Authentication failed.
    #[error("{0}")]
    Unauthorized(String),
    /// Too many requests or failed sign-ins; try again after this many seconds.
    #[error("{0}")]
    Throttled(String, u64),
    #[error("{0}")]
    Store(StoreError),
}

impl EngineError {
    /// The Dataverse error code of this kind of error (`0x80040220`, a
    /// missing privilege).
    pub fn code(&self) -> u32 {
        match self {
            EngineError::NotFound(_) => 0x8004_0217,
            EngineError::Invalid(_) => 0x8004_0203,
            EngineError::Forbidden(_) | EngineError::Unauthorized(_) => 0x8004_0220,
            EngineError::PreconditionFailed(_) => 0x8006_0882,
            EngineError::Conflict(_) => 0x8004_0237,
            EngineError::Throttled(..) => 0x8007_2322,
            EngineError::Store(_) => 0x8004_0216,
        }
    }
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate(what) => {
                EngineError::Conflict(format!("A record with the same {what} already exists."))
            }
            StoreError::Encode(m) => EngineError::Invalid(m),
            other => EngineError::Store(other),
        }
    }
}

impl From<QueryError> for EngineError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Invalid(m) => EngineError::Invalid(m),
            QueryError::Store(s) => s.into(),
        }
    }
}

impl From<ValidationError> for EngineError {
    fn from(e: ValidationError) -> Self {
        EngineError::Invalid(e.to_string())
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

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
    NotFound(ErrorMessage),
    /// Bad input: unknown attribute, wrong type, invalid state, bad query.
    #[error("{0}")]
    Invalid(String),
    /// The caller lacks a privilege.
    #[error("{0}")]
    Forbidden(ErrorMessage),
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
    /// A service outside the database (a mail server, a webhook's URL)
    /// could not be reached or asked to try later: a job retries.
    #[error("{0}")]
    Unavailable(String),
    /// Bad input whose meaning is known: the column it is about and a
    /// message key with parameters, so an interface places the message at
    /// its field and says it in the user's language ([`EngineError::message_in`]).
    /// Shown as its English text otherwise, like [`EngineError::Invalid`].
    #[error("{message}")]
    Refused { message: String, detail: Box<Detail> },
}

/// The text of a refusal or a missing record, and what it means where
/// that is known: a key of the message catalog and its parameters, so an
/// interface says it in the user's language.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorMessage {
    pub text: String,
    pub detail: Option<Box<Detail>>,
}

impl ErrorMessage {
    pub fn keyed(text: impl Into<String>, key: &'static str, params: Vec<(&'static str, String)>) -> ErrorMessage {
        ErrorMessage { text: text.into(), detail: Some(Box::new(Detail { attribute: None, key, params })) }
    }
}

impl std::fmt::Display for ErrorMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<String> for ErrorMessage {
    fn from(text: String) -> ErrorMessage {
        ErrorMessage { text, detail: None }
    }
}

impl From<&str> for ErrorMessage {
    fn from(text: &str) -> ErrorMessage {
        ErrorMessage { text: text.to_string(), detail: None }
    }
}

impl From<ErrorMessage> for String {
    fn from(m: ErrorMessage) -> String {
        m.text
    }
}

/// What a [`EngineError::Refused`] is about.
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    /// The column concerned, if one is.
    pub attribute: Option<String>,
    /// A key of the message catalog (`messages.rs`).
    pub key: &'static str,
    pub params: Vec<(&'static str, String)>,
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
            EngineError::Unavailable(_) => 0x8004_0216,
            EngineError::Refused { .. } => 0x8004_0203,
        }
    }

    /// The caller may not do this.
    pub fn forbidden(message: impl Into<ErrorMessage>) -> EngineError {
        EngineError::Forbidden(message.into())
    }

    /// No such entity or record (or none the caller may read).
    pub fn not_found(message: impl Into<ErrorMessage>) -> EngineError {
        EngineError::NotFound(message.into())
    }

    /// Bad input with a known meaning (see [`Detail`]).
    pub fn refused(
        attribute: Option<&str>,
        key: &'static str,
        params: Vec<(&'static str, String)>,
        message: impl Into<String>,
    ) -> EngineError {
        EngineError::Refused {
            message: message.into(),
            detail: Box::new(Detail { attribute: attribute.map(str::to_string), key, params }),
        }
    }

    /// The column the error is about, when it names one.
    pub fn attribute(&self) -> Option<&str> {
        match self {
            EngineError::Refused { detail, .. } => detail.attribute.as_deref(),
            _ => None,
        }
    }

    /// The message in a language (`en`, `ru`): the catalog's text where the
    /// error's meaning is known and the language has one, else the English
    /// text.
    pub fn message_in(&self, language: &str) -> String {
        let detail = match self {
            EngineError::Refused { detail, .. } => Some(detail),
            EngineError::Forbidden(m) | EngineError::NotFound(m) => m.detail.as_ref(),
            _ => None,
        };
        detail.and_then(|d| crate::messages::render(d.key, &d.params, language)).unwrap_or_else(|| self.to_string())
    }

    /// The catalog key of the error's meaning, where it is known.
    pub fn key(&self) -> Option<&'static str> {
        match self {
            EngineError::Refused { detail, .. } => Some(detail.key),
            EngineError::Forbidden(m) | EngineError::NotFound(m) => m.detail.as_ref().map(|d| d.key),
            _ => None,
        }
    }

    /// The text of a refusal of the caller's input ([`EngineError::Invalid`]
    /// or [`EngineError::Refused`]) in a language, for a page that shows it.
    pub fn invalid_message(&self, language: &str) -> Option<String> {
        match self {
            EngineError::Invalid(m) => Some(m.clone()),
            EngineError::Refused { .. } => Some(self.message_in(language)),
            _ => None,
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
        let message = e.to_string();
        EngineError::refused(Some(&e.attribute), e.key, e.params, message)
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_rights_and_records_speak_the_users_language() {
        let e = EngineError::forbidden(ErrorMessage::keyed(
            "Principal user (Id=1) is missing prvDeleteAccount privilege on entity 'account'",
            "missing_privilege",
            vec![("privilege", "prvDeleteAccount".into()), ("entity", "account".into())],
        ));
        assert_eq!(e.code(), 0x8004_0220);
        assert_eq!(e.key(), Some("missing_privilege"));
        assert_eq!(e.message_in("ru"), "У вас нет привилегии prvDeleteAccount для записей «account».");
        assert!(e.message_in("en").starts_with("Principal user (Id=1) is missing"), "English is the error's text");
        // Without a known meaning, the text is all there is.
        let plain = EngineError::not_found("no logo");
        assert_eq!((plain.key(), plain.message_in("ru")), (None, "no logo".to_string()));
    }
}

/// A mail failure, saying what failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The configuration is wrong (a URL, an address, a certificate file):
    /// trying again will not help.
    #[error("{0}")]
    Config(String),
    /// The server refused for good (an SMTP 5xx answer, a rejected login).
    #[error("{0}")]
    Refused(String),
    /// The server could not be reached or asked to try later (SMTP 4xx, a
    /// timeout, a dropped connection).
    #[error("{0}")]
    Transient(String),
}

impl MailError {
    /// May the same attempt succeed later?
    pub fn is_transient(&self) -> bool {
        matches!(self, MailError::Transient(_))
    }
}

//! Mail in and out, knowing nothing of records: where a mail server is
//! ([`ServerUrl`]), a message to send ([`Outgoing`]) and sending it over
//! SMTP ([`Smtp`]), fetching new messages of a mailbox over IMAP
//! ([`fetch_new`]), and reading a received message ([`Received::parse`]).
//!
//! The wire work is done by lettre (SMTP, MIME building), the imap crate
//! and mail-parser; TLS is rustls with Mozilla's roots plus, optionally,
//! one extra trusted certificate authority (a company's own).
//!
//! **Invariant:** no input (a URL, a message, a server's answer) makes it
//! panic; every failure says what failed and whether trying again later
//! may help ([`MailError::is_transient`]).

mod error;
mod imap_fetch;
mod outgoing;
mod received;
mod server;
mod tls;

pub use error::MailError;
pub use imap_fetch::{fetch_new, Fetched, FetchedMessage};
pub use outgoing::{Address, Attachment, Outgoing, Smtp};
pub use received::{Received, ReceivedAttachment};
pub use server::{Protocol, Security, ServerUrl};
pub use tls::TrustedRoots;

pub type Result<T> = std::result::Result<T, MailError>;

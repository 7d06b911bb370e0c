//! Where a mail server is, as a URL: `smtp://user:pass@host:587?tls=required`.
//!
//! The SMTP forms are lettre's: `smtp://` in clear (loopback relays),
//! `?tls=required` for STARTTLS, `?tls=opportunistic` for STARTTLS when
//! offered, `smtps://` for TLS from the first byte. IMAP reads the same
//! way (`imap://`, `imap://…?tls=required`, `imaps://`), with the folder as
//! the path (`imaps://user:pass@host/INBOX`, INBOX when left out).

use std::fmt;

use percent_encoding::percent_decode_str;

use crate::{MailError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Smtp,
    Imap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// In clear: for a relay on the same machine or network.
    None,
    /// STARTTLS, refusing to go on without it.
    StartTls,
    /// STARTTLS when the server offers it, else in clear.
    Opportunistic,
    /// TLS from the first byte (`smtps`, `imaps`).
    Tls,
}

#[derive(Clone, PartialEq, Eq)]
pub struct ServerUrl {
    pub protocol: Protocol,
    pub security: Security,
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<String>,
    /// IMAP: the folder to read (INBOX when the URL names none).
    pub folder: String,
}

impl ServerUrl {
    pub fn parse(text: &str) -> Result<ServerUrl> {
        let bad = |why: String| MailError::Config(format!("mail server URL '{}': {why}", redact(text)));
        let url = url::Url::parse(text.trim()).map_err(|e| bad(e.to_string()))?;
        let tls = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.to_string());
        if let Some((k, _)) = url.query_pairs().find(|(k, _)| k != "tls") {
            return Err(bad(format!("unknown parameter '{k}' (only 'tls' is read)")));
        }
        let (protocol, security) = match (url.scheme(), tls.as_deref()) {
            ("smtp", None) => (Protocol::Smtp, Security::None),
            ("imap", None) => (Protocol::Imap, Security::None),
            ("smtp", Some("required")) => (Protocol::Smtp, Security::StartTls),
            ("imap", Some("required")) => (Protocol::Imap, Security::StartTls),
            ("smtp", Some("opportunistic")) => (Protocol::Smtp, Security::Opportunistic),
            ("imap", Some("opportunistic")) => (Protocol::Imap, Security::Opportunistic),
            ("smtps", None) => (Protocol::Smtp, Security::Tls),
            ("imaps", None) => (Protocol::Imap, Security::Tls),
            ("smtp" | "imap", Some(other)) => {
                return Err(bad(format!("tls must be 'required' or 'opportunistic', not '{other}'")))
            }
            ("smtps" | "imaps", Some(_)) => return Err(bad("smtps and imaps are TLS already; drop 'tls='".into())),
            (scheme, _) => {
                return Err(bad(format!("the scheme must be smtp, smtps, imap or imaps, not '{scheme}'")));
            }
        };
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| bad("no host".into()))?;
        // A bracketed IPv6 literal is connected to without its brackets.
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let port = url.port().unwrap_or(match (protocol, security) {
            (Protocol::Smtp, Security::None) => 25,
            (Protocol::Smtp, Security::Tls) => 465,
            (Protocol::Smtp, _) => 587,
            (Protocol::Imap, Security::Tls) => 993,
            (Protocol::Imap, _) => 143,
        });
        let decode = |s: &str| -> Result<String> {
            percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad("the user name or password is not UTF-8 once decoded".into()))
        };
        let user = if url.username().is_empty() { None } else { Some(decode(url.username())?) };
        let password = url.password().map(decode).transpose()?;
        if password.is_some() && user.is_none() {
            return Err(bad("a password without a user name".into()));
        }
        let path = decode(url.path().trim_matches('/'))?;
        let folder = match protocol {
            Protocol::Imap if !path.is_empty() => path,
            Protocol::Imap => "INBOX".to_string(),
            Protocol::Smtp if !path.is_empty() => {
                return Err(bad("an SMTP URL has no path".into()));
            }
            Protocol::Smtp => String::new(),
        };
        Ok(ServerUrl { protocol, security, host, port, user, password, folder })
    }

    /// The URL with its password masked, for logs and screens.
    pub fn redacted(&self) -> String {
        let scheme = match (self.protocol, self.security) {
            (Protocol::Smtp, Security::Tls) => "smtps",
            (Protocol::Imap, Security::Tls) => "imaps",
            (Protocol::Smtp, _) => "smtp",
            (Protocol::Imap, _) => "imap",
        };
        let user = match (&self.user, &self.password) {
            (Some(u), Some(_)) => format!("{u}:***@"),
            (Some(u), None) => format!("{u}@"),
            _ => String::new(),
        };
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        let folder = if self.protocol == Protocol::Imap { format!("/{}", self.folder) } else { String::new() };
        let tls = match self.security {
            Security::StartTls => "?tls=required",
            Security::Opportunistic => "?tls=opportunistic",
            _ => "",
        };
        format!("{scheme}://{user}{host}:{}{folder}{tls}", self.port)
    }
}

impl fmt::Debug for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// A URL as typed, with anything between `:` and `@` of its authority
/// masked (for an error about a URL that did not parse).
fn redact(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else { return text.to_string() };
    let rest = &text[scheme_end + 3..];
    match (rest.rfind('@'), rest.find(':')) {
        (Some(at), Some(colon)) if colon < at => {
            format!("{}{}:***{}", &text[..scheme_end + 3], &rest[..colon], &rest[at..])
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_users_write_read_as_they_mean() {
        let u = ServerUrl::parse("smtp://sales%40example.com:p%40ss@mail.example.com:2525?tls=required").unwrap();
        assert_eq!((u.protocol, u.security, u.port), (Protocol::Smtp, Security::StartTls, 2525));
        assert_eq!((u.user.as_deref(), u.password.as_deref()), (Some("sales@example.com"), Some("p@ss")));
        assert_eq!(u.redacted(), "smtp://sales@example.com:***@mail.example.com:2525?tls=required");
        assert_eq!(ServerUrl::parse("smtps://h").unwrap().port, 465);
        assert_eq!(ServerUrl::parse("smtp://h").unwrap().port, 25);
        assert_eq!(ServerUrl::parse("smtp://h?tls=opportunistic").unwrap().port, 587);
        let i = ServerUrl::parse("imaps://u:p@imap.example.com/Support%20Queue").unwrap();
        assert_eq!((i.port, i.folder.as_str(), i.security), (993, "Support Queue", Security::Tls));
        assert_eq!(ServerUrl::parse("imap://u:p@[::1]:1143").unwrap().host, "::1");
        assert_eq!(ServerUrl::parse("imap://h").unwrap().folder, "INBOX");
    }

    #[test]
    fn a_wrong_url_is_named_without_its_password() {
        for (text, says) in [
            ("http://u:secret@h", "scheme must be"),
            ("smtp://u:secret@h?tls=maybe", "tls must be"),
            ("smtps://u:secret@h?tls=required", "TLS already"),
            ("smtp://u:secret@h/x", "no path"),
            ("smtp://u:secret@h?port=2", "unknown parameter"),
            ("smtp://:secret@h", "without a user"),
            ("smtp://u:secret@", "u:***@"),
        ] {
            let e = ServerUrl::parse(text).unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
            assert!(!e.contains("secret"), "{text}: {e}");
        }
    }
}

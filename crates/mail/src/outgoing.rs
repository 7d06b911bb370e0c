//! A message to send and the SMTP connection that sends it.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment as MimeAttachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::PoolConfig;
use lettre::{Message, SmtpTransport, Transport};

use crate::server::{Protocol, Security, ServerUrl};
use crate::{MailError, Result, TrustedRoots};

/// A mailbox: an address with an optional display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub name: Option<String>,
    pub email: String,
}

impl Address {
    pub fn new(email: impl Into<String>) -> Address {
        Address { name: None, email: email.into() }
    }

    pub fn named(name: impl Into<String>, email: impl Into<String>) -> Address {
        let name: String = name.into();
        Address { name: Some(name).filter(|n| !n.trim().is_empty()), email: email.into() }
    }

    fn mailbox(&self) -> Result<Mailbox> {
        let email = self
            .email
            .trim()
            .parse()
            .map_err(|_| MailError::Config(format!("'{}' is not an email address", self.email)))?;
        Ok(Mailbox::new(self.name.clone(), email))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    /// A MIME type; `application/octet-stream` when unknown or unreadable.
    pub content_type: String,
    pub body: Vec<u8>,
}

/// A message to send.
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    pub from: Option<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
    /// Without angle brackets: `id@host`.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
}

impl Outgoing {
    /// The MIME message, as it goes on the wire.
    pub fn to_mime(&self) -> Result<Message> {
        let from = self.from.as_ref().ok_or_else(|| MailError::Config("the message has no sender".into()))?;
        if self.to.is_empty() && self.cc.is_empty() && self.bcc.is_empty() {
            return Err(MailError::Config("the message has no recipient".into()));
        }
        let mut b = Message::builder().from(from.mailbox()?).subject(self.subject.clone()).date_now();
        for a in &self.to {
            b = b.to(a.mailbox()?);
        }
        for a in &self.cc {
            b = b.cc(a.mailbox()?);
        }
        for a in &self.bcc {
            b = b.bcc(a.mailbox()?);
        }
        if !self.message_id.is_empty() {
            b = b.message_id(Some(format!("<{}>", bare(&self.message_id))));
        }
        if let Some(parent) = &self.in_reply_to {
            b = b.in_reply_to(format!("<{}>", bare(parent)));
        }
        if !self.references.is_empty() {
            let refs: Vec<String> = self.references.iter().map(|r| format!("<{}>", bare(r))).collect();
            b = b.references(refs.join(" "));
        }
        let body = match (&self.text, &self.html) {
            (Some(t), Some(h)) => MultiPart::alternative_plain_html(t.clone(), h.clone()),
            (None, Some(h)) => MultiPart::alternative_plain_html(text_of_html(h), h.clone()),
            (Some(t), None) => MultiPart::mixed().singlepart(SinglePart::plain(t.clone())),
            (None, None) => MultiPart::mixed().singlepart(SinglePart::plain(String::new())),
        };
        let message = if self.attachments.is_empty() {
            b.multipart(body)
        } else {
            let mut mixed = MultiPart::mixed().multipart(body);
            for a in &self.attachments {
                let kind = ContentType::parse(&a.content_type)
                    .unwrap_or_else(|_| ContentType::parse("application/octet-stream").expect("a valid MIME type"));
                mixed = mixed.singlepart(MimeAttachment::new(a.filename.clone()).body(a.body.clone(), kind));
            }
            b.multipart(mixed)
        };
        message.map_err(|e| MailError::Config(format!("the message cannot be built: {e}")))
    }
}

fn bare(id: &str) -> &str {
    id.trim().trim_start_matches('<').trim_end_matches('>')
}

/// A plain-text rendering of an HTML body for the text part of a message
/// written only in HTML: tags dropped, block ends as line breaks, the
/// common entities decoded.
fn text_of_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end].to_ascii_lowercase();
        let closing = tag.starts_with('/');
        let name: String = tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        // A line ends at `<br>` and at the end of a block.
        let block = matches!(name.as_str(), "p" | "div" | "tr" | "li" | "h1" | "h2" | "h3" | "h4");
        if name == "br" || (closing && block) {
            out.push('\n');
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let lines: Vec<&str> = decoded.lines().map(str::trim_end).collect();
    lines.join("\n").trim().to_string()
}

/// An SMTP server to send through. Connections are pooled: a second
/// message reuses the first one's session.
#[derive(Clone)]
pub struct Smtp {
    transport: SmtpTransport,
    server: ServerUrl,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Smtp({})", self.server)
    }
}

impl Smtp {
    pub fn new(server: &ServerUrl, roots: &TrustedRoots) -> Result<Smtp> {
        if server.protocol != Protocol::Smtp {
            return Err(MailError::Config(format!("{server} is not an SMTP server")));
        }
        let tls_params = || -> Result<TlsParameters> {
            let mut b = TlsParameters::builder(server.host.clone());
            if let Some(pem) = roots.extra_pem() {
                for block in pem_blocks(pem) {
                    let cert = Certificate::from_pem(&block)
                        .map_err(|e| MailError::Config(format!("the trusted CA file: {e}")))?;
                    b = b.add_root_certificate(cert);
                }
            }
            b.build_rustls().map_err(|e| MailError::Config(format!("TLS for {server}: {e}")))
        };
        let tls = match server.security {
            Security::None => Tls::None,
            Security::StartTls => Tls::Required(tls_params()?),
            Security::Opportunistic => Tls::Opportunistic(tls_params()?),
            Security::Tls => Tls::Wrapper(tls_params()?),
        };
        let mut b = SmtpTransport::builder_dangerous(server.host.clone())
            .port(server.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(30)))
            .pool_config(PoolConfig::new().max_size(4).idle_timeout(Duration::from_secs(60)));
        if let Some(user) = &server.user {
            b = b.credentials(Credentials::new(user.clone(), server.password.clone().unwrap_or_default()));
        }
        Ok(Smtp { transport: b.build(), server: server.clone() })
    }

    /// Sends one message; the error says whether trying later may help.
    pub fn send(&self, message: &Outgoing) -> Result<()> {
        let mime = message.to_mime()?;
        self.transport.send(&mime).map(|_| ()).map_err(|e| {
            let text = format!("{}: {e}", self.server);
            if e.is_permanent() {
                MailError::Refused(text)
            } else if e.is_tls() || e.is_client() || tls_refused(&e) {
                MailError::Config(text)
            } else {
                MailError::Transient(text)
            }
        })
    }
}

/// Whether a connection failed because TLS refused the server (an untrusted
/// or mismatched certificate): a matter of configuration, not of waiting.
pub(crate) fn tls_refused(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = at {
        let rustls = err.downcast_ref::<rustls::Error>().or_else(|| {
            err.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|i| i.downcast_ref::<rustls::Error>())
        });
        if matches!(rustls, Some(rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented)) {
            return true;
        }
        at = err.source();
    }
    false
}

/// The PEM blocks of a file, each on its own (lettre reads one at a time).
fn pem_blocks(pem: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(pem);
    let mut blocks = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if line.starts_with("-----BEGIN CERTIFICATE-----") {
            current.clear();
        }
        current.push_str(line);
        current.push('\n');
        if line.starts_with("-----END CERTIFICATE-----") {
            blocks.push(std::mem::take(&mut current).into_bytes());
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Outgoing {
        Outgoing {
            from: Some(Address::named("Anna Petrova", "anna@example.com")),
            to: vec![Address::named("Контрагент", "client@example.org")],
            bcc: vec![Address::new("archive@example.com")],
            subject: "Предложение CRM:0001001".into(),
            html: Some("<p>Hello &amp; welcome</p><p>Line two<br>three</p>".into()),
            message_id: "abc@relata".into(),
            in_reply_to: Some("<parent@example.org>".into()),
            references: vec!["root@example.org".into(), "parent@example.org".into()],
            attachments: vec![Attachment {
                filename: "offer.pdf".into(),
                content_type: "application/pdf".into(),
                body: b"%PDF-1.7".to_vec(),
            }],
            ..Outgoing::default()
        }
    }

    #[test]
    fn a_message_carries_its_thread_and_both_bodies() {
        let raw = String::from_utf8(message().to_mime().unwrap().formatted()).unwrap();
        assert!(raw.contains("Message-ID: <abc@relata>"), "{raw}");
        assert!(raw.contains("In-Reply-To: <parent@example.org>"), "{raw}");
        assert!(raw.contains("References: <root@example.org> <parent@example.org>"), "{raw}");
        assert!(raw.contains("text/plain") && raw.contains("text/html") && raw.contains("offer.pdf"), "{raw}");
        assert!(raw.contains("Hello & welcome\nLine two\nthree") || raw.contains("Hello & welcome\r\n"), "{raw}");
        // Bcc recipients are on the envelope, never in the headers.
        assert!(!raw.contains("archive@example.com"), "{raw}");
    }

    #[test]
    fn a_message_without_sender_or_recipients_or_with_a_bad_address_is_refused() {
        let mut m = message();
        m.from = None;
        assert!(m.to_mime().unwrap_err().to_string().contains("no sender"));
        let mut m = message();
        m.to.clear();
        m.bcc.clear();
        assert!(m.to_mime().unwrap_err().to_string().contains("no recipient"));
        let mut m = message();
        m.to = vec![Address::new("not an address")];
        assert!(m.to_mime().unwrap_err().to_string().contains("'not an address' is not an email address"));
    }

    #[test]
    fn html_reads_as_text() {
        assert_eq!(text_of_html("<div>a&nbsp;b</div><div>c &lt;d&gt;</div>"), "a b\nc <d>");
        assert_eq!(text_of_html("no tags"), "no tags");
        assert_eq!(text_of_html("cut <b"), "cut");
    }
}

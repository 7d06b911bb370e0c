//! A received message, read with mail-parser into what a CRM keeps of it.

use chrono::{DateTime, TimeZone, Utc};
use mail_parser::{MessageParser, MimeHeaders};

use crate::{Address, MailError, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedAttachment {
    pub filename: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// What a CRM keeps of a received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Without angle brackets; `None` when the sender gave none.
    pub message_id: Option<String>,
    /// The message this one answers, without angle brackets.
    pub in_reply_to: Option<String>,
    /// The thread, oldest first, without angle brackets.
    pub references: Vec<String>,
    pub subject: String,
    pub from: Option<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub date: Option<DateTime<Utc>>,
    pub text: Option<String>,
    pub html: Option<String>,
    pub attachments: Vec<ReceivedAttachment>,
}

impl Received {
    pub fn parse(raw: &[u8]) -> Result<Received> {
        let m = MessageParser::default()
            .parse(raw)
            .ok_or_else(|| MailError::Refused("the message is not a MIME message".into()))?;
        if m.headers().is_empty() {
            return Err(MailError::Refused("the message has no headers".into()));
        }
        let ids = |v: &mail_parser::HeaderValue<'_>| -> Vec<String> {
            v.as_text_list().map(|l| l.iter().map(|s| bare(s)).filter(|s| !s.is_empty()).collect()).unwrap_or_default()
        };
        let addresses = |a: Option<&mail_parser::Address<'_>>| -> Vec<Address> {
            a.map(|a| {
                a.iter()
                    .filter_map(|x| {
                        let email = x.address()?.trim().to_string();
                        (!email.is_empty()).then(|| Address { name: x.name().map(str::to_string), email })
                    })
                    .collect()
            })
            .unwrap_or_default()
        };
        let text = m.body_text(0).map(|t| t.into_owned());
        let html = m.body_html(0).map(|t| t.into_owned());
        // mail-parser renders an HTML-only message's text from its HTML and
        // the reverse; keep only the parts the sender wrote.
        let has = |kind: &str| {
            m.parts.iter().any(|p| {
                p.content_type().is_some_and(|c| {
                    c.ctype().eq_ignore_ascii_case("text") && c.subtype().is_some_and(|s| s.eq_ignore_ascii_case(kind))
                }) || (kind == "plain" && p.content_type().is_none() && p.text_contents().is_some())
            })
        };
        let attachments = m
            .attachments()
            .map(|p| ReceivedAttachment {
                filename: p.attachment_name().unwrap_or("attachment").to_string(),
                content_type: p
                    .content_type()
                    .map(|c| match c.subtype() {
                        Some(s) => format!("{}/{s}", c.ctype()),
                        None => c.ctype().to_string(),
                    })
                    .unwrap_or_else(|| "application/octet-stream".into()),
                body: p.contents().to_vec(),
            })
            .collect();
        Ok(Received {
            message_id: m.message_id().map(bare).filter(|s| !s.is_empty()),
            in_reply_to: ids(m.in_reply_to()).into_iter().next(),
            references: ids(m.references()),
            subject: m.subject().unwrap_or("").to_string(),
            from: addresses(m.from()).into_iter().next(),
            to: addresses(m.to()),
            cc: addresses(m.cc()),
            date: m.date().and_then(|d| Utc.timestamp_opt(d.to_timestamp(), 0).single()),
            text: if has("plain") { text } else { None },
            html: if has("html") { html } else { None },
            attachments,
        })
    }
}

fn bare(id: &str) -> String {
    id.trim().trim_start_matches('<').trim_end_matches('>').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLY: &str = "From: =?utf-8?B?0JjQstCw0L0g0J/QtdGC0YDQvtCy?= <ivan@client.example>\r\n\
To: Sales <sales@example.com>, other@example.com\r\n\
Subject: Re: Offer CRM:0001001\r\n\
Message-ID: <reply-1@client.example>\r\n\
In-Reply-To: <abc@relata>\r\n\
References: <root@x> <abc@relata>\r\n\
Date: Mon, 07 Dec 2026 10:00:00 +0300\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Yes, we agree.\r\n\
--b1\r\n\
Content-Type: application/pdf; name=\"signed.pdf\"\r\n\
Content-Disposition: attachment; filename=\"signed.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjc=\r\n\
--b1--\r\n";

    #[test]
    fn a_reply_is_read_with_its_thread_sender_and_attachment() {
        let r = Received::parse(REPLY.as_bytes()).unwrap();
        assert_eq!(r.message_id.as_deref(), Some("reply-1@client.example"));
        assert_eq!(r.in_reply_to.as_deref(), Some("abc@relata"));
        assert_eq!(r.references, vec!["root@x", "abc@relata"]);
        assert_eq!(r.from, Some(Address::named("Иван Петров", "ivan@client.example")));
        assert_eq!(r.to.len(), 2);
        assert_eq!(r.subject, "Re: Offer CRM:0001001");
        assert_eq!(r.text.as_deref().map(str::trim), Some("Yes, we agree."));
        assert_eq!(r.html, None);
        assert_eq!(r.date.unwrap().to_rfc3339(), "2026-12-07T07:00:00+00:00");
        assert_eq!(r.attachments.len(), 1);
        assert_eq!(r.attachments[0].filename, "signed.pdf");
        assert_eq!(r.attachments[0].content_type, "application/pdf");
        assert_eq!(r.attachments[0].body, b"%PDF-1.7");
    }

    #[test]
    fn what_is_not_a_message_is_refused() {
        assert!(Received::parse(b"").is_err());
    }

    proptest::proptest! {
        #[test]
        fn no_input_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = Received::parse(&bytes);
        }
    }
}

//! Bytes to text and back. 1C and Bitrix write UTF-8 (with or without a
//! BOM) or windows-1251; the XML declaration says which. Documents are
//! decoded to UTF-8 before parsing so the parser sees one encoding.

use std::borrow::Cow;

use encoding_rs::DecoderResult;

use crate::Error;

/// The character encoding of a written document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Encoding {
    /// UTF-8, without a BOM.
    #[default]
    Utf8,
    /// windows-1251, what Bitrix answers in; characters it lacks are
    /// written as numeric character references.
    Windows1251,
}

impl Encoding {
    /// The label written in the XML declaration and `Content-Type`.
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Windows1251 => "windows-1251",
        }
    }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const UTF16LE_BOM: &[u8] = b"\xFF\xFE";
const UTF16BE_BOM: &[u8] = b"\xFE\xFF";

/// Decodes a document to UTF-8 text: a BOM decides first, then the
/// `encoding` of the XML declaration, then UTF-8.
pub(crate) fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, Error> {
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        expect_markup(rest)?;
        return utf8(rest, UTF8_BOM.len()).map(Cow::Borrowed);
    }
    for (bom, encoding) in [(UTF16LE_BOM, encoding_rs::UTF_16LE), (UTF16BE_BOM, encoding_rs::UTF_16BE)] {
        if let Some(rest) = bytes.strip_prefix(bom) {
            let text = strict(rest, encoding, bom.len())?;
            if !text.trim_start().starts_with('<') {
                return Err(not_xml(rest));
            }
            return Ok(Cow::Owned(text));
        }
    }
    expect_markup(bytes)?;
    let encoding = match declared_encoding(bytes) {
        None => encoding_rs::UTF_8,
        Some(label) => encoding_rs::Encoding::for_label(label.trim().as_bytes())
            .ok_or_else(|| Error::UnsupportedEncoding { label: label.to_owned() })?,
    };
    // A UTF-16 label on bytes whose declaration reads as ASCII is a
    // mislabelled ASCII-compatible file; read it as UTF-8, as browsers do.
    if encoding == encoding_rs::UTF_8 || encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
        return utf8(bytes, 0).map(Cow::Borrowed);
    }
    strict(bytes, encoding, 0).map(Cow::Owned)
}

/// Encodes written text; see [`Encoding::Windows1251`] for unmappable characters.
pub(crate) fn encode(text: String, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Utf8 => text.into_bytes(),
        Encoding::Windows1251 => encoding_rs::WINDOWS_1251.encode(&text).0.into_owned(),
    }
}

fn utf8(bytes: &[u8], skipped: usize) -> Result<&str, Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text),
        // A character cut at the very end is an upload cut short: parse
        // what came, so the reader reports the truncation instead.
        Err(e) if e.error_len().is_none() => Ok(std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default()),
        Err(e) => Err(Error::BadText { encoding: "UTF-8", offset: skipped + e.valid_up_to() }),
    }
}

fn strict(bytes: &[u8], encoding: &'static encoding_rs::Encoding, skipped: usize) -> Result<String, Error> {
    let bad = |offset: usize| Error::BadText { encoding: encoding.name(), offset: skipped + offset };
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let capacity = decoder.max_utf8_buffer_length_without_replacement(bytes.len()).ok_or_else(|| bad(0))?;
    let mut text = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut text, true);
    match result {
        DecoderResult::InputEmpty => Ok(text),
        DecoderResult::Malformed(len, consumed_after) => {
            Err(bad(read.saturating_sub(usize::from(len) + usize::from(consumed_after))))
        }
        DecoderResult::OutputFull => Err(bad(read)),
    }
}

/// An XML document starts with `<` after optional whitespace; anything
/// else (a ZIP archive, an HTML error page in plain text…) is refused
/// before it reaches the parser, with its first bytes in the message.
fn expect_markup(bytes: &[u8]) -> Result<(), Error> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'<') => Ok(()),
        _ => Err(not_xml(bytes)),
    }
}

fn not_xml(bytes: &[u8]) -> Error {
    let head = &bytes[..bytes.len().min(8)];
    let start = if head.is_empty() {
        "nothing (the input is empty or blank)".to_owned()
    } else {
        let hex: Vec<String> = head.iter().map(|b| format!("{b:02X}")).collect();
        let hint = if bytes.starts_with(b"PK\x03\x04") { " (a ZIP archive)" } else { "" };
        format!("bytes {}{hint}", hex.join(" "))
    };
    Error::NotXml { start }
}

/// The `encoding` pseudo-attribute of a leading `<?xml …?>` declaration.
fn declared_encoding(bytes: &[u8]) -> Option<&str> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &bytes[start..bytes.len().min(start + 1024)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    let after = &decl[decl.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    Some(&value[..value.find(quote)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_declared_label() {
        assert_eq!(declared_encoding(b"<?xml version=\"1.0\" encoding=\"windows-1251\"?><a/>"), Some("windows-1251"));
        assert_eq!(declared_encoding(b"  <?xml version='1.0' encoding = 'utf-8' ?>"), Some("utf-8"));
        assert_eq!(declared_encoding(b"<?xml version=\"1.0\"?><a/>"), None);
        assert_eq!(declared_encoding(b"<a/>"), None);
    }

    #[test]
    fn windows_1251_round_trips_and_escapes_what_it_lacks() {
        let bytes = encode("Привет €✓".to_owned(), Encoding::Windows1251);
        assert_eq!(
            decode(&[b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>".as_slice(), &bytes].concat()).unwrap(),
            "<?xml version=\"1.0\" encoding=\"windows-1251\"?>Привет €&#10003;"
        );
    }

    #[test]
    fn utf16_with_a_bom_is_decoded() {
        let mut bytes = UTF16LE_BOM.to_vec();
        for unit in "<a>ё</a>".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(decode(&bytes).unwrap(), "<a>ё</a>");
    }

    #[test]
    fn refuses_what_is_not_markup() {
        assert!(matches!(decode(b"PK\x03\x04rest"), Err(Error::NotXml { start }) if start.contains("ZIP")));
        assert!(matches!(decode(b""), Err(Error::NotXml { .. })));
        assert!(matches!(
            decode(b"<?xml version=\"1.0\" encoding=\"x-klingon\"?><a/>"),
            Err(Error::UnsupportedEncoding { label }) if label == "x-klingon"
        ));
        assert!(matches!(decode(b"<a>\xFF</a>"), Err(Error::BadText { encoding: "UTF-8", offset: 3 })));
    }
}

//! Bytes to text and back. 1C and Bitrix write UTF-8 (with or without a
//! BOM) or windows-1251; the XML declaration says which. Documents are
//! decoded to UTF-8 before parsing so the parser sees one encoding.

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

/// How much of a document is read at once, and the most of its head
/// looked at for a BOM and an XML declaration.
const CHUNK: usize = 64 * 1024;
const HEAD: usize = 1024;

/// A document's bytes as UTF-8 text, decoded as they are read, so that a
/// file of any size is parsed with a fixed amount of memory. A BOM
/// decides the encoding first, then the `encoding` of the XML
/// declaration, then UTF-8. It also counts the lines the parser has
/// consumed, for the line numbers of errors.
pub(crate) struct Text<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    /// Bytes read from `inner`, not yet decoded: `raw[raw_at..raw_end]`.
    raw: Vec<u8>,
    raw_at: usize,
    raw_end: usize,
    /// `inner` has nothing more.
    ended: bool,
    /// Decoded text, not yet consumed: `out[out_at..out_end]`.
    out: Vec<u8>,
    out_at: usize,
    out_end: usize,
    /// Bytes of `inner` decoded so far (the BOM included).
    read: u64,
    /// No more text: the end, or a character cut at the very end.
    done: bool,
    /// Why decoding stopped, for the parser to report.
    failed: Option<Error>,
    /// Newlines in the text consumed so far.
    lines: usize,
}

impl<R: std::io::Read> Text<R> {
    /// Reads the head of `inner` to choose the encoding; refuses what does
    /// not look like XML before any parsing.
    pub(crate) fn new(mut inner: R) -> Result<Self, Error> {
        let mut raw = vec![0; CHUNK];
        let mut raw_end = 0;
        let mut ended = false;
        while raw_end < HEAD {
            match inner.read(&mut raw[raw_end..]) {
                Ok(0) => {
                    ended = true;
                    break;
                }
                Ok(n) => raw_end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Read { message: e.to_string() }),
            }
        }
        let head = &raw[..raw_end];
        let (encoding, skip, check_decoded) = if head.starts_with(UTF8_BOM) {
            expect_markup(&head[UTF8_BOM.len()..])?;
            (encoding_rs::UTF_8, UTF8_BOM.len(), false)
        } else if head.starts_with(UTF16LE_BOM) {
            (encoding_rs::UTF_16LE, UTF16LE_BOM.len(), true)
        } else if head.starts_with(UTF16BE_BOM) {
            (encoding_rs::UTF_16BE, UTF16BE_BOM.len(), true)
        } else {
            expect_markup(head)?;
            let encoding = match declared_encoding(head) {
                None => encoding_rs::UTF_8,
                Some(label) => encoding_rs::Encoding::for_label(label.trim().as_bytes())
                    .ok_or_else(|| Error::UnsupportedEncoding { label: label.to_owned() })?,
            };
            // A UTF-16 label on bytes whose declaration reads as ASCII is a
            // mislabelled ASCII-compatible file; read it as UTF-8, as browsers do.
            let encoding = if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
                encoding_rs::UTF_8
            } else {
                encoding
            };
            (encoding, 0, false)
        };
        let mut text = Text {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            raw,
            raw_at: skip,
            raw_end,
            ended,
            out: vec![0; CHUNK],
            out_at: 0,
            out_end: 0,
            read: skip as u64,
            done: false,
            failed: None,
            lines: 0,
        };
        if check_decoded {
            // Without a declaration to read, a UTF-16 document shows what
            // it is only once decoded.
            let first = match std::io::BufRead::fill_buf(&mut text) {
                Ok(body) => body.iter().find(|b| !b.is_ascii_whitespace()).copied(),
                Err(_) => return Err(text.failure()),
            };
            if first != Some(b'<') {
                return Err(not_xml(&text.raw[skip..text.raw_end]));
            }
        }
        Ok(text)
    }

    /// Newlines in the text consumed so far.
    pub(crate) fn lines(&self) -> usize {
        self.lines
    }

    /// How many bytes of the document have been decoded.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.read
    }

    /// Why reading failed: a decoding error kept, or a read error.
    pub(crate) fn failure(&mut self) -> Error {
        self.failed.take().unwrap_or_else(|| Error::Read { message: "the document could not be read".into() })
    }

    /// Decodes the next piece of text into `out`.
    fn refill(&mut self) -> std::io::Result<()> {
        use encoding_rs::DecoderResult;
        self.out_at = 0;
        self.out_end = 0;
        while self.out_end == 0 && !self.done {
            if self.raw_at == self.raw_end && !self.ended {
                self.raw_at = 0;
                self.raw_end = 0;
                match self.inner.read(&mut self.raw) {
                    Ok(0) => self.ended = true,
                    Ok(n) => self.raw_end = n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        self.failed = Some(Error::Read { message: e.to_string() });
                        return Err(e);
                    }
                }
            }
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.raw[self.raw_at..self.raw_end],
                &mut self.out,
                self.ended,
            );
            self.raw_at += read;
            self.read += read as u64;
            self.out_end = written;
            match result {
                DecoderResult::InputEmpty if self.ended => self.done = true,
                DecoderResult::InputEmpty | DecoderResult::OutputFull => {}
                // A character cut at the very end is an upload cut short:
                // hand over what came, so the parser reports the truncation.
                DecoderResult::Malformed(..)
                    if self.ended && self.raw_at == self.raw_end && self.decoder.encoding() == encoding_rs::UTF_8 =>
                {
                    self.done = true
                }
                DecoderResult::Malformed(len, after) => {
                    let at = self.read.saturating_sub(u64::from(len) + u64::from(after));
                    let error = Error::BadText {
                        encoding: self.decoder.encoding().name(),
                        offset: usize::try_from(at).unwrap_or(usize::MAX),
                    };
                    self.failed = Some(error.clone());
                    return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, error));
                }
            }
        }
        Ok(())
    }
}

impl<R: std::io::Read> std::io::Read for Text<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let available = std::io::BufRead::fill_buf(self)?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        std::io::BufRead::consume(self, n);
        Ok(n)
    }
}

impl<R: std::io::Read> std::io::BufRead for Text<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.out_at == self.out_end {
            if self.failed.is_some() {
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "the text could not be decoded"));
            }
            self.refill()?;
        }
        Ok(&self.out[self.out_at..self.out_end])
    }

    fn consume(&mut self, amount: usize) {
        let end = (self.out_at + amount).min(self.out_end);
        self.lines += self.out[self.out_at..end].iter().filter(|b| **b == b'\n').count();
        self.out_at = end;
    }
}

/// Encodes written text; see [`Encoding::Windows1251`] for unmappable characters.
pub(crate) fn encode(text: String, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Utf8 => text.into_bytes(),
        Encoding::Windows1251 => encoding_rs::WINDOWS_1251.encode(&text).0.into_owned(),
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

    /// The whole text, read through [`Text`] a few bytes at a time, so
    /// that characters cut between reads are decoded too.
    fn decode(bytes: &[u8]) -> Result<String, Error> {
        struct Trickle<'a>(&'a [u8]);
        impl std::io::Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(3);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut text = Text::new(Trickle(bytes))?;
        let mut out = String::new();
        match std::io::Read::read_to_string(&mut text, &mut out) {
            Ok(_) => Ok(out),
            Err(_) => Err(text.failure()),
        }
    }

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

    #[test]
    fn a_character_cut_at_the_very_end_ends_the_text_there() {
        let bytes = "<a>ёж".as_bytes();
        assert_eq!(decode(&bytes[..bytes.len() - 1]).unwrap(), "<a>ё");
        assert!(matches!(decode("<a>ё\u{FF}".as_bytes()), Ok(t) if t == "<a>ё\u{FF}"));
    }
}

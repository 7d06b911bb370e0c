//! A pull cursor over quick-xml events that hands out elements by local
//! name, so readers ignore namespaces and prefixes, and that turns every
//! parser complaint into an [`Error`] carrying a line number. It reads
//! through [`Text`], a piece at a time: memory does not grow with the
//! document.

use std::io::Read;

use quick_xml::errors::SyntaxError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use rust_decimal::Decimal;

use crate::decode::Text;
use crate::names;
use crate::value::parse_decimal;
use crate::Error;

/// An opened element. Every element a cursor returns must be consumed by
/// [`Cursor::text`], [`Cursor::skip`] or by reading children until
/// [`Cursor::next_child`] returns `None`.
pub(crate) struct Element {
    /// Local name, without a namespace prefix.
    pub(crate) name: String,
    attributes: Vec<(String, String)>,
    /// `<a/>`: there is nothing inside to read.
    empty: bool,
    /// The line its start tag ends on.
    line: usize,
}

impl Element {
    /// A trimmed, non-empty attribute value by local name.
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }
}

/// Real documents nest a dozen levels; the readers recurse per level
/// (group trees), so a hostile document must not nest without bound.
const MAX_DEPTH: usize = 200;

/// What the cursor makes of one parser event.
enum Ev {
    Start(Element),
    Empty(Element),
    End,
    /// Text or CDATA, unescaped; `None` when only whitespace.
    Text(Option<String>),
    Eof,
    Other,
}

pub(crate) struct Cursor<R: Read> {
    reader: Reader<Text<R>>,
    buf: Vec<u8>,
    /// Local names of the open elements, innermost last.
    open: Vec<String>,
}

impl<R: Read> Cursor<R> {
    pub(crate) fn new(text: Text<R>) -> Self {
        Cursor { reader: Reader::from_reader(text), buf: Vec::new(), open: Vec::new() }
    }

    /// How many bytes of the document have been read.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.reader.get_ref().bytes_read()
    }

    /// The document element.
    pub(crate) fn root(&mut self) -> Result<Element, Error> {
        loop {
            match self.event()? {
                Ev::Start(e) | Ev::Empty(e) => return Ok(e),
                Ev::Eof => return Err(self.truncated()),
                _ => {}
            }
        }
    }

    /// The next child of `parent`, or `None` once `parent` is closed.
    pub(crate) fn next_child(&mut self, parent: &Element) -> Result<Option<Element>, Error> {
        self.advance(parent, None)
    }

    /// Like [`Cursor::next_child`], appending the text met on the way to
    /// `text`, for elements that mix text and children.
    pub(crate) fn next_child_with_text(
        &mut self,
        parent: &Element,
        text: &mut String,
    ) -> Result<Option<Element>, Error> {
        self.advance(parent, Some(text))
    }

    fn advance(&mut self, parent: &Element, mut text: Option<&mut String>) -> Result<Option<Element>, Error> {
        if parent.empty {
            return Ok(None);
        }
        loop {
            match self.event()? {
                Ev::Start(e) | Ev::Empty(e) => return Ok(Some(e)),
                Ev::End => return Ok(None),
                Ev::Text(Some(t)) => {
                    if let Some(text) = text.as_deref_mut() {
                        text.push_str(t.trim());
                    }
                }
                Ev::Eof => return Err(self.truncated()),
                Ev::Text(None) | Ev::Other => {}
            }
        }
    }

    /// The element's own text, trimmed; nested elements are skipped.
    pub(crate) fn text(&mut self, element: &Element) -> Result<String, Error> {
        let mut out = String::new();
        if element.empty {
            return Ok(out);
        }
        let mut depth = 0usize;
        loop {
            match self.event()? {
                Ev::Text(Some(t)) if depth == 0 => {
                    if out.is_empty() {
                        out = t;
                    } else {
                        out.push_str(&t);
                    }
                }
                Ev::Start(_) => depth += 1,
                Ev::End => {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                }
                Ev::Eof => return Err(self.truncated()),
                _ => {}
            }
        }
        let trimmed = out.trim();
        if trimmed.len() != out.len() {
            out = trimmed.to_owned();
        }
        Ok(out)
    }

    /// The element's text, `None` when empty.
    pub(crate) fn opt_text(&mut self, element: &Element) -> Result<Option<String>, Error> {
        Ok(Some(self.text(element)?).filter(|t| !t.is_empty()))
    }

    /// The element's text as a decimal, `None` when empty.
    pub(crate) fn decimal(&mut self, element: &Element) -> Result<Option<Decimal>, Error> {
        let text = self.text(element)?;
        self.parse_decimal(element, &element.name, &text)
    }

    /// A decimal held by `element` (in its text or in one of its
    /// attributes, named by `what`), `None` when empty.
    pub(crate) fn parse_decimal(&self, element: &Element, what: &str, text: &str) -> Result<Option<Decimal>, Error> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        parse_decimal(text).map(Some).ok_or_else(|| Error::BadDecimal {
            element: what.to_owned(),
            value: text.to_owned(),
            line: element.line,
        })
    }

    /// Skips the element and everything inside it.
    pub(crate) fn skip(&mut self, element: &Element) -> Result<(), Error> {
        if element.empty {
            return Ok(());
        }
        let mut depth = 0usize;
        loop {
            match self.event()? {
                Ev::Start(_) => depth += 1,
                Ev::End => {
                    if depth == 0 {
                        return Ok(());
                    }
                    depth -= 1;
                }
                Ev::Eof => return Err(self.truncated()),
                _ => {}
            }
        }
    }

    /// The next parser event, made owned so the buffer can be reused; the
    /// stack of open elements follows starts and ends.
    fn event(&mut self) -> Result<Ev, Error> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let event = match self.reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => self.opened(&e, false).map(Ev::Start),
            Ok(Event::Empty(e)) => self.opened(&e, true).map(Ev::Empty),
            Ok(Event::End(_)) => {
                self.open.pop();
                Ok(Ev::End)
            }
            Ok(Event::Text(t)) => {
                if t.iter().all(u8::is_ascii_whitespace) {
                    Ok(Ev::Text(None))
                } else {
                    t.unescape().map(|t| Ev::Text(Some(t.into_owned()))).map_err(|e| self.xml_error(e))
                }
            }
            Ok(Event::CData(t)) => Ok(Ev::Text(Some(String::from_utf8_lossy(&t).into_owned()))),
            Ok(Event::Eof) => Ok(Ev::Eof),
            Ok(_) => Ok(Ev::Other),
            // Decoding stopped: the reason was kept by the text reader.
            Err(quick_xml::Error::Io(_)) => Err(self.reader.get_mut().failure()),
            // The parser ran out of input inside markup: the file was cut.
            Err(quick_xml::Error::Syntax(
                SyntaxError::UnclosedTag
                | SyntaxError::UnclosedComment
                | SyntaxError::UnclosedCData
                | SyntaxError::UnclosedDoctype
                | SyntaxError::UnclosedPIOrXmlDecl,
            )) => Err(self.truncated()),
            Err(e) => Err(self.xml_error(e)),
        };
        self.buf = buf;
        event
    }

    fn opened(&mut self, e: &BytesStart<'_>, empty: bool) -> Result<Element, Error> {
        let line = self.line();
        let name = local_name(e.local_name().as_ref());
        let mut attributes = Vec::new();
        for attribute in e.attributes() {
            let attribute = attribute.map_err(|e| self.xml_error(e.into()))?;
            let value = attribute.unescape_value().map_err(|e| self.xml_error(e))?;
            attributes.push((local_name(attribute.key.local_name().as_ref()), value.into_owned()));
        }
        if !empty {
            if self.open.len() >= MAX_DEPTH {
                return Err(Error::Xml { line, message: format!("elements nested deeper than {MAX_DEPTH} levels") });
            }
            self.open.push(name.clone());
        }
        Ok(Element { name, attributes, empty, line })
    }

    fn truncated(&self) -> Error {
        Error::Truncated {
            element: self.open.last().cloned().unwrap_or_else(|| names::ROOT.to_owned()),
            line: self.line(),
        }
    }

    fn xml_error(&self, error: quick_xml::Error) -> Error {
        Error::Xml { line: self.line(), message: error.to_string() }
    }

    /// The line the parser has reached.
    fn line(&self) -> usize {
        1 + self.reader.get_ref().lines()
    }
}

fn local_name(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

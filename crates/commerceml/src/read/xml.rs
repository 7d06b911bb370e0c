//! A pull cursor over quick-xml events that hands out elements by local
//! name, so readers ignore namespaces and prefixes, and that turns every
//! parser complaint into an [`Error`] carrying a line number.

use quick_xml::errors::SyntaxError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use rust_decimal::Decimal;

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
    position: u64,
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

pub(crate) struct Cursor<'a> {
    reader: Reader<&'a [u8]>,
    text: &'a str,
    /// Local names of the open elements, innermost last.
    open: Vec<String>,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        Cursor { reader: Reader::from_str(text), text, open: Vec::new() }
    }

    /// The document element.
    pub(crate) fn root(&mut self) -> Result<Element, Error> {
        loop {
            match self.event()? {
                Event::Start(e) => return self.opened(&e, false),
                Event::Empty(e) => return self.opened(&e, true),
                Event::Eof => return Err(self.truncated()),
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
                Event::Start(e) => return self.opened(&e, false).map(Some),
                Event::Empty(e) => return self.opened(&e, true).map(Some),
                Event::End(_) => {
                    self.open.pop();
                    return Ok(None);
                }
                Event::Text(t) => {
                    if let Some(text) = text.as_deref_mut() {
                        text.push_str(t.unescape().map_err(|e| self.xml_error(e))?.trim());
                    }
                }
                Event::CData(t) => {
                    if let Some(text) = text.as_deref_mut() {
                        text.push_str(String::from_utf8_lossy(&t).trim());
                    }
                }
                Event::Eof => return Err(self.truncated()),
                _ => {}
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
                Event::Text(t) if depth == 0 => {
                    out.push_str(&t.unescape().map_err(|e| self.xml_error(e))?);
                }
                Event::CData(t) if depth == 0 => out.push_str(&String::from_utf8_lossy(&t)),
                Event::Start(e) => {
                    self.open.push(local_name(e.local_name().as_ref()));
                    depth += 1;
                }
                Event::End(_) => {
                    self.open.pop();
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                }
                Event::Eof => return Err(self.truncated()),
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
            line: self.line_at(element.position),
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
                Event::Start(e) => {
                    self.open.push(local_name(e.local_name().as_ref()));
                    depth += 1;
                }
                Event::End(_) => {
                    self.open.pop();
                    if depth == 0 {
                        return Ok(());
                    }
                    depth -= 1;
                }
                Event::Eof => return Err(self.truncated()),
                _ => {}
            }
        }
    }

    fn event(&mut self) -> Result<Event<'a>, Error> {
        match self.reader.read_event() {
            Ok(event) => Ok(event),
            // The parser ran out of input inside markup: the file was cut.
            Err(quick_xml::Error::Syntax(
                SyntaxError::UnclosedTag
                | SyntaxError::UnclosedComment
                | SyntaxError::UnclosedCData
                | SyntaxError::UnclosedDoctype
                | SyntaxError::UnclosedPIOrXmlDecl,
            )) => Err(self.truncated()),
            Err(e) => Err(self.xml_error(e)),
        }
    }

    fn opened(&mut self, e: &BytesStart<'_>, empty: bool) -> Result<Element, Error> {
        let position = self.reader.buffer_position();
        let name = local_name(e.local_name().as_ref());
        let mut attributes = Vec::new();
        for attribute in e.attributes() {
            let attribute = attribute.map_err(|e| self.xml_error(e.into()))?;
            let value = attribute.unescape_value().map_err(|e| self.xml_error(e))?;
            attributes.push((local_name(attribute.key.local_name().as_ref()), value.into_owned()));
        }
        if !empty {
            if self.open.len() >= MAX_DEPTH {
                return Err(Error::Xml {
                    line: self.line_at(position),
                    message: format!("elements nested deeper than {MAX_DEPTH} levels"),
                });
            }
            self.open.push(name.clone());
        }
        Ok(Element { name, attributes, empty, position })
    }

    fn truncated(&self) -> Error {
        Error::Truncated {
            element: self.open.last().cloned().unwrap_or_else(|| names::ROOT.to_owned()),
            line: self.line_at(self.text.len() as u64),
        }
    }

    fn xml_error(&self, error: quick_xml::Error) -> Error {
        Error::Xml { line: self.line_at(self.reader.buffer_position()), message: error.to_string() }
    }

    fn line_at(&self, position: u64) -> usize {
        let end = usize::try_from(position).unwrap_or(usize::MAX).min(self.text.len());
        1 + self.text.as_bytes()[..end].iter().filter(|b| **b == b'\n').count()
    }
}

fn local_name(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

//! Why a document could not be read.

/// A CommerceML document could not be read. Every variant names the
/// problem so that an exchange log (and the 1C operator reading it) can
/// tell what to fix; line numbers count from 1 in the decoded text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The bytes do not start like XML at all (an archive, an HTML page…).
    #[error("not an XML document: it starts with {start}")]
    NotXml {
        /// The first bytes, for the log.
        start: String,
    },
    /// The XML declaration names an encoding this crate cannot decode.
    #[error("unsupported encoding {label:?} in the XML declaration")]
    UnsupportedEncoding {
        /// The declared label.
        label: String,
    },
    /// The bytes are not valid in the encoding the document declares.
    #[error("the document is not valid {encoding} text (bad bytes near byte {offset})")]
    BadText {
        /// The encoding the document uses.
        encoding: &'static str,
        /// Where the first bad byte is, when known.
        offset: usize,
    },
    /// The document could not be read from where it is kept.
    #[error("the document could not be read: {message}")]
    Read {
        /// What the reader said.
        message: String,
    },
    /// The text is not well-formed XML.
    #[error("malformed XML at line {line}: {message}")]
    Xml {
        /// Where the parser stopped.
        line: usize,
        /// What the parser found wrong.
        message: String,
    },
    /// The document ends while an element is still open: usually an
    /// upload cut short.
    #[error("the document ends at line {line} inside <{element}>: truncated?")]
    Truncated {
        /// The innermost element left open.
        element: String,
        /// The last line of the document.
        line: usize,
    },
    /// Well-formed XML whose root is not `КоммерческаяИнформация`.
    #[error("not a CommerceML document: the root element is <{root}>, expected <КоммерческаяИнформация>")]
    NotCommerceMl {
        /// The root element's local name.
        root: String,
    },
    /// A number (price, quantity, amount…) that is not a decimal.
    #[error("bad decimal {value:?} in <{element}> at line {line}")]
    BadDecimal {
        /// The element (or attribute) that holds it.
        element: String,
        /// The text as sent.
        value: String,
        /// Where it is.
        line: usize,
    },
}

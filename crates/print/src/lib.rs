//! Printable quotes, sales orders and invoices.
//!
//! An administrator-editable template (stored by the engine) is rendered over
//! a JSON context and typeset into an A4 PDF with embedded, subsetted DejaVu
//! Sans fonts, so Cyrillic prints and the text can be copied out of the file.
//!
//! ```no_run
//! let template = relata_print::default_template("invoice", 1049).unwrap();
//! let context = serde_json::to_value(relata_print::PrintContext::sample(1049, "invoice")).unwrap();
//! relata_print::check_template(template)?;
//! let pdf: Vec<u8> = relata_print::render_pdf(template, &context)?;
//! # Ok::<(), relata_print::PrintError>(())
//! ```
//!
//! - [`render_pdf`] renders a template to PDF bytes.
//! - [`check_template`] checks a template when it is saved: syntax, unknown
//!   filters and tests anywhere in it, and a trial render over sample data
//!   in both languages and over an empty context.
//! - [`render_markup`] renders only the text stage, for previews and for
//!   finding a markup error.
//! - [`default_template`] gives the built-in templates.
//! - [`PrintContext`] spells out the context as types; any JSON of that
//!   shape works, and every part of it may be missing.
//! - [`format`](mod@format) has the language-aware formatting behind the filters.
//!
//! Nothing here panics on template text or context data: every problem is
//! a [`PrintError`].
//!
//! The rest of this page is the administrator's guide, also in
//! `TEMPLATES.md`.
//!
#![doc = include_str!("../TEMPLATES.md")]

mod context;
mod defaults;
mod fonts;
pub mod format;
mod layout;
mod markup;
mod pdf;
mod template;
mod words;

pub use context::{Bank, Currency, Customer, DocumentInfo, Line, PrintContext, Seller, Totals};
pub use defaults::default_template;

/// Why a template could not be checked or printed. Line numbers are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrintError {
    /// The template is not valid Jinja.
    #[error("template syntax error on line {line}: {message}")]
    Syntax { line: usize, message: String },
    /// The template uses a filter that does not exist.
    #[error("unknown filter `{name}` on line {line} of the template")]
    UnknownFilter { name: String, line: usize },
    /// The template uses a test (`is …`) that does not exist.
    #[error("unknown test `{name}` on line {line} of the template")]
    UnknownTest { name: String, line: usize },
    /// The template calls a function that does not exist.
    #[error("unknown function `{name}` on line {line} of the template")]
    UnknownFunction { name: String, line: usize },
    /// The template failed while rendering, e.g. a filter got a bad argument.
    #[error("template error on line {line}: {message}")]
    Render { line: usize, message: String },
    /// The rendered text is not valid layout markup. `line` and `text` refer
    /// to the rendered markup, which [`render_markup`] shows.
    #[error("markup error on line {line} of the rendered template (`{text}`): {message}")]
    Markup { line: usize, text: String, message: String },
    /// The template produces more than a document can hold.
    #[error("the document is too large: {0}")]
    TooLarge(String),
    /// Writing the PDF failed.
    #[error("could not write the PDF: {0}")]
    Pdf(String),
}

/// Renders a template over a context to layout markup, the stage before
/// typesetting.
pub fn render_markup(template: &str, context: &serde_json::Value) -> Result<String, PrintError> {
    let env = template::environment();
    template::render(&env, template, &template::to_value(context))
}

fn language_of(context: &serde_json::Value) -> format::Lang {
    let value = context.get("language").map(template::to_value).unwrap_or_default();
    template::lang_from_value(&value)
}

fn typeset(template: &str, context: &serde_json::Value) -> Result<(markup::Document, Vec<layout::Page>), PrintError> {
    let fonts = fonts::fonts().ok_or_else(|| PrintError::Pdf("the embedded fonts could not be read".to_owned()))?;
    let markup = render_markup(template, context)?;
    let doc = markup::parse(&markup)?;
    let pages = layout::layout(&doc, fonts, language_of(context))?;
    Ok((doc, pages))
}

/// The plain text of the first top-level heading (`#`), else of the first
/// heading of any level, for the PDF's title.
fn title_of(doc: &markup::Document) -> Option<String> {
    fn find(blocks: &[markup::Block], level: Option<u8>) -> Option<&markup::Inline> {
        blocks.iter().find_map(|block| match block {
            markup::Block::Heading { level: l, text, .. } if level.is_none_or(|want| want == *l) => Some(text),
            markup::Block::Columns { columns, .. } => columns.iter().find_map(|c| find(c, level)),
            _ => None,
        })
    }
    let text = find(&doc.body, Some(1)).or_else(|| find(&doc.body, None))?;
    let title: String = text
        .iter()
        .map(|piece| match piece {
            markup::Piece::Text { text, .. } => text.as_str(),
            markup::Piece::Break => " ",
        })
        .collect();
    Some(title.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Renders a template over a context into a PDF document.
///
/// `context` is normally a [`PrintContext`] serialized to JSON; anything
/// missing from it prints as empty.
/// The kind of an image file, by its signature: `png` or `jpeg`.
pub fn image_kind(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if data.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("jpeg")
    } else {
        None
    }
}

/// A PNG or JPEG decoded for the PDF; `None` for anything else.
pub(crate) fn decode_image(data: &std::sync::Arc<Vec<u8>>) -> Option<krilla::image::Image> {
    let bytes: krilla::Data = data.clone().into();
    match image_kind(data)? {
        "png" => krilla::image::Image::from_png(bytes, true).ok(),
        _ => krilla::image::Image::from_jpeg(bytes, true).ok(),
    }
}

/// An image's size in pixels, if it can be read.
pub fn image_size(data: &[u8]) -> Option<(u32, u32)> {
    decode_image(&std::sync::Arc::new(data.to_vec())).map(|i| i.size())
}

pub fn render_pdf(template: &str, context: &serde_json::Value) -> Result<Vec<u8>, PrintError> {
    let (doc, pages) = typeset(template, context)?;
    let fonts = fonts::fonts().ok_or_else(|| PrintError::Pdf("the embedded fonts could not be read".to_owned()))?;
    pdf::write(&pages, fonts, title_of(&doc), language_of(context).tag())
}

/// Checks a template an administrator is saving.
///
/// Reports syntax errors, filters and tests that do not exist (anywhere in
/// the template, not only in the branches sample data reaches), and errors
/// from trial renders over sample invoices in English and Russian and over
/// an empty context, including markup errors.
pub fn check_template(template: &str) -> Result<(), PrintError> {
    let env = template::environment();
    env.template_from_str(template).map_err(|e| template::error(&e))?;
    for (kind, name, line) in template::used_names(template) {
        if !template::known(&env, kind, &name) {
            return Err(match kind {
                template::NameKind::Filter => PrintError::UnknownFilter { name, line },
                template::NameKind::Test => PrintError::UnknownTest { name, line },
            });
        }
    }
    let samples = [
        serde_json::to_value(PrintContext::sample(1033, "invoice")).unwrap_or_default(),
        serde_json::to_value(PrintContext::sample(1049, "invoice")).unwrap_or_default(),
        serde_json::Value::Object(serde_json::Map::new()),
    ];
    for context in &samples {
        typeset(template, context)?;
    }
    Ok(())
}

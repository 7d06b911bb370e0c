//! The layout markup a rendered template produces: a small, line-based,
//! Markdown-like language. See `TEMPLATES.md` for the administrator's view;
//! this module turns the text into [`Document`] blocks for the typesetter.

use crate::PrintError;

/// Horizontal alignment of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Align {
    #[default]
    Left,
    Center,
    Right,
}

/// What `::: small`, `::: right`, `::: center` and `::: left` set for the
/// blocks inside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Style {
    pub align: Align,
    pub small: bool,
}

/// A piece of inline text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Text {
        text: String,
        bold: bool,
    },
    /// A forced line break (`<br>` or a line ending in `\`).
    Break,
}

pub(crate) type Inline = Vec<Piece>;

/// How a table is ruled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum TableKind {
    /// Every cell boxed, as on Russian forms.
    Grid,
    /// A shaded header and thin lines between rows.
    #[default]
    Lines,
    /// No lines at all, for laying things out side by side.
    Plain,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Column {
    pub align: Align,
    /// Percent of the table's width; `None` shares what is left.
    pub width: Option<f32>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table {
    pub kind: TableKind,
    pub small: bool,
    pub columns: Vec<Column>,
    pub header: Option<Vec<Inline>>,
    pub rows: Vec<Vec<Inline>>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TotalsRow {
    Row(Inline, Inline),
    Rule { thick: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    Heading {
        level: u8,
        text: Inline,
        style: Style,
    },
    Paragraph {
        text: Inline,
        style: Style,
    },
    Rule {
        thick: bool,
    },
    /// Vertical space in points.
    Space(f32),
    PageBreak,
    Table(Table),
    Fields {
        rows: Vec<(Inline, Inline)>,
        style: Style,
    },
    Totals {
        rows: Vec<TotalsRow>,
        style: Style,
    },
    /// A PNG or JPEG image, `height` points tall (a logo).
    Image {
        data: std::sync::Arc<Vec<u8>>,
        height: f32,
    },
    /// Side-by-side columns; widths are percentages that add up to 100.
    Columns {
        widths: Vec<f32>,
        columns: Vec<Vec<Block>>,
    },
}

/// The page number line at the foot of every page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum PageNumbers {
    /// «Page 1 of 3» or «Стр. 1 из 3», by the document's language.
    #[default]
    Auto,
    Off,
    /// A custom text with `{page}` and `{pages}`.
    Format(String),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Document {
    pub body: Vec<Block>,
    pub footer: Vec<Block>,
    pub page_numbers: PageNumbers,
}

/// Deeper nesting than this is certainly a mistake, and bounding it keeps
/// the typesetter's recursion shallow.
const MAX_DEPTH: usize = 12;

fn markup_error(line: usize, text: &str, message: impl Into<String>) -> PrintError {
    let mut snippet: String = text.trim().chars().take(60).collect();
    if text.trim().chars().count() > 60 {
        snippet.push('…');
    }
    PrintError::Markup { line, text: snippet, message: message.into() }
}

/// Characters a backslash makes literal.
fn is_escapable(c: char) -> bool {
    c.is_ascii_punctuation()
}

/// Parses inline text: `**bold**`, `<br>`, backslash escapes. `bold` makes
/// the whole text bold (table headers).
pub(crate) fn parse_inline(source: &str, bold: bool) -> Inline {
    enum Tok {
        Char(char),
        Star2,
        Break,
    }
    let mut toks = Vec::new();
    let chars: Vec<char> = source.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() && is_escapable(chars[i + 1]) {
            toks.push(Tok::Char(chars[i + 1]));
            i += 2;
        } else if c == '*' && chars.get(i + 1) == Some(&'*') {
            toks.push(Tok::Star2);
            i += 2;
        } else if c == '<' {
            if let Some(len) = br_tag_len(&chars[i..]) {
                toks.push(Tok::Break);
                i += len;
            } else {
                toks.push(Tok::Char(c));
                i += 1;
            }
        } else {
            let c = if c.is_control() { ' ' } else { c };
            toks.push(Tok::Char(c));
            i += 1;
        }
    }
    // An unpaired `**` (the last one, when their count is odd) is printed as
    // it is, as Markdown does.
    let stars = toks.iter().filter(|t| matches!(t, Tok::Star2)).count();
    let literal_star = if stars % 2 == 1 { toks.iter().rposition(|t| matches!(t, Tok::Star2)) } else { None };
    let mut out: Inline = Vec::new();
    let mut on = false;
    let push = |out: &mut Inline, c: char, b: bool| {
        if let Some(Piece::Text { text, bold }) = out.last_mut() {
            if *bold == b {
                text.push(c);
                return;
            }
        }
        out.push(Piece::Text { text: c.to_string(), bold: b });
    };
    for (idx, tok) in toks.iter().enumerate() {
        match tok {
            Tok::Char(c) => push(&mut out, *c, bold || on),
            Tok::Break => out.push(Piece::Break),
            Tok::Star2 => {
                if literal_star == Some(idx) {
                    push(&mut out, '*', bold || on);
                    push(&mut out, '*', bold || on);
                } else {
                    on = !on;
                }
            }
        }
    }
    out
}

/// Length in chars of a `<br>`, `<br/>` or `<br />` tag at the start of `s`.
fn br_tag_len(s: &[char]) -> Option<usize> {
    let lower: String = s.iter().take(6).collect::<String>().to_ascii_lowercase();
    ["<br>", "<br/>", "<br />"].iter().find(|tag| lower.starts_with(*tag)).map(|tag| tag.chars().count())
}

/// Whether inline text has anything visible.
pub(crate) fn inline_is_empty(inline: &Inline) -> bool {
    inline.iter().all(|p| match p {
        Piece::Text { text, .. } => text.trim().is_empty(),
        Piece::Break => true,
    })
}

/// Splits at unescaped occurrences of `sep`, keeping escapes in the parts.
fn split_unescaped(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&s[start..]);
    parts
}

/// Splits a `label | value` or `label: value` line.
fn split_pair(s: &str) -> (&str, &str) {
    let parts = split_unescaped(s, '|');
    if parts.len() > 1 {
        let label = parts[0];
        let value = &s[label.len() + 1..];
        return (label.trim(), value.trim());
    }
    // `label: value`: the first unescaped colon followed by a space or the end.
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ':' {
            let rest = &s[i + 1..];
            if rest.is_empty() || rest.starts_with(char::is_whitespace) {
                return (s[..=i].trim(), rest.trim());
            }
        }
    }
    (s.trim(), "")
}

fn table_cells(line: &str) -> Vec<&str> {
    let body = line.strip_prefix('|').unwrap_or(line);
    let mut cells = split_unescaped(body, '|');
    // A closing pipe leaves an empty last part.
    if cells.len() > 1 && cells.last().is_some_and(|c| c.trim().is_empty()) {
        cells.pop();
    }
    cells.into_iter().map(str::trim).collect()
}

/// Reads an alignment-row cell such as `:---`, `---:`, `:-:` or `---: 15`.
fn column_spec(cell: &str) -> Option<Result<Column, String>> {
    let s = cell.trim();
    let (left, s) = match s.strip_prefix(':') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let dashes = s.len() - s.trim_start_matches('-').len();
    if dashes == 0 {
        return None;
    }
    let s = &s[dashes..];
    let (right, s) = match s.strip_prefix(':') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let s = s.trim();
    let width = if s.is_empty() {
        None
    } else {
        let num = s.strip_suffix('%').unwrap_or(s).trim();
        if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return None;
        }
        match num.parse::<f32>() {
            Ok(w) if w > 0.0 && w <= 100.0 => Some(w),
            _ => return Some(Err(format!("column width `{s}` must be a percentage between 1 and 100"))),
        }
    };
    let align = match (left, right) {
        (true, true) => Align::Center,
        (false, true) => Align::Right,
        _ => Align::Left,
    };
    Some(Ok(Column { align, width }))
}

fn is_rule(t: &str) -> Option<bool> {
    if t.len() >= 3 && t.chars().all(|c| c == '-') {
        Some(false)
    } else if t.len() >= 3 && t.chars().all(|c| c == '=') {
        Some(true)
    } else {
        None
    }
}

#[derive(Default)]
struct TableSettings {
    kind: TableKind,
    small: bool,
}

enum ContainerKind {
    Style,
    Columns { widths: Vec<f32>, done: Vec<Vec<Block>> },
    Fields(Vec<(Inline, Inline)>),
    Totals(Vec<TotalsRow>),
    Footer,
}

struct Container {
    kind: ContainerKind,
    style: Style,
    blocks: Vec<Block>,
    line: usize,
    text: String,
}

struct Parser {
    doc: Document,
    stack: Vec<Container>,
    paragraph: Vec<String>,
    table: Vec<(usize, String)>,
    table_settings: TableSettings,
}

impl Parser {
    fn style(&self) -> Style {
        self.stack.last().map(|c| c.style).unwrap_or_default()
    }

    fn push_block(&mut self, block: Block) {
        match self.stack.last_mut() {
            Some(c) => c.blocks.push(block),
            None => self.doc.body.push(block),
        }
    }

    fn flush_paragraph(&mut self) {
        if self.paragraph.is_empty() {
            return;
        }
        let source = std::mem::take(&mut self.paragraph).join(" ");
        let text = parse_inline(&source, false);
        if !inline_is_empty(&text) {
            let style = self.style();
            self.push_block(Block::Paragraph { text, style });
        }
    }

    fn flush_table(&mut self) -> Result<(), PrintError> {
        if self.table.is_empty() {
            return Ok(());
        }
        let lines = std::mem::take(&mut self.table);
        let settings = std::mem::take(&mut self.table_settings);
        let rows: Vec<(usize, &str, Vec<&str>)> =
            lines.iter().map(|(n, t)| (*n, t.as_str(), table_cells(t.trim_start()))).collect();
        let spec_of = |cells: &[&str]| -> Option<Result<Vec<Column>, String>> {
            let specs: Vec<_> = cells.iter().map(|c| column_spec(c)).collect();
            if specs.iter().all(Option::is_some) {
                Some(specs.into_iter().flatten().collect())
            } else {
                None
            }
        };
        let mut spec_at = None;
        for (idx, (line, text, cells)) in rows.iter().enumerate().take(2) {
            if let Some(spec) = spec_of(cells) {
                let columns = spec.map_err(|m| markup_error(*line, text, m))?;
                spec_at = Some((idx, columns));
                break;
            }
        }
        let (header_rows, columns, body_from) = match spec_at {
            Some((0, columns)) => (0, columns, 1),
            Some((_, columns)) => (1, columns, 2),
            None => {
                let n = rows.iter().map(|r| r.2.len()).max().unwrap_or(0);
                (0, vec![Column { align: Align::Left, width: None }; n], 0)
            }
        };
        let ncols = columns.len();
        let cells_of = |(line, text, cells): &(usize, &str, Vec<&str>), bold: bool| {
            if cells.len() > ncols {
                return Err(markup_error(
                    *line,
                    text,
                    format!("table row has {} cells but the table has {} columns", cells.len(), ncols),
                ));
            }
            let mut out: Vec<Inline> = cells.iter().map(|c| parse_inline(c, bold)).collect();
            out.resize(ncols, Vec::new());
            Ok(out)
        };
        let header = if header_rows == 1 { Some(cells_of(&rows[0], true)?) } else { None };
        let mut body = Vec::new();
        for row in rows.iter().skip(body_from) {
            body.push(cells_of(row, false)?);
        }
        let small = settings.small || self.style().small;
        self.push_block(Block::Table(Table { kind: settings.kind, small, columns, header, rows: body }));
        Ok(())
    }

    fn flush(&mut self) -> Result<(), PrintError> {
        self.flush_paragraph();
        self.flush_table()
    }

    fn directive(&mut self, line: usize, text: &str, t: &str) -> Result<(), PrintError> {
        let mut words = t[1..].split_whitespace();
        let name = words.next().unwrap_or("").to_ascii_lowercase();
        let args: Vec<&str> = words.collect();
        match name.as_str() {
            "space" => {
                let points = match args.first() {
                    None => 8.0,
                    Some(a) => match a.trim_end_matches("pt").parse::<f32>() {
                        Ok(p) if (0.0..=500.0).contains(&p) => p,
                        _ => return Err(markup_error(line, text, "`@space` takes a number of points from 0 to 500")),
                    },
                };
                self.push_block(Block::Space(points));
            }
            "pagebreak" => self.push_block(Block::PageBreak),
            // `@image <height in points> <base64 PNG or JPEG>`; no data, no image.
            "image" => {
                let height = match args.first().map(|a| a.trim_end_matches("pt").parse::<f32>()) {
                    Some(Ok(h)) if (4.0..=300.0).contains(&h) => h,
                    _ => return Err(markup_error(line, text, "`@image` takes a height in points from 4 to 300, then the image")),
                };
                let encoded: String = args.iter().skip(1).copied().collect();
                if !encoded.is_empty() {
                    use base64::Engine as _;
                    let data = base64::engine::general_purpose::STANDARD
                        .decode(encoded.as_bytes())
                        .map_err(|_| markup_error(line, text, "`@image` data is not base64"))?;
                    if crate::image_kind(&data).is_none() {
                        return Err(markup_error(line, text, "`@image` takes a PNG or JPEG image"));
                    }
                    self.push_block(Block::Image { data: std::sync::Arc::new(data), height });
                }
            }
            "table" => {
                let mut settings = TableSettings::default();
                for a in &args {
                    match a.to_ascii_lowercase().as_str() {
                        "grid" => settings.kind = TableKind::Grid,
                        "lines" => settings.kind = TableKind::Lines,
                        "plain" => settings.kind = TableKind::Plain,
                        "small" => settings.small = true,
                        other => {
                            return Err(markup_error(
                                line,
                                text,
                                format!("unknown table option `{other}` (use grid, lines, plain, small)"),
                            ))
                        }
                    }
                }
                self.table_settings = settings;
            }
            "pagenumbers" => {
                let rest = t[1..].trim_start()[name.len()..].trim();
                self.doc.page_numbers = match rest.to_ascii_lowercase().as_str() {
                    "off" | "none" => PageNumbers::Off,
                    "" | "on" | "auto" => PageNumbers::Auto,
                    _ => PageNumbers::Format(unescape(rest)),
                };
            }
            "" => return Err(markup_error(line, text, "a directive name must follow `@`")),
            other => {
                return Err(markup_error(
                    line,
                    text,
                    format!("unknown directive `@{other}` (use @space, @pagebreak, @table, @pagenumbers; write \\@ for a literal @)"),
                ))
            }
        }
        Ok(())
    }

    fn open(&mut self, line: usize, text: &str, words: &str) -> Result<(), PrintError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(markup_error(line, text, "blocks are nested too deeply"));
        }
        let mut style = self.style();
        let mut kind = ContainerKind::Style;
        let mut kind_named = false;
        let mut widths = Vec::new();
        for word in words.split_whitespace() {
            let lower = word.to_ascii_lowercase();
            match lower.as_str() {
                "small" => style.small = true,
                "right" => style.align = Align::Right,
                "center" | "centre" => style.align = Align::Center,
                "left" => style.align = Align::Left,
                "columns" | "fields" | "totals" | "footer" if !kind_named => {
                    kind_named = true;
                    kind = match lower.as_str() {
                        "columns" => ContainerKind::Columns { widths: Vec::new(), done: Vec::new() },
                        "fields" => ContainerKind::Fields(Vec::new()),
                        "totals" => ContainerKind::Totals(Vec::new()),
                        _ => {
                            if !self.stack.is_empty() {
                                return Err(markup_error(line, text, "`::: footer` must not be inside another block"));
                            }
                            ContainerKind::Footer
                        }
                    };
                }
                _ => {
                    let number = word.strip_suffix('%').unwrap_or(word).parse::<f32>().ok();
                    match (number, &kind) {
                        (Some(w), ContainerKind::Columns { .. }) if w > 0.0 && w <= 100.0 => widths.push(w),
                        (Some(_), ContainerKind::Columns { .. }) => {
                            return Err(markup_error(line, text, "column widths must be percentages between 1 and 100"))
                        }
                        _ => {
                            return Err(markup_error(
                                line,
                                text,
                                format!(
                                    "unknown block `{word}` (use columns, fields, totals, footer, small, left, right, center)"
                                ),
                            ))
                        }
                    }
                }
            }
        }
        if let ContainerKind::Columns { widths: w, .. } = &mut kind {
            *w = widths;
        }
        self.stack.push(Container { kind, style, blocks: Vec::new(), line, text: text.trim().to_owned() });
        Ok(())
    }

    fn close(&mut self, line: usize, text: &str) -> Result<(), PrintError> {
        let Some(container) = self.stack.pop() else {
            return Err(markup_error(line, text, "`:::` closes a block, but no block is open"));
        };
        match container.kind {
            ContainerKind::Style => {
                for b in container.blocks {
                    self.push_block(b);
                }
            }
            ContainerKind::Footer => self.doc.footer.extend(container.blocks),
            ContainerKind::Fields(rows) => self.push_block(Block::Fields { rows, style: container.style }),
            ContainerKind::Totals(rows) => self.push_block(Block::Totals { rows, style: container.style }),
            ContainerKind::Columns { widths, mut done } => {
                done.push(container.blocks);
                let widths = column_widths(&widths, done.len());
                self.push_block(Block::Columns { widths, columns: done });
            }
        }
        Ok(())
    }

    fn line(&mut self, lineno: usize, raw: &str) -> Result<(), PrintError> {
        let line = raw.trim_end();
        let t = line.trim_start();

        // Inside `fields` and `totals` every line is a row.
        if let Some(Container { kind: ContainerKind::Fields(_) | ContainerKind::Totals(_), .. }) = self.stack.last() {
            if t == ":::" {
                return self.close(lineno, line);
            }
            if t.is_empty() {
                return Ok(());
            }
            if t.starts_with(":::") {
                return Err(markup_error(lineno, line, "blocks cannot be opened inside `fields` or `totals`"));
            }
            let Some(container) = self.stack.last_mut() else { return Ok(()) };
            match &mut container.kind {
                ContainerKind::Totals(rows) => {
                    if let Some(thick) = is_rule(t) {
                        rows.push(TotalsRow::Rule { thick });
                        return Ok(());
                    }
                    let (label, value) = split_pair(t);
                    let value = parse_inline(value, false);
                    if !inline_is_empty(&value) {
                        rows.push(TotalsRow::Row(parse_inline(label, false), value));
                    }
                }
                ContainerKind::Fields(rows) => {
                    let (label, value) = split_pair(t);
                    let value = parse_inline(value, false);
                    if !inline_is_empty(&value) {
                        rows.push((parse_inline(label, false), value));
                    }
                }
                _ => {}
            }
            return Ok(());
        }

        if t.is_empty() {
            return self.flush();
        }
        if t.starts_with('|') {
            self.flush_paragraph();
            if t == "|||" {
                self.flush_table()?;
                return match self.stack.last_mut() {
                    Some(Container { kind: ContainerKind::Columns { done, .. }, blocks, .. }) => {
                        done.push(std::mem::take(blocks));
                        Ok(())
                    }
                    _ => Err(markup_error(
                        lineno,
                        line,
                        "`|||` separates columns and is only allowed inside `::: columns`",
                    )),
                };
            }
            self.table.push((lineno, t.to_owned()));
            return Ok(());
        }
        self.flush_table()?;

        if let Some(rest) = t.strip_prefix('#') {
            let extra = rest.len() - rest.trim_start_matches('#').len();
            let rest = &rest[extra..];
            if rest.is_empty() || rest.starts_with(char::is_whitespace) {
                self.flush_paragraph();
                let level = (extra + 1).min(3) as u8;
                let text = parse_inline(rest.trim(), true);
                let style = self.style();
                self.push_block(Block::Heading { level, text, style });
                return Ok(());
            }
        }
        if let Some(thick) = is_rule(t) {
            self.flush_paragraph();
            self.push_block(Block::Rule { thick });
            return Ok(());
        }
        if t.starts_with('@') {
            self.flush_paragraph();
            return self.directive(lineno, line, t);
        }
        if let Some(words) = t.strip_prefix(":::") {
            self.flush_paragraph();
            let words = words.trim();
            return if words.is_empty() { self.close(lineno, line) } else { self.open(lineno, line, words) };
        }

        // Paragraph text; a line ending in an unescaped backslash breaks the line.
        let trailing = t.len() - t.trim_end_matches('\\').len();
        if trailing % 2 == 1 {
            self.paragraph.push(format!("{}<br>", &t[..t.len() - 1]));
        } else {
            self.paragraph.push(t.to_owned());
        }
        Ok(())
    }
}

/// Column widths from the percentages given (possibly fewer than columns):
/// unnamed columns share what is left equally; the result adds up to 100.
fn column_widths(given: &[f32], count: usize) -> Vec<f32> {
    let count = count.max(1);
    let named: Vec<f32> = given.iter().copied().take(count).collect();
    let used: f32 = named.iter().sum();
    let rest = count - named.len();
    let share = if rest > 0 { ((100.0 - used) / rest as f32).max(5.0) } else { 0.0 };
    let mut widths = named;
    widths.resize(count, share);
    let total: f32 = widths.iter().sum();
    widths.iter().map(|w| w * 100.0 / total).collect()
}

/// Removes backslash escapes from plain text.
pub(crate) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&next) = chars.peek() {
                if is_escapable(next) {
                    out.push(next);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// Parses rendered markup into blocks.
pub(crate) fn parse(markup: &str) -> Result<Document, PrintError> {
    let mut p = Parser {
        doc: Document::default(),
        stack: Vec::new(),
        paragraph: Vec::new(),
        table: Vec::new(),
        table_settings: TableSettings::default(),
    };
    for (idx, raw) in markup.lines().enumerate() {
        p.line(idx + 1, raw)?;
    }
    p.flush()?;
    if let Some(open) = p.stack.last() {
        return Err(markup_error(open.line, &open.text, "this block is never closed with `:::`"));
    }
    Ok(p.doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str, bold: bool) -> Piece {
        Piece::Text { text: s.into(), bold }
    }

    #[test]
    fn inline_bold_escapes_and_breaks() {
        assert_eq!(parse_inline("a **b** c", false), vec![text("a ", false), text("b", true), text(" c", false)]);
        assert_eq!(parse_inline(r"\*\*x\*\* \| y", false), vec![text("**x** | y", false)]);
        assert_eq!(
            parse_inline("a<br>b<BR />c", false),
            vec![text("a", false), Piece::Break, text("b", false), Piece::Break, text("c", false)]
        );
        assert_eq!(parse_inline("2 ** 3", false), vec![text("2 ** 3", false)]);
        assert_eq!(parse_inline("**a** **b", false), vec![text("a", true), text(" **b", false)]);
    }

    #[test]
    fn pairs() {
        assert_eq!(split_pair("INN | 7701"), ("INN", "7701"));
        assert_eq!(split_pair("Итого: | 1 234,50"), ("Итого:", "1 234,50"));
        assert_eq!(split_pair("Phone: +1 555"), ("Phone:", "+1 555"));
        assert_eq!(split_pair(r"Time\: 10\:30: x"), (r"Time\: 10\:30:", "x"));
        assert_eq!(split_pair("a \\| b | c | d"), ("a \\| b", "c | d"));
    }

    #[test]
    fn tables() {
        let doc = parse("| # | Name | Sum |\n|:-: 5|---|---: 20%|\n| 1 | A \\| B | 10 |\n| 2 | C |\n").unwrap();
        let Block::Table(t) = &doc.body[0] else { panic!("not a table: {doc:?}") };
        assert_eq!(t.columns.len(), 3);
        assert_eq!(t.columns[0], Column { align: Align::Center, width: Some(5.0) });
        assert_eq!(t.columns[2], Column { align: Align::Right, width: Some(20.0) });
        assert!(t.header.is_some());
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0][1], vec![text("A | B", false)]);
        assert!(t.rows[1][2].is_empty());

        let err = parse("| a | b |\n|---|---|\n| 1 | 2 | 3 |").unwrap_err();
        assert!(matches!(err, PrintError::Markup { line: 3, .. }), "{err}");
    }

    #[test]
    fn containers_and_errors() {
        let doc = parse("::: columns 60\nLeft\n|||\nRight\n:::\n::: fields\nA: 1\nB:\n:::\n").unwrap();
        assert_eq!(doc.body.len(), 2);
        let Block::Columns { widths, columns } = &doc.body[0] else { panic!() };
        assert_eq!(widths, &vec![60.0, 40.0]);
        assert_eq!(columns.len(), 2);
        let Block::Fields { rows, .. } = &doc.body[1] else { panic!() };
        assert_eq!(rows.len(), 1, "a field without a value is left out");

        assert!(matches!(parse("a\n::: colums\nb\n:::").unwrap_err(), PrintError::Markup { line: 2, .. }));
        assert!(matches!(parse("x\n\n::: small\ny").unwrap_err(), PrintError::Markup { line: 3, .. }));
        assert!(matches!(parse(":::").unwrap_err(), PrintError::Markup { line: 1, .. }));
        assert!(matches!(parse("a\n|||").unwrap_err(), PrintError::Markup { line: 2, .. }));
        assert!(matches!(parse("@frobnicate").unwrap_err(), PrintError::Markup { line: 1, .. }));
    }

    #[test]
    fn paragraphs_join_and_break() {
        let doc = parse("one\ntwo\\\nthree\n\nfour").unwrap();
        assert_eq!(doc.body.len(), 2);
        let Block::Paragraph { text: t, .. } = &doc.body[0] else { panic!() };
        assert_eq!(t, &vec![text("one two", false), Piece::Break, text(" three", false)]);
    }
}

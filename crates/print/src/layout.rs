//! Typesetting: turns parsed markup into positioned drawing operations on
//! A4 pages. Coordinates are points, origin at the top-left, y growing down.

use std::rc::Rc;

use crate::fonts::Fonts;
use crate::format::Lang;
use crate::markup::{Align, Block, Column, Document, Inline, PageNumbers, Piece, Style, Table, TableKind, TotalsRow};
use crate::PrintError;

pub(crate) const PAGE_WIDTH: f32 = 595.28;
pub(crate) const PAGE_HEIGHT: f32 = 841.89;
const MARGIN_X: f32 = 42.0;
const MARGIN_TOP: f32 = 40.0;
/// Distance from the bottom edge to the page number's baseline.
const PAGE_NUMBER_BASELINE: f32 = 24.0;
/// The body stops this far above the bottom edge when there is no footer.
const MARGIN_BOTTOM: f32 = 42.0;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN_X;

const BODY_SIZE: f32 = 9.0;
const SMALL_SIZE: f32 = 7.5;
const TABLE_SIZE: f32 = 8.5;
const LINE_FACTOR: f32 = 1.25;
const CELL_PAD_X: f32 = 3.0;
const CELL_PAD_Y: f32 = 2.5;
const COLUMN_GUTTER: f32 = 16.0;
const EPS: f32 = 0.01;

/// A document longer than this is a runaway template, not an invoice.
const MAX_PAGES: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Color(pub u8, pub u8, pub u8);

const BLACK: Color = Color(0, 0, 0);
const GREY_TEXT: Color = Color(0x55, 0x55, 0x55);
const GREY_LINE: Color = Color(0xb4, 0xb4, 0xb4);
const DARK_LINE: Color = Color(0x33, 0x33, 0x33);
const HEADER_FILL: Color = Color(0xec, 0xec, 0xec);

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// Text whose baseline starts at (x, y).
    Text {
        x: f32,
        y: f32,
        text: String,
        bold: bool,
        size: f32,
        color: Color,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
        color: Color,
    },
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: Color,
    },
    /// A PNG or JPEG drawn into the box whose top-left corner is (x, y).
    Image {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        data: std::sync::Arc<Vec<u8>>,
    },
}

impl Op {
    fn moved(&self, dx: f32, dy: f32) -> Op {
        match self {
            Op::Text { x, y, text, bold, size, color } => {
                Op::Text { x: x + dx, y: y + dy, text: text.clone(), bold: *bold, size: *size, color: *color }
            }
            Op::Line { x1, y1, x2, y2, width, color } => {
                Op::Line { x1: x1 + dx, y1: y1 + dy, x2: x2 + dx, y2: y2 + dy, width: *width, color: *color }
            }
            Op::Fill { x, y, w, h, color } => Op::Fill { x: x + dx, y: y + dy, w: *w, h: *h, color: *color },
            Op::Image { x, y, w, h, data } => Op::Image { x: x + dx, y: y + dy, w: *w, h: *h, data: data.clone() },
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Page {
    pub ops: Vec<Op>,
}

/// Something placed as a whole: a line of a paragraph, a table row, a
/// heading. Ops are relative to its top-left corner.
#[derive(Debug, Clone, Default)]
struct Item {
    height: f32,
    ops: Vec<Op>,
    /// Move to the next page together with what follows (headings, table headers).
    keep_with_next: bool,
    /// A table header to repeat above this row when it starts a page.
    header: Option<Rc<Item>>,
}

#[derive(Debug)]
enum Flow {
    Item(Item),
    Space(f32),
    PageBreak,
}

/// A laid-out line of text.
#[derive(Debug, Default)]
struct TextLine {
    /// (x offset, text, bold).
    runs: Vec<(f32, String, bool)>,
    width: f32,
}

struct Typesetter<'a> {
    fonts: &'a Fonts,
}

fn line_height(size: f32) -> f32 {
    size * LINE_FACTOR
}

enum Atom {
    Word(Vec<(String, bool)>),
    Space(bool),
    Break,
}

impl Typesetter<'_> {
    fn baseline(&self, size: f32) -> f32 {
        let f = &self.fonts.regular;
        (line_height(size) - (f.ascent + f.descent) * size) / 2.0 + f.ascent * size
    }

    fn seg_width(&self, text: &str, bold: bool, size: f32) -> f32 {
        self.fonts.face(bold).width(text, size)
    }

    fn word_width(&self, word: &[(String, bool)], size: f32) -> f32 {
        word.iter().map(|(t, b)| self.seg_width(t, *b, size)).sum()
    }

    fn atoms(inline: &Inline) -> Vec<Atom> {
        let mut atoms = Vec::new();
        let mut word: Vec<(String, bool)> = Vec::new();
        let end_word = |atoms: &mut Vec<Atom>, word: &mut Vec<(String, bool)>| {
            if !word.is_empty() {
                atoms.push(Atom::Word(std::mem::take(word)));
            }
        };
        for piece in inline {
            match piece {
                Piece::Break => {
                    end_word(&mut atoms, &mut word);
                    atoms.push(Atom::Break);
                }
                Piece::Text { text, bold } => {
                    for ch in text.chars() {
                        // No-break spaces stay inside words: `1 234,50 ₽` never splits.
                        if ch.is_whitespace() && ch != '\u{a0}' && ch != '\u{202f}' {
                            end_word(&mut atoms, &mut word);
                            if !matches!(atoms.last(), Some(Atom::Space(_)) | None | Some(Atom::Break)) {
                                atoms.push(Atom::Space(*bold));
                            }
                        } else {
                            match word.last_mut() {
                                Some((t, b)) if b == bold => t.push(ch),
                                _ => word.push((ch.to_string(), *bold)),
                            }
                        }
                    }
                }
            }
        }
        end_word(&mut atoms, &mut word);
        atoms
    }

    /// Breaks a word wider than `max` into pieces that fit.
    fn split_word(&self, word: Vec<(String, bool)>, size: f32, max: f32) -> Vec<Vec<(String, bool)>> {
        let mut pieces = Vec::new();
        let mut current: Vec<(String, bool)> = Vec::new();
        let mut width = 0.0;
        for (text, bold) in word {
            for ch in text.chars() {
                let w = self.fonts.face(bold).char_width(ch, size);
                if width + w > max + EPS && !current.is_empty() {
                    pieces.push(std::mem::take(&mut current));
                    width = 0.0;
                }
                match current.last_mut() {
                    Some((t, b)) if *b == bold => t.push(ch),
                    _ => current.push((ch.to_string(), bold)),
                }
                width += w;
            }
        }
        if !current.is_empty() {
            pieces.push(current);
        }
        pieces
    }

    /// Wraps inline text into lines no wider than `max`.
    fn wrap(&self, inline: &Inline, size: f32, max: f32) -> Vec<TextLine> {
        let max = max.max(size);
        let mut lines = Vec::new();
        // Segments of the current line: (text, bold), spaces included.
        let mut segs: Vec<(String, bool)> = Vec::new();
        let mut x = 0.0;
        let mut pending_space: Option<bool> = None;
        let mut any = false;
        let finish = |segs: &mut Vec<(String, bool)>, lines: &mut Vec<TextLine>| {
            let mut line = TextLine::default();
            let mut x = 0.0;
            for (text, bold) in segs.drain(..) {
                let w = self.seg_width(&text, bold, size);
                match line.runs.last_mut() {
                    Some((_, t, b)) if *b == bold => t.push_str(&text),
                    _ => line.runs.push((x, text, bold)),
                }
                x += w;
            }
            line.width = x;
            lines.push(line);
        };
        for atom in Self::atoms(inline) {
            match atom {
                Atom::Break => {
                    finish(&mut segs, &mut lines);
                    x = 0.0;
                    pending_space = None;
                    any = true;
                }
                Atom::Space(bold) => pending_space = Some(bold),
                Atom::Word(word) => {
                    any = true;
                    let w = self.word_width(&word, size);
                    let space_w = pending_space.map(|b| self.seg_width(" ", b, size)).unwrap_or(0.0);
                    if !segs.is_empty() && x + space_w + w <= max + EPS {
                        if let Some(b) = pending_space {
                            segs.push((" ".to_owned(), b));
                        }
                        segs.extend(word);
                        x += space_w + w;
                    } else {
                        if !segs.is_empty() {
                            finish(&mut segs, &mut lines);
                        }
                        x = 0.0;
                        let pieces = if w > max + EPS { self.split_word(word, size, max) } else { vec![word] };
                        let count = pieces.len();
                        for (i, piece) in pieces.into_iter().enumerate() {
                            x = self.word_width(&piece, size);
                            segs.extend(piece);
                            if i + 1 < count {
                                finish(&mut segs, &mut lines);
                            }
                        }
                    }
                    pending_space = None;
                }
            }
        }
        if !segs.is_empty() || (any && lines.is_empty()) {
            finish(&mut segs, &mut lines);
        }
        lines
    }

    /// Ops for wrapped lines inside a box `width` wide, starting at y = 0.
    fn text_ops(&self, lines: &[TextLine], size: f32, width: f32, align: Align, color: Color) -> Vec<Op> {
        let lh = line_height(size);
        let base = self.baseline(size);
        let mut ops = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let dx = match align {
                Align::Left => 0.0,
                Align::Center => ((width - line.width) / 2.0).max(0.0),
                Align::Right => (width - line.width).max(0.0),
            };
            for (x, text, bold) in &line.runs {
                ops.push(Op::Text { x: dx + x, y: i as f32 * lh + base, text: text.clone(), bold: *bold, size, color });
            }
        }
        ops
    }

    /// Widest single line the text would take, and its widest word.
    fn natural_widths(&self, inline: &Inline, size: f32) -> (f32, f32) {
        let lines = self.wrap(inline, size, f32::MAX / 4.0);
        let natural = lines.iter().map(|l| l.width).fold(0.0, f32::max);
        let widest_word = Self::atoms(inline)
            .iter()
            .map(|a| match a {
                Atom::Word(w) => self.word_width(w, size),
                _ => 0.0,
            })
            .fold(0.0, f32::max);
        (natural, widest_word)
    }

    fn blocks(&self, blocks: &[Block], width: f32) -> Vec<Flow> {
        let mut flows = Vec::new();
        for block in blocks {
            self.block(block, width, &mut flows);
        }
        flows
    }

    fn block(&self, block: &Block, width: f32, flows: &mut Vec<Flow>) {
        match block {
            Block::Heading { level, text, style } => {
                let (size, before, after) = match level {
                    1 => (15.0, 4.0, 6.0),
                    2 => (12.0, 8.0, 4.0),
                    _ => (10.0, 6.0, 3.0),
                };
                let size = if style.small { size * 0.8 } else { size };
                let lines = self.wrap(text, size, width);
                let height = lines.len() as f32 * line_height(size);
                let ops = self.text_ops(&lines, size, width, style.align, BLACK);
                flows.push(Flow::Space(before));
                flows.push(Flow::Item(Item { height, ops, keep_with_next: true, header: None }));
                flows.push(Flow::Space(after));
            }
            Block::Paragraph { text, style } => {
                let (size, color) = text_style(*style, BODY_SIZE);
                let lh = line_height(size);
                for line in self.wrap(text, size, width) {
                    let ops = self.text_ops(std::slice::from_ref(&line), size, width, style.align, color);
                    flows.push(Flow::Item(Item { height: lh, ops, ..Item::default() }));
                }
                flows.push(Flow::Space(size * 0.45));
            }
            Block::Rule { thick } => {
                let (height, w, color) = if *thick { (8.0, 1.6, BLACK) } else { (7.0, 0.5, GREY_LINE) };
                let y = height / 2.0;
                let ops = vec![Op::Line { x1: 0.0, y1: y, x2: width, y2: y, width: w, color }];
                flows.push(Flow::Item(Item { height, ops, ..Item::default() }));
            }
            Block::Image { data, height } => {
                // As tall as asked, as wide as its proportions say, never
                // wider than the column.
                let (pw, ph) = crate::image_size(data).unwrap_or((1, 1));
                let mut h = *height;
                let mut w = h * pw as f32 / ph.max(1) as f32;
                if w > width {
                    h *= width / w;
                    w = width;
                }
                let ops = vec![Op::Image { x: 0.0, y: 0.0, w, h, data: data.clone() }];
                flows.push(Flow::Item(Item { height: h, ops, ..Item::default() }));
                flows.push(Flow::Space(4.0));
            }
            Block::Space(points) => flows.push(Flow::Space(*points)),
            Block::PageBreak => flows.push(Flow::PageBreak),
            Block::Table(table) => self.table(table, width, flows),
            Block::Fields { rows, style } => self.fields(rows, *style, width, flows),
            Block::Totals { rows, style } => self.totals(rows, *style, width, flows),
            Block::Columns { widths, columns } => {
                let item = self.columns(widths, columns, width);
                flows.push(Flow::Item(item));
                flows.push(Flow::Space(4.0));
            }
        }
    }

    fn column_widths(&self, table: &Table, width: f32, size: f32) -> Vec<f32> {
        let n = table.columns.len().max(1);
        let pad = 2.0 * CELL_PAD_X;
        // Natural width (content on one line) and minimum (widest word) per column.
        let mut natural = vec![0.0f32; n];
        let mut minimum = vec![0.0f32; n];
        for row in table.header.iter().chain(table.rows.iter()) {
            for (i, cell) in row.iter().enumerate().take(n) {
                let (nat, word) = self.natural_widths(cell, size);
                natural[i] = natural[i].max(nat + pad);
                minimum[i] = minimum[i].max(word + pad);
            }
        }
        let given: f32 = table.columns.iter().filter_map(|c| c.width).sum();
        let autos: Vec<usize> = (0..n).filter(|&i| table.columns.get(i).is_none_or(|c| c.width.is_none())).collect();
        let mut widths: Vec<f32> = table.columns.iter().map(|c| c.width.unwrap_or(0.0) / 100.0 * width).collect();
        widths.resize(n, 0.0);
        if autos.is_empty() || given >= 95.0 {
            // Everything named (or nothing left): scale to the full width,
            // with a narrow minimum for any column left unnamed.
            for &i in &autos {
                widths[i] = width * 0.05;
            }
            let total: f32 = widths.iter().sum();
            if total > 0.0 {
                widths.iter_mut().for_each(|w| *w *= width / total);
            }
        } else {
            let rest = width * (100.0 - given) / 100.0;
            let total_natural: f32 = autos.iter().map(|&i| natural[i]).sum();
            if total_natural <= EPS {
                for &i in &autos {
                    widths[i] = rest / autos.len() as f32;
                }
            } else if total_natural <= rest {
                // Room to spare: the widest-content column (usually the name) gets it.
                let widest =
                    autos.iter().copied().max_by(|&a, &b| natural[a].total_cmp(&natural[b])).unwrap_or(autos[0]);
                for &i in &autos {
                    widths[i] = natural[i];
                }
                widths[widest] += rest - total_natural;
            } else {
                for &i in &autos {
                    widths[i] = rest * natural[i] / total_natural;
                }
            }
        }
        fit_minimums(&mut widths, &minimum, width);
        widths
    }

    fn table(&self, table: &Table, width: f32, flows: &mut Vec<Flow>) {
        let size = if table.small { SMALL_SIZE } else { TABLE_SIZE };
        let widths = self.column_widths(table, width, size);
        let header = table.header.as_ref().map(|cells| {
            let mut item = self.table_row(table, cells, &widths, size, true);
            item.keep_with_next = true;
            Rc::new(item)
        });
        if let Some(h) = &header {
            flows.push(Flow::Item((**h).clone()));
        }
        for cells in &table.rows {
            let mut item = self.table_row(table, cells, &widths, size, false);
            item.header = header.clone();
            flows.push(Flow::Item(item));
        }
        flows.push(Flow::Space(6.0));
    }

    fn table_row(&self, table: &Table, cells: &[Inline], widths: &[f32], size: f32, is_header: bool) -> Item {
        let lh = line_height(size);
        let pad_y = if table.kind == TableKind::Plain { 1.0 } else { CELL_PAD_Y };
        let mut laid = Vec::new();
        let mut content_height = lh;
        for (i, w) in widths.iter().enumerate() {
            let inner = (w - 2.0 * CELL_PAD_X).max(size);
            let lines = cells.get(i).map(|c| self.wrap(c, size, inner)).unwrap_or_default();
            content_height = content_height.max(lines.len() as f32 * lh);
            laid.push((lines, inner));
        }
        let height = content_height + 2.0 * pad_y;
        let total_width: f32 = widths.iter().sum();
        let mut ops = Vec::new();
        if is_header && table.kind != TableKind::Plain {
            ops.push(Op::Fill { x: 0.0, y: 0.0, w: total_width, h: height, color: HEADER_FILL });
        }
        let mut x = 0.0;
        for (i, (lines, inner)) in laid.iter().enumerate() {
            let align = table.columns.get(i).map(|c: &Column| c.align).unwrap_or_default();
            let align = if is_header && align == Align::Left { Align::Left } else { align };
            for op in self.text_ops(lines, size, *inner, align, BLACK) {
                ops.push(op.moved(x + CELL_PAD_X, pad_y));
            }
            x += widths[i];
        }
        match table.kind {
            TableKind::Grid => {
                let line = |x1, y1, x2, y2| Op::Line { x1, y1, x2, y2, width: 0.5, color: BLACK };
                ops.push(line(0.0, 0.0, total_width, 0.0));
                ops.push(line(0.0, height, total_width, height));
                let mut x = 0.0;
                ops.push(line(0.0, 0.0, 0.0, height));
                for w in widths {
                    x += w;
                    ops.push(line(x, 0.0, x, height));
                }
            }
            TableKind::Lines => {
                if is_header {
                    ops.push(Op::Line { x1: 0.0, y1: 0.0, x2: total_width, y2: 0.0, width: 0.8, color: DARK_LINE });
                    ops.push(Op::Line {
                        x1: 0.0,
                        y1: height,
                        x2: total_width,
                        y2: height,
                        width: 0.8,
                        color: DARK_LINE,
                    });
                } else {
                    ops.push(Op::Line {
                        x1: 0.0,
                        y1: height,
                        x2: total_width,
                        y2: height,
                        width: 0.4,
                        color: GREY_LINE,
                    });
                }
            }
            TableKind::Plain => {}
        }
        Item { height, ops, keep_with_next: false, header: None }
    }

    fn fields(&self, rows: &[(Inline, Inline)], style: Style, width: f32, flows: &mut Vec<Flow>) {
        let (size, _) = text_style(style, BODY_SIZE);
        let lh = line_height(size);
        let gap = 6.0;
        let label_width =
            rows.iter().map(|(label, _)| self.natural_widths(label, size).0).fold(0.0, f32::max).min(width * 0.4);
        let value_width = (width - label_width - gap).max(size);
        for (label, value) in rows {
            let label_lines = self.wrap(label, size, label_width.max(size));
            let value_lines = self.wrap(value, size, value_width);
            let height = label_lines.len().max(value_lines.len()).max(1) as f32 * lh + 1.5;
            let mut ops = self.text_ops(&label_lines, size, label_width, Align::Left, GREY_TEXT);
            ops.extend(
                self.text_ops(&value_lines, size, value_width, Align::Left, BLACK)
                    .into_iter()
                    .map(|op| op.moved(label_width + gap, 0.0)),
            );
            flows.push(Flow::Item(Item { height, ops, ..Item::default() }));
        }
        flows.push(Flow::Space(4.0));
    }

    fn totals(&self, rows: &[TotalsRow], style: Style, width: f32, flows: &mut Vec<Flow>) {
        let size = if style.small { SMALL_SIZE } else { BODY_SIZE + 0.5 };
        let lh = line_height(size);
        let gap = 14.0;
        let (mut label_w, mut value_w) = (0.0f32, 0.0f32);
        for row in rows {
            if let TotalsRow::Row(label, value) = row {
                label_w = label_w.max(self.natural_widths(label, size).0);
                value_w = value_w.max(self.natural_widths(value, size).0);
            }
        }
        let label_w = label_w.min(width * 0.45).max(size);
        let value_w = value_w.min(width * 0.35).max(size);
        let block_w = label_w + gap + value_w;
        // Totals sit at the right edge, under the amount column, unless centred.
        let x0 = match style.align {
            Align::Center => (width - block_w) / 2.0,
            Align::Left | Align::Right => width - block_w,
        }
        .max(0.0);
        let mut ops = Vec::new();
        let mut y = 0.0;
        for row in rows {
            match row {
                TotalsRow::Rule { thick } => {
                    let (w, color) = if *thick { (1.2, BLACK) } else { (0.5, GREY_LINE) };
                    ops.push(Op::Line { x1: x0, y1: y + 2.5, x2: x0 + block_w, y2: y + 2.5, width: w, color });
                    y += 5.0;
                }
                TotalsRow::Row(label, value) => {
                    let label_lines = self.wrap(label, size, label_w);
                    let value_lines = self.wrap(value, size, value_w);
                    for op in self.text_ops(&label_lines, size, label_w, Align::Right, BLACK) {
                        ops.push(op.moved(x0, y));
                    }
                    for op in self.text_ops(&value_lines, size, value_w, Align::Right, BLACK) {
                        ops.push(op.moved(x0 + label_w + gap, y));
                    }
                    y += label_lines.len().max(value_lines.len()).max(1) as f32 * lh + 1.0;
                }
            }
        }
        flows.push(Flow::Item(Item { height: y, ops, ..Item::default() }));
        flows.push(Flow::Space(6.0));
    }

    /// Lays blocks out one under another with no page breaks; returns the
    /// ops and the height used.
    fn stack(&self, blocks: &[Block], width: f32) -> (Vec<Op>, f32) {
        let mut ops = Vec::new();
        let mut y = 0.0;
        let mut pending = 0.0;
        for flow in self.blocks(blocks, width) {
            match flow {
                Flow::Space(s) => {
                    if y > 0.0 {
                        pending += s;
                    }
                }
                Flow::PageBreak => {}
                Flow::Item(item) => {
                    y += pending;
                    pending = 0.0;
                    ops.extend(item.ops.iter().map(|op| op.moved(0.0, y)));
                    y += item.height;
                }
            }
        }
        (ops, y)
    }

    fn columns(&self, widths: &[f32], columns: &[Vec<Block>], width: f32) -> Item {
        let n = columns.len().max(1) as f32;
        let usable = width - COLUMN_GUTTER * (n - 1.0);
        let mut ops = Vec::new();
        let mut height = 0.0f32;
        let mut x = 0.0;
        for (i, blocks) in columns.iter().enumerate() {
            let w = usable * widths.get(i).copied().unwrap_or(100.0 / n) / 100.0;
            let (col_ops, h) = self.stack(blocks, w.max(BODY_SIZE));
            ops.extend(col_ops.iter().map(|op| op.moved(x, 0.0)));
            height = height.max(h);
            x += w + COLUMN_GUTTER;
        }
        Item { height, ops, ..Item::default() }
    }
}

/// Widens columns narrower than their widest word (an amount must never be
/// split across lines) at the expense of columns with room to spare. When
/// the words cannot all fit, they get widths in proportion and long words
/// break.
fn fit_minimums(widths: &mut [f32], minimum: &[f32], total: f32) {
    let needed: f32 = minimum.iter().sum();
    if needed >= total {
        if needed > 0.0 {
            for (w, m) in widths.iter_mut().zip(minimum) {
                *w = m * total / needed;
            }
        }
        return;
    }
    let deficit: f32 = widths.iter().zip(minimum).map(|(w, m)| (m - w).max(0.0)).sum();
    if deficit <= EPS {
        return;
    }
    let slack: f32 = widths.iter().zip(minimum).map(|(w, m)| (w - m).max(0.0)).sum();
    let take = (deficit / slack).min(1.0);
    for (w, m) in widths.iter_mut().zip(minimum) {
        if *w < *m {
            *w = *m;
        } else {
            *w -= (*w - m) * take;
        }
    }
}

fn text_style(style: Style, size: f32) -> (f32, Color) {
    if style.small {
        (SMALL_SIZE, GREY_TEXT)
    } else {
        (size, BLACK)
    }
}

fn page_label(numbers: &PageNumbers, lang: Lang, page: usize, pages: usize) -> Option<String> {
    match numbers {
        PageNumbers::Off => None,
        PageNumbers::Auto => Some(match lang {
            Lang::Ru => format!("Стр. {page} из {pages}"),
            Lang::En => format!("Page {page} of {pages}"),
        }),
        PageNumbers::Format(f) => Some(f.replace("{page}", &page.to_string()).replace("{pages}", &pages.to_string())),
    }
}

fn too_many_pages() -> PrintError {
    PrintError::TooLarge(format!("the document would have more than {MAX_PAGES} pages"))
}

/// Typesets a document into pages.
pub(crate) fn layout(doc: &Document, fonts: &Fonts, lang: Lang) -> Result<Vec<Page>, PrintError> {
    let ts = Typesetter { fonts };
    let (footer_ops, footer_height) = ts.stack(&doc.footer, CONTENT_WIDTH);
    let page_number_top = PAGE_HEIGHT - PAGE_NUMBER_BASELINE - SMALL_SIZE;
    let footer_top = page_number_top - 4.0 - footer_height;
    let bottom = if doc.footer.is_empty() { PAGE_HEIGHT - MARGIN_BOTTOM } else { footer_top - 8.0 };
    // A footer taller than half the page leaves no room for anything else.
    let bottom = bottom.max(PAGE_HEIGHT / 2.0);
    let available = bottom - MARGIN_TOP;

    let flows = ts.blocks(&doc.body, CONTENT_WIDTH);
    let mut pages = vec![Page::default()];
    let mut y = MARGIN_TOP;
    let mut has_content = false;

    let place = |page: &mut Page, item: &Item, y: f32| {
        page.ops.extend(item.ops.iter().map(|op| op.moved(MARGIN_X, y)));
    };

    for (i, flow) in flows.iter().enumerate() {
        match flow {
            Flow::Space(s) => {
                if has_content {
                    y += s;
                }
            }
            Flow::PageBreak => {
                if has_content {
                    if pages.len() >= MAX_PAGES {
                        return Err(too_many_pages());
                    }
                    pages.push(Page::default());
                    y = MARGIN_TOP;
                    has_content = false;
                }
            }
            Flow::Item(item) => {
                // Height this item needs on the page together with what it keeps with.
                let mut need = item.height;
                let mut keep = item.keep_with_next;
                // A few items suffice; a long chain of headings must not make this quadratic.
                for next in flows[i + 1..].iter().take(16) {
                    if !keep {
                        break;
                    }
                    match next {
                        Flow::Item(n) => {
                            need += n.height;
                            keep = n.keep_with_next;
                        }
                        Flow::Space(s) => need += s,
                        Flow::PageBreak => break,
                    }
                }
                let need = need.min(available);
                if has_content && y + need > bottom + EPS {
                    if pages.len() >= MAX_PAGES {
                        return Err(too_many_pages());
                    }
                    pages.push(Page::default());
                    y = MARGIN_TOP;
                    if let Some(header) = &item.header {
                        if let Some(page) = pages.last_mut() {
                            place(page, header, y);
                        }
                        y += header.height;
                    }
                }
                if let Some(page) = pages.last_mut() {
                    place(page, item, y);
                }
                y += item.height;
                has_content = true;
            }
        }
    }

    let count = pages.len();
    for (i, page) in pages.iter_mut().enumerate() {
        page.ops.extend(footer_ops.iter().map(|op| op.moved(MARGIN_X, footer_top)));
        if let Some(label) = page_label(&doc.page_numbers, lang, i + 1, count) {
            let width = fonts.regular.width(&label, SMALL_SIZE);
            page.ops.push(Op::Text {
                x: PAGE_WIDTH - MARGIN_X - width,
                y: PAGE_HEIGHT - PAGE_NUMBER_BASELINE,
                text: label,
                bold: false,
                size: SMALL_SIZE,
                color: GREY_TEXT,
            });
        }
    }
    Ok(pages)
}

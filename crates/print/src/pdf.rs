//! Writes laid-out pages as PDF through krilla, which embeds only the glyphs
//! used (subsetting) and writes the ToUnicode maps that make text copyable.

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, LineCap, Stroke};
use krilla::{Document, SerializeSettings};

use crate::fonts::Fonts;
use crate::layout::{Color, Op, Page, PAGE_HEIGHT, PAGE_WIDTH};
use crate::PrintError;

fn paint(color: Color) -> krilla::paint::Paint {
    rgb::Color::new(color.0, color.1, color.2).into()
}

fn finite(values: &[f32]) -> bool {
    values.iter().all(|v| v.is_finite())
}

pub(crate) fn write(pages: &[Page], fonts: &Fonts, title: Option<String>, lang: &str) -> Result<Vec<u8>, PrintError> {
    let settings = SerializeSettings { enable_tagging: false, ..SerializeSettings::default() };
    let mut document = Document::new_with(settings);
    let mut metadata = Metadata::new().language(lang.to_owned()).creator("Relata".to_owned());
    if let Some(title) = title.filter(|t| !t.trim().is_empty()) {
        metadata = metadata.title(title);
    }
    document.set_metadata(metadata);

    let page_settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
        .ok_or_else(|| PrintError::Pdf("invalid page size".to_owned()))?;
    for page in pages {
        let mut pdf_page = document.start_page_with(page_settings.clone());
        let mut surface = pdf_page.surface();
        for op in &page.ops {
            match op {
                Op::Fill { x, y, w, h, color } => {
                    if !finite(&[*x, *y, *w, *h]) {
                        continue;
                    }
                    let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) else { continue };
                    let mut pb = PathBuilder::new();
                    pb.push_rect(rect);
                    if let Some(path) = pb.finish() {
                        surface.set_stroke(None);
                        surface.set_fill(Some(Fill { paint: paint(*color), ..Fill::default() }));
                        surface.draw_path(&path);
                    }
                }
                Op::Line { x1, y1, x2, y2, width, color } => {
                    if !finite(&[*x1, *y1, *x2, *y2, *width]) {
                        continue;
                    }
                    let mut pb = PathBuilder::new();
                    pb.move_to(*x1, *y1);
                    pb.line_to(*x2, *y2);
                    if let Some(path) = pb.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke {
                            paint: paint(*color),
                            width: *width,
                            line_cap: LineCap::Square,
                            ..Stroke::default()
                        }));
                        surface.draw_path(&path);
                    }
                }
                Op::Image { x, y, w, h, data } => {
                    if !finite(&[*x, *y, *w, *h]) {
                        continue;
                    }
                    let (Some(image), Some(size)) = (crate::decode_image(data), krilla::geom::Size::from_wh(*w, *h))
                    else {
                        continue;
                    };
                    surface.push_transform(&krilla::geom::Transform::from_translate(*x, *y));
                    surface.draw_image(image, size);
                    surface.pop();
                }
                Op::Text { x, y, text, bold, size, color } => {
                    if text.is_empty() || !finite(&[*x, *y, *size]) {
                        continue;
                    }
                    let face = fonts.face(*bold);
                    let glyphs = face.glyphs(text);
                    surface.set_stroke(None);
                    surface.set_fill(Some(Fill {
                        paint: paint(*color),
                        opacity: NormalizedF32::ONE,
                        ..Fill::default()
                    }));
                    surface.draw_glyphs(Point::from_xy(*x, *y), &glyphs, face.font.clone(), text, *size, false);
                }
            }
        }
        surface.finish();
        pdf_page.finish();
    }
    document.finish().map_err(|e| PrintError::Pdf(format!("{e:?}")))
}

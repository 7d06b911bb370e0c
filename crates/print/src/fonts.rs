//! The embedded fonts and their metrics. Text is "shaped" by a plain
//! character → glyph lookup: DejaVu Sans needs no ligatures or reordering for
//! Latin and Cyrillic, and measuring with the very advances that are written
//! to the PDF keeps line breaking and alignment exact.

use std::collections::HashMap;
use std::sync::OnceLock;

use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// One face: its krilla handle for drawing and the metrics for measuring,
/// all in em units.
pub(crate) struct Face {
    pub font: Font,
    glyphs: HashMap<char, (u16, f32)>,
    fallback: (u16, f32),
    /// Distance from the baseline to the top of the tallest glyphs, in ems.
    pub ascent: f32,
    /// Distance from the baseline down (positive), in ems.
    pub descent: f32,
}

impl Face {
    fn load(data: &'static [u8]) -> Option<Face> {
        let font_ref = FontRef::new(data).ok()?;
        let metrics = font_ref.metrics(Size::unscaled(), LocationRef::default());
        let upem = f32::from(metrics.units_per_em.max(1));
        let advances = font_ref.glyph_metrics(Size::unscaled(), LocationRef::default());
        let mut glyphs = HashMap::new();
        for (cp, gid) in font_ref.charmap().mappings() {
            let Some(ch) = char::from_u32(cp) else { continue };
            let Ok(id) = u16::try_from(gid.to_u32()) else { continue };
            let advance = advances.advance_width(gid).unwrap_or(0.0) / upem;
            glyphs.insert(ch, (id, advance));
        }
        // Characters the font lacks print as a question mark rather than vanish.
        let fallback = glyphs.get(&'?').copied().unwrap_or((0, 0.5));
        let font = Font::new(data.into(), 0)?;
        Some(Face { font, glyphs, fallback, ascent: metrics.ascent / upem, descent: -metrics.descent / upem })
    }

    fn glyph(&self, ch: char) -> (u16, f32) {
        self.glyphs.get(&ch).copied().unwrap_or(self.fallback)
    }

    /// Width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.glyph(c).1).sum::<f32>() * size
    }

    /// Width of one character at `size` points.
    pub fn char_width(&self, ch: char, size: f32) -> f32 {
        self.glyph(ch).1 * size
    }

    /// The glyph run krilla draws for `text`, one glyph per character.
    pub fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        text.char_indices()
            .map(|(i, ch)| {
                let (id, advance) = self.glyph(ch);
                KrillaGlyph::new(GlyphId::new(u32::from(id)), advance, 0.0, 0.0, 0.0, i..i + ch.len_utf8(), None)
            })
            .collect()
    }
}

pub(crate) struct Fonts {
    pub regular: Face,
    pub bold: Face,
}

impl Fonts {
    pub fn face(&self, bold: bool) -> &Face {
        if bold {
            &self.bold
        } else {
            &self.regular
        }
    }
}

/// The fonts, parsed once per process.
pub(crate) fn fonts() -> Option<&'static Fonts> {
    static FONTS: OnceLock<Option<Fonts>> = OnceLock::new();
    FONTS.get_or_init(|| Some(Fonts { regular: Face::load(REGULAR)?, bold: Face::load(BOLD)? })).as_ref()
}

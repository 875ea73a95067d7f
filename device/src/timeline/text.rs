//! The drawing backend of the PNG: plotters' `BitMapBackend` for every
//! shape, with text set in an embedded font by `ab_glyph`.
//!
//! Why not plotters' own text: its bitmap fonts come from its `ttf`
//! feature (font-kit, which needs fontconfig and the system's fonts) or its
//! `ab_glyph` feature (a font registered by name at run time). Features are
//! unified across the workspace, so turning `ab_glyph` on here would also
//! swap the text metrics of `bench-report`'s SVG plots, and fail them where
//! no font is registered. Overriding a backend's `draw_text` and
//! `estimate_text_size` is the extension point plotters offers instead;
//! everything else is passed through.

use ab_glyph::{point, Font, FontRef, Glyph, PxScale, ScaleFont};
use plotters::prelude::*;
use plotters_backend::{
    text_anchor::{HPos, VPos},
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

/// Hack, a monospace face (MIT and Bitstream Vera licences), as shipped by
/// the `epaint_default_fonts` crate: compiled in, no font file at run time.
const FONT: &[u8] = epaint_default_fonts::HACK_REGULAR;

/// A bitmap backend that sets text in [`FONT`].
pub struct TextBitmap<'a> {
    inner: BitMapBackend<'a>,
    font: FontRef<'static>,
}

/// The error of the wrapped backend.
type Error = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

impl<'a> TextBitmap<'a> {
    /// Draws into `rgb`, a `w` x `h` image of 3 bytes a pixel.
    pub fn new(rgb: &'a mut [u8], (w, h): (u32, u32)) -> Result<Self, DrawingErrorKind<Error>> {
        let inner = BitMapBackend::with_buffer_and_format(rgb, (w, h))
            .map_err(DrawingErrorKind::DrawingError)?;
        let font =
            FontRef::try_from_slice(FONT).map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        Ok(TextBitmap { inner, font })
    }

    /// The glyphs of `text` at `size` pixels, laid out from (0, 0) at the
    /// top left, and the width and height of the line.
    fn layout(&self, text: &str, size: f64) -> (Vec<Glyph>, (u32, u32)) {
        let font = self.font.as_scaled(PxScale::from(size as f32));
        let mut x = 0.0f32;
        let mut last = None;
        let glyphs = text
            .chars()
            .map(|c| {
                let id = font.glyph_id(c);
                if let Some(prev) = last {
                    x += font.kern(prev, id);
                }
                last = Some(id);
                let glyph = id.with_scale_and_position(font.scale(), point(x, font.ascent()));
                x += font.h_advance(id);
                glyph
            })
            .collect();
        let height = font.ascent() - font.descent();
        (glyphs, (x.ceil() as u32, height.ceil() as u32))
    }
}

impl DrawingBackend for TextBitmap<'_> {
    type ErrorType = Error;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.draw_path(path, style)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.fill_polygon(vert, style)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Error>> {
        Ok(self.layout(text, style.size()).1)
    }

    /// `text` anchored at `pos` as `style` says (rotations included), each
    /// pixel blended by the glyph's coverage of it.
    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Error>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let (glyphs, (w, h)) = self.layout(text, style.size());
        let (w, h) = (w as i32, h as i32);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Center => -w / 2,
            HPos::Right => -w,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -h / 2,
            VPos::Bottom => -h,
        };
        let turn = style.transform();
        let mut pixels = Vec::new();
        for glyph in glyphs {
            let Some(outline) = self.font.outline_glyph(glyph) else {
                continue; // a space
            };
            let at = outline.px_bounds().min;
            outline.draw(|x, y, coverage| {
                pixels.push((at.x as i32 + x as i32, at.y as i32 + y as i32, coverage))
            });
        }
        for (x, y, coverage) in pixels {
            let (x, y) = turn.transform(x + dx, y + dy);
            let blended = BackendColor {
                alpha: color.alpha * f64::from(coverage.min(1.0)),
                rgb: color.rgb,
            };
            self.inner.draw_pixel((pos.0 + x, pos.1 + y), blended)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text lands where its anchor says, in its colour, and a larger size
    /// measures larger.
    #[test]
    fn text_is_drawn_and_measured() {
        let (w, h) = (120u32, 40u32);
        let mut rgb = vec![255u8; (w * h * 3) as usize];
        {
            let mut b = TextBitmap::new(&mut rgb, (w, h)).unwrap();
            let style = TextStyle::from(("sans-serif", 20).into_font()).color(&BLACK);
            let (tw, th) = b.estimate_text_size("IRQ", &style).unwrap();
            assert!(
                (30..60).contains(&tw) && (15..30).contains(&th),
                "{tw}x{th}"
            );
            let small = TextStyle::from(("sans-serif", 10).into_font());
            assert!(b.estimate_text_size("IRQ", &small).unwrap().0 < tw);
            b.draw_text("IRQ", &style, (10, 5)).unwrap();
        }
        let dark = |x0: u32, x1: u32| {
            (0..h)
                .flat_map(|y| (x0..x1).map(move |x| ((y * w + x) * 3) as usize))
                .filter(|&i| rgb[i] < 100)
                .count()
        };
        assert!(dark(10, 60) > 40, "ink where the text is");
        assert_eq!(dark(0, 10) + dark(70, w), 0, "none elsewhere");
    }
}

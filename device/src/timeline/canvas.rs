//! An RGB pixel buffer with the few shapes a timeline needs, written out
//! as PNG with the pure-Rust `png` crate.

use std::io;
use std::path::Path;

use super::font::{glyph, GLYPH_H, GLYPH_W};

/// A colour.
pub type Rgb = [u8; 3];

/// Pixels, row-major, 3 bytes each.
pub struct Canvas {
    /// Width in pixels.
    pub w: usize,
    /// Height in pixels.
    pub h: usize,
    px: Vec<u8>,
}

impl Canvas {
    /// A canvas filled with `bg`.
    pub fn new(w: usize, h: usize, bg: Rgb) -> Canvas {
        Canvas {
            w,
            h,
            px: bg.repeat(w * h),
        }
    }

    /// Sets one pixel (outside the canvas: ignored).
    pub fn put(&mut self, x: i64, y: i64, c: Rgb) {
        if x < 0 || y < 0 || x as usize >= self.w || y as usize >= self.h {
            return;
        }
        let i = (y as usize * self.w + x as usize) * 3;
        self.px[i..i + 3].copy_from_slice(&c);
    }

    /// The pixel at (x, y), if inside.
    pub fn get(&self, x: usize, y: usize) -> Option<Rgb> {
        (x < self.w && y < self.h).then(|| {
            let i = (y * self.w + x) * 3;
            [self.px[i], self.px[i + 1], self.px[i + 2]]
        })
    }

    /// A filled rectangle.
    pub fn rect(&mut self, x: i64, y: i64, w: i64, h: i64, c: Rgb) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.put(xx, yy, c);
            }
        }
    }

    /// A straight line (Bresenham).
    pub fn line(&mut self, (mut x0, mut y0): (i64, i64), (x1, y1): (i64, i64), c: Rgb) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let mut err = dx + dy;
        loop {
            self.put(x0, y0, c);
            if x0 == x1 && y0 == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x0 += sx;
            }
            if e2 <= dx {
                err += dx;
                y0 += sy;
            }
        }
    }

    /// Text with its top-left corner at (x, y), each font pixel `scale`
    /// pixels wide; returns the x after the last character.
    pub fn text(&mut self, x: i64, y: i64, s: &str, scale: i64, c: Rgb) -> i64 {
        let mut cx = x;
        for ch in s.chars() {
            for (row, bits) in glyph(ch).iter().enumerate() {
                for col in 0..GLYPH_W {
                    if bits & (1 << (GLYPH_W - 1 - col)) != 0 {
                        self.rect(
                            cx + col as i64 * scale,
                            y + row as i64 * scale,
                            scale,
                            scale,
                            c,
                        );
                    }
                }
            }
            cx += text_advance(scale);
        }
        cx
    }

    /// Writes the canvas as an 8-bit RGB PNG.
    pub fn save_png(&self, path: &Path) -> io::Result<()> {
        let file = io::BufWriter::new(std::fs::File::create(path)?);
        let mut enc = png::Encoder::new(file, self.w as u32, self.h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(io::Error::other)?;
        w.write_image_data(&self.px).map_err(io::Error::other)?;
        w.finish().map_err(io::Error::other)
    }
}

/// Horizontal pixels per character at `scale`.
pub fn text_advance(scale: i64) -> i64 {
    (GLYPH_W as i64 + 1) * scale
}

/// Vertical pixels of a line of text at `scale`.
pub fn text_height(scale: i64) -> i64 {
    GLYPH_H as i64 * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shapes land where asked; text is drawn; out-of-range is ignored.
    #[test]
    fn draws_and_clips() {
        let mut c = Canvas::new(40, 20, [255; 3]);
        c.rect(1, 1, 2, 2, [0; 3]);
        assert_eq!(c.get(2, 2), Some([0; 3]));
        assert_eq!(c.get(3, 3), Some([255; 3]));
        c.line((0, 19), (39, 0), [9; 3]);
        assert_eq!(c.get(0, 19), Some([9; 3]));
        assert_eq!(c.get(39, 0), Some([9; 3]));
        let end = c.text(10, 5, "A", 1, [1; 3]);
        assert_eq!(end, 16);
        assert_eq!(c.get(11, 5), Some([1; 3]), "top bar of A");
        c.put(-1, 5, [0; 3]);
        c.rect(30, 15, 100, 100, [7; 3]);
        assert_eq!(c.get(100, 100), None);
    }
}

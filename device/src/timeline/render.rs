//! The PNG timeline (SPEC §15.3), drawn with plotters as the bench plots
//! are: one row per track with a tick per event, fault firings as dashed
//! red lines across all rows, and the ring's producer and consumer indices
//! as step lines below, on a shared axis.

use std::io;
use std::ops::Range;
use std::path::Path;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::text::TextBitmap;
use super::{Axis, Indices, Timeline, Track, TRACKS};

/// Image width; the height follows from the rows.
pub const W: u32 = 1600;
const TITLE_H: u32 = 44;
const ROW_H: u32 = 38;
const RING_H: u32 = 300;
const LEFT: u32 = 190;
const RIGHT: u32 = 40;

const INK: RGBColor = RGBColor(20, 20, 20);
const GRID: RGBColor = RGBColor(225, 225, 225);
const FAULT: RGBColor = RGBColor(215, 25, 32);
/// PROD_IDX in the ring panel.
pub const PROD: RGBColor = RGBColor(33, 102, 172);
/// CONS_IDX in the ring panel.
pub const CONS: RGBColor = RGBColor(26, 150, 65);
/// Interrupt ticks by vector (0..3; higher vectors share the last).
const VECTOR: [RGBColor; 4] = [
    RGBColor(33, 102, 172),
    RGBColor(215, 25, 32),
    RGBColor(26, 150, 65),
    RGBColor(230, 120, 0),
];

fn colour(track: Track, class: u8) -> RGBColor {
    match track {
        Track::MmioWrite => RGBColor(90, 90, 90),
        Track::MmioRead => RGBColor(150, 150, 150),
        Track::DmaWrite => RGBColor(33, 102, 172),
        Track::DmaRead => RGBColor(103, 169, 207),
        Track::Irq => VECTOR[usize::from(class.min(3))],
        Track::Fault => FAULT,
        Track::Card => match class {
            1 => FAULT,
            2 => RGBColor(118, 42, 131),
            _ => RGBColor(120, 120, 120),
        },
    }
}

/// Axis position label.
fn axis_label(axis: Option<Axis>, x: f64) -> String {
    match axis {
        Some(Axis::Event) => format!("#{x:.0}"),
        _ if x >= 1e7 => format!("{:.1} ms", x / 1e6),
        _ => format!("{:.1} µs", x / 1e3),
    }
}

/// A rendered timeline: RGB pixels, and where its two panels are.
pub struct Picture {
    /// Width in pixels.
    pub w: u32,
    /// Height in pixels.
    pub h: u32,
    /// Row-major, 3 bytes a pixel.
    pub rgb: Vec<u8>,
    /// Pixel ranges (x, y) of the tracks' plotting area.
    pub tracks: (Range<i32>, Range<i32>),
    /// Pixel ranges (x, y) of the ring indices' plotting area.
    pub ring: (Range<i32>, Range<i32>),
}

impl Picture {
    /// The pixel at (x, y), if inside.
    pub fn get(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        (x < self.w && y < self.h).then(|| {
            let i = (y * self.w + x) as usize * 3;
            [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
        })
    }

    /// Writes the picture as an 8-bit RGB PNG.
    pub fn save_png(&self, path: &Path) -> io::Result<()> {
        let file = io::BufWriter::new(std::fs::File::create(path)?);
        let mut enc = png::Encoder::new(file, self.w, self.h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(io::Error::other)?;
        w.write_image_data(&self.rgb).map_err(io::Error::other)?;
        w.finish().map_err(io::Error::other)
    }
}

/// What plotters reports, as an I/O error for the command line.
fn failed(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("drawing the timeline failed: {e}"))
}

/// Renders `tl`; `title` goes on top.
pub fn draw(tl: &Timeline, title: &str) -> io::Result<Picture> {
    let rows = TRACKS.len() as u32;
    let h = TITLE_H + rows * ROW_H + RING_H;
    let mut rgb = vec![255u8; (W * h * 3) as usize];
    let (tracks, ring) = {
        let backend = TextBitmap::new(&mut rgb, (W, h)).map_err(failed)?;
        let root = backend.into_drawing_area();
        let (head, body) = root.split_vertically(TITLE_H);
        head.draw(&Text::new(
            title,
            (12, 12),
            ("sans-serif", 20).into_font().color(&INK),
        ))
        .map_err(failed)?;
        let (upper, lower) = body.split_vertically(rows * ROW_H);
        let tracks = draw_tracks(&upper, tl).map_err(failed)?;
        let ring = draw_ring(&lower, tl).map_err(failed)?;
        root.present().map_err(failed)?;
        (tracks, ring)
    };
    Ok(Picture {
        w: W,
        h,
        rgb,
        tracks,
        ring,
    })
}

type Area<'a> = DrawingArea<TextBitmap<'a>, Shift>;
type Drawn<'a> = Result<
    (Range<i32>, Range<i32>),
    DrawingAreaErrorKind<<TextBitmap<'a> as DrawingBackend>::ErrorType>,
>;

/// The track rows: a label and a count each, a tick per mark, dashed
/// lines where faults fired.
fn draw_tracks<'a>(area: &Area<'a>, tl: &Timeline) -> Drawn<'a> {
    let rows = TRACKS.len() as i32;
    let span = tl.x_max.max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .margin_right(RIGHT)
        .y_label_area_size(LEFT)
        .build_cartesian_2d(0f64..span, (0..rows - 1).into_segmented())?;
    // Row r (0..rows, a segment each) counts from the bottom; the first
    // track is on top.
    let track_of = |row: i32| TRACKS[(rows - 1 - row).clamp(0, rows - 1) as usize];
    let row_of = |t: Track| rows - 1 - TRACKS.iter().position(|&x| x == t).unwrap_or(0) as i32;
    let top_of = |row: i32| {
        if row + 1 < rows {
            SegmentValue::Exact(row + 1)
        } else {
            SegmentValue::Last
        }
    };
    let label = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(row) => {
            let t = track_of(*row);
            let n = tl.marks.iter().filter(|m| m.track == t).count();
            format!("{:<12}{n:>6}", t.label())
        }
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .x_labels(9)
        .y_labels(rows as usize)
        .y_label_formatter(&label)
        .y_label_style(("sans-serif", 15).into_font().color(&INK))
        .disable_y_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(INK)
        .draw()?;
    chart.draw_series(
        (0..rows).map(|row| PathElement::new(vec![(0.0, top_of(row)), (span, top_of(row))], GRID)),
    )?;
    chart.draw_series(
        tl.marks
            .iter()
            .filter(|m| m.track == Track::Fault && m.name.contains(" fire"))
            .map(|m| {
                let x = m.x as f64;
                let ends = vec![(x, SegmentValue::Exact(0)), (x, SegmentValue::Last)];
                DashedPathElement::new(ends, 4, 4, FAULT.stroke_width(1))
            }),
    )?;
    // A tick a row high less a margin, anchored at the row's top.
    let row_px = chart.plotting_area().dim_in_pixel().1 as i32 / rows;
    chart.draw_series(tl.marks.iter().map(|m| {
        let fill = colour(m.track, m.class).filled();
        let top = (m.x as f64, top_of(row_of(m.track)));
        EmptyElement::at(top) + Rectangle::new([(0, 5), (1, row_px - 6)], fill)
    }))?;
    Ok(chart.plotting_area().get_pixel_range())
}

/// The producer/consumer step lines, the axis labels and the legend of
/// every colour.
fn draw_ring<'a>(area: &Area<'a>, tl: &Timeline) -> Drawn<'a> {
    let span = tl.x_max.max(1) as f64;
    let max = tl
        .indices
        .iter()
        .map(|i| i.prod.max(i.cons))
        .max()
        .unwrap_or(0)
        .max(1);
    let axis = match tl.axis {
        Some(Axis::Event) => "event number",
        _ => "the card's virtual time (VTIME)",
    };
    let mut chart = ChartBuilder::on(area)
        .margin_top(40)
        .margin_right(RIGHT)
        .margin_bottom(30)
        .y_label_area_size(LEFT)
        .x_label_area_size(50)
        .caption("ring indices", ("sans-serif", 16).into_font().color(&INK))
        .build_cartesian_2d(0f64..span, 0f64..f64::from(max))?;
    let x_label = |x: &f64| axis_label(tl.axis, *x);
    chart
        .configure_mesh()
        .x_labels(9)
        .y_labels(4)
        .x_label_formatter(&x_label)
        .y_label_formatter(&|v| format!("{v:.0}"))
        .x_desc(format!("axis: {axis}"))
        .label_style(("sans-serif", 15).into_font().color(&INK))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(INK)
        .draw()?;
    for (col, pick) in [
        (PROD, (|i: &Indices| i.prod) as fn(&Indices) -> u32),
        (CONS, |i: &Indices| i.cons),
    ] {
        chart.draw_series(LineSeries::new(steps(tl, pick), col.stroke_width(2)))?;
    }
    // The legend, in the label area left of the plot, where no line runs.
    let legend = [
        ("PROD_IDX", PROD),
        ("CONS_IDX", CONS),
        ("irq DATA_READY", VECTOR[0]),
        ("irq ERROR", VECTOR[1]),
        ("irq COPY_DONE", VECTOR[2]),
        ("irq OVERFLOW", VECTOR[3]),
        ("fault fired", FAULT),
    ];
    let font = ("sans-serif", 14).into_font().color(&INK);
    for (k, (name, col)) in legend.into_iter().enumerate() {
        let at = (10, 44 + 22 * k as i32);
        area.draw(
            &(EmptyElement::at(at)
                + Rectangle::new([(0, 0), (12, 12)], col.filled())
                + Text::new(name, (18, -1), font.clone())),
        )?;
    }
    Ok(chart.plotting_area().get_pixel_range())
}

/// One index as a step line: flat until the next change, then up or down,
/// and on to the end of the axis.
fn steps(tl: &Timeline, pick: fn(&Indices) -> u32) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = Vec::new();
    for i in &tl.indices {
        let (x, v) = (i.x as f64, f64::from(pick(i)));
        if let Some(&(_, last)) = points.last() {
            points.push((x, last));
        }
        points.push((x, v));
    }
    if let Some(&(_, last)) = points.last() {
        points.push((tl.x_max.max(1) as f64, last));
    }
    points
}

/// Renders `tl` and writes it to `path` as PNG.
pub fn write_png(tl: &Timeline, title: &str, path: &Path) -> io::Result<()> {
    draw(tl, title)?.save_png(path)
}

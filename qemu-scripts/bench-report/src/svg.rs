//! Draws a bar chart as SVG with `plotters` (SVG backend only: text goes out
//! as `<text>` elements that the viewer lays out, so no font file and no
//! fontconfig is needed, at build time or at run time).
//!
//! Groups sit at integer x positions; each series has one bar per group,
//! side by side. A bar may carry a whisker (`lo ..= hi`), a marker (a short
//! black line, e.g. the memcpy rate) and a note (a second label line, e.g. a
//! ratio). When the values span more than [`LOG_SPAN`]x, the y axis is
//! logarithmic, and its description says so.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Values spanning more than this factor get a logarithmic y axis.
pub const LOG_SPAN: f64 = 30.0;

const SIZE: (u32, u32) = (960, 540);

const COLOURS: [RGBColor; 4] = [
    RGBColor(0x4c, 0x72, 0xb0),
    RGBColor(0xdd, 0x84, 0x52),
    RGBColor(0x55, 0xa8, 0x68),
    RGBColor(0xc4, 0x4e, 0x52),
];

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub value: f64,
    /// Whisker bottom (defaults to the value).
    pub lo: Option<f64>,
    /// Whisker top (defaults to the value).
    pub hi: Option<f64>,
    pub marker: Option<f64>,
    /// A second label line, above the value.
    pub note: Option<String>,
}

impl Bar {
    pub fn new(value: f64) -> Self {
        Bar {
            value,
            lo: None,
            hi: None,
            marker: None,
            note: None,
        }
    }
}

/// One bar per group (`None`: not measured).
#[derive(Debug, Clone)]
pub struct Series {
    /// In the legend (shown when there is more than one series).
    pub name: String,
    pub bars: Vec<Option<Bar>>,
}

/// A bar chart.
#[derive(Debug, Clone)]
pub struct BarChart {
    pub title: String,
    pub y_desc: String,
    /// Formats values for the y axis and the bar labels.
    pub unit: fn(f64) -> String,
    /// The x labels.
    pub groups: Vec<String>,
    pub series: Vec<Series>,
    /// The legend text of the markers, if any bar has one.
    pub marker_legend: Option<String>,
}

/// Drawing or writing the SVG failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw {path}: {message}")]
pub struct PlotError {
    pub path: String,
    pub message: String,
}

impl BarChart {
    /// Every value drawn (bars, whiskers, markers).
    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.series
            .iter()
            .flat_map(|s| s.bars.iter().flatten())
            .flat_map(|b| [Some(b.value), b.lo, b.hi, b.marker])
            .flatten()
            .filter(|v| v.is_finite() && *v > 0.0)
    }

    /// Whether a legend is drawn (top right, above the bars).
    fn has_legend(&self) -> bool {
        self.series.len() > 1 || self.marker_legend.is_some()
    }

    /// Whether a bar carries a second label line (it needs headroom).
    fn has_notes(&self) -> bool {
        self.series
            .iter()
            .flat_map(|s| s.bars.iter().flatten())
            .any(|b| b.note.is_some())
    }

    /// Writes the chart to `path` (an SVG file).
    pub fn render(&self, path: &Path) -> Result<(), PlotError> {
        let err = |e: &dyn std::fmt::Display| PlotError {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let root = SVGBackend::new(path, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let lo = self.values().fold(f64::INFINITY, f64::min);
        let hi = self.values().fold(0.0, f64::max);
        let n = self.groups.len().max(1) as f64;
        let x = -0.5..n - 0.5;
        if !lo.is_finite() {
            self.empty(&root).map_err(|e| err(&e))?;
        } else if hi / lo > LOG_SPAN {
            // From a power of ten, so the axis has a labelled tick below the bars.
            let base = 10f64.powf((lo / 1.5).log10().floor());
            let top = if self.has_legend() {
                hi * 30.0
            } else if self.has_notes() {
                hi * 6.0
            } else {
                hi * 4.0
            };
            self.draw(&root, x, (base..top).log_scale(), base, " (log scale)")
                .map_err(|e| err(&e))?;
        } else {
            let top = if self.has_legend() {
                hi * 1.4
            } else if self.has_notes() {
                hi * 1.22
            } else {
                hi * 1.15
            };
            self.draw(&root, x, 0.0..top, 0.0, "")
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
        Ok(())
    }

    /// A chart with nothing measured: the title and a line saying so.
    fn empty(
        &self,
        root: &DrawingArea<SVGBackend, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
        let root = root.titled(&self.title, ("sans-serif", 22))?;
        root.draw(&Text::new(
            "not measured: see report.md",
            (SIZE.0 as i32 / 2 - 120, SIZE.1 as i32 / 2 - 40),
            ("sans-serif", 20),
        ))
    }

    fn draw<Y>(
        &self,
        root: &DrawingArea<SVGBackend, Shift>,
        x: std::ops::Range<f64>,
        y: Y,
        base: f64,
        y_scale: &str,
    ) -> Result<(), DrawingAreaErrorKind<std::io::Error>>
    where
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(90)
            .build_cartesian_2d(x, y)?;
        let groups = &self.groups;
        let unit = self.unit;
        let x_label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < groups.len() {
                groups[i as usize].clone()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(groups.len().max(1))
            .x_label_formatter(&x_label)
            .y_label_formatter(&|v: &f64| unit(*v))
            .y_desc(format!("{}{y_scale}", self.y_desc))
            .axis_desc_style(("sans-serif", 15))
            .label_style(("sans-serif", 13))
            .draw()?;

        let k = self.series.len().max(1) as f64;
        let width = 0.8 / k;
        for (j, series) in self.series.iter().enumerate() {
            let colour = COLOURS[j % COLOURS.len()];
            let left = |g: usize| g as f64 - 0.4 + j as f64 * width;
            let bars = series.bars.iter().enumerate().filter_map(|(g, b)| {
                let b = b.as_ref()?;
                let mut r = Rectangle::new(
                    [(left(g), base), (left(g) + width, b.value)],
                    colour.filled(),
                );
                r.set_margin(0, 0, 3, 3);
                Some(r)
            });
            let drawn = chart.draw_series(bars)?;
            if self.series.len() > 1 {
                drawn.label(series.name.as_str()).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
                });
            }
            for (g, b) in series.bars.iter().enumerate() {
                let Some(b) = b else { continue };
                let cx = left(g) + width / 2.0;
                let (lo, hi) = (b.lo.unwrap_or(b.value), b.hi.unwrap_or(b.value));
                if lo != hi {
                    let whisker = BLACK.stroke_width(1);
                    chart.draw_series([PathElement::new(vec![(cx, lo), (cx, hi)], whisker)])?;
                    for end in [lo, hi] {
                        chart.draw_series([EmptyElement::at((cx, end))
                            + PathElement::new(vec![(-5, 0), (5, 0)], whisker)])?;
                    }
                }
                if let Some(m) = b.marker {
                    chart.draw_series([EmptyElement::at((cx, m))
                        + PathElement::new(vec![(-12, 0), (12, 0)], BLACK.stroke_width(3))])?;
                }
                let style = ("sans-serif", 12)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Bottom));
                chart
                    .draw_series([EmptyElement::at((cx, hi))
                        + Text::new(unit(b.value), (0, -4), style.clone())])?;
                if let Some(note) = &b.note {
                    chart.draw_series([
                        EmptyElement::at((cx, hi)) + Text::new(note.clone(), (0, -18), style)
                    ])?;
                }
            }
        }
        if let Some(text) = &self.marker_legend {
            chart
                .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?
                .label(text.as_str())
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 12, y)], BLACK.stroke_width(3))
                });
        }
        if self.has_legend() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 13))
                .draw()?;
        }
        Ok(())
    }
}

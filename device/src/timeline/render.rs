//! The PNG timeline (SPEC §15.3): one row per track with a tick per event,
//! fault firings as red lines across all rows, and the ring's producer and
//! consumer indices as step lines below, on a shared axis.

use std::io;
use std::path::Path;

use super::canvas::{text_advance, text_height, Canvas, Rgb};
use super::{Axis, Timeline, Track, TRACKS};

const W: usize = 1600;
const LEFT: i64 = 190;
const RIGHT: i64 = 40;
const TOP: i64 = 56;
const ROW: i64 = 38;
const PANEL: i64 = 170;
const GAP: i64 = 46;
const BOTTOM: i64 = 84;

const BG: Rgb = [255, 255, 255];
const INK: Rgb = [20, 20, 20];
const GRID: Rgb = [225, 225, 225];
const FAULT: Rgb = [215, 25, 32];
const PROD: Rgb = [33, 102, 172];
const CONS: Rgb = [26, 150, 65];
const VECTOR: [Rgb; 4] = [[33, 102, 172], [215, 25, 32], [26, 150, 65], [230, 120, 0]];

fn colour(track: Track, class: u8) -> Rgb {
    match track {
        Track::MmioWrite => [90, 90, 90],
        Track::MmioRead => [150, 150, 150],
        Track::DmaWrite => [33, 102, 172],
        Track::DmaRead => [103, 169, 207],
        Track::Irq => VECTOR[usize::from(class.min(3))],
        Track::Fault => FAULT,
        Track::Card => match class {
            1 => FAULT,
            2 => [118, 42, 131],
            _ => [120, 120, 120],
        },
    }
}

/// Axis position label.
fn axis_label(axis: Option<Axis>, x: u64) -> String {
    match axis {
        Some(Axis::Event) => format!("#{x}"),
        _ if x >= 10_000_000 => format!("{:.1}MS", x as f64 / 1e6),
        _ => format!("{:.1}US", x as f64 / 1e3),
    }
}

/// Renders `tl` to a canvas; `title` goes on top.
pub fn draw(tl: &Timeline, title: &str) -> Canvas {
    let plot_w = W as i64 - LEFT - RIGHT;
    let rows_h = ROW * TRACKS.len() as i64;
    let panel_top = TOP + rows_h + GAP;
    let h = (panel_top + PANEL + BOTTOM) as usize;
    let mut c = Canvas::new(W, h, BG);
    let span = tl.x_max.max(1) as f64;
    let px = |x: u64| LEFT + ((x as f64 / span) * (plot_w - 1) as f64).round() as i64;

    c.text(12, 14, title, 2, INK);
    // Rows: label, separator, ticks.
    for (i, t) in TRACKS.iter().enumerate() {
        let y = TOP + i as i64 * ROW;
        let n = tl.marks.iter().filter(|m| m.track == *t).count();
        c.rect(LEFT, y + ROW - 1, plot_w, 1, GRID);
        c.text(10, y + (ROW - text_height(2)) / 2, t.label(), 2, INK);
        let count = format!("{n}");
        c.text(
            LEFT - 12 - text_advance(1) * count.len() as i64,
            y + ROW / 2 - 3,
            &count,
            1,
            INK,
        );
    }
    // Axis gridlines and labels.
    for k in 0..=8u64 {
        let x = tl.x_max / 8 * k + (tl.x_max % 8) * k / 8;
        let gx = px(x);
        c.rect(gx, TOP, 1, rows_h, GRID);
        c.rect(gx, panel_top, 1, PANEL, GRID);
        let label = axis_label(tl.axis, x);
        let lw = text_advance(2) * label.len() as i64;
        let lx = (gx - lw / 2).clamp(LEFT - 20, W as i64 - lw - 4);
        c.text(lx, panel_top + PANEL + 10, &label, 2, INK);
    }
    // Fault firings across every row.
    for m in tl
        .marks
        .iter()
        .filter(|m| m.track == Track::Fault && m.name.contains(" fire"))
    {
        let x = px(m.x);
        let mut y = TOP;
        while y < TOP + rows_h {
            c.rect(x, y, 1, 4, FAULT);
            y += 8;
        }
    }
    for m in &tl.marks {
        let row = TRACKS.iter().position(|t| *t == m.track).unwrap_or(0) as i64;
        let y = TOP + row * ROW + 5;
        c.rect(px(m.x), y, 2, ROW - 11, colour(m.track, m.class));
    }
    // Index panel.
    let max = tl
        .indices
        .iter()
        .map(|i| i.prod.max(i.cons))
        .max()
        .unwrap_or(0)
        .max(1);
    c.rect(LEFT, panel_top, plot_w, 1, INK);
    c.rect(LEFT, panel_top + PANEL, plot_w, 1, INK);
    c.text(10, panel_top + 4, "RING IDX", 2, INK);
    c.text(10, panel_top + 26, &format!("0..{max}"), 2, INK);
    c.text(10, panel_top + 60, "PROD", 2, PROD);
    c.text(10, panel_top + 82, "CONS", 2, CONS);
    let py = |v: u32| {
        panel_top + PANEL - 2 - (f64::from(v) / f64::from(max) * (PANEL - 6) as f64) as i64
    };
    for (pick, col) in [(0, PROD), (1, CONS)] {
        let val = |i: &super::Indices| if pick == 0 { i.prod } else { i.cons };
        let mut last: Option<(i64, i64)> = None;
        for i in &tl.indices {
            let p = (px(i.x), py(val(i)));
            if let Some(l) = last {
                c.line(l, (p.0, l.1), col);
                c.line((p.0, l.1), p, col);
            }
            last = Some(p);
        }
        if let Some(l) = last {
            c.line(l, (LEFT + plot_w - 1, l.1), col);
        }
    }
    let axis = match tl.axis {
        Some(Axis::Event) => "AXIS: EVENT NUMBER",
        _ => "AXIS: CARD VIRTUAL TIME (VTIME)",
    };
    c.text(LEFT, panel_top + PANEL + 40, axis, 2, INK);
    let mut lx = LEFT + 520;
    for (name, col) in [
        ("DATA_READY", VECTOR[0]),
        ("ERROR", VECTOR[1]),
        ("COPY_DONE", VECTOR[2]),
        ("OVERFLOW", VECTOR[3]),
        ("FAULT", FAULT),
    ] {
        c.rect(lx, panel_top + PANEL + 40, 14, 14, col);
        lx = c.text(lx + 20, panel_top + PANEL + 40, name, 2, INK) + 24;
    }
    c
}

/// Renders `tl` and writes it to `path` as PNG.
pub fn write_png(tl: &Timeline, title: &str, path: &Path) -> io::Result<()> {
    draw(tl, title).save_png(path)
}

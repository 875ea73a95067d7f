//! Timeline layout and export (SPEC §15.3).

use super::*;
use crate::trace::parse_trace;

const TRACE: &str = r#"{"t":0,"ev":"start","version":2,"seed":"0x1","deterministic":true,"bar2_size":"0x1000","record_size":64,"rate":0,"debug_window":false,"faults":["drop-irq at=0 count=1 cause=any"]}
{"t":0,"ev":"mmio","dir":"w","bar":0,"off":"0x58","len":4,"val":"0x100000"}
{"t":0,"ev":"mmio","dir":"w","bar":0,"off":"0x5c","len":4,"val":"0x0"}
{"t":0,"ev":"fault","kind":"drop-irq","act":"fire"}
{"t":1000,"ev":"dma","dir":"w","addr":"0x100000","len":64,"hash":"0x0","data":"03000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"}
{"t":1000,"ev":"irq","cause":"0x1","vec":0}
{"t":2000,"ev":"mmio","dir":"w","bar":0,"off":"0x64","len":4,"val":"0x2"}
{"t":3000,"ev":"error","code":1,"addr":"0x0"}
{"t":3000,"ev":"reset","src":"vmm"}"#;

/// SPEC §15.3: marks on their tracks, indices from the status block
/// write-back and CONS_IDX writes, reset clears them.
#[test]
fn layout_from_a_trace() {
    let lines = parse_trace(TRACE).unwrap();
    let tl = Timeline::build(&lines, Axis::Vtime);
    assert_eq!(tl.x_max, 3000);
    let on = |t: Track| tl.marks.iter().filter(|m| m.track == t).count();
    assert_eq!(on(Track::MmioWrite), 3);
    assert_eq!(
        (on(Track::DmaWrite), on(Track::Irq), on(Track::Fault)),
        (1, 1, 1)
    );
    assert_eq!(on(Track::Card), 2);
    let pc: Vec<(u64, u32, u32)> = tl.indices.iter().map(|i| (i.x, i.prod, i.cons)).collect();
    assert_eq!(pc, [(0, 0, 0), (1000, 3, 0), (2000, 3, 2), (3000, 0, 0)]);
    let by_event = Timeline::build(&lines, Axis::Event);
    assert_eq!(by_event.x_max, 9);
}

/// SPEC §15.3: the JSON is a trace-event document with named tracks,
/// instant events and a counter.
#[test]
fn chrome_json_shape() {
    let lines = parse_trace(TRACE).unwrap();
    let v = chrome::to_json(&Timeline::build(&lines, Axis::Vtime), "t.jsonl");
    let evs = v["traceEvents"].as_array().unwrap();
    assert!(evs
        .iter()
        .any(|e| e["ph"] == "M" && e["args"]["name"] == "IRQ"));
    let irq = evs.iter().find(|e| e["cat"] == "IRQ").unwrap();
    assert_eq!(irq["ts"], 1.0);
    assert_eq!(irq["name"], "DATA_READY vec 0");
    assert!(evs.iter().any(|e| e["ph"] == "C" && e["args"]["prod"] == 3));
}

/// Pixels of colour `c` within `r` pixels of (x, y).
fn near(pic: &render::Picture, (x, y): (i32, i32), r: i32, c: RGBColor) -> usize {
    let want = [c.0, c.1, c.2];
    (x - r..=x + r)
        .flat_map(|px| (y - r..=y + r).map(move |py| (px, py)))
        .filter(|&(px, py)| pic.get(px as u32, py as u32) == Some(want))
        .count()
}

/// Where data point (x, v) of the ring panel lands, on an axis of `span`
/// and indices up to `max`.
fn ring_point(pic: &render::Picture, (x, v): (f64, f64), span: f64, max: f64) -> (i32, i32) {
    let (xs, ys) = &pic.ring;
    let px = xs.start + (x / span * f64::from(xs.end - 1 - xs.start)).round() as i32;
    let py = ys.end - 1 - (v / max * f64::from(ys.end - 1 - ys.start)).round() as i32;
    (px, py)
}

use plotters::style::RGBColor;

/// SPEC §15.3: the PNG has the layout's size; the PROD and CONS step lines
/// run through the indices the trace gave them, in their colours; the
/// interrupt and the fault are ticked; a PNG file comes out.
#[test]
fn png_draws_the_indices_and_the_events() {
    let lines = parse_trace(TRACE).unwrap();
    let pic = render::draw(&Timeline::build(&lines, Axis::Vtime), "TEST").unwrap();
    assert_eq!((pic.w, pic.h), (render::W, 610));
    // Indices (SPEC example above): PROD 3 from 1000 ns to 3000 ns, CONS 2
    // from 2000 ns; the axis spans 3000 ns, the panel 0..=3.
    let at = |x, v| ring_point(&pic, (x, v), 3000.0, 3.0);
    let prod = |x, v| near(&pic, at(x, v), 2, render::PROD);
    // A step: it rises at 1000 ns, not before.
    assert!(prod(1000.0, 1.5) > 0, "PROD rises at 1000 ns");
    assert_eq!(prod(500.0, 1.5), 0, "PROD is a step, not a ramp");
    assert!(prod(1500.0, 3.0) > 0, "PROD at 3");
    assert_eq!(
        near(&pic, at(1500.0, 0.0), 2, render::PROD),
        0,
        "PROD has left 0"
    );
    assert!(
        near(&pic, at(2500.0, 2.0), 2, render::CONS) > 0,
        "CONS at 2"
    );
    assert!(
        near(&pic, at(1500.0, 0.0), 2, render::CONS) > 0,
        "CONS at 0 first"
    );
    // Ticks in their rows: the CONS_IDX write (MMIO W, the top row) at
    // 2000 ns, the interrupt (vector 0, the fifth row) at 1000 ns.
    let (xs, ys) = &pic.tracks;
    let row = |k: i32| ys.start + (ys.end - ys.start) * (2 * k + 1) / 14;
    let x = |t: f64| xs.start + (t / 3000.0 * f64::from(xs.end - 1 - xs.start)).round() as i32;
    let mmio_w = RGBColor(90, 90, 90);
    assert!(
        near(&pic, (x(2000.0), row(0)), 3, mmio_w) > 0,
        "MMIO W tick"
    );
    assert_eq!(
        near(&pic, (x(2000.0), row(6)), 3, mmio_w),
        0,
        "not elsewhere"
    );
    assert!(
        near(&pic, (x(1000.0), row(4)), 3, render::PROD) > 0,
        "IRQ tick"
    );

    let path = std::env::temp_dir().join(format!("cardless-tl-{}.png", std::process::id()));
    pic.save_png(&path).unwrap();
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
    let info = decoder.read_info().unwrap().info().clone();
    std::fs::remove_file(&path).ok();
    assert_eq!((info.width, info.height), (pic.w, pic.h));

    // An empty trace renders too, with no index line in the panel.
    let empty = render::draw(&Timeline::default(), "").unwrap();
    let (xs, ys) = &empty.ring;
    let prod = (xs.start..xs.end)
        .flat_map(|x| (ys.start..ys.end).map(move |y| (x, y)))
        .filter(|&(x, y)| empty.get(x as u32, y as u32) == Some([33, 102, 172]))
        .count();
    assert_eq!(prod, 0);
}

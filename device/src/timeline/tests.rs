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

/// SPEC §15.3: the PNG has the size of the layout, with ink on it.
#[test]
fn png_renders() {
    let lines = parse_trace(TRACE).unwrap();
    let c = render::draw(&Timeline::build(&lines, Axis::Vtime), "TEST");
    assert_eq!(c.w, 1600);
    let inked = (0..c.h)
        .flat_map(|y| (0..c.w).map(move |x| (x, y)))
        .filter(|&(x, y)| c.get(x, y) != Some([255; 3]))
        .count();
    assert!(inked > 5000, "{inked}");
    let path = std::env::temp_dir().join(format!("cardless-tl-{}.png", std::process::id()));
    c.save_png(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(&bytes[1..4], b"PNG");
    // An empty trace still renders.
    render::draw(&Timeline::default(), "");
}

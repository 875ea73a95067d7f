//! Chrome trace-event JSON (the format chrome://tracing and the Perfetto
//! UI open): one thread per track, instant events for marks, a counter
//! track for the producer and consumer indices (SPEC §15.3).

use serde_json::{json, Value};

use super::{Axis, Timeline, TRACKS};

/// The trace-event document for `tl`. Timestamps are µs: VTIME / 1000, or
/// the event number itself with `Axis::Event`.
pub fn to_json(tl: &Timeline, source: &str) -> Value {
    let ts = |x: u64| -> f64 {
        match tl.axis {
            Some(Axis::Event) => x as f64,
            _ => x as f64 / 1000.0,
        }
    };
    let mut ev = vec![json!({
        "name": "process_name", "ph": "M", "pid": 1, "tid": 0,
        "args": {"name": format!("cardless card ({source})")}
    })];
    for t in TRACKS {
        ev.push(json!({
            "name": "thread_name", "ph": "M", "pid": 1, "tid": t.tid(),
            "args": {"name": t.label()}
        }));
        ev.push(json!({
            "name": "thread_sort_index", "ph": "M", "pid": 1, "tid": t.tid(),
            "args": {"sort_index": t.tid()}
        }));
    }
    for m in &tl.marks {
        ev.push(json!({
            "name": m.name, "cat": m.track.label(), "ph": "i", "s": "t",
            "ts": ts(m.x), "pid": 1, "tid": m.track.tid(),
            "args": {"event": m.line}
        }));
    }
    for i in &tl.indices {
        ev.push(json!({
            "name": "ring indices", "ph": "C", "ts": ts(i.x), "pid": 1,
            "args": {"prod": i.prod, "cons": i.cons}
        }));
    }
    let unit = match tl.axis {
        Some(Axis::Event) => "timestamps are event numbers",
        _ => "timestamps are the card's virtual time (VTIME) in us",
    };
    json!({
        "traceEvents": ev,
        "displayTimeUnit": "ns",
        "otherData": {"source": source, "axis": unit}
    })
}

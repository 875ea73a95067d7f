//! What each plot shows: the four bar charts built from a [`Bench`], every
//! title stating the accelerator and what the bars and whiskers are, every x
//! label the buffer size where sizes differ. Drawing is [`crate::svg`]'s job.

use crate::ratios;
use crate::schema::{Bench, RegisterTarget, ANONYMOUS, STRATEGIES};
use crate::svg::{Bar, BarChart, Series};
use crate::units::{duration_ns, mib_per_s, ratio, size, MIB};
use std::collections::BTreeSet;

/// The plots, as (file name, chart), in report order.
pub fn all(bench: &Bench) -> Vec<(&'static str, BarChart)> {
    vec![
        ("first_touch.svg", first_touch(bench)),
        ("seq_read.svg", seq_read(bench)),
        ("streaming.svg", streaming(bench)),
        ("latency.svg", latency(bench)),
    ]
}

/// "TCG, median of 5 runs" (or "of 3–5 runs" when sections differ).
fn run(bench: &Bench, runs: impl Iterator<Item = u64>) -> String {
    let runs: BTreeSet<u64> = runs.collect();
    let n = match (runs.first(), runs.last()) {
        (Some(a), Some(b)) if a == b => format!("{a}"),
        (Some(a), Some(b)) => format!("{a}–{b}"),
        _ => "?".to_string(),
    };
    format!("{}, median of {n} runs", bench.accel.label())
}

/// Group labels: the names, with each buffer size when the sizes differ.
fn labels(names: &[&str], size_of: impl Fn(&str) -> Option<u64>) -> Vec<String> {
    let sizes: BTreeSet<u64> = names.iter().filter_map(|n| size_of(n)).collect();
    names
        .iter()
        .map(|n| match size_of(n) {
            Some(b) if sizes.len() > 1 => format!("{n} ({})", size(b)),
            _ => n.to_string(),
        })
        .collect()
}

/// One series, one bar per group (`None` for a group with no figure).
fn single(bars: Vec<Option<Bar>>) -> Vec<Series> {
    vec![Series {
        name: String::new(),
        bars,
    }]
}

/// Per page, the figure comparable across buffer sizes; the total as a note.
fn first_touch(bench: &Bench) -> BarChart {
    let find = |s: &str| bench.first_touch.iter().find(|e| e.strategy == s);
    BarChart {
        title: format!(
            "First touch per page: mmap + one read of every page ({}; whiskers: min–max)",
            run(bench, bench.first_touch.iter().map(|e| e.runs))
        ),
        y_desc: "time per page".to_string(),
        unit: duration_ns,
        groups: labels(&STRATEGIES, |s| find(s).map(|e| e.bytes)),
        series: single(
            STRATEGIES
                .iter()
                .map(|s| {
                    let e = find(s)?;
                    let pages = e.pages as f64;
                    Some(Bar {
                        value: ratios::per_page_ns(e),
                        lo: Some(e.ns().min / pages),
                        hi: Some(e.ns().max / pages),
                        marker: None,
                        note: Some(format!("{} total", duration_ns(e.ns().median))),
                    })
                })
                .collect(),
        ),
        marker_legend: None,
    }
}

fn seq_read(bench: &Bench) -> BarChart {
    let names: Vec<&str> = std::iter::once(ANONYMOUS).chain(STRATEGIES).collect();
    let find = |s: &str| bench.seq_read.iter().find(|e| e.strategy == s);
    BarChart {
        title: format!(
            "Sequential read of a populated mapping ({}; whiskers: min–max)",
            run(bench, bench.seq_read.iter().map(|e| e.runs))
        ),
        y_desc: "read bandwidth".to_string(),
        unit: mib_per_s,
        groups: labels(&names, |s| find(s).map(|e| e.bytes)),
        series: single(
            names
                .iter()
                .map(|s| {
                    let e = find(s)?;
                    let vs = ratios::seq_read_vs_anonymous(&bench.seq_read, e);
                    Some(Bar {
                        value: e.mib_s().median,
                        lo: Some(e.mib_s().min),
                        hi: Some(e.mib_s().max),
                        marker: None,
                        note: vs.map(|r| format!("{} anon.", ratio(r))),
                    })
                })
                .collect(),
        ),
        marker_legend: None,
    }
}

fn streaming(bench: &Bench) -> BarChart {
    let sizes: BTreeSet<u64> = bench.streaming.iter().map(|e| e.record_size).collect();
    let rings: BTreeSet<u64> = bench.streaming.iter().map(|e| e.ring_bytes).collect();
    let ring = match rings.iter().collect::<Vec<_>>()[..] {
        [one] => format!("{} ring, ", size(*one)),
        _ => String::new(),
    };
    let series = sizes
        .iter()
        .map(|&record| Series {
            name: format!("{} records", size(record)),
            bars: STRATEGIES
                .iter()
                .map(|s| {
                    let e = bench
                        .streaming
                        .iter()
                        .find(|e| e.strategy == *s && e.record_size == record)?;
                    // In MiB/s: a log axis then has its ticks at 1, 10, 100 MiB/s.
                    let mib = record as f64 / MIB;
                    Some(Bar {
                        value: e.median_bytes_per_s / MIB,
                        lo: Some(e.records_per_s().min * mib),
                        hi: Some(e.records_per_s().max * mib),
                        marker: Some(e.memcpy_bytes_per_s / MIB),
                        note: None,
                    })
                })
                .collect(),
        })
        .collect();
    BarChart {
        title: format!(
            "Streaming, every record verified ({ring}{}; whiskers: min–max)",
            run(bench, bench.streaming.iter().map(|e| e.runs))
        ),
        y_desc: "verified bytes per second".to_string(),
        unit: mib_per_s,
        groups: STRATEGIES.iter().map(|s| s.to_string()).collect(),
        series,
        marker_legend: Some("memcpy of the same ring".to_string()),
    }
}

fn latency(bench: &Bench) -> BarChart {
    let mut groups: Vec<String> = RegisterTarget::ALL
        .iter()
        .map(|t| t.short().to_string())
        .collect();
    groups.push("IRQ round trip".to_string());
    let mut bars: Vec<Option<Bar>> = RegisterTarget::ALL
        .iter()
        .map(|t| {
            let e = bench
                .register_latency
                .iter()
                .find(|e| e.kind() == Some(*t))?;
            Some(Bar {
                value: e.median_ns,
                lo: None,
                hi: Some(e.p99_ns),
                marker: None,
                note: Some(format!("{} reads", e.samples)),
            })
        })
        .collect();
    bars.push(bench.irq_round_trip.as_ref().map(|i| Bar {
        value: i.median_us * 1e3,
        lo: None,
        hi: Some(i.p99_us * 1e3),
        marker: None,
        note: Some(format!("{} round trips", i.samples)),
    }));
    BarChart {
        title: format!(
            "Register read and interrupt round trip ({}; bars: median, whiskers: p99)",
            bench.accel.label()
        ),
        y_desc: "latency".to_string(),
        unit: duration_ns,
        groups,
        series: single(bars),
        marker_legend: None,
    }
}

//! What each plot shows: the four bar charts built from a [`Bench`], every
//! title stating the accelerator. Drawing is [`crate::svg`]'s job.

use crate::schema::{Bench, RegisterTarget, ANONYMOUS, STRATEGIES};
use crate::svg::{Bar, BarChart, Series};
use crate::units::{duration_ns, mib_per_s, size, MIB};
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

/// "TCG, median of 5 runs".
fn run(bench: &Bench) -> String {
    format!("{}, median of {} runs", bench.accel.label(), bench.runs)
}

/// One series, one bar per group (`None` for a group with no figure).
fn single(bars: Vec<Option<Bar>>) -> Vec<Series> {
    vec![Series {
        name: String::new(),
        bars,
    }]
}

fn first_touch(bench: &Bench) -> BarChart {
    let sizes: BTreeSet<u64> = bench.first_touch.iter().map(|e| e.bytes).collect();
    let what = match sizes.iter().collect::<Vec<_>>()[..] {
        [one] => format!("a {} buffer", size(*one)),
        _ => "a buffer".to_string(),
    };
    BarChart {
        title: format!(
            "First touch of {what}, per strategy ({}; whiskers: min–max)",
            run(bench)
        ),
        y_desc: "time to read every page once".to_string(),
        unit: duration_ns,
        groups: STRATEGIES.iter().map(|s| s.to_string()).collect(),
        series: single(
            STRATEGIES
                .iter()
                .map(|s| {
                    let e = bench.first_touch.iter().find(|e| e.strategy == *s)?;
                    Some(Bar {
                        value: e.ns.median,
                        lo: Some(e.ns.min),
                        hi: Some(e.ns.max),
                        marker: None,
                    })
                })
                .collect(),
        ),
        marker_legend: None,
    }
}

fn seq_read(bench: &Bench) -> BarChart {
    let names: Vec<&str> = std::iter::once(ANONYMOUS).chain(STRATEGIES).collect();
    BarChart {
        title: format!(
            "Sequential read of a populated mapping ({}; whiskers: min–max)",
            run(bench)
        ),
        y_desc: "bandwidth".to_string(),
        unit: mib_per_s,
        groups: names.iter().map(|s| s.to_string()).collect(),
        series: single(
            names
                .iter()
                .map(|s| {
                    let e = bench.seq_read.iter().find(|e| e.strategy == *s)?;
                    Some(Bar {
                        value: e.mib_s.median,
                        lo: Some(e.mib_s.min),
                        hi: Some(e.mib_s.max),
                        marker: None,
                    })
                })
                .collect(),
        ),
        marker_legend: None,
    }
}

fn streaming(bench: &Bench) -> BarChart {
    let sizes: BTreeSet<u64> = bench.streaming.iter().map(|e| e.record_size).collect();
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
                        lo: Some(e.records_per_s.min * mib),
                        hi: Some(e.records_per_s.max * mib),
                        marker: Some(e.memcpy_bytes_per_s / MIB),
                    })
                })
                .collect(),
        })
        .collect();
    BarChart {
        title: format!(
            "Streaming, verified by the reader ({}; whiskers: min–max)",
            run(bench)
        ),
        y_desc: "verified bytes per second".to_string(),
        unit: mib_per_s,
        groups: STRATEGIES.iter().map(|s| s.to_string()).collect(),
        series,
        marker_legend: Some("memcpy of the same buffer".to_string()),
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
            let e = bench.register_latency.iter().find(|e| e.kind == *t)?;
            Some(Bar {
                value: e.median_ns,
                lo: None,
                hi: Some(e.p99_ns),
                marker: None,
            })
        })
        .collect();
    bars.push(bench.irq_round_trip.as_ref().map(|i| Bar {
        value: i.median_us * 1e3,
        lo: None,
        hi: Some(i.p99_us * 1e3),
        marker: None,
    }));
    BarChart {
        title: format!(
            "Register read and interrupt round trip ({}; whiskers: p99)",
            bench.accel.label()
        ),
        y_desc: "latency".to_string(),
        unit: duration_ns,
        groups,
        series: single(bars),
        marker_legend: None,
    }
}

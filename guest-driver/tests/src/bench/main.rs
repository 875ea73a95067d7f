//! `cardless-bench`: the benchmark the mapping guide quotes (issue 6), run
//! inside the guest by `make qemu-bench`. Prints the result as JSON (the
//! `cardless-bench-json` types, which the host's report reads back) between
//! `BENCH-JSON-BEGIN` / `BENCH-JSON-END` lines.

mod figures;
mod stats;

use cardless_bench_json::{Accel, Bench, Problem, Skipped, SCHEMA_VERSION};
use cardless_guest_tests::card::Card;
use cardless_uapi::ioctl as uapi;

const RUNS: usize = 5;
/// Streaming runs are long (every record verified): fewer of them.
const STREAM_RUNS: usize = 3;

/// The accelerator, which the harness passes on the kernel command line.
fn accel() -> Result<Accel, String> {
    let words = cardless_guest_tests::cmdline::words();
    let name = words.iter().find_map(|a| a.strip_prefix("cardless.accel="));
    name.and_then(Accel::from_name).ok_or_else(|| {
        format!(
            "the kernel command line names no accelerator (cardless.accel=tcg or kvm, found \
             {name:?}); every figure is reported with its accelerator: run the benchmark \
             through make qemu-bench, which passes it"
        )
    })
}

fn kernel() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let debug = std::path::Path::new("/sys/kernel/debug/kmemleak").exists();
    format!(
        "{} {}",
        release.trim(),
        if debug { "debug" } else { "fast" }
    )
}

fn main() {
    let (card, accel) = match Card::open(0)
        .map_err(|e| e.to_string())
        .and_then(|c| Ok((c, accel()?)))
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cardless-bench: {e}");
            std::process::exit(1);
        }
    };
    let mut skipped: Vec<Skipped> = Vec::new();
    let mut skip = |figure: &str, why: String| {
        eprintln!("cardless-bench: {figure} not measured: {why}");
        skipped.push(Skipped {
            figure: figure.to_string(),
            reason: why,
        });
    };
    let strategies = 0..uapi::STRATEGY_COUNT;

    let mut first_touch = Vec::new();
    let mut seq_read = Vec::new();
    for st in strategies.clone() {
        let name = uapi::STRATEGY_NAMES[st as usize];
        eprintln!("cardless-bench: {name}: first touch, sequential read");
        match figures::first_touch(&card, st, RUNS) {
            Ok(j) => first_touch.push(j),
            Err(e) => skip(&format!("first_touch.{name}"), e),
        }
        match figures::seq_read(&card, st, RUNS) {
            Ok(j) => seq_read.push(j),
            Err(e) => skip(&format!("seq_read.{name}"), e),
        }
    }
    match figures::seq_read_anonymous(16 << 20, RUNS) {
        Ok(j) => seq_read.push(j),
        Err(e) => skip("seq_read.anonymous", e),
    }

    let mut direct_io = Vec::new();
    for st in strategies.clone() {
        let name = uapi::STRATEGY_NAMES[st as usize];
        eprintln!("cardless-bench: {name}: O_DIRECT write from the mapping");
        match figures::direct_io(&card, st) {
            Ok(j) => direct_io.push(j),
            Err(e) => skip(&format!("direct_io.{name}"), e),
        }
    }

    let mut streaming = Vec::new();
    for st in strategies {
        let name = uapi::STRATEGY_NAMES[st as usize];
        for (record_size, records) in [(64u32, 20_000u64), (4096, 1_500)] {
            eprintln!("cardless-bench: {name}: streaming {records} records of {record_size} B");
            match figures::streaming(&card, st, record_size, records, STREAM_RUNS) {
                Ok(j) => streaming.push(j),
                Err(e) => skip(&format!("streaming.{name}.{record_size}"), e),
            }
        }
    }

    eprintln!("cardless-bench: register latency, interrupt round trip");
    let latency = figures::register_latency(&card, 2000).unwrap_or_else(|e| {
        skip("register_latency", e);
        Vec::new()
    });
    let irq = figures::irq_round_trip(&card, 300)
        .map_err(|e| skip("irq_round_trip", e))
        .ok();

    let result = Bench {
        schema: SCHEMA_VERSION,
        accel,
        kernel: kernel(),
        note: None,
        first_touch,
        seq_read,
        direct_io,
        streaming,
        register_latency: latency,
        irq_round_trip: irq,
        skipped,
    };
    // The host's report checks the same rules; saying it here too puts the
    // broken figure next to the run that measured it.
    for p in result.validate() {
        if let Problem::Invalid { .. } = p {
            eprintln!("cardless-bench: warning: {p}");
        }
    }
    match serde_json::to_string(&result) {
        Ok(text) => println!("BENCH-JSON-BEGIN\n{text}\nBENCH-JSON-END"),
        Err(e) => {
            eprintln!("cardless-bench: cannot write the result as JSON: {e}");
            std::process::exit(1);
        }
    }
}

//! `cardless-bench`: the benchmark the mapping guide quotes (issue 6), run
//! inside the guest by `make qemu-bench`. Prints a table, and the result as
//! JSON between `BENCH-JSON-BEGIN` / `BENCH-JSON-END` lines for the host.

mod figures;
mod json;
mod stats;

use cardless_guest_tests::card::Card;
use cardless_uapi::ioctl as uapi;
use json::{num, s, Json};

const RUNS: usize = 5;
/// Streaming runs are long (every record verified): fewer of them.
const STREAM_RUNS: usize = 3;

fn accel() -> String {
    // The host passes the accelerator on the kernel command line.
    cardless_guest_tests::cmdline::words()
        .iter()
        .find_map(|a| a.strip_prefix("cardless.accel="))
        .unwrap_or("unknown")
        .to_string()
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
    let card = match Card::open(0) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cardless-bench: {e}");
            std::process::exit(1);
        }
    };
    let mut skipped: Vec<Json> = Vec::new();
    let mut skip = |figure: &str, why: String| {
        eprintln!("cardless-bench: {figure} not measured: {why}");
        skipped.push(Json::obj(vec![("figure", s(figure)), ("reason", s(&why))]));
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
    let irq = figures::irq_round_trip(&card, 300).unwrap_or_else(|e| {
        skip("irq_round_trip", e);
        Json::obj(vec![])
    });

    let result = Json::obj(vec![
        ("schema", num(2)),
        ("accel", s(&accel())),
        ("kernel", s(&kernel())),
        ("first_touch", Json::Arr(first_touch)),
        ("seq_read", Json::Arr(seq_read)),
        ("direct_io", Json::Arr(direct_io)),
        ("streaming", Json::Arr(streaming)),
        ("register_latency", Json::Arr(latency)),
        ("irq_round_trip", irq),
        ("skipped", Json::Arr(skipped)),
    ]);
    let mut text = String::new();
    result.render(&mut text);
    println!("BENCH-JSON-BEGIN\n{text}\nBENCH-JSON-END");
}

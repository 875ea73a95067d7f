//! What a trace line costs the card: the [`Tracer`] writing `dma` lines
//! (64 bytes, with their data, as the engine traces small records) into a
//! sink, next to the in-process floor: serializing the same lines into a
//! reused buffer with nothing around it.
//!
//! Rounds alternate between the two and the best round of each counts, so a
//! busy machine slows both alike rather than whichever ran during a spike.
//!
//! Run: `cargo bench -p cardless-device --bench trace_lines`

use std::borrow::Cow;
use std::hint::black_box;
use std::time::{Duration, Instant};

use cardless_abi::record::checksum;
use cardless_device::trace::{Event, Tracer};
use cardless_trace::Line;

const LINES: u64 = 2_000;
const ROUNDS: usize = 300;

fn record(i: u64) -> [u8; 64] {
    let mut b = [0u8; 64];
    b[..8].copy_from_slice(&i.to_le_bytes());
    b
}

/// The floor: the same lines serialized into a reused buffer.
fn serialize_only(out: &mut Vec<u8>) -> Duration {
    let t = Instant::now();
    for i in 0..LINES {
        let bytes = record(i);
        out.clear();
        let line = Line {
            t: i,
            ev: Event::Dma {
                write: true,
                addr: 0x1_0000_0000 + i * 64,
                len: 64,
                hash: checksum(&bytes),
                data: Some(Cow::Borrowed(&bytes)),
            },
        };
        serde_json::to_writer(&mut *out, &line).unwrap();
        out.push(b'\n');
        black_box(&out);
    }
    t.elapsed()
}

/// The tracer, as the card uses it.
fn traced(tr: &mut Tracer) -> Duration {
    let t = Instant::now();
    for i in 0..LINES {
        tr.dma(i, true, 0x1_0000_0000 + i * 64, &record(i));
    }
    t.elapsed()
}

fn per_line_ns(d: Duration) -> f64 {
    d.as_nanos() as f64 / LINES as f64
}

fn main() {
    let mut tr = Tracer::to_writer(Box::new(std::io::sink()));
    let mut buf = Vec::with_capacity(1024);
    let (mut floor, mut tracer) = (Duration::MAX, Duration::MAX);
    for _ in 0..ROUNDS {
        floor = floor.min(serialize_only(&mut buf));
        tracer = tracer.min(traced(&mut tr));
    }
    println!(
        "{:>22} {:>14} {:>7}",
        "64-byte dma lines", "ns/line (best)", "ratio"
    );
    println!(
        "{:>22} {:>14.1} {:>7.2}",
        "serialize only",
        per_line_ns(floor),
        1.0
    );
    println!(
        "{:>22} {:>14.1} {:>7.2}",
        "Tracer",
        per_line_ns(tracer),
        tracer.as_secs_f64() / floor.as_secs_f64()
    );
}

//! Each figure of the benchmark (issue 6), measured side by side in one
//! process so ratios survive a noisy machine.

use super::stats::Samples;
use cardless_abi::regs;
use cardless_bench_json::{
    DirectIo, DirectIoResult, FirstTouch, IrqRoundTrip, RegisterLatency, SeqRead, Streaming,
};
use cardless_guest_tests::card::{Card, Errno, Mapping};
use cardless_guest_tests::scratch;
use cardless_guest_tests::stream_reader::{params, Ring};
use cardless_uapi::ioctl as uapi;
use std::time::Instant;

const PAGE: usize = 4096;
const MIB: f64 = 1024.0 * 1024.0;

fn ns_since(t: Instant) -> f64 {
    t.elapsed().as_nanos() as f64
}

/// The largest buffer a strategy can have: 16 MiB, except those backed by
/// one physically contiguous allocation (coherent, compound), which the page
/// allocator caps at order 10 (4 MiB) without CMA.
pub fn bytes_for(strategy: u32) -> usize {
    match strategy {
        uapi::STRATEGY_COHERENT | uapi::STRATEGY_COMPOUND => 4 << 20,
        _ => 16 << 20,
    }
}

/// Reads one byte per page: the first touch of every page.
fn touch_pages(map: &Mapping) -> u64 {
    let mut sum = 0u64;
    for off in (0..map.len).step_by(PAGE) {
        // SAFETY: inside the mapping.
        sum = sum.wrapping_add(unsafe { std::ptr::read_volatile(map.ptr.add(off)) } as u64);
    }
    sum
}

/// Reads the whole mapping sequentially, 8 bytes at a time.
fn read_all(ptr: *const u8, len: usize) -> u64 {
    let words = len / 8;
    let p = ptr as *const u64;
    let mut sum = 0u64;
    for i in 0..words {
        // SAFETY: inside the caller's mapping.
        sum = sum.wrapping_add(unsafe { std::ptr::read_volatile(p.add(i)) });
    }
    sum
}

/// mmap + first touch of every page, `runs` times (a fresh mapping each run).
pub fn first_touch(card: &Card, strategy: u32, runs: usize) -> Result<FirstTouch, String> {
    let bytes = bytes_for(strategy);
    let buf = card
        .buf_alloc(bytes as u64, strategy)
        .map_err(|e| format!("alloc {bytes} B: {e}"))?;
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let map = card
            .map(buf.id as u64, bytes, libc::PROT_READ, libc::MAP_SHARED)
            .map_err(|e| format!("mmap: {e}"))?;
        std::hint::black_box(touch_pages(&map));
        times.push(ns_since(t));
        drop(map);
    }
    let _ = card.buf_free(buf.id);
    let st = Samples::new(times);
    Ok(FirstTouch {
        strategy: uapi::STRATEGY_NAMES[strategy as usize].to_string(),
        bytes: bytes as u64,
        pages: (bytes / PAGE) as u64,
        runs: runs as u64,
        median_ns: st.median(),
        min_ns: st.min(),
        max_ns: st.max(),
    })
}

fn mib_s(bytes: usize, ns: f64) -> f64 {
    bytes as f64 / MIB / (ns / 1e9)
}

fn seq_read_entry(name: &str, ptr: *const u8, len: usize, runs: usize) -> SeqRead {
    std::hint::black_box(read_all(ptr, len)); // populate
    let speeds: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(read_all(ptr, len));
            mib_s(len, ns_since(t))
        })
        .collect();
    let st = Samples::new(speeds);
    SeqRead {
        strategy: name.to_string(),
        bytes: len as u64,
        runs: runs as u64,
        median_mib_s: st.median(),
        min_mib_s: st.min(),
        max_mib_s: st.max(),
    }
}

/// Sequential read of a populated mapping of each strategy.
pub fn seq_read(card: &Card, strategy: u32, runs: usize) -> Result<SeqRead, String> {
    let bytes = bytes_for(strategy);
    let (buf, map) = card.mapped_buffer(bytes as u64, strategy)?;
    let entry = seq_read_entry(
        uapi::STRATEGY_NAMES[strategy as usize],
        map.ptr,
        bytes,
        runs,
    );
    drop(map);
    let _ = card.buf_free(buf.id);
    Ok(entry)
}

/// The baseline: a plain anonymous mapping read the same way.
pub fn seq_read_anonymous(bytes: usize, runs: usize) -> Result<SeqRead, String> {
    // SAFETY: a fresh private anonymous mapping.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err("anonymous mmap failed".into());
    }
    // SAFETY: writing our own mapping so every page is real memory, not the zero page.
    unsafe { std::ptr::write_bytes(p as *mut u8, 0x5a, bytes) };
    let entry = seq_read_entry("anonymous", p as *const u8, bytes, runs);
    // SAFETY: our own mapping.
    unsafe { libc::munmap(p, bytes) };
    Ok(entry)
}

/// Card -> ring -> reader that verifies every byte; against memcpy of the ring.
pub fn streaming(
    card: &Card,
    strategy: u32,
    record_size: u32,
    records: u64,
    runs: usize,
) -> Result<Streaming, String> {
    const RING: usize = 1 << 20;
    let (buf, map) = card.mapped_buffer(RING as u64, strategy)?;
    let mut rates = Vec::new();
    for run in 0..runs {
        let seed = 0xbe7c_0000 + run as u64;
        let mut p = params(buf.id, seed);
        p.record_size = record_size;
        p.coalesce_records = (RING as u32 / record_size / 4).max(1);
        card.stream_start(&p)
            .map_err(|e| format!("STREAM_START: {e}"))?;
        let ring = Ring::new(card, &map, record_size, seed);
        let t = Instant::now();
        let read = ring.read(records, |_| {});
        let ns = ns_since(t);
        card.stream_stop()
            .map_err(|e| format!("STREAM_STOP: {e}"))?;
        read?;
        rates.push(records as f64 / (ns / 1e9));
    }
    // The same bytes copied out of the same mapping by the CPU.
    let mut dst = vec![0u8; RING];
    // One untimed copy: the destination's first-touch faults are not memcpy.
    dst.copy_from_slice(map.bytes());
    let t = Instant::now();
    let reps = 8;
    for _ in 0..reps {
        dst.copy_from_slice(map.bytes());
        std::hint::black_box(&dst);
    }
    let memcpy_bps = (RING * reps) as f64 / (ns_since(t) / 1e9);
    drop(map);
    let _ = card.buf_free(buf.id);
    let st = Samples::new(rates);
    Ok(Streaming {
        strategy: uapi::STRATEGY_NAMES[strategy as usize].to_string(),
        record_size: u64::from(record_size),
        records,
        ring_bytes: RING as u64,
        runs: runs as u64,
        median_records_per_s: st.median(),
        min_records_per_s: st.min(),
        max_records_per_s: st.max(),
        median_bytes_per_s: st.median() * f64::from(record_size),
        memcpy_bytes_per_s: memcpy_bps,
    })
}

/// `write(O_DIRECT)` of a populated mapping to the scratch disk (raw):
/// `"works"`, or the errno it fails with (EFAULT for a PFN mapping,
/// whose pages `get_user_pages` cannot hand to the block layer).
pub fn direct_io(card: &Card, strategy: u32) -> Result<DirectIo, String> {
    const LEN: usize = 1 << 20;
    let name = uapi::STRATEGY_NAMES[strategy as usize];
    let (buf, map) = card.mapped_buffer(LEN as u64, strategy)?;
    std::hint::black_box(touch_pages(&map));
    let written = scratch::write_direct(&map)?;
    drop(map);
    let _ = card.buf_free(buf.id);
    let result = match written {
        Ok(LEN) => DirectIoResult::Works,
        Ok(n) => return Err(format!("short O_DIRECT write: {n} of {LEN} bytes")),
        Err(Errno(err)) => DirectIoResult::Fails(errno_name(err)),
    };
    Ok(DirectIo {
        strategy: name.to_string(),
        bytes: LEN as u64,
        result,
    })
}

/// The symbolic name of the errnos a direct write can end with.
fn errno_name(e: i32) -> String {
    match e {
        libc::EFAULT => "EFAULT".into(),
        libc::EINVAL => "EINVAL".into(),
        libc::EIO => "EIO".into(),
        libc::ENOMEM => "ENOMEM".into(),
        libc::ENOSPC => "ENOSPC".into(),
        other => format!("errno {other}"),
    }
}

fn latency_entry(target: &str, samples: Vec<f64>) -> RegisterLatency {
    let n = samples.len();
    let st = Samples::new(samples);
    RegisterLatency {
        target: target.to_string(),
        median_ns: st.median(),
        p99_ns: st.p99(),
        samples: n as u64,
    }
}

/// One 32-bit read at `offset` of a mapping, timed `n` times.
fn time_reads(ptr: *const u8, offset: usize, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            // SAFETY: inside the caller's mapping.
            std::hint::black_box(unsafe { std::ptr::read_volatile(ptr.add(offset) as *const u32) });
            ns_since(t)
        })
        .collect()
}

/// QEMU's built-in `edu` device (1234:11e8), mapped through sysfs.
fn edu_bar0() -> Result<(*const u8, usize), String> {
    let dir = std::fs::read_dir("/sys/bus/pci/devices").map_err(|e| e.to_string())?;
    for entry in dir.flatten() {
        let p = entry.path();
        let id = |f: &str| {
            std::fs::read_to_string(p.join(f))
                .unwrap_or_default()
                .trim()
                .to_string()
        };
        if id("vendor") == "0x1234" && id("device") == "0x11e8" {
            std::fs::write(p.join("enable"), "1").map_err(|e| format!("enable edu: {e}"))?;
            let res = std::ffi::CString::new(p.join("resource0").to_string_lossy().into_owned())
                .unwrap_or_default();
            // SAFETY: opening a sysfs file read-only.
            let fd = unsafe { libc::open(res.as_ptr(), libc::O_RDONLY) };
            if fd < 0 {
                return Err("open edu resource0".into());
            }
            // SAFETY: mapping one page of the edu BAR through sysfs.
            let m = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    PAGE,
                    libc::PROT_READ,
                    libc::MAP_SHARED,
                    fd,
                    0,
                )
            };
            // SAFETY: our descriptor.
            unsafe { libc::close(fd) };
            if m == libc::MAP_FAILED {
                return Err("mmap edu resource0".into());
            }
            return Ok((m as *const u8, PAGE));
        }
    }
    Err("no edu device (QEMU -device edu) in this guest".into())
}

/// Trapped BAR0 read vs QEMU's edu vs a mapped BAR2 read.
pub fn register_latency(card: &Card, n: usize) -> Result<Vec<RegisterLatency>, String> {
    let bar0 = card.map_bar0(PAGE)?;
    let bar2 = card.map_bar2(PAGE)?;
    let (edu, _) = edu_bar0()?;
    let mut out = vec![latency_entry(
        "cardless BAR0 (trapped, vfio-user)",
        time_reads(bar0.ptr, regs::ID as usize, n),
    )];
    out.push(latency_entry(
        "edu BAR0 (QEMU built-in)",
        time_reads(edu, 0, n),
    ));
    out.push(latency_entry(
        "cardless BAR2 (mapped)",
        time_reads(bar2.ptr, 0, n),
    ));
    Ok(out)
}

/// Doorbell (CONS_IDX write) -> the card writes one record -> DATA_READY ->
/// the waiting reader wakes.
pub fn irq_round_trip(card: &Card, n: usize) -> Result<IrqRoundTrip, String> {
    const ENTRIES: u32 = 64;
    let buf = card
        .buf_alloc(ENTRIES as u64 * 64, uapi::STRATEGY_PAGES)
        .map_err(|e| format!("alloc: {e}"))?;
    let mut p = params(buf.id, 3);
    p.record_size = 64;
    p.coalesce_records = 1;
    p.coalesce_ns = 0;
    card.stream_start(&p)
        .map_err(|e| format!("STREAM_START: {e}"))?;
    let result = (|| {
        // Let the ring fill: the card then waits for room.
        let mut prod = 0;
        while prod < ENTRIES {
            prod = card
                .stream_wait(prod, 2000)
                .map_err(|e| format!("fill: {e}"))?;
        }
        let mut cons = 0u32;
        let mut times = Vec::new();
        for _ in 0..n {
            cons = cons.wrapping_add(1);
            let t = Instant::now();
            card.stream_consume(cons)
                .map_err(|e| format!("consume: {e}"))?;
            prod = card
                .stream_wait(prod, 2000)
                .map_err(|e| format!("wait: {e}"))?;
            times.push(ns_since(t) / 1000.0);
            // Catch up if the card wrote more than one.
            cons = prod.wrapping_sub(ENTRIES);
        }
        Ok::<_, String>(times)
    })();
    let _ = card.stream_stop();
    let _ = card.buf_free(buf.id);
    let st = Samples::new(result?);
    Ok(IrqRoundTrip {
        median_us: st.median(),
        p99_us: st.p99(),
        samples: n as u64,
    })
}

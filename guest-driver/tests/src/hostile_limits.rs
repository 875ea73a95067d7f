//! The hostile suite's limits: every ioctl argument at and past each limit
//! the uapi documents, with the exact errno, and streams racing FREE,
//! munmap, close and reset across several files. Whatever happens, the
//! kernel stays quiet (the verdict checks) and the card keeps working.

use crate::card::{Card, Errno};
use crate::ktap::{expect, CaseResult, Count, Report};
use crate::stream_reader::params;
use crate::{check, check_eq, pci};
use cardless_abi::regs;
use cardless_uapi::ioctl as uapi;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PAGE: u64 = 4096;
const MIB: u64 = 1 << 20;
/// MAX_PAGE_ORDER (10) pages: the largest physically contiguous allocation.
const MAX_CONTIGUOUS: u64 = 4 * MIB;

fn carveout_size() -> u64 {
    crate::suite_dma::module_param("carveout_size").unwrap_or(0)
}

/// The errno IOC_BUF_ALLOC must give for `strategy` and `size` (0: success).
fn expected_alloc(strategy: u32, size: u64) -> i32 {
    if size == 0 || !size.is_multiple_of(PAGE) || size > uapi::BUF_MAX_SIZE {
        return libc::EINVAL;
    }
    match strategy {
        uapi::STRATEGY_COMPOUND if !(size / PAGE).is_power_of_two() => libc::EINVAL,
        uapi::STRATEGY_COMPOUND if size > MAX_CONTIGUOUS => libc::ENOMEM,
        // The direct mapping needs one contiguous block; an IOMMU stitches pages.
        uapi::STRATEGY_COHERENT if size > MAX_CONTIGUOUS && !pci::card0_behind_iommu() => {
            libc::ENOMEM
        }
        uapi::STRATEGY_CARVEOUT if size > carveout_size() => libc::ENOSPC,
        _ => 0,
    }
}

/// The strategies whose buffer is single pages, each DMA-mapped on its own
/// (the others are one contiguous block, or the carve-out).
fn maps_page_by_page(strategy: u32) -> bool {
    matches!(
        strategy,
        uapi::STRATEGY_PAGES
            | uapi::STRATEGY_VMALLOC
            | uapi::STRATEGY_FAULT
            | uapi::STRATEGY_PAGE_BY_PAGE
    )
}

fn errno_name(code: i32) -> String {
    if code == 0 {
        "success".into()
    } else {
        Errno(code).to_string()
    }
}

/// IOC_BUF_ALLOC of every strategy at sizes from 0 to past BUF_MAX_SIZE:
/// the documented errno each time, never a kernel warning (an order too
/// large for the page allocator, a failed vmalloc), and each buffer that
/// is allocated maps whole and reads zeros at both ends.
pub fn every_strategy_at_every_size_limit() -> CaseResult {
    let card = Card::open(0)?;
    let sizes = [
        0,
        1,
        PAGE - 1,
        PAGE,
        PAGE + 1,
        3 * PAGE,
        MAX_CONTIGUOUS - PAGE,
        MAX_CONTIGUOUS,
        MAX_CONTIGUOUS + PAGE,
        8 * MIB,
        16 * MIB,
        16 * MIB + PAGE,
        uapi::BUF_MAX_SIZE - PAGE,
        uapi::BUF_MAX_SIZE,
        uapi::BUF_MAX_SIZE + PAGE,
        1 << 40,
        !(PAGE - 1),
        u64::MAX,
    ];
    let mut tried = 0;
    let mut spared = 0;
    for strategy in 0..uapi::STRATEGY_COUNT {
        let name = uapi::STRATEGY_NAMES[strategy as usize];
        for size in sizes {
            let want = expected_alloc(strategy, size);
            // Every page of a large buffer costs about 0.17 ms on the debug
            // kernel under TCG (allocated, zeroed and checked for poison, then
            // poisoned as it is freed; the DMA mapping is one scatterlist of
            // merged runs, and behind the IOMMU more): all of them would add
            // about 20 s to the case. The limits are checked before anything
            // is allocated, so every refusal stays, and of the successes of
            // 8 MiB or more only the two that are a limit of their own: one
            // `pages` buffer of exactly BUF_MAX_SIZE and a carve-out of
            // exactly its size. Nor do the strategies that map page by page
            // allocate around MAX_CONTIGUOUS, a limit of the contiguous ones
            // only (12 MiB of single pages each).
            let own_limit = (strategy == uapi::STRATEGY_PAGES && size == uapi::BUF_MAX_SIZE)
                || (strategy == uapi::STRATEGY_CARVEOUT && size == carveout_size());
            let large = size >= 8 * MIB || (size > 3 * PAGE && maps_page_by_page(strategy));
            if want == 0 && large && !own_limit {
                spared += 1;
                continue;
            }
            let got = card.buf_alloc(size, strategy);
            tried += 1;
            match (&got, want) {
                (Ok(buf), 0) => {
                    let len = size as usize;
                    let map = card
                        .map(buf.id as u64, len, libc::PROT_READ, libc::MAP_SHARED)
                        .map_err(|e| {
                            format!("{name} of {size:#x} bytes: mmap of all of it: {e}")
                        })?;
                    let bytes = map.bytes();
                    check!(
                        bytes[0] == 0 && bytes[len - 1] == 0,
                        "{name} of {size:#x} bytes: a fresh buffer is not zeroed"
                    );
                    drop(map);
                    card.buf_free(buf.id)
                        .map_err(|e| format!("{name}: BUF_FREE: {e}"))?;
                }
                (Err(Errno(code)), want) if *code == want => {}
                (got, want) => {
                    return Err(format!(
                        "IOC_BUF_ALLOC {name} of {size:#x} bytes: got {:?}, expected {}",
                        got.as_ref().map(|b| b.id),
                        errno_name(want)
                    ))
                }
            }
        }
    }
    println!("    # {tried} allocations, each with its documented outcome");
    if spared > 0 {
        println!(
            "    # {spared} allocations that would succeed at a size no limit of their strategy left out"
        );
    }
    Ok(())
}

/// The per-file count (BUF_MAX_PER_FILE) and the per-card byte budget
/// (BUF_MAX_TOTAL, all files together): exactly at the limit works, one
/// more is ENOSPC, and freeing makes room again.
pub fn buffer_count_and_budget_limits() -> CaseResult {
    let card = Card::open(0)?;
    let mut ids = Vec::new();
    for i in 0..uapi::BUF_MAX_PER_FILE {
        ids.push(
            card.buf_alloc(PAGE, uapi::STRATEGY_PAGES)
                .map_err(|e| format!("buffer {i} of {}: {e}", uapi::BUF_MAX_PER_FILE))?
                .id,
        );
    }
    match card.buf_alloc(PAGE, uapi::STRATEGY_PAGES) {
        Err(Errno(libc::ENOSPC)) => {}
        other => {
            return Err(format!(
                "buffer {} of one file: got {other:?}, expected ENOSPC",
                uapi::BUF_MAX_PER_FILE + 1
            ))
        }
    }
    card.buf_free(ids[0])
        .map_err(|e| format!("BUF_FREE: {e}"))?;
    card.buf_alloc(PAGE, uapi::STRATEGY_PAGES)
        .map_err(|e| format!("a buffer after a FREE made room: {e}"))?;
    drop(card);
    // The budget spans files: two files hold BUF_MAX_TOTAL together.
    let (a, b) = (Card::open(0)?, Card::open(0)?);
    let half = uapi::BUF_MAX_TOTAL / 2;
    let x = claim(&a, half).map_err(|e| format!("first half of the budget: {e}"))?;
    let y = claim(&b, half).map_err(|e| format!("second half of the budget: {e}"))?;
    match b.buf_alloc(PAGE, uapi::STRATEGY_PAGES) {
        Err(Errno(libc::ENOSPC)) => {}
        other => {
            return Err(format!(
                "one page past the card's budget: got {other:?}, expected ENOSPC"
            ))
        }
    }
    a.buf_free(x[0]).map_err(|e| format!("BUF_FREE: {e}"))?;
    let z = b
        .buf_alloc(PAGE, uapi::STRATEGY_PAGES)
        .map_err(|e| format!("a page after a FREE gave budget back: {e}"))?;
    let _ = (y, z);
    Ok(())
}

/// `bytes` of buffers on `card`'s file, by ID: the budget counts bytes,
/// whatever the strategy. MAX_CONTIGUOUS blocks of the compound strategy,
/// one DMA mapping each: order-0 pages cost a mapping a page, about 1.5 ms
/// each under the DMA-API checks and TCG (two 64 MiB `fault` buffers took
/// 50 s of this case). A block the page allocator cannot give in one piece
/// (memory fragmented by the suites before) is taken as pages instead.
fn claim(card: &Card, bytes: u64) -> Result<Vec<u32>, String> {
    let mut ids = Vec::new();
    let mut left = bytes;
    while left > 0 {
        let size = left.min(MAX_CONTIGUOUS);
        let buf = match card.buf_alloc(size, uapi::STRATEGY_COMPOUND) {
            Err(Errno(libc::ENOMEM)) => card.buf_alloc(size, uapi::STRATEGY_PAGES),
            other => other,
        }
        .map_err(|e| format!("{size:#x} bytes after {:#x}: {e}", bytes - left))?;
        ids.push(buf.id);
        left -= size;
    }
    Ok(ids)
}

/// STREAM_START with each parameter at and past its limit (uapi StreamStart,
/// SPEC §6.1): EINVAL from the driver, never a card error, and the limits
/// themselves stream.
pub fn stream_parameters_at_and_past_their_limits() -> CaseResult {
    let card = Card::open(0)?;
    let small = card
        .buf_alloc(64 * 1024, uapi::STRATEGY_PAGES)
        .map_err(|e| format!("alloc: {e}"))?;
    let big = card
        .buf_alloc(MIB, uapi::STRATEGY_VMALLOC)
        .map_err(|e| format!("alloc: {e}"))?;
    // 17 pages: 68-byte records divide it, so only the alignment rule
    // refuses them (a 64 KiB ring is refused for not being divisible).
    let odd = card
        .buf_alloc(17 * PAGE, uapi::STRATEGY_PAGES)
        .map_err(|e| format!("alloc: {e}"))?;
    let base = params(small.id, 1);
    let with = |f: &dyn Fn(&mut uapi::StreamStart)| {
        let mut p = base;
        f(&mut p);
        p
    };
    let refused: [(&str, uapi::StreamStart, i32); 12] = [
        (
            "record size 68 (not a multiple of 8) dividing a 17-page ring",
            with(&|p| {
                p.buf_id = odd.id;
                p.record_size = 68
            }),
            libc::EINVAL,
        ),
        ("record size 0", with(&|p| p.record_size = 0), libc::EINVAL),
        (
            "record size 56 (< 64)",
            with(&|p| p.record_size = 56),
            libc::EINVAL,
        ),
        (
            "record size 68 (not a multiple of 8)",
            with(&|p| p.record_size = 68),
            libc::EINVAL,
        ),
        (
            "record size 1000 (does not divide the ring)",
            with(&|p| p.record_size = 1000),
            libc::EINVAL,
        ),
        (
            "record size 2 MiB (> 1 MiB)",
            with(&|p| {
                p.buf_id = big.id;
                p.record_size = 2 << 20
            }),
            libc::EINVAL,
        ),
        (
            "record size u32::MAX",
            with(&|p| p.record_size = u32::MAX),
            libc::EINVAL,
        ),
        ("unknown flag bit 1", with(&|p| p.flags = 2), libc::EINVAL),
        (
            "every flag bit",
            with(&|p| p.flags = u32::MAX),
            libc::EINVAL,
        ),
        ("buffer ID 0", with(&|p| p.buf_id = 0), libc::ENOENT),
        (
            "buffer ID u32::MAX",
            with(&|p| p.buf_id = u32::MAX),
            libc::ENOENT,
        ),
        (
            "a buffer of another size than records",
            with(&|p| {
                p.buf_id = big.id;
                p.record_size = 3 * 64 * 1024
            }),
            libc::EINVAL,
        ),
    ];
    for (what, p, want) in refused {
        match card.stream_start(&p) {
            Err(Errno(code)) if code == want => {}
            other => {
                let _ = card.stream_stop();
                return Err(format!(
                    "STREAM_START with {what}: got {other:?}, expected {}",
                    Errno(want)
                ));
            }
        }
    }
    let accepted: [(&str, uapi::StreamStart); 6] = [
        (
            "record size 64 (the minimum)",
            with(&|p| p.record_size = 64),
        ),
        (
            "record size 1 MiB (the maximum, a one-record ring)",
            with(&|p| {
                p.buf_id = big.id;
                p.record_size = 1 << 20
            }),
        ),
        (
            "overflow-stop flag",
            with(&|p| p.flags = uapi::STREAM_F_OVERFLOW_STOP),
        ),
        ("rate u32::MAX (unlimited)", with(&|p| p.rate = u32::MAX)),
        (
            "coalescing u32::MAX records, no timer (only the poll wakes)",
            with(&|p| {
                p.coalesce_records = u32::MAX;
                p.coalesce_ns = 0
            }),
        ),
        (
            "coalescing timer u32::MAX ns, seed u64::MAX",
            with(&|p| {
                p.coalesce_ns = u32::MAX;
                p.seed = u64::MAX
            }),
        ),
    ];
    for (what, p) in accepted {
        card.stream_start(&p)
            .map_err(|e| format!("STREAM_START with {what}: {e}"))?;
        let first = card.stream_wait(0, 5000);
        card.stream_stop()
            .map_err(|e| format!("STREAM_STOP after {what}: {e}"))?;
        first.map_err(|e| format!("first record with {what}: {e}"))?;
        check_eq!(
            card.counters()
                .map_err(|e| format!("COUNTERS: {e}"))?
                .error_code,
            0,
            format!("ERROR_CODE after {what}")
        );
    }
    Ok(())
}

/// IOC_COPY at the edges of the buffer and of BAR2: the last byte works,
/// one more is EINVAL, and so are length 0, an unknown op and offsets that
/// overflow.
pub fn copy_requests_at_and_past_their_edges() -> CaseResult {
    let card = Card::open(0)?;
    let bar2 = card.info().map_err(|e| format!("info: {e}"))?.bar2_size;
    let size = 64 * 1024u64;
    let buf = card
        .buf_alloc(size, uapi::STRATEGY_COHERENT)
        .map_err(|e| format!("alloc: {e}"))?;
    let to_buf = uapi::COPY_BAR2_TO_BUFFER;
    let ok: [(&str, u64, u32, u32); 3] = [
        ("the buffer's last 64 bytes", size - 64, 0, 64),
        ("BAR2's last 64 bytes", 0, (bar2 - 64) as u32, 64),
        ("the whole buffer", 0, 0, size as u32),
    ];
    for (what, buf_off, bar_off, len) in ok {
        card.copy(buf.id, to_buf, buf_off, bar_off, len)
            .map_err(|e| format!("IOC_COPY of {what}: {e}"))?;
    }
    let bad: [(&str, u32, u64, u32, u32, i32); 8] = [
        (
            "one byte past the buffer",
            to_buf,
            size - 63,
            0,
            64,
            libc::EINVAL,
        ),
        (
            "one byte past BAR2",
            to_buf,
            0,
            (bar2 - 63) as u32,
            64,
            libc::EINVAL,
        ),
        ("length 0", to_buf, 0, 0, 0, libc::EINVAL),
        (
            "a buffer offset that overflows",
            to_buf,
            u64::MAX - 10,
            0,
            64,
            libc::EINVAL,
        ),
        (
            "a BAR offset that overflows",
            to_buf,
            0,
            u32::MAX - 10,
            64,
            libc::EINVAL,
        ),
        ("length u32::MAX", to_buf, 0, 0, u32::MAX, libc::EINVAL),
        ("an unknown op", 7, 0, 0, 64, libc::EINVAL),
        ("an unknown buffer", to_buf, 0, 0, 64, libc::ENOENT),
    ];
    for (what, op, buf_off, bar_off, len, want) in bad {
        let id = if want == libc::ENOENT {
            buf.id + 1000
        } else {
            buf.id
        };
        match card.copy(id, op, buf_off, bar_off, len) {
            Err(Errno(code)) if code == want => {}
            other => {
                return Err(format!(
                    "IOC_COPY with {what}: got {other:?}, expected {}",
                    Errno(want)
                ))
            }
        }
    }
    Ok(())
}

/// STREAM_CONSUME exactly one ring behind the producer works, one more is
/// EINVAL; STREAM_WAIT with timeout 0 does not block.
pub fn consume_and_wait_at_their_edges() -> CaseResult {
    let card = Card::open(0)?;
    let buf = card
        .buf_alloc(64 * 1024, uapi::STRATEGY_PAGES)
        .map_err(|e| format!("alloc: {e}"))?;
    card.stream_start(&params(buf.id, 9))
        .map_err(|e| format!("STREAM_START: {e}"))?;
    let result = (|| -> CaseResult {
        // Rate 0: the card fills the ring (64 records) and waits.
        let mut prod = 0;
        for _ in 0..100 {
            prod = card
                .stream_wait(0, 5000)
                .map_err(|e| format!("STREAM_WAIT: {e}"))?;
            if prod == 64 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        check_eq!(prod, 64, "records in a full 64-slot ring");
        match card.stream_wait(prod, 0) {
            Err(Errno(libc::ETIMEDOUT)) => {}
            other => {
                return Err(format!(
                    "STREAM_WAIT with timeout 0 and nothing new: got {other:?}, expected ETIMEDOUT"
                ))
            }
        }
        match card.stream_consume(prod + 1) {
            Err(Errno(libc::EINVAL)) => {}
            other => {
                return Err(format!(
                    "consume past the producer: got {other:?}, expected EINVAL"
                ))
            }
        }
        card.stream_consume(0)
            .map_err(|e| format!("consume a full ring behind: {e}"))?;
        card.stream_consume(prod)
            .map_err(|e| format!("consume up to the producer: {e}"))?;
        Ok(())
    })();
    card.stream_stop()
        .map_err(|e| format!("STREAM_STOP: {e}"))?;
    result
}

/// STREAM_START programs the card in several register writes; IOC_RESET
/// from another file must not land between them (the driver serializes
/// them on the stream lock). Two files hammer the pair with no pause for
/// 1 s times the run's soak factor: a reset that split a start would
/// enable the card with half its registers at reset values (a ring at
/// address 0, or at the low half of its address), which the card refuses
/// with an error or the sanitizer reports as a stray DMA; neither is
/// declared, so either fails the run.
pub fn reset_never_splits_a_stream_start() -> CaseResult {
    let race = crate::soak::race_time(Duration::from_secs(1))?;
    let deadline = Instant::now() + race;
    let starter = std::thread::spawn(move || -> Result<u64, String> {
        let card = Card::open(0)?;
        let (buf, _map) = card.mapped_buffer(64 * 1024, uapi::STRATEGY_PAGES)?;
        let mut started = 0u64;
        while Instant::now() < deadline {
            if card.stream_start(&params(buf.id, started)).is_ok() {
                started += 1;
            }
            let _ = card.stream_stop();
        }
        Ok(started)
    });
    let resets = {
        let card = Card::open(0)?;
        let mut n = 0u64;
        while Instant::now() < deadline {
            card.reset().map_err(|e| format!("IOC_RESET: {e}"))?;
            n += 1;
        }
        n
    };
    let started = starter
        .join()
        .map_err(|_| "the starting thread panicked")??;
    println!("    # {started} streams started against {resets} resets in {race:?}");
    check!(
        started > 0 && resets > 0,
        "both sides ran ({started} starts, {resets} resets)"
    );
    Ok(())
}

/// Several files at once: one streams and reads, one allocates, maps and
/// frees, one closes files with live mappings, one resets the card. Every
/// call succeeds or fails with an errno; afterwards the card streams
/// verified records again. (Resets and stops mid-stream may make the card
/// latch errors: declared as any number; never a DMA outside what the
/// driver handed the card, which the sanitizer would report.)
pub fn streams_race_free_unmap_close_and_reset_across_files() -> CaseResult {
    expect(Report::CardError(0, "*"), Count::Any);
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let race = crate::soak::race_time(Duration::from_secs(2))?;
    let deadline = Instant::now() + race;
    let mut workers = Vec::new();
    for role in 0..4 {
        let (stop, calls) = (stop.clone(), calls.clone());
        workers.push(std::thread::spawn(move || -> Result<(), String> {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                n += 1;
                let card = Card::open(0)?;
                match role {
                    0 => {
                        if let Ok((buf, _map)) = card.mapped_buffer(64 * 1024, (n % 6) as u32) {
                            if card.stream_start(&params(buf.id, n)).is_ok() {
                                let _ = card.stream_wait(0, 50);
                                let _ = card.stream_consume(1);
                                if n.is_multiple_of(2) {
                                    let _ = card.buf_free(buf.id);
                                }
                            }
                        }
                    }
                    1 => {
                        if let Ok(buf) = card.buf_alloc(16 * 1024, ((n + 1) % 5) as u32) {
                            let map = card.map(
                                buf.id as u64,
                                16 * 1024,
                                libc::PROT_READ,
                                libc::MAP_SHARED,
                            );
                            let _ = card.buf_free(buf.id);
                            drop(map);
                        }
                    }
                    2 => {
                        // A mapping that outlives its file.
                        let kept = card.mapped_buffer(8192, uapi::STRATEGY_FAULT).ok();
                        drop(card);
                        if let Some((_, map)) = kept {
                            let _ = map.bytes()[4096];
                        }
                        continue;
                    }
                    _ => {
                        std::thread::sleep(Duration::from_millis(20));
                        let _ = card.reset();
                        let _ = card.stream_stop();
                    }
                }
                calls.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }));
    }
    for w in workers {
        w.join().map_err(|_| "a racing thread panicked")??;
    }
    println!(
        "    # {} rounds of racing calls in {race:?}",
        calls.load(Ordering::Relaxed)
    );
    // The card still works.
    let card = Card::open(0)?;
    card.reset().map_err(|e| format!("IOC_RESET: {e}"))?;
    let (buf, map) = card.mapped_buffer(64 * 1024, uapi::STRATEGY_PAGES)?;
    card.stream_start(&params(buf.id, 77))
        .map_err(|e| format!("STREAM_START after the race: {e}"))?;
    let ring = crate::stream_reader::Ring::new(&card, &map, 1024, 77);
    let read = ring.read(100, |_| {});
    card.stream_stop()
        .map_err(|e| format!("STREAM_STOP: {e}"))?;
    read.map(|_| ())?;
    check_eq!(
        card.reg_read(regs::ID).map_err(|e| format!("ID: {e}"))?,
        regs::ID_VALUE,
        "ID after the race"
    );
    Ok(())
}

/// User space may write COPY_BAR_OFF and COPY_LEN (a debugging door), and
/// the driver's IOC_COPY programs the same registers: a user write landing
/// between the driver's COPY_LEN and COPY_CTRL would make the card copy a
/// range the driver never checked. The driver serializes them: every one
/// of the driver's copies succeeds while another thread hammers the door.
pub fn user_copy_registers_race_the_drivers_copies() -> CaseResult {
    let card = Arc::new(Card::open(0)?);
    let bar2 = card.info().map_err(|e| format!("info: {e}"))?.bar2_size;
    let size = 64 * 1024u64;
    let buf = card
        .buf_alloc(size, uapi::STRATEGY_COHERENT)
        .map_err(|e| format!("alloc: {e}"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let hammer = {
        let (card, stop) = (card.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut writes = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let _ = card.reg_write(regs::COPY_LEN, 1 << 20);
                let _ = card.reg_write(regs::COPY_BAR_OFF, (bar2 - 16) as u32);
                writes += 2;
            }
            writes
        })
    };
    let race = crate::soak::race_time(Duration::from_millis(1500))?;
    let mut failed = None;
    let start = Instant::now();
    let mut copies = 0;
    while start.elapsed() < race && failed.is_none() {
        if let Err(e) = card.copy(buf.id, uapi::COPY_BAR2_TO_BUFFER, size - 64, 0, 64) {
            failed = Some(format!("IOC_COPY {copies} failed with {e} while another thread wrote COPY_LEN/COPY_BAR_OFF"));
        }
        copies += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let writes = hammer.join().map_err(|_| "the hammering thread panicked")?;
    println!("    # {copies} copies against {writes} user register writes in {race:?}");
    match failed {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

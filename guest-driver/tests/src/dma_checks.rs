//! More of the dma_buffers suite: mapping lengths at their limits, what a
//! FREE does to a running stream, the carve-out's single claim, the
//! carve-out's physical range and caching, the fault handler after FREE,
//! wakeups by interrupt, and a stream over card 1's MSI.

use crate::card::{e, Card};
use crate::ktap::CaseResult;
use crate::stream_reader::{params, Ring};
use crate::suite_dma::{expect_errno, module_param};
use crate::{check, check_eq, memtype, pci};
use cardless_abi::regs;
use cardless_uapi::ioctl as uapi;
use std::time::Duration;

const PAGE: usize = 4096;
const SIZE: usize = 64 * 1024;

/// A buffer maps at exactly its size and any shorter length, never longer.
pub fn buffer_mmap_length_is_checked_at_the_limit() -> CaseResult {
    let card = Card::open(0)?;
    for strategy in 0..uapi::STRATEGY_COUNT {
        let name = uapi::STRATEGY_NAMES[strategy as usize];
        let buf = card.buf_alloc(SIZE as u64, strategy).map_err(e(name))?;
        for len in [PAGE, SIZE - PAGE, SIZE] {
            card.map(buf.id as u64, len, libc::PROT_READ, libc::MAP_SHARED)
                .map_err(|err| {
                    format!("{name}: mmap of {len} bytes of a {SIZE}-byte buffer: {err}")
                })?;
        }
        for len in [SIZE + PAGE, 2 * SIZE] {
            expect_errno(
                &format!("{name}: mmap of {len} bytes of a {SIZE}-byte buffer"),
                card.map(buf.id as u64, len, libc::PROT_READ, libc::MAP_SHARED)
                    .map(|m| m.addr()),
                libc::EINVAL,
            )?;
        }
        card.buf_free(buf.id).map_err(e("BUF_FREE"))?;
    }
    Ok(())
}

/// FREE of the buffer a stream writes into stops the stream first (uapi
/// IOC_BUF_FREE): the engine is quiet when FREE returns, waits answer
/// ENODATA, and the records already written stay readable in the mapping.
pub fn freeing_the_streaming_buffer_stops_the_stream() -> CaseResult {
    let card = Card::open(0)?;
    let (buf, map) = card.mapped_buffer(SIZE as u64, uapi::STRATEGY_PAGES)?;
    start_at_a_fixed_rate(&card, buf.id, 55)?;
    card.buf_free(buf.id)
        .map_err(e("BUF_FREE of the streaming buffer"))?;
    let c1 = stream_stays_stopped(&card, "right after FREE of the buffer being streamed into")?;
    expect_errno(
        "STREAM_WAIT after FREE",
        card.stream_wait(c1.prod_idx, 100),
        libc::ENODATA,
    )?;
    let ring = Ring::new(&card, &map, 1024, 55);
    ring.verify(0)
        .map(|_| ())
        .map_err(|m| format!("record 0 through the mapping after FREE: {m}"))
}

/// Closing the file that started a stream stops it before its buffers go
/// (they are the file's): another file then finds STATUS.RUNNING clear and
/// the card's count of records still. A reader-paced stream would fill
/// the ring and pause by itself, so this one runs at a fixed rate.
pub fn closing_the_streaming_file_stops_the_stream() -> CaseResult {
    let card = Card::open(0)?;
    let (buf, map) = card.mapped_buffer(SIZE as u64, uapi::STRATEGY_PAGES)?;
    start_at_a_fixed_rate(&card, buf.id, 56)?;
    drop(map);
    drop(card);
    let other = Card::open(0)?;
    stream_stays_stopped(&other, "after the file that started the stream was closed")?;
    Ok(())
}

/// Starts a stream into buffer `id` at 5000 records/s (a reader-paced one
/// would fill its ring and pause by itself) and waits for its first record.
fn start_at_a_fixed_rate(card: &Card, id: u32, seed: u64) -> CaseResult {
    let mut p = params(id, seed);
    p.rate = 5000;
    card.stream_start(&p).map_err(e("STREAM_START"))?;
    card.stream_wait(0, 5000).map_err(e("first record"))?;
    Ok(())
}

/// The card's stream is stopped `when`: STATUS.RUNNING is clear and no
/// record is produced in the next 50 ms. Returns the counters read first.
fn stream_stays_stopped(card: &Card, when: &str) -> Result<uapi::StreamCounters, String> {
    let c1 = card.counters().map_err(e("COUNTERS"))?;
    check_eq!(
        c1.status & regs::STS_RUNNING,
        0,
        format!("STATUS.RUNNING {when}")
    );
    std::thread::sleep(Duration::from_millis(50));
    let c2 = card.counters().map_err(e("COUNTERS"))?;
    check_eq!(c2.produced, c1.produced, format!("records produced {when}"));
    Ok(c1)
}

/// The carve-out is one region: a second buffer on it is refused (EBUSY)
/// for as long as any mapping of the first exists, even after its FREE, and
/// from any file; after the last munmap it is free again.
pub fn carveout_is_claimed_until_its_last_mapping_goes() -> CaseResult {
    let card = Card::open(0)?;
    let (buf, map) = card.mapped_buffer(SIZE as u64, uapi::STRATEGY_CARVEOUT)?;
    expect_errno(
        "a second carve-out buffer",
        card.buf_alloc(PAGE as u64, uapi::STRATEGY_CARVEOUT),
        libc::EBUSY,
    )?;
    card.buf_free(buf.id).map_err(e("BUF_FREE"))?;
    expect_errno(
        "a carve-out buffer while a FREEd one is still mapped",
        card.buf_alloc(PAGE as u64, uapi::STRATEGY_CARVEOUT),
        libc::EBUSY,
    )?;
    let other = Card::open(0)?;
    expect_errno(
        "a carve-out buffer from another file",
        other.buf_alloc(PAGE as u64, uapi::STRATEGY_CARVEOUT),
        libc::EBUSY,
    )?;
    drop(map);
    let again = other
        .buf_alloc(PAGE as u64, uapi::STRATEGY_CARVEOUT)
        .map_err(e("a carve-out buffer after the last munmap"))?;
    other.buf_free(again.id).map_err(e("BUF_FREE"))?;
    Ok(())
}

/// The carve-out mapping is of the reserved physical range (not some other
/// RAM) and cached (it is RAM: write-back), as PAT recorded it.
pub fn carveout_maps_its_reserved_range_cached() -> CaseResult {
    let base = module_param("carveout_base")?;
    let card = Card::open(0)?;
    // It is RAM: write-back, as PAT records the reservation of this mapping.
    memtype::check_mapping_reserves(base, "write-back", || {
        card.mapped_buffer(SIZE as u64, uapi::STRATEGY_CARVEOUT)
            .map(|(_, map)| map)
    })
}

/// The fault handler still serves the pages of a FREEd buffer that a
/// mapping holds: the first touch after FREE reads the card's records.
pub fn fault_pages_are_served_after_free() -> CaseResult {
    let card = Card::open(0)?;
    let (buf, map) = card.mapped_buffer(SIZE as u64, uapi::STRATEGY_FAULT)?;
    let p = params(buf.id, 66);
    card.stream_start(&p).map_err(e("STREAM_START"))?;
    let ring = Ring::new(&card, &map, 1024, 66);
    let entries = ring.entries;
    // Wait for a full ring without touching the mapping (no page faulted in).
    let mut prod = 0;
    for _ in 0..200 {
        prod = card.stream_wait(0, 5000).map_err(e("STREAM_WAIT"))?;
        if prod >= entries {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    card.stream_stop().map_err(e("STREAM_STOP"))?;
    check!(prod >= entries, "the card filled {prod} of {entries} slots");
    card.buf_free(buf.id).map_err(e("BUF_FREE"))?;
    for idx in [0, entries / 2, entries - 1] {
        ring.verify(idx)
            .map_err(|m| format!("first touch after FREE: {m}"))?;
    }
    Ok(())
}

/// A waiter sleeps until the DATA_READY interrupt wakes it; the driver's
/// 100 ms poll only covers lost interrupts. Counted by the driver
/// (CardInfo waits_woken / waits_polled).
pub fn waiters_are_woken_by_the_interrupt() -> CaseResult {
    let card = Card::open(0)?;
    let (buf, map) = card.mapped_buffer(SIZE as u64, uapi::STRATEGY_PAGES)?;
    let mut p = params(buf.id, 67);
    p.rate = 50;
    p.coalesce_records = 1;
    let before = card.info().map_err(e("info"))?;
    card.stream_start(&p).map_err(e("STREAM_START"))?;
    let ring = Ring::new(&card, &map, 1024, 67);
    let read = ring.read(20, |_| {});
    card.stream_stop().map_err(e("STREAM_STOP"))?;
    let stats = read?;
    let after = card.info().map_err(e("info"))?;
    let woken = after.waits_woken - before.waits_woken;
    let polled = after.waits_polled - before.waits_polled;
    println!(
        "    # {} wakeups: {woken} by interrupt, {polled} by the poll",
        stats.wakeups
    );
    check!(
        woken >= stats.wakeups / 2 && polled * 4 <= stats.wakeups,
        "{woken} waits woken by the interrupt and {polled} by the 100 ms poll of {} with a record every 20 ms: the interrupt thread does not wake waiters",
        stats.wakeups
    );
    Ok(())
}

/// Card 1 runs without MSI-X (MSI: one vector, the handler reads INT_STATUS
/// for the causes): it streams, verified, and counts its interrupts.
pub fn card1_streams_over_msi() -> CaseResult {
    if pci::cards().len() < 2 {
        return crate::ktap::skip("cards>=2", "only one card attached");
    }
    if crate::cmdline::msi_disabled() {
        return crate::ktap::skip("msi", "no MSI for card 1 either (the run has pci=nomsi)");
    }
    let card = Card::open(1)?;
    let info = card.info().map_err(e("info"))?;
    check_eq!(
        info.irq_mode,
        uapi::IRQ_MODE_MSI,
        "card 1's interrupt mode (it runs --no-msix)"
    );
    let (buf, map) = card.mapped_buffer(SIZE as u64, uapi::STRATEGY_COMPOUND)?;
    card.stream_start(&params(buf.id, 68))
        .map_err(e("STREAM_START"))?;
    let ring = Ring::new(&card, &map, 1024, 68);
    let read = ring.read(200, |_| {});
    card.stream_stop().map_err(e("STREAM_STOP"))?;
    read?;
    let after = card.info().map_err(e("info"))?;
    check!(
        after.irq_counts[0] > info.irq_counts[0],
        "no DATA_READY counted on card 1 while 200 records streamed"
    );
    Ok(())
}

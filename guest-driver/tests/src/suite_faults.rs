//! The driver against a misbehaving card (SPEC §14): card 0 runs with the
//! fault debug window, and each case schedules one fault kind and checks
//! the driver's documented reaction (README "When the card misbehaves"):
//! what STREAM_WAIT, the counters and the kernel log show, that the data
//! that reached user space is what the card wrote, and that the driver
//! recovers. The verdict checks that no kernel report appears and that
//! each card error is the one a case declares.

use crate::card::{Card, Errno};
use crate::debug_window::{DebugWindow, Fault, Trigger};
use crate::kmsg::Kmsg;
use crate::ktap::{expect, skip, CaseResult, Count, Report, Suite};
use crate::stream_reader::{params, Ring};
use crate::{cases, check, check_eq};
use cardless_abi::regs;
use cardless_uapi::ioctl as uapi;
use std::time::{Duration, Instant};

const SIZE: usize = 64 * 1024;
const ENTRIES: u32 = (SIZE / 1024) as u32;

fn e(what: &str) -> impl FnOnce(Errno) -> String + '_ {
    move |err| format!("{what}: {err}")
}

/// Card 0 from a reset (counters at 0, so `rec=N` counts from here), no
/// fault pending, with its debug window; `Err(skip)` without the window.
fn fresh() -> Result<(Card, DebugWindow), CaseResult> {
    let card = Card::open(0).map_err(Err)?;
    let dw = match DebugWindow::open(&card).map_err(Err)? {
        Some(dw) => dw,
        None => {
            return Err(skip(
                "debug-window",
                "card 0 runs without --debug-window (make qemu-test gives it one)",
            ))
        }
    };
    dw.cancel_all();
    card.reset()
        .map_err(|err| Err(format!("IOC_RESET: {err}")))?;
    Ok((card, dw))
}

macro_rules! fresh {
    () => {
        match fresh() {
            Ok(x) => x,
            Err(outcome) => return outcome,
        }
    };
}

/// A stream slow enough that a fault due at record N (N > 1) comes well
/// after STREAM_START returned: an error while starting makes STREAM_START
/// itself fail with EIO.
fn paced(buf: u32, seed: u64) -> uapi::StreamStart {
    let mut p = params(buf, seed);
    p.rate = 200;
    p
}

/// Reads `count` records from a fresh stream into a new buffer (rate 0:
/// as fast as the reader consumes), verifying each.
fn stream_and_verify(card: &Card, seed: u64, count: u64) -> CaseResult {
    let (buf, map) = card.mapped_buffer(SIZE as u64, uapi::STRATEGY_PAGES)?;
    card.stream_start(&params(buf.id, seed))
        .map_err(e("STREAM_START"))?;
    let ring = Ring::new(card, &map, 1024, seed);
    let read = ring.read(count, |_| {});
    card.stream_stop().map_err(e("STREAM_STOP"))?;
    read.map(|_| ())
}

/// Reads until STREAM_WAIT fails; returns the records verified and the errno.
fn read_until_error(card: &Card, ring: &Ring<'_>) -> Result<(u32, Errno), String> {
    let mut cons = 0u32;
    for _ in 0..1000 {
        match card.stream_wait(cons, 5000) {
            Ok(prod) => {
                while cons != prod {
                    ring.verify(cons)?;
                    cons = cons.wrapping_add(1);
                }
                card.stream_consume(cons).map_err(e("STREAM_CONSUME"))?;
            }
            Err(err) => return Ok((cons, err)),
        }
    }
    Err("STREAM_WAIT never failed".into())
}

/// A DMA fault (the card writes a record to an IOVA nothing maps): the card
/// latches ERR_DMA_UNMAPPED and stops; the driver logs it, STREAM_WAIT
/// answers EIO, the records before it are intact, and a new stream works.
fn dma_error_stops_the_stream_and_waits_fail_with_eio() -> CaseResult {
    let (card, dw) = fresh!();
    expect(Report::CardError(0, "ERR_DMA_UNMAPPED"), Count::Exactly(1));
    // The sanitizer explains the fault: nothing ever mapped that address.
    expect(Report::Sanitizer(0, "unmapped"), Count::Exactly(1));
    let mut log = Kmsg::here()?;
    let before = card.info().map_err(e("info"))?;
    let (buf, map) = card.mapped_buffer(SIZE as u64, uapi::STRATEGY_PAGES)?;
    dw.schedule(Fault {
        arg: 0xdead_0000_0000,
        ..Fault::new(regs::FAULT_STRAY_WRITE, Trigger::Record(5))
    })?;
    card.stream_start(&paced(buf.id, 201))
        .map_err(e("STREAM_START"))?;
    let ring = Ring::new(&card, &map, 1024, 201);
    let (verified, err) = read_until_error(&card, &ring)?;
    check_eq!(
        err,
        Errno(libc::EIO),
        "STREAM_WAIT after the card's DMA fault"
    );
    check_eq!(verified, 5, "records verified before the fault at record 5");
    let c = card.counters().map_err(e("COUNTERS"))?;
    check_eq!(
        c.error_code,
        regs::ERR_DMA_UNMAPPED,
        "ERROR_CODE (SPEC §10)"
    );
    check_eq!(
        c.status & regs::STS_RUNNING,
        0,
        "STATUS.RUNNING after the error"
    );
    let after = card.info().map_err(e("info"))?;
    check!(
        after.irq_counts[1] > before.irq_counts[1],
        "no ERROR interrupt counted"
    );
    let start = Instant::now();
    let mut lines = Vec::new();
    while start.elapsed() < Duration::from_secs(2)
        && !lines
            .iter()
            .any(|l: &String| l.contains("ERR_DMA_UNMAPPED"))
    {
        lines.extend(log.lines());
        std::thread::sleep(Duration::from_millis(10));
    }
    check!(
        lines
            .iter()
            .any(|l| l.contains("ERR_DMA_UNMAPPED") && l.contains("cardless0")),
        "the driver did not log the card's error (kernel log since: {lines:?})"
    );
    card.stream_stop()
        .map_err(e("STREAM_STOP after the error"))?;
    stream_and_verify(&card, 202, 100).map_err(|m| format!("a new stream after the error: {m}"))
}

/// Makes the card write one record into memory the driver never handed it
/// (guest RAM at 1 MiB): the card's sanitizer refuses it (ERR_DMA_STRAY),
/// or behind an IOMMU the address is simply unmapped. Declares nothing:
/// the caller declares (or, in the harness self-test, must be caught).
pub fn provoke_stray_write() -> CaseResult {
    let (card, dw) = fresh!();
    let (buf, map) = card.mapped_buffer(SIZE as u64, uapi::STRATEGY_COHERENT)?;
    dw.schedule(Fault {
        arg: 0x10_0000,
        ..Fault::new(regs::FAULT_STRAY_WRITE, Trigger::Record(3))
    })?;
    card.stream_start(&paced(buf.id, 203))
        .map_err(e("STREAM_START"))?;
    let ring = Ring::new(&card, &map, 1024, 203);
    let (verified, err) = read_until_error(&card, &ring)?;
    card.stream_stop().map_err(e("STREAM_STOP"))?;
    check_eq!(err, Errno(libc::EIO), "STREAM_WAIT after the stray write");
    check_eq!(verified, 3, "records verified before the stray one");
    let want = if crate::pci::card0_behind_iommu() {
        regs::ERR_DMA_UNMAPPED
    } else {
        regs::ERR_DMA_STRAY
    };
    check_eq!(
        card.counters().map_err(e("COUNTERS"))?.error_code,
        want,
        "ERROR_CODE"
    );
    Ok(())
}

fn stray_write_into_memory_not_handed_to_the_card() -> CaseResult {
    if crate::pci::card0_behind_iommu() {
        expect(Report::CardError(0, "ERR_DMA_UNMAPPED"), Count::Exactly(1));
        expect(Report::Sanitizer(0, "unmapped"), Count::Exactly(1));
    } else {
        expect(Report::CardError(0, "ERR_DMA_STRAY"), Count::Exactly(1));
        expect(Report::Sanitizer(0, "stray"), Count::Exactly(1));
    }
    provoke_stray_write()
}

/// Interrupt faults move latency, never data: a reader verifies every
/// record while `count` messages are lost, duplicated or held back.
fn interrupt_fault(
    card: &Card,
    dw: &DebugWindow,
    kind: u32,
    count: u32,
    seed: u64,
) -> Result<(u64, uapi::CardInfo, uapi::CardInfo), String> {
    let (buf, map) = card.mapped_buffer(SIZE as u64, uapi::STRATEGY_PAGES)?;
    let fault = Fault {
        count,
        arg: if kind == regs::FAULT_DELAY_IRQ {
            50_000_000
        } else {
            0
        },
        arg2: regs::INT_DATA_READY,
        ..Fault::new(kind, Trigger::Now)
    };
    dw.schedule(fault)?;
    let before = card.info().map_err(e("info"))?;
    let mut p = params(buf.id, seed);
    p.rate = 40;
    p.coalesce_records = 1;
    card.stream_start(&p).map_err(e("STREAM_START"))?;
    let ring = Ring::new(card, &map, 1024, seed);
    let read = ring.read(12, |_| {});
    card.stream_stop().map_err(e("STREAM_STOP"))?;
    let stats = read?;
    let after = card.info().map_err(e("info"))?;
    Ok((stats.records, before, after))
}

/// The DATA_READY messages of all 12 records read lost (one message a
/// record): the waiters find the records by their 100 ms poll
/// (waits_polled counts it). All of them, not a few: with a few lost, the
/// next record's message (25 ms later) wakes a waiter before its poll
/// would, so whether any wait needed the poll was timing. Exactly 12, so
/// no lost message is left pending for the cases after this one.
fn lost_interrupts_cost_latency_not_records() -> CaseResult {
    let (card, dw) = fresh!();
    let (records, before, after) = interrupt_fault(&card, &dw, regs::FAULT_DROP_IRQ, 12, 204)?;
    check_eq!(records, 12, "records verified");
    check!(
        after.waits_polled > before.waits_polled,
        "no wait was satisfied by the poll although 12 interrupts were lost"
    );
    Ok(())
}

/// Three DATA_READY messages sent twice: counted twice, harmless.
fn duplicated_interrupts_are_harmless() -> CaseResult {
    let (card, dw) = fresh!();
    let (records, before, after) = interrupt_fault(&card, &dw, regs::FAULT_DUP_IRQ, 3, 205)?;
    check_eq!(records, 12, "records verified");
    check!(
        after.irq_counts[0] >= before.irq_counts[0] + 3,
        "DATA_READY counted {} times for 12 records with 3 duplicated messages",
        after.irq_counts[0] - before.irq_counts[0]
    );
    Ok(())
}

/// Three DATA_READY messages held back 50 ms: every record still arrives.
fn delayed_interrupts_still_deliver_every_record() -> CaseResult {
    let (card, dw) = fresh!();
    let (records, _, _) = interrupt_fault(&card, &dw, regs::FAULT_DELAY_IRQ, 3, 206)?;
    check_eq!(records, 12, "records verified");
    Ok(())
}

/// A record corrupted after the card wrote it (payload or header): the
/// driver passes bytes through untouched, so the reader's verification
/// flags exactly that record and its neighbours verify.
fn corrupted(kind: u32, at: u32, byte: u64, seed: u64) -> CaseResult {
    let (card, dw) = fresh!();
    let (buf, map) = card.mapped_buffer(SIZE as u64, uapi::STRATEGY_COHERENT)?;
    dw.schedule(Fault {
        arg: byte,
        arg2: 0x01,
        ..Fault::new(kind, Trigger::Record(at as u64))
    })?;
    card.stream_start(&params(buf.id, seed))
        .map_err(e("STREAM_START"))?;
    let ring = Ring::new(&card, &map, 1024, seed);
    let read = ring.read(20, |_| {});
    card.stream_stop().map_err(e("STREAM_STOP"))?;
    let why = match read {
        Ok(_) => {
            return Err(format!(
                "the reader verified 20 records although record {at} was corrupted"
            ))
        }
        Err(why) => why,
    };
    check!(
        why.contains(&format!("producer index {at} ")),
        "the reader flagged something else than record {at}: {why}"
    );
    ring.verify(at - 1)
        .map_err(|m| format!("the record before the corrupted one: {m}"))?;
    ring.verify(at + 1)
        .map_err(|m| format!("the record after the corrupted one: {m}"))?;
    Ok(())
}

fn corrupted_payload_is_flagged_at_that_record() -> CaseResult {
    corrupted(regs::FAULT_CORRUPT_PAYLOAD, 10, 100, 207)
}

fn corrupted_header_is_flagged_at_that_record() -> CaseResult {
    corrupted(regs::FAULT_CORRUPT_HEADER, 7, 8, 208)
}

/// Lost status block write-backs (SPEC §14.1 status-lost): the card
/// fills the ring (rate 0, 64 slots) while every write-back of that fill
/// is lost, then waits for room, so the status block never moves and a
/// driver that trusts it alone waits out its timeout with a full ring.
/// The driver's 100 ms poll reads PROD_IDX instead: every record arrives,
/// STREAM_WAIT never fails, those waits count as polled, STREAM_CONSUME
/// accepts the polled index, and the card latches no error.
fn lost_status_write_backs_are_found_by_polling_prod_idx() -> CaseResult {
    let (card, dw) = fresh!();
    let (buf, map) = card.mapped_buffer(SIZE as u64, uapi::STRATEGY_PAGES)?;
    // More than one fill's write-backs (enable, 4 DATA_READY, batch end).
    dw.schedule(Fault {
        count: 16,
        ..Fault::new(regs::FAULT_STATUS_LOST, Trigger::Now)
    })?;
    let before = card.info().map_err(e("info"))?;
    card.stream_start(&params(buf.id, 211))
        .map_err(e("STREAM_START"))?;
    let ring = Ring::new(&card, &map, 1024, 211);
    let read = ring.read(5 * ENTRIES as u64, |_| {});
    let c = card.counters().map_err(e("COUNTERS"));
    card.stream_stop().map_err(e("STREAM_STOP"))?;
    let stats = read?;
    check_eq!(stats.records, 5 * ENTRIES as u64, "records verified");
    check_eq!(
        stats.dropped_seen,
        0,
        "records dropped (rate 0 waits for room)"
    );
    let after = card.info().map_err(e("info"))?;
    check!(
        after.waits_polled > before.waits_polled,
        "no STREAM_WAIT was satisfied by the poll although the status block missed a whole ring"
    );
    let c = c?;
    check_eq!((c.error_code, c.errors), (0, 0), "ERROR_CODE, CNT_ERRORS");
    Ok(())
}

/// A new stream starts from a fresh status block even when the card's
/// first write-back of it (at enable) is lost: the driver zeroes the block
/// before STREAM_START, so the last stream's producer index never passes
/// for records of the new one. (Without the lost write-back the card's own
/// enable write hides a driver that forgets to.) The new stream is slow
/// (10 records/s) so the first wait comes long before its first record.
fn a_lost_enable_write_back_does_not_revive_the_last_streams_index() -> CaseResult {
    let (card, dw) = fresh!();
    let (old, old_map) = card.mapped_buffer(SIZE as u64, uapi::STRATEGY_PAGES)?;
    card.stream_start(&params(old.id, 212))
        .map_err(e("STREAM_START (first stream)"))?;
    let first = Ring::new(&card, &old_map, 1024, 212).read(40, |_| {});
    card.stream_stop().map_err(e("STREAM_STOP"))?;
    first?;
    let (buf, map) = card.mapped_buffer(SIZE as u64, uapi::STRATEGY_PAGES)?;
    dw.schedule(Fault {
        count: 1,
        ..Fault::new(regs::FAULT_STATUS_LOST, Trigger::Now)
    })?;
    let mut p = params(buf.id, 213);
    p.rate = 10;
    card.stream_start(&p)
        .map_err(e("STREAM_START (second stream)"))?;
    let second = Ring::new(&card, &map, 1024, 213).read(3, |_| {});
    card.stream_stop().map_err(e("STREAM_STOP"))?;
    let stats = second.map_err(|m| format!("second stream, its enable write-back lost: {m}"))?;
    check_eq!(stats.records, 3, "records of the second stream verified");
    Ok(())
}

/// A stalled engine still reads as running: waits time out (ETIMEDOUT,
/// not an error), and after `resume` the stream goes on without a gap.
fn stall_times_waits_out_and_resume_continues() -> CaseResult {
    let (card, dw) = fresh!();
    let (buf, map) = card.mapped_buffer(SIZE as u64, uapi::STRATEGY_PAGES)?;
    let mut p = params(buf.id, 209);
    p.rate = 200;
    card.stream_start(&p).map_err(e("STREAM_START"))?;
    let ring = Ring::new(&card, &map, 1024, 209);
    let result = (|| -> CaseResult {
        ring.read(5, |_| {})?;
        dw.schedule(Fault::new(regs::FAULT_STALL, Trigger::Now))?;
        // Drain what was written before the stall, then nothing more comes.
        let mut last = card.counters().map_err(e("COUNTERS"))?.prod_idx;
        let mut timed_out = false;
        for _ in 0..20 {
            match card.stream_wait(last, 300) {
                Ok(prod) => last = prod,
                Err(Errno(libc::ETIMEDOUT)) => {
                    timed_out = true;
                    break;
                }
                Err(err) => return Err(format!("STREAM_WAIT during the stall: {err}")),
            }
        }
        check!(timed_out, "records kept coming during the stall");
        let c = card.counters().map_err(e("COUNTERS"))?;
        check!(
            c.status & regs::STS_RUNNING != 0,
            "STATUS {:#x}: a stalled engine reads as running",
            c.status
        );
        check_eq!(c.error_code, 0, "ERROR_CODE during a stall");
        dw.schedule(Fault::new(regs::FAULT_RESUME, Trigger::Now))?;
        let next = card
            .stream_wait(last, 5000)
            .map_err(e("STREAM_WAIT after resume"))?;
        // The records since the reader's last consume, seq without a gap
        // across the stall (a stalled record is not dropped, SPEC §14.1).
        for idx in 5..next.min(ENTRIES) {
            let h = ring.verify(idx)?;
            check_eq!(
                h.seq,
                idx as u64,
                format!("seq of the record at producer index {idx}")
            );
        }
        check!(next > last, "no record after resume");
        Ok(())
    })();
    let _ = dw.schedule(Fault::new(regs::FAULT_RESUME, Trigger::Now));
    let stopped = card.stream_stop();
    result?;
    stopped.map_err(e("STREAM_STOP"))
}

/// While the link is down every register reads all-ones: the driver's
/// waits fail with ENODEV; after link-up the card is back and the stream
/// goes on where it paused.
fn link_down_fails_waits_with_enodev_until_link_up() -> CaseResult {
    let (card, dw) = fresh!();
    let (buf, map) = card.mapped_buffer(SIZE as u64, uapi::STRATEGY_PAGES)?;
    card.stream_start(&paced(buf.id, 210))
        .map_err(e("STREAM_START"))?;
    let ring = Ring::new(&card, &map, 1024, 210);
    let result = (|| -> CaseResult {
        ring.read(5, |_| {})?;
        dw.schedule(Fault::new(regs::FAULT_LINK_DOWN, Trigger::Now))?;
        check_eq!(
            card.reg_read(regs::ID).map_err(e("ID"))?,
            u32::MAX,
            "ID while the link is down"
        );
        // The last producer index the card wrote (no DMA while the link is down).
        let prod = card
            .stream_wait(u32::MAX, 0)
            .map_err(e("STREAM_WAIT for the last index"))?;
        match card.stream_wait(prod, 2000) {
            Err(Errno(libc::ENODEV)) => {}
            other => {
                return Err(format!(
                    "STREAM_WAIT while the link is down: got {other:?}, expected ENODEV"
                ))
            }
        }
        dw.schedule(Fault::new(regs::FAULT_LINK_UP, Trigger::Now))?;
        check_eq!(
            card.reg_read(regs::ID).map_err(e("ID"))?,
            regs::ID_VALUE,
            "ID after link-up"
        );
        let next = card
            .stream_wait(prod, 5000)
            .map_err(e("STREAM_WAIT after link-up"))?;
        for idx in 5..next.min(ENTRIES) {
            let h = ring.verify(idx)?;
            check_eq!(
                h.seq,
                idx as u64,
                format!("seq of the record at producer index {idx}")
            );
        }
        Ok(())
    })();
    // Whatever happened, the link comes back for the suites after this one.
    let _ = dw.schedule(Fault::new(regs::FAULT_LINK_UP, Trigger::Now));
    let stopped = card.stream_stop();
    result?;
    stopped.map_err(e("STREAM_STOP"))
}

pub const SUITE: Suite = Suite {
    name: "faults",
    about: "the driver's reaction to each fault kind of SPEC §14 (card 0's debug window)",
    cases: cases![
        dma_error_stops_the_stream_and_waits_fail_with_eio,
        stray_write_into_memory_not_handed_to_the_card,
        lost_interrupts_cost_latency_not_records,
        duplicated_interrupts_are_harmless,
        delayed_interrupts_still_deliver_every_record,
        corrupted_payload_is_flagged_at_that_record,
        corrupted_header_is_flagged_at_that_record,
        lost_status_write_backs_are_found_by_polling_prod_idx,
        a_lost_enable_write_back_does_not_revive_the_last_streams_index,
        stall_times_waits_out_and_resume_continues,
        link_down_fails_waits_with_enodev_until_link_up,
    ],
};

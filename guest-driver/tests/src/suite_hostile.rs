//! Hostile user space (issue 8): random ioctl numbers and arguments (bad
//! pointers included), random mmap parameters and page touches, and several
//! threads racing over the same file, for a bounded time (soak.rs). The
//! kernel must stay up and quiet (the host's verdict checks the console for
//! splats); the driver must answer every call with a result or an errno.

use crate::card::Card;
use crate::hostile_limits::{
    buffer_count_and_budget_limits, consume_and_wait_at_their_edges,
    copy_requests_at_and_past_their_edges, every_strategy_at_every_size_limit,
    reset_never_splits_a_stream_start, stream_parameters_at_and_past_their_limits,
    streams_race_free_unmap_close_and_reset_across_files,
    user_copy_registers_race_the_drivers_copies,
};
use crate::ktap::{CaseResult, Suite};
use crate::{cases, check};
use cardless_abi::regs;
use cardless_uapi::ioctl as uapi;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// xorshift64*: seeded, so a failure names the seed that reproduces it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

const KNOWN: [u32; 12] = [
    uapi::IOC_VERSION,
    uapi::IOC_CARD_INFO,
    uapi::IOC_REG_READ,
    uapi::IOC_REG_WRITE,
    uapi::IOC_RESET,
    uapi::IOC_BUF_ALLOC,
    uapi::IOC_BUF_FREE,
    uapi::IOC_STREAM_START,
    uapi::IOC_STREAM_STOP,
    uapi::IOC_STREAM_WAIT,
    uapi::IOC_STREAM_COUNTERS,
    uapi::IOC_STREAM_CONSUME,
];

/// Argument bytes: random, but with fields that often hit the interesting
/// ranges (small IDs, page multiples, valid strategies and record sizes).
fn fill_arg(rng: &mut Rng, buf: &mut [u64; 64]) {
    for w in buf.iter_mut().take(12) {
        *w = match rng.below(6) {
            0 => rng.below(8),
            1 => rng.below(64) * 4096,
            2 => rng.pick(&[64u64, 512, 1024, 4096, 1000, 0]) | (rng.below(8) << 32),
            3 => u64::MAX - rng.below(4),
            4 => regs::SCRATCH | (rng.next() << 32),
            _ => rng.next(),
        };
    }
}

fn ioctl_storm(card: &Card, rng: &mut Rng, ops: &AtomicU64) {
    // Larger than any argument struct (+3 for the misaligned pointer).
    let mut arg = [0u64; 64];
    fill_arg(rng, &mut arg);
    let cmd = if rng.below(4) == 0 {
        // Our type byte with random number, size and direction; or any number.
        if rng.below(2) == 0 {
            uapi::ioc(
                rng.below(4) as u32,
                rng.below(64) as u32,
                rng.below(256) as usize,
            )
        } else {
            rng.next() as u32
        }
    } else {
        rng.pick(&KNOWN)
    };
    // Writes to DMA registers are refused by the driver; keep the storm from
    // resetting the card every few calls, which only slows it down.
    if cmd == uapi::IOC_RESET && rng.below(50) != 0 {
        return;
    }
    // Short waits: a storm must not sleep for seconds.
    if cmd == uapi::IOC_STREAM_WAIT {
        arg[0] = (arg[0] & 0xffff_ffff) | (rng.below(3) << 32);
    }
    let arg = std::hint::black_box(&mut arg).as_mut_ptr() as usize;
    let ptr = match rng.below(8) {
        0 => 0usize,
        1 => 0xffff_8880_0000_0000, // a kernel address
        2 => 0x10,                  // unmapped
        3 => arg + 3,               // misaligned
        _ => arg,
    };
    let _ = card.ioctl_raw(cmd, ptr);
    ops.fetch_add(1, Ordering::Relaxed);
}

fn mmap_storm(card: &Card, rng: &mut Rng, ops: &AtomicU64) {
    let pgoff = match rng.below(6) {
        0 => rng.below(8),
        1 => uapi::MMAP_PGOFF_BAR0 + rng.below(3),
        2 => uapi::MMAP_PGOFF_BAR2 + rng.below(300),
        3 => uapi::MMAP_PGOFF_UNBACKED + rng.below(2),
        4 => rng.next() >> 20,
        _ => rng.below(1 << 28),
    };
    let len = rng.pick(&[4096usize, 8192, 65536, 1 << 20, 3 * 4096, 1]);
    let prot = rng.pick(&[
        libc::PROT_READ,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::PROT_WRITE,
        libc::PROT_EXEC | libc::PROT_READ,
    ]);
    let flags = rng.pick(&[
        libc::MAP_SHARED,
        libc::MAP_PRIVATE,
        libc::MAP_SHARED | libc::MAP_FIXED_NOREPLACE,
    ]);
    // No writes into BAR0 (a root-only debugging door: the card would DMA
    // wherever its registers are told).
    let bar0 = (uapi::MMAP_PGOFF_BAR0..uapi::MMAP_PGOFF_BAR0 + 16).contains(&pgoff);
    if let Ok(mut m) = card.map(pgoff, len, prot, flags) {
        // Touch the first page (reads only; buffer mappings are read-only).
        if prot & libc::PROT_READ != 0 && len >= 4096 && !bar0 {
            let _ = m.read32(0);
        }
        if rng.below(4) == 0 && m.len > 4096 {
            // A partial munmap splits the VMA (vm_ops open/close). The mapping
            // shrinks with it: another thread may reuse the freed range.
            // SAFETY: unmapping the tail of our own mapping.
            unsafe { libc::munmap(m.ptr.add(4096) as *mut libc::c_void, m.len - 4096) };
            m.len = 4096;
        }
    }
    ops.fetch_add(1, Ordering::Relaxed);
}

fn storm(base: Duration, threads: usize) -> CaseResult {
    let race = crate::soak::race_time(base)?;
    // Random register writes (STEP > 65536, copy ops and ranges) and
    // stream starts make the card latch errors: any number, on card 0.
    crate::ktap::expect(
        crate::ktap::Report::CardError(0, "*"),
        crate::ktap::Count::Any,
    );
    let card = Arc::new(Card::open(0)?);
    let ops = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + race;
    let seed = 0xc0ffee_u64;
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (card, ops) = (card.clone(), ops.clone());
            std::thread::spawn(move || {
                let mut rng = Rng(seed ^ ((t as u64 + 1) * 0x9e37_79b9_7f4a_7c15));
                while Instant::now() < deadline {
                    if rng.below(3) == 0 {
                        mmap_storm(&card, &mut rng, &ops);
                    } else {
                        ioctl_storm(&card, &mut rng, &ops);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().map_err(|_| "a storm thread panicked")?;
    }
    let _ = card.stream_stop();
    // Still healthy: a fresh file works.
    drop(card);
    let fresh = Card::open(0)?;
    let id = fresh
        .reg_read(regs::ID)
        .map_err(|e| format!("ID after the storm: {e}"))?;
    check!(id == regs::ID_VALUE, "ID after the storm reads {id:#x}");
    println!(
        "    # {} calls from {threads} threads in {race:?} (seed {seed:#x})",
        ops.load(Ordering::Relaxed)
    );
    Ok(())
}

fn random_ioctls_and_mmaps_from_racing_threads() -> CaseResult {
    storm(Duration::from_secs(4), 4)
}

pub const SUITE: Suite = Suite {
    name: "hostile",
    about: "the whole ioctl and mmap surface at and past its limits, racing threads and files",
    cases: cases![
        every_strategy_at_every_size_limit,
        buffer_count_and_budget_limits,
        stream_parameters_at_and_past_their_limits,
        copy_requests_at_and_past_their_edges,
        consume_and_wait_at_their_edges,
        streams_race_free_unmap_close_and_reset_across_files,
        reset_never_splits_a_stream_start,
        user_copy_registers_race_the_drivers_copies,
        random_ioctls_and_mmaps_from_racing_threads,
    ],
};

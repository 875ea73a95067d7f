//! Guest-programmable state: BAR accesses, DMA mappings, STEP and reset,
//! driven straight into `cardless_device::model::Card` (deterministic mode,
//! no engine thread) with a sealed memfd as guest memory.
//!
//! Oracles, beyond "no panic, no signal":
//! - `DmaSpace::map`/`unmap` accept exactly what a model of SPEC §10/§13
//!   says they should (alignment, overflow, overlap, fd size and seals,
//!   whole-mapping unmaps), through the card's traced `dma_map`/`dma_unmap`;
//! - guard check: guest memory pages with no live writable mapping (never
//!   mapped, or unmapped since) keep their bytes: the card writes nowhere
//!   else, and never after an unmap;
//! - interrupts go to existing MSI-X vectors only, and the lock-free INTx
//!   level always equals `INT_STATUS & INT_MASK != 0`.

#![no_main]

use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use cardless_abi::regs::*;
use cardless_device::dma::DmaSpace;
use cardless_device::model::{Card, CardConfig, IrqSink};
use cardless_device_fuzz::guest::{
    decode, map_flags, Op, Setup, MAX_MAP_PAGES, PAGE, POOL_PAGES, RECORD_SIZES, REGS,
};
use cardless_device_fuzz::memfd;
use libfuzzer_sys::fuzz_target;

struct CheckedIrqs;

impl IrqSink for CheckedIrqs {
    fn raise(&self, vector: u16) {
        assert!(
            vector < MSIX_VECTORS,
            "interrupt on vector {vector}, the card has {MSIX_VECTORS}"
        );
    }
}

/// A mapping the DMA space accepted.
#[derive(Clone, Copy, Debug)]
struct Live {
    iova: u64,
    size: u64,
    /// First pool page, if it maps the pool.
    file_page: u64,
    writable: bool,
}

impl Live {
    fn end(&self) -> u64 {
        self.iova + self.size
    }
    fn pages(&self) -> u64 {
        self.size / PAGE
    }
}

/// What a pool page must hold while no writable mapping covers it.
#[derive(Clone)]
enum Expect {
    /// Covered by this many live writable mappings: the card may write it.
    Live(u32),
    /// Never written: zeros.
    Zero,
    /// Snapshot taken when it stopped being writable by the card.
    Bytes(Vec<u8>),
}

struct Harness {
    card: Card,
    pool: File,
    live: Vec<Live>,
    expect: Vec<Expect>,
}

impl Harness {
    fn new(setup: Setup) -> Harness {
        let dma = Arc::new(DmaSpace::new());
        let config = CardConfig {
            seed: setup.seed,
            bar2_size: setup.bar2_size,
            rate: None,
            deterministic: true,
            // CARDLESS_FUZZ_TRACE=FILE traces every run there (to look at
            // what a reproducer does); else traced runs go to /dev/null.
            trace: match std::env::var_os("CARDLESS_FUZZ_TRACE") {
                Some(path) => Some(path.into()),
                None => setup.trace.then(|| "/dev/null".into()),
            },
            record_size: DEFAULT_RECORD_SIZE,
            debug_window: setup.debug_window,
            ..CardConfig::default()
        };
        let card = Card::new(config, dma, Arc::new(CheckedIrqs)).expect("card");
        Harness {
            card,
            pool: File::from(memfd("guest-pool", POOL_PAGES * PAGE, true)),
            live: Vec::new(),
            expect: vec![Expect::Zero; POOL_PAGES as usize],
        }
    }

    fn read_page(&self, page: u64) -> Vec<u8> {
        let mut buf = vec![0u8; PAGE as usize];
        self.pool
            .read_exact_at(&mut buf, page * PAGE)
            .expect("pool read");
        buf
    }

    /// Panics if a page the card must not have written changed.
    fn check_page(&self, page: u64) {
        if !matches!(self.expect[page as usize], Expect::Live(_)) {
            self.check_bytes(page, &self.read_page(page));
        }
    }

    /// Compares a page's bytes with what they must be (slice compares: a
    /// byte loop would be instrumented per byte and dominate the run time).
    fn check_bytes(&self, page: u64, now: &[u8]) {
        static ZERO: [u8; PAGE as usize] = [0; PAGE as usize];
        let ok = match &self.expect[page as usize] {
            Expect::Live(_) => true,
            Expect::Zero => now == &ZERO[..],
            Expect::Bytes(bytes) => now == &bytes[..],
        };
        assert!(
            ok,
            "guest memory page {page} changed while the card had no writable mapping of it"
        );
    }

    fn pool_pages(l: &Live) -> std::ops::Range<u64> {
        if l.file_page == u64::MAX {
            0..0
        } else {
            l.file_page..l.file_page + l.pages()
        }
    }

    fn mapped(&mut self, l: Live) {
        if l.writable {
            for page in Self::pool_pages(&l) {
                self.check_page(page);
                let e = &mut self.expect[page as usize];
                *e = match e {
                    Expect::Live(n) => Expect::Live(*n + 1),
                    _ => Expect::Live(1),
                };
            }
        }
        self.live.push(l);
    }

    fn unmapped(&mut self, l: Live) {
        if l.writable {
            for page in Self::pool_pages(&l) {
                let n = match self.expect[page as usize] {
                    Expect::Live(n) => n,
                    _ => unreachable!("a writable mapping's page is live"),
                };
                self.expect[page as usize] = if n > 1 {
                    Expect::Live(n - 1)
                } else {
                    Expect::Bytes(self.read_page(page))
                };
            }
        }
    }

    /// The guest writes its own memory (an SG table): not the card's doing.
    fn guest_writes(&mut self, file_offset: u64, data: &[u8]) {
        if self.pool.write_all_at(data, file_offset).is_err() {
            return;
        }
        let first = file_offset / PAGE;
        let last = (file_offset + data.len() as u64).div_ceil(PAGE);
        for page in first..last.min(POOL_PAGES) {
            if !matches!(self.expect[page as usize], Expect::Live(_)) {
                self.expect[page as usize] = Expect::Bytes(self.read_page(page));
            }
        }
    }

    fn reg(&self, offset: u64) -> u32 {
        let mut b = [0u8; 4];
        self.card.bar_read(BAR_REGS, offset, &mut b);
        u32::from_le_bytes(b)
    }

    fn set(&self, offset: u64, value: u32) {
        self.card.bar_write(BAR_REGS, offset, &value.to_le_bytes());
    }

    fn set64(&self, lo: u64, value: u64) {
        self.set(lo, value as u32);
        self.set(lo + 4, (value >> 32) as u32);
    }

    fn iovas(&self) -> Vec<u64> {
        self.live.iter().map(|l| l.iova).collect()
    }

    /// A live mapping to program against, or a made-up unmapped one.
    fn slot(&self, slot: u8) -> Live {
        if self.live.is_empty() {
            Live {
                iova: 0x10_0000,
                size: 4 * PAGE,
                file_page: u64::MAX,
                writable: true,
            }
        } else {
            self.live[usize::from(slot) % self.live.len()]
        }
    }

    fn run(&mut self, op: &Op) {
        match *op {
            Op::RegWrite { reg, value } => {
                let offset = REGS[usize::from(reg) % REGS.len()];
                self.set(offset, value.resolve(&self.iovas()));
            }
            Op::RegRead { reg } => {
                self.reg(REGS[usize::from(reg) % REGS.len()]);
            }
            Op::Raw {
                bar,
                offset,
                flags,
                width,
                ref data,
            } => {
                let mut offset = u64::from(offset);
                if flags & 2 != 0 {
                    offset |= 0xffff_ffff_0000_0000;
                }
                if flags & 1 != 0 {
                    self.card.bar_write(bar, offset, data);
                } else {
                    let mut buf = vec![0u8; usize::from(width)];
                    self.card.bar_read(bar, offset, &mut buf);
                }
            }
            Op::Map {
                iova_page,
                pages,
                file_page,
                flags,
            } => self.map(iova_page, pages, file_page, flags),
            Op::Unmap {
                iova_page,
                pages,
                flags,
            } => self.unmap(iova_page, pages, flags),
            Op::Step(n) => self.set(STEP, u32::from(n) % 1025),
            Op::StepNs(n) => self.set(STEP_NS, n),
            Op::Reset => self.card.reset(),
            Op::UnmapAll => {
                self.card.dma_unmap_all();
                for l in std::mem::take(&mut self.live) {
                    self.unmapped(l);
                }
            }
            Op::Ring {
                slot,
                entries,
                record,
                control,
                status,
            } => self.ring(slot, entries, record, control, status),
            Op::Copy {
                slot,
                op,
                bar_off,
                len,
            } => {
                let l = self.slot(slot);
                self.set(COPY_BAR_OFF, u32::from(bar_off));
                self.set(COPY_LEN, u32::from(len));
                self.set64(COPY_HOST_LO, l.iova);
                self.set(COPY_CTRL, u32::from(op & 3));
            }
            Op::Consume { behind } => {
                let prod = self.reg(PROD_IDX);
                self.set(CONS_IDX, prod.wrapping_sub(u32::from(behind)));
            }
        }
    }

    fn map(&mut self, iova_page: u16, pages: u8, file_page: u8, flags: u8) {
        let pages = 1 + u64::from(pages) % MAX_MAP_PAGES;
        let size = pages * PAGE;
        let mut iova = u64::from(iova_page) * PAGE;
        if flags & map_flags::HIGH != 0 {
            iova = (u64::MAX - iova) & !(PAGE - 1);
        }
        if flags & map_flags::UNALIGNED != 0 {
            iova = iova.wrapping_add(8);
        }
        let file_page = u64::from(file_page) % (POOL_PAGES + 4);
        let writable = flags & map_flags::WRITABLE != 0;
        let fd_kind = flags >> map_flags::FD_SHIFT & 3;
        let fd: OwnedFd = match fd_kind {
            2 => memfd("unsealed", POOL_PAGES * PAGE, false),
            3 => memfd("short", (file_page + pages - 1) * PAGE, true),
            _ => self.pool.try_clone().expect("dup").into(),
        };
        // The model of SPEC §10/§13's DMA_MAP rules.
        let end = iova.checked_add(size);
        let expect_ok = fd_kind < 2
            && iova.is_multiple_of(PAGE)
            && file_page + pages <= POOL_PAGES
            && end.is_some_and(|end| !self.live.iter().any(|l| l.iova < end && iova < l.end()));
        let result = self
            .card
            .dma_map(iova, size, fd, file_page * PAGE, writable);
        assert_eq!(
            result.is_ok(),
            expect_ok,
            "DMA_MAP {iova:#x}+{size:#x} file page {file_page} fd kind {fd_kind}: {result:?}"
        );
        if result.is_ok() {
            self.mapped(Live {
                iova,
                size,
                file_page,
                writable,
            });
        }
    }

    fn unmap(&mut self, iova_page: u16, pages: u8, flags: u8) {
        let (iova, size) = if flags & 1 != 0 && !self.live.is_empty() {
            let l = self.live[usize::from(pages) % self.live.len()];
            (l.iova, l.size)
        } else {
            let iova = u64::from(iova_page) * PAGE;
            let size = if flags & 2 != 0 {
                (u64::MAX - iova).wrapping_add(u64::from(pages & 1))
            } else {
                (u64::from(pages) + 1) * PAGE
            };
            (iova, size)
        };
        // The model: whole mappings only, something must go, no overflow
        // (the range may end exactly at 2^64: `last` is inclusive).
        let last = size.checked_sub(1).and_then(|n| iova.checked_add(n));
        let inside = |l: &Live, last: u64| l.iova >= iova && l.end() - 1 <= last;
        let expect_ok = match last {
            None => false,
            Some(last) => {
                let overlaps = |l: &&Live| l.iova <= last && iova < l.end();
                let cut = self.live.iter().filter(overlaps).any(|l| !inside(l, last));
                !cut && self.live.iter().any(|l| inside(l, last))
            }
        };
        let result = self.card.dma_unmap(iova, size);
        assert_eq!(
            result.is_ok(),
            expect_ok,
            "DMA_UNMAP {iova:#x}+{size:#x}: {result:?}"
        );
        if let (Ok(()), Some(last)) = (&result, last) {
            let (gone, kept): (Vec<Live>, Vec<Live>) = std::mem::take(&mut self.live)
                .into_iter()
                .partition(|l| inside(l, last));
            self.live = kept;
            for l in gone {
                self.unmapped(l);
            }
        }
    }

    fn ring(&mut self, slot: u8, entries: u8, record: u8, control: u8, status: u8) {
        let l = self.slot(slot);
        let bits = u32::from(control) & (CTRL_SG | CTRL_OVF_STOP | CTRL_STATUS_WB);
        self.set(CONTROL, 0);
        self.set(ERROR_CODE, 0);
        self.set(RING_ENTRIES, 1 + u32::from(entries) % 64);
        self.set(
            RECORD_SIZE,
            RECORD_SIZES[usize::from(record) % RECORD_SIZES.len()],
        );
        self.set64(RING_BASE_LO, l.iova);
        if bits & CTRL_SG != 0 {
            // Table in the mapping's first page, pointing at its other pages.
            let data_pages = l.pages().saturating_sub(1).max(1);
            let table: Vec<u8> = (0..data_pages)
                .flat_map(|i| (l.iova + (1 + i % data_pages) * PAGE).to_le_bytes())
                .collect();
            if l.file_page != u64::MAX {
                self.guest_writes(l.file_page * PAGE, &table);
            }
            self.set(SG_PAGES, data_pages as u32);
        }
        let mut status_addr = l
            .iova
            .wrapping_add(l.size)
            .wrapping_sub(64 * (1 + u64::from(status & 0x3f)));
        if status & 0x40 != 0 {
            status_addr = status_addr.wrapping_add(4);
        }
        self.set64(STATUS_ADDR_LO, status_addr);
        self.set(COAL_COUNT, 1);
        self.set(INT_MASK, INT_ALL);
        self.set(CONTROL, CTRL_ENABLE | bits);
    }

    /// The lock-free INTx level matches the registers (unless the card is
    /// removed or its link down: then reads are all-ones, §14.3).
    fn check_irq_level(&self) {
        if self.reg(ID) != ID_VALUE {
            return;
        }
        let level = self.reg(INT_STATUS) & self.reg(INT_MASK) != 0;
        assert_eq!(
            self.card.irq_pending(),
            level,
            "irq_pending vs INT_STATUS & INT_MASK"
        );
    }

    fn finish(self) {
        let mut all = vec![0u8; (POOL_PAGES * PAGE) as usize];
        self.pool.read_exact_at(&mut all, 0).expect("pool read");
        for (page, now) in all.chunks(PAGE as usize).enumerate() {
            self.check_bytes(page as u64, now);
        }
        self.card.shutdown();
    }
}

fuzz_target!(|data: &[u8]| {
    let (setup, ops) = decode(data);
    let mut h = Harness::new(setup);
    for op in &ops {
        h.run(op);
        h.check_irq_level();
    }
    h.finish();
});

// SPDX-License-Identifier: GPL-2.0
//! What a card's open files share with its driver binding. Files may outlive
//! the binding (unbind, hot-unplug): everything that touches hardware is
//! behind a `Devres` that unbind revokes, and user mappings are zapped then.

use crate::buffer::DmaSlot;
use crate::ffi::{self, dma_mem, MappingKey, WcBar};
use crate::hw::regs;
use crate::stream::Stream;
use kernel::{
    device,
    devres::Devres,
    dma::Coherent,
    io::Io,
    pci,
    prelude::*,
    sync::{
        aref::ARef, atomic::Atomic, atomic::Relaxed, new_condvar, new_mutex, Arc, CondVar, Mutex,
    },
};

pub(crate) const BAR0_SIZE: usize = regs::BAR0_SIZE as usize;
pub(crate) type Bar0 = pci::Bar<'static, BAR0_SIZE>;

/// Open files' mappings, and whether the card is still bound.
pub(crate) struct Mappings {
    pub(crate) bound: bool,
    /// Distinct address spaces of open files, with their open counts.
    keys: KVec<(MappingKey, u32)>,
}

#[pin_data]
pub(crate) struct CardShared {
    /// N of /dev/cardlessN.
    pub(crate) index: u32,
    pub(crate) pci_location: u32,
    /// BAR0, uncached; revoked at unbind.
    pub(crate) bar0: Devres<Bar0>,
    /// BAR2, write-combining kernel mapping; revoked at unbind.
    pub(crate) bar2: Devres<WcBar>,
    pub(crate) bar0_phys: u64,
    pub(crate) bar0_len: u64,
    pub(crate) bar2_phys: u64,
    pub(crate) bar2_len: u64,
    /// False from the moment unbind begins: file operations answer ENODEV.
    pub(crate) alive: Atomic<bool>,
    pub(crate) irq_mode: Atomic<u32>,
    pub(crate) irq_vectors: Atomic<u32>,
    /// Interrupts handled per cause (INT_STATUS bit order).
    pub(crate) irq_counts: [Atomic<u64>; 4],
    /// STREAM_WAITs satisfied after an interrupt woke them / by the poll.
    pub(crate) waits_woken: Atomic<u64>,
    pub(crate) waits_polled: Atomic<u64>,
    /// 1 when the hard handler saw an ERROR the interrupt thread has not
    /// looked at yet.
    pub(crate) error_pending: Atomic<u32>,
    /// The error the interrupt thread found latched in ERROR_CODE (0: none
    /// since the last stream start or reset). Waiters fail with EIO on it
    /// even when the card could not write its status block.
    latched_error: Atomic<u32>,
    #[pin]
    pub(crate) mappings: Mutex<Mappings>,
    /// The PCI device's generic device (for DMA calls).
    pub(crate) dev: ARef<device::Device>,
    /// The status block the card writes (SPEC §5.3); gone after unbind.
    #[pin]
    pub(crate) status: Mutex<Option<Coherent<[u8]>>>,
    #[pin]
    pub(crate) stream: Mutex<Option<Stream>>,
    /// Counts data/overflow/error events; waiters sleep on `events_changed`.
    #[pin]
    pub(crate) events: Mutex<u64>,
    #[pin]
    pub(crate) events_changed: CondVar,
    /// Serializes copy-engine commands (SPEC §11).
    #[pin]
    pub(crate) copy_engine: Mutex<()>,
    /// Bytes of live buffers (capped at `uapi::BUF_MAX_TOTAL`).
    pub(crate) buffer_bytes: Atomic<u64>,
    /// The DMA state of every live buffer, revoked at unbind.
    #[pin]
    dma_slots: Mutex<KVec<Arc<DmaSlot>>>,
}

impl CardShared {
    pub(crate) fn new(
        pdev: &pci::Device<kernel::device::Bound>,
        index: u32,
        bar0: pci::Bar<'_, BAR0_SIZE>,
        bar2: WcBar,
    ) -> Result<Arc<Self>> {
        let bar0_phys = pdev.resource_start(0)?;
        let bar0_len = pdev.resource_len(0)?;
        let bar2_phys = pdev.resource_start(regs::BAR_MEM as u32)?;
        let bar2_len = bar2.len() as u64;
        let bar2 = Devres::new(pdev.as_ref(), bar2)?;
        let bar0 = bar0.into_devres()?;
        let status = Coherent::<u8>::zeroed_slice(
            pdev.as_ref(),
            crate::hw::record::STATUS_BLOCK_SIZE,
            GFP_KERNEL,
        )?;
        Arc::pin_init(
            try_pin_init!(CardShared {
                index,
                pci_location: ffi::pci_location(pdev),
                bar0,
                bar2,
                bar0_phys,
                bar0_len,
                bar2_phys,
                bar2_len,
                alive: Atomic::new(true),
                irq_mode: Atomic::new(0),
                irq_vectors: Atomic::new(0),
                irq_counts: [Atomic::new(0), Atomic::new(0), Atomic::new(0), Atomic::new(0)],
                error_pending: Atomic::new(0),
                waits_woken: Atomic::new(0),
                waits_polled: Atomic::new(0),
                latched_error: Atomic::new(0),
                mappings <- new_mutex!(Mappings { bound: true, keys: KVec::new() }),
                dev: dma_mem::device_of(pdev),
                status <- new_mutex!(Some(status)),
                stream <- new_mutex!(None),
                events <- new_mutex!(0),
                events_changed <- new_condvar!(),
                copy_engine <- new_mutex!(()),
                buffer_bytes: Atomic::new(0),
                dma_slots <- new_mutex!(KVec::new()),
            }),
            GFP_KERNEL,
        )
    }

    /// Reads a BAR0 register; ENODEV once the card is unbound (from the
    /// start of unbind: `bar0` is only revoked after the driver's remove).
    pub(crate) fn read_reg(&self, offset: u64) -> Result<u32> {
        if !self.alive.load(Relaxed) {
            return Err(ENODEV);
        }
        let bar = self.bar0.try_access().ok_or(ENODEV)?;
        bar.try_read32(offset as usize)
    }

    /// Writes a BAR0 register; ENODEV once the card is unbound.
    pub(crate) fn write_reg(&self, offset: u64, value: u32) -> Result {
        if !self.alive.load(Relaxed) {
            return Err(ENODEV);
        }
        let bar = self.bar0.try_access().ok_or(ENODEV)?;
        bar.try_write32(value, offset as usize)
    }

    /// Remembers an open file's address space (so unbind can zap its mappings).
    pub(crate) fn file_opened(&self, key: MappingKey) -> Result {
        let mut m = self.mappings.lock();
        if !m.bound {
            return Err(ENODEV);
        }
        if let Some(entry) = m.keys.iter_mut().find(|(k, _)| *k == key) {
            entry.1 += 1;
            return Ok(());
        }
        m.keys.push((key, 1), GFP_KERNEL)?;
        Ok(())
    }

    pub(crate) fn file_closed(&self, key: MappingKey) {
        let mut m = self.mappings.lock();
        if let Some(pos) = m.keys.iter().position(|(k, _)| *k == key) {
            m.keys[pos].1 -= 1;
            if m.keys[pos].1 == 0 {
                let _ = m.keys.remove(pos);
            }
        }
    }

    /// Unbind, after the card was quieted: no new mapping from now on, every
    /// existing user mapping of the card loses its pages (a later touch gets
    /// SIGBUS), the stream lets its buffer go, and every DMA mapping and
    /// coherent allocation is released while the device is still bound.
    pub(crate) fn unbind(&self) {
        self.alive.store(false, Relaxed);
        {
            let mut m = self.mappings.lock();
            m.bound = false;
            for (key, _) in m.keys.iter() {
                ffi::zap_mapping(*key);
            }
        }
        let stream = self.stream.lock().take();
        drop(stream);
        let slots = core::mem::take(&mut *self.dma_slots.lock());
        for slot in slots.iter() {
            drop(slot.state.lock().take());
        }
        drop(slots);
        drop(self.status.lock().take());
        self.wake_waiters();
    }

    /// Runs `f` with the card's device, known bound for the whole call.
    pub(crate) fn with_bound_device<R>(
        &self,
        f: impl FnOnce(&device::Device<device::Bound>) -> R,
    ) -> Result<R> {
        let m = self.mappings.lock();
        if !m.bound {
            return Err(ENODEV);
        }
        // Unbind marks the card gone under `mappings` before it releases
        // anything, and we hold that lock.
        Ok(dma_mem::with_bound(&self.dev, f))
    }

    pub(crate) fn remember_dma_slot(&self, slot: Arc<DmaSlot>) -> Result {
        if !self.mappings.lock().bound {
            return Err(ENODEV);
        }
        self.dma_slots.lock().push(slot, GFP_KERNEL)?;
        Ok(())
    }

    pub(crate) fn forget_dma_slot(&self, slot: &Arc<DmaSlot>) {
        let mut slots = self.dma_slots.lock();
        if let Some(pos) = slots.iter().position(|s| Arc::ptr_eq(s, slot)) {
            let removed = slots.remove(pos);
            drop(slots);
            drop(removed);
        }
    }

    /// Reserves `bytes` of the card's buffer budget (ENOSPC past it).
    pub(crate) fn reserve_buffer_bytes(&self, bytes: u64) -> Result {
        loop {
            let used = self.buffer_bytes.load(Relaxed);
            let next = used
                .checked_add(bytes)
                .filter(|n| *n <= crate::uapi::BUF_MAX_TOTAL)
                .ok_or(ENOSPC)?;
            if self
                .buffer_bytes
                .cmpxchg(used, next, kernel::sync::atomic::Full)
                .is_ok()
            {
                return Ok(());
            }
        }
    }

    pub(crate) fn release_buffer_bytes(&self, bytes: u64) {
        self.buffer_bytes
            .fetch_sub(bytes, kernel::sync::atomic::Full);
    }

    /// Wakes every `STREAM_WAIT` (process context: interrupt thread, unbind).
    pub(crate) fn wake_waiters(&self) {
        *self.events.lock() += 1;
        self.events_changed.notify_all();
    }

    /// Notes (and logs once per new code) the error the card latched
    /// (SPEC §10): its engine stopped, and STREAM_WAIT now answers EIO.
    pub(crate) fn note_card_error(&self) {
        let (Ok(code), Ok(lo), Ok(hi)) = (
            self.read_reg(regs::ERROR_CODE),
            self.read_reg(regs::ERROR_ADDR_LO),
            self.read_reg(regs::ERROR_ADDR_HI),
        ) else {
            return;
        };
        if code == 0 || code == u32::MAX || self.latched_error.xchg(code, Relaxed) == code {
            return;
        }
        let name = regs::error_name(code).unwrap_or("an unknown error");
        dev_warn!(
            self.dev,
            "cardless{}: the card reports {} (code {}) at {:#x}; its engine stopped (STREAM_WAIT answers EIO until the stream is restarted)\n",
            self.index,
            name,
            code,
            (u64::from(hi) << 32) | u64::from(lo)
        );
    }

    /// ERROR_CODE was cleared (a new stream, a reset): log the next error again.
    pub(crate) fn error_cleared(&self) {
        self.latched_error.store(0, Relaxed);
    }

    /// The card error the interrupt thread saw, 0 for none.
    pub(crate) fn latched_error(&self) -> u32 {
        self.latched_error.load(Relaxed)
    }

    pub(crate) fn count_irq(&self, causes: u32) {
        for (bit, counter) in self.irq_counts.iter().enumerate() {
            if causes & (1 << bit) != 0 {
                counter.fetch_add(1, Relaxed);
            }
        }
    }
}

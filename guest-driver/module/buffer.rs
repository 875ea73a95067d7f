// SPDX-License-Identifier: GPL-2.0
//! DMA buffers: memory backed and mapped one way each (`ways/`), reference
//! counted: the file's table, each user mapping (`ffi::vma::hold`) and a
//! running stream each hold a buffer, and its memory goes back only when the
//! last of them lets go.
//!
//! What the card uses to reach a buffer (its DMA mappings, and for
//! `coherent` the memory itself) is a `DmaSlot` the card revokes at unbind:
//! the DMA API must not see a mapping outlive the driver's binding, even
//! when a user mapping still holds the buffer.

use crate::ffi::{binding::Binding, mem::available_bytes, vma::MappedObject};
use crate::uapi;
use crate::ways::{self, DmaState, Mapped, Way};
use kernel::{
    mm::virt::VmaNew,
    page::{Page, PAGE_SIZE},
    prelude::*,
    sync::{atomic::Atomic, atomic::Full, new_mutex, Arc, Mutex},
};

/// A buffer's DMA state, revocable by the card at unbind.
#[pin_data]
pub(crate) struct DmaSlot {
    #[pin]
    state: Mutex<Option<DmaState>>,
}

impl DmaSlot {
    /// Runs `f` with the DMA state; ENODEV once revoked.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&DmaState) -> R) -> Result<R> {
        Ok(f(self.state.lock().as_ref().ok_or(ENODEV)?))
    }

    /// Undoes the DMA mappings (and frees coherent memory) now.
    pub(crate) fn revoke(&self) {
        drop(self.state.lock().take());
    }

    fn is_live(&self) -> bool {
        self.state.lock().is_some()
    }
}

/// A card's buffers as the card sees them: the budget of bytes they may
/// use, and every live buffer's DMA slot (so unbind can revoke them all).
#[pin_data]
pub(crate) struct Buffers {
    /// Bytes of live buffers (capped at `uapi::BUF_MAX_TOTAL`).
    bytes: Atomic<u64>,
    #[pin]
    slots: Mutex<Slots>,
}

struct Slots {
    /// Set at unbind: no new slot from then on.
    revoked: bool,
    live: KVec<Arc<DmaSlot>>,
}

impl Buffers {
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Buffers {
            bytes: Atomic::new(0),
            slots <- new_mutex!(Slots { revoked: false, live: KVec::new() }),
        })
    }

    /// Bytes of live buffers.
    fn bytes(&self) -> u64 {
        self.bytes.load(kernel::sync::atomic::Relaxed)
    }

    /// Reserves `bytes` of the budget (ENOSPC past it).
    fn reserve(&self, bytes: u64) -> Result {
        loop {
            let used = self.bytes();
            let next = used
                .checked_add(bytes)
                .filter(|n| *n <= uapi::BUF_MAX_TOTAL)
                .ok_or(ENOSPC)?;
            if self.bytes.cmpxchg(used, next, Full).is_ok() {
                return Ok(());
            }
        }
    }

    fn release(&self, bytes: u64) {
        self.bytes.fetch_sub(bytes, Full);
    }

    /// Registers a new buffer's slot; ENODEV once the card is unbound.
    fn remember(&self, slot: Arc<DmaSlot>) -> Result {
        let mut slots = self.slots.lock();
        if slots.revoked {
            return Err(ENODEV);
        }
        slots.live.push(slot, GFP_KERNEL)?;
        Ok(())
    }

    fn forget(&self, slot: &Arc<DmaSlot>) {
        let mut slots = self.slots.lock();
        if let Some(pos) = slots.live.iter().position(|s| Arc::ptr_eq(s, slot)) {
            let removed = slots.live.remove(pos);
            drop(slots);
            drop(removed);
        }
    }

    /// Unbind: every buffer's DMA mappings go now, while the device is
    /// still bound, whoever still holds the buffers.
    pub(crate) fn revoke_all(&self) {
        let live = {
            let mut slots = self.slots.lock();
            slots.revoked = true;
            core::mem::take(&mut slots.live)
        };
        for slot in live.iter() {
            slot.revoke();
        }
    }
}

/// Bytes of the card's budget, given back on drop.
struct BudgetClaim {
    buffers: Arc<Buffers>,
    bytes: u64,
}

impl BudgetClaim {
    fn take(buffers: &Arc<Buffers>, bytes: u64) -> Result<Self> {
        buffers.reserve(bytes)?;
        Ok(BudgetClaim {
            buffers: buffers.clone(),
            bytes,
        })
    }
}

impl Drop for BudgetClaim {
    fn drop(&mut self) {
        self.buffers.release(self.bytes);
    }
}

pub(crate) struct Buffer {
    pub(crate) id: u32,
    pub(crate) size: usize,
    pub(crate) dma: Arc<DmaSlot>,
    way: KBox<dyn Way>,
    buffers: Arc<Buffers>,
    /// Last: the budget is given back after the memory.
    _budget: BudgetClaim,
}

impl Buffer {
    /// Allocates buffer `id` of `size` bytes the way `strategy` says, for a
    /// card that must still be bound.
    pub(crate) fn alloc(
        binding: &Binding,
        buffers: &Arc<Buffers>,
        id: u32,
        strategy: u32,
        size: u64,
    ) -> Result<Arc<Buffer>> {
        if size == 0
            || size % PAGE_SIZE as u64 != 0
            || size > uapi::BUF_MAX_SIZE
            || !ways::known(strategy)
        {
            return Err(EINVAL);
        }
        // The size is the user's: refuse what the machine cannot give now
        // rather than let the allocator warn or call the OOM killer.
        if size > (available_bytes() / 2) as u64 {
            return Err(ENOMEM);
        }
        let budget = BudgetClaim::take(buffers, size)?;
        let size = size as usize;
        let ways::Allocation { way, dma } =
            binding.with_bound(|dev| ways::alloc(dev, strategy, size))??;
        let dma = Arc::pin_init(
            pin_init!(DmaSlot { state <- new_mutex!(Some(dma)) }),
            GFP_KERNEL,
        )?;
        buffers.remember(dma.clone())?;
        Ok(Arc::new(
            Buffer {
                id,
                size,
                dma,
                way,
                buffers: buffers.clone(),
                _budget: budget,
            },
            GFP_KERNEL,
        )?)
    }

    /// Puts the first `pages` pages into `vma` (the caller holds the card
    /// bound); ENODEV once the DMA state is revoked.
    pub(crate) fn map(&self, vma: &VmaNew, pages: usize) -> Result<Mapped> {
        self.dma.with(|state| self.way.map(vma, pages, state))?
    }
}

impl MappedObject for Buffer {
    /// SIGBUS past the end, and once the card is unbound.
    fn fault_page(&self, index: usize) -> Option<&Page> {
        if !self.dma.is_live() {
            return None;
        }
        self.way.fault_page(index)
    }

    fn vma_closed(&self) {
        self.way.vma_closed();
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // DMA mappings go before the memory (the fields drop after this).
        self.dma.revoke();
        self.buffers.forget(&self.dma);
    }
}

/// An open file's buffers, by ID (IDs are per file: another file's ID is unknown here).
pub(crate) struct BufferTable {
    next_id: u32,
    entries: KVec<Arc<Buffer>>,
}

impl BufferTable {
    pub(crate) fn new() -> Self {
        BufferTable {
            next_id: 1,
            entries: KVec::new(),
        }
    }

    pub(crate) fn next_id(&mut self) -> Result<u32> {
        if self.entries.len() >= uapi::BUF_MAX_PER_FILE as usize {
            return Err(ENOSPC);
        }
        let id = self.next_id;
        if u64::from(id) > uapi::MMAP_PGOFF_BUFFER_MAX {
            return Err(ENOSPC);
        }
        self.next_id += 1;
        Ok(id)
    }

    pub(crate) fn insert(&mut self, buf: Arc<Buffer>) -> Result {
        self.entries.push(buf, GFP_KERNEL)?;
        Ok(())
    }

    pub(crate) fn get(&self, id: u32) -> Option<Arc<Buffer>> {
        self.entries.iter().find(|b| b.id == id).cloned()
    }

    pub(crate) fn remove(&mut self, id: u32) -> Option<Arc<Buffer>> {
        let pos = self.entries.iter().position(|b| b.id == id)?;
        self.entries.remove(pos).ok()
    }
}

// SPDX-License-Identifier: GPL-2.0
//! DMA buffers, one backing strategy each (uapi `STRATEGY_*`; the why of each
//! is in docs/mapping-guide.md). A buffer is reference counted: the file's
//! table, each user mapping (see `ffi::vma`) and a running stream each hold
//! it, and the memory goes back only when the last of them lets go.
//!
//! What the card uses to reach a buffer (its DMA mappings, and for `coherent`
//! the memory itself) is a `DmaSlot` the card can revoke at unbind: the DMA
//! API must not see a mapping outlive the driver's binding, even when a user
//! mapping still holds the buffer.

use crate::card::CardShared;
use crate::ffi::dma_mem::{
    self, CompoundPages, DmaPageMap, DmaResourceMap, PageSource, VmallocArea,
};
use crate::uapi;
use kernel::{
    device,
    dma::Coherent,
    page::{Page, PAGE_SIZE},
    prelude::*,
    sync::{atomic::Atomic, atomic::Full, new_mutex, Arc, Mutex},
};

/// The memory of a buffer, by strategy.
enum Memory {
    /// Lives in the `DmaSlot` (coherent memory is both memory and DMA mapping).
    Coherent,
    /// Order-0 pages (`pages` and `fault`).
    Pages(KVec<Page>),
    Compound(CompoundPages),
    Vmalloc(VmallocArea),
    Carveout(CarveoutClaim),
    /// Bug zoo only (`ZOO_KMALLOC_FREED_IN_CLOSE`): memory from `kmalloc`.
    #[cfg(cardless_zoo)]
    Kmalloc(dma_mem::KmallocBlock),
}

/// How the card reaches the buffer.
pub(crate) enum DmaState {
    Coherent(Coherent<[u8]>),
    /// One DMA range (a compound allocation).
    Contiguous(DmaPageMap),
    /// The carve-out, mapped as a resource (no `struct page`).
    Resource(DmaResourceMap),
    /// Each page mapped on its own; the card reads the page table (SPEC §5.5).
    PageList {
        table: Coherent<[u8]>,
        maps: KVec<DmaPageMap>,
    },
}

/// Where the card's ring is: a DMA address and, for a page list, its length.
pub(crate) struct RingAddress {
    pub(crate) base: u64,
    pub(crate) sg_pages: Option<u32>,
}

impl DmaState {
    /// The DMA address of bytes `offset .. offset + len` when they form one
    /// DMA range; `None` when they cross a page of a page list.
    pub(crate) fn dma_range(&self, offset: u64, len: u64) -> Option<u64> {
        match self {
            DmaState::Coherent(c) => Some(c.dma_handle() + offset),
            DmaState::Contiguous(m) => Some(m.addr() + offset),
            DmaState::Resource(m) => Some(m.addr() + offset),
            DmaState::PageList { maps, .. } => {
                let page = (offset / PAGE_SIZE as u64) as usize;
                let within = offset % PAGE_SIZE as u64;
                (within + len <= PAGE_SIZE as u64)
                    .then(|| maps.get(page).map(|m| m.addr() + within))?
            }
        }
    }

    pub(crate) fn ring_address(&self) -> RingAddress {
        match self {
            DmaState::Coherent(c) => RingAddress {
                base: c.dma_handle(),
                sg_pages: None,
            },
            DmaState::Contiguous(m) => RingAddress {
                base: m.addr(),
                sg_pages: None,
            },
            DmaState::Resource(m) => RingAddress {
                base: m.addr(),
                sg_pages: None,
            },
            DmaState::PageList { table, .. } => RingAddress {
                base: table.dma_handle(),
                sg_pages: Some((table.size() / 8) as u32),
            },
        }
    }
}

/// A buffer's DMA state, revocable by the card at unbind.
#[pin_data]
pub(crate) struct DmaSlot {
    #[pin]
    pub(crate) state: Mutex<Option<DmaState>>,
}

/// The one carve-out (module parameters), claimed by at most one buffer.
static CARVEOUT_IN_USE: Atomic<u32> = Atomic::new(0);

struct CarveoutClaim {
    phys: u64,
}

impl CarveoutClaim {
    fn take(size: usize) -> Result<Self> {
        let (base, len) = crate::carveout();
        if len == 0 {
            // No memmap= carve-out was given to this kernel.
            return Err(ENODEV);
        }
        if size as u64 > len {
            return Err(ENOSPC);
        }
        if CARVEOUT_IN_USE.cmpxchg(0, 1, Full).is_err() {
            return Err(EBUSY);
        }
        #[cfg(cardless_zoo)]
        if crate::zoo::armed(uapi::ZOO_UNBACKED_CARVEOUT) {
            // The bug: a "reserved region" where no RAM is (the third seed's 0xff).
            return Ok(CarveoutClaim {
                phys: crate::unbacked_base(),
            });
        }
        Ok(CarveoutClaim { phys: base })
    }
}

impl Drop for CarveoutClaim {
    fn drop(&mut self) {
        let _ = CARVEOUT_IN_USE.cmpxchg(1, 0, Full);
    }
}

pub(crate) struct Buffer {
    pub(crate) id: u32,
    pub(crate) strategy: u32,
    pub(crate) size: usize,
    pub(crate) dma: Arc<DmaSlot>,
    memory: Memory,
    card: Arc<CardShared>,
    /// Last: the budget is given back after the memory.
    _budget: BudgetClaim,
}

/// Bytes of the card's buffer budget (`uapi::BUF_MAX_TOTAL`), given back on drop.
struct BudgetClaim {
    card: Arc<CardShared>,
    bytes: u64,
}

impl BudgetClaim {
    fn take(card: &Arc<CardShared>, bytes: u64) -> Result<Self> {
        card.reserve_buffer_bytes(bytes)?;
        Ok(BudgetClaim {
            card: card.clone(),
            bytes,
        })
    }
}

impl Drop for BudgetClaim {
    fn drop(&mut self) {
        self.card.release_buffer_bytes(self.bytes);
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // DMA mappings go before the memory (fields drop after this).
        drop(self.dma.state.lock().take());
        self.card.forget_dma_slot(&self.dma);
    }
}

fn alloc_pages(count: usize) -> Result<KVec<Page>> {
    let mut pages = KVec::with_capacity(count, GFP_KERNEL)?;
    for _ in 0..count {
        pages.push(
            Page::alloc_page(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN)?,
            GFP_KERNEL,
        )?;
    }
    Ok(pages)
}

/// A page table the card reads (SPEC §5.5): one u64 DMA address per page.
fn page_table(dev: &device::Device<device::Bound>, maps: &[DmaPageMap]) -> Result<Coherent<[u8]>> {
    let table = Coherent::<u8>::zeroed_slice(dev, maps.len() * 8, GFP_KERNEL)?;
    for (i, m) in maps.iter().enumerate() {
        dma_mem::write_coherent_u64(&table, i * 8, m.addr());
    }
    Ok(table)
}

fn page_list(
    dev: &device::Device<device::Bound>,
    src: PageSource<'_>,
    count: usize,
) -> Result<DmaState> {
    let maps = dma_mem::dma_map_each_page(dev, &src, count)?;
    Ok(DmaState::PageList {
        table: page_table(dev, &maps)?,
        maps,
    })
}

fn build(
    dev: &device::Device<device::Bound>,
    strategy: u32,
    size: usize,
) -> Result<(Memory, DmaState)> {
    let pages = size / PAGE_SIZE;
    Ok(match strategy {
        uapi::STRATEGY_COHERENT => (
            Memory::Coherent,
            // Contiguous: past MAX_PAGE_ORDER (4 MiB) the direct mapping
            // fails (ENOMEM, no warning); an IOMMU can stitch pages together.
            DmaState::Coherent(Coherent::<u8>::zeroed_slice(
                dev,
                size,
                GFP_KERNEL | __GFP_NOWARN,
            )?),
        ),
        uapi::STRATEGY_PAGES | uapi::STRATEGY_FAULT => {
            let mem = alloc_pages(pages)?;
            let dma = page_list(dev, PageSource::Single(&mem), pages)?;
            (Memory::Pages(mem), dma)
        }
        uapi::STRATEGY_COMPOUND => {
            let mem = compound_alloc(pages)?;
            let dma = DmaState::Contiguous(dma_mem::dma_map_compound(dev, &mem)?);
            (Memory::Compound(mem), dma)
        }
        uapi::STRATEGY_VMALLOC => {
            let mem = VmallocArea::alloc(size)?;
            let dma = page_list(dev, PageSource::Vmalloc(&mem), pages)?;
            (Memory::Vmalloc(mem), dma)
        }
        uapi::STRATEGY_CARVEOUT => {
            let claim = CarveoutClaim::take(size)?;
            dma_mem::zero_phys(claim.phys, size)?;
            let dma = DmaState::Resource(DmaResourceMap::new(dev, claim.phys, size)?);
            (Memory::Carveout(claim), dma)
        }
        #[cfg(cardless_zoo)]
        uapi::ZOO_STRATEGY_KMALLOC if crate::zoo::armed(uapi::ZOO_KMALLOC_FREED_IN_CLOSE) => {
            let mem = dma_mem::KmallocBlock::alloc(size)?;
            let dma = DmaState::Contiguous(dma_mem::dma_map_kmalloc(dev, &mem)?);
            (Memory::Kmalloc(mem), dma)
        }
        _ => return Err(EINVAL),
    })
}

/// The `compound` strategy's allocation (`__GFP_COMP`, unless the zoo's bug says otherwise).
fn compound_alloc(pages: usize) -> Result<CompoundPages> {
    #[cfg(cardless_zoo)]
    if crate::zoo::armed(uapi::ZOO_INSERT_NON_COMPOUND) {
        // The bug: a plain high-order block; its tail pages have no refcount.
        return CompoundPages::alloc_not_compound(pages);
    }
    CompoundPages::alloc(pages)
}

/// A strategy `IOC_BUF_ALLOC` accepts.
fn known_strategy(strategy: u32) -> bool {
    #[cfg(cardless_zoo)]
    if strategy == uapi::ZOO_STRATEGY_KMALLOC {
        return true;
    }
    strategy < uapi::STRATEGY_COUNT
}

impl Buffer {
    /// Allocates a buffer for `card` (which must be bound).
    pub(crate) fn alloc(
        card: &Arc<CardShared>,
        id: u32,
        strategy: u32,
        size: u64,
    ) -> Result<Arc<Buffer>> {
        if size == 0
            || size % PAGE_SIZE as u64 != 0
            || size > uapi::BUF_MAX_SIZE
            || !known_strategy(strategy)
        {
            return Err(EINVAL);
        }
        // The size is the user's: refuse what the machine cannot give now
        // rather than let the allocator warn or call the OOM killer.
        if size > (dma_mem::available_memory_bytes() / 2) as u64 {
            return Err(ENOMEM);
        }
        let budget = BudgetClaim::take(card, size)?;
        let size = size as usize;
        let (memory, state) = card.with_bound_device(|dev| build(dev, strategy, size))??;
        let dma = Arc::pin_init(
            pin_init!(DmaSlot { state <- new_mutex!(Some(state)) }),
            GFP_KERNEL,
        )?;
        card.remember_dma_slot(dma.clone())?;
        let buffer = Buffer {
            id,
            strategy,
            size,
            dma,
            memory,
            card: card.clone(),
            _budget: budget,
        };
        Ok(Arc::new(buffer, GFP_KERNEL)?)
    }

    /// The page to map at page `index` for the `fault` strategy; `None` (SIGBUS)
    /// past the end or once the card is gone.
    pub(crate) fn fault_page(&self, index: usize) -> Option<&Page> {
        match &self.memory {
            Memory::Pages(pages) if self.dma.state.lock().is_some() => pages.get(index),
            _ => None,
        }
    }

    pub(crate) fn pages(&self) -> Option<&[Page]> {
        match &self.memory {
            Memory::Pages(p) => Some(p),
            _ => None,
        }
    }

    pub(crate) fn compound(&self) -> Option<&CompoundPages> {
        match &self.memory {
            Memory::Compound(c) => Some(c),
            _ => None,
        }
    }

    pub(crate) fn vmalloc(&self) -> Option<&VmallocArea> {
        match &self.memory {
            Memory::Vmalloc(v) => Some(v),
            _ => None,
        }
    }

    /// Bug zoo only: the physical address of `kmalloc` memory.
    #[cfg(cardless_zoo)]
    pub(crate) fn kmalloc_phys(&self) -> Option<u64> {
        match &self.memory {
            Memory::Kmalloc(k) => Some(k.phys()),
            _ => None,
        }
    }

    /// Bug zoo only: frees the `kmalloc` memory now, mapped or not (the bug).
    #[cfg(cardless_zoo)]
    pub(crate) fn free_kmalloc_now(&self) {
        if let Memory::Kmalloc(k) = &self.memory {
            k.free_now();
        }
    }

    pub(crate) fn carveout_phys(&self) -> Option<u64> {
        match &self.memory {
            Memory::Carveout(c) => Some(c.phys),
            _ => None,
        }
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
        if id as u64 > uapi::MMAP_PGOFF_BUFFER_MAX {
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

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

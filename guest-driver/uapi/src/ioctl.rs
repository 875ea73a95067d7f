//! The ioctl ABI of `/dev/cardlessN` and its mmap offsets.
//!
//! Self-contained on purpose: the kernel module includes this file with
//! `#[path]`, the guest tools through the `cardless-uapi` crate. All argument
//! structs are `#[repr(C)]`, made of fixed-width integers, with explicit
//! padding, so 32- and 64-bit user space see the same layout.
#![allow(dead_code)]

/// Bumped on any incompatible change; `IOC_VERSION` reports it.
pub const UAPI_VERSION: u32 = 2;

/// The ioctl "type" byte of the card.
pub const IOC_MAGIC: u32 = 0xCA;

const IOC_NRBITS: u32 = 8;
const IOC_TYPEBITS: u32 = 8;
const IOC_SIZEBITS: u32 = 14;
const IOC_NRSHIFT: u32 = 0;
const IOC_TYPESHIFT: u32 = IOC_NRSHIFT + IOC_NRBITS;
const IOC_SIZESHIFT: u32 = IOC_TYPESHIFT + IOC_TYPEBITS;
const IOC_DIRSHIFT: u32 = IOC_SIZESHIFT + IOC_SIZEBITS;
/// Direction bits (x86/generic layout).
pub const IOC_NONE: u32 = 0;
pub const IOC_WRITE: u32 = 1;
pub const IOC_READ: u32 = 2;

/// Linux's `_IOC(dir, type, nr, size)`.
pub const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << IOC_DIRSHIFT)
        | (IOC_MAGIC << IOC_TYPESHIFT)
        | (nr << IOC_NRSHIFT)
        | ((size as u32) << IOC_SIZESHIFT)
}
/// The argument size encoded in an ioctl number.
pub const fn ioc_size(cmd: u32) -> usize {
    ((cmd >> IOC_SIZESHIFT) & ((1 << IOC_SIZEBITS) - 1)) as usize
}
/// The direction encoded in an ioctl number.
pub const fn ioc_dir(cmd: u32) -> u32 {
    cmd >> IOC_DIRSHIFT
}

/// Reply of [`IOC_VERSION`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Version {
    /// [`UAPI_VERSION`] the driver was built with.
    pub uapi: u32,
    /// The card's ID register (`regs::ID_VALUE` on a healthy card).
    pub card_id: u32,
    /// The card's VERSION register.
    pub card_version: u32,
    pub _reserved: u32,
}

/// How the driver's interrupts are delivered.
pub const IRQ_MODE_INTX: u32 = 0;
pub const IRQ_MODE_MSI: u32 = 1;
pub const IRQ_MODE_MSIX: u32 = 2;

/// Number of interrupt causes counted in [`CardInfo::irq_counts`]
/// (the card's MSI-X vectors, in vector order).
pub const IRQ_COUNTERS: usize = 4;

/// Reply of [`IOC_CARD_INFO`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CardInfo {
    /// N of `/dev/cardlessN`.
    pub index: u32,
    /// PCI domain/bus/device/function as `domain << 16 | bus << 8 | devfn`.
    pub pci_location: u32,
    /// One of `IRQ_MODE_*`.
    pub irq_mode: u32,
    /// Interrupt vectors the driver got.
    pub irq_vectors: u32,
    /// FEATURES register.
    pub features: u32,
    pub _reserved: u32,
    /// BAR0 (registers) size in bytes.
    pub bar0_size: u64,
    /// BAR2 (on-board memory) size in bytes.
    pub bar2_size: u64,
    /// Interrupts handled per cause (DATA_READY, ERROR, COPY_DONE, OVERFLOW).
    pub irq_counts: [u64; IRQ_COUNTERS],
    /// `STREAM_WAIT`s that found records after an interrupt woke them.
    pub waits_woken: u64,
    /// `STREAM_WAIT`s that found records by polling the status block after
    /// 100 ms of silence (a lost interrupt, or none was due).
    pub waits_polled: u64,
}

/// Argument of [`IOC_REG_READ`] / [`IOC_REG_WRITE`]: one 32-bit BAR0 register.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegAccess {
    /// Byte offset in BAR0; must be 4-byte aligned and inside BAR0.
    pub offset: u32,
    /// Value read, or value to write.
    pub value: u32,
}

/// `_IOR(0xCA, 1, Version)`: versions of the ABI and the card.
pub const IOC_VERSION: u32 = ioc(IOC_READ, 1, core::mem::size_of::<Version>());
/// `_IOR(0xCA, 2, CardInfo)`: what the driver knows about the card.
pub const IOC_CARD_INFO: u32 = ioc(IOC_READ, 2, core::mem::size_of::<CardInfo>());
/// `_IOWR(0xCA, 3, RegAccess)`: read a BAR0 register (debugging).
pub const IOC_REG_READ: u32 = ioc(IOC_READ | IOC_WRITE, 3, core::mem::size_of::<RegAccess>());
/// `_IOW(0xCA, 4, RegAccess)`: write a BAR0 register (debugging). Only
/// registers that cannot make the card DMA outside what the driver handed
/// it: SCRATCH, INT_STATUS, ERROR_CODE, COPY_BAR_OFF, COPY_LEN, COPY_CTRL
/// with an op other than a host copy, and STEP / STEP_NS (they only move a
/// running stream along, into the driver's ring: how a deterministic card
/// is driven); anything else is EPERM.
pub const IOC_REG_WRITE: u32 = ioc(IOC_WRITE, 4, core::mem::size_of::<RegAccess>());
/// `_IO(0xCA, 5)`: reset the card (engine stopped, registers to reset values).
pub const IOC_RESET: u32 = ioc(IOC_NONE, 5, 0);

// ---------------------------------------------------------------------------
// DMA buffers and streaming (issue 5)
// ---------------------------------------------------------------------------

/// How a DMA buffer's memory is obtained and mapped to user space.
/// See docs/mapping-guide.md for what each one is for.
pub const STRATEGY_COHERENT: u32 = 0;
/// Order-0 pages, mapped at mmap time with `vm_insert_pages` (batch).
pub const STRATEGY_PAGES: u32 = 1;
/// One high-order `__GFP_COMP` allocation, sub-pages mapped with `vm_insert_page`.
pub const STRATEGY_COMPOUND: u32 = 2;
/// `vmalloc_user` memory mapped with `remap_vmalloc_range`.
pub const STRATEGY_VMALLOC: u32 = 3;
/// Order-0 pages inserted one at a time by a fault handler (no prefault).
pub const STRATEGY_FAULT: u32 = 4;
/// The physical carve-out reserved with `memmap=` (no `struct page`),
/// mapped with `remap_pfn_range`.
pub const STRATEGY_CARVEOUT: u32 = 5;
/// The same order-0 pages as [`STRATEGY_PAGES`], mapped at mmap time with
/// one `vm_insert_page` per page instead of one `vm_insert_pages` batch.
pub const STRATEGY_PAGE_BY_PAGE: u32 = 6;
/// Number of strategies; valid values are `0..STRATEGY_COUNT`.
pub const STRATEGY_COUNT: u32 = 7;
/// Names, indexed by strategy, for tools and logs.
pub const STRATEGY_NAMES: [&str; STRATEGY_COUNT as usize] = [
    "coherent",
    "pages",
    "compound",
    "vmalloc",
    "fault",
    "carveout",
    "page_by_page",
];

/// Largest buffer the driver accepts (bytes).
pub const BUF_MAX_SIZE: u64 = 64 << 20;
/// Most bytes of buffers one card may hold at once (all files together).
pub const BUF_MAX_TOTAL: u64 = 128 << 20;
/// Most buffers one open file may hold at once.
pub const BUF_MAX_PER_FILE: u32 = 64;

/// Argument of [`IOC_BUF_ALLOC`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BufAlloc {
    /// In: bytes, a non-zero multiple of the page size, at most [`BUF_MAX_SIZE`].
    pub size: u64,
    /// In: one of `STRATEGY_*`.
    pub strategy: u32,
    /// Out: the buffer's ID (never 0).
    pub id: u32,
    /// Out: the offset to pass to mmap (`id << PAGE_SHIFT`).
    pub mmap_offset: u64,
}

/// Argument of [`IOC_STREAM_START`]: the card streams into buffer `buf_id`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamStart {
    /// The ring buffer (its size must be a multiple of `record_size`).
    pub buf_id: u32,
    /// Bytes per record: header + payload, multiple of 8, at least 64.
    pub record_size: u32,
    /// Interrupt after this many records (0 or 1: every record).
    pub coalesce_records: u32,
    /// Or after the oldest pending record is this old (ns, 0 = off).
    pub coalesce_ns: u32,
    /// Records per second (0: as fast as the reader consumes).
    pub rate: u32,
    /// `STREAM_F_*` bits.
    pub flags: u32,
    /// Seed of the payload PRNG (the reader verifies with it).
    pub seed: u64,
}

/// On overflow stop the card instead of dropping records.
pub const STREAM_F_OVERFLOW_STOP: u32 = 1 << 0;

/// Argument of [`IOC_STREAM_WAIT`]: block until the producer index passes
/// `after` (records available), the timeout passes (ETIMEDOUT), a signal
/// arrives (EINTR) or the card fails (EIO) / goes away (ENODEV).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamWait {
    /// In: wait until `prod_idx != after`.
    pub after: u32,
    /// In: milliseconds (0: do not block).
    pub timeout_ms: u32,
    /// Out: the producer index seen.
    pub prod_idx: u32,
    pub _reserved: u32,
}

/// Reply of [`IOC_STREAM_COUNTERS`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamCounters {
    pub produced: u64,
    pub consumed: u64,
    pub dropped: u64,
    pub errors: u64,
    pub prod_idx: u32,
    pub cons_idx: u32,
    /// The card's STATUS register bits.
    pub status: u32,
    /// ERROR_CODE (0: none).
    pub error_code: u32,
}

/// `_IOWR(0xCA, 16, BufAlloc)`: allocate a DMA buffer.
pub const IOC_BUF_ALLOC: u32 = ioc(IOC_READ | IOC_WRITE, 16, core::mem::size_of::<BufAlloc>());
/// `_IOW(0xCA, 17, u32)`: free a buffer by ID. Its memory lives on while
/// a user mapping of it exists; the ID is gone at once.
pub const IOC_BUF_FREE: u32 = ioc(IOC_WRITE, 17, core::mem::size_of::<u32>());
/// `_IOW(0xCA, 18, StreamStart)`: start streaming into a buffer.
pub const IOC_STREAM_START: u32 = ioc(IOC_WRITE, 18, core::mem::size_of::<StreamStart>());
/// `_IO(0xCA, 19)`: stop streaming (DMA is quiet when it returns).
pub const IOC_STREAM_STOP: u32 = ioc(IOC_NONE, 19, 0);
/// `_IOWR(0xCA, 20, StreamWait)`: wait for records.
pub const IOC_STREAM_WAIT: u32 = ioc(IOC_READ | IOC_WRITE, 20, core::mem::size_of::<StreamWait>());
/// `_IOR(0xCA, 21, StreamCounters)`: the stream's counters.
pub const IOC_STREAM_COUNTERS: u32 = ioc(IOC_READ, 21, core::mem::size_of::<StreamCounters>());
/// `_IOW(0xCA, 22, u32)`: the reader consumed up to this index.
pub const IOC_STREAM_CONSUME: u32 = ioc(IOC_WRITE, 22, core::mem::size_of::<u32>());

/// [`CopyRequest::op`]: the card copies BAR2 into the buffer (a DMA write).
pub const COPY_BAR2_TO_BUFFER: u32 = 0;
/// [`CopyRequest::op`]: the card copies the buffer into BAR2 (a DMA read).
pub const COPY_BUFFER_TO_BAR2: u32 = 1;

/// Argument of [`IOC_COPY`]: one copy-engine command between BAR2 and a
/// buffer of this file (SPEC §11). The range must be one DMA range: any
/// range of a coherent, compound or carveout buffer; within one page for the
/// page-list strategies.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CopyRequest {
    pub buf_id: u32,
    /// `COPY_BAR2_TO_BUFFER` or `COPY_BUFFER_TO_BAR2`.
    pub op: u32,
    pub buf_offset: u64,
    pub bar_offset: u32,
    pub len: u32,
}

/// `_IOW(0xCA, 23, CopyRequest)`: run one copy (synchronous; EIO if the card
/// reports an error, with its code in the counters' `error_code`).
pub const IOC_COPY: u32 = ioc(IOC_WRITE, 23, core::mem::size_of::<CopyRequest>());

/// Page size the offsets below are counted in (x86-64).
pub const PAGE_SHIFT: u32 = 12;
/// mmap page offset (`offset >> PAGE_SHIFT`) of BAR0 page 0: the registers,
/// mapped uncached. Only read-only shared mappings are refused? No: BAR0 may be
/// mapped read-write; offsets past BAR0's size are refused.
pub const MMAP_PGOFF_BAR0: u64 = 0x1000_0000;
/// mmap page offset of BAR2 page 0: the on-board memory, mapped write-combining.
pub const MMAP_PGOFF_BAR2: u64 = 0x2000_0000;
/// mmap page offset of one page at the physical address given by the module
/// parameter `unbacked_base`, where nothing (no RAM, no BAR) answers: the
/// second seed's "it maps fine but reads back 0xff" (uncached, read-only).
pub const MMAP_PGOFF_UNBACKED: u64 = 0x3000_0000;
/// Page offsets from 1 up to this bound name DMA buffers by ID (the seeds'
/// `buffer_id << PAGE_SHIFT`); 0 is never a valid ID.
pub const MMAP_PGOFF_BUFFER_MAX: u64 = 0x0fff_ffff;

// Buffer IDs, BAR0 and BAR2 (up to 4 GiB) never share a page offset.
const _: () = assert!(MMAP_PGOFF_BUFFER_MAX < MMAP_PGOFF_BAR0);
const _: () = assert!(MMAP_PGOFF_BAR0 + (1 << 20) <= MMAP_PGOFF_BAR2);
const _: () = assert!(MMAP_PGOFF_BAR2 + (1 << 20) <= MMAP_PGOFF_UNBACKED);

/// The byte offset to pass to mmap for a page offset.
pub const fn mmap_offset(pgoff: u64) -> u64 {
    pgoff << PAGE_SHIFT
}

// ---------------------------------------------------------------------------
// The bug zoo (issue 7): classic driver bugs, compiled only into the test
// build of the module (`make zoo-test` builds it with `--cfg cardless_zoo`).
// The normal module has none of them and answers IOC_ZOO_ARM with ENOTTY.
// ---------------------------------------------------------------------------

/// `_IOW(0xCA, 48, u32)`: arm one `ZOO_*` bug for the whole module (0 disarms).
pub const IOC_ZOO_ARM: u32 = ioc(IOC_WRITE, 48, core::mem::size_of::<u32>());
/// No bug: the driver behaves.
pub const ZOO_NONE: u32 = 0;
/// A buffer of strategy [`ZOO_STRATEGY_KMALLOC`] is `kmalloc` memory mapped
/// with `remap_pfn_range`, and the mapping holds no reference: closing the
/// file frees the memory under the live mapping (the first seed's crash).
pub const ZOO_KMALLOC_FREED_IN_CLOSE: u32 = 1;
/// `IOC_BUF_FREE` unmaps the buffer for DMA without stopping the stream
/// that still writes into it.
pub const ZOO_FREE_RING_WHILE_STREAMING: u32 = 2;
/// The `compound` strategy allocates its high-order block without
/// `__GFP_COMP`, then `vm_insert_page`s the sub-pages.
pub const ZOO_INSERT_NON_COMPOUND: u32 = 3;
/// BAR0 (registers) is mapped to user space without `pgprot_noncached`.
pub const ZOO_CACHED_REGISTERS: u32 = 4;
/// The `carveout` strategy maps `unbacked_base`, where no RAM is.
pub const ZOO_UNBACKED_CARVEOUT: u32 = 5;
/// `IOC_STREAM_CONSUME` forgets to write CONS_IDX to the card.
pub const ZOO_NO_CONSUMER_UPDATE: u32 = 6;
/// `coherent` buffers are mapped with the sample code of the seed "What is
/// the difference between dma_mmap_coherent and remap_pfn_range?":
/// `remap_pfn_range(dma_handle >> PAGE_SHIFT)` with `pgprot_noncached`.
/// Behind an IOMMU the handle is an IOVA, so this maps whatever physical
/// page the IOVA's number names.
pub const ZOO_REMAP_DMA_HANDLE: u32 = 7;
/// The same sample code where the handle is the memory's physical address
/// (a machine without an IOMMU): `remap_pfn_range` of the buffer's first
/// page with `pgprot_noncached`, which x86 PAT silently makes write-back.
pub const ZOO_REMAP_RAM_UNCACHED: u32 = 8;
/// A buffer of strategy [`ZOO_STRATEGY_FREE_PAGES`] is `__get_free_pages`
/// memory mapped with `remap_pfn_range` (LDD3's ring), and no mapping holds
/// it: `IOC_BUF_FREE` frees the pages under the live mapping.
pub const ZOO_FREE_PAGES_UNHELD: u32 = 9;
/// BAR2 is mapped with `vm_insert_page` of each frame's `struct page`, as
/// the seed "What is the difference between vm_insert_page() and
/// remap_pfn_range()?" asks about NIC memory: device memory has none.
pub const ZOO_BAR_VM_INSERT_PAGE: u32 = 10;
/// Number of `ZOO_*` values; valid values are `0..ZOO_COUNT`.
pub const ZOO_COUNT: u32 = 11;
/// Names, indexed by `ZOO_*`, for tools and logs.
pub const ZOO_NAMES: [&str; ZOO_COUNT as usize] = [
    "none",
    "kmalloc_freed_in_close",
    "free_ring_while_streaming",
    "insert_non_compound",
    "cached_registers",
    "unbacked_carveout",
    "no_consumer_update",
    "remap_dma_handle",
    "remap_ram_uncached",
    "free_pages_unheld",
    "bar_vm_insert_page",
];
/// Buffer strategy of the zoo build only: one `kmalloc` allocation (see
/// [`ZOO_KMALLOC_FREED_IN_CLOSE`]). Outside `0..STRATEGY_COUNT` on purpose.
pub const ZOO_STRATEGY_KMALLOC: u32 = 0x100;
/// Buffer strategy of the zoo build only: one `__get_free_pages` block (see
/// [`ZOO_FREE_PAGES_UNHELD`]).
pub const ZOO_STRATEGY_FREE_PAGES: u32 = 0x101;
// A normal module must reject the zoo's strategies like any unknown one.
const _: () = assert!(ZOO_STRATEGY_KMALLOC >= STRATEGY_COUNT);
const _: () = assert!(ZOO_STRATEGY_FREE_PAGES >= STRATEGY_COUNT);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_the_c_macros() {
        // _IOR('\xca', 1, 16 bytes) computed by hand: dir 2, size 16, type 0xCA, nr 1.
        assert_eq!(IOC_VERSION, (2 << 30) | (16 << 16) | (0xCA << 8) | 1);
        assert_eq!(IOC_RESET, (0xCA << 8) | 5);
        assert_eq!(ioc_size(IOC_CARD_INFO), core::mem::size_of::<CardInfo>());
        assert_eq!(ioc_dir(IOC_REG_READ), IOC_READ | IOC_WRITE);
    }

    #[test]
    fn zoo_values_stay_out_of_the_normal_ranges() {
        let normal = [
            IOC_VERSION,
            IOC_CARD_INFO,
            IOC_REG_READ,
            IOC_REG_WRITE,
            IOC_RESET,
            IOC_BUF_ALLOC,
            IOC_BUF_FREE,
            IOC_STREAM_START,
            IOC_STREAM_STOP,
            IOC_STREAM_WAIT,
            IOC_STREAM_COUNTERS,
            IOC_STREAM_CONSUME,
            IOC_COPY,
        ];
        assert!(normal.iter().all(|&n| n & 0xff != IOC_ZOO_ARM & 0xff));
        assert_eq!(ZOO_NAMES.len(), ZOO_COUNT as usize);
    }

    #[test]
    fn layouts_have_no_implicit_padding() {
        assert_eq!(core::mem::size_of::<Version>(), 16);
        assert_eq!(core::mem::size_of::<CardInfo>(), 24 + 16 + 32 + 16);
        assert_eq!(core::mem::size_of::<RegAccess>(), 8);
        assert_eq!(core::mem::size_of::<BufAlloc>(), 24);
        assert_eq!(core::mem::size_of::<StreamStart>(), 32);
        assert_eq!(core::mem::size_of::<StreamWait>(), 16);
        assert_eq!(core::mem::size_of::<StreamCounters>(), 48);
        assert_eq!(core::mem::size_of::<CopyRequest>(), 24);
    }
}

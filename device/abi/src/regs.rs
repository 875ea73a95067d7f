//! PCI identity, BAR layout and BAR0 register map of the cardless streaming card.
//!
//! The document is `device/SPEC.md`; this file is its code form. Section numbers
//! (`§n`) refer to that document. Self-contained on purpose: the kernel module
//! includes this file with `#[path]`, so no `crate::` paths, no dependencies.
#![allow(dead_code)]

// ---------------------------------------------------------------------------
// §1 PCI identity
// ---------------------------------------------------------------------------

/// PCI vendor ID (QEMU's historic "experimental" vendor, as used by `edu`).
pub const PCI_VENDOR_ID: u16 = 0x1234;
/// PCI device ID of the streaming card.
pub const PCI_DEVICE_ID: u16 = 0xca7d;
/// Revision ID; bumped with incompatible changes of this file.
pub const PCI_REVISION_ID: u8 = 0x01;
/// Class code (base class 0x11 data acquisition / signal processing
/// controller, subclass 0x80 other), programming interface 0.
pub const PCI_CLASS_CODE: u32 = 0x11_80_00;
/// Class and subclass as one 16-bit value (the form `pci_ids` tables use).
pub const PCI_CLASS: u16 = 0x1180;
/// Subsystem vendor ID.
pub const PCI_SUBSYSTEM_VENDOR_ID: u16 = 0x1234;
/// Subsystem ID.
pub const PCI_SUBSYSTEM_ID: u16 = 0x0001;

// ---------------------------------------------------------------------------
// §3 BARs
// ---------------------------------------------------------------------------

/// BAR index of the trapped register file (32-bit, non-prefetchable MMIO).
pub const BAR_REGS: u8 = 0;
/// Size of BAR0 in bytes.
pub const BAR0_SIZE: u64 = 0x1000;

/// BAR index of the on-board memory (64-bit, prefetchable MMIO, mmappable).
pub const BAR_MEM: u8 = 2;
/// Default size of BAR2 in bytes (1 MiB). The real size is in [`BAR2_SIZE`].
pub const BAR2_DEFAULT_SIZE: u64 = 1 << 20;
/// Smallest BAR2 size the card accepts (a power of two).
pub const BAR2_MIN_SIZE: u64 = 1 << 12;
/// Largest BAR2 size the card accepts (a power of two).
pub const BAR2_MAX_SIZE: u64 = 1 << 30;

/// BAR index of the MSI-X table and PBA (32-bit, non-prefetchable MMIO).
/// The vfio-user client (QEMU) emulates the table itself.
pub const BAR_MSIX: u8 = 4;
/// Size of BAR4 in bytes.
pub const BAR4_SIZE: u64 = 0x1000;
/// Offset of the MSI-X table in BAR4.
pub const MSIX_TABLE_OFFSET: u32 = 0x000;
/// Offset of the MSI-X pending-bit array in BAR4.
pub const MSIX_PBA_OFFSET: u32 = 0x800;

// ---------------------------------------------------------------------------
// §7 Interrupts: MSI-X vectors and INT_STATUS cause bits
// ---------------------------------------------------------------------------

/// Number of MSI-X vectors (table entries).
pub const MSIX_VECTORS: u16 = 4;
/// Vector of the DATA_READY cause: records are waiting in the ring.
pub const VEC_DATA_READY: u16 = 0;
/// Vector of the ERROR cause: ERROR_CODE latched, engine stopped.
pub const VEC_ERROR: u16 = 1;
/// Vector of the COPY_DONE cause: a copy/checksum command finished.
pub const VEC_COPY_DONE: u16 = 2;
/// Vector of the OVERFLOW cause: the ring was full when a record was due.
pub const VEC_OVERFLOW: u16 = 3;

/// INT_STATUS / INT_MASK bit: records are waiting in the ring (coalesced).
pub const INT_DATA_READY: u32 = 1 << 0;
/// INT_STATUS / INT_MASK bit: an error was latched in ERROR_CODE.
pub const INT_ERROR: u32 = 1 << 1;
/// INT_STATUS / INT_MASK bit: a copy engine command completed.
pub const INT_COPY_DONE: u32 = 1 << 2;
/// INT_STATUS / INT_MASK bit: the ring overflowed (drop or stop).
pub const INT_OVERFLOW: u32 = 1 << 3;
/// All defined cause bits; other INT_STATUS/INT_MASK bits read 0.
pub const INT_ALL: u32 = INT_DATA_READY | INT_ERROR | INT_COPY_DONE | INT_OVERFLOW;

/// MSI-X vector that signals a cause bit (`None` for an undefined bit).
pub const fn int_vector(cause: u32) -> Option<u16> {
    match cause {
        INT_DATA_READY => Some(VEC_DATA_READY),
        INT_ERROR => Some(VEC_ERROR),
        INT_COPY_DONE => Some(VEC_COPY_DONE),
        INT_OVERFLOW => Some(VEC_OVERFLOW),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// §4 BAR0 register map. All registers are 32 bits wide, little-endian.
// 8-byte accesses at 8-aligned offsets act as two 4-byte accesses, low first.
// ---------------------------------------------------------------------------

/// Width of every BAR0 register in bytes.
pub const REG_WIDTH: u64 = 4;

/// `ID` (RO): identifies the card; reads [`ID_VALUE`].
pub const ID: u64 = 0x000;
/// Value of the ID register ("ca7d" + vendor).
pub const ID_VALUE: u32 = 0xca7d_1234;

/// `VERSION` (RO): register map version, major in 31:16, minor in 15:0.
pub const VERSION: u64 = 0x004;
/// Value of the VERSION register (1.0).
pub const VERSION_VALUE: u32 = 0x0001_0000;

/// `FEATURES` (RO): what this card instance offers, `FEAT_*` bits.
pub const FEATURES: u64 = 0x008;
/// FEATURES: the ring may be a scatter-gather page list.
pub const FEAT_SG: u32 = 1 << 0;
/// FEATURES: the copy engine (COPY_*) exists.
pub const FEAT_COPY: u32 = 1 << 1;
/// FEATURES: the copy engine can checksum a BAR2 range.
pub const FEAT_CHECKSUM: u32 = 1 << 2;
/// FEATURES: deterministic mode: records are produced only by STEP writes.
pub const FEAT_DETERMINISTIC: u32 = 1 << 3;
/// FEATURES: the status block write-back exists.
pub const FEAT_STATUS_WB: u32 = 1 << 4;
/// FEATURES: the fault-injection debug window (§14.4) is present at
/// [`DBG_BASE`]. Only when the device was started with `--debug-window`.
pub const FEAT_DEBUG: u32 = 1 << 5;

/// `SCRATCH` (RW, reset 0): free for the driver; no side effects.
pub const SCRATCH: u64 = 0x00c;

/// `CONTROL` (RW, reset 0): engine enable and mode bits, `CTRL_*`.
pub const CONTROL: u64 = 0x010;
/// CONTROL: 0->1 latches the ring programming and starts the engine (§6.1);
/// 1->0 stops it. Refused (stays 0) while ERROR_CODE != 0.
pub const CTRL_ENABLE: u32 = 1 << 0;
/// CONTROL: the ring is a scatter-gather page list (latched at enable).
pub const CTRL_SG: u32 = 1 << 1;
/// CONTROL: on overflow stop the engine (1) instead of dropping the record (0).
pub const CTRL_OVF_STOP: u32 = 1 << 2;
/// CONTROL: write the status block to STATUS_ADDR (§5.3).
pub const CTRL_STATUS_WB: u32 = 1 << 3;
/// CONTROL: write 1 to reset the whole card (§9); reads as 0.
pub const CTRL_RESET: u32 = 1 << 31;
/// CONTROL bits that are stored (others read 0).
pub const CTRL_MASK: u32 = CTRL_ENABLE | CTRL_SG | CTRL_OVF_STOP | CTRL_STATUS_WB;

/// `STATUS` (RO): engine state, `STS_*` bits.
pub const STATUS: u64 = 0x014;
/// STATUS: the engine is running.
pub const STS_RUNNING: u32 = 1 << 0;
/// STATUS: ERROR_CODE != 0.
pub const STS_ERROR: u32 = 1 << 1;
/// STATUS: the engine stopped because the ring was full (CTRL_OVF_STOP).
pub const STS_OVERFLOW_STOPPED: u32 = 1 << 2;
/// STATUS: the ring is full right now (PROD_IDX - CONS_IDX == RING_ENTRIES).
pub const STS_RING_FULL: u32 = 1 << 3;

/// `INT_STATUS` (RW1C, reset 0): latched interrupt causes, `INT_*` bits.
/// Writing 1 to a bit clears it.
pub const INT_STATUS: u64 = 0x018;
/// `INT_MASK` (RW, reset 0): 1 enables signalling of the cause (§7).
pub const INT_MASK: u64 = 0x01c;

/// `ERROR_CODE` (RO, write any value to clear, reset 0): first error, `ERR_*`.
pub const ERROR_CODE: u64 = 0x020;
/// `BAR2_SIZE` (RO): size of BAR2 in bytes.
pub const BAR2_SIZE: u64 = 0x024;
/// `ERROR_ADDR_LO` (RO): low half of the address or value that caused ERROR_CODE.
pub const ERROR_ADDR_LO: u64 = 0x028;
/// `ERROR_ADDR_HI` (RO): high half of ERROR_ADDR.
pub const ERROR_ADDR_HI: u64 = 0x02c;

/// `RING_BASE_LO` (RW, reset 0): contiguous mode: ring IOVA; SG mode: IOVA
/// of the page table. Must be 8-byte aligned. Latched at enable.
pub const RING_BASE_LO: u64 = 0x040;
/// `RING_BASE_HI` (RW, reset 0): high half of RING_BASE.
pub const RING_BASE_HI: u64 = 0x044;
/// `RING_ENTRIES` (RW, reset 0): number of record slots, 1..=[`MAX_RING_ENTRIES`].
pub const RING_ENTRIES: u64 = 0x048;
/// `RECORD_SIZE` (RW, reset = CLI record size): bytes per slot including the
/// header, a multiple of 8 in [`MIN_RECORD_SIZE`]..=[`MAX_RECORD_SIZE`].
pub const RECORD_SIZE: u64 = 0x04c;
/// `SG_PAGES` (RW, reset 0): number of u64 entries in the SG page table,
/// 1..=[`MAX_SG_PAGES`]. Ignored in contiguous mode.
pub const SG_PAGES: u64 = 0x050;
/// `STATUS_ADDR_LO` (RW, reset 0): IOVA of the status block, 8-byte aligned.
pub const STATUS_ADDR_LO: u64 = 0x058;
/// `STATUS_ADDR_HI` (RW, reset 0): high half of STATUS_ADDR.
pub const STATUS_ADDR_HI: u64 = 0x05c;

/// `PROD_IDX` (RO, reset 0): free-running count of records written to the ring.
/// Slot of record `i` is `i % RING_ENTRIES`.
pub const PROD_IDX: u64 = 0x060;
/// `CONS_IDX` (RW, reset 0): free-running count of records the driver consumed.
pub const CONS_IDX: u64 = 0x064;
/// `COAL_COUNT` (RW, reset 1): raise DATA_READY after this many new records
/// (0 acts as 1).
pub const COAL_COUNT: u64 = 0x068;
/// `COAL_NS` (RW, reset 0): raise DATA_READY when the oldest unsignalled record
/// is this many virtual ns old (0 = no time trigger).
pub const COAL_NS: u64 = 0x06c;
/// `RATE` (RW, reset = CLI rate or 0): records per second, 0 = unlimited (§6.5).
pub const RATE: u64 = 0x070;
/// `STEP` (WO, reads 0): produce N records now (§8). N <= [`MAX_STEP`].
pub const STEP: u64 = 0x074;
/// `STEP_NS` (WO, reads 0): advance the virtual clock by N ns (deterministic mode).
pub const STEP_NS: u64 = 0x078;
/// `SEED_LO` (RW, reset = CLI seed): payload PRNG seed, latched at enable.
pub const SEED_LO: u64 = 0x080;
/// `SEED_HI` (RW): high half of SEED.
pub const SEED_HI: u64 = 0x084;
/// `VTIME_LO` (RO): low half of the virtual clock in ns; reading it
/// snapshots the whole 64-bit value for VTIME_HI.
pub const VTIME_LO: u64 = 0x088;
/// `VTIME_HI` (RO): high half of the snapshot taken by the last VTIME_LO read.
pub const VTIME_HI: u64 = 0x08c;

/// `CNT_PRODUCED` (RO): records written to the ring (low 32 bits, wraps).
pub const CNT_PRODUCED: u64 = 0x0a0;
/// `CNT_DROPPED` (RO): records dropped on overflow (wraps).
pub const CNT_DROPPED: u64 = 0x0a4;
/// `CNT_ERRORS` (RO): errors detected, including ones not latched (wraps).
pub const CNT_ERRORS: u64 = 0x0a8;
/// `CNT_IRQS` (RO): interrupt messages sent (wraps).
pub const CNT_IRQS: u64 = 0x0ac;
/// `CNT_BAD_ACCESS` (RO): BAR0 accesses to holes or of a wrong width (wraps).
pub const CNT_BAD_ACCESS: u64 = 0x0b0;
/// `CNT_COPIES` (RO): copy engine commands completed (wraps).
pub const CNT_COPIES: u64 = 0x0b4;

/// `COPY_BAR_OFF` (RW, reset 0): BAR2 offset of a copy/checksum command.
pub const COPY_BAR_OFF: u64 = 0x0c0;
/// `COPY_LEN` (RW, reset 0): length in bytes of a copy/checksum command.
pub const COPY_LEN: u64 = 0x0c4;
/// `COPY_HOST_LO` (RW, reset 0): host IOVA of a copy command.
pub const COPY_HOST_LO: u64 = 0x0c8;
/// `COPY_HOST_HI` (RW, reset 0): high half of COPY_HOST.
pub const COPY_HOST_HI: u64 = 0x0cc;
/// `COPY_CTRL` (RW, reset 0): doorbell: writing starts the command in bits
/// 1:0 (`COPY_OP_*`); reads return the last value written.
pub const COPY_CTRL: u64 = 0x0d0;
/// COPY_CTRL op: copy BAR2[COPY_BAR_OFF..+COPY_LEN] to host memory at COPY_HOST.
pub const COPY_OP_TO_HOST: u32 = 0;
/// COPY_CTRL op: copy host memory at COPY_HOST to BAR2[COPY_BAR_OFF..+COPY_LEN].
pub const COPY_OP_FROM_HOST: u32 = 1;
/// COPY_CTRL op: checksum BAR2[COPY_BAR_OFF..+COPY_LEN] into COPY_RESULT.
pub const COPY_OP_CHECKSUM: u32 = 2;
/// COPY_CTRL: mask of the op field.
pub const COPY_OP_MASK: u32 = 0x3;
/// `COPY_STATUS` (RO, reset 0): 0 if the last command succeeded, else its `ERR_*`.
pub const COPY_STATUS: u64 = 0x0d4;
/// `COPY_RESULT_LO` (RO, reset 0): checksum of the last COPY_OP_CHECKSUM.
pub const COPY_RESULT_LO: u64 = 0x0d8;
/// `COPY_RESULT_HI` (RO): high half of COPY_RESULT.
pub const COPY_RESULT_HI: u64 = 0x0dc;

/// `[(name, value)]` from identifiers, so a name cannot differ from its constant.
macro_rules! named {
    ($($reg:ident),* $(,)?) => {
        &[$((stringify!($reg), $reg)),*]
    };
}

/// Every BAR0 register of §4.2 by name, in address order: the one table
/// tools (dumps, `cardlessctl`, the generated C header) take names from.
pub const REGISTERS: &[(&str, u64)] = named![
    ID,
    VERSION,
    FEATURES,
    SCRATCH,
    CONTROL,
    STATUS,
    INT_STATUS,
    INT_MASK,
    ERROR_CODE,
    BAR2_SIZE,
    ERROR_ADDR_LO,
    ERROR_ADDR_HI,
    RING_BASE_LO,
    RING_BASE_HI,
    RING_ENTRIES,
    RECORD_SIZE,
    SG_PAGES,
    STATUS_ADDR_LO,
    STATUS_ADDR_HI,
    PROD_IDX,
    CONS_IDX,
    COAL_COUNT,
    COAL_NS,
    RATE,
    STEP,
    STEP_NS,
    SEED_LO,
    SEED_HI,
    VTIME_LO,
    VTIME_HI,
    CNT_PRODUCED,
    CNT_DROPPED,
    CNT_ERRORS,
    CNT_IRQS,
    CNT_BAD_ACCESS,
    CNT_COPIES,
    COPY_BAR_OFF,
    COPY_LEN,
    COPY_HOST_LO,
    COPY_HOST_HI,
    COPY_CTRL,
    COPY_STATUS,
    COPY_RESULT_LO,
    COPY_RESULT_HI,
];

/// Every defined register offset, in address order (for tests and dumps).
pub const ALL_REGS: &[u64] = &offsets::<{ REGISTERS.len() }>(REGISTERS);

/// The offsets of a name table (const, so the lists cannot drift apart).
const fn offsets<const N: usize>(table: &[(&str, u64)]) -> [u64; N] {
    let mut out = [0u64; N];
    let mut i = 0;
    while i < N {
        out[i] = table[i].1;
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------
// Limits the card enforces on guest-programmed values (§6.1)
// ---------------------------------------------------------------------------

/// Largest RING_ENTRIES value.
pub const MAX_RING_ENTRIES: u32 = 1 << 20;
/// Smallest RECORD_SIZE value.
pub const MIN_RECORD_SIZE: u32 = 64;
/// Largest RECORD_SIZE value.
pub const MAX_RECORD_SIZE: u32 = 1 << 20;
/// RECORD_SIZE must be a multiple of this.
pub const RECORD_ALIGN: u32 = 8;
/// Largest ring in bytes (RING_ENTRIES * RECORD_SIZE).
pub const MAX_RING_BYTES: u64 = 1 << 30;
/// Largest SG_PAGES value (1 GiB of 4 KiB pages).
pub const MAX_SG_PAGES: u32 = 1 << 18;
/// Largest N accepted by one STEP write.
pub const MAX_STEP: u32 = 1 << 16;
/// Default RECORD_SIZE when the CLI gives none.
pub const DEFAULT_RECORD_SIZE: u32 = 4096;
/// Virtual ns between two records in deterministic mode when RATE is 0 (§8).
pub const DET_DEFAULT_PERIOD_NS: u64 = 1000;
/// Most records the free-running engine writes between two status block
/// write-backs (§6.5).
pub const ENGINE_BATCH: u32 = 64;

// ---------------------------------------------------------------------------
// §10 Error codes (ERROR_CODE, COPY_STATUS)
// ---------------------------------------------------------------------------

/// No error.
pub const ERR_NONE: u32 = 0;
/// DMA to or from an IOVA range that is not (entirely) mapped. ERROR_ADDR = IOVA.
pub const ERR_DMA_UNMAPPED: u32 = 1;
/// DMA write to a region mapped read-only. ERROR_ADDR = IOVA.
pub const ERR_DMA_READONLY: u32 = 2;
/// DMA address + length overflows 64 bits. ERROR_ADDR = IOVA.
pub const ERR_DMA_OVERFLOW: u32 = 3;
/// RING_ENTRIES is 0, above the limit, or the ring exceeds MAX_RING_BYTES.
/// ERROR_ADDR = RING_ENTRIES.
pub const ERR_BAD_RING_SIZE: u32 = 4;
/// RECORD_SIZE is out of range or not a multiple of 8. ERROR_ADDR = RECORD_SIZE.
pub const ERR_BAD_RECORD_SIZE: u32 = 5;
/// RING_BASE or STATUS_ADDR is not 8-byte aligned. ERROR_ADDR = the address.
pub const ERR_BAD_ALIGNMENT: u32 = 6;
/// SG_PAGES is 0, above MAX_SG_PAGES, or too small for the ring. ERROR_ADDR = SG_PAGES.
pub const ERR_BAD_SG_COUNT: u32 = 7;
/// An SG page table entry is not 4 KiB aligned, or a page the ring uses is
/// not entirely mapped writable. ERROR_ADDR = the entry.
pub const ERR_BAD_SG_ENTRY: u32 = 8;
/// CONS_IDX written with a value ahead of PROD_IDX or more than RING_ENTRIES
/// behind it. ERROR_ADDR = the value written.
pub const ERR_BAD_CONS_IDX: u32 = 9;
/// Copy/checksum BAR2 range out of BAR2. ERROR_ADDR = COPY_BAR_OFF.
pub const ERR_COPY_RANGE: u32 = 10;
/// STEP written with N > MAX_STEP. ERROR_ADDR = N.
pub const ERR_BAD_STEP: u32 = 11;
/// COPY_CTRL written with an undefined op. ERROR_ADDR = the value written.
pub const ERR_BAD_COPY_OP: u32 = 12;
/// DMA sanitizer (§16): a DMA write, into mapped memory, outside every range
/// the driver has handed to the card (ring, status block, copy buffer), or
/// into one it took back (stop, reset, DMA_UNMAP). Nothing is written.
/// ERROR_ADDR = first byte of the write.
pub const ERR_DMA_STRAY: u32 = 13;
/// At enable (§6.1, §16): the ring overlaps itself (an SG page listed
/// twice), the status block or the SG page table, or the status block
/// overlaps the SG page table. ERROR_ADDR = first overlapping IOVA.
pub const ERR_RING_OVERLAP: u32 = 14;

/// The name of every §10 error code, indexed by code.
pub const ERR_NAMES: [&str; 15] = [
    "ERR_NONE",
    "ERR_DMA_UNMAPPED",
    "ERR_DMA_READONLY",
    "ERR_DMA_OVERFLOW",
    "ERR_BAD_RING_SIZE",
    "ERR_BAD_RECORD_SIZE",
    "ERR_BAD_ALIGNMENT",
    "ERR_BAD_SG_COUNT",
    "ERR_BAD_SG_ENTRY",
    "ERR_BAD_CONS_IDX",
    "ERR_COPY_RANGE",
    "ERR_BAD_STEP",
    "ERR_BAD_COPY_OP",
    "ERR_DMA_STRAY",
    "ERR_RING_OVERLAP",
];

/// The name of error `code` (`ERR_DMA_UNMAPPED`...), if the spec defines it.
pub const fn error_name(code: u32) -> Option<&'static str> {
    if (code as usize) < ERR_NAMES.len() {
        Some(ERR_NAMES[code as usize])
    } else {
        None
    }
}

/// The named bits of CONTROL, STATUS, INT_STATUS/INT_MASK and FEATURES.
pub const CONTROL_BITS: &[(&str, u32)] = named![
    CTRL_ENABLE,
    CTRL_SG,
    CTRL_OVF_STOP,
    CTRL_STATUS_WB,
    CTRL_RESET
];
/// See [`CONTROL_BITS`].
pub const STATUS_BITS: &[(&str, u32)] =
    named![STS_RUNNING, STS_ERROR, STS_OVERFLOW_STOPPED, STS_RING_FULL];
/// See [`CONTROL_BITS`].
pub const INT_BITS: &[(&str, u32)] = named![INT_DATA_READY, INT_ERROR, INT_COPY_DONE, INT_OVERFLOW];
/// See [`CONTROL_BITS`].
pub const FEATURE_BITS: &[(&str, u32)] = named![
    FEAT_SG,
    FEAT_COPY,
    FEAT_CHECKSUM,
    FEAT_DETERMINISTIC,
    FEAT_STATUS_WB,
    FEAT_DEBUG,
];

// ---------------------------------------------------------------------------
// §14 Fault injection: kinds and the debug register window
// ---------------------------------------------------------------------------

/// Fault kind (DBG_KIND): the next `count` interrupt messages are not sent.
pub const FAULT_DROP_IRQ: u32 = 1;
/// Fault kind: the next `count` interrupt messages are sent twice.
pub const FAULT_DUP_IRQ: u32 = 2;
/// Fault kind: the next `count` interrupt messages are held for ARG ns of VTIME.
pub const FAULT_DELAY_IRQ: u32 = 3;
/// Fault kind: one payload byte (ARG, modulo the payload length) of the next
/// `count` records is XORed with ARG2 (0 acts as 0xff) after the write.
pub const FAULT_CORRUPT_PAYLOAD: u32 = 4;
/// Fault kind: header byte ARG (0..40) of the next `count` records is XORed
/// with ARG2 (0 acts as 0xff) after the write.
pub const FAULT_CORRUPT_HEADER: u32 = 5;
/// Fault kind: the engine stops producing while it still reads as running;
/// ARG = ns of VTIME until it resumes by itself (0 = until FAULT_RESUME).
pub const FAULT_STALL: u32 = 6;
/// Fault kind: ends a stall.
pub const FAULT_RESUME: u32 = 7;
/// Fault kind: the next `count` records are written at IOVA ARG instead of
/// their slot (ARG 0 = the byte right after the ring).
pub const FAULT_STRAY_WRITE: u32 = 8;
/// Fault kind: surprise removal: trapped reads return all-ones, writes are
/// ignored, DMA and interrupts stop, BAR2 is filled with 0xff.
pub const FAULT_SURPRISE_REMOVAL: u32 = 9;
/// Fault kind: the link goes down (reads all-ones, writes dropped, no DMA,
/// messages lost) for ARG ns of VTIME (0 = until FAULT_LINK_UP).
pub const FAULT_LINK_DOWN: u32 = 10;
/// Fault kind: the link comes back up.
pub const FAULT_LINK_UP: u32 = 11;
/// Fault kind: the next `count` status block write-backs are lost (the
/// posted write never lands); nothing else changes.
pub const FAULT_STATUS_LOST: u32 = 12;
/// Largest defined fault kind.
pub const FAULT_KIND_MAX: u32 = 12;

/// Most faults scheduled at once (plan file and debug window together).
pub const MAX_SCHEDULED_FAULTS: u32 = 4096;
/// VTIME cost, in deterministic mode, of one trapped access while the link is
/// down (a PCIe completion timeout), §14.3.
pub const LINK_DOWN_ACCESS_NS: u64 = 50_000;

/// First offset of the debug window in BAR0 (present only with [`FEAT_DEBUG`];
/// otherwise these offsets are holes, §4.1). Reachable even while the card is
/// removed or its link is down: it models a side band, not the PCIe link.
pub const DBG_BASE: u64 = 0x800;
/// `DBG_ID` (RO): reads [`DBG_ID_VALUE`].
pub const DBG_ID: u64 = 0x800;
/// Value of DBG_ID ("FLT" + version 1).
pub const DBG_ID_VALUE: u32 = 0x464c_5401;
/// `DBG_KIND` (RW, reset 0): `FAULT_*` kind of the fault to schedule.
pub const DBG_KIND: u64 = 0x804;
/// `DBG_TRIGGER` (RW, reset 0): `DBG_TRIG_*`.
pub const DBG_TRIGGER: u64 = 0x808;
/// DBG_TRIGGER: fire when VTIME >= DBG_WHEN (0 = at once).
pub const DBG_TRIG_VTIME: u32 = 0;
/// DBG_TRIGGER: fire just before record number DBG_WHEN (CNT_PRODUCED, 64-bit) is written.
pub const DBG_TRIG_RECORD: u32 = 1;
/// `DBG_COUNT` (RW, reset 0): how many messages/records the fault hits (0 acts as 1).
pub const DBG_COUNT: u64 = 0x80c;
/// `DBG_WHEN_LO` (RW, reset 0): trigger value (VTIME ns or record number), bits 31:0.
pub const DBG_WHEN_LO: u64 = 0x810;
/// `DBG_WHEN_HI` (RW): bits 63:32.
pub const DBG_WHEN_HI: u64 = 0x814;
/// `DBG_ARG_LO` (RW, reset 0): kind argument (ns, byte offset or IOVA), bits 31:0.
pub const DBG_ARG_LO: u64 = 0x818;
/// `DBG_ARG_HI` (RW): bits 63:32.
pub const DBG_ARG_HI: u64 = 0x81c;
/// `DBG_ARG2` (RW, reset 0): XOR mask (corrupt kinds, low 8 bits) or INT_STATUS
/// cause filter (interrupt kinds, 0 = any cause).
pub const DBG_ARG2: u64 = 0x820;
/// `DBG_CMD` (WO): `DBG_CMD_*`.
pub const DBG_CMD: u64 = 0x824;
/// DBG_CMD: schedule the fault described by DBG_KIND..DBG_ARG2.
pub const DBG_CMD_SCHEDULE: u32 = 1;
/// DBG_CMD: cancel every scheduled fault that has not fired yet.
pub const DBG_CMD_CANCEL_ALL: u32 = 2;
/// `DBG_CMD_STATUS` (RO, reset 0): outcome of the last DBG_CMD write, `DBG_ST_*`.
pub const DBG_CMD_STATUS: u64 = 0x828;
/// DBG_CMD_STATUS: accepted.
pub const DBG_ST_OK: u32 = 0;
/// DBG_CMD_STATUS: DBG_KIND is not a defined kind.
pub const DBG_ST_BAD_KIND: u32 = 1;
/// DBG_CMD_STATUS: DBG_TRIGGER is not a defined trigger.
pub const DBG_ST_BAD_TRIGGER: u32 = 2;
/// DBG_CMD_STATUS: an argument is out of range (header byte >= 40, cause filter).
pub const DBG_ST_BAD_ARG: u32 = 3;
/// DBG_CMD_STATUS: [`MAX_SCHEDULED_FAULTS`] are already scheduled.
pub const DBG_ST_FULL: u32 = 4;
/// DBG_CMD_STATUS: the DBG_CMD value is not a defined command.
pub const DBG_ST_BAD_CMD: u32 = 5;
/// `DBG_SCHEDULED` (RO): faults scheduled that have not fired yet.
pub const DBG_SCHEDULED: u64 = 0x82c;
/// `DBG_FIRED` (RO): faults fired since the card was created (wraps; not reset).
pub const DBG_FIRED: u64 = 0x830;
/// `DBG_STATE` (RO): `DBG_STATE_*` bits.
pub const DBG_STATE: u64 = 0x834;
/// DBG_STATE: the link is down.
pub const DBG_STATE_LINK_DOWN: u32 = 1 << 0;
/// DBG_STATE: the card was surprise-removed.
pub const DBG_STATE_REMOVED: u32 = 1 << 1;
/// DBG_STATE: the engine is stalled.
pub const DBG_STATE_STALLED: u32 = 1 << 2;
/// DBG_STATE: interrupt messages are held by a delay fault.
pub const DBG_STATE_IRQ_HELD: u32 = 1 << 3;
/// One past the last debug window offset.
pub const DBG_END: u64 = 0x840;

/// Every debug window register (§14.4) by name, in address order.
pub const DEBUG_REGISTERS: &[(&str, u64)] = named![
    DBG_ID,
    DBG_KIND,
    DBG_TRIGGER,
    DBG_COUNT,
    DBG_WHEN_LO,
    DBG_WHEN_HI,
    DBG_ARG_LO,
    DBG_ARG_HI,
    DBG_ARG2,
    DBG_CMD,
    DBG_CMD_STATUS,
    DBG_SCHEDULED,
    DBG_FIRED,
    DBG_STATE,
];

/// Every debug window register offset, in address order.
pub const ALL_DBG_REGS: &[u64] = &offsets::<{ DEBUG_REGISTERS.len() }>(DEBUG_REGISTERS);

//! Input format of the `guest_state` target: a two-byte setup, then a
//! sequence of operations a guest and its VMM can do to the card.
//!
//! ```text
//! setup: flags u8 (bit 0: trace to /dev/null; bits 1-2: BAR2 size;
//!        bit 3: fault-injection debug window in BAR0), seed u8
//! op:    tag u8 (mod OPS), then the op's fixed-size fields (below)
//! ```
//!
//! IOVAs are page numbers (so the fuzzer hits mapped addresses often) with
//! flags for unaligned and near-2^64 variants; register values can refer to
//! the IOVA of a live mapping ([`Value`]), so ring and copy programming lands
//! in mapped memory without the fuzzer having to guess 64-bit addresses.

use cardless_abi::regs::*;

use crate::Bytes;

/// Guest memory pool: one sealed memfd of this many 4 KiB pages per run.
pub const POOL_PAGES: u64 = 64;
pub const PAGE: u64 = 4096;
/// Largest DMA_MAP the target issues, in pages.
pub const MAX_MAP_PAGES: u64 = 16;

/// Number of registers an op can name: SPEC §4.2's and the debug window's.
const REG_COUNT: usize = ALL_REGS.len() + ALL_DBG_REGS.len();

/// Every BAR0 register (SPEC §4.2) then the fault-injection debug window
/// (SPEC §14.4; holes without it), for ops that name one by index: the ABI's
/// own lists, in their order (the seed corpus encodes these indices).
pub const REGS: [u64; REG_COUNT] = {
    let mut out = [0; REG_COUNT];
    let mut i = 0;
    while i < ALL_REGS.len() {
        out[i] = ALL_REGS[i];
        i += 1;
    }
    let mut j = 0;
    while j < ALL_DBG_REGS.len() {
        out[i + j] = ALL_DBG_REGS[j];
        j += 1;
    }
    out
};

/// Record sizes the `Ring` op picks from (two invalid ones included).
pub const RECORD_SIZES: [u32; 8] = [64, 128, 512, 4096, 40, 100, 72, 8192];

/// How the card is built for a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setup {
    pub trace: bool,
    pub bar2_size: u64,
    pub debug_window: bool,
    pub seed: u64,
}

impl Setup {
    fn decode(flags: u8, seed: u8) -> Setup {
        Setup {
            trace: flags & 1 != 0,
            bar2_size: [
                BAR2_MIN_SIZE,
                2 * BAR2_MIN_SIZE,
                16 * BAR2_MIN_SIZE,
                1 << 20,
            ][usize::from(flags >> 1 & 3)],
            debug_window: flags & 8 != 0,
            seed: u64::from(seed),
        }
    }
}

/// A register value: raw, or derived from a live mapping's IOVA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Value {
    pub sel: u8,
    pub raw: u32,
}

impl Value {
    pub const fn raw(raw: u32) -> Value {
        Value { sel: 0, raw }
    }
    /// Low half of (IOVA of live mapping `slot` + `offset`).
    pub const fn iova_lo(slot: u8, offset: u16) -> Value {
        Value {
            sel: 2,
            raw: slot as u32 | (offset as u32) << 8,
        }
    }
    /// High half of (IOVA of live mapping `slot` + `offset`).
    pub const fn iova_hi(slot: u8, offset: u16) -> Value {
        Value {
            sel: 3,
            raw: slot as u32 | (offset as u32) << 8,
        }
    }

    /// The 32-bit value, given the IOVAs of the live mappings.
    pub fn resolve(&self, iovas: &[u64]) -> u32 {
        let base = || {
            let slot = (self.raw & 0xff) as usize;
            let iova = if iovas.is_empty() {
                0
            } else {
                iovas[slot % iovas.len()]
            };
            iova.wrapping_add(u64::from(self.raw >> 8) & !7)
        };
        match self.sel % 4 {
            0 => self.raw,
            1 => self.raw & 0xff,
            2 => base() as u32,
            _ => (base() >> 32) as u32,
        }
    }
}

/// DMA_MAP flag bits.
pub mod map_flags {
    pub const WRITABLE: u8 = 1;
    /// IOVA not page aligned (must be refused).
    pub const UNALIGNED: u8 = 2;
    /// IOVA counted down from 2^64 (end may overflow: must be refused).
    pub const HIGH: u8 = 4;
    /// Bits 3-4: the fd. 0/1: the sealed pool; 2: an unsealed copy (must be
    /// refused); 3: a sealed memfd one page too short (must be refused).
    pub const FD_SHIFT: u8 = 3;
    pub const FD_UNSEALED: u8 = 2 << FD_SHIFT;
    pub const FD_SHORT: u8 = 3 << FD_SHIFT;
}

/// One thing the guest or the VMM does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A 4-byte write of register `REGS[reg % len]`.
    RegWrite { reg: u8, value: Value },
    /// A 4-byte read of register `REGS[reg % len]`.
    RegRead { reg: u8 },
    /// Any access: BAR `bar` (any number), offset (bit 1 of `flags` puts it
    /// near 2^64), `width` bytes (0..=16); bit 0 of `flags`: write `data`.
    Raw {
        bar: u8,
        offset: u32,
        flags: u8,
        width: u8,
        data: Vec<u8>,
    },
    /// DMA_MAP of `1 + pages % MAX_MAP_PAGES` pages at page `iova_page`,
    /// from pool page `file_page % (POOL_PAGES + 4)` (past the end: refused).
    Map {
        iova_page: u16,
        pages: u8,
        file_page: u8,
        flags: u8,
    },
    /// DMA_UNMAP: bit 0 of `flags` set unmaps live mapping `pages` exactly,
    /// else `pages + 1` pages at page `iova_page` (bit 1: size 2^64-ish).
    Unmap {
        iova_page: u16,
        pages: u8,
        flags: u8,
    },
    /// STEP with `n % 1025` records.
    Step(u16),
    /// STEP_NS.
    StepNs(u32),
    /// Device reset (the VMM's DEVICE_RESET).
    Reset,
    /// DMA_UNMAP with the ALL flag (or a disconnect).
    UnmapAll,
    /// Programs a ring in live mapping `slot` and enables the engine: see
    /// the target. `control` supplies CTRL_SG/OVF_STOP/STATUS_WB.
    Ring {
        slot: u8,
        entries: u8,
        record: u8,
        control: u8,
        status: u8,
    },
    /// Programs the copy engine against live mapping `slot` and rings it.
    Copy {
        slot: u8,
        op: u8,
        bar_off: u16,
        len: u16,
    },
    /// Writes CONS_IDX = PROD_IDX - `behind` (a driver consuming records).
    Consume { behind: u8 },
}

const OPS: u8 = 13;

/// Decodes a whole input. Never fails: a truncated op ends the list.
pub fn decode(data: &[u8]) -> (Setup, Vec<Op>) {
    let mut b = Bytes::new(data);
    let flags = b.u8().unwrap_or(0);
    let seed = b.u8().unwrap_or(0);
    let mut ops = Vec::new();
    while let Some(op) = decode_op(&mut b) {
        ops.push(op);
    }
    (Setup::decode(flags, seed), ops)
}

fn decode_op(b: &mut Bytes<'_>) -> Option<Op> {
    let tag = b.u8()? % OPS;
    Some(match tag {
        0 => Op::RegWrite {
            reg: b.u8()?,
            value: Value {
                sel: b.u8()?,
                raw: b.u32()?,
            },
        },
        1 => Op::RegRead { reg: b.u8()? },
        2 => {
            let bar = b.u8()?;
            let offset = b.u32()?;
            let flags = b.u8()?;
            let width = b.u8()? % 17;
            let data = if flags & 1 != 0 {
                b.take(usize::from(width))?.to_vec()
            } else {
                Vec::new()
            };
            Op::Raw {
                bar,
                offset,
                flags,
                width,
                data,
            }
        }
        3 => Op::Map {
            iova_page: b.u16()?,
            pages: b.u8()?,
            file_page: b.u8()?,
            flags: b.u8()?,
        },
        4 => Op::Unmap {
            iova_page: b.u16()?,
            pages: b.u8()?,
            flags: b.u8()?,
        },
        5 => Op::Step(b.u16()?),
        6 => Op::StepNs(b.u32()?),
        7 => Op::Reset,
        8 => Op::UnmapAll,
        9 => Op::Ring {
            slot: b.u8()?,
            entries: b.u8()?,
            record: b.u8()?,
            control: b.u8()?,
            status: b.u8()?,
        },
        10 => Op::Copy {
            slot: b.u8()?,
            op: b.u8()?,
            bar_off: b.u16()?,
            len: b.u16()?,
        },
        11 => Op::Consume { behind: b.u8()? },
        _ => {
            // A spare tag: a STEP_NS of a small amount (timers).
            Op::StepNs(u32::from(b.u8()?) * 1000)
        }
    })
}

/// Encodes a setup and ops into the format [`decode`] reads (seeds).
pub fn encode(setup: Setup, ops: &[Op]) -> Vec<u8> {
    let size_sel = match setup.bar2_size {
        s if s <= BAR2_MIN_SIZE => 0,
        s if s <= 2 * BAR2_MIN_SIZE => 1,
        s if s <= 16 * BAR2_MIN_SIZE => 2,
        _ => 3,
    };
    let flags = u8::from(setup.trace) | size_sel << 1 | u8::from(setup.debug_window) << 3;
    let mut out = vec![flags, setup.seed as u8];
    for op in ops {
        match op {
            Op::RegWrite { reg, value } => {
                out.extend([0, *reg, value.sel]);
                out.extend(value.raw.to_le_bytes());
            }
            Op::RegRead { reg } => out.extend([1, *reg]),
            Op::Raw {
                bar,
                offset,
                flags,
                width,
                data,
            } => {
                out.extend([2, *bar]);
                out.extend(offset.to_le_bytes());
                out.extend([*flags, *width]);
                if flags & 1 != 0 {
                    out.extend(data);
                }
            }
            Op::Map {
                iova_page,
                pages,
                file_page,
                flags,
            } => {
                out.push(3);
                out.extend(iova_page.to_le_bytes());
                out.extend([*pages, *file_page, *flags]);
            }
            Op::Unmap {
                iova_page,
                pages,
                flags,
            } => {
                out.push(4);
                out.extend(iova_page.to_le_bytes());
                out.extend([*pages, *flags]);
            }
            Op::Step(n) => {
                out.push(5);
                out.extend(n.to_le_bytes());
            }
            Op::StepNs(n) => {
                out.push(6);
                out.extend(n.to_le_bytes());
            }
            Op::Reset => out.push(7),
            Op::UnmapAll => out.push(8),
            Op::Ring {
                slot,
                entries,
                record,
                control,
                status,
            } => out.extend([9, *slot, *entries, *record, *control, *status]),
            Op::Copy {
                slot,
                op,
                bar_off,
                len,
            } => {
                out.extend([10, *slot, *op]);
                out.extend(bar_off.to_le_bytes());
                out.extend(len.to_le_bytes());
            }
            Op::Consume { behind } => out.extend([11, *behind]),
        }
    }
    out
}

/// Index of a register in [`REGS`], for encoders.
pub fn reg_index(offset: u64) -> u8 {
    REGS.iter()
        .position(|&r| r == offset)
        .expect("a register of SPEC §4.2") as u8
}

//! Ring geometry (contiguous or scatter-gather, SPEC §5.5, §5.6) and writing
//! one record into its slot: checked as a whole, then header + PRNG payload
//! generated straight into host memory (no bounce buffer, no allocation).

use cardless_abi::record::{PAYLOAD_WEYL, RECORD_HEADER_SIZE, SG_PAGE_SIZE};

use crate::dma::{DmaError, DmaView};
use vm_memory::VolatileSlice;

/// Where the ring's bytes live.
pub(crate) enum Layout {
    /// One IOVA range starting here.
    Contig { base: u64 },
    /// One 4 KiB page per entry (validated: aligned).
    Sg { pages: Vec<u64> },
}

/// Why a record was not written into its slot.
pub(crate) enum SlotError {
    /// A piece is not mapped writable (SPEC §10).
    Dma(DmaError),
    /// Every piece is mapped, this one is not handed to the card (§16).
    NotHanded { iova: u64, len: u64 },
}

/// A validated ring, latched at enable.
pub(crate) struct Ring {
    pub layout: Layout,
    pub entries: u32,
    pub record_size: u32,
}

impl Ring {
    /// Byte offset of the slot of producer index `idx`.
    pub(crate) fn slot_offset(&self, idx: u32) -> u64 {
        u64::from(idx % self.entries.max(1)) * u64::from(self.record_size)
    }

    /// The IOVA right after the ring's last byte (default target of a
    /// stray-write fault, SPEC §14.1); wraps at 2^64.
    pub(crate) fn end_iova(&self) -> u64 {
        let total = u64::from(self.entries) * u64::from(self.record_size);
        let mut end = 0;
        let _ = self.for_each_piece(total.saturating_sub(1), 1, |iova, _, _| {
            end = iova.wrapping_add(1);
            Ok(())
        });
        end
    }

    /// Writes a whole record contiguously at `iova` instead of its slot
    /// (stray-write fault). Checked first like every DMA.
    pub(crate) fn write_record_at(
        &self,
        view: &DmaView,
        iova: u64,
        header: &[u8; RECORD_HEADER_SIZE],
        key: u64,
    ) -> Result<(), DmaError> {
        let len = u64::from(self.record_size);
        view.for_each(iova, len, true, |p, s| fill(&s, p, header, key))
    }

    /// Calls `f(iova, len, position)` for each IOVA piece of ring bytes
    /// `[off, off + len)`; stops at the first error.
    pub(crate) fn for_each_piece(
        &self,
        off: u64,
        len: u64,
        mut f: impl FnMut(u64, u64, u64) -> Result<(), DmaError>,
    ) -> Result<(), DmaError> {
        match &self.layout {
            Layout::Contig { base } => {
                let iova = base.checked_add(off).ok_or(DmaError::Overflow {
                    iova: *base,
                    len: off,
                })?;
                f(iova, len, 0)
            }
            Layout::Sg { pages } => {
                let mut pos = 0;
                while pos < len {
                    let o = off + pos;
                    let in_page = o % SG_PAGE_SIZE;
                    let n = (SG_PAGE_SIZE - in_page).min(len - pos);
                    // Validation at enable guarantees the ring fits the table.
                    let page = usize::try_from(o / SG_PAGE_SIZE)
                        .ok()
                        .and_then(|i| pages.get(i))
                        .ok_or(DmaError::Unmapped { iova: o })?;
                    f(page + in_page, n, pos)?;
                    pos += n;
                }
                Ok(())
            }
        }
    }

    /// Writes the record of producer index `idx`: `header` then the payload
    /// with key `key`. Nothing is written unless every byte is mapped
    /// writable and then every piece is `handed` (the sanitizer, §16).
    /// `on_piece(iova, len)` is told each piece written (for the trace).
    pub(crate) fn write_record(
        &self,
        view: &DmaView,
        idx: u32,
        header: &[u8; RECORD_HEADER_SIZE],
        key: u64,
        handed: impl Fn(u64, u64) -> bool,
        mut on_piece: impl FnMut(u64, u64),
    ) -> Result<(), SlotError> {
        let off = self.slot_offset(idx);
        let len = u64::from(self.record_size);
        self.for_each_piece(off, len, |iova, n, _| view.check(iova, n, true))
            .map_err(SlotError::Dma)?;
        let mut stray = None;
        let _ = self.for_each_piece(off, len, |iova, n, _| {
            if stray.is_none() && !handed(iova, n) {
                stray = Some(SlotError::NotHanded { iova, len: n });
            }
            Ok(())
        });
        if let Some(e) = stray {
            return Err(e);
        }
        self.for_each_piece(off, len, |iova, n, pos| {
            view.for_each(iova, n, true, |p, s| {
                fill(&s, pos as usize + p, header, key)
            })?;
            on_piece(iova, n);
            Ok(())
        })
        .map_err(SlotError::Dma)
    }
}

/// Writes record bytes `[rec_pos, rec_pos + s.len())` into `s`: the header
/// part copied, the payload part generated (SPEC §5.2).
fn fill(s: &VolatileSlice, rec_pos: usize, header: &[u8; RECORD_HEADER_SIZE], key: u64) {
    let len = s.len();
    let mut i = 0;
    if rec_pos < RECORD_HEADER_SIZE {
        let n = (RECORD_HEADER_SIZE - rec_pos).min(len);
        if let Ok(h) = s.subslice(0, n) {
            h.copy_from(&header[rec_pos..rec_pos + n]);
        }
        i = n;
    }
    if i == len {
        return;
    }
    let guard = s.ptr_guard_mut();
    let dst = guard.as_ptr();
    let word = |j: usize| key.wrapping_add((j as u64).wrapping_mul(PAYLOAD_WEYL));
    // Leading bytes of a word cut by the piece start (never with 8-aligned
    // records and pages, kept for safety).
    while i < len && !(rec_pos + i - RECORD_HEADER_SIZE).is_multiple_of(8) {
        let q = rec_pos + i - RECORD_HEADER_SIZE;
        let b = word(q / 8).to_le_bytes()[q % 8];
        // SAFETY: i < len, and `dst` is valid for `len` bytes of the slice.
        unsafe { dst.add(i).write(b) };
        i += 1;
    }
    let first = (rec_pos + i - RECORD_HEADER_SIZE) / 8;
    let words = (len - i) / 8;
    let mut v = word(first);
    // SAFETY: `i + 8 * words <= len`; unaligned writes into the mapping we
    // own a checked slice of. Plain (non-volatile) stores let this loop run
    // at memory speed; the guest only reads what the status block publishes.
    unsafe {
        let w = dst.add(i).cast::<u64>();
        for k in 0..words {
            w.add(k).write_unaligned(v.to_le());
            v = v.wrapping_add(PAYLOAD_WEYL);
        }
    }
    i += words * 8;
    let q0 = rec_pos + i - RECORD_HEADER_SIZE;
    let tail = word(q0 / 8).to_le_bytes();
    while i < len {
        // SAFETY: i < len.
        unsafe {
            dst.add(i)
                .write(tail[(rec_pos + i - RECORD_HEADER_SIZE) % 8])
        };
        i += 1;
    }
}

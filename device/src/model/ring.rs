//! Ring geometry (contiguous or scatter-gather, SPEC §5.5, §5.6) and writing
//! one record into its slot: checked as a whole, then header + PRNG payload
//! written into host memory through `vm-memory`'s bounds-checked volatile
//! slices (the payload generated a stack chunk at a time, no allocation).

use cardless_abi::record::{PAYLOAD_WEYL, RECORD_HEADER_SIZE, SG_PAGE_SIZE};

use crate::dma::{DmaError, DmaView};
use vm_memory::{Bytes, VolatileMemory, VolatileSlice};

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

/// One record's bytes (SPEC §5.1, §5.2): its header, and the key its
/// payload is generated from (into `buf`).
pub(crate) struct RecordBytes<'a> {
    pub header: &'a [u8; RECORD_HEADER_SIZE],
    pub key: u64,
    pub buf: &'a mut PayloadBuf,
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
        rec: &mut RecordBytes,
    ) -> Result<(), DmaError> {
        let len = u64::from(self.record_size);
        view.for_each(iova, len, true, |p, s| fill(&s, p, rec))
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

    /// Writes record `rec` into the slot of producer index `idx`. Nothing is written unless every byte is mapped
    /// writable and then every piece is `handed` (the sanitizer, §16).
    /// `on_piece(iova, len)` is told each piece written (for the trace).
    pub(crate) fn write_record(
        &self,
        view: &DmaView,
        idx: u32,
        rec: &mut RecordBytes,
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
            view.for_each(iova, n, true, |p, s| fill(&s, pos as usize + p, rec))?;
            on_piece(iova, n);
            Ok(())
        })
        .map_err(SlotError::Dma)
    }
}

/// Payload bytes generated per bounded copy into guest memory: half of a
/// typical L1 cache. Measured (CPU time per 64 KiB record): 1 KiB chunks
/// cost 45% more than 16 KiB ones, 4 KiB 5%, 32 KiB and 64 KiB 15-20%.
const CHUNK: usize = 16 << 10;
/// Up to this many payload words are stored one by one (cheaper than a
/// copy for small records).
const DIRECT_WORDS: usize = 16;

/// Where payload is generated before it is copied into guest memory;
/// kept across records so no record pays for initialising it.
pub(crate) struct PayloadBuf(Box<[u8]>);

impl Default for PayloadBuf {
    fn default() -> Self {
        PayloadBuf(vec![0; CHUNK].into_boxed_slice())
    }
}

/// Writes record bytes `[rec_pos, rec_pos + s.len())` into `s`, all through
/// its bounds-checked volatile access: the header part copied, the
/// payload part generated (SPEC §5.2) and stored word by word (few words)
/// or a chunk at a time through the record's buffer.
fn fill(s: &VolatileSlice, rec_pos: usize, rec: &mut RecordBytes) {
    let len = s.len();
    let mut i = 0;
    if rec_pos < RECORD_HEADER_SIZE {
        let n = (RECORD_HEADER_SIZE - rec_pos).min(len);
        if let Ok(h) = s.subslice(0, n) {
            h.copy_from(&rec.header[rec_pos..rec_pos + n]);
        }
        i = n;
    }
    if i == len {
        return;
    }
    // Payload byte q is byte q % 8 of little-endian word q / 8, word j
    // being key + j × PAYLOAD_WEYL.
    let key = rec.key;
    let word = |q: usize| key.wrapping_add((q as u64 / 8).wrapping_mul(PAYLOAD_WEYL));
    let byte = |q: usize| word(q).to_le_bytes()[q % 8];
    // Bytes of a word cut by the piece's start (never with 8-aligned
    // records and pages).
    while i < len && !(rec_pos + i - RECORD_HEADER_SIZE).is_multiple_of(8) {
        let _ = s.write_obj(byte(rec_pos + i - RECORD_HEADER_SIZE), i);
        i += 1;
    }
    let words = (len - i) / 8;
    let mut v = word(rec_pos + i - RECORD_HEADER_SIZE);
    if words <= DIRECT_WORDS {
        if let Ok(dst) = s.get_array_ref::<u64>(i, words) {
            for k in 0..words {
                dst.store(k, v.to_le());
                v = v.wrapping_add(PAYLOAD_WEYL);
            }
        }
        i += words * 8;
    } else {
        let mut left = words;
        while left > 0 {
            let n = left.min(CHUNK / 8);
            let chunk = &mut rec.buf.0[..n * 8];
            for w in chunk.chunks_exact_mut(8) {
                w.copy_from_slice(&v.to_le_bytes());
                v = v.wrapping_add(PAYLOAD_WEYL);
            }
            match s.subslice(i, n * 8) {
                Ok(dst) => dst.copy_from(chunk),
                // Cannot happen (i + 8n <= len); stop rather than write elsewhere.
                Err(_) => return,
            }
            i += n * 8;
            left -= n;
        }
    }
    // Bytes of a word cut by the piece's end.
    while i < len {
        let _ = s.write_obj(byte(rec_pos + i - RECORD_HEADER_SIZE), i);
        i += 1;
    }
}

/// Pieces that cut a record where the slot tests do not: across the
/// header's end, across two DMA mappings (`cargo mutants` survivors,
/// device/MUTANTS.md).
#[cfg(test)]
mod piece_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use cardless_abi::record::{payload_key, verify_record, RecordHeader, RECORD_MAGIC};

    /// Record byte `p` the slow way: header bytes, then payload byte q =
    /// byte q % 8 of key + (q / 8) × PAYLOAD_WEYL (SPEC §5.2).
    fn expected(header: &[u8; RECORD_HEADER_SIZE], key: u64, p: usize) -> u8 {
        if p < RECORD_HEADER_SIZE {
            return header[p];
        }
        let q = p - RECORD_HEADER_SIZE;
        key.wrapping_add((q as u64 / 8).wrapping_mul(PAYLOAD_WEYL))
            .to_le_bytes()[q % 8]
    }

    /// SPEC §5.2: a record written in pieces that start and end anywhere
    /// (inside the header, mid-word, across the direct/chunked boundary
    /// and the chunk size) is byte for byte the record written whole, and
    /// verifies. Nothing outside a piece is touched.
    #[test]
    fn pieces_anywhere_make_the_same_record() {
        let seed = 0x5eed;
        let size = 3 * CHUNK + 8 * DIRECT_WORDS + 104;
        let mut h = RecordHeader {
            magic: RECORD_MAGIC,
            header_len: RECORD_HEADER_SIZE as u16,
            flags: 0,
            seq: 77,
            timestamp_ns: 5,
            payload_len: (size - RECORD_HEADER_SIZE) as u32,
            dropped_before: 0,
            checksum: 0,
        };
        h.checksum = cardless_abi::record::record_checksum(&h, seed);
        let header = h.to_bytes();
        let key = payload_key(seed, h.seq);
        let mut buf = PayloadBuf::default();
        let cuts = [
            0,
            3,
            RECORD_HEADER_SIZE,
            RECORD_HEADER_SIZE + 5,
            RECORD_HEADER_SIZE + 5 + 8 * DIRECT_WORDS,
            RECORD_HEADER_SIZE + 13 + 8 * DIRECT_WORDS + 1,
            CHUNK + 11,
            3 * CHUNK + 2,
            size,
        ];
        let mut mem = vec![0xa5u8; size + 16];
        for w in cuts.windows(2) {
            let (from, to) = (w[0], w[1]);
            let mut rec = RecordBytes {
                header: &header,
                key,
                buf: &mut buf,
            };
            let s = VolatileSlice::from(&mut mem[8 + from..8 + to]);
            fill(&s, from, &mut rec);
        }
        for (p, &b) in mem[8..8 + size].iter().enumerate() {
            assert_eq!(b, expected(&header, key, p), "record byte {p}");
        }
        assert_eq!(mem[..8], [0xa5; 8]);
        assert_eq!(mem[8 + size..], [0xa5; 8]);
        verify_record(&mem[8..8 + size], seed).unwrap();
        // Whole, in one piece: the same bytes.
        let mut whole = vec![0u8; size];
        let mut rec = RecordBytes {
            header: &header,
            key,
            buf: &mut buf,
        };
        fill(&VolatileSlice::from(&mut whole[..]), 0, &mut rec);
        assert_eq!(whole, mem[8..8 + size]);
    }
}

//! DMA formats of the cardless streaming card: the record header, the status
//! block, the scatter-gather page table, the payload PRNG and the checksum.
//!
//! The document is `device/SPEC.md` §5; this file is its code form. All
//! multi-byte fields are little-endian in memory. Self-contained on purpose:
//! the kernel module includes this file with `#[path]`.
#![allow(dead_code)]

// ---------------------------------------------------------------------------
// §5.1 Record header
// ---------------------------------------------------------------------------

/// `RecordHeader::magic` value: the bytes "CREC" in memory order.
pub const RECORD_MAGIC: u32 = u32::from_le_bytes(*b"CREC");
/// Size of [`RecordHeader`] in bytes; the payload starts right after it.
pub const RECORD_HEADER_SIZE: usize = 40;
/// Header flag: one or more records were dropped (ring full) just before this one.
pub const REC_FLAG_AFTER_DROP: u16 = 1 << 0;

/// The first [`RECORD_HEADER_SIZE`] bytes of every ring slot.
///
/// `checksum` is [`checksum`] of the whole record (header with `checksum` = 0,
/// then the payload).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordHeader {
    /// [`RECORD_MAGIC`].
    pub magic: u32,
    /// [`RECORD_HEADER_SIZE`].
    pub header_len: u16,
    /// `REC_FLAG_*` bits.
    pub flags: u16,
    /// Sequence number since the engine was enabled; dropped records use one
    /// too, so a gap in `seq` shows exactly which records were lost.
    pub seq: u64,
    /// Virtual time (ns) at which the record was produced.
    pub timestamp_ns: u64,
    /// Payload bytes after the header: RECORD_SIZE - RECORD_HEADER_SIZE.
    pub payload_len: u32,
    /// Records dropped between the previous written record and this one (saturating).
    pub dropped_before: u32,
    /// §5.4 checksum of the whole slot with this field read as 0.
    pub checksum: u64,
}

/// Byte offset of `RecordHeader::checksum`.
pub const RECORD_CHECKSUM_OFFSET: usize = 32;

const fn le_u16(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}

const fn le_u32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

const fn le_u64(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes([
        b[o],
        b[o + 1],
        b[o + 2],
        b[o + 3],
        b[o + 4],
        b[o + 5],
        b[o + 6],
        b[o + 7],
    ])
}

/// Copies `src` into `dst` at `o` (const-friendly `copy_from_slice`).
const fn put(dst: &mut [u8], o: usize, src: &[u8]) {
    let mut i = 0;
    while i < src.len() {
        dst[o + i] = src[i];
        i += 1;
    }
}

impl RecordHeader {
    /// The header in its memory form.
    pub const fn to_bytes(self) -> [u8; RECORD_HEADER_SIZE] {
        let mut b = [0u8; RECORD_HEADER_SIZE];
        put(&mut b, 0, &self.magic.to_le_bytes());
        put(&mut b, 4, &self.header_len.to_le_bytes());
        put(&mut b, 6, &self.flags.to_le_bytes());
        put(&mut b, 8, &self.seq.to_le_bytes());
        put(&mut b, 16, &self.timestamp_ns.to_le_bytes());
        put(&mut b, 24, &self.payload_len.to_le_bytes());
        put(&mut b, 28, &self.dropped_before.to_le_bytes());
        put(&mut b, 32, &self.checksum.to_le_bytes());
        b
    }

    /// Parses a header from its memory form (no validation).
    pub const fn from_bytes(b: &[u8; RECORD_HEADER_SIZE]) -> Self {
        RecordHeader {
            magic: le_u32(b, 0),
            header_len: le_u16(b, 4),
            flags: le_u16(b, 6),
            seq: le_u64(b, 8),
            timestamp_ns: le_u64(b, 16),
            payload_len: le_u32(b, 24),
            dropped_before: le_u32(b, 28),
            checksum: le_u64(b, 32),
        }
    }
}

// ---------------------------------------------------------------------------
// §5.2 Payload PRNG
// ---------------------------------------------------------------------------

/// Weyl increment of the payload sequence (2^64 / golden ratio, odd).
pub const PAYLOAD_WEYL: u64 = 0x9e37_79b9_7f4a_7c15;

/// splitmix64's finalizer: a bijective 64-bit mixer.
pub const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Per-record payload key: depends on the stream seed and the record's
/// sequence number only, so any record can be verified on its own.
pub const fn payload_key(seed: u64, seq: u64) -> u64 {
    mix64(seed ^ mix64(seq.wrapping_add(PAYLOAD_WEYL)))
}

/// Payload word `j` (bytes `8j..8j+8` of the payload, little-endian) of the
/// record with sequence number `seq`: `key + j * PAYLOAD_WEYL`.
///
/// A Weyl sequence from a mixed key: every record differs, every word in a
/// record differs, and the card can write it at memory speed.
pub const fn payload_word(seed: u64, seq: u64, j: u64) -> u64 {
    payload_key(seed, seq).wrapping_add(j.wrapping_mul(PAYLOAD_WEYL))
}

// ---------------------------------------------------------------------------
// §5.4 Checksum
// ---------------------------------------------------------------------------

/// Adds the weighted contribution of one 64-bit word at word index `i`.
const fn weigh(acc: u64, i: u64, w: u64) -> u64 {
    acc.wrapping_add(w.wrapping_mul(i.wrapping_mul(2).wrapping_add(1)))
}

/// Final step of the checksum: mixes the weighted sum with the byte length.
pub const fn checksum_finish(weighted_sum: u64, len: u64) -> u64 {
    mix64(weighted_sum ^ len.wrapping_mul(PAYLOAD_WEYL))
}

/// Weighted sum of `bytes` read as little-endian u64 words (the last one
/// zero-padded), word `i` weighted by `2i + 1`, starting at word index `first`.
pub const fn weighted_sum(bytes: &[u8], first: u64) -> u64 {
    let mut acc = 0u64;
    let mut i = 0usize;
    while i < bytes.len() {
        let mut w = [0u8; 8];
        let mut k = 0;
        while k < 8 && i + k < bytes.len() {
            w[k] = bytes[i + k];
            k += 1;
        }
        acc = weigh(acc, first + (i / 8) as u64, u64::from_le_bytes(w));
        i += 8;
    }
    acc
}

/// The card's checksum of a byte string (records, and the copy engine's
/// BAR2 checksum). Detects any change confined to one 64-bit word; not
/// cryptographic.
pub const fn checksum(bytes: &[u8]) -> u64 {
    checksum_finish(weighted_sum(bytes, 0), bytes.len() as u64)
}

/// Weighted sum of a whole payload of `words` words whose first word has word
/// index `first` in the record, computed in closed form (the card's fast path).
/// Exact for `words < 2^40`.
pub const fn payload_weighted_sum(seed: u64, seq: u64, first: u64, words: u64) -> u64 {
    // sum_j (k + jG)(c + 2j) = k*c*m + 2k*S1 + G*c*S1 + 2G*S2,
    // with c = 2*first + 1, S1 = sum j, S2 = sum j^2 over j < m.
    let k = payload_key(seed, seq);
    let g = PAYLOAD_WEYL;
    let m = words as u128;
    let c = first.wrapping_mul(2).wrapping_add(1);
    let s1 = if m == 0 { 0 } else { (m * (m - 1) / 2) as u64 };
    let s2 = if m == 0 {
        0
    } else {
        ((m - 1) * m * (2 * m - 1) / 6) as u64
    };
    let mut acc = k.wrapping_mul(c).wrapping_mul(words);
    acc = acc.wrapping_add(k.wrapping_mul(2).wrapping_mul(s1));
    acc = acc.wrapping_add(g.wrapping_mul(c).wrapping_mul(s1));
    acc.wrapping_add(g.wrapping_mul(2).wrapping_mul(s2))
}

/// Checksum of the record with header `h` (its `checksum` field ignored) and
/// the PRNG payload of `h.payload_len` bytes for `seed`, without touching the
/// payload. `h.payload_len` must be a multiple of 8.
pub const fn record_checksum(h: &RecordHeader, seed: u64) -> u64 {
    let mut hb = h.to_bytes();
    let mut i = 0;
    while i < 8 {
        hb[RECORD_CHECKSUM_OFFSET + i] = 0;
        i += 1;
    }
    let hw = (RECORD_HEADER_SIZE / 8) as u64;
    let words = (h.payload_len / 8) as u64;
    let acc = weighted_sum(&hb, 0).wrapping_add(payload_weighted_sum(seed, h.seq, hw, words));
    checksum_finish(acc, RECORD_HEADER_SIZE as u64 + h.payload_len as u64)
}

/// Why [`verify_record`] rejected a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// Fewer bytes than a header, or `payload_len` disagrees with the slot size.
    Length,
    /// `magic` or `header_len` is wrong.
    Magic,
    /// The checksum does not match the bytes.
    Checksum,
    /// Payload word at this index differs from the PRNG.
    Payload(u32),
}

/// Verifies one record slot (`bytes` = exactly RECORD_SIZE bytes) produced
/// with stream seed `seed`: header, checksum over the bytes, every payload word.
pub fn verify_record(bytes: &[u8], seed: u64) -> Result<RecordHeader, RecordError> {
    let Some(hb) = bytes.first_chunk::<RECORD_HEADER_SIZE>() else {
        return Err(RecordError::Length);
    };
    let h = RecordHeader::from_bytes(hb);
    if h.magic != RECORD_MAGIC || h.header_len as usize != RECORD_HEADER_SIZE {
        return Err(RecordError::Magic);
    }
    if h.payload_len as usize != bytes.len() - RECORD_HEADER_SIZE
        || !h.payload_len.is_multiple_of(8)
    {
        return Err(RecordError::Length);
    }
    let mut acc = weighted_sum(&bytes[..RECORD_CHECKSUM_OFFSET], 0);
    acc = weigh(acc, (RECORD_CHECKSUM_OFFSET / 8) as u64, 0);
    acc = acc.wrapping_add(weighted_sum(
        &bytes[RECORD_HEADER_SIZE..],
        (RECORD_HEADER_SIZE / 8) as u64,
    ));
    if checksum_finish(acc, bytes.len() as u64) != h.checksum {
        return Err(RecordError::Checksum);
    }
    let key = payload_key(seed, h.seq);
    for (j, w) in bytes[RECORD_HEADER_SIZE..].chunks_exact(8).enumerate() {
        let want = key.wrapping_add((j as u64).wrapping_mul(PAYLOAD_WEYL));
        if le_u64(w, 0) != want {
            return Err(RecordError::Payload(j as u32));
        }
    }
    Ok(h)
}

// ---------------------------------------------------------------------------
// §5.3 Status block
// ---------------------------------------------------------------------------

/// Size of [`StatusBlock`] in bytes.
pub const STATUS_BLOCK_SIZE: usize = 64;

/// What the card writes to STATUS_ADDR (when CONTROL.STATUS_WB is set) after
/// every batch of records and always before it raises DATA_READY, OVERFLOW or
/// ERROR. The driver's hot path reads this instead of registers.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusBlock {
    /// PROD_IDX at the time of writing.
    pub prod_idx: u32,
    /// STATUS register at the time of writing.
    pub status: u32,
    /// Records written to the ring since reset (64-bit CNT_PRODUCED).
    pub produced: u64,
    /// Records dropped since reset (64-bit CNT_DROPPED).
    pub dropped: u64,
    /// Sequence number the next record will carry.
    pub next_seq: u64,
    /// Virtual time (ns) of the write.
    pub vtime_ns: u64,
    /// ERROR_CODE.
    pub error_code: u32,
    /// INT_STATUS.
    pub int_status: u32,
    /// ERROR_ADDR.
    pub error_addr: u64,
    /// Number of status block writes since reset, this one included.
    pub generation: u64,
}

impl StatusBlock {
    /// The block in its memory form.
    pub const fn to_bytes(self) -> [u8; STATUS_BLOCK_SIZE] {
        let mut b = [0u8; STATUS_BLOCK_SIZE];
        put(&mut b, 0, &self.prod_idx.to_le_bytes());
        put(&mut b, 4, &self.status.to_le_bytes());
        put(&mut b, 8, &self.produced.to_le_bytes());
        put(&mut b, 16, &self.dropped.to_le_bytes());
        put(&mut b, 24, &self.next_seq.to_le_bytes());
        put(&mut b, 32, &self.vtime_ns.to_le_bytes());
        put(&mut b, 40, &self.error_code.to_le_bytes());
        put(&mut b, 44, &self.int_status.to_le_bytes());
        put(&mut b, 48, &self.error_addr.to_le_bytes());
        put(&mut b, 56, &self.generation.to_le_bytes());
        b
    }

    /// Parses a block from its memory form.
    pub const fn from_bytes(b: &[u8; STATUS_BLOCK_SIZE]) -> Self {
        StatusBlock {
            prod_idx: le_u32(b, 0),
            status: le_u32(b, 4),
            produced: le_u64(b, 8),
            dropped: le_u64(b, 16),
            next_seq: le_u64(b, 24),
            vtime_ns: le_u64(b, 32),
            error_code: le_u32(b, 40),
            int_status: le_u32(b, 44),
            error_addr: le_u64(b, 48),
            generation: le_u64(b, 56),
        }
    }
}

// ---------------------------------------------------------------------------
// §5.5 Scatter-gather page table
// ---------------------------------------------------------------------------

/// Size of one SG page; every table entry is the IOVA of one such page and
/// must be aligned to it.
pub const SG_PAGE_SIZE: u64 = 4096;
/// Size of one SG table entry (a little-endian u64 IOVA).
pub const SG_ENTRY_SIZE: u64 = 8;

/// Byte offset in the ring of slot `idx % entries` (`None` if `entries` is 0
/// or the product overflows).
pub const fn slot_offset(idx: u32, entries: u32, record_size: u32) -> Option<u64> {
    if entries == 0 {
        return None;
    }
    ((idx % entries) as u64).checked_mul(record_size as u64)
}

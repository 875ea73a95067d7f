//! Reads a card's stream through a user mapping of its ring and verifies
//! every byte of every record (SPEC §5.1, §5.2) with the shared ABI code.

use crate::card::{Card, Mapping};
use cardless_abi::record;
use cardless_uapi::ioctl as uapi;

/// What the reader saw.
#[derive(Debug, Default)]
pub struct ReadStats {
    pub records: u64,
    /// Records the card dropped (sum of `dropped_before`).
    pub dropped_seen: u64,
    pub wakeups: u64,
    pub next_seq: u64,
}

/// Stream parameters and the ring they describe.
pub struct Ring<'a> {
    pub card: &'a Card,
    pub map: &'a Mapping,
    pub entries: u32,
    pub record_size: u32,
    pub seed: u64,
}

impl<'a> Ring<'a> {
    /// The ring that fills all of `map` with records of `record_size` bytes
    /// written with `seed`.
    pub fn new(card: &'a Card, map: &'a Mapping, record_size: u32, seed: u64) -> Ring<'a> {
        Ring {
            card,
            map,
            entries: (map.len / record_size as usize) as u32,
            record_size,
            seed,
        }
    }

    /// Verifies record `idx` of the ring: header, checksum, every payload
    /// word. Returns its header.
    pub fn verify(&self, idx: u32) -> Result<record::RecordHeader, String> {
        let slot = (idx % self.entries) as usize * self.record_size as usize;
        // Copy out first: the card may overwrite the slot once consumed.
        let bytes = self.map.bytes()[slot..slot + self.record_size as usize].to_vec();
        record::verify_record(&bytes, self.seed)
            .map_err(|e| format!("record at producer index {idx} (slot offset {slot:#x}): {e:?}"))
    }

    /// Reads until `count` records were verified: wait, verify, consume.
    /// `stall` is called after each wakeup (tests stall the reader with it).
    pub fn read(&self, count: u64, mut stall: impl FnMut(u64)) -> Result<ReadStats, String> {
        let mut stats = ReadStats::default();
        let mut cons: u32 = 0;
        while stats.records < count {
            let prod = self
                .card
                .stream_wait(cons, 5000)
                .map_err(|e| format!("STREAM_WAIT after {} records: {e}", stats.records))?;
            stats.wakeups += 1;
            stall(stats.wakeups);
            let available = prod.wrapping_sub(cons);
            if available > self.entries {
                return Err(format!(
                    "producer index {prod} is {available} ahead of consumer {cons}, ring holds {}",
                    self.entries
                ));
            }
            while cons != prod && stats.records < count {
                let h = self.verify(cons)?;
                if h.seq != stats.next_seq + h.dropped_before as u64 {
                    return Err(format!(
                        "record {cons}: seq {} after seq {} with {} dropped before it: a gap nobody accounted for",
                        h.seq,
                        stats.next_seq.wrapping_sub(1),
                        h.dropped_before
                    ));
                }
                stats.dropped_seen += h.dropped_before as u64;
                stats.next_seq = h.seq + 1;
                stats.records += 1;
                cons = cons.wrapping_add(1);
            }
            self.card
                .stream_consume(cons)
                .map_err(|e| format!("STREAM_CONSUME {cons}: {e}"))?;
        }
        Ok(stats)
    }
}

/// The default stream of the tests: 1 KiB records, every 16 interrupt.
pub fn params(buf_id: u32, seed: u64) -> uapi::StreamStart {
    uapi::StreamStart {
        buf_id,
        record_size: 1024,
        coalesce_records: 16,
        coalesce_ns: 1_000_000,
        rate: 0,
        flags: 0,
        seed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_fills_its_whole_mapping() {
        // SAFETY: a fresh anonymous mapping chosen by the kernel.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                64 * 1024,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        let map = Mapping {
            ptr: p as *mut u8,
            len: 64 * 1024,
        };
        let card = Card { fd: -1 };
        let ring = Ring::new(&card, &map, 1024, 7);
        assert_eq!((ring.entries, ring.record_size, ring.seed), (64, 1024, 7));
        assert_eq!(Ring::new(&card, &map, 3000, 7).entries, 21);
    }
}

//! Guest memory for replay (SPEC §15.2): one memfd per recorded DMA_MAP,
//! at the recorded IOVA. Replay writes into it what the guest had put
//! there (the bytes of recorded DMA reads) and reads it to show what the
//! replayed card wrote.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;

/// Largest single mapping replay creates (the memfd is sparse; this only
/// bounds the virtual address space a hostile trace can ask for).
pub const MAX_MAP_SIZE: u64 = 1 << 40;

struct Region {
    iova: u64,
    size: u64,
    file: File,
}

/// The simulated guest RAM.
#[derive(Default)]
pub struct SimMemory {
    regions: Vec<Region>,
}

impl SimMemory {
    /// Creates a zeroed memfd of `size` bytes for `iova`; returns an fd
    /// for the card's DMA space.
    pub fn map(&mut self, iova: u64, size: u64) -> Result<OwnedFd, String> {
        if size == 0 || size > MAX_MAP_SIZE {
            return Err(format!(
                "mapping size {size:#x} must be in 1..={MAX_MAP_SIZE:#x} for replay"
            ));
        }
        let fd = crate::model::sealed_memfd(c"cardless-replay", size)
            .map_err(|e| format!("a sealed {size:#x}-byte memfd for replay: {e}"))?;
        let file = File::from(fd.try_clone().map_err(|e| e.to_string())?);
        self.regions.push(Region { iova, size, file });
        Ok(fd)
    }

    /// Forgets the regions inside `[iova, iova + size)`.
    pub fn unmap(&mut self, iova: u64, size: u64) {
        let end = iova.saturating_add(size);
        self.regions
            .retain(|r| !(r.iova >= iova && r.iova.saturating_add(r.size) <= end));
    }

    /// Forgets every region.
    pub fn clear(&mut self) {
        self.regions.clear();
    }

    /// Calls `f(file, file offset, position in the access, bytes)` for each
    /// mapped piece of `[iova, iova + len)`; unmapped bytes are skipped.
    fn pieces(&self, iova: u64, len: u64, mut f: impl FnMut(&File, u64, usize, usize)) {
        for r in &self.regions {
            let start = iova.max(r.iova);
            let end = iova.saturating_add(len).min(r.iova.saturating_add(r.size));
            if start < end {
                f(
                    &r.file,
                    start - r.iova,
                    (start - iova) as usize,
                    (end - start) as usize,
                );
            }
        }
    }

    /// Writes `data` at `iova` (read-only regions too: this is the guest
    /// CPU writing its own memory).
    pub fn load(&self, iova: u64, data: &[u8]) {
        self.pieces(iova, data.len() as u64, |file, off, pos, n| {
            if let Err(e) = file.write_all_at(&data[pos..pos + n], off) {
                log::warn!("replay: writing guest memory at {iova:#x}: {e}");
            }
        });
    }

    /// Reads up to `len` bytes at `iova` (unmapped bytes read 0).
    pub fn read(&self, iova: u64, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        self.pieces(iova, len as u64, |file, off, pos, n| {
            let _ = file.read_exact_at(&mut out[pos..pos + n], off);
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPEC §15.2: regions at their IOVAs, loads span them, unmap forgets.
    #[test]
    fn regions_load_read_unmap() {
        let mut m = SimMemory::default();
        m.map(0x1000, 0x1000).unwrap();
        m.map(0x2000, 0x1000).unwrap();
        assert!(m.map(0, 0).is_err());
        assert!(m.map(0, MAX_MAP_SIZE + 1).is_err());
        m.load(0x1ffe, &[1, 2, 3, 4]);
        assert_eq!(m.read(0x1ffc, 8), [0, 0, 1, 2, 3, 4, 0, 0]);
        m.unmap(0x1000, 0x1000);
        assert_eq!(m.read(0x1ffe, 4), [0, 0, 3, 4]);
        m.clear();
        assert_eq!(m.read(0x2000, 2), [0, 0]);
        m.load(u64::MAX - 1, &[1, 2, 3]);
    }
}

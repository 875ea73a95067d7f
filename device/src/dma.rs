//! Host memory as the card sees it: the regions the VMM hands over with
//! DMA_MAP (an fd + offset each), mapped with `vm-memory`.
//!
//! Every access is checked against the mappings *as a whole* before a byte
//! moves, so a faulting DMA never writes partial data (SPEC §10). An access
//! may span adjacent mappings (QEMU splits guest RAM into several). Accesses
//! hold a read lock; `map`/`unmap` take the write lock, so once `unmap`
//! returns no access to the range is in flight or can start.
//!
//! No SIGBUS, ever (SPEC §13): a shared mapping past the end of its file
//! faults on first touch, and whoever else holds the fd (the VMM) could
//! truncate it at any time after we checked its size. So `map` accepts only
//! fds that are sealed against shrinking (`F_SEAL_SHRINK`), and checks their
//! size after the seal: from then on the size can only grow. QEMU's
//! `memory-backend-memfd` seals `F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL`
//! by default (`seal=on`); `seal=off`, `memory-backend-file` (tmpfs,
//! hugetlbfs files) and unsealed memfds are refused rather than guarded with
//! a SIGBUS handler, which would have to wrap every volatile copy.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{RwLock, RwLockReadGuard};

use rustix::fs::{fcntl_get_seals, fstat, FileType, SealFlags};
use rustix::mm::{MapFlags, ProtFlags};
use vm_memory::{FileOffset, MmapRegion, VolatileMemory, VolatileSlice};

/// Granularity of DMA mappings (addresses, sizes and file offsets).
pub const DMA_PAGE_SIZE: u64 = 4096;

/// What a DMA mapping change or access did wrong.
#[derive(Debug, thiserror::Error)]
pub enum DmaError {
    /// A mapping of zero bytes was requested.
    #[error("DMA mapping of size 0 at {iova:#x}")]
    ZeroSize {
        /// Requested IOVA.
        iova: u64,
    },
    /// Address + length (or file offset + length) does not fit in 64 bits / the address space.
    #[error("DMA range {iova:#x}+{len:#x} overflows")]
    Overflow {
        /// Start of the range.
        iova: u64,
        /// Its length.
        len: u64,
    },
    /// A mapping parameter is not a multiple of the page size.
    #[error("DMA mapping {what} {value:#x} is not {DMA_PAGE_SIZE}-byte aligned")]
    Unaligned {
        /// Which parameter.
        what: &'static str,
        /// Its value.
        value: u64,
    },
    /// The new mapping overlaps an existing one.
    #[error("DMA mapping {iova:#x}+{size:#x} overlaps an existing mapping")]
    Overlap {
        /// Requested IOVA.
        iova: u64,
        /// Requested size.
        size: u64,
    },
    /// The fd is too small for offset + size (mapping it could SIGBUS later).
    #[error("DMA fd holds {have:#x} bytes, mapping needs {need:#x}")]
    FdTooSmall {
        /// Bytes needed (file offset + size).
        need: u64,
        /// Bytes in the file.
        have: u64,
    },
    /// The fd is not a regular file (its size cannot be checked).
    #[error("DMA fd is not a regular file")]
    NotRegularFile,
    /// The fd may shrink after the size check (no `F_SEAL_SHRINK`): a later
    /// truncation would turn the card's next DMA into a SIGBUS.
    #[error(
        "DMA fd is not sealed against shrinking (F_SEAL_SHRINK; seals {seals:#x}): \
         a later truncation would crash the card; give the guest \
         memory-backend-memfd with seal=on (QEMU's default)"
    )]
    NotSealed {
        /// The seals the fd has (`F_GET_SEALS`; 0 if the file system has none).
        seals: u32,
    },
    /// `fstat` failed.
    #[error("fstat of DMA fd failed: {0}")]
    Fstat(std::io::Error),
    /// `mmap` failed.
    #[error("mmap of DMA region failed: {0}")]
    Mmap(String),
    /// The access touches an address no mapping covers.
    #[error("DMA to unmapped address {iova:#x}")]
    Unmapped {
        /// First address not covered.
        iova: u64,
    },
    /// The access writes into a read-only mapping.
    #[error("DMA write to read-only mapping at {iova:#x}")]
    ReadOnly {
        /// First read-only address written.
        iova: u64,
    },
    /// `unmap` would cut a mapping in two (only whole mappings can be removed).
    #[error("DMA unmap {iova:#x}+{size:#x} cuts the mapping at {cut:#x}")]
    PartialUnmap {
        /// Requested IOVA.
        iova: u64,
        /// Requested size.
        size: u64,
        /// Start of the mapping it would cut.
        cut: u64,
    },
    /// `unmap` found nothing to remove.
    #[error("DMA unmap {iova:#x}+{size:#x}: nothing mapped there")]
    NothingMapped {
        /// Requested IOVA.
        iova: u64,
        /// Requested size.
        size: u64,
    },
    /// The VMM already holds the most mappings the card keeps.
    #[error("DMA mapping {iova:#x}: the card already holds {max} mappings (its max_dma_maps); unmap some first")]
    TooManyMaps {
        /// Requested IOVA.
        iova: u64,
        /// The limit.
        max: usize,
    },
}

impl DmaError {
    /// The card's error code (`cardless_abi::regs::ERR_*`) and ERROR_ADDR for
    /// a failed access (SPEC §10).
    pub fn fault(&self) -> (u32, u64) {
        use cardless_abi::regs::*;
        match *self {
            DmaError::ReadOnly { iova } => (ERR_DMA_READONLY, iova),
            DmaError::Overflow { iova, .. } => (ERR_DMA_OVERFLOW, iova),
            DmaError::Unmapped { iova } => (ERR_DMA_UNMAPPED, iova),
            DmaError::ZeroSize { iova }
            | DmaError::Overlap { iova, .. }
            | DmaError::PartialUnmap { iova, .. }
            | DmaError::NothingMapped { iova, .. } => (ERR_DMA_UNMAPPED, iova),
            _ => (ERR_DMA_UNMAPPED, 0),
        }
    }
}

/// One DMA_MAP region.
struct Mapping {
    iova: u64,
    /// Bytes; `iova + size` does not overflow.
    size: u64,
    writable: bool,
    mem: MmapRegion,
}

impl Mapping {
    fn end(&self) -> u64 {
        self.iova + self.size
    }
}

/// Most mappings a card keeps (announced as `max_dma_maps`; QEMU 11.1
/// refuses a server announcing more than 65535). Each one is an
/// mmap of the VMM's fd: the limit bounds what a client can make the server
/// hold. A guest IOMMU turns every page the driver maps into one mapping, so
/// it is well above the driver's own budget (128 MiB of buffers per card).
pub const MAX_MAPS: usize = 65535;

/// Host memory the card may DMA to, as mapped by the VMM.
pub struct DmaSpace {
    /// Sorted by `iova`, non-overlapping.
    maps: RwLock<Vec<Mapping>>,
    max_maps: usize,
}

impl Default for DmaSpace {
    fn default() -> Self {
        Self::with_max_maps(MAX_MAPS)
    }
}

impl DmaSpace {
    /// An empty space: every access faults until something is mapped.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty space that keeps at most `max_maps` mappings.
    pub fn with_max_maps(max_maps: usize) -> Self {
        DmaSpace {
            maps: RwLock::new(Vec::new()),
            max_maps,
        }
    }

    /// Maps `size` bytes of `fd` from `file_offset` at `iova`. Validates
    /// everything (size, overflow, alignment, overlap, fd size) first.
    pub fn map(
        &self,
        iova: u64,
        size: u64,
        fd: OwnedFd,
        file_offset: u64,
        writable: bool,
    ) -> Result<(), DmaError> {
        if size == 0 {
            return Err(DmaError::ZeroSize { iova });
        }
        let end = iova
            .checked_add(size)
            .ok_or(DmaError::Overflow { iova, len: size })?;
        let need = file_offset.checked_add(size).ok_or(DmaError::Overflow {
            iova: file_offset,
            len: size,
        })?;
        let len = usize::try_from(size).map_err(|_| DmaError::Overflow { iova, len: size })?;
        for (what, value) in [("iova", iova), ("size", size), ("file offset", file_offset)] {
            if value % DMA_PAGE_SIZE != 0 {
                return Err(DmaError::Unaligned { what, value });
            }
        }
        check_backing(fd.as_fd(), need)?;
        let mut maps = write_lock(&self.maps);
        if maps.iter().any(|m| m.iova < end && iova < m.end()) {
            return Err(DmaError::Overlap { iova, size });
        }
        if maps.len() >= self.max_maps {
            return Err(DmaError::TooManyMaps {
                iova,
                max: self.max_maps,
            });
        }
        let prot = if writable {
            ProtFlags::READ | ProtFlags::WRITE
        } else {
            ProtFlags::READ
        };
        let file = FileOffset::new(File::from(fd), file_offset);
        let mem = shared_mapping(file, len, prot).map_err(|e| DmaError::Mmap(e.to_string()))?;
        let at = maps.partition_point(|m| m.iova < iova);
        maps.insert(
            at,
            Mapping {
                iova,
                size,
                writable,
                mem,
            },
        );
        Ok(())
    }

    /// Removes every mapping inside `[iova, iova + size)`. A mapping only
    /// partly inside is an error and nothing is removed. Takes effect at once.
    /// The range may end exactly at 2^64 (QEMU unmaps "everything above" so).
    pub fn unmap(&self, iova: u64, size: u64) -> Result<(), DmaError> {
        if size == 0 {
            return Err(DmaError::ZeroSize { iova });
        }
        // Inclusive last byte: a range reaching the top of the space fits.
        let last = iova
            .checked_add(size - 1)
            .ok_or(DmaError::Overflow { iova, len: size })?;
        let mut maps = write_lock(&self.maps);
        let inside = |m: &Mapping| m.iova >= iova && m.end() - 1 <= last;
        if let Some(m) = maps
            .iter()
            .find(|m| m.iova <= last && iova < m.end() && !inside(m))
        {
            return Err(DmaError::PartialUnmap {
                iova,
                size,
                cut: m.iova,
            });
        }
        let before = maps.len();
        maps.retain(|m| !inside(m));
        if maps.len() == before {
            return Err(DmaError::NothingMapped { iova, size });
        }
        Ok(())
    }

    /// Removes every mapping (VMM disconnect).
    pub fn unmap_all(&self) {
        write_lock(&self.maps).clear();
    }

    /// Reads `buf.len()` bytes at `iova`; nothing is read unless all are mapped.
    pub fn read(&self, iova: u64, buf: &mut [u8]) -> Result<(), DmaError> {
        let view = self.view();
        view.for_each(iova, buf.len() as u64, false, |pos, s| {
            s.copy_to(&mut buf[pos..pos + s.len()]);
        })
    }

    /// Writes `buf` at `iova`; nothing is written unless all of it is mapped writable.
    pub fn write(&self, iova: u64, buf: &[u8]) -> Result<(), DmaError> {
        let view = self.view();
        view.for_each(iova, buf.len() as u64, true, |pos, s| {
            s.copy_from(&buf[pos..pos + s.len()]);
        })
    }

    /// Locks the mappings for a batch of accesses (the engine writes many
    /// records under one view). `unmap` waits until the view is dropped.
    pub fn view(&self) -> DmaView<'_> {
        DmaView {
            maps: self.maps.read().unwrap_or_else(|e| e.into_inner()),
        }
    }
}

/// A consistent snapshot of the mappings; see [`DmaSpace::view`].
pub struct DmaView<'a> {
    maps: RwLockReadGuard<'a, Vec<Mapping>>,
}

impl DmaView<'_> {
    /// Checks that `[iova, iova + len)` is mapped (and writable if `write`).
    pub fn check(&self, iova: u64, len: u64, write: bool) -> Result<(), DmaError> {
        self.walk(iova, len, write, |_, _, _, _| {})
    }

    /// Checks the whole range, then calls `f(position in the access, slice)`
    /// for each piece, in address order. `len` 0 succeeds without calls.
    pub fn for_each(
        &self,
        iova: u64,
        len: u64,
        write: bool,
        mut f: impl FnMut(usize, VolatileSlice<'_>),
    ) -> Result<(), DmaError> {
        self.check(iova, len, write)?;
        self.walk(iova, len, write, |m, off, n, pos| {
            // Bounds were checked by walk; get_slice re-checks, so this cannot fail.
            if let Ok(s) = m.mem.get_slice(off, n) {
                f(pos, s);
            }
        })
    }

    /// Splits `[iova, iova + len)` over the mappings, calling
    /// `f(mapping, offset in it, bytes, position in access)`; errors on the
    /// first byte not covered.
    fn walk(
        &self,
        iova: u64,
        len: u64,
        write: bool,
        mut f: impl FnMut(&Mapping, usize, usize, usize),
    ) -> Result<(), DmaError> {
        if len == 0 {
            return Ok(());
        }
        let end = iova
            .checked_add(len)
            .ok_or(DmaError::Overflow { iova, len })?;
        let mut at = iova;
        // The mapping containing `at` is the last one starting at or before it.
        let mut i = self.maps.partition_point(|m| m.iova <= at);
        while at < end {
            let m = match i.checked_sub(1).and_then(|k| self.maps.get(k)) {
                Some(m) if m.iova <= at && at < m.end() => m,
                _ => return Err(DmaError::Unmapped { iova: at }),
            };
            if write && !m.writable {
                return Err(DmaError::ReadOnly { iova: at });
            }
            let n = end.min(m.end()) - at;
            // Both fit in usize: a mapping's size does (checked in map).
            f(m, (at - m.iova) as usize, n as usize, (at - iova) as usize);
            at += n;
            i += 1;
        }
        Ok(())
    }
}

fn write_lock<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

/// Checks that `fd` can back `need` bytes of a shared mapping for as long
/// as the mapping lives: a regular file, sealed against shrinking, at least
/// `need` bytes long. The size is read after the seals, so it cannot shrink
/// between the check and the mmap (or ever after).
pub fn check_backing(fd: BorrowedFd<'_>, need: u64) -> Result<(), DmaError> {
    fd_size(fd)?;
    // EINVAL: a file system without seals (a plain tmpfs/ext4 file).
    let seals = fcntl_get_seals(fd).unwrap_or(SealFlags::empty());
    if !seals.contains(SealFlags::SHRINK) {
        return Err(DmaError::NotSealed {
            seals: seals.bits(),
        });
    }
    let have = fd_size(fd)?;
    if have < need {
        return Err(DmaError::FdTooSmall { need, have });
    }
    Ok(())
}

/// Size of a regular file behind `fd`.
fn fd_size(fd: BorrowedFd<'_>) -> Result<u64, DmaError> {
    let st = fstat(fd).map_err(|e| DmaError::Fstat(e.into()))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(DmaError::NotRegularFile);
    }
    // A regular file's size is never negative.
    Ok(u64::try_from(st.st_size).unwrap_or(0))
}

/// A shared mapping of `len` bytes of `file` with `prot`: what the card
/// sees of guest RAM and of its own BAR2. vm-memory takes the raw mmap
/// bits.
pub(crate) fn shared_mapping(
    file: FileOffset,
    len: usize,
    prot: ProtFlags,
) -> Result<MmapRegion, vm_memory::mmap::MmapRegionError> {
    MmapRegion::build(
        Some(file),
        len,
        prot.bits() as i32,
        MapFlags::SHARED.bits() as i32,
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rustix::fs::{fcntl_add_seals, memfd_create, MemfdFlags};

    /// A memfd of `size` bytes, sealed the way QEMU's memory-backend-memfd
    /// seals it (`seal=on`, the default): the kind of fd QEMU hands over.
    pub(crate) fn memfd(size: u64) -> OwnedFd {
        crate::model::sealed_memfd(c"guest", size).unwrap()
    }

    /// A memfd of `size` bytes that can still be sealed, shrunk or grown.
    pub(crate) fn unsealed_memfd(size: u64) -> OwnedFd {
        let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
        let fd = memfd_create(c"guest", flags).unwrap();
        File::from(fd.try_clone().unwrap()).set_len(size).unwrap();
        fd
    }

    const P: u64 = DMA_PAGE_SIZE;

    /// A client cannot make the card hold more mappings than it announced;
    /// unmapping makes room again.
    #[test]
    fn mapping_count_is_bounded() {
        let d = DmaSpace::with_max_maps(3);
        for i in 0..3 {
            d.map(i * P, P, memfd(P), 0, true).unwrap();
        }
        let refused = d.map(10 * P, P, memfd(P), 0, true);
        assert!(matches!(refused, Err(DmaError::TooManyMaps { max: 3, .. })));
        assert!(refused
            .unwrap_err()
            .to_string()
            .contains("unmap some first"));
        d.unmap(0, P).unwrap();
        d.map(10 * P, P, memfd(P), 0, true).unwrap();
    }

    /// QEMU unmaps ranges that end exactly at 2^64; one more byte overflows.
    #[test]
    fn unmap_may_reach_the_top_of_the_space() {
        let d = DmaSpace::new();
        d.map(0x1_0000, P, memfd(P), 0, true).unwrap();
        d.map(0xfef0_0000, P, memfd(P), 0, true).unwrap();
        d.unmap(0xfef0_0000, 0u64.wrapping_sub(0xfef0_0000))
            .unwrap();
        assert!(d.write(0xfef0_0000, &[1]).is_err());
        d.write(0x1_0000, &[1]).unwrap();
        assert!(matches!(
            d.unmap(0xfef0_0000, 0u64.wrapping_sub(0xfef0_0000) + 1),
            Err(DmaError::Overflow { .. })
        ));
    }

    /// SPEC §10 / DMA_MAP validation: bad maps are refused before mmap.
    #[test]
    fn map_validation() {
        let d = DmaSpace::new();
        assert!(matches!(
            d.map(0, 0, memfd(P), 0, true),
            Err(DmaError::ZeroSize { .. })
        ));
        assert!(matches!(
            d.map(u64::MAX - P + 1, 2 * P, memfd(P), 0, true),
            Err(DmaError::Overflow { .. })
        ));
        assert!(matches!(
            d.map(0, P, memfd(P), u64::MAX - 10, true),
            Err(DmaError::Overflow { .. })
        ));
        assert!(matches!(
            d.map(1, P, memfd(P), 0, true),
            Err(DmaError::Unaligned { .. })
        ));
        assert!(matches!(
            d.map(0, 100, memfd(P), 0, true),
            Err(DmaError::Unaligned { .. })
        ));
        assert!(matches!(
            d.map(0, P, memfd(2 * P), 8, true),
            Err(DmaError::Unaligned { .. })
        ));
        // A short fd would SIGBUS on access: refused.
        assert!(matches!(
            d.map(0, 2 * P, memfd(P), 0, true),
            Err(DmaError::FdTooSmall { need, have }) if need == 2 * P && have == P
        ));
        assert!(matches!(
            d.map(0, P, memfd(P), P, true),
            Err(DmaError::FdTooSmall { .. })
        ));
        let (a, _b) = rustix::pipe::pipe().unwrap();
        assert!(matches!(
            d.map(0, P, a, 0, true),
            Err(DmaError::NotRegularFile)
        ));
        d.map(P, 2 * P, memfd(4 * P), P, true).unwrap();
        assert!(matches!(
            d.map(2 * P, P, memfd(P), 0, true),
            Err(DmaError::Overlap { .. })
        ));
        assert!(matches!(
            d.map(0, 2 * P, memfd(2 * P), 0, true),
            Err(DmaError::Overlap { .. })
        ));
        d.map(0, P, memfd(P), 0, true).unwrap();
        d.map(3 * P, P, memfd(P), 0, true).unwrap();
    }

    /// Accesses: whole-or-nothing, spanning adjacent mappings, read-only.
    #[test]
    fn access_rules() {
        let d = DmaSpace::new();
        let a = memfd(2 * P);
        d.map(0x10000, 2 * P, a.try_clone().unwrap(), 0, true)
            .unwrap();
        d.map(0x10000 + 2 * P, P, memfd(P), 0, true).unwrap();
        d.map(0x40000, P, memfd(P), 0, false).unwrap();
        // Spans both adjacent mappings.
        let data: Vec<u8> = (0..P as usize + 100).map(|i| i as u8).collect();
        d.write(0x10000 + P + 50, &data).unwrap();
        let mut back = vec![0; data.len()];
        d.read(0x10000 + P + 50, &mut back).unwrap();
        assert_eq!(back, data);
        // The bytes went to the fd (file offset honoured).
        let mut f = vec![0u8; 10];
        std::os::unix::fs::FileExt::read_exact_at(&File::from(a), &mut f, P + 50).unwrap();
        assert_eq!(f, data[..10]);
        // Partly mapped: error at the first unmapped byte, nothing written.
        let end = 0x10000 + 3 * P;
        let r = d.write(end - 8, &[0xaa; 16]);
        assert!(matches!(r, Err(DmaError::Unmapped { iova }) if iova == end));
        let mut tail = [0u8; 8];
        d.read(end - 8, &mut tail).unwrap();
        assert_eq!(tail, [0; 8]);
        assert!(matches!(
            d.read(0, &mut [0; 4]),
            Err(DmaError::Unmapped { iova: 0 })
        ));
        assert!(matches!(
            d.write(u64::MAX - 2, &[0; 8]),
            Err(DmaError::Overflow { .. })
        ));
        assert!(matches!(
            d.write(0x40000, &[1]),
            Err(DmaError::ReadOnly { iova: 0x40000 })
        ));
        d.read(0x40000, &mut [0; 8]).unwrap();
        d.write(0x12345678, &[]).unwrap();
    }

    /// DMA_UNMAP takes effect at once; only whole mappings can be removed.
    #[test]
    fn unmap_rules() {
        let d = DmaSpace::new();
        d.map(0, 2 * P, memfd(2 * P), 0, true).unwrap();
        d.map(4 * P, P, memfd(P), 0, true).unwrap();
        assert!(matches!(d.unmap(0, P), Err(DmaError::PartialUnmap { .. })));
        assert!(matches!(
            d.unmap(2 * P, P),
            Err(DmaError::NothingMapped { .. })
        ));
        assert!(matches!(
            d.unmap(u64::MAX, 2),
            Err(DmaError::Overflow { .. })
        ));
        d.write(0, &[1; 8]).unwrap();
        d.unmap(0, 2 * P).unwrap();
        assert!(matches!(
            d.write(0, &[1; 8]),
            Err(DmaError::Unmapped { iova: 0 })
        ));
        d.write(4 * P, &[1]).unwrap();
        d.unmap_all();
        assert!(d.read(4 * P, &mut [0]).is_err());
        // Remapping the same range works after unmap.
        d.map(0, P, memfd(P), 0, true).unwrap();
        d.write(0, &[2]).unwrap();
    }

    /// No SIGBUS later (SPEC §13): an fd that could shrink after the size
    /// check is refused, whatever its size; sealed only against growing is
    /// not enough; a shrink-sealed fd is checked for size after the seal.
    #[test]
    fn map_refuses_fds_that_could_shrink() {
        let d = DmaSpace::new();
        let add_seals = |fd: &OwnedFd, seals| fcntl_add_seals(fd, seals).unwrap();
        // An unsealed memfd, large enough: refused, nothing mapped.
        let fd = unsealed_memfd(4 * P);
        assert!(matches!(
            d.map(0, P, fd.try_clone().unwrap(), 0, true),
            Err(DmaError::NotSealed { seals: 0 })
        ));
        assert!(d.read(0, &mut [0]).is_err());
        // The hole it closes: the client shrinks the file after the map.
        File::from(fd.try_clone().unwrap()).set_len(0).unwrap();
        // Sealed against growing only: still refused.
        let fd = unsealed_memfd(P);
        add_seals(&fd, SealFlags::GROW);
        assert!(matches!(
            d.map(0, P, fd, 0, true),
            Err(DmaError::NotSealed { .. })
        ));
        // A memfd without MFD_ALLOW_SEALING reports F_SEAL_SEAL only.
        let fd = memfd_create(c"nosealing", MemfdFlags::CLOEXEC).unwrap();
        File::from(fd.try_clone().unwrap()).set_len(P).unwrap();
        assert!(matches!(
            d.map(0, P, fd, 0, true),
            Err(DmaError::NotSealed { .. })
        ));
        // A regular file on a file system without seals: refused too.
        let path = std::env::temp_dir().join(format!("cardless-dma-{}", std::process::id()));
        let file = File::create(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        file.set_len(P).unwrap();
        assert!(matches!(
            d.map(0, P, OwnedFd::from(file), 0, true),
            Err(DmaError::NotSealed { .. })
        ));
        // Shrink-sealed: accepted once big enough, refused when short.
        let fd = unsealed_memfd(P);
        add_seals(&fd, SealFlags::SHRINK);
        assert!(matches!(
            d.map(0, 2 * P, fd.try_clone().unwrap(), 0, true),
            Err(DmaError::FdTooSmall { .. })
        ));
        // Growing is harmless: the size only ever goes up from here.
        File::from(fd.try_clone().unwrap()).set_len(2 * P).unwrap();
        d.map(0, 2 * P, fd.try_clone().unwrap(), 0, true).unwrap();
        assert!(File::from(fd).set_len(P).is_err(), "the seal holds");
        d.write(2 * P - 1, &[1]).unwrap();
    }
}

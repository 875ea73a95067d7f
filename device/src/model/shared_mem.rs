//! BAR2, the card's on-board memory: a sealed memfd the VMM maps into the
//! guest (sparse mmap) and the card maps too, so both see the same bytes.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{fcntl_add_seals, memfd_create, MemfdFlags, SealFlags};
use rustix::mm::ProtFlags;
use vm_memory::{FileOffset, MmapRegion, VolatileMemory, VolatileSlice};

/// A zeroed memfd of `size` bytes, sealed the way QEMU's
/// memory-backend-memfd seals guest RAM (no shrink, no grow, no more
/// seals): the card's DMA space accepts only fds that cannot shrink, and
/// a mapping of one can never SIGBUS.
pub fn sealed_memfd(name: &std::ffi::CStr, size: u64) -> io::Result<OwnedFd> {
    let fd = memfd_create(name, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)?;
    File::from(fd.try_clone()?).set_len(size)?;
    fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL)?;
    Ok(fd)
}

/// The on-board memory behind BAR2 (SPEC §3.1).
pub struct SharedMem {
    fd: OwnedFd,
    mem: MmapRegion,
    size: u64,
}

impl SharedMem {
    /// Creates `size` bytes of zeroed shared memory. The memfd is sealed
    /// against shrinking so no mapping of it can ever SIGBUS.
    pub fn new(size: u64) -> io::Result<Self> {
        let len = usize::try_from(size)
            .ok()
            .filter(|&l| l > 0)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "BAR2 size"))?;
        let fd = sealed_memfd(c"cardless-bar2", size)?;
        let file = File::from(fd.try_clone()?);
        let mem = crate::dma::shared_mapping(
            FileOffset::new(file, 0),
            len,
            ProtFlags::READ | ProtFlags::WRITE,
        )
        .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(SharedMem { fd, mem, size })
    }

    /// The memfd, to hand to the VMM.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Copies bytes at `off` into `buf`; false (and `buf` untouched) if out of range.
    pub fn read(&self, off: u64, buf: &mut [u8]) -> bool {
        match self.slice(off, buf.len() as u64) {
            Some(s) => {
                s.copy_to(buf);
                true
            }
            None => false,
        }
    }

    /// Copies `buf` to `off`; false (and nothing written) if out of range.
    pub fn write(&self, off: u64, buf: &[u8]) -> bool {
        match self.slice(off, buf.len() as u64) {
            Some(s) => {
                s.copy_from(buf);
                true
            }
            None => false,
        }
    }

    /// The bytes `[off, off + len)`, or `None` if any lies outside.
    pub fn slice(&self, off: u64, len: u64) -> Option<VolatileSlice<'_>> {
        let end = off.checked_add(len)?;
        if end > self.size {
            return None;
        }
        self.mem.get_slice(off as usize, len as usize).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPEC §3.1: BAR2 starts zeroed, bounds are enforced, the fd is sealed.
    #[test]
    fn bounds_and_seals() {
        let m = SharedMem::new(8192).unwrap();
        let mut b = [0xffu8; 16];
        assert!(m.read(8192 - 16, &mut b));
        assert_eq!(b, [0; 16]);
        assert!(m.write(100, b"hello"));
        assert!(m.read(100, &mut b[..5]));
        assert_eq!(&b[..5], b"hello");
        assert!(!m.read(8190, &mut b));
        assert!(!m.write(u64::MAX, b"x"));
        assert!(m.read(8192, &mut []));
        assert!(!m.read(8193, &mut []));
        let f = File::from(m.fd().try_clone_to_owned().unwrap());
        assert!(f.set_len(4096).is_err(), "shrinking must be sealed");
        assert!(SharedMem::new(0).is_err());
    }
}

/// The seals (`cargo mutants` survivor, device/MUTANTS.md).
#[cfg(test)]
mod seal_tests;

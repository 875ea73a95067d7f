//! Shared pieces of the fuzz targets: how their input bytes are decoded, the
//! encoders the seed generator (`gen_corpus`) uses to write valid inputs in
//! the same formats, and small fd helpers.
//!
//! Both formats are total: every byte string decodes to something (a
//! truncated op or chunk is simply the end), so the fuzzer never wastes runs
//! on inputs the harness rejects.

use std::os::fd::OwnedFd;

pub mod client;
pub mod guest;

/// A memfd of `size` bytes; `sealed` adds the seals QEMU's
/// memory-backend-memfd sets by default (shrink, grow, seal).
pub fn memfd(name: &str, size: u64, sealed: bool) -> OwnedFd {
    use rustix::fs::{MemfdFlags, SealFlags};
    let fd = rustix::fs::memfd_create(name, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)
        .expect("memfd_create");
    rustix::fs::ftruncate(&fd, size).expect("ftruncate");
    if sealed {
        rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL)
            .expect("F_ADD_SEALS");
    }
    fd
}

/// A non-blocking eventfd (what QEMU passes for interrupts).
pub fn eventfd() -> OwnedFd {
    use rustix::event::EventfdFlags;
    rustix::event::eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK).expect("eventfd")
}

/// Number of open file descriptors of this process (leak check).
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// A little-endian reader over fuzz input that yields `None` at the end.
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.data.len() < n {
            self.data = &[];
            return None;
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Some(head)
    }

    /// Up to `n` bytes (fewer at the end of the input).
    pub fn take_up_to(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        head
    }

    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    pub fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

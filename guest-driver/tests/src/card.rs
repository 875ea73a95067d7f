//! A handle on `/dev/cardlessN` for the tests: the ioctls of the shared uAPI
//! and mmap of its regions, each returning the errno on failure.

use cardless_uapi::ioctl as uapi;
use std::ffi::CString;

/// An errno, with the call that got it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Errno(pub i32);

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", std::io::Error::from_raw_os_error(self.0))
    }
}

/// `.map_err(e("WHAT"))`: the error names the call that failed.
pub fn e(what: &str) -> impl FnOnce(Errno) -> String + '_ {
    move |err| format!("{what}: {err}")
}

pub fn errno() -> Errno {
    Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
}

/// An open card node.
pub struct Card {
    pub fd: i32,
}

impl Card {
    pub fn open(index: u32) -> Result<Card, String> {
        let path = format!("/dev/cardless{index}");
        let c = CString::new(path.clone()).map_err(|e| e.to_string())?;
        // SAFETY: a valid NUL-terminated path.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(format!("open {path}: {}", errno()));
        }
        Ok(Card { fd })
    }

    /// A raw ioctl: the return value or the errno.
    pub fn ioctl_raw(&self, cmd: u32, arg: usize) -> Result<i64, Errno> {
        // SAFETY: the kernel validates `arg`; a bad pointer gives EFAULT, not UB here.
        let r = unsafe { libc::ioctl(self.fd, cmd as _, arg) };
        if r < 0 {
            Err(errno())
        } else {
            Ok(r as i64)
        }
    }

    fn ioctl_with<T>(&self, cmd: u32, arg: &mut T) -> Result<(), Errno> {
        self.ioctl_raw(cmd, arg as *mut T as usize).map(|_| ())
    }

    pub fn version(&self) -> Result<uapi::Version, Errno> {
        let mut v = uapi::Version::default();
        self.ioctl_with(uapi::IOC_VERSION, &mut v).map(|_| v)
    }

    pub fn info(&self) -> Result<uapi::CardInfo, Errno> {
        let mut v = uapi::CardInfo::default();
        self.ioctl_with(uapi::IOC_CARD_INFO, &mut v).map(|_| v)
    }

    pub fn reg_read(&self, offset: u64) -> Result<u32, Errno> {
        let mut a = uapi::RegAccess {
            offset: offset as u32,
            value: 0,
        };
        self.ioctl_with(uapi::IOC_REG_READ, &mut a).map(|_| a.value)
    }

    pub fn reg_write(&self, offset: u64, value: u32) -> Result<(), Errno> {
        let mut a = uapi::RegAccess {
            offset: offset as u32,
            value,
        };
        self.ioctl_with(uapi::IOC_REG_WRITE, &mut a)
    }

    pub fn reset(&self) -> Result<(), Errno> {
        self.ioctl_raw(uapi::IOC_RESET, 0).map(|_| ())
    }

    pub fn buf_alloc(&self, size: u64, strategy: u32) -> Result<uapi::BufAlloc, Errno> {
        let mut a = uapi::BufAlloc {
            size,
            strategy,
            ..Default::default()
        };
        self.ioctl_with(uapi::IOC_BUF_ALLOC, &mut a).map(|_| a)
    }

    pub fn buf_free(&self, id: u32) -> Result<(), Errno> {
        let mut id = id;
        self.ioctl_with(uapi::IOC_BUF_FREE, &mut id)
    }

    pub fn stream_start(&self, p: &uapi::StreamStart) -> Result<(), Errno> {
        let mut p = *p;
        self.ioctl_with(uapi::IOC_STREAM_START, &mut p)
    }

    pub fn stream_stop(&self) -> Result<(), Errno> {
        self.ioctl_raw(uapi::IOC_STREAM_STOP, 0).map(|_| ())
    }

    /// Waits until the producer index differs from `after`; returns it.
    pub fn stream_wait(&self, after: u32, timeout_ms: u32) -> Result<u32, Errno> {
        let mut w = uapi::StreamWait {
            after,
            timeout_ms,
            ..Default::default()
        };
        self.ioctl_with(uapi::IOC_STREAM_WAIT, &mut w)
            .map(|_| w.prod_idx)
    }

    pub fn stream_consume(&self, idx: u32) -> Result<(), Errno> {
        let mut idx = idx;
        self.ioctl_with(uapi::IOC_STREAM_CONSUME, &mut idx)
    }

    pub fn counters(&self) -> Result<uapi::StreamCounters, Errno> {
        let mut c = uapi::StreamCounters::default();
        self.ioctl_with(uapi::IOC_STREAM_COUNTERS, &mut c)
            .map(|_| c)
    }

    /// One copy-engine command between BAR2 and a buffer of this file.
    pub fn copy(
        &self,
        buf_id: u32,
        op: u32,
        buf_offset: u64,
        bar_offset: u32,
        len: u32,
    ) -> Result<(), Errno> {
        let mut r = uapi::CopyRequest {
            buf_id,
            op,
            buf_offset,
            bar_offset,
            len,
        };
        self.ioctl_with(uapi::IOC_COPY, &mut r)
    }

    /// pread(2) of BAR2 through the driver's own (write-combining) mapping.
    pub fn pread(&self, buf: &mut [u8], pos: u64) -> Result<usize, Errno> {
        // SAFETY: `buf` is ours and `buf.len()` bytes long.
        let n = unsafe { libc::pread(self.fd, buf.as_mut_ptr().cast(), buf.len(), pos as i64) };
        if n < 0 {
            Err(errno())
        } else {
            Ok(n as usize)
        }
    }

    /// pwrite(2) into BAR2 through the driver's own mapping.
    pub fn pwrite(&self, data: &[u8], pos: u64) -> Result<usize, Errno> {
        // SAFETY: `data` is ours and `data.len()` bytes long.
        let n = unsafe { libc::pwrite(self.fd, data.as_ptr().cast(), data.len(), pos as i64) };
        if n < 0 {
            Err(errno())
        } else {
            Ok(n as usize)
        }
    }

    /// mmap(len, prot, flags) at page offset `pgoff`.
    pub fn map(&self, pgoff: u64, len: usize, prot: i32, flags: i32) -> Result<Mapping, Errno> {
        // SAFETY: a fresh mapping chosen by the kernel; the driver validates the rest.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                flags,
                self.fd,
                uapi::mmap_offset(pgoff) as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(errno());
        }
        Ok(Mapping {
            ptr: p as *mut u8,
            len,
        })
    }

    /// Allocates a buffer and maps all of it read-only (the ring's usual
    /// view); the error names the call that failed.
    pub fn mapped_buffer(
        &self,
        size: u64,
        strategy: u32,
    ) -> Result<(uapi::BufAlloc, Mapping), String> {
        let buf = self
            .buf_alloc(size, strategy)
            .map_err(|e| format!("BUF_ALLOC: {e}"))?;
        let map = self
            .map(
                buf.id as u64,
                size as usize,
                libc::PROT_READ,
                libc::MAP_SHARED,
            )
            .map_err(|e| format!("mmap: {e}"))?;
        Ok((buf, map))
    }

    /// A shared read-write mapping of the first `len` bytes of BAR0; the
    /// error names the BAR.
    pub fn map_bar0(&self, len: usize) -> Result<Mapping, String> {
        self.map_shared(uapi::MMAP_PGOFF_BAR0, len)
            .map_err(|e| format!("mmap BAR0: {e}"))
    }

    /// A shared read-write mapping of the first `len` bytes of BAR2; the
    /// error names the BAR.
    pub fn map_bar2(&self, len: usize) -> Result<Mapping, String> {
        self.map_shared(uapi::MMAP_PGOFF_BAR2, len)
            .map_err(|e| format!("mmap BAR2: {e}"))
    }

    /// A shared read-write mapping of a whole region.
    pub fn map_shared(&self, pgoff: u64, len: usize) -> Result<Mapping, Errno> {
        self.map(
            pgoff,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
        )
    }
}

impl Drop for Card {
    fn drop(&mut self) {
        // SAFETY: our own descriptor, closed once.
        unsafe { libc::close(self.fd) };
    }
}

/// A user mapping, unmapped on drop. Accesses are volatile: it is device memory.
pub struct Mapping {
    pub ptr: *mut u8,
    pub len: usize,
}

impl Mapping {
    pub fn read32(&self, offset: u64) -> u32 {
        assert!(offset as usize + 4 <= self.len);
        // SAFETY: inside the mapping (checked), 4-byte aligned by the callers' offsets.
        unsafe { std::ptr::read_volatile(self.ptr.add(offset as usize) as *const u32) }
    }

    pub fn write32(&self, offset: u64, value: u32) {
        assert!(offset as usize + 4 <= self.len);
        // SAFETY: as in `read32`.
        unsafe { std::ptr::write_volatile(self.ptr.add(offset as usize) as *mut u32, value) }
    }

    pub fn copy_in(&self, offset: usize, data: &[u8]) {
        assert!(offset + data.len() <= self.len);
        for (i, chunk) in data.chunks(8).enumerate() {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            // SAFETY: inside the mapping (checked); 8-byte aligned when `offset` is.
            unsafe {
                std::ptr::write_volatile(
                    self.ptr.add(offset + i * 8) as *mut u64,
                    u64::from_le_bytes(w),
                )
            }
        }
        // Drain the write-combining buffers before anyone else looks.
        // SAFETY: a fence, no memory access of its own.
        unsafe { core::arch::x86_64::_mm_sfence() };
    }

    pub fn copy_out(&self, offset: usize, out: &mut [u8]) {
        assert!(offset + out.len() <= self.len);
        for (i, chunk) in out.chunks_mut(8).enumerate() {
            // SAFETY: inside the mapping (checked).
            let w = unsafe { std::ptr::read_volatile(self.ptr.add(offset + i * 8) as *const u64) };
            chunk.copy_from_slice(&w.to_le_bytes()[..chunk.len()]);
        }
    }

    pub fn addr(&self) -> usize {
        self.ptr as usize
    }

    /// The signal that kills a child process reading the mapping's first
    /// word, if any (SIGBUS once the driver zapped the mapping).
    pub fn signal_of_touch(&self) -> Option<i32> {
        let ptr = self.ptr as usize;
        signal_of_child(move || {
            // SAFETY: a deliberate read of (possibly zapped) device memory in a child.
            let _ = unsafe { std::ptr::read_volatile(ptr as *const u32) };
        })
    }

    /// Whether mprotect gives the first page write rights; the driver's
    /// read-only mappings must refuse (no VM_MAYWRITE).
    pub fn mprotect_adds_write(&self) -> bool {
        // SAFETY: asking for rights the driver may not have granted, on our
        // own mapping of at least a page; a refusal changes nothing.
        let r = unsafe {
            libc::mprotect(
                self.ptr as *mut libc::c_void,
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        r == 0
    }

    /// Asks mremap to grow the mapping in place by a page: `Ok(())` if it
    /// did, else the errno. The driver's mappings must refuse with EFAULT
    /// (VM_DONTEXPAND); a grown mapping keeps its page (unmapped at exit).
    pub fn grow_by_a_page(&self) -> Result<(), Errno> {
        // SAFETY: no MREMAP_MAYMOVE, so nothing of ours moves; a refusal
        // changes nothing.
        let p = unsafe { libc::mremap(self.ptr.cast(), self.len, self.len + 4096, 0) };
        if p == libc::MAP_FAILED {
            return Err(Errno(
                std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
            ));
        }
        Ok(())
    }

    /// The bytes of the mapping (RAM-backed buffer mappings only).
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: a live mapping of `len` readable bytes; the card writes into
        // it behind our back, which is why callers copy out what they check.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: our own mapping, unmapped once.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}

/// The VmFlags line of the smaps entry starting at `addr`.
pub fn vm_flags(addr: usize) -> Option<Vec<String>> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    let start = format!("{addr:x}-");
    let mut in_entry = false;
    for line in smaps.lines() {
        if line.starts_with(&start) {
            in_entry = true;
        } else if in_entry {
            if let Some(flags) = line.strip_prefix("VmFlags:") {
                return Some(flags.split_whitespace().map(str::to_string).collect());
            }
        }
    }
    None
}

/// How a child process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildEnd {
    Exited(i32),
    Killed(i32),
}

/// Runs `f` in a child process (which exits 0 when `f` returns) and says
/// how it ended.
pub fn run_in_child(f: impl FnOnce()) -> ChildEnd {
    // SAFETY: the child only runs `f` and exits; no locks are shared with threads here.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        f();
        // SAFETY: leaving the child without running the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFSIGNALED(status) {
        ChildEnd::Killed(libc::WTERMSIG(status))
    } else {
        ChildEnd::Exited(libc::WEXITSTATUS(status))
    }
}

/// Runs `f` in a child process and returns the signal that killed it, if any.
pub fn signal_of_child(f: impl FnOnce()) -> Option<i32> {
    match run_in_child(f) {
        ChildEnd::Killed(sig) => Some(sig),
        ChildEnd::Exited(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mapping of `file`'s first page with `prot`, as the driver would
    /// hand one out: shared, unmapped on drop.
    fn file_mapping(file: &std::fs::File, prot: i32) -> Mapping {
        use std::os::fd::AsRawFd;
        // SAFETY: a fresh mapping chosen by the kernel, of an open file.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                prot,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED, "mmap: {}", errno());
        Mapping {
            ptr: p as *mut u8,
            len: 4096,
        }
    }

    #[test]
    fn mprotect_adds_write_only_where_the_file_allows_it() {
        let path = std::env::temp_dir().join(format!("cardless-mprotect-{}", std::process::id()));
        std::fs::write(&path, [0u8; 4096]).unwrap();
        let writable = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let read_only = std::fs::File::open(&path).unwrap();
        // A read-only mapping of a file opened for writing may become writable
        // (VM_MAYWRITE); of a file opened read-only it may not.
        assert!(file_mapping(&writable, libc::PROT_READ).mprotect_adds_write());
        assert!(!file_mapping(&read_only, libc::PROT_READ).mprotect_adds_write());
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn an_anonymous_mapping_grows_by_a_page_or_says_why_not() {
        // SAFETY: a fresh private anonymous mapping of two pages, the second
        // unmapped again so the first has room to grow into.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                8192,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        // SAFETY: unmaps the second page of the mapping just made, which
        // nothing refers to.
        let unmapped = unsafe { libc::munmap(p.cast::<u8>().wrapping_add(4096).cast(), 4096) };
        assert_eq!(unmapped, 0);
        let map = Mapping {
            ptr: p as *mut u8,
            len: 4096,
        };
        assert_eq!(map.grow_by_a_page(), Ok(()));
    }
}

//! The scratch disk: a blank raw virtio disk the host gives every guest
//! (qemu-scripts/run-qemu.sh) for direct I/O from mapped buffers. O_DIRECT
//! needs a block device (tmpfs copies through the page cache), and its
//! block layer takes the buffer's pages with get_user_pages as a disk
//! filesystem's direct I/O does.

use crate::card::{errno, Errno, Mapping};
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

/// The serial the host gives the scratch disk (run-qemu.sh).
pub const SERIAL: &str = "cardless-scratch";

/// The scratch disk's device node, found by its serial.
pub fn device() -> Result<String, String> {
    let disks = std::fs::read_dir("/sys/block").map_err(|e| format!("/sys/block: {e}"))?;
    for disk in disks.flatten() {
        let serial = std::fs::read_to_string(disk.path().join("serial")).unwrap_or_default();
        if serial.trim() == SERIAL {
            return Ok(format!("/dev/{}", disk.file_name().to_string_lossy()));
        }
    }
    Err(format!(
        "no disk with serial {SERIAL} in /sys/block/*/serial (the scratch disk run-qemu.sh attaches)"
    ))
}

/// `write(O_DIRECT)` of the whole of `map` to the start of the scratch
/// disk: the bytes written, or the errno the write failed with.
pub fn write_direct(map: &Mapping) -> Result<Result<usize, Errno>, String> {
    let dev = device()?;
    let disk = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(&dev)
        .map_err(|e| format!("open {dev} with O_DIRECT: {e}"))?;
    // SAFETY: reads map.len bytes of our own live mapping (the kernel
    // reads them, or fails with an errno; nothing is dereferenced here).
    let n = unsafe { libc::write(disk.as_raw_fd(), map.ptr as *const libc::c_void, map.len) };
    Ok(if n < 0 { Err(errno()) } else { Ok(n as usize) })
}

/// The first `len` bytes of the scratch disk (read through the page cache,
/// which a direct write invalidates).
pub fn read_start(len: usize) -> Result<Vec<u8>, String> {
    let dev = device()?;
    let mut bytes = vec![0; len];
    std::fs::File::open(&dev)
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("read back {len} bytes of {dev}: {e}"))?;
    Ok(bytes)
}

/// A direct write's outcome in words, for messages: "wrote N bytes" or
/// "failed: ERRNO".
pub fn outcome(written: &Result<usize, Errno>) -> String {
    match written {
        Ok(n) => format!("wrote {n} bytes"),
        Err(err) => format!("failed: {err}"),
    }
}

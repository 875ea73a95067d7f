// SPDX-License-Identifier: GPL-2.0
//! pread/pwrite of BAR2 through the kernel's own write-combining mapping
//! (`pci_iomap_wc`): a second path to the card's memory besides the user
//! mapping, so tests can check one against the other.

use crate::card::CardShared;
use kernel::{
    iov::{IovIterDest, IovIterSource},
    prelude::*,
};

/// At most this much per call (a bounce buffer: MMIO copies happen under the
/// RCU guard of the revocable BAR, user copies outside it).
const CHUNK: usize = 64 * 1024;

fn span(pos: i64, want: usize, bar_len: usize) -> Result<(usize, usize)> {
    let pos = usize::try_from(pos).map_err(|_| EINVAL)?;
    if pos >= bar_len {
        return Ok((pos, 0));
    }
    Ok((pos, want.min(CHUNK).min(bar_len - pos)))
}

/// `read()` at `pos`: the bytes copied.
pub(crate) fn read(shared: &CardShared, pos: i64, iov: &mut IovIterDest<'_>) -> Result<usize> {
    let (pos, len) = span(pos, iov.len(), shared.hw.bar2_len as usize)?;
    if len == 0 {
        return Ok(0);
    }
    let mut buf = KVec::from_elem(0u8, len, GFP_KERNEL)?;
    shared.hw.mem(|bar2| bar2.read(pos, &mut buf))??;
    Ok(iov.copy_to_iter(&buf))
}

/// `write()` at `pos`: the bytes taken.
pub(crate) fn write(shared: &CardShared, pos: i64, iov: &mut IovIterSource<'_>) -> Result<usize> {
    let (pos, len) = span(pos, iov.len(), shared.hw.bar2_len as usize)?;
    if len == 0 {
        return Err(ENOSPC);
    }
    let mut buf = KVec::from_elem(0u8, len, GFP_KERNEL)?;
    let copied = iov.copy_from_iter(&mut buf);
    shared.hw.mem(|bar2| bar2.write(pos, &buf[..copied]))??;
    Ok(copied)
}

// SPDX-License-Identifier: GPL-2.0
//! pread/pwrite of BAR2 through the kernel's own write-combining mapping
//! (`pci_iomap_wc`): a second path to the card's memory besides the user
//! mapping, so tests can check one against the other.

use crate::chardev::CardFile;
use kernel::{
    fs::Kiocb,
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

pub(crate) fn read(
    mut kiocb: Kiocb<'_, Pin<KBox<CardFile>>>,
    iov: &mut IovIterDest<'_>,
) -> Result<usize> {
    let shared = kiocb.file().shared.clone();
    let (pos, len) = span(kiocb.ki_pos(), iov.len(), shared.bar2_len as usize)?;
    if len == 0 {
        return Ok(0);
    }
    let mut buf = KVec::from_elem(0u8, len, GFP_KERNEL)?;
    shared
        .bar2
        .try_access()
        .ok_or(ENODEV)?
        .read(pos, &mut buf)?;
    let copied = iov.copy_to_iter(&buf);
    *kiocb.ki_pos_mut() += copied as i64;
    Ok(copied)
}

pub(crate) fn write(
    mut kiocb: Kiocb<'_, Pin<KBox<CardFile>>>,
    iov: &mut IovIterSource<'_>,
) -> Result<usize> {
    let shared = kiocb.file().shared.clone();
    let (pos, len) = span(kiocb.ki_pos(), iov.len(), shared.bar2_len as usize)?;
    if len == 0 {
        return Err(ENOSPC);
    }
    let mut buf = KVec::from_elem(0u8, len, GFP_KERNEL)?;
    let copied = iov.copy_from_iter(&mut buf);
    shared
        .bar2
        .try_access()
        .ok_or(ENODEV)?
        .write(pos, &buf[..copied])?;
    *kiocb.ki_pos_mut() += copied as i64;
    Ok(copied)
}

//! DMA_MAP / DMA_UNMAP: decode, validate (flags, range, the fd's type and
//! size) and hand the mapping to the card's DMA space.
//!
//! Checking the fd's size here is what keeps a lying client from planting a
//! SIGBUS: a mapping past the end of a file faults on first touch.

use std::os::fd::OwnedFd;

use rustix::fs::{fstat, FileType};
use vfio_bindings::bindings::vfio::{
    VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, VFIO_DMA_UNMAP_FLAG_ALL,
};

use super::backend::CardBackend;
use super::error::ProtocolError;
use super::wire::{command, BodyReader, BodyWriter};

/// Body size of DMA_MAP: argsz, flags, offset, address, size.
const DMA_MAP_BODY: usize = 32;
/// Body size of DMA_UNMAP: argsz, flags, address, size.
const DMA_UNMAP_BODY: usize = 24;

/// Handles DMA_MAP. A mapping without an fd is accepted but unusable: this
/// card reaches guest memory only through shared fds (no DMA_READ/WRITE),
/// so DMA into it will fault and latch an error on the card.
pub fn map(
    card: &dyn CardBackend,
    body: &[u8],
    mut fds: Vec<OwnedFd>,
) -> Result<(), ProtocolError> {
    let mut reader = BodyReader::new(command::DMA_MAP, body);
    reader.require(DMA_MAP_BODY)?;
    let argsz = reader.u32()?;
    let flags = reader.u32()?;
    let file_offset = reader.u64()?;
    let iova = reader.u64()?;
    let size = reader.u64()?;
    if argsz < DMA_MAP_BODY as u32 {
        return Err(ProtocolError::ArgszTooSmall {
            argsz,
            need: DMA_MAP_BODY as u32,
        });
    }
    let known = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
    if flags & !known != 0 || flags & VFIO_DMA_MAP_FLAG_READ == 0 {
        return Err(ProtocolError::DmaFlags(flags));
    }
    if size == 0 || iova.checked_add(size).is_none() {
        return Err(ProtocolError::DmaRange { iova, size });
    }
    if fds.len() > 1 {
        return Err(ProtocolError::DmaFdCount(fds.len()));
    }
    let Some(fd) = fds.pop() else {
        log::warn!(
            "DMA_MAP {iova:#x}+{size:#x} without an fd: the card cannot reach it \
             (give the guest shared memory: memory-backend-memfd,share=on)"
        );
        return Ok(());
    };
    check_fd_covers(&fd, file_offset, size)?;
    let writable = flags & VFIO_DMA_MAP_FLAG_WRITE != 0;
    card.dma_map(iova, size, fd, file_offset, writable)
        .map_err(ProtocolError::Dma)?;
    log::debug!("DMA_MAP {iova:#x}+{size:#x} at fd offset {file_offset:#x} writable={writable}");
    Ok(())
}

/// The fd must be a regular file (memfd, hugetlbfs, tmpfs) at least
/// `offset + size` bytes long.
fn check_fd_covers(fd: &OwnedFd, offset: u64, size: u64) -> Result<(), ProtocolError> {
    let stat = fstat(fd).map_err(|error| ProtocolError::DmaFd(error.to_string()))?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(ProtocolError::DmaFd("not a regular file".into()));
    }
    let file_size = u64::try_from(stat.st_size).unwrap_or(0);
    match offset.checked_add(size) {
        Some(end) if end <= file_size => Ok(()),
        _ => Err(ProtocolError::DmaFd(format!(
            "offset {offset:#x} + size {size:#x} is beyond the file's {file_size:#x} bytes"
        ))),
    }
}

/// Handles DMA_UNMAP; returns the reply body (the request echoed, as the
/// spec and QEMU expect).
pub fn unmap(card: &dyn CardBackend, body: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    let mut reader = BodyReader::new(command::DMA_UNMAP, body);
    reader.require(DMA_UNMAP_BODY)?;
    let argsz = reader.u32()?;
    let flags = reader.u32()?;
    let iova = reader.u64()?;
    let size = reader.u64()?;
    if argsz < DMA_UNMAP_BODY as u32 {
        return Err(ProtocolError::ArgszTooSmall {
            argsz,
            need: DMA_UNMAP_BODY as u32,
        });
    }
    // Dirty-page bitmaps (migration) are not supported.
    if flags & !VFIO_DMA_UNMAP_FLAG_ALL != 0 {
        return Err(ProtocolError::DmaUnmapFlags(flags));
    }
    if flags & VFIO_DMA_UNMAP_FLAG_ALL != 0 {
        if iova != 0 || size != 0 {
            return Err(ProtocolError::DmaRange { iova, size });
        }
        card.dma_unmap_all();
    } else {
        if size == 0 || iova.checked_add(size).is_none() {
            return Err(ProtocolError::DmaRange { iova, size });
        }
        card.dma_unmap(iova, size).map_err(ProtocolError::Dma)?;
    }
    log::debug!("DMA_UNMAP {iova:#x}+{size:#x} flags {flags:#x}");
    let mut reply = BodyWriter::with_capacity(DMA_UNMAP_BODY);
    reply
        .u32(DMA_UNMAP_BODY as u32)
        .u32(flags)
        .u64(iova)
        .u64(size);
    Ok(reply.0)
}

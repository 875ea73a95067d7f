//! DMA_MAP / DMA_UNMAP: decode, validate (flags, range, the fd's type and
//! size) and hand the mapping to the card's DMA space.
//!
//! Checking the fd here is what keeps a lying client from planting a
//! SIGBUS: a mapping past the end of a file faults on first touch, so the
//! fd must be sealed against shrinking (`F_SEAL_SHRINK`, as QEMU's
//! memory-backend-memfd seals it by default) and large enough once sealed
//! (SPEC §13, [`crate::dma::check_backing`]).

use std::os::fd::{AsFd, OwnedFd};

use vfio_bindings::bindings::vfio::{
    VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, VFIO_DMA_UNMAP_FLAG_ALL,
};

use super::backend::CardBackend;
use super::error::ProtocolError;
use zerocopy::IntoBytes;

use super::bodies::{DmaMap, DmaUnmap};
use super::wire::{command, read_body};
use crate::dma::{check_backing, DmaError};

/// Body size of DMA_MAP: argsz, flags, offset, address, size.
const DMA_MAP_BODY: usize = size_of::<DmaMap>();
/// Body size of DMA_UNMAP: argsz, flags, address, size.
const DMA_UNMAP_BODY: usize = size_of::<DmaUnmap>();

/// Handles DMA_MAP. A mapping without an fd is accepted but unusable: this
/// card reaches guest memory only through shared fds (no DMA_READ/WRITE),
/// so DMA into it will fault and latch an error on the card.
pub fn map(
    card: &dyn CardBackend,
    body: &[u8],
    mut fds: Vec<OwnedFd>,
) -> Result<(), ProtocolError> {
    let (request, _) = read_body::<DmaMap>(command::DMA_MAP, body)?;
    let argsz = request.argsz.get();
    let flags = request.flags.get();
    let file_offset = request.offset.get();
    let iova = request.address.get();
    let size = request.size.get();
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

/// The fd must be a regular file (a memfd, normally), sealed against
/// shrinking, at least `offset + size` bytes long. An fd that could shrink
/// is EINVAL (the request is unacceptable as made), a wrong or short fd EBADF.
fn check_fd_covers(fd: &OwnedFd, offset: u64, size: u64) -> Result<(), ProtocolError> {
    let Some(need) = offset.checked_add(size) else {
        return Err(ProtocolError::DmaFd(format!(
            "offset {offset:#x} + size {size:#x} overflows"
        )));
    };
    match check_backing(fd.as_fd(), need) {
        Ok(()) => Ok(()),
        Err(error @ DmaError::NotSealed { .. }) => {
            Err(ProtocolError::DmaFdNotSealed(error.to_string()))
        }
        Err(DmaError::FdTooSmall { have, .. }) => Err(ProtocolError::DmaFd(format!(
            "offset {offset:#x} + size {size:#x} is beyond the file's {have:#x} bytes"
        ))),
        Err(error) => Err(ProtocolError::DmaFd(error.to_string())),
    }
}

/// Handles DMA_UNMAP; returns the reply body (the request echoed, as the
/// spec and QEMU expect).
pub fn unmap(card: &dyn CardBackend, body: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    let (request, _) = read_body::<DmaUnmap>(command::DMA_UNMAP, body)?;
    let argsz = request.argsz.get();
    let flags = request.flags.get();
    let iova = request.address.get();
    let size = request.size.get();
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
        // May end exactly at 2^64 (QEMU's "everything above" unmaps).
        if size == 0 || iova.checked_add(size - 1).is_none() {
            return Err(ProtocolError::DmaRange { iova, size });
        }
        match card.dma_unmap(iova, size) {
            // QEMU unmaps what it mapped without an fd too (ROM, other
            // devices' BARs): the card never had those, so there is nothing
            // to undo. Refusing them makes QEMU log errors on every boot.
            Err(DmaError::NothingMapped { .. }) => {
                log::debug!("DMA_UNMAP {iova:#x}+{size:#x}: not the card's (mapped without an fd)");
            }
            other => other.map_err(ProtocolError::Dma)?,
        }
    }
    log::debug!("DMA_UNMAP {iova:#x}+{size:#x} flags {flags:#x}");
    let reply = DmaUnmap {
        argsz: (DMA_UNMAP_BODY as u32).into(),
        ..*request
    };
    Ok(reply.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dma::tests::{memfd, unsealed_memfd};
    use rustix::io::Errno;

    /// SPEC §13: an fd that could shrink later is refused with EINVAL and a
    /// message saying what to do; a sealed one is checked for size (EBADF).
    #[test]
    fn unsealed_fds_are_einval_short_ones_ebadf() {
        let error = check_fd_covers(&unsealed_memfd(1 << 20), 0, 4096).unwrap_err();
        assert_eq!(error.errno(), Errno::INVAL.raw_os_error());
        let message = error.to_string();
        assert!(message.contains("F_SEAL_SHRINK"), "{message}");
        assert!(message.contains("memory-backend-memfd"), "{message}");
        let error = check_fd_covers(&memfd(4096), 0, 8192).unwrap_err();
        assert_eq!(error.errno(), Errno::BADF.raw_os_error());
        let error = check_fd_covers(&memfd(4096), u64::MAX, 8192).unwrap_err();
        assert_eq!(error.errno(), Errno::BADF.raw_os_error());
        check_fd_covers(&memfd(8192), 4096, 4096).unwrap();
    }

    fn map_body(iova: u64, size: u64) -> Vec<u8> {
        let request = DmaMap {
            argsz: (DMA_MAP_BODY as u32).into(),
            flags: (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE).into(),
            offset: 0.into(),
            address: iova.into(),
            size: size.into(),
        };
        request.as_bytes().to_vec()
    }

    /// A mapping the card itself refuses reaches the client as EINVAL, and
    /// the server's log as the card's typed reason (`DmaError`), not text.
    #[test]
    fn the_cards_refusal_keeps_its_type() {
        let (port, _irqs) =
            crate::vfio::CardPort::build(crate::model::CardConfig::default()).unwrap();
        map(&*port, &map_body(0x10_0000, 0x4000), vec![memfd(0x4000)]).unwrap();
        let error = map(&*port, &map_body(0x10_2000, 0x4000), vec![memfd(0x4000)]).unwrap_err();
        assert!(
            matches!(
                error,
                ProtocolError::Dma(DmaError::Overlap {
                    iova: 0x10_2000,
                    size: 0x4000
                })
            ),
            "{error:?}"
        );
        assert_eq!(error.errno(), Errno::INVAL.raw_os_error());
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(
            source.as_deref(),
            Some("DMA mapping 0x102000+0x4000 overlaps an existing mapping")
        );
        let error = map(&*port, &map_body(0x20_0800, 0x1000), vec![memfd(0x4000)]).unwrap_err();
        assert!(
            matches!(error, ProtocolError::Dma(DmaError::Unaligned { .. })),
            "{error:?}"
        );
    }
}

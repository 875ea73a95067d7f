//! What the transport needs from the card it serves. The card model
//! implements this in `card_port.rs`; tests can serve a small fake.

use std::os::fd::{BorrowedFd, OwnedFd};

use crate::dma::DmaError;

/// The card as the vfio-user transport sees it. All methods take `&self`:
/// the card's own threads run beside the server loop.
pub trait CardBackend: Send + Sync {
    /// A trapped read of `data.len()` bytes at `offset` of BAR `bar`. The
    /// range has been checked against the BAR's size.
    fn bar_read(&self, bar: u8, offset: u64, data: &mut [u8]);
    /// A trapped write; the range has been checked.
    fn bar_write(&self, bar: u8, offset: u64, data: &[u8]);
    /// Device reset: every register back to its reset value.
    fn reset(&self);
    /// Whether an interrupt cause is pending and enabled (INTx level).
    fn irq_pending(&self) -> bool;
    /// The memfd backing BAR2 (handed to the client for mmap).
    fn bar2_fd(&self) -> BorrowedFd<'_>;
    /// Size of BAR2 in bytes.
    fn bar2_size(&self) -> u64;
    /// Makes `iova..iova+size` reachable by DMA through `fd` at `file_offset`.
    /// The transport has checked the range and the fd's size; the card
    /// may still refuse (alignment, overlap, too many mappings).
    fn dma_map(
        &self,
        iova: u64,
        size: u64,
        fd: OwnedFd,
        file_offset: u64,
        writable: bool,
    ) -> Result<(), DmaError>;
    /// Takes `iova..iova+size` away at once.
    fn dma_unmap(&self, iova: u64, size: u64) -> Result<(), DmaError>;
    /// Takes every mapping away (DMA_UNMAP with the ALL flag, disconnect).
    fn dma_unmap_all(&self);
}

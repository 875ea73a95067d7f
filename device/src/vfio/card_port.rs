//! The card model behind the transport: [`CardBackend`] for the model's
//! `Card` and `DmaSpace`, and [`IrqSink`] for the eventfd table.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::Arc;

use crate::dma::{DmaError, DmaSpace};
use crate::model::{Card, CardConfig, IrqSink};

use super::backend::CardBackend;
use super::irq::IrqTable;

impl IrqSink for IrqTable {
    fn raise(&self, vector: u16) {
        IrqTable::raise(self, vector);
    }
}

/// The card and the DMA space it reaches guest memory through.
pub struct CardPort {
    card: Card,
    dma: Arc<DmaSpace>,
}

impl CardPort {
    /// Builds a card from `config`, wired to a fresh DMA space and to an
    /// interrupt table the server then delivers through.
    pub fn build(config: CardConfig) -> io::Result<(Arc<CardPort>, Arc<IrqTable>)> {
        let dma = Arc::new(DmaSpace::new());
        let irqs = Arc::new(IrqTable::new(cardless_abi::regs::MSIX_VECTORS));
        let card = Card::new(config, dma.clone(), irqs.clone())?;
        Ok((Arc::new(CardPort { card, dma }), irqs))
    }

    pub fn card(&self) -> &Card {
        &self.card
    }

    pub fn dma(&self) -> &Arc<DmaSpace> {
        &self.dma
    }
}

impl CardBackend for CardPort {
    fn bar_read(&self, bar: u8, offset: u64, data: &mut [u8]) {
        self.card.bar_read(bar, offset, data);
    }

    fn bar_write(&self, bar: u8, offset: u64, data: &[u8]) {
        self.card.bar_write(bar, offset, data);
    }

    fn reset(&self) {
        self.card.reset();
    }

    fn irq_pending(&self) -> bool {
        self.card.irq_pending()
    }

    fn bar2_fd(&self) -> BorrowedFd<'_> {
        self.card.bar2().fd()
    }

    fn bar2_size(&self) -> u64 {
        self.card.bar2().size()
    }

    fn dma_map(
        &self,
        iova: u64,
        size: u64,
        fd: OwnedFd,
        file_offset: u64,
        writable: bool,
    ) -> Result<(), DmaError> {
        // Through the card, so the trace records it (SPEC §15.1).
        self.card.dma_map(iova, size, fd, file_offset, writable)
    }

    fn dma_unmap(&self, iova: u64, size: u64) -> Result<(), DmaError> {
        self.card.dma_unmap(iova, size)
    }

    fn dma_unmap_all(&self) {
        self.card.dma_unmap_all();
    }
}

// SPDX-License-Identifier: GPL-2.0
//! The status block (SPEC §5.3): 64 bytes of coherent memory the card writes
//! after every batch of records and before it raises DATA_READY, OVERFLOW or
//! ERROR. The hot path reads it instead of registers, as the ABI's
//! `StatusBlock`.

use super::record::{StatusBlock, STATUS_BLOCK_SIZE};
use crate::ffi::dma::CoherentMem;
use kernel::{device, prelude::*};

pub(crate) struct StatusMem(CoherentMem);

impl StatusMem {
    pub(crate) fn alloc(dev: &device::Device<device::Bound>) -> Result<Self> {
        Ok(StatusMem(CoherentMem::alloc(
            dev,
            STATUS_BLOCK_SIZE,
            GFP_KERNEL,
        )?))
    }

    /// Where the card writes it (STATUS_ADDR).
    pub(crate) fn dma_addr(&self) -> u64 {
        self.0.dma_handle()
    }

    /// Zeroes it: a new stream must not see the last one's producer index.
    pub(crate) fn clear(&self) {
        self.0.write(0, &StatusBlock::default().to_bytes());
    }

    /// What the card last wrote.
    pub(crate) fn read(&self) -> StatusBlock {
        let mut bytes = [0u8; STATUS_BLOCK_SIZE];
        self.0.read(0, &mut bytes);
        StatusBlock::from_bytes(&bytes)
    }
}

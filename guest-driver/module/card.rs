// SPDX-License-Identifier: GPL-2.0
//! What a card's open files share with its driver binding: the hardware,
//! the binding, the stream, the copy engine, the buffers. Files may outlive
//! the binding (unbind, hot-unplug): everything that touches hardware is
//! revoked at unbind, and user mappings are zapped then.

use crate::buffer::Buffers;
use crate::copy::CopyEngine;
use crate::ffi::{binding::Binding, pci, pci::WcBar};
use crate::hw::{engine, regs, status::StatusMem, Hw, BAR0_SIZE};
use crate::stream::Streaming;
use kernel::{
    device, pci as kpci,
    prelude::*,
    sync::{atomic::Atomic, atomic::Relaxed, Arc},
};

#[pin_data]
pub(crate) struct CardShared {
    /// N of /dev/cardlessN.
    pub(crate) index: u32,
    pub(crate) pci_location: u32,
    pub(crate) hw: Hw,
    /// Whether the card is still bound; its open files' address spaces.
    pub(crate) binding: Arc<Binding>,
    pub(crate) irq_mode: Atomic<u32>,
    pub(crate) irq_vectors: Atomic<u32>,
    /// Interrupts handled per cause (INT_STATUS bit order).
    pub(crate) irq_counts: [Atomic<u64>; 4],
    /// 1 when the hard handler saw an ERROR the interrupt thread has not
    /// looked at yet.
    pub(crate) error_pending: Atomic<u32>,
    #[pin]
    pub(crate) stream: Streaming,
    #[pin]
    pub(crate) copy: CopyEngine,
    pub(crate) buffers: Arc<Buffers>,
}

impl CardShared {
    pub(crate) fn new(
        pdev: &kpci::Device<device::Bound>,
        index: u32,
        bar0: kpci::Bar<'_, BAR0_SIZE>,
        bar2: WcBar,
    ) -> Result<Arc<Self>> {
        let hw = Hw::new(pdev, bar0, bar2)?;
        let status = StatusMem::alloc(pdev.as_ref())?;
        let binding = Binding::new(pdev.as_ref())?;
        let buffers = Arc::pin_init(Buffers::new(), GFP_KERNEL)?;
        Arc::pin_init(
            try_pin_init!(CardShared {
                index,
                pci_location: pci::location(pdev),
                hw,
                binding,
                irq_mode: Atomic::new(0),
                irq_vectors: Atomic::new(0),
                irq_counts: [Atomic::new(0), Atomic::new(0), Atomic::new(0), Atomic::new(0)],
                error_pending: Atomic::new(0),
                stream <- Streaming::new(status),
                copy <- CopyEngine::new(),
                buffers,
            }),
            GFP_KERNEL,
        )
    }

    /// Unbind, after the card was quieted: no new mapping from now on, every
    /// existing user mapping of the card loses its pages (a later touch gets
    /// SIGBUS), the stream lets its buffer go, and every DMA mapping and
    /// coherent allocation is released while the device is still bound.
    pub(crate) fn unbind(&self) {
        self.hw.going_away();
        self.binding.unbind();
        self.stream.drop_stream();
        self.buffers.revoke_all();
        self.stream.drop_status_block();
        self.stream.wake_waiters();
    }

    /// Notes (and logs once per new code) the error the card latched
    /// (SPEC §10): its engine stopped, and STREAM_WAIT now answers EIO.
    pub(crate) fn note_card_error(&self) {
        let Ok((code, addr)) = self.hw.regs(engine::error) else {
            return;
        };
        if code == 0 || code == u32::MAX || !self.stream.latch_error(code) {
            return;
        }
        let name = regs::error_name(code).unwrap_or("an unknown error");
        dev_warn!(
            self.binding.device(),
            "cardless{}: the card reports {} (code {}) at {:#x}; its engine stopped (STREAM_WAIT answers EIO until the stream is restarted)\n",
            self.index,
            name,
            code,
            addr
        );
    }

    pub(crate) fn count_irq(&self, causes: u32) {
        for (bit, counter) in self.irq_counts.iter().enumerate() {
            if causes & (1 << bit) != 0 {
                counter.fetch_add(1, Relaxed);
            }
        }
    }
}

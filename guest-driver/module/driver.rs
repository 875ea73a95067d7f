// SPDX-License-Identifier: GPL-2.0
//! The PCI driver: probe brings a card up (BARs, DMA mask, interrupts, device
//! node), unbind quiets it before anything it may touch is released.

use crate::card::{CardShared, BAR0_SIZE};
use crate::chardev::{CardNode, MAX_CARDS};
use crate::ffi::{self, dma_mem, IrqLine, WcBar};
use crate::hw::regs;
use crate::irq::CardIrq;
use crate::uapi;
use kernel::sync::Arc;
use kernel::{
    device::Core,
    io::Io,
    pci,
    prelude::*,
    sync::atomic::{Atomic, Full, Relaxed},
};

/// Card indices in use (bit N: /dev/cardlessN).
static USED_INDICES: Atomic<u32> = Atomic::new(0);

/// A card index, released on drop.
pub(crate) struct CardIndex(u32);

impl CardIndex {
    fn alloc() -> Result<Self> {
        loop {
            let used = USED_INDICES.load(Relaxed);
            let free = (!used).trailing_zeros();
            if free >= MAX_CARDS {
                return Err(EBUSY);
            }
            if USED_INDICES.cmpxchg(used, used | (1 << free), Full).is_ok() {
                return Ok(CardIndex(free));
            }
        }
    }
}

impl Drop for CardIndex {
    fn drop(&mut self) {
        loop {
            let used = USED_INDICES.load(Relaxed);
            if USED_INDICES
                .cmpxchg(used, used & !(1 << self.0), Full)
                .is_ok()
            {
                return;
            }
        }
    }
}

#[pin_data(PinnedDrop)]
pub(crate) struct CardData<'bound> {
    pdev: &'bound pci::Device,
    /// First field: dropped (deregistered) first, so no new open races teardown.
    #[pin]
    node: CardNode,
    irqs: KVec<IrqLine>,
    shared: Arc<CardShared>,
    _index: CardIndex,
}

pub(crate) struct CardlessDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    MODULE_PCI_TABLE,
    <CardlessDriver as pci::Driver>::IdInfo,
    [(
        ffi::pci_device_id(regs::PCI_VENDOR_ID, regs::PCI_DEVICE_ID),
        ()
    )]
);

/// Requests one interrupt line per allocated vector: with MSI-X, vector N
/// carries cause bit N (SPEC §7.1); otherwise the single vector carries all.
fn request_irqs(
    pdev: &pci::Device<kernel::device::Bound>,
    shared: &Arc<CardShared>,
) -> Result<KVec<IrqLine>> {
    pdev.alloc_irq_vectors(1, regs::MSIX_VECTORS as u32, pci::IrqTypes::all())?;
    let mode = ffi::irq_mode(pdev);
    let mut lines = KVec::new();
    for vector in 0..regs::MSIX_VECTORS as u32 {
        let Some(irq) = IrqLine::vector_irq(pdev, vector) else {
            break;
        };
        let cause = (mode == uapi::IRQ_MODE_MSIX).then_some(1 << vector);
        let handler = Arc::new(
            CardIrq {
                shared: shared.clone(),
                cause,
            },
            GFP_KERNEL,
        )?;
        lines.push(
            IrqLine::request(irq, mode == uapi::IRQ_MODE_INTX, handler, c"cardless")?,
            GFP_KERNEL,
        )?;
        if cause.is_none() {
            break;
        }
    }
    shared.irq_mode.store(mode, Relaxed);
    shared.irq_vectors.store(lines.len() as u32, Relaxed);
    Ok(lines)
}

impl CardlessDriver {
    /// Everything probe does before the driver data is pinned in place.
    fn bring_up<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
    ) -> Result<impl PinInit<CardData<'bound>, Error> + 'bound> {
        pdev.enable_device_mem()?;
        pdev.set_master();
        dma_mem::set_dma_mask_64(pdev)?;
        let bar0 = pdev.iomap_region_sized::<BAR0_SIZE>(0, c"cardless")?;
        let id = bar0.read32(regs::ID as usize);
        if id != regs::ID_VALUE {
            dev_err!(
                pdev,
                "ID register reads {:#x}, expected {:#x}: not a cardless card (or it is gone)\n",
                id,
                regs::ID_VALUE
            );
            return Err(ENODEV);
        }
        let version = bar0.read32(regs::VERSION as usize);
        // Start from a known state: engine stopped, every register at reset value.
        bar0.write32(regs::CTRL_RESET, regs::CONTROL as usize);
        let bar2 = WcBar::new(pdev, regs::BAR_MEM as u32, c"cardless")?;
        let index = CardIndex::alloc()?;
        let shared = CardShared::new(pdev, index.0, bar0, bar2)?;
        let irqs = request_irqs(pdev, &shared)?;
        shared.write_reg(regs::INT_MASK, regs::INT_ALL)?;
        dev_info!(
            pdev,
            "cardless{}: card version {:#x}, BAR2 {} KiB, {} interrupt vector(s) ({})\n",
            index.0,
            version,
            shared.bar2_len / 1024,
            irqs.len(),
            ["INTx", "MSI", "MSI-X"][shared.irq_mode.load(Relaxed) as usize % 3]
        );
        let pdev: &'bound pci::Device = pdev;
        Ok(try_pin_init!(CardData {
            pdev,
            node <- CardNode::new(shared.clone()),
            irqs,
            shared,
            _index: index,
        }))
    }
}

impl pci::Driver for CardlessDriver {
    type IdInfo = ();
    type Data<'bound> = CardData<'bound>;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pin_init::pin_init_scope(move || Self::bring_up(pdev))
    }

    fn unbind<'bound>(_pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        // Quiet the card first: no more DMA, no more interrupts.
        let _ = this.shared.write_reg(regs::INT_MASK, 0);
        let _ = this.shared.write_reg(regs::CONTROL, regs::CTRL_RESET);
        // Then take the card away from user space: mappings lose their pages,
        // open files see ENODEV from now on.
        this.shared.unbind();
    }
}

#[pinned_drop]
impl PinnedDrop for CardData<'_> {
    fn drop(self: Pin<&mut Self>) {
        dev_info!(self.pdev, "cardless{}: released\n", self.shared.index);
    }
}

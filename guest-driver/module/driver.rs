// SPDX-License-Identifier: GPL-2.0
//! The PCI driver: probe brings a card up (BARs, DMA mask, interrupts, device
//! node), unbind quiets it before anything it may touch is released.

use crate::card::CardShared;
use crate::chardev::{CardNode, MAX_CARDS};
use crate::ffi::{
    irq::{vector_irq, IrqLine},
    pci::{self, IrqMode, WcBar},
};
use crate::hw::bar0::{ID, VERSION};
use crate::hw::{engine, interrupts, regs, BAR0_SIZE};
use crate::irq::CardIrq;
use crate::uapi;
use kernel::sync::{aref::ARef, Arc};
use kernel::{
    device::Core,
    io::Io,
    pci as kpci,
    prelude::*,
    sync::atomic::{Atomic, Full, Relaxed},
};

/// Card indices in use (bit N: /dev/cardlessN).
static USED_INDICES: Atomic<u32> = Atomic::new(0);

/// A card index, released (and the card said released) on drop.
pub(crate) struct CardIndex(u32, ARef<kpci::Device>);

impl CardIndex {
    fn alloc(pdev: &kpci::Device<Core<'_>>) -> Result<Self> {
        loop {
            let used = USED_INDICES.load(Relaxed);
            let free = (!used).trailing_zeros();
            if free >= MAX_CARDS {
                return Err(EBUSY);
            }
            if USED_INDICES.cmpxchg(used, used | (1 << free), Full).is_ok() {
                let pdev: &kpci::Device = pdev;
                return Ok(CardIndex(free, pdev.into()));
            }
        }
    }
}

impl Drop for CardIndex {
    fn drop(&mut self) {
        dev_info!(self.1, "cardless{}: released\n", self.0);
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

#[pin_data]
pub(crate) struct CardData {
    /// First field: dropped (deregistered) first, so no new open races teardown.
    #[pin]
    node: CardNode,
    irqs: KVec<IrqLine<CardIrq>>,
    shared: Arc<CardShared>,
    /// Last: says the card is released once the rest is gone.
    _index: CardIndex,
}

pub(crate) struct CardlessDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    MODULE_PCI_TABLE,
    <CardlessDriver as kpci::Driver>::IdInfo,
    [(pci::device_id(regs::PCI_VENDOR_ID, regs::PCI_DEVICE_ID), ())]
);

/// The uapi's name for an interrupt mode.
fn uapi_irq_mode(mode: IrqMode) -> u32 {
    match mode {
        IrqMode::Intx => uapi::IRQ_MODE_INTX,
        IrqMode::Msi => uapi::IRQ_MODE_MSI,
        IrqMode::Msix => uapi::IRQ_MODE_MSIX,
    }
}

/// Requests one interrupt line per allocated vector: with MSI-X, vector N
/// carries cause bit N (SPEC §7.1); otherwise the single vector carries all.
fn request_irqs(
    pdev: &kpci::Device<kernel::device::Bound>,
    shared: &Arc<CardShared>,
) -> Result<KVec<IrqLine<CardIrq>>> {
    pdev.alloc_irq_vectors(1, u32::from(regs::MSIX_VECTORS), kpci::IrqTypes::all())?;
    let mode = pci::irq_mode(pdev);
    let mut lines = KVec::new();
    for vector in 0..u32::from(regs::MSIX_VECTORS) {
        let Some(irq) = vector_irq(pdev, vector) else {
            break;
        };
        let cause = (mode == IrqMode::Msix).then_some(1 << vector);
        let handler = Arc::new(
            CardIrq {
                shared: shared.clone(),
                cause,
            },
            GFP_KERNEL,
        )?;
        lines.push(
            IrqLine::request(irq, mode == IrqMode::Intx, handler, c"cardless")?,
            GFP_KERNEL,
        )?;
        if cause.is_none() {
            break;
        }
    }
    shared.irq_mode.store(uapi_irq_mode(mode), Relaxed);
    shared.irq_vectors.store(lines.len() as u32, Relaxed);
    Ok(lines)
}

impl CardlessDriver {
    /// Everything probe does before the driver data is pinned in place.
    fn bring_up<'bound>(
        pdev: &'bound kpci::Device<Core<'_>>,
    ) -> Result<impl PinInit<CardData, Error> + 'bound> {
        pdev.enable_device_mem()?;
        pdev.set_master();
        pci::set_dma_limits(pdev)?;
        let bar0 = pdev.iomap_region_sized::<BAR0_SIZE>(0, c"cardless")?;
        let id = bar0.read(ID).into_raw();
        if id != regs::ID_VALUE {
            dev_err!(
                pdev,
                "ID register reads {:#x}, expected {:#x}: not a cardless card (or it is gone)\n",
                id,
                regs::ID_VALUE
            );
            return Err(ENODEV);
        }
        let version = bar0.read(VERSION).into_raw();
        // Start from a known state: engine stopped, every register at reset value.
        engine::reset_card(&bar0);
        let bar2 = WcBar::new(pdev, u32::from(regs::BAR_MEM), c"cardless")?;
        let index = CardIndex::alloc(pdev)?;
        let shared = CardShared::new(pdev, index.0, bar0, bar2)?;
        let irqs = request_irqs(pdev, &shared)?;
        shared
            .hw
            .regs(|bar| interrupts::set_mask(bar, regs::INT_ALL))?;
        dev_info!(
            pdev,
            "cardless{}: card version {:#x}, BAR2 {} KiB, {} interrupt vector(s) ({})\n",
            index.0,
            version,
            shared.hw.bar2_len / 1024,
            irqs.len(),
            ["INTx", "MSI", "MSI-X"][shared.irq_mode.load(Relaxed) as usize % 3]
        );
        Ok(try_pin_init!(CardData {
            node <- crate::chardev::node(shared.clone()),
            irqs,
            shared,
            _index: index,
        }))
    }
}

impl kpci::Driver for CardlessDriver {
    type IdInfo = ();
    type Data<'bound> = CardData;

    const ID_TABLE: kpci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound kpci::Device<Core<'_>>,
        _info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pin_init::pin_init_scope(move || Self::bring_up(pdev))
    }

    fn unbind<'bound>(_pdev: &'bound kpci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        // Quiet the card first: no more DMA, no more interrupts.
        let _ = this.shared.hw.regs(|bar| {
            interrupts::set_mask(bar, 0);
            engine::reset_card(bar);
        });
        // Then take the card away from user space: mappings lose their pages,
        // open files see ENODEV from now on.
        this.shared.unbind();
    }
}

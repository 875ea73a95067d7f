// SPDX-License-Identifier: GPL-2.0
//! Driver for the cardless streaming card (see `device/SPEC.md`).

use kernel::{device::Core, io::Io, pci, prelude::*};

/// The card's hardware interface, shared with the device and the tools.
#[path = "../../device/abi/src/regs.rs"]
mod regs;

type Bar0<'bound> = pci::Bar<'bound, { regs::BAR0_SIZE as usize }>;

struct CardData<'bound> {
    pdev: &'bound pci::Device,
    bar0: Bar0<'bound>,
}

struct CardlessDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    MODULE_PCI_TABLE,
    <CardlessDriver as pci::Driver>::IdInfo,
    [(
        pci::DeviceId::from_id(
            pci::Vendor::from_raw(regs::PCI_VENDOR_ID),
            regs::PCI_DEVICE_ID as u32
        ),
        ()
    )]
);

impl pci::Driver for CardlessDriver {
    type IdInfo = ();
    type Data<'bound> = CardData<'bound>;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pdev.enable_device_mem()?;
        pdev.set_master();
        let bar0 = pdev.iomap_region_sized::<{ regs::BAR0_SIZE as usize }>(0, c"cardless")?;
        let id = bar0.read32(regs::ID as usize);
        if id != regs::ID_VALUE {
            dev_err!(
                pdev,
                "ID register reads {:#x}, expected {:#x}: not a cardless card\n",
                id,
                regs::ID_VALUE
            );
            return Err(ENODEV);
        }
        dev_info!(
            pdev,
            "cardless card bound, version {:#x}\n",
            bar0.read32(regs::VERSION as usize)
        );
        Ok(CardData { pdev, bar0 })
    }
}

impl Drop for CardData<'_> {
    fn drop(&mut self) {
        dev_info!(self.pdev, "cardless card released\n");
        let _ = &self.bar0;
    }
}

kernel::module_pci_driver! {
    type: CardlessDriver,
    name: "cardless",
    authors: ["cardless developers"],
    description: "Driver for the cardless streaming card",
    license: "GPL v2",
}

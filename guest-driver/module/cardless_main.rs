// SPDX-License-Identifier: GPL-2.0
//! Driver for the cardless streaming card (spec: `device/SPEC.md`).
//!
//! One file per job: `driver` (probe/unbind), `card` (state shared with open
//! files), `irq`, `chardev` (/dev/cardlessN), `ioctl`, `mmap_bar` (BARs into
//! user space), `bar2_rw` (pread/pwrite of BAR2), and `ffi`, the only module with `unsafe` code.

mod bar2_rw;
mod card;
mod chardev;
mod driver;
mod ffi;
mod hw;
mod ioctl;
mod irq;
mod mmap_bar;
mod uapi;

kernel::module_pci_driver! {
    type: driver::CardlessDriver,
    name: "cardless",
    authors: ["cardless developers"],
    description: "Driver for the cardless streaming card",
    license: "GPL v2",
}

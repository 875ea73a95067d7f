// SPDX-License-Identifier: GPL-2.0
//! Driver for the cardless streaming card (spec: `device/SPEC.md`).
//!
//! One file per job: `driver` (probe/unbind), `card` (state shared with open
//! files), `irq`, `chardev` (/dev/cardlessN), `ioctl`, `mmap_bar` (BARs into
//! user space), `bar2_rw` (pread/pwrite of BAR2), `buffer` (DMA buffers,
//! one strategy each), `mmap_buf` (buffers into user space), `stream`, and `ffi`, the only module with `unsafe` code.
//! `zoo` (classic bugs on purpose) exists only in the test build (`--cfg cardless_zoo`).

mod bar2_rw;
mod buffer;
mod card;
mod chardev;
mod copy;
mod driver;
mod ffi;
mod hw;
mod ioctl;
mod irq;
mod mmap_bar;
mod mmap_buf;
mod stream;
mod uapi;
#[cfg(cardless_zoo)]
mod zoo;

kernel::module_pci_driver! {
    type: driver::CardlessDriver,
    name: "cardless",
    authors: ["cardless developers"],
    description: "Driver for the cardless streaming card",
    license: "GPL v2",
    params: {
        carveout_base: u64 {
            default: 0,
            description: "Physical base of a RAM carve-out reserved with memmap=SIZE$BASE (the carveout strategy)",
        },
        carveout_size: u64 {
            default: 0,
            description: "Size of that carve-out in bytes (0: no carveout strategy)",
        },
        unbacked_base: u64 {
            default: 0,
            description: "A physical address nothing backs, mappable read-only to show it reads 0xff (0: off)",
        },
    },
}

/// The carve-out given on the command line (`cardless.carveout_base/size`).
pub(crate) fn carveout() -> (u64, u64) {
    (
        *module_parameters::carveout_base.value(),
        *module_parameters::carveout_size.value(),
    )
}

/// The physical address of the "nothing backs it" page (`cardless.unbacked_base`).
pub(crate) fn unbacked_base() -> u64 {
    *module_parameters::unbacked_base.value() & !(kernel::page::PAGE_SIZE as u64 - 1)
}

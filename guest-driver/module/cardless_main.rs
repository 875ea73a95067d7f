// SPDX-License-Identifier: GPL-2.0
//! Driver for the cardless streaming card (spec: `device/SPEC.md`).
//!
//! In layers, each importing only from the ones below it (a host test,
//! `cargo test -p cardless-uapi --test module_layers`, fails on a circle):
//!
//! - `ffi`: the only `unsafe` code, safe wrappers of kernel calls the
//!   `kernel` crate lacks; knows nothing of the driver
//! - `uapi`, `hw`: the user-space ABI and the card's hardware interface
//!   (typed registers checked against the ABI, BARs, status block)
//! - `ways`: one file per way of backing and mapping a DMA buffer; `zoo`:
//!   the wrong ways and classic bugs (test build only, `--cfg cardless_zoo`)
//! - `buffer`, `stream`, `copy`: DMA buffers, streaming, the copy engine
//! - `card`: what a card's open files share with its binding; `irq`
//! - `file`, `ioctl`, `mmap_buf`, `mmap_bar`, `bar2_rw`, `chardev`: the
//!   device node and its file operations
//! - `driver`: probe and unbind
#![deny(unsafe_code)]

mod bar2_rw;
mod buffer;
mod card;
mod chardev;
mod copy;
mod driver;
#[allow(unsafe_code)]
mod ffi;
mod file;
mod hw;
mod ioctl;
mod irq;
mod mmap_bar;
mod mmap_buf;
mod stream;
mod uapi;
mod ways;
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

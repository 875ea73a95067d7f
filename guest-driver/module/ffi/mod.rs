// SPDX-License-Identifier: GPL-2.0
//! The driver's only `unsafe` code: small safe wrappers around kernel calls
//! the `kernel` crate (7.2) has no abstraction for yet. The crate root denies
//! `unsafe_code` everywhere else.
//!
//! Every file here knows the `kernel` crate and nothing of the driver: each
//! SAFETY argument rests on what the wrapper itself checks or owns, never on
//! an invariant kept in a driver file. Static inlines and macros are reached
//! through the one-line C wrappers of `helpers.c` (declared in `c_helpers`).
//!
//! - `pci`: a BAR mapped write-combining, PCI facts, the DMA mask
//! - `irq`: one interrupt line per vector, with a hard handler and a thread
//! - `misc`: a device node whose open files reach the node's shared state
//! - `binding`: whether a device is still bound, and its files' address
//!   spaces (so unbind can zap every user mapping)
//! - `vma`: user mappings: PFN ranges with a caching mode, pages, vm_ops
//! - `mem`: memory the `kernel` crate cannot allocate: high-order, vmalloc
//! - `dma`: coherent memory, streaming DMA mappings of pages and of a
//!   physical range
//! - `abi`: the ioctl argument structs as plain bytes

pub(crate) mod abi;
pub(crate) mod binding;
mod c_helpers;
pub(crate) mod dma;
pub(crate) mod irq;
pub(crate) mod mem;
pub(crate) mod misc;
pub(crate) mod pci;
pub(crate) mod vma;

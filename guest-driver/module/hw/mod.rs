// SPDX-License-Identifier: GPL-2.0
//! The hardware layer: the card as the driver reaches it, below the driver's
//! state. The register map and DMA formats are the same source files the
//! card model and the guest tools compile (`device/abi`), never a copy; the
//! typed registers are checked against them at build time.
//!
//! - `bar0`: the registers as types (`register!`)
//! - `bars`: BAR0 and BAR2 of a bound card, revocable at unbind; one guard
//!   per operation
//! - `engine`: the streaming engine's registers (SPEC §6, §10)
//! - `copy_engine`: the copy engine's registers (SPEC §11)
//! - `interrupts`: cause mask and acknowledge (SPEC §7)
//! - `status`: the status block the card writes to memory (SPEC §5.3)

#[allow(unreachable_pub)]
#[path = "../../../device/abi/src/regs.rs"]
pub(crate) mod regs;

#[allow(unreachable_pub)]
#[path = "../../../device/abi/src/record.rs"]
pub(crate) mod record;

pub(crate) mod bar0;
pub(crate) mod bars;
pub(crate) mod copy_engine;
pub(crate) mod engine;
pub(crate) mod interrupts;
pub(crate) mod status;

pub(crate) use bar0::BAR0_SIZE;
pub(crate) use bars::Hw;

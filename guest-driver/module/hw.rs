// SPDX-License-Identifier: GPL-2.0
//! The card's hardware interface: the same source files the device model and
//! the guest tools compile (`device/abi`), never a copy.

#[allow(unreachable_pub)]
#[path = "../../device/abi/src/regs.rs"]
pub(crate) mod regs;

#[allow(unreachable_pub)]
#[path = "../../device/abi/src/record.rs"]
pub(crate) mod record;

// SPDX-License-Identifier: GPL-2.0
//! Interrupt causes (SPEC §7): which may signal, which are pending, and the
//! acknowledge (write 1 to clear exactly the causes handled).

use super::bar0::*;
use kernel::io::Io;

/// Lets the causes in `causes` (`regs::INT_*` bits) signal; the others not.
pub(crate) fn set_mask(bar: &Bar0, causes: u32) {
    bar.write_reg(INT_MASK::from_raw(causes));
}

/// The latched causes (0: none, as on a shared line that was not us;
/// all-ones: the card is gone).
pub(crate) fn pending(bar: &Bar0) -> u32 {
    bar.read(INT_STATUS).into_raw()
}

/// Clears exactly `causes` (W1C).
pub(crate) fn acknowledge(bar: &Bar0, causes: u32) {
    bar.write_reg(INT_STATUS::from_raw(causes));
}

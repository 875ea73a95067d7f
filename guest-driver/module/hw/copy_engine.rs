// SPDX-License-Identifier: GPL-2.0
//! The copy engine's registers (SPEC §11): one command between BAR2 and host
//! memory, synchronous on the card.

use super::bar0::*;
use kernel::io::Io;

/// One copy command: `op` (`regs::COPY_OP_*`) of `len` bytes between BAR2 at
/// `bar_offset` and host memory at the DMA address `host`. Returns
/// COPY_STATUS (0: done; else the `ERR_*` code): the card finishes the copy
/// before it answers the doorbell, and the status read is ordered after it.
pub(crate) fn run(bar: &Bar0, op: u32, bar_offset: u32, len: u32, host: u64) -> u32 {
    bar.write_reg(COPY_BAR_OFF::from_raw(bar_offset));
    bar.write_reg(COPY_LEN::from_raw(len));
    write_pair::<COPY_HOST_LO, COPY_HOST_HI>(bar, host);
    bar.write_reg(COPY_CTRL::from_raw(op));
    bar.read(COPY_STATUS).into_raw()
}

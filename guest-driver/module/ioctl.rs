// SPDX-License-Identifier: GPL-2.0
//! The ioctls of `/dev/cardlessN` (ABI: `guest-driver/uapi/src/ioctl.rs`).
//! Every argument is copied in and validated before use; unknown numbers get
//! ENOTTY, a bad pointer EFAULT, a bad value EINVAL, an unbound card ENODEV.

use crate::card::{CardShared, BAR0_SIZE};
use crate::hw::regs;
use crate::uapi;
use kernel::{
    prelude::*,
    sync::atomic::Relaxed,
    transmute::{AsBytes, FromBytes},
    uaccess::{UserPtr, UserSlice},
};

fn read_arg<T: FromBytes>(arg: usize) -> Result<T> {
    UserSlice::new(UserPtr::from_addr(arg), core::mem::size_of::<T>())
        .reader()
        .read::<T>()
}

fn write_arg<T: AsBytes>(arg: usize, value: &T) -> Result<isize> {
    UserSlice::new(UserPtr::from_addr(arg), core::mem::size_of::<T>())
        .writer()
        .write(value)?;
    Ok(0)
}

/// A register offset user space may touch: 4-byte aligned, inside BAR0.
fn checked_reg_offset(offset: u32) -> Result<u64> {
    if offset % 4 != 0 || offset as usize + 4 > BAR0_SIZE {
        return Err(EINVAL);
    }
    Ok(offset as u64)
}

fn card_info(shared: &CardShared) -> Result<uapi::CardInfo> {
    Ok(uapi::CardInfo {
        index: shared.index,
        pci_location: shared.pci_location,
        irq_mode: shared.irq_mode.load(Relaxed),
        irq_vectors: shared.irq_vectors.load(Relaxed),
        features: shared.read_reg(regs::FEATURES)?,
        _reserved: 0,
        bar0_size: shared.bar0_len,
        bar2_size: shared.bar2_len,
        irq_counts: [
            shared.irq_counts[0].load(Relaxed),
            shared.irq_counts[1].load(Relaxed),
            shared.irq_counts[2].load(Relaxed),
            shared.irq_counts[3].load(Relaxed),
        ],
    })
}

pub(crate) fn dispatch(shared: &CardShared, cmd: u32, arg: usize) -> Result<isize> {
    match cmd {
        uapi::IOC_VERSION => {
            let version = uapi::Version {
                uapi: uapi::UAPI_VERSION,
                card_id: shared.read_reg(regs::ID)?,
                card_version: shared.read_reg(regs::VERSION)?,
                _reserved: 0,
            };
            write_arg(arg, &version)
        }
        uapi::IOC_CARD_INFO => write_arg(arg, &card_info(shared)?),
        uapi::IOC_REG_READ => {
            let mut access: uapi::RegAccess = read_arg(arg)?;
            access.value = shared.read_reg(checked_reg_offset(access.offset)?)?;
            write_arg(arg, &access)
        }
        uapi::IOC_REG_WRITE => {
            let access: uapi::RegAccess = read_arg(arg)?;
            shared.write_reg(checked_reg_offset(access.offset)?, access.value)?;
            Ok(0)
        }
        uapi::IOC_RESET => {
            shared.write_reg(regs::CONTROL, regs::CTRL_RESET)?;
            // Reset masks every cause (SPEC §9); the driver wants them all.
            shared.write_reg(regs::INT_MASK, regs::INT_ALL)?;
            Ok(0)
        }
        _ => Err(ENOTTY),
    }
}

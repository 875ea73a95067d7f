// SPDX-License-Identifier: GPL-2.0
//! The ioctls of `/dev/cardlessN` (ABI: `guest-driver/uapi/src/ioctl.rs`).
//! Every argument is copied in and validated before use; unknown numbers get
//! ENOTTY, a bad pointer EFAULT, a bad value EINVAL, an unbound card ENODEV.

use crate::buffer::Buffer;
use crate::card::CardShared;
use crate::file::CardFile;
use crate::hw::{bar0, regs, BAR0_SIZE};
use crate::stream;
use crate::uapi;
use kernel::{
    io::Io,
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
    Ok(u64::from(offset))
}

/// Registers a debugging write may touch: none that programs a DMA address
/// or starts DMA, since the card would then write wherever the value points
/// (without an IOMMU, any guest memory). The ring, status block and copy
/// engine's host side belong to the driver.
fn user_may_write(offset: u64, value: u32) -> bool {
    match offset {
        regs::SCRATCH
        | regs::INT_STATUS
        | regs::ERROR_CODE
        | regs::COPY_BAR_OFF
        | regs::COPY_LEN => true,
        // Only move a running stream along, into the ring the driver handed
        // the card (a deterministic card advances on nothing else).
        regs::STEP | regs::STEP_NS => true,
        // The copy engine's BAR2-only operation (and invalid ops, which only
        // latch an error), never a copy to or from host memory.
        regs::COPY_CTRL => !matches!(
            value & regs::COPY_OP_MASK,
            regs::COPY_OP_TO_HOST | regs::COPY_OP_FROM_HOST
        ),
        _ => false,
    }
}

/// The registers IOC_COPY programs.
fn is_copy_register(offset: u64) -> bool {
    matches!(
        offset,
        regs::COPY_BAR_OFF
            | regs::COPY_LEN
            | regs::COPY_HOST_LO
            | regs::COPY_HOST_HI
            | regs::COPY_CTRL
    )
}

fn card_info(shared: &CardShared) -> Result<uapi::CardInfo> {
    Ok(uapi::CardInfo {
        index: shared.index,
        pci_location: shared.pci_location,
        irq_mode: shared.irq_mode.load(Relaxed),
        irq_vectors: shared.irq_vectors.load(Relaxed),
        features: shared.hw.regs(|bar| bar.read(bar0::FEATURES).into_raw())?,
        _reserved: 0,
        bar0_size: shared.hw.bar0_len,
        bar2_size: shared.hw.bar2_len,
        irq_counts: [
            shared.irq_counts[0].load(Relaxed),
            shared.irq_counts[1].load(Relaxed),
            shared.irq_counts[2].load(Relaxed),
            shared.irq_counts[3].load(Relaxed),
        ],
        waits_woken: shared.stream.waits_woken.load(Relaxed),
        waits_polled: shared.stream.waits_polled.load(Relaxed),
    })
}

fn buffer_ioctl(file: &CardFile, cmd: u32, arg: usize) -> Result<isize> {
    let shared = &file.shared;
    match cmd {
        uapi::IOC_BUF_ALLOC => {
            let mut req: uapi::BufAlloc = read_arg(arg)?;
            let mut table = file.buffers.lock();
            let id = table.next_id()?;
            let buf = Buffer::alloc(&shared.binding, &shared.buffers, id, req.strategy, req.size)?;
            table.insert(buf)?;
            req.id = id;
            req.mmap_offset = uapi::mmap_offset(u64::from(id));
            drop(table);
            write_arg(arg, &req)
        }
        uapi::IOC_BUF_FREE => {
            let id: u32 = read_arg(arg)?;
            let buf = file.buffers.lock().remove(id).ok_or(ENOENT)?;
            #[cfg(cardless_zoo)]
            if crate::zoo::armed(uapi::ZOO_FREE_RING_WHILE_STREAMING) {
                // The bug: the DMA mappings go, the stream into them does not.
                buf.dma.revoke();
                return Ok(0);
            }
            // The card must not write into it once it is gone from the table;
            // the memory itself lives on while a mapping holds it.
            shared.stream.stop_if_using(&shared.hw, &buf)?;
            Ok(0)
        }
        uapi::IOC_STREAM_START => {
            let req: uapi::StreamStart = read_arg(arg)?;
            let buf = file.buffers.lock().get(req.buf_id).ok_or(ENOENT)?;
            shared
                .stream
                .start(&shared.hw, file.owner.id(), buf, &req)?;
            Ok(0)
        }
        uapi::IOC_STREAM_STOP => {
            shared.stream.stop(&shared.hw, None)?;
            Ok(0)
        }
        uapi::IOC_STREAM_WAIT => {
            let mut req: uapi::StreamWait = read_arg(arg)?;
            shared.stream.wait(&shared.hw, &mut req)?;
            write_arg(arg, &req)
        }
        uapi::IOC_STREAM_COUNTERS => write_arg(arg, &stream::counters(&shared.hw)?),
        uapi::IOC_COPY => {
            let req: uapi::CopyRequest = read_arg(arg)?;
            let buf = file.buffers.lock().get(req.buf_id).ok_or(ENOENT)?;
            shared.copy.run(&shared.hw, &buf, &req)?;
            Ok(0)
        }
        uapi::IOC_STREAM_CONSUME => {
            let idx: u32 = read_arg(arg)?;
            shared.stream.consume(&shared.hw, idx)?;
            Ok(0)
        }
        _ => Err(ENOTTY),
    }
}

pub(crate) fn dispatch(file: &CardFile, cmd: u32, arg: usize) -> Result<isize> {
    let shared = &*file.shared;
    match cmd {
        uapi::IOC_VERSION => {
            let (card_id, card_version) = shared.hw.regs(|bar| {
                (
                    bar.read(bar0::ID).into_raw(),
                    bar.read(bar0::VERSION).into_raw(),
                )
            })?;
            let version = uapi::Version {
                uapi: uapi::UAPI_VERSION,
                card_id,
                card_version,
                _reserved: 0,
            };
            write_arg(arg, &version)
        }
        uapi::IOC_CARD_INFO => write_arg(arg, &card_info(shared)?),
        uapi::IOC_REG_READ => {
            let mut access: uapi::RegAccess = read_arg(arg)?;
            access.value = shared
                .hw
                .read_at(checked_reg_offset(access.offset)? as usize)?;
            write_arg(arg, &access)
        }
        uapi::IOC_REG_WRITE => {
            let access: uapi::RegAccess = read_arg(arg)?;
            let offset = checked_reg_offset(access.offset)?;
            if !user_may_write(offset, access.value) {
                return Err(EPERM);
            }
            // The copy engine's registers are shared with IOC_COPY: a user
            // COPY_LEN between the driver's COPY_LEN and COPY_CTRL would make
            // the card copy past the buffer the driver checked.
            let _engine = is_copy_register(offset).then(|| shared.copy.lock());
            shared.hw.write_at(offset as usize, access.value)?;
            Ok(0)
        }
        #[cfg(cardless_zoo)]
        uapi::IOC_ZOO_ARM => {
            crate::zoo::arm(read_arg(arg)?)?;
            Ok(0)
        }
        uapi::IOC_RESET => {
            shared.stream.reset(&shared.hw, &shared.copy)?;
            Ok(0)
        }
        _ => buffer_ioctl(file, cmd, arg),
    }
}

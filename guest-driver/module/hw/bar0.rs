// SPDX-License-Identifier: GPL-2.0
//! BAR0's registers as types (the kernel's `register!` macro: a type per
//! register, typed fields, offsets checked against the BAR's size at build
//! time). The macro takes literal offsets, so the register map stays where
//! it is written once, `device/abi/src/regs.rs` (SPEC §4): `card_registers!`
//! declares each register under its ABI name and the build checks its offset
//! and field bits against that file. A register the driver does not use is
//! not declared; `IOC_REG_READ`/`IOC_REG_WRITE` reach any offset with the
//! fallible `try_*` accessors.

use super::regs;
use kernel::io::{
    register,
    register::{FixedRegister, FixedRegisterLoc, Register},
    Io, Mmio,
};

/// BAR0's size (SPEC §2); accesses at constant offsets are checked against it at build time.
pub(crate) const BAR0_SIZE: usize = regs::BAR0_SIZE as usize;

/// BAR0 as register accesses see it.
pub(crate) type Bar0 = Mmio<BAR0_SIZE>;

/// `register!` for the card's 32-bit registers, plus a build-time check that
/// each offset equals the ABI constant of the same name.
macro_rules! card_registers {
    ($($(#[$doc:meta])* $name:ident @ $offset:literal { $($fields:tt)* })*) => {
        register! {
            $($(#[$doc])* pub(crate) $name(u32) @ $offset { $($fields)* })*
        }
        $(const _: () = assert!(
            <$name as Register>::OFFSET as u64 == regs::$name,
            concat!(stringify!($name), ": offset differs from device/abi/src/regs.rs")
        );)*
    };
}

card_registers! {
    /// Identifies the card: `regs::ID_VALUE`.
    ID @ 0x000 { 31:0 value; }
    /// Register map version, major in 31:16.
    VERSION @ 0x004 { 31:0 value; }
    /// What this card instance offers (`regs::FEAT_*`).
    FEATURES @ 0x008 { 31:0 value; }
    /// Engine enable and mode bits; bit 31 resets the card (SPEC §9).
    CONTROL @ 0x010 {
        31:31 reset => bool;
        3:3 status_wb => bool;
        2:2 ovf_stop => bool;
        1:1 sg => bool;
        0:0 enable => bool;
    }
    /// Engine state.
    STATUS @ 0x014 {
        2:2 overflow_stopped => bool;
        0:0 running => bool;
    }
    /// Latched interrupt causes (write 1 to clear), `regs::INT_*` bits.
    INT_STATUS @ 0x018 { 31:0 causes; }
    /// Causes allowed to interrupt, `regs::INT_*` bits.
    INT_MASK @ 0x01c { 31:0 causes; }
    /// First error since it was cleared (SPEC §10); any write clears it.
    ERROR_CODE @ 0x020 { 31:0 code; }
    ERROR_ADDR_LO @ 0x028 { 31:0 low; }
    ERROR_ADDR_HI @ 0x02c { 31:0 high; }
    /// The ring (contiguous) or its page table (SG), latched at enable.
    RING_BASE_LO @ 0x040 { 31:0 low; }
    RING_BASE_HI @ 0x044 { 31:0 high; }
    RING_ENTRIES @ 0x048 { 31:0 count; }
    RECORD_SIZE @ 0x04c { 31:0 bytes; }
    SG_PAGES @ 0x050 { 31:0 count; }
    /// Where the card writes the status block (SPEC §5.3).
    STATUS_ADDR_LO @ 0x058 { 31:0 low; }
    STATUS_ADDR_HI @ 0x05c { 31:0 high; }
    PROD_IDX @ 0x060 { 31:0 index; }
    CONS_IDX @ 0x064 { 31:0 index; }
    COAL_COUNT @ 0x068 { 31:0 records; }
    COAL_NS @ 0x06c { 31:0 ns; }
    RATE @ 0x070 { 31:0 per_second; }
    SEED_LO @ 0x080 { 31:0 low; }
    SEED_HI @ 0x084 { 31:0 high; }
    CNT_PRODUCED @ 0x0a0 { 31:0 count; }
    CNT_DROPPED @ 0x0a4 { 31:0 count; }
    CNT_ERRORS @ 0x0a8 { 31:0 count; }
    /// The copy engine (SPEC §11): BAR2 side, length, host side, doorbell.
    COPY_BAR_OFF @ 0x0c0 { 31:0 offset; }
    COPY_LEN @ 0x0c4 { 31:0 bytes; }
    COPY_HOST_LO @ 0x0c8 { 31:0 low; }
    COPY_HOST_HI @ 0x0cc { 31:0 high; }
    COPY_CTRL @ 0x0d0 { 1:0 op; }
    COPY_STATUS @ 0x0d4 { 31:0 code; }
}

// The fields' bits, checked against the ABI's masks.
const _: () = assert!(CONTROL::RESET_MASK == regs::CTRL_RESET);
const _: () = assert!(CONTROL::STATUS_WB_MASK == regs::CTRL_STATUS_WB);
const _: () = assert!(CONTROL::OVF_STOP_MASK == regs::CTRL_OVF_STOP);
const _: () = assert!(CONTROL::SG_MASK == regs::CTRL_SG);
const _: () = assert!(CONTROL::ENABLE_MASK == regs::CTRL_ENABLE);
const _: () = assert!(STATUS::OVERFLOW_STOPPED_MASK == regs::STS_OVERFLOW_STOPPED);
const _: () = assert!(STATUS::RUNNING_MASK == regs::STS_RUNNING);
const _: () = assert!(COPY_CTRL::OP_MASK == regs::COPY_OP_MASK);

/// Writes a 64-bit value into a LO/HI register pair, low half first (SPEC §4:
/// the card takes 64-bit values as two 32-bit registers).
pub(crate) fn write_pair<Lo, Hi>(bar: &Bar0, value: u64)
where
    Lo: FixedRegister + Register<Storage = u32> + From<u32>,
    Hi: FixedRegister + Register<Storage = u32> + From<u32>,
{
    let (lo, hi) = (Lo::from(value as u32), Hi::from((value >> 32) as u32));
    bar.write(FixedRegisterLoc::<Lo>::new(), lo);
    bar.write(FixedRegisterLoc::<Hi>::new(), hi);
}

/// Reads a LO/HI register pair as one 64-bit value.
pub(crate) fn read_pair<Lo, Hi>(bar: &Bar0) -> u64
where
    Lo: FixedRegister + Register<Storage = u32>,
    Hi: FixedRegister + Register<Storage = u32>,
    u32: From<Lo> + From<Hi>,
{
    let lo: u32 = bar.read(FixedRegisterLoc::<Lo>::new()).into();
    let hi: u32 = bar.read(FixedRegisterLoc::<Hi>::new()).into();
    (u64::from(hi) << 32) | u64::from(lo)
}

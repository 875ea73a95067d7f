// SPDX-License-Identifier: GPL-2.0
//! The ioctl argument structs (the user-space ABI, `crate::uapi`) as plain
//! bytes, so they can be copied to and from user space. Each is declared here
//! with its fields, and the build checks what the SAFETY argument needs: the
//! list is every field (a destructuring without `..`), each field is an
//! integer or an array of integers, and the fields fill the struct exactly
//! (no padding). Then every byte pattern is a valid value and no byte is
//! uninitialised.

use crate::uapi;
use kernel::transmute::{AsBytes, FromBytes};

/// Integers, and arrays of them: every bit pattern valid, no padding.
trait PlainInt {}
impl PlainInt for u32 {}
impl PlainInt for u64 {}
impl<const N: usize> PlainInt for [u64; N] {}

macro_rules! plain_structs {
    ($($ty:ident { $($field:ident: $fty:ty),* $(,)? })*) => {$(
        const _: () = assert!(
            core::mem::size_of::<uapi::$ty>() == 0 $(+ core::mem::size_of::<$fty>())*,
            concat!("uapi::", stringify!($ty), " has padding")
        );
        const _: fn(uapi::$ty) = |value| {
            fn plain<T: PlainInt>(_: &T) {}
            let uapi::$ty { $($field),* } = value;
            $(let $field: $fty = $field; plain(&$field);)*
        };
        // SAFETY: integer fields filling the struct without padding (both
        // checked at build time just above): any bytes are a valid value.
        unsafe impl FromBytes for uapi::$ty {}
        // SAFETY: as above: no padding, so every byte is initialised.
        unsafe impl AsBytes for uapi::$ty {}
    )*};
}

plain_structs! {
    Version { uapi: u32, card_id: u32, card_version: u32, _reserved: u32 }
    CardInfo {
        index: u32, pci_location: u32, irq_mode: u32, irq_vectors: u32, features: u32,
        _reserved: u32, bar0_size: u64, bar2_size: u64,
        irq_counts: [u64; uapi::IRQ_COUNTERS], waits_woken: u64, waits_polled: u64,
    }
    RegAccess { offset: u32, value: u32 }
    BufAlloc { size: u64, strategy: u32, id: u32, mmap_offset: u64 }
    StreamStart {
        buf_id: u32, record_size: u32, coalesce_records: u32, coalesce_ns: u32,
        rate: u32, flags: u32, seed: u64,
    }
    StreamWait { after: u32, timeout_ms: u32, prod_idx: u32, _reserved: u32 }
    StreamCounters {
        produced: u64, consumed: u64, dropped: u64, errors: u64,
        prod_idx: u32, cons_idx: u32, status: u32, error_code: u32,
    }
    CopyRequest { buf_id: u32, op: u32, buf_offset: u64, bar_offset: u32, len: u32 }
}

//! The driver's user-space ABI, written once.
//!
//! Every file under `src/` is self-contained (`no_std`, no dependencies, no
//! `crate::` paths) so the kernel module can include it with `#[path]`.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), no_std)]

pub mod ioctl;

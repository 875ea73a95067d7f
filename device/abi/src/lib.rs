//! The card's hardware interface, written once.
//!
//! Every file under `src/` is self-contained (`no_std`, no dependencies, no
//! `crate::` paths) so the kernel module can include it with `#[path]`.
#![forbid(unsafe_code)]
#![no_std]

pub mod record;
pub mod regs;

// SPDX-License-Identifier: GPL-2.0
//! The user-space ABI: the same source file the guest tools compile
//! (`guest-driver/uapi`), never a copy.

#[allow(unreachable_pub)]
#[path = "../uapi/src/ioctl.rs"]
mod ioctl;
pub(crate) use ioctl::*;

// SPDX-License-Identifier: GPL-2.0
//! Which bug of the zoo is armed: `IOC_ZOO_ARM` picks one for the whole
//! module.

use crate::uapi;
use kernel::{
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
};

static ARMED: Atomic<u32> = Atomic::new(uapi::ZOO_NONE);

/// Arms `bug` (`ZOO_NONE` disarms).
pub(crate) fn arm(bug: u32) -> Result {
    let name = uapi::ZOO_NAMES.get(bug as usize).ok_or(EINVAL)?;
    ARMED.store(bug, Relaxed);
    pr_warn!("cardless: bug zoo: '{}' armed\n", name);
    Ok(())
}

/// Whether `bug` is the armed one.
pub(crate) fn armed(bug: u32) -> bool {
    ARMED.load(Relaxed) == bug
}

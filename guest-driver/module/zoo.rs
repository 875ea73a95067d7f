// SPDX-License-Identifier: GPL-2.0
//! The bug zoo (issue 7), compiled only into the test build of the module
//! (`make zoo-test`: `--cfg cardless_zoo`; the normal module has none of it).
//! Each classic driver bug sits at the place in the real code where a driver
//! would get it wrong, behind `zoo::armed(uapi::ZOO_*)`; `IOC_ZOO_ARM` picks
//! one for the whole module. The guest's `zoo` suite shows each one caught
//! (by the kernel, the card or a verified wrong byte), twice alike.

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

//! The driver unloads and reloads cleanly (every teardown path, checked by
//! the DMA-API debugger).

use crate::card::Card;
use crate::ktap::{CaseResult, Suite};
use crate::{cases, check, check_eq, cmdline, pci};
use cardless_abi::regs;
use std::process::Command;

fn module_params_from_cmdline() -> Vec<String> {
    cmdline::words()
        .iter()
        .filter_map(|a| a.strip_prefix("cardless."))
        .filter(|a| {
            !a.starts_with("mode=") && !a.starts_with("accel=") && !a.starts_with("snapshot=")
        })
        .map(str::to_string)
        .collect()
}

fn unload_and_reload() -> CaseResult {
    let rmmod = Command::new("rmmod")
        .arg("cardless")
        .output()
        .map_err(|e| format!("rmmod: {e}"))?;
    check!(
        rmmod.status.success(),
        "rmmod cardless with no open file failed: {}",
        String::from_utf8_lossy(&rmmod.stderr)
    );
    check!(
        !std::path::Path::new("/dev/cardless0").exists(),
        "/dev/cardless0 still exists after rmmod"
    );
    let insmod = Command::new("insmod")
        .arg("/lib/modules/cardless.ko")
        .args(module_params_from_cmdline())
        .output()
        .map_err(|e| format!("insmod: {e}"))?;
    check!(
        insmod.status.success(),
        "insmod failed: {}",
        String::from_utf8_lossy(&insmod.stderr)
    );
    for card in pci::cards() {
        let driver = card.driver();
        check_eq!(driver.as_deref(), Some("cardless"), "driver after reload");
    }
    check_eq!(
        Card::open(0)?
            .reg_read(regs::ID)
            .map_err(|e| format!("ID: {e}"))?,
        regs::ID_VALUE,
        "ID after reload"
    );
    Ok(())
}

pub const SUITE: Suite = Suite {
    name: "kernel_health",
    about: "the driver unloads and reloads cleanly (every teardown path)",
    cases: cases![unload_and_reload],
};

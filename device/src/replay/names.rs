//! Human names for BAR0 offsets, interrupt causes and error codes, for
//! divergence reports and timelines.

use cardless_abi::regs::*;

/// The name of the BAR0 register at `off`, if there is one (the ABI's
/// name tables, SPEC §4.2 and §14.4).
pub fn reg_name(off: u64) -> Option<&'static str> {
    REGISTERS
        .iter()
        .chain(DEBUG_REGISTERS)
        .find(|(_, o)| *o == off)
        .map(|(n, _)| *n)
}

/// "BAR0+0x60 (PROD_IDX)" style location of a trapped access.
pub fn location(bar: u8, off: u64) -> String {
    match (bar, reg_name(off)) {
        (BAR_REGS, Some(name)) => format!("BAR0+{off:#x} ({name})"),
        _ => format!("BAR{bar}+{off:#x}"),
    }
}

/// The name of an interrupt cause bit.
pub fn cause_name(cause: u32) -> &'static str {
    match cause {
        INT_DATA_READY => "DATA_READY",
        INT_ERROR => "ERROR",
        INT_COPY_DONE => "COPY_DONE",
        INT_OVERFLOW => "OVERFLOW",
        _ => "?",
    }
}

/// The name of an error code.
pub fn error_name(code: u32) -> &'static str {
    cardless_abi::regs::error_name(code).unwrap_or("ERR_?")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every register of SPEC §4.2 and §14.4 has a name.
    #[test]
    fn every_register_is_named() {
        for &off in ALL_REGS.iter().chain(ALL_DBG_REGS) {
            assert!(reg_name(off).is_some(), "{off:#x}");
        }
        assert_eq!(location(0, PROD_IDX), "BAR0+0x60 (PROD_IDX)");
        assert_eq!(location(2, 8), "BAR2+0x8");
        assert_eq!(error_name(1), "ERR_DMA_UNMAPPED");
        assert_eq!(error_name(ERR_DMA_STRAY), "ERR_DMA_STRAY");
        assert_eq!(error_name(ERR_RING_OVERLAP), "ERR_RING_OVERLAP");
        assert_eq!(error_name(99), "ERR_?");
        assert_eq!(cause_name(8), "OVERFLOW");
    }
}

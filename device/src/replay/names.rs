//! Human names for BAR0 offsets, interrupt causes and error codes, for
//! divergence reports and timelines.

use cardless_abi::regs::*;

/// The name of the BAR0 register at `off`, if there is one.
pub fn reg_name(off: u64) -> Option<&'static str> {
    const NAMES: &[(u64, &str)] = &[
        (ID, "ID"),
        (VERSION, "VERSION"),
        (FEATURES, "FEATURES"),
        (SCRATCH, "SCRATCH"),
        (CONTROL, "CONTROL"),
        (STATUS, "STATUS"),
        (INT_STATUS, "INT_STATUS"),
        (INT_MASK, "INT_MASK"),
        (ERROR_CODE, "ERROR_CODE"),
        (BAR2_SIZE, "BAR2_SIZE"),
        (ERROR_ADDR_LO, "ERROR_ADDR_LO"),
        (ERROR_ADDR_HI, "ERROR_ADDR_HI"),
        (RING_BASE_LO, "RING_BASE_LO"),
        (RING_BASE_HI, "RING_BASE_HI"),
        (RING_ENTRIES, "RING_ENTRIES"),
        (RECORD_SIZE, "RECORD_SIZE"),
        (SG_PAGES, "SG_PAGES"),
        (STATUS_ADDR_LO, "STATUS_ADDR_LO"),
        (STATUS_ADDR_HI, "STATUS_ADDR_HI"),
        (PROD_IDX, "PROD_IDX"),
        (CONS_IDX, "CONS_IDX"),
        (COAL_COUNT, "COAL_COUNT"),
        (COAL_NS, "COAL_NS"),
        (RATE, "RATE"),
        (STEP, "STEP"),
        (STEP_NS, "STEP_NS"),
        (SEED_LO, "SEED_LO"),
        (SEED_HI, "SEED_HI"),
        (VTIME_LO, "VTIME_LO"),
        (VTIME_HI, "VTIME_HI"),
        (CNT_PRODUCED, "CNT_PRODUCED"),
        (CNT_DROPPED, "CNT_DROPPED"),
        (CNT_ERRORS, "CNT_ERRORS"),
        (CNT_IRQS, "CNT_IRQS"),
        (CNT_BAD_ACCESS, "CNT_BAD_ACCESS"),
        (CNT_COPIES, "CNT_COPIES"),
        (COPY_BAR_OFF, "COPY_BAR_OFF"),
        (COPY_LEN, "COPY_LEN"),
        (COPY_HOST_LO, "COPY_HOST_LO"),
        (COPY_HOST_HI, "COPY_HOST_HI"),
        (COPY_CTRL, "COPY_CTRL"),
        (COPY_STATUS, "COPY_STATUS"),
        (COPY_RESULT_LO, "COPY_RESULT_LO"),
        (COPY_RESULT_HI, "COPY_RESULT_HI"),
        (DBG_ID, "DBG_ID"),
        (DBG_KIND, "DBG_KIND"),
        (DBG_TRIGGER, "DBG_TRIGGER"),
        (DBG_COUNT, "DBG_COUNT"),
        (DBG_WHEN_LO, "DBG_WHEN_LO"),
        (DBG_WHEN_HI, "DBG_WHEN_HI"),
        (DBG_ARG_LO, "DBG_ARG_LO"),
        (DBG_ARG_HI, "DBG_ARG_HI"),
        (DBG_ARG2, "DBG_ARG2"),
        (DBG_CMD, "DBG_CMD"),
        (DBG_CMD_STATUS, "DBG_CMD_STATUS"),
        (DBG_SCHEDULED, "DBG_SCHEDULED"),
        (DBG_FIRED, "DBG_FIRED"),
        (DBG_STATE, "DBG_STATE"),
    ];
    NAMES.iter().find(|(o, _)| *o == off).map(|(_, n)| *n)
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
    const NAMES: [&str; 15] = [
        "ERR_NONE",
        "ERR_DMA_UNMAPPED",
        "ERR_DMA_READONLY",
        "ERR_DMA_OVERFLOW",
        "ERR_BAD_RING_SIZE",
        "ERR_BAD_RECORD_SIZE",
        "ERR_BAD_ALIGNMENT",
        "ERR_BAD_SG_COUNT",
        "ERR_BAD_SG_ENTRY",
        "ERR_BAD_CONS_IDX",
        "ERR_COPY_RANGE",
        "ERR_BAD_STEP",
        "ERR_BAD_COPY_OP",
        "ERR_DMA_STRAY",
        "ERR_RING_OVERLAP",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|c| NAMES.get(c))
        .copied()
        .unwrap_or("ERR_?")
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

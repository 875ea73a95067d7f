//! The plain guest-programmed registers and the counters (SPEC §4.2): data
//! with no state machine behind them. The register file (`state/`) owns
//! them; ring validation reads them.

/// Plain guest-programmed registers.
#[derive(Clone, Copy, Default)]
pub(crate) struct Regs {
    pub scratch: u32,
    /// CONTROL bits other than ENABLE (ENABLE mirrors the engine).
    pub control: u32,
    pub ring_base: u64,
    pub ring_entries: u32,
    pub record_size: u32,
    pub sg_pages: u32,
    pub status_addr: u64,
    pub coal_count: u32,
    pub coal_ns: u32,
    pub rate: u32,
    pub seed: u64,
    pub vtime_snap: u64,
    pub copy_bar_off: u32,
    pub copy_len: u32,
    pub copy_host: u64,
    pub copy_ctrl: u32,
    pub copy_status: u32,
    pub copy_result: u64,
}

/// Counters (SPEC §4.2, §5.3).
#[derive(Clone, Copy, Default)]
pub(crate) struct Counters {
    pub produced: u64,
    pub dropped: u64,
    pub errors: u32,
    pub irqs: u32,
    pub bad_access: u32,
    pub copies: u32,
}

/// A 64-bit register's low half written.
pub(crate) fn set_lo(v: &mut u64, lo: u32) {
    *v = (*v & !0xffff_ffff) | u64::from(lo);
}

/// A 64-bit register's high half written.
pub(crate) fn set_hi(v: &mut u64, hi: u32) {
    *v = (*v & 0xffff_ffff) | (u64::from(hi) << 32);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPEC §4.1: writing one half of a 64-bit register keeps the other.
    #[test]
    fn halves_keep_each_other() {
        let mut v = 0x1111_2222_3333_4444;
        set_lo(&mut v, 0xaaaa_bbbb);
        assert_eq!(v, 0x1111_2222_aaaa_bbbb);
        set_hi(&mut v, 0xcccc_dddd);
        assert_eq!(v, 0xcccc_dddd_aaaa_bbbb);
        set_lo(&mut v, 0);
        set_hi(&mut v, u32::MAX);
        assert_eq!(v, 0xffff_ffff_0000_0000);
    }
}

//! The card's fault debug window (SPEC §14.4), driven through a user
//! mapping of BAR0 (root only; IOC_REG_WRITE refuses these offsets): the
//! faults suite schedules each fault kind of SPEC §14.1 with it.

use crate::card::{Card, Mapping};
use cardless_abi::regs;

/// When a fault fires (SPEC §14.2).
#[derive(Clone, Copy, Debug)]
pub enum Trigger {
    /// At the first check point from now (`at=0`).
    Now,
    /// When CNT_PRODUCED (records since reset) reaches N.
    Record(u64),
}

/// One fault: its kind and arguments (unused ones 0).
#[derive(Clone, Copy, Debug)]
pub struct Fault {
    pub kind: u32,
    pub trigger: Trigger,
    pub count: u32,
    /// `ns`, `byte` or `addr`.
    pub arg: u64,
    /// `xor`, or the cause bit of the interrupt kinds (0: any).
    pub arg2: u32,
}

impl Fault {
    pub fn new(kind: u32, trigger: Trigger) -> Fault {
        Fault {
            kind,
            trigger,
            count: 1,
            arg: 0,
            arg2: 0,
        }
    }
}

pub struct DebugWindow {
    map: Mapping,
}

impl DebugWindow {
    /// Maps card `card`'s BAR0 and checks the window is there (the card runs
    /// with --debug-window).
    pub fn open(card: &Card) -> Result<Option<DebugWindow>, String> {
        let features = card.info().map_err(|e| format!("CARD_INFO: {e}"))?.features;
        if features & regs::FEAT_DEBUG == 0 {
            return Ok(None);
        }
        let map = card.map_bar0(regs::BAR0_SIZE as usize)?;
        let id = map.read32(regs::DBG_ID);
        if id != regs::DBG_ID_VALUE {
            return Err(format!(
                "DBG_ID reads {id:#x}, expected {:#x}",
                regs::DBG_ID_VALUE
            ));
        }
        Ok(Some(DebugWindow { map }))
    }

    /// Schedules `f`; an error carries DBG_CMD_STATUS.
    pub fn schedule(&self, f: Fault) -> Result<(), String> {
        let (trigger, when) = match f.trigger {
            Trigger::Now => (regs::DBG_TRIG_VTIME, 0),
            Trigger::Record(n) => (regs::DBG_TRIG_RECORD, n),
        };
        let m = &self.map;
        m.write32(regs::DBG_KIND, f.kind);
        m.write32(regs::DBG_TRIGGER, trigger);
        m.write32(regs::DBG_COUNT, f.count);
        m.write32(regs::DBG_WHEN_LO, when as u32);
        m.write32(regs::DBG_WHEN_HI, (when >> 32) as u32);
        m.write32(regs::DBG_ARG_LO, f.arg as u32);
        m.write32(regs::DBG_ARG_HI, (f.arg >> 32) as u32);
        m.write32(regs::DBG_ARG2, f.arg2);
        m.write32(regs::DBG_CMD, regs::DBG_CMD_SCHEDULE);
        match m.read32(regs::DBG_CMD_STATUS) {
            regs::DBG_ST_OK => Ok(()),
            st => Err(format!("scheduling {f:?}: DBG_CMD_STATUS {st}")),
        }
    }

    /// Cancels every fault not fired yet.
    pub fn cancel_all(&self) {
        self.map.write32(regs::DBG_CMD, regs::DBG_CMD_CANCEL_ALL);
    }

    /// DBG_STATE (link down, removed, stalled, messages held).
    pub fn state(&self) -> u32 {
        self.map.read32(regs::DBG_STATE)
    }

    /// Faults fired since the card was created.
    pub fn fired(&self) -> u32 {
        self.map.read32(regs::DBG_FIRED)
    }
}

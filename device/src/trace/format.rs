//! The trace format (SPEC §12), declared once: the [`Tracer`](super::Tracer)
//! writes these types and replay and the timeline read them back, so the two
//! sides cannot drift. Field spellings are in [`super::fields`]; the rules
//! that tie one field to another are in [`Event::validate`].

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::fields::{data, dir, hex, int, opt_hex, opt_int};

/// Trace format version in the `start` line.
pub const TRACE_VERSION: u32 = 2;

/// What the `start` line records: everything replay needs to rebuild the card.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartInfo {
    /// `--seed`.
    #[serde(with = "hex")]
    pub seed: u64,
    /// Deterministic mode (§8).
    pub deterministic: bool,
    /// BAR2 size in bytes.
    #[serde(with = "hex")]
    pub bar2_size: u64,
    /// Reset value of RECORD_SIZE.
    #[serde(deserialize_with = "int::deserialize")]
    pub record_size: u32,
    /// Reset value of RATE.
    #[serde(deserialize_with = "int::deserialize")]
    pub rate: u32,
    /// Whether the debug window (§14.4) exists (absent in early traces).
    #[serde(default)]
    pub debug_window: bool,
    /// The fault plan, one canonical line each (§14.2).
    #[serde(default)]
    pub faults: Vec<String>,
}

/// Who reset the card.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResetSource {
    /// DEVICE_RESET from the VMM (version 1 traces knew only this one).
    #[default]
    Vmm,
    /// CONTROL.RESET written by the driver.
    Reg,
}

/// Everything a trace records (SPEC §12): one variant per `ev`, fields in
/// the order they are written. `'a` lets the writer borrow the bytes and
/// strings it traces; the reader owns them (`Event<'static>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum Event<'a> {
    /// The card's configuration; `version` is the trace format version.
    Start {
        /// Trace format version ([`TRACE_VERSION`] when written).
        #[serde(deserialize_with = "int::deserialize")]
        version: u32,
        /// What the card was built with.
        #[serde(flatten)]
        info: StartInfo,
    },
    /// A trapped BAR access.
    Mmio {
        /// Write (guest to card) or read: `"dir"`.
        #[serde(rename = "dir", with = "dir")]
        write: bool,
        /// PCI BAR index.
        #[serde(deserialize_with = "int::deserialize")]
        bar: u8,
        /// Offset in the BAR.
        #[serde(with = "hex")]
        off: u64,
        /// Bytes.
        #[serde(deserialize_with = "int::deserialize")]
        len: u64,
        /// The bytes as a little-endian integer (up to 8 bytes).
        #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_hex")]
        val: Option<u64>,
        /// §5.4 checksum of the bytes (more than 8 bytes).
        #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_hex")]
        hash: Option<u64>,
        /// The bytes (long writes, long BAR2 reads).
        #[serde(default, skip_serializing_if = "Option::is_none", with = "data")]
        data: Option<Cow<'a, [u8]>>,
    },
    /// A DMA by the card.
    Dma {
        /// Into host memory (true) or from it: `"dir"`.
        #[serde(rename = "dir", with = "dir")]
        write: bool,
        /// IOVA.
        #[serde(with = "hex")]
        addr: u64,
        /// Bytes.
        #[serde(deserialize_with = "int::deserialize")]
        len: u64,
        /// §5.4 checksum of the bytes.
        #[serde(with = "hex")]
        hash: u64,
        /// The bytes, when recorded.
        #[serde(default, skip_serializing_if = "Option::is_none", with = "data")]
        data: Option<Cow<'a, [u8]>>,
    },
    /// The copy engine read BAR2.
    Bar2 {
        /// Offset in BAR2.
        #[serde(with = "hex")]
        off: u64,
        /// Bytes.
        #[serde(deserialize_with = "int::deserialize")]
        len: u64,
        /// §5.4 checksum.
        #[serde(with = "hex")]
        hash: u64,
        /// The bytes, when recorded.
        #[serde(default, skip_serializing_if = "Option::is_none", with = "data")]
        data: Option<Cow<'a, [u8]>>,
    },
    /// An interrupt message.
    Irq {
        /// INT_STATUS bit.
        #[serde(with = "hex")]
        cause: u32,
        /// MSI-X vector.
        #[serde(deserialize_with = "int::deserialize")]
        vec: u16,
    },
    /// An error latched or counted.
    Error {
        /// ERR_* code.
        #[serde(deserialize_with = "int::deserialize")]
        code: u32,
        /// ERROR_ADDR.
        #[serde(with = "hex")]
        addr: u64,
    },
    /// A reset: by the VMM (DEVICE_RESET) or by CONTROL.RESET.
    Reset {
        /// Who reset the card.
        #[serde(default)]
        src: ResetSource,
    },
    /// DMA_MAP.
    DmaMap {
        /// IOVA.
        #[serde(with = "hex")]
        addr: u64,
        /// Bytes.
        #[serde(with = "hex")]
        size: u64,
        /// Mapped writable.
        writable: bool,
    },
    /// DMA_UNMAP.
    DmaUnmap {
        /// IOVA.
        #[serde(with = "hex")]
        addr: u64,
        /// Bytes.
        #[serde(with = "hex")]
        size: u64,
    },
    /// Every mapping removed.
    DmaUnmapAll,
    /// A DMA sanitizer finding (SPEC §16).
    Sanitizer {
        /// `stray`, `unmapped`, `overlap` or `sg-unmapped`.
        check: Cow<'a, str>,
        /// First IOVA concerned.
        #[serde(with = "hex")]
        addr: u64,
        /// Bytes concerned.
        #[serde(deserialize_with = "int::deserialize")]
        len: u64,
        /// Event number of the guest action or fault behind it.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "opt_int::deserialize"
        )]
        cause: Option<u64>,
        /// The explanation.
        msg: Cow<'a, str>,
    },
    /// A fault event (SPEC §14.5).
    Fault {
        /// Fault kind name.
        kind: Cow<'a, str>,
        /// What happened.
        act: Cow<'a, str>,
        /// Vector, address, ...
        #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_hex")]
        arg: Option<u64>,
    },
}

impl Event<'_> {
    /// Short name (the `ev` field).
    pub fn name(&self) -> &'static str {
        match self {
            Event::Start { .. } => "start",
            Event::Mmio { .. } => "mmio",
            Event::Dma { .. } => "dma",
            Event::Bar2 { .. } => "bar2",
            Event::Irq { .. } => "irq",
            Event::Error { .. } => "error",
            Event::Reset { .. } => "reset",
            Event::DmaMap { .. } => "dma_map",
            Event::DmaUnmap { .. } => "dma_unmap",
            Event::DmaUnmapAll => "dma_unmap_all",
            Event::Fault { .. } => "fault",
            Event::Sanitizer { .. } => "sanitizer",
        }
    }

    /// Something the guest or the VMM did (replay performs it, §15.2).
    pub fn is_action(&self) -> bool {
        matches!(
            self,
            Event::Mmio { .. }
                | Event::DmaMap { .. }
                | Event::DmaUnmap { .. }
                | Event::DmaUnmapAll
                | Event::Reset {
                    src: ResetSource::Vmm
                }
        )
    }

    /// The rules between fields (SPEC §12) that the types alone do not
    /// hold: an access up to 8 bytes carries `val` (which fits in them),
    /// a longer one `hash` and maybe `data`; `data` holds `len` bytes.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Event::Mmio {
                len,
                val,
                hash,
                data,
                ..
            } => {
                match (val, hash, *len <= 8) {
                    (Some(v), None, true) if *len == 8 || v >> (len * 8) == 0 => {}
                    (Some(v), None, true) => {
                        return Err(format!("\"val\" {v:#x} does not fit in {len} bytes"))
                    }
                    (None, Some(_), false) => {}
                    _ => {
                        return Err(format!(
                            "an mmio line of {len} bytes carries {}; expected \"val\" for up to \
                             8 bytes, \"hash\" for more",
                            match (val, hash) {
                                (Some(_), Some(_)) => "both \"val\" and \"hash\"",
                                (None, None) => "neither \"val\" nor \"hash\"",
                                (Some(_), None) => "\"val\"",
                                (None, Some(_)) => "\"hash\"",
                            }
                        ))
                    }
                }
                data_holds(data, *len)
            }
            Event::Dma { len, data, .. } | Event::Bar2 { len, data, .. } => data_holds(data, *len),
            _ => Ok(()),
        }
    }
}

/// `data`, when present, holds exactly `len` bytes.
fn data_holds(data: &Option<Cow<'_, [u8]>>, len: u64) -> Result<(), String> {
    match data {
        Some(d) if d.len() as u64 != len => Err(format!(
            "\"data\" holds {} bytes but \"len\" says {len}",
            d.len()
        )),
        _ => Ok(()),
    }
}

/// One line as written: VTIME and the event's fields side by side.
#[derive(Serialize, Deserialize)]
#[serde(expecting = "a trace line: a JSON object with \"t\" and \"ev\"")]
pub(super) struct Line<'a> {
    /// VTIME in ns.
    #[serde(deserialize_with = "int::deserialize")]
    pub t: u64,
    /// What happened.
    #[serde(flatten)]
    pub ev: Event<'a>,
}

/// One trace line read back: VTIME, the event, and the line as written.
#[derive(Clone, Debug)]
pub struct TraceLine {
    /// 1-based line number in the file (the event number replay reports).
    pub number: usize,
    /// VTIME in ns.
    pub t: u64,
    /// What happened.
    pub ev: Event<'static>,
    /// The line's text.
    pub raw: String,
}

impl TraceLine {
    /// Same VTIME and event (the line number and text do not matter).
    pub fn same(&self, other: &TraceLine) -> bool {
        self.t == other.t && self.ev == other.ev
    }
}

/// A trace that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub msg: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "trace line {}: {}", self.line, self.msg)
    }
}

impl std::error::Error for ParseError {}

/// Parses a whole trace. Empty lines are skipped (but counted).
pub fn parse_trace(text: &str) -> Result<Vec<TraceLine>, ParseError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse_line(i + 1, l))
        .collect()
}

/// Parses and validates one line; the error says what is wrong with it,
/// so a damaged or hand-edited trace never panics the reader.
pub fn parse_line(number: usize, text: &str) -> Result<TraceLine, ParseError> {
    let err = |msg: String| ParseError { line: number, msg };
    let line: Line<'static> = serde_json::from_str(text).map_err(|e| {
        err(if e.is_data() {
            e.to_string()
        } else {
            format!("not JSON: {e}")
        })
    })?;
    line.ev.validate().map_err(err)?;
    Ok(TraceLine {
        number,
        t: line.t,
        ev: line.ev,
        raw: text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPEC §12, §15.1: every event kind parses; bad lines say what is wrong.
    #[test]
    fn lines_parse_and_errors_explain() {
        let ok = [
            r#"{"t":0,"ev":"start","version":2,"seed":"0x5","deterministic":true,"bar2_size":"0x1000","record_size":64,"rate":0,"debug_window":true,"faults":["stall at=0"]}"#,
            r#"{"t":1,"ev":"mmio","dir":"w","bar":0,"off":"0x10","len":4,"val":"0x1"}"#,
            r#"{"t":1,"ev":"mmio","dir":"w","bar":2,"off":"0x0","len":9,"hash":"0x1","data":"000102030405060708"}"#,
            r#"{"t":2,"ev":"dma","dir":"r","addr":"0x1000","len":2,"hash":"0x9","data":"abCD"}"#,
            r#"{"t":2,"ev":"bar2","off":"0x0","len":1,"hash":"0x9","data":"ff"}"#,
            r#"{"t":3,"ev":"irq","cause":"0x1","vec":0}"#,
            r#"{"t":3,"ev":"error","code":1,"addr":"0x0"}"#,
            r#"{"t":3,"ev":"reset"}"#,
            r#"{"t":3,"ev":"reset","src":"reg"}"#,
            r#"{"t":3,"ev":"dma_map","addr":"0x0","size":"0x1000","writable":true}"#,
            r#"{"t":3,"ev":"dma_unmap","addr":"0x0","size":"0x1000"}"#,
            r#"{"t":3,"ev":"dma_unmap_all"}"#,
            r#"{"t":3,"ev":"fault","kind":"stall","act":"fire"}"#,
            r#"{"t":3,"ev":"sanitizer","check":"stray","addr":"0x2000","len":256,"cause":9,"msg":"why"}"#,
        ];
        let parsed = parse_trace(&ok.join("\n")).unwrap();
        assert_eq!(parsed.len(), ok.len());
        assert!(matches!(&parsed[3].ev, Event::Dma { data: Some(d), .. } if **d == [0xab, 0xcd]));
        assert!(matches!(
            parsed[7].ev,
            Event::Reset {
                src: ResetSource::Vmm
            }
        ));
        assert!(matches!(
            parsed[8].ev,
            Event::Reset {
                src: ResetSource::Reg
            }
        ));
        for (line, want) in [
            ("nonsense", "not JSON"),
            ("[1]", "a JSON object with \"t\" and \"ev\""),
            (r#"{"ev":"irq","cause":"0x1","vec":0}"#, "missing field `t`"),
            (r#"{"t":-1,"ev":"irq"}"#, "non-negative"),
            (r#"{"t":1,"ev":"boom"}"#, "unknown variant `boom`"),
            (r#"{"t":1,"ev":"irq","vec":0}"#, "missing field `cause`"),
            (r#"{"t":1,"ev":"irq","cause":"0xzz","vec":0}"#, "'0xzz'"),
            (
                r#"{"t":1,"ev":"mmio","dir":"x","bar":0,"off":"0","len":4,"val":"0"}"#,
                "\"dir\"",
            ),
            (
                r#"{"t":1,"ev":"mmio","dir":"r","bar":300,"off":"0","len":4,"val":"0"}"#,
                "300 does not fit the field's 8 bits",
            ),
            (
                r#"{"t":1,"ev":"dma","dir":"r","addr":"0","len":3,"hash":"0","data":"00"}"#,
                "holds 1 bytes",
            ),
            (
                r#"{"t":1,"ev":"dma","dir":"r","addr":"0","len":1,"hash":"0","data":"0"}"#,
                "odd",
            ),
            (
                r#"{"t":1,"ev":"dma","dir":"r","addr":"0","len":1,"hash":"0","data":"zz"}"#,
                "hex digit",
            ),
            (
                r#"{"t":1,"ev":"mmio","dir":"r","bar":0,"off":"0","len":16,"val":"0"}"#,
                "carries \"val\"",
            ),
            (
                r#"{"t":1,"ev":"mmio","dir":"r","bar":0,"off":"0","len":4}"#,
                "neither",
            ),
            (
                r#"{"t":1,"ev":"mmio","dir":"r","bar":0,"off":"0","len":1,"val":"0x100"}"#,
                "does not fit in 1 bytes",
            ),
        ] {
            let e = parse_line(7, line).unwrap_err();
            assert_eq!(e.line, 7);
            assert!(e.msg.contains(want), "{line}: {e}");
        }
    }
}

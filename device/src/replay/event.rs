//! Reading a trace (SPEC §12, §15.1) back into typed events. Every line is
//! validated; an error names the line and the field and says what was
//! expected, so a damaged or hand-edited trace never panics the reader.

use std::fmt;

use serde_json::{Map, Value};

use crate::trace::StartInfo;

/// One trace line: VTIME, the event, and the line as written.
#[derive(Clone, Debug)]
pub struct TraceLine {
    /// 1-based line number in the file (the event number replay reports).
    pub number: usize,
    /// VTIME in ns.
    pub t: u64,
    /// What happened.
    pub ev: Event,
    /// The line's text.
    pub raw: String,
}

impl TraceLine {
    /// Same VTIME and event (the line number and text do not matter).
    pub fn same(&self, other: &TraceLine) -> bool {
        self.t == other.t && self.ev == other.ev
    }
}

/// Everything a trace records (SPEC §12).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The card's configuration; `version` is the trace format version.
    Start {
        /// Trace format version.
        version: u64,
        /// What the card was built with.
        info: StartInfo,
    },
    /// A trapped BAR access.
    Mmio {
        /// Write (guest to card) or read.
        write: bool,
        /// PCI BAR index.
        bar: u8,
        /// Offset in the BAR.
        off: u64,
        /// Bytes.
        len: u64,
        /// The bytes as a little-endian integer (up to 8 bytes).
        val: Option<u64>,
        /// §5.4 checksum of the bytes (more than 8 bytes).
        hash: Option<u64>,
        /// The bytes (long writes, long BAR2 reads).
        data: Option<Vec<u8>>,
    },
    /// A DMA by the card.
    Dma {
        /// Into host memory (true) or from it.
        write: bool,
        /// IOVA.
        addr: u64,
        /// Bytes.
        len: u64,
        /// §5.4 checksum of the bytes.
        hash: u64,
        /// The bytes, when recorded.
        data: Option<Vec<u8>>,
    },
    /// The copy engine read BAR2.
    Bar2 {
        /// Offset in BAR2.
        off: u64,
        /// Bytes.
        len: u64,
        /// §5.4 checksum.
        hash: u64,
        /// The bytes, when recorded.
        data: Option<Vec<u8>>,
    },
    /// An interrupt message.
    Irq {
        /// INT_STATUS bit.
        cause: u64,
        /// MSI-X vector.
        vec: u64,
    },
    /// An error latched or counted.
    Error {
        /// ERR_* code.
        code: u64,
        /// ERROR_ADDR.
        addr: u64,
    },
    /// A reset: by the VMM (DEVICE_RESET) or by CONTROL.RESET.
    Reset {
        /// DEVICE_RESET from the VMM.
        vmm: bool,
    },
    /// DMA_MAP.
    DmaMap {
        /// IOVA.
        addr: u64,
        /// Bytes.
        size: u64,
        /// Mapped writable.
        writable: bool,
    },
    /// DMA_UNMAP.
    DmaUnmap {
        /// IOVA.
        addr: u64,
        /// Bytes.
        size: u64,
    },
    /// Every mapping removed.
    DmaUnmapAll,
    /// A DMA sanitizer finding (SPEC §16).
    Sanitizer {
        /// `stray`, `unmapped`, `overlap` or `sg-unmapped`.
        check: String,
        /// First IOVA concerned.
        addr: u64,
        /// Bytes concerned.
        len: u64,
        /// Event number of the guest action or fault behind it.
        cause: Option<u64>,
        /// The explanation.
        msg: String,
    },
    /// A fault event (SPEC §14.5).
    Fault {
        /// Fault kind name.
        kind: String,
        /// What happened.
        act: String,
        /// Vector, address, ...
        arg: Option<u64>,
    },
}

impl Event {
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
                | Event::Reset { vmm: true }
        )
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

/// Parses one line.
pub fn parse_line(number: usize, text: &str) -> Result<TraceLine, ParseError> {
    let err = |msg: String| ParseError { line: number, msg };
    let value: Value =
        serde_json::from_str(text).map_err(|e| err(format!("not a JSON object: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| err("not a JSON object".into()))?;
    let f = Fields(obj);
    let t = f.num("t").map_err(err)?;
    let ev = f.event().map_err(err)?;
    Ok(TraceLine {
        number,
        t,
        ev,
        raw: text.to_owned(),
    })
}

/// Typed access to a line's fields, with messages that name the field.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn get(&self, key: &str) -> Result<&Value, String> {
        self.0
            .get(key)
            .ok_or_else(|| format!("field \"{key}\" is missing"))
    }

    fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// A number: JSON integer or a hex/decimal string.
    fn num(&self, key: &str) -> Result<u64, String> {
        match self.get(key)? {
            Value::Number(n) => n
                .as_u64()
                .ok_or_else(|| format!("\"{key}\" must be a non-negative integer")),
            Value::String(s) => {
                crate::fault::parse_number(s).map_err(|e| format!("\"{key}\": {e}"))
            }
            _ => Err(format!("\"{key}\" must be a number or a hex string")),
        }
    }

    fn opt_num(&self, key: &str) -> Result<Option<u64>, String> {
        if self.has(key) {
            self.num(key).map(Some)
        } else {
            Ok(None)
        }
    }

    fn boolean(&self, key: &str) -> Result<bool, String> {
        self.get(key)?
            .as_bool()
            .ok_or_else(|| format!("\"{key}\" must be true or false"))
    }

    fn string(&self, key: &str) -> Result<&str, String> {
        self.get(key)?
            .as_str()
            .ok_or_else(|| format!("\"{key}\" must be a string"))
    }

    fn dir(&self) -> Result<bool, String> {
        match self.string("dir")? {
            "w" => Ok(true),
            "r" => Ok(false),
            other => Err(format!("\"dir\" is '{other}', expected \"r\" or \"w\"")),
        }
    }

    /// `data` (hex) if present; its length must be `len`.
    fn data(&self, len: u64) -> Result<Option<Vec<u8>>, String> {
        if !self.has("data") {
            return Ok(None);
        }
        let bytes = unhex(self.string("data")?)?;
        if bytes.len() as u64 != len {
            return Err(format!(
                "\"data\" holds {} bytes but \"len\" says {len}",
                bytes.len()
            ));
        }
        Ok(Some(bytes))
    }

    fn event(&self) -> Result<Event, String> {
        let ev = self.string("ev")?;
        Ok(match ev {
            "start" => self.start()?,
            "mmio" => {
                let len = self.num("len")?;
                Event::Mmio {
                    write: self.dir()?,
                    bar: u8::try_from(self.num("bar")?).map_err(|_| "\"bar\" must be 0..=255")?,
                    off: self.num("off")?,
                    len,
                    val: self.opt_num("val")?,
                    hash: self.opt_num("hash")?,
                    data: self.data(len)?,
                }
            }
            "dma" => {
                let len = self.num("len")?;
                Event::Dma {
                    write: self.dir()?,
                    addr: self.num("addr")?,
                    len,
                    hash: self.num("hash")?,
                    data: self.data(len)?,
                }
            }
            "bar2" => {
                let len = self.num("len")?;
                Event::Bar2 {
                    off: self.num("off")?,
                    len,
                    hash: self.num("hash")?,
                    data: self.data(len)?,
                }
            }
            "irq" => Event::Irq {
                cause: self.num("cause")?,
                vec: self.num("vec")?,
            },
            "error" => Event::Error {
                code: self.num("code")?,
                addr: self.num("addr")?,
            },
            "reset" => Event::Reset {
                // Version 1 traces knew only one kind.
                vmm: !self.has("src") || self.string("src")? == "vmm",
            },
            "dma_map" => Event::DmaMap {
                addr: self.num("addr")?,
                size: self.num("size")?,
                writable: self.boolean("writable")?,
            },
            "dma_unmap" => Event::DmaUnmap {
                addr: self.num("addr")?,
                size: self.num("size")?,
            },
            "dma_unmap_all" => Event::DmaUnmapAll,
            "sanitizer" => Event::Sanitizer {
                check: self.string("check")?.to_owned(),
                addr: self.num("addr")?,
                len: self.num("len")?,
                cause: self.opt_num("cause")?,
                msg: self.string("msg")?.to_owned(),
            },
            "fault" => Event::Fault {
                kind: self.string("kind")?.to_owned(),
                act: self.string("act")?.to_owned(),
                arg: self.opt_num("arg")?,
            },
            other => return Err(format!("unknown event \"{other}\"")),
        })
    }

    fn start(&self) -> Result<Event, String> {
        let faults = match self.0.get("faults") {
            None => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| "\"faults\" must be a list of strings".to_string())
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("\"faults\" must be a list of strings".into()),
        };
        let narrow = |key: &str| -> Result<u32, String> {
            u32::try_from(self.num(key)?).map_err(|_| format!("\"{key}\" does not fit 32 bits"))
        };
        Ok(Event::Start {
            version: self.num("version")?,
            info: StartInfo {
                seed: self.num("seed")?,
                deterministic: self.boolean("deterministic")?,
                bar2_size: self.num("bar2_size")?,
                record_size: narrow("record_size")?,
                rate: narrow("rate")?,
                debug_window: self.has("debug_window") && self.boolean("debug_window")?,
                faults,
            },
        })
    }
}

/// Decodes lowercase or uppercase hex.
pub fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err("\"data\" has an odd number of hex digits".into());
    }
    let digit = |c: u8| -> Result<u8, String> {
        (c as char)
            .to_digit(16)
            .map(|d| d as u8)
            .ok_or_else(|| format!("\"data\" holds '{}', not a hex digit", c as char))
    };
    s.as_bytes()
        .chunks_exact(2)
        .map(|p| Ok(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPEC §15.1: every event kind parses; bad lines say what is wrong.
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
        assert!(matches!(&parsed[3].ev, Event::Dma { data: Some(d), .. } if d == &[0xab, 0xcd]));
        assert!(matches!(parsed[7].ev, Event::Reset { vmm: true }));
        assert!(matches!(parsed[8].ev, Event::Reset { vmm: false }));
        for (line, want) in [
            ("nonsense", "not a JSON object"),
            ("[1]", "not a JSON object"),
            (r#"{"ev":"irq"}"#, "\"t\" is missing"),
            (r#"{"t":-1,"ev":"irq"}"#, "non-negative"),
            (r#"{"t":1,"ev":"boom"}"#, "unknown event"),
            (r#"{"t":1,"ev":"irq","cause":"0xzz","vec":0}"#, "\"cause\""),
            (
                r#"{"t":1,"ev":"mmio","dir":"x","bar":0,"off":"0","len":4}"#,
                "\"dir\"",
            ),
            (
                r#"{"t":1,"ev":"mmio","dir":"r","bar":300,"off":"0","len":4}"#,
                "\"bar\"",
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
        ] {
            let e = parse_line(7, line).unwrap_err();
            assert_eq!(e.line, 7);
            assert!(e.msg.contains(want), "{line}: {e}");
        }
    }
}

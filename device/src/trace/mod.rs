//! The `--trace` file: one JSON object per line (SPEC §12, §15.1), meant for
//! replay and diffing. Written through a buffer, flushed at shutdown.
//!
//! - this file: the [`Tracer`] the card model writes through;
//! - [`format`]: the line types both the writer and the reader use, and
//!   their cross-field rules ([`Event::validate`]);
//! - [`fields`]: how numbers, directions and bytes are spelled in JSON.

mod fields;
pub mod format;

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use cardless_abi::record::checksum;

pub use fields::{hex_string as hex, unhex};
use format::Line;
pub use format::{
    parse_line, parse_trace, Event, ParseError, ResetSource, StartInfo, TraceLine, TRACE_VERSION,
};

/// DMA reads and card reads of BAR2 up to this size carry their bytes.
pub const MAX_DATA_BYTES: usize = 16 << 20;
/// DMA writes up to this size carry their bytes (status blocks, small copies).
pub const MAX_WRITE_DATA_BYTES: usize = 256;

/// Writer of trace lines. I/O errors after creation are logged once and
/// then ignored: tracing must never disturb the card.
pub struct Tracer {
    out: BufWriter<Box<dyn Write + Send>>,
    failed: bool,
    /// Lines written so far: the last one's event number (SPEC §15.2).
    lines: u64,
}

/// Up to 8 bytes as a little-endian integer.
fn le_value(data: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b[..data.len()].copy_from_slice(data);
    u64::from_le_bytes(b)
}

/// `bytes` when there are at most `limit` of them.
fn bytes_up_to(bytes: &[u8], limit: usize) -> Option<Cow<'_, [u8]>> {
    (bytes.len() <= limit).then_some(Cow::Borrowed(bytes))
}

impl Tracer {
    /// Creates (truncates) the trace file.
    pub fn create(path: &Path) -> io::Result<Self> {
        Ok(Self::to_writer(Box::new(File::create(path)?)))
    }

    /// A tracer writing to any sink (tests).
    pub fn to_writer(w: Box<dyn Write + Send>) -> Self {
        Tracer {
            out: BufWriter::with_capacity(1 << 16, w),
            failed: false,
            lines: 0,
        }
    }

    /// The event number of the last line written (1-based line of the file,
    /// what replay reports); 0 before the first.
    pub fn last_event(&self) -> u64 {
        self.lines
    }

    fn line(&mut self, t: u64, ev: Event<'_>) {
        debug_assert_eq!(ev.validate(), Ok(()), "the tracer broke SPEC §12: {ev:?}");
        // Counted even after a write error, so numbers stay those of the run.
        self.lines += 1;
        if self.failed {
            return;
        }
        let written = serde_json::to_writer(&mut self.out, &Line { t, ev })
            .map_err(io::Error::from)
            .and_then(|_| self.out.write_all(b"\n"));
        if let Err(e) = written {
            log::warn!("trace write failed, tracing stops: {e}");
            self.failed = true;
        }
    }

    /// The first line: what the card was started with (SPEC §12, §15.1).
    pub fn start(&mut self, info: &StartInfo) {
        self.line(
            0,
            Event::Start {
                version: TRACE_VERSION,
                info: info.clone(),
            },
        );
    }

    /// A trapped BAR access. Up to 8 bytes: `val`; longer: `hash` and the
    /// bytes (`data`) for writes and for BAR2 reads, which replay needs.
    pub fn mmio(&mut self, t: u64, write: bool, bar: u8, off: u64, data: &[u8]) {
        let small = data.len() <= 8;
        self.line(
            t,
            Event::Mmio {
                write,
                bar,
                off,
                len: data.len() as u64,
                val: small.then(|| le_value(data)),
                hash: (!small).then(|| checksum(data)),
                data: (!small && (write || bar == 2)).then_some(Cow::Borrowed(data)),
            },
        );
    }

    /// A DMA access by the card with the bytes moved. `hash` is their §5.4
    /// checksum; reads (up to [`MAX_DATA_BYTES`]) and writes up to
    /// [`MAX_WRITE_DATA_BYTES`] also carry the bytes (`data`).
    pub fn dma(&mut self, t: u64, write: bool, addr: u64, bytes: &[u8]) {
        let limit = if write {
            MAX_WRITE_DATA_BYTES
        } else {
            MAX_DATA_BYTES
        };
        self.line(
            t,
            Event::Dma {
                write,
                addr,
                len: bytes.len() as u64,
                hash: checksum(bytes),
                data: bytes_up_to(bytes, limit),
            },
        );
    }

    /// The card read BAR2 itself (copy engine): the bytes, which the guest
    /// may have written through its mapping unseen (SPEC §15.1).
    pub fn bar2_read(&mut self, t: u64, off: u64, bytes: &[u8]) {
        self.line(
            t,
            Event::Bar2 {
                off,
                len: bytes.len() as u64,
                hash: checksum(bytes),
                data: bytes_up_to(bytes, MAX_DATA_BYTES),
            },
        );
    }

    /// An interrupt message.
    pub fn irq(&mut self, t: u64, cause: u32, vec: u16) {
        self.line(t, Event::Irq { cause, vec });
    }

    /// An error.
    pub fn error(&mut self, t: u64, code: u32, addr: u64) {
        self.line(t, Event::Error { code, addr });
    }

    /// A DMA sanitizer finding (SPEC §16): which `check`, the range, the
    /// event number of the guest action or fault behind it, and a sentence.
    pub fn sanitizer(
        &mut self,
        t: u64,
        check: &str,
        addr: u64,
        len: u64,
        cause: Option<u64>,
        msg: &str,
    ) {
        self.line(
            t,
            Event::Sanitizer {
                check: check.into(),
                addr,
                len,
                cause,
                msg: msg.into(),
            },
        );
    }

    /// A card reset: `vmm` (DEVICE_RESET) or `reg` (CONTROL.RESET).
    pub fn reset(&mut self, t: u64, src: &str) {
        debug_assert!(src == "vmm" || src == "reg", "reset source {src}");
        let src = if src == "vmm" {
            ResetSource::Vmm
        } else {
            ResetSource::Reg
        };
        self.line(t, Event::Reset { src });
    }

    /// A DMA_MAP the card accepted.
    pub fn dma_map(&mut self, t: u64, addr: u64, size: u64, writable: bool) {
        self.line(
            t,
            Event::DmaMap {
                addr,
                size,
                writable,
            },
        );
    }

    /// A DMA_UNMAP the card honoured.
    pub fn dma_unmap(&mut self, t: u64, addr: u64, size: u64) {
        self.line(t, Event::DmaUnmap { addr, size });
    }

    /// Every mapping removed (DMA_UNMAP ALL, VMM disconnect).
    pub fn dma_unmap_all(&mut self, t: u64) {
        self.line(t, Event::DmaUnmapAll);
    }

    /// A fault event (SPEC §14.5): `kind`, what happened (`act`) and an
    /// optional argument (vector, address, release time).
    pub fn fault(&mut self, t: u64, kind: &str, act: &str, arg: Option<u64>) {
        self.line(
            t,
            Event::Fault {
                kind: kind.into(),
                act: act.into(),
                arg,
            },
        );
    }
    /// Pushes buffered lines to the file.
    pub fn flush(&mut self) {
        if !self.failed {
            if let Err(e) = self.out.flush() {
                log::warn!("trace flush failed: {e}");
                self.failed = true;
            }
        }
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A sink the test can read after the tracer is gone.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// SPEC §12: each event is written exactly as the format says (these
    /// lines are what version 2 traces on disk hold), and reads back as
    /// the event that was written.
    #[test]
    fn writes_the_spec_lines_and_reads_them_back() {
        let sink = Sink::default();
        let mut tr = Tracer::to_writer(Box::new(sink.clone()));
        tr.start(&StartInfo {
            seed: 0xfeed,
            deterministic: true,
            bar2_size: 0x10_0000,
            record_size: 4096,
            rate: 0,
            debug_window: true,
            faults: vec!["stall at=0 \"q\"".into()],
        });
        tr.mmio(1, true, 0, 0x40, &0x1000u32.to_le_bytes());
        tr.mmio(2, false, 2, 0x8, &[1, 2, 3, 4, 5, 6, 7, 8, 9]);
        tr.mmio(2, false, 0, 0x8, &[0; 9]);
        tr.dma(3, false, 0x1_0000_0000, &[0xab, 0xcd]);
        tr.dma(3, true, 0x2000, &[0; MAX_WRITE_DATA_BYTES + 1]);
        tr.bar2_read(4, 0x10, &[0xff]);
        tr.irq(5, 1, 2);
        tr.error(6, 13, 0x3000);
        tr.sanitizer(6, "stray", 0x3000, 256, Some(9), "a \"quoted\" why");
        tr.sanitizer(6, "unmapped", 0x4000, 8, None, "why");
        tr.reset(7, "vmm");
        tr.reset(7, "reg");
        tr.dma_map(8, 0x1000, 0x2000, true);
        tr.dma_unmap(8, 0x1000, 0x2000);
        tr.dma_unmap_all(9);
        tr.fault(9, "stall", "fire", None);
        tr.fault(9, "drop-irq", "hold", Some(0x20));
        assert_eq!(tr.last_event(), 18);
        drop(tr);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let hash = |b: &[u8]| format!("{:#x}", checksum(b));
        let want = [
            r#"{"t":0,"ev":"start","version":2,"seed":"0xfeed","deterministic":true,"bar2_size":"0x100000","record_size":4096,"rate":0,"debug_window":true,"faults":["stall at=0 \"q\""]}"#.to_string(),
            r#"{"t":1,"ev":"mmio","dir":"w","bar":0,"off":"0x40","len":4,"val":"0x1000"}"#.into(),
            format!(r#"{{"t":2,"ev":"mmio","dir":"r","bar":2,"off":"0x8","len":9,"hash":"{}","data":"010203040506070809"}}"#, hash(&[1, 2, 3, 4, 5, 6, 7, 8, 9])),
            format!(r#"{{"t":2,"ev":"mmio","dir":"r","bar":0,"off":"0x8","len":9,"hash":"{}"}}"#, hash(&[0; 9])),
            format!(r#"{{"t":3,"ev":"dma","dir":"r","addr":"0x100000000","len":2,"hash":"{}","data":"abcd"}}"#, hash(&[0xab, 0xcd])),
            format!(r#"{{"t":3,"ev":"dma","dir":"w","addr":"0x2000","len":257,"hash":"{}"}}"#, hash(&[0; 257])),
            format!(r#"{{"t":4,"ev":"bar2","off":"0x10","len":1,"hash":"{}","data":"ff"}}"#, hash(&[0xff])),
            r#"{"t":5,"ev":"irq","cause":"0x1","vec":2}"#.into(),
            r#"{"t":6,"ev":"error","code":13,"addr":"0x3000"}"#.into(),
            r#"{"t":6,"ev":"sanitizer","check":"stray","addr":"0x3000","len":256,"cause":9,"msg":"a \"quoted\" why"}"#.into(),
            r#"{"t":6,"ev":"sanitizer","check":"unmapped","addr":"0x4000","len":8,"msg":"why"}"#.into(),
            r#"{"t":7,"ev":"reset","src":"vmm"}"#.into(),
            r#"{"t":7,"ev":"reset","src":"reg"}"#.into(),
            r#"{"t":8,"ev":"dma_map","addr":"0x1000","size":"0x2000","writable":true}"#.into(),
            r#"{"t":8,"ev":"dma_unmap","addr":"0x1000","size":"0x2000"}"#.into(),
            r#"{"t":9,"ev":"dma_unmap_all"}"#.into(),
            r#"{"t":9,"ev":"fault","kind":"stall","act":"fire"}"#.into(),
            r#"{"t":9,"ev":"fault","kind":"drop-irq","act":"hold","arg":"0x20"}"#.into(),
        ];
        let got: Vec<&str> = text.lines().collect();
        assert_eq!(got.len(), want.len(), "{text}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w);
        }
        // Read back: the same events, each passing validate().
        let lines = parse_trace(&text).unwrap();
        assert!(matches!(
            &lines[2].ev,
            Event::Mmio { write: false, bar: 2, val: None, hash: Some(_), data: Some(d), .. }
                if **d == [1, 2, 3, 4, 5, 6, 7, 8, 9]
        ));
        assert!(matches!(
            lines[12].ev,
            Event::Reset {
                src: ResetSource::Reg
            }
        ));
        assert_eq!(
            lines[17].ev,
            Event::Fault {
                kind: "drop-irq".into(),
                act: "hold".into(),
                arg: Some(0x20)
            }
        );
    }
}

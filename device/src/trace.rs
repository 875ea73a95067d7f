//! The `--trace` file: one JSON object per line (SPEC §12, §15.1), meant for
//! replay and diffing. Written through a buffer, flushed at shutdown.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use cardless_abi::record::checksum;

/// Trace format version in the `start` line.
pub const TRACE_VERSION: u32 = 2;
/// DMA reads and card reads of BAR2 up to this size carry their bytes.
pub const MAX_DATA_BYTES: usize = 16 << 20;
/// DMA writes up to this size carry their bytes (status blocks, small copies).
pub const MAX_WRITE_DATA_BYTES: usize = 256;

/// What the `start` line records: everything replay needs to rebuild the card.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StartInfo {
    /// `--seed`.
    pub seed: u64,
    /// Deterministic mode (§8).
    pub deterministic: bool,
    /// BAR2 size in bytes.
    pub bar2_size: u64,
    /// Reset value of RECORD_SIZE.
    pub record_size: u32,
    /// Reset value of RATE.
    pub rate: u32,
    /// Whether the debug window (§14.4) exists.
    pub debug_window: bool,
    /// The fault plan, one canonical line each (§14.2).
    pub faults: Vec<String>,
}

/// Bytes as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// `,"data":"<hex>"`.
fn data_field(bytes: &[u8]) -> String {
    format!(",\"data\":\"{}\"", hex(bytes))
}

/// Writer of trace lines. I/O errors after creation are logged once and
/// then ignored: tracing must never disturb the card.
pub struct Tracer {
    out: BufWriter<Box<dyn Write + Send>>,
    failed: bool,
    /// Lines written so far: the last one's event number (SPEC §15.2).
    lines: u64,
}

/// Values up to 8 bytes as a little-endian integer, longer ones as a hash.
fn value_field(data: &[u8]) -> String {
    if data.len() <= 8 {
        let mut b = [0u8; 8];
        b[..data.len()].copy_from_slice(data);
        format!("\"val\":\"{:#x}\"", u64::from_le_bytes(b))
    } else {
        format!("\"hash\":\"{:#x}\"", checksum(data))
    }
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

    fn line(&mut self, s: std::fmt::Arguments<'_>) {
        // Counted even after a write error, so numbers stay those of the run.
        self.lines += 1;
        if self.failed {
            return;
        }
        if let Err(e) = self
            .out
            .write_fmt(s)
            .and_then(|_| self.out.write_all(b"\n"))
        {
            log::warn!("trace write failed, tracing stops: {e}");
            self.failed = true;
        }
    }

    /// The first line: what the card was started with (SPEC §12, §15.1).
    pub fn start(&mut self, info: &StartInfo) {
        let faults: Vec<String> = info
            .faults
            .iter()
            .map(|f| serde_json::Value::String(f.clone()).to_string())
            .collect();
        self.line(format_args!(
            "{{\"t\":0,\"ev\":\"start\",\"version\":{TRACE_VERSION},\"seed\":\"{:#x}\",\"deterministic\":{},\"bar2_size\":\"{:#x}\",\"record_size\":{},\"rate\":{},\"debug_window\":{},\"faults\":[{}]}}",
            info.seed,
            info.deterministic,
            info.bar2_size,
            info.record_size,
            info.rate,
            info.debug_window,
            faults.join(",")
        ));
    }

    /// A trapped BAR access. Up to 8 bytes: `val`; longer: `hash` and the
    /// bytes (`data`) for writes and for BAR2 reads, which replay needs.
    pub fn mmio(&mut self, t: u64, write: bool, bar: u8, off: u64, data: &[u8]) {
        let dir = if write { "w" } else { "r" };
        let v = value_field(data);
        let bytes = if data.len() > 8 && (write || bar == 2) {
            data_field(data)
        } else {
            String::new()
        };
        self.line(format_args!(
            "{{\"t\":{t},\"ev\":\"mmio\",\"dir\":\"{dir}\",\"bar\":{bar},\"off\":\"{off:#x}\",\"len\":{},{v}{bytes}}}",
            data.len()
        ));
    }

    /// A DMA access by the card with the bytes moved. `hash` is their §5.4
    /// checksum; reads (up to [`MAX_DATA_BYTES`]) and writes up to
    /// [`MAX_WRITE_DATA_BYTES`] also carry the bytes (`data`).
    pub fn dma(&mut self, t: u64, write: bool, addr: u64, bytes: &[u8]) {
        let dir = if write { "w" } else { "r" };
        let limit = if write {
            MAX_WRITE_DATA_BYTES
        } else {
            MAX_DATA_BYTES
        };
        let data = if bytes.len() <= limit {
            data_field(bytes)
        } else {
            String::new()
        };
        self.line(format_args!(
            "{{\"t\":{t},\"ev\":\"dma\",\"dir\":\"{dir}\",\"addr\":\"{addr:#x}\",\"len\":{},\"hash\":\"{:#x}\"{data}}}",
            bytes.len(),
            checksum(bytes)
        ));
    }

    /// The card read BAR2 itself (copy engine): the bytes, which the guest
    /// may have written through its mapping unseen (SPEC §15.1).
    pub fn bar2_read(&mut self, t: u64, off: u64, bytes: &[u8]) {
        let data = if bytes.len() <= MAX_DATA_BYTES {
            data_field(bytes)
        } else {
            String::new()
        };
        self.line(format_args!(
            "{{\"t\":{t},\"ev\":\"bar2\",\"off\":\"{off:#x}\",\"len\":{},\"hash\":\"{:#x}\"{data}}}",
            bytes.len(),
            checksum(bytes)
        ));
    }

    /// An interrupt message.
    pub fn irq(&mut self, t: u64, cause: u32, vec: u16) {
        self.line(format_args!(
            "{{\"t\":{t},\"ev\":\"irq\",\"cause\":\"{cause:#x}\",\"vec\":{vec}}}"
        ));
    }

    /// An error.
    pub fn error(&mut self, t: u64, code: u32, addr: u64) {
        self.line(format_args!(
            "{{\"t\":{t},\"ev\":\"error\",\"code\":{code},\"addr\":\"{addr:#x}\"}}"
        ));
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
        let cause = cause.map_or(String::new(), |c| format!(",\"cause\":{c}"));
        let msg = serde_json::Value::String(msg.to_owned()).to_string();
        self.line(format_args!(
            "{{\"t\":{t},\"ev\":\"sanitizer\",\"check\":\"{check}\",\"addr\":\"{addr:#x}\",\"len\":{len}{cause},\"msg\":{msg}}}"
        ));
    }

    /// A card reset: `vmm` (DEVICE_RESET) or `reg` (CONTROL.RESET).
    pub fn reset(&mut self, t: u64, src: &str) {
        self.line(format_args!(
            "{{\"t\":{t},\"ev\":\"reset\",\"src\":\"{src}\"}}"
        ));
    }

    /// A DMA_MAP the card accepted.
    pub fn dma_map(&mut self, t: u64, addr: u64, size: u64, writable: bool) {
        self.line(format_args!(
            "{{\"t\":{t},\"ev\":\"dma_map\",\"addr\":\"{addr:#x}\",\"size\":\"{size:#x}\",\"writable\":{writable}}}"
        ));
    }

    /// A DMA_UNMAP the card honoured.
    pub fn dma_unmap(&mut self, t: u64, addr: u64, size: u64) {
        self.line(format_args!(
            "{{\"t\":{t},\"ev\":\"dma_unmap\",\"addr\":\"{addr:#x}\",\"size\":\"{size:#x}\"}}"
        ));
    }

    /// Every mapping removed (DMA_UNMAP ALL, VMM disconnect).
    pub fn dma_unmap_all(&mut self, t: u64) {
        self.line(format_args!("{{\"t\":{t},\"ev\":\"dma_unmap_all\"}}"));
    }

    /// A fault event (SPEC §14.5): `kind`, what happened (`act`) and an
    /// optional argument (vector, address, release time).
    pub fn fault(&mut self, t: u64, kind: &str, act: &str, arg: Option<u64>) {
        let arg = arg.map_or(String::new(), |a| format!(",\"arg\":\"{a:#x}\""));
        self.line(format_args!(
            "{{\"t\":{t},\"ev\":\"fault\",\"kind\":\"{kind}\",\"act\":\"{act}\"{arg}}}"
        ));
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

//! The `--trace` file: one JSON object per line (SPEC §12), meant for
//! replay and diffing. Written through a buffer, flushed at shutdown.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use cardless_abi::record::checksum;

/// Writer of trace lines. I/O errors after creation are logged once and
/// then ignored: tracing must never disturb the card.
pub struct Tracer {
    out: BufWriter<Box<dyn Write + Send>>,
    failed: bool,
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
        }
    }

    fn line(&mut self, s: std::fmt::Arguments<'_>) {
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

    /// The first line: what the card was started with.
    pub fn start(
        &mut self,
        seed: u64,
        deterministic: bool,
        bar2_size: u64,
        record_size: u32,
        rate: u32,
    ) {
        self.line(format_args!(
            "{{\"t\":0,\"ev\":\"start\",\"version\":1,\"seed\":\"{seed:#x}\",\"deterministic\":{deterministic},\"bar2_size\":\"{bar2_size:#x}\",\"record_size\":{record_size},\"rate\":{rate}}}"
        ));
    }

    /// A trapped BAR access.
    pub fn mmio(&mut self, t: u64, write: bool, bar: u8, off: u64, data: &[u8]) {
        let dir = if write { "w" } else { "r" };
        let v = value_field(data);
        self.line(format_args!(
            "{{\"t\":{t},\"ev\":\"mmio\",\"dir\":\"{dir}\",\"bar\":{bar},\"off\":\"{off:#x}\",\"len\":{},{v}}}",
            data.len()
        ));
    }

    /// A DMA access by the card; `hash` is the §5.4 checksum of the bytes.
    pub fn dma(&mut self, t: u64, write: bool, addr: u64, len: u64, hash: u64) {
        let dir = if write { "w" } else { "r" };
        self.line(format_args!(
            "{{\"t\":{t},\"ev\":\"dma\",\"dir\":\"{dir}\",\"addr\":\"{addr:#x}\",\"len\":{len},\"hash\":\"{hash:#x}\"}}"
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

    /// A card reset.
    pub fn reset(&mut self, t: u64) {
        self.line(format_args!("{{\"t\":{t},\"ev\":\"reset\"}}"));
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

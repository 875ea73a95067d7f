//! Where trace lines go: a buffer in front of the file, so tracing costs a
//! `write(2)` per 64 KiB rather than per line, and a flusher thread that
//! bounds how long a line may wait in that buffer ([`MAX_LINE_AGE`], SPEC
//! §12). Without the bound, a card killed without a shutdown (the harness
//! SIGKILLs one in its card-death suite) would lose every line since its
//! last full buffer, and the verdict could not judge its last errors.
//!
//! The flusher sleeps until a line lands in an empty buffer, waits
//! [`MAX_LINE_AGE`] (later lines ride along) and pushes the buffer out. So
//! an idle card wakes no thread, a busy one flushes at most ten more times
//! a second than its buffer fills, and the writer pays no clock read: one
//! uncontended lock per line, and a wake-up per flush.

use std::io::{self, BufWriter, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// The longest a written line waits in the buffer before it reaches the
/// file (give or take the scheduler).
pub const MAX_LINE_AGE: Duration = Duration::from_millis(100);

/// The buffer lines are written into. A concrete type, so a serializer's
/// many small writes per line inline its fast path.
pub type Buffer = BufWriter<Box<dyn Write + Send>>;

/// The buffer and its state, shared by the writer and the flusher.
struct Buffered {
    out: Buffer,
    /// A write or flush failed: tracing has stopped (logged once).
    failed: bool,
    /// The tracer is gone: the flusher ends.
    closing: bool,
}

impl Buffered {
    fn flush(&mut self) {
        if self.failed {
            return;
        }
        if let Err(e) = self.out.flush() {
            log::warn!("trace flush failed, tracing stops: {e}");
            self.failed = true;
        }
    }
}

struct Shared {
    buffered: Mutex<Buffered>,
    /// Signals the flusher: a line landed in an empty buffer, or closing.
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Buffered> {
        // A panic while holding the lock leaves at worst a partial line.
        self.buffered.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A buffered sink whose lines reach it within [`MAX_LINE_AGE`].
pub struct Output {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
}

impl Output {
    /// Buffers `w` and starts its flusher. If the thread cannot start,
    /// lines reach `w` only when the buffer fills, on [`Output::flush`] and
    /// on drop (said once in the log).
    pub fn new(w: Box<dyn Write + Send>) -> Self {
        let shared = Arc::new(Shared {
            buffered: Mutex::new(Buffered {
                out: BufWriter::with_capacity(1 << 16, w),
                failed: false,
                closing: false,
            }),
            wake: Condvar::new(),
        });
        let theirs = shared.clone();
        let flusher = std::thread::Builder::new()
            .name("trace-flush".into())
            .spawn(move || flush_loop(&theirs))
            .map_err(|e| {
                log::warn!(
                    "cannot start the trace flusher thread ({e}): trace lines reach the file \
                     only in 64 KiB blocks and at shutdown, so a killed card loses its last ones"
                )
            })
            .ok();
        Output { shared, flusher }
    }

    /// Writes one whole line through `write` (which must not write a
    /// newline of its own; this adds it). After a failed write, tracing
    /// stops: the error is logged once, and later lines are dropped.
    pub fn line(&self, write: impl FnOnce(&mut Buffer) -> io::Result<()>) {
        let mut b = self.shared.lock();
        if b.failed {
            return;
        }
        let was_empty = b.out.buffer().is_empty();
        let written = write(&mut b.out).and_then(|_| b.out.write_all(b"\n"));
        if let Err(e) = written {
            log::warn!("trace write failed, tracing stops: {e}");
            b.failed = true;
            return;
        }
        // Only the first line after a flush starts the clock.
        if was_empty && !b.out.buffer().is_empty() {
            self.shared.wake.notify_one();
        }
    }

    /// Pushes buffered lines to the file now.
    pub fn flush(&self) {
        self.shared.lock().flush();
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.wake.notify_one();
        if let Some(flusher) = self.flusher.take() {
            if flusher.join().is_err() {
                log::warn!("the trace flusher thread panicked");
            }
        }
        self.flush();
    }
}

/// The flusher thread: waits for a buffered line, lets it age up to
/// [`MAX_LINE_AGE`], flushes; ends when the [`Output`] is dropped.
fn flush_loop(shared: &Shared) {
    let mut b = shared.lock();
    loop {
        b = shared
            .wake
            .wait_while(b, |b| !b.closing && (b.failed || b.out.buffer().is_empty()))
            .unwrap_or_else(|e| e.into_inner());
        if !b.closing {
            // The lock is released while waiting, so the writer goes on.
            b = shared
                .wake
                .wait_timeout_while(b, MAX_LINE_AGE, |b| !b.closing)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        if b.closing {
            // The Output's drop flushes what is left, after joining us.
            return;
        }
        b.flush();
    }
}

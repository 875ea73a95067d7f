//! The kernel log, from a point on: `Kmsg::here()` then `lines()` returns
//! what the kernel logged since (reads `/dev/kmsg`, never blocks).

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;

pub struct Kmsg {
    file: File,
}

impl Kmsg {
    /// Starts reading at the end of the log as it is now.
    pub fn here() -> Result<Kmsg, String> {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/kmsg")
            .map_err(|e| format!("open /dev/kmsg: {e}"))?;
        file.seek(SeekFrom::End(0))
            .map_err(|e| format!("seek /dev/kmsg: {e}"))?;
        Ok(Kmsg { file })
    }

    /// The messages logged since `here()` (or the last call), without the
    /// `prio,seq,time,flags;` prefix.
    pub fn lines(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        let mut record = [0u8; 8192];
        loop {
            match self.file.read(&mut record) {
                Ok(0) => break,
                Ok(n) => {
                    let text = String::from_utf8_lossy(&record[..n]);
                    let first = text.lines().next().unwrap_or("");
                    out.push(first.split_once(';').map_or(first, |(_, m)| m).to_string());
                }
                // EPIPE: records were overwritten; the next read resumes.
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => break,
            }
        }
        out
    }
}

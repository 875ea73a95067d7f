//! One record as text: its header fields (SPEC §5.1), whether it checks
//! out (§5.2, §5.4), and its bytes.

use cardless_abi::record::{RecordHeader, RECORD_HEADER_SIZE, REC_FLAG_AFTER_DROP};

/// The dump of the record at producer index `index`.
pub fn record(index: u32, bytes: &[u8], check: Result<(), String>) -> String {
    let mut out = format!("record at producer index {index}, {} bytes\n", bytes.len());
    if let Some(hb) = bytes.first_chunk::<RECORD_HEADER_SIZE>() {
        let h = RecordHeader::from_bytes(hb);
        let magic = h.magic.to_le_bytes();
        out += &format!(
            "  magic          {:#010x} \"{}\"\n  header_len     {}\n  flags          {:#06x}{}\n  seq            {}\n  timestamp_ns   {}\n  payload_len    {}\n  dropped_before {}\n  checksum       {:#018x}\n",
            h.magic,
            String::from_utf8_lossy(&magic),
            h.header_len,
            h.flags,
            if h.flags & REC_FLAG_AFTER_DROP != 0 { " AFTER_DROP" } else { "" },
            h.seq,
            h.timestamp_ns,
            h.payload_len,
            h.dropped_before,
            h.checksum
        );
    }
    out += &match check {
        Ok(()) => "  check          ok: header, checksum and every payload word\n".to_string(),
        Err(e) => format!("  check          FAILED: {e}\n"),
    };
    for (i, line) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        out += &format!("  {:04x}  {}\n", i * 16, hex.join(" "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardless_abi::record::RECORD_MAGIC;

    #[test]
    fn decodes_the_header_and_says_whether_it_checked() {
        let h = RecordHeader {
            magic: RECORD_MAGIC,
            header_len: 40,
            flags: REC_FLAG_AFTER_DROP,
            seq: 7,
            payload_len: 24,
            dropped_before: 2,
            ..Default::default()
        };
        let mut bytes = h.to_bytes().to_vec();
        bytes.extend([0u8; 24]);
        let text = record(7, &bytes, Err("bad checksum".into()));
        assert!(text.contains("\"CREC\""), "{text}");
        assert!(text.contains("seq            7\n"));
        assert!(text.contains("flags          0x0001 AFTER_DROP"));
        assert!(text.contains("FAILED: bad checksum"));
        assert!(text.contains("  0030  00 00"));
        assert_eq!(text.lines().filter(|l| l.starts_with("  00")).count(), 4);
        assert!(record(0, &bytes, Ok(())).contains("check          ok"));
    }
}

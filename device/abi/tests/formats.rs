//! Layout, PRNG and checksum tests of the shared ABI (SPEC §4, §5).

use cardless_abi::record::*;
use cardless_abi::regs::*;
use core::mem::{offset_of, size_of};

/// SPEC §5.1: the header is 40 bytes with the documented field offsets.
#[test]
fn record_header_layout() {
    assert_eq!(size_of::<RecordHeader>(), RECORD_HEADER_SIZE);
    assert_eq!(offset_of!(RecordHeader, magic), 0);
    assert_eq!(offset_of!(RecordHeader, header_len), 4);
    assert_eq!(offset_of!(RecordHeader, flags), 6);
    assert_eq!(offset_of!(RecordHeader, seq), 8);
    assert_eq!(offset_of!(RecordHeader, timestamp_ns), 16);
    assert_eq!(offset_of!(RecordHeader, payload_len), 24);
    assert_eq!(offset_of!(RecordHeader, dropped_before), 28);
    assert_eq!(offset_of!(RecordHeader, checksum), RECORD_CHECKSUM_OFFSET);
    assert_eq!(&RECORD_MAGIC.to_le_bytes(), b"CREC");
}

/// SPEC §5.3: the status block is 64 bytes with the documented field offsets.
#[test]
fn status_block_layout() {
    assert_eq!(size_of::<StatusBlock>(), STATUS_BLOCK_SIZE);
    assert_eq!(offset_of!(StatusBlock, prod_idx), 0);
    assert_eq!(offset_of!(StatusBlock, status), 4);
    assert_eq!(offset_of!(StatusBlock, produced), 8);
    assert_eq!(offset_of!(StatusBlock, dropped), 16);
    assert_eq!(offset_of!(StatusBlock, next_seq), 24);
    assert_eq!(offset_of!(StatusBlock, vtime_ns), 32);
    assert_eq!(offset_of!(StatusBlock, error_code), 40);
    assert_eq!(offset_of!(StatusBlock, int_status), 44);
    assert_eq!(offset_of!(StatusBlock, error_addr), 48);
    assert_eq!(offset_of!(StatusBlock, generation), 56);
}

/// Memory form round-trips and matches a plain `repr(C)` copy on little-endian hosts.
#[test]
fn header_and_status_round_trip() {
    let h = RecordHeader {
        magic: RECORD_MAGIC,
        header_len: RECORD_HEADER_SIZE as u16,
        flags: REC_FLAG_AFTER_DROP,
        seq: 0x0102_0304_0506_0708,
        timestamp_ns: 99,
        payload_len: 24,
        dropped_before: 3,
        checksum: 0xdead_beef_f00d_cafe,
    };
    assert_eq!(RecordHeader::from_bytes(&h.to_bytes()), h);
    // SAFETY: RecordHeader is repr(C) plain data without padding (layout test above).
    let raw: [u8; RECORD_HEADER_SIZE] = unsafe { core::mem::transmute(h) };
    assert_eq!(raw, h.to_bytes());
    let s = StatusBlock {
        prod_idx: 7,
        status: 1,
        produced: 8,
        dropped: 9,
        next_seq: 10,
        vtime_ns: 11,
        error_code: 12,
        int_status: 13,
        error_addr: 14,
        generation: 15,
    };
    assert_eq!(StatusBlock::from_bytes(&s.to_bytes()), s);
}

/// Builds a record the slow, obvious way.
fn build_record(seed: u64, seq: u64, record_size: usize) -> Vec<u8> {
    let payload_len = record_size - RECORD_HEADER_SIZE;
    let mut h = RecordHeader {
        magic: RECORD_MAGIC,
        header_len: RECORD_HEADER_SIZE as u16,
        flags: 0,
        seq,
        timestamp_ns: seq.wrapping_mul(1000),
        payload_len: payload_len as u32,
        dropped_before: 0,
        checksum: 0,
    };
    let mut rec = h.to_bytes().to_vec();
    for j in 0..payload_len / 8 {
        rec.extend_from_slice(&payload_word(seed, seq, j as u64).to_le_bytes());
    }
    h.checksum = checksum(&rec);
    rec[..RECORD_HEADER_SIZE].copy_from_slice(&h.to_bytes());
    rec
}

/// SPEC §5.4: the closed-form checksum equals the byte-wise checksum.
#[test]
fn closed_form_checksum_matches_bytes() {
    for &size in &[64usize, 72, 512, 4096, 65536] {
        for seq in [0u64, 1, 2, 1000, u64::MAX] {
            let seed = 0x1234_5678_9abc_def0 ^ seq;
            let rec = build_record(seed, seq, size);
            let h = RecordHeader::from_bytes(rec[..RECORD_HEADER_SIZE].try_into().unwrap());
            assert_eq!(
                record_checksum(&h, seed),
                h.checksum,
                "size {size} seq {seq}"
            );
            assert_eq!(verify_record(&rec, seed), Ok(h));
        }
    }
}

/// SPEC §5.2, §5.4: verification catches single-byte corruption anywhere and a wrong seed.
#[test]
fn verify_detects_corruption() {
    let rec = build_record(7, 3, 256);
    for i in 0..rec.len() {
        let mut bad = rec.clone();
        bad[i] ^= 0x10;
        assert!(verify_record(&bad, 7).is_err(), "flip at {i} undetected");
    }
    assert!(matches!(
        verify_record(&rec, 8),
        Err(RecordError::Payload(0))
    ));
    assert_eq!(verify_record(&rec[..39], 7), Err(RecordError::Length));
    assert_eq!(verify_record(&rec[..248], 7), Err(RecordError::Length));
}

/// SPEC §5.2: payloads depend on seed and seq; words within a record differ.
#[test]
fn prng_properties() {
    assert_ne!(payload_key(1, 0), payload_key(2, 0));
    assert_ne!(payload_key(1, 0), payload_key(1, 1));
    assert_eq!(payload_word(5, 6, 0), payload_key(5, 6));
    assert_eq!(
        payload_word(5, 6, 2),
        payload_key(5, 6).wrapping_add(PAYLOAD_WEYL.wrapping_mul(2))
    );
    // Known-answer values pin the algorithm: the driver and tools must agree.
    assert_eq!(mix64(0), 0);
    assert_eq!(mix64(PAYLOAD_WEYL), 0xe220_a839_7b1d_cdaf); // splitmix64(seed 0) first output
}

/// SPEC §5.4: checksum of a partial last word zero-pads and still mixes the length.
#[test]
fn checksum_of_odd_lengths() {
    assert_ne!(checksum(&[1, 2, 3]), checksum(&[1, 2, 3, 0]));
    assert_eq!(
        weighted_sum(&[1, 2, 3], 0),
        weighted_sum(&[1, 2, 3, 0, 0, 0, 0, 0], 0)
    );
    assert_ne!(checksum(&[]), checksum(&[0]));
}

/// SPEC §4: registers are 4-byte aligned, distinct, inside BAR0; 64-bit pairs are 8-aligned.
#[test]
fn register_map_sane() {
    let mut prev = None;
    for &r in ALL_REGS {
        assert_eq!(r % REG_WIDTH, 0);
        assert!(r + REG_WIDTH <= BAR0_SIZE);
        if let Some(p) = prev {
            assert!(r > p, "ALL_REGS not sorted at {r:#x}");
        }
        prev = Some(r);
    }
    for lo in [
        ERROR_ADDR_LO,
        RING_BASE_LO,
        STATUS_ADDR_LO,
        SEED_LO,
        VTIME_LO,
        COPY_HOST_LO,
        COPY_RESULT_LO,
    ] {
        assert_eq!(lo % 8, 0);
    }
    assert_eq!(int_vector(INT_DATA_READY), Some(VEC_DATA_READY));
    assert_eq!(int_vector(INT_OVERFLOW), Some(VEC_OVERFLOW));
    assert_eq!(int_vector(1 << 9), None);
    assert!(BAR2_DEFAULT_SIZE.is_power_of_two() && BAR2_MIN_SIZE <= BAR2_DEFAULT_SIZE);
    assert!((MIN_RECORD_SIZE as usize) > RECORD_HEADER_SIZE);
    assert_eq!(slot_offset(5, 4, 64), Some(64));
    assert_eq!(slot_offset(5, 0, 64), None);
}

/// SPEC §10, §4.3-§4.5, §7.1: the name tables tools print with hold every
/// error code (in code order) and every bit constant of the source.
#[test]
fn name_tables_are_complete() {
    let source = include_str!("../src/regs.rs");
    let consts = |prefix: &str| -> Vec<&str> {
        source
            .lines()
            .filter_map(|l| l.strip_prefix("pub const ")?.split_once(": u32 ="))
            .map(|(n, _)| n)
            .filter(|n| n.starts_with(prefix) && !n.ends_with("_MASK") && *n != "INT_ALL")
            .collect()
    };
    let names =
        |t: &[(&'static str, u32)]| -> Vec<&'static str> { t.iter().map(|e| e.0).collect() };
    assert_eq!(ERR_NAMES.to_vec(), consts("ERR_"));
    assert_eq!(names(CONTROL_BITS), consts("CTRL_"));
    assert_eq!(names(STATUS_BITS), consts("STS_"));
    assert_eq!(names(INT_BITS), consts("INT_"));
    assert_eq!(names(FEATURE_BITS), consts("FEAT_"));
}

//! A record written in pieces the ring's layout and the DMA mappings
//! make (SPEC §5.2, §5.5) is the record written whole.

use std::fs::File;
use std::os::unix::fs::FileExt;

use cardless_abi::record::{
    payload_key, record_checksum, verify_record, RecordHeader, RECORD_MAGIC,
};

use super::*;
use crate::dma::tests::memfd;
use crate::dma::DmaSpace;

const SEED: u64 = 0x5eed;

/// The header of record `seq` of `size` bytes, checksummed.
fn header(seq: u64, size: usize) -> [u8; RECORD_HEADER_SIZE] {
    let mut h = RecordHeader {
        magic: RECORD_MAGIC,
        header_len: RECORD_HEADER_SIZE as u16,
        flags: 0,
        seq,
        timestamp_ns: 5,
        payload_len: (size - RECORD_HEADER_SIZE) as u32,
        dropped_before: 0,
        checksum: 0,
    };
    h.checksum = record_checksum(&h, SEED);
    h.to_bytes()
}

/// A piece that starts inside the header and ends in the payload (an SG
/// page boundary inside a record's header) gets the rest of the header,
/// then payload; a piece that starts and ends inside one payload word
/// gets those bytes of it.
#[test]
fn pieces_across_the_header_end_and_inside_a_word() {
    let size = 256;
    let header = header(3, size);
    let mut buf = PayloadBuf::default();
    let mut mem = vec![0u8; size];
    let word = RECORD_HEADER_SIZE + 8;
    for (from, to) in [
        (0, 3),
        (3, word + 5),
        (word + 5, word + 7),
        (word + 7, size),
    ] {
        let mut rec = RecordBytes {
            header: &header,
            key: payload_key(SEED, 3),
            buf: &mut buf,
        };
        fill(&VolatileSlice::from(&mut mem[from..to]), from, &mut rec);
    }
    assert_eq!(mem[..RECORD_HEADER_SIZE], header);
    verify_record(&mem, SEED).unwrap();
}

/// A slot that runs from one DMA mapping into the next (adjacent IOVAs,
/// different memory) is written across both, each part at its place in
/// the record.
#[test]
fn a_slot_across_two_mappings_is_one_record() {
    let dma = DmaSpace::new();
    let (lo, hi) = (memfd(0x1000), memfd(0x1000));
    let (lo_file, hi_file) = (
        File::from(lo.try_clone().unwrap()),
        File::from(hi.try_clone().unwrap()),
    );
    dma.map(0x10000, 0x1000, lo, 0, true).unwrap();
    dma.map(0x11000, 0x1000, hi, 0, true).unwrap();
    let rs = 0x200u32;
    let ring = Ring {
        layout: Layout::Contig { base: 0x10f00 },
        entries: 2,
        record_size: rs,
    };
    let header = header(0, rs as usize);
    let mut buf = PayloadBuf::default();
    let mut rec = RecordBytes {
        header: &header,
        key: payload_key(SEED, 0),
        buf: &mut buf,
    };
    let mut pieces = Vec::new();
    let written = ring.write_record(
        &dma.view(),
        0,
        &mut rec,
        |_, _| true,
        |a, n| pieces.push((a, n)),
    );
    assert!(written.is_ok());
    assert_eq!(pieces, [(0x10f00, u64::from(rs))], "one ring piece");
    let mut bytes = vec![0u8; rs as usize];
    lo_file.read_exact_at(&mut bytes[..0x100], 0xf00).unwrap();
    hi_file.read_exact_at(&mut bytes[0x100..], 0).unwrap();
    verify_record(&bytes, SEED).unwrap();
}

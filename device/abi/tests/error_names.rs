//! Every §10 error code's name in `ERR_NAMES` is the constant's own name.

use cardless_abi::regs::*;

#[test]
fn error_names_match_their_constants() {
    let pairs = [
        (ERR_NONE, "ERR_NONE"),
        (ERR_DMA_UNMAPPED, "ERR_DMA_UNMAPPED"),
        (ERR_DMA_READONLY, "ERR_DMA_READONLY"),
        (ERR_DMA_OVERFLOW, "ERR_DMA_OVERFLOW"),
        (ERR_BAD_RING_SIZE, "ERR_BAD_RING_SIZE"),
        (ERR_BAD_RECORD_SIZE, "ERR_BAD_RECORD_SIZE"),
        (ERR_BAD_ALIGNMENT, "ERR_BAD_ALIGNMENT"),
        (ERR_BAD_SG_COUNT, "ERR_BAD_SG_COUNT"),
        (ERR_BAD_SG_ENTRY, "ERR_BAD_SG_ENTRY"),
        (ERR_BAD_CONS_IDX, "ERR_BAD_CONS_IDX"),
        (ERR_COPY_RANGE, "ERR_COPY_RANGE"),
        (ERR_BAD_STEP, "ERR_BAD_STEP"),
        (ERR_BAD_COPY_OP, "ERR_BAD_COPY_OP"),
        (ERR_DMA_STRAY, "ERR_DMA_STRAY"),
        (ERR_RING_OVERLAP, "ERR_RING_OVERLAP"),
    ];
    assert_eq!(
        pairs.len(),
        ERR_NAMES.len(),
        "a code without a name or a name without a code"
    );
    for (code, name) in pairs {
        assert_eq!(error_name(code), Some(name));
    }
    assert_eq!(error_name(ERR_NAMES.len() as u32), None);
}

//! The memfds the card makes are sealed as its doc says (`cargo mutants`
//! survivor, device/MUTANTS.md): the DMA space relies on "cannot shrink",
//! BAR2 on its size never changing.

use std::fs::File;

use rustix::fs::{fcntl_add_seals, fcntl_get_seals, SealFlags};

use super::*;

/// No shrink, no grow, no more seals; the bytes are there and zeroed.
#[test]
fn a_sealed_memfd_can_neither_shrink_nor_grow_nor_be_resealed() {
    let fd = sealed_memfd(c"seal-test", 0x2000).unwrap();
    assert_eq!(
        fcntl_get_seals(&fd).unwrap(),
        SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL
    );
    let file = File::from(fd.try_clone().unwrap());
    assert!(file.set_len(0x1000).is_err(), "shrunk");
    assert!(file.set_len(0x3000).is_err(), "grown");
    assert!(
        fcntl_add_seals(&fd, SealFlags::WRITE).is_err(),
        "sealed again"
    );
    assert_eq!(file.metadata().unwrap().len(), 0x2000);
}

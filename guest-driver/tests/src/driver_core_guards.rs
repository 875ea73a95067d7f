//! More of the driver core: what user space may write to the card, the
//! interrupt acknowledgement, BAR2 through the driver's own mapping, and
//! the caching mode of every mapping as x86 PAT recorded it.

use crate::card::{Card, Errno};
use crate::ktap::CaseResult;
use crate::wait::wait_for;
use crate::{check, check_eq, memtype, pci};
use cardless_abi::{record, regs};

const PAGE: usize = 4096;

/// What IOC_REG_WRITE lets user space write (uapi `IOC_REG_WRITE`, README):
/// nothing that programs a DMA address or starts DMA.
const USER_WRITABLE: [u64; 7] = [
    regs::SCRATCH,
    regs::INT_STATUS,
    regs::ERROR_CODE,
    regs::COPY_BAR_OFF,
    regs::COPY_LEN,
    regs::STEP,
    regs::STEP_NS,
];

pub fn reg_write_refuses_every_register_that_programs_dma() -> CaseResult {
    let card = Card::open(0)?;
    let mut refused = 0;
    // Every register, and offsets between and past them (the debug window too).
    let offsets = regs::ALL_REGS
        .iter()
        .copied()
        .chain([0x0fc, 0x400, 0x800, 0x804, 0x824, 0xffc]);
    for off in offsets {
        if USER_WRITABLE.contains(&off) || off == regs::COPY_CTRL {
            continue;
        }
        match card.reg_write(off, 0) {
            Err(Errno(libc::EPERM)) => refused += 1,
            other => {
                return Err(format!(
                    "IOC_REG_WRITE of {off:#x}: got {other:?}, expected EPERM (only {USER_WRITABLE:x?} and BAR2-only copy ops are writable)"
                ))
            }
        }
    }
    // The copy engine: its BAR2-only ops, never a host copy.
    for op in [regs::COPY_OP_TO_HOST, regs::COPY_OP_FROM_HOST] {
        match card.reg_write(regs::COPY_CTRL, op) {
            Err(Errno(libc::EPERM)) => {}
            other => return Err(format!("COPY_CTRL op {op}: got {other:?}, expected EPERM")),
        }
    }
    // What is allowed works (and leaves the card as it was).
    for off in USER_WRITABLE {
        card.reg_write(off, 0)
            .map_err(|e| format!("IOC_REG_WRITE of {off:#x} (allowed): {e}"))?;
    }
    card.reg_write(regs::COPY_LEN, 64)
        .map_err(|e| format!("COPY_LEN: {e}"))?;
    card.reg_write(regs::COPY_CTRL, regs::COPY_OP_CHECKSUM)
        .map_err(|e| format!("COPY_CTRL checksum (allowed): {e}"))?;
    check_eq!(
        card.reg_read(regs::COPY_STATUS)
            .map_err(|e| format!("COPY_STATUS: {e}"))?,
        0,
        "COPY_STATUS of a BAR2 checksum"
    );
    check!(refused > 30, "only {refused} offsets were tried");
    Ok(())
}

/// After the driver handled an interrupt, its cause is clear in INT_STATUS
/// (W1C, SPEC §7.2): card 0 (MSI-X: the vector names the cause) and card 1
/// (MSI: the handler reads INT_STATUS to learn the causes).
pub fn interrupts_are_acknowledged() -> CaseResult {
    let cards = pci::cards().len().min(2) as u32;
    for index in 0..cards {
        let card = Card::open(index)?;
        let before = card.info().map_err(|e| format!("info: {e}"))?;
        card.reg_write(regs::COPY_BAR_OFF, 0)
            .map_err(|e| format!("COPY_BAR_OFF: {e}"))?;
        card.reg_write(regs::COPY_LEN, 64)
            .map_err(|e| format!("COPY_LEN: {e}"))?;
        card.reg_write(regs::COPY_CTRL, regs::COPY_OP_CHECKSUM)
            .map_err(|e| format!("COPY_CTRL: {e}"))?;
        wait_for(
            || {
                Ok(card.info().map_err(|e| format!("info: {e}"))?.irq_counts[2]
                    > before.irq_counts[2])
            },
            &format!("card {index}'s COPY_DONE interrupt"),
        )?;
        let status = card
            .reg_read(regs::INT_STATUS)
            .map_err(|e| format!("INT_STATUS: {e}"))?;
        check_eq!(
            status & regs::INT_COPY_DONE,
            0,
            format!(
                "card {index} ({}) INT_STATUS after its COPY_DONE was handled: the handler must acknowledge (W1C) each cause",
                ["INTx", "MSI", "MSI-X"][before.irq_mode as usize % 3]
            )
        );
    }
    Ok(())
}

fn pattern(len: usize, salt: u64) -> Vec<u8> {
    (0..len)
        .map(|i| (record::mix64(i as u64 ^ salt) & 0xff) as u8)
        .collect()
}

/// `read`/`write` of the node reach BAR2 through the kernel's own
/// write-combining mapping (pci_iomap_wc): they agree with the user mapping
/// and with the card's own checksum, and stop at BAR2's end.
pub fn bar2_read_and_write_through_the_node() -> CaseResult {
    let card = Card::open(0)?;
    let bar2_len = card.info().map_err(|e| format!("info: {e}"))?.bar2_size;
    let map = card.map_bar2(64 * 1024)?;
    // Node -> card and mapping.
    let data = pattern(8192, 0xb42);
    check_eq!(
        card.pwrite(&data, 4096)
            .map_err(|e| format!("pwrite: {e}"))?,
        data.len(),
        "bytes pwritten"
    );
    let mut seen = vec![0u8; data.len()];
    map.copy_out(4096, &mut seen);
    check!(
        seen == data,
        "the user mapping does not see what pwrite wrote"
    );
    card.reg_write(regs::COPY_BAR_OFF, 4096)
        .map_err(|e| format!("COPY_BAR_OFF: {e}"))?;
    card.reg_write(regs::COPY_LEN, data.len() as u32)
        .map_err(|e| format!("COPY_LEN: {e}"))?;
    card.reg_write(regs::COPY_CTRL, regs::COPY_OP_CHECKSUM)
        .map_err(|e| format!("COPY_CTRL: {e}"))?;
    let lo = card
        .reg_read(regs::COPY_RESULT_LO)
        .map_err(|e| format!("RESULT_LO: {e}"))? as u64;
    let hi = card
        .reg_read(regs::COPY_RESULT_HI)
        .map_err(|e| format!("RESULT_HI: {e}"))? as u64;
    check_eq!(
        (hi << 32) | lo,
        record::checksum(&data),
        "the card's checksum of what pwrite wrote"
    );
    // Mapping -> node.
    let other = pattern(4096, 0x77);
    map.copy_in(32768, &other);
    let mut back = vec![0u8; 4096];
    check_eq!(
        card.pread(&mut back, 32768)
            .map_err(|e| format!("pread: {e}"))?,
        4096,
        "bytes pread"
    );
    check!(
        back == other,
        "pread does not see what the user mapping wrote"
    );
    // The end of BAR2: short at the edge, nothing past it.
    let mut buf = vec![0u8; 4096];
    check_eq!(
        card.pread(&mut buf, bar2_len - 100)
            .map_err(|e| format!("pread at the end: {e}"))?,
        100,
        "pread across BAR2's end"
    );
    check_eq!(
        card.pread(&mut buf, bar2_len)
            .map_err(|e| format!("pread at the end: {e}"))?,
        0,
        "pread at BAR2's end"
    );
    check_eq!(
        card.pread(&mut buf, bar2_len + 4096)
            .map_err(|e| format!("pread past the end: {e}"))?,
        0,
        "pread past BAR2's end"
    );
    check_eq!(
        card.pwrite(&buf[..16], bar2_len - 8)
            .map_err(|e| format!("pwrite at the end: {e}"))?,
        8,
        "pwrite across BAR2's end"
    );
    match card.pwrite(&buf[..16], bar2_len) {
        Err(Errno(libc::ENOSPC)) => {}
        other => {
            return Err(format!(
                "pwrite at BAR2's end: got {other:?}, expected ENOSPC"
            ))
        }
    }
    // One call moves at most a bounce chunk, never more than asked.
    let mut big = vec![0u8; 256 * 1024];
    let n = card
        .pread(&mut big, 0)
        .map_err(|e| format!("pread 256 KiB: {e}"))?;
    check!(n > 0 && n <= big.len(), "pread of 256 KiB returned {n}");
    let mut head = vec![0u8; n.min(64 * 1024)];
    map.copy_out(0, &mut head);
    check!(
        big[..head.len()] == head[..],
        "a long pread differs from the mapping"
    );
    Ok(())
}

/// x86 PAT's bookkeeping of the card's mappings: registers uncached
/// (uncached-minus), BAR2 write-combining, kernel and user mappings alike.
/// QEMU shows no difference in data; the kernel's records do.
pub fn pat_records_each_mappings_caching() -> CaseResult {
    let cards = pci::cards();
    let first = cards.first().ok_or("no card")?;
    let (bar0, _) = memtype::bar_range(first, 0)?;
    let (bar2, _) = memtype::bar_range(first, regs::BAR_MEM as usize)?;
    let card = Card::open(0)?;
    let _regs = card.map_bar0(PAGE)?;
    let _mem = card.map_bar2(PAGE)?;
    for (name, start, want) in [
        ("BAR0", bar0, "uncached-minus"),
        ("BAR2", bar2, "write-combining"),
    ] {
        let types = memtype::pat_types_at(start)?;
        check!(
            !types.is_empty(),
            "PAT tracks nothing at {name} ({start:#x}) while it is mapped"
        );
        check!(
            types.iter().all(|t| t == want),
            "PAT types at {name} ({start:#x}): {types:?}, expected only {want}"
        );
        println!("    # PAT at {name} {start:#x}: {} x {want}", types.len());
    }
    Ok(())
}

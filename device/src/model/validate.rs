//! Ring validation at CONTROL.ENABLE 0→1 (SPEC §6.1, §16.1): the programmed
//! geometry, the SG page table read from guest memory, every SG page
//! mapped writable, and no overlap between ring, table and status block.
//! A pure function of the registers, the DMA mappings and what the driver
//! has handed to the card; the register file applies the result.

use cardless_abi::record::*;
use cardless_abi::regs::*;

use super::areas::{check_overlaps, ring_pieces, Areas};
use super::owner::Span;
use super::regs::Regs;
use super::ring::{Layout, Ring};
use super::sanitizer::{Finding, Refused, Sanitizer};
use crate::dma::DmaView;

/// What validating a ring did.
pub(crate) struct Validated {
    /// The SG page table's bytes, if they were read (a `dma` trace line,
    /// whether the ring is then accepted or not).
    pub table: Option<Vec<u8>>,
    /// The ring and what the card is handed (§16), or why it is refused.
    pub result: Result<(Ring, Areas), Refused>,
}

/// §6.1 validation of the ring `r` programs. Allocates at most
/// MAX_SG_PAGES table entries, and only after the count was checked.
pub(crate) fn validate_ring(r: &Regs, view: &DmaView, san: &Sanitizer) -> Validated {
    let mut table = None;
    let result = check(r, view, san, &mut table);
    Validated { table, result }
}

fn check(
    r: &Regs,
    view: &DmaView,
    san: &Sanitizer,
    table_read: &mut Option<Vec<u8>>,
) -> Result<(Ring, Areas), Refused> {
    let rs = r.record_size;
    let bad = |code, addr| Err(Refused::code(code, addr));
    if !(MIN_RECORD_SIZE..=MAX_RECORD_SIZE).contains(&rs) || !rs.is_multiple_of(RECORD_ALIGN) {
        return bad(ERR_BAD_RECORD_SIZE, u64::from(rs));
    }
    let entries = r.ring_entries;
    let bytes = u64::from(entries) * u64::from(rs);
    if entries == 0 || entries > MAX_RING_ENTRIES || bytes > MAX_RING_BYTES {
        return bad(ERR_BAD_RING_SIZE, u64::from(entries));
    }
    if !r.ring_base.is_multiple_of(8) {
        return bad(ERR_BAD_ALIGNMENT, r.ring_base);
    }
    if r.control & CTRL_STATUS_WB != 0 && !r.status_addr.is_multiple_of(8) {
        return bad(ERR_BAD_ALIGNMENT, r.status_addr);
    }
    let mut table_span = None;
    let layout = if r.control & CTRL_SG == 0 {
        Layout::Contig { base: r.ring_base }
    } else {
        let n = r.sg_pages;
        if n == 0 || n > MAX_SG_PAGES || u64::from(n) * SG_PAGE_SIZE < bytes {
            return bad(ERR_BAD_SG_COUNT, u64::from(n));
        }
        let len = u64::from(n) * SG_ENTRY_SIZE;
        table_span = Some(Span::new(r.ring_base, len));
        let mut table = vec![0u8; len as usize];
        view.for_each(r.ring_base, len, false, |p, s| {
            s.copy_to(&mut table[p..p + s.len()]);
        })
        .map_err(|e| san.dma_error(&e))?;
        let table = table_read.insert(table);
        let mut pages = Vec::with_capacity(n as usize);
        for e in table.chunks_exact(8) {
            let a = u64::from_le_bytes([e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]]);
            if !a.is_multiple_of(SG_PAGE_SIZE) {
                return bad(ERR_BAD_SG_ENTRY, a);
            }
            pages.push(a);
        }
        Layout::Sg { pages }
    };
    let ring = Ring {
        layout,
        entries,
        record_size: rs,
    };
    let status = (r.control & CTRL_STATUS_WB != 0)
        .then(|| Span::new(r.status_addr, STATUS_BLOCK_SIZE as u64));
    let areas = Areas {
        ring: ring_pieces(&ring),
        table: table_span,
        status,
    };
    if table_span.is_some() {
        check_sg_pages(view, &areas, san)?;
    }
    check_overlaps(&areas, san)?;
    Ok((ring, areas))
}

/// §6.1, §16: every SG page the ring uses must be mapped writable.
fn check_sg_pages(view: &DmaView, a: &Areas, san: &Sanitizer) -> Result<(), Refused> {
    for &(span, page) in &a.ring {
        let Err(e) = view.check(span.start, span.end - span.start, true) else {
            continue;
        };
        let i = page.unwrap_or(0);
        let at = a.table.map_or(0, |t| t.start) + u64::from(i) * SG_ENTRY_SIZE;
        let msg = format!(
            "SG page {i} ({:#x}, table entry at {at:#x}) is not usable by the card ({e}): \
             the page list points outside mapped memory; enable refused at {}",
            span.start,
            san.during()
        );
        return Err(Refused {
            code: ERR_BAD_SG_ENTRY,
            addr: span.start,
            finding: Some(Box::new(Finding {
                check: "sg-unmapped",
                addr: span.start,
                len: SG_PAGE_SIZE,
                cause: Some(san.during()),
                msg,
            })),
        });
    }
    Ok(())
}

/// The ring size limits at their edges (`cargo mutants` survivors,
/// device/MUTANTS.md).
#[cfg(test)]
mod limit_tests;

//! What a fresh enable hands to the card (SPEC §16.1): the ring's bytes
//! (one range, or one per SG page), the SG page table and the status block,
//! and the rule that none of them overlaps another (§6.1, ERR_RING_OVERLAP).

use cardless_abi::record::SG_PAGE_SIZE;
use cardless_abi::regs::ERR_RING_OVERLAP;

use super::owner::{Role, Span};
use super::ring::{Layout, Ring};
use super::sanitizer::{Finding, Refused, Sanitizer};

/// The guest memory a ring uses, as validated at enable.
pub(crate) struct Areas {
    /// The ring's bytes: one span (contiguous) or one per SG page used,
    /// with the page's index in the table.
    pub ring: Vec<(Span, Option<u32>)>,
    /// The SG page table (SG mode).
    pub table: Option<Span>,
    /// The status block (with CTRL_STATUS_WB at enable).
    pub status: Option<Span>,
}

/// The ring's bytes `[0, RING_ENTRIES × RECORD_SIZE)` as IOVA spans; an SG
/// ring's last page only as far as the ring reaches into it.
pub(crate) fn ring_pieces(ring: &Ring) -> Vec<(Span, Option<u32>)> {
    let total = u64::from(ring.entries) * u64::from(ring.record_size);
    let sg = matches!(ring.layout, Layout::Sg { .. });
    let mut v = Vec::new();
    let _ = ring.for_each_piece(0, total, |iova, n, pos| {
        let page = sg.then(|| u32::try_from(pos / SG_PAGE_SIZE).unwrap_or(u32::MAX));
        v.push((Span::new(iova, n), page));
        Ok(())
    });
    v
}

/// One area for the overlap report: what it is, where, which SG page.
type Area = (Role, Span, Option<u32>);

fn describe((role, span, page): Area) -> String {
    match page {
        Some(p) => format!("{} (SG page {p}) {span}", role.name()),
        None => format!("{} {span}", role.name()),
    }
}

/// ERR_RING_OVERLAP for areas `a` and `b` meeting at `at`.
pub(crate) fn overlap(a: Area, b: Area, at: u64, san: &Sanitizer) -> Refused {
    let msg = format!(
        "the {} overlaps the {} at {at:#x}: the card would write one over the other; \
         refused at {}",
        describe(a),
        describe(b),
        san.during()
    );
    Refused {
        code: ERR_RING_OVERLAP,
        addr: at,
        finding: Some(Box::new(Finding {
            check: "overlap",
            addr: at,
            len: a.1.end.min(b.1.end).saturating_sub(at),
            cause: Some(san.during()),
            msg,
        })),
    }
}

/// §6.1: ring pieces, SG table and status block are pairwise disjoint (an
/// SG page listed twice overlaps itself). Sorted sweep, O(n log n).
pub(crate) fn check_overlaps(a: &Areas, san: &Sanitizer) -> Result<(), Refused> {
    let mut all: Vec<Area> = a
        .ring
        .iter()
        .map(|&(s, p)| (Role::Ring, s, p))
        .chain(a.table.map(|t| (Role::SgTable, t, None)))
        .chain(a.status.map(|s| (Role::StatusBlock, s, None)))
        .filter(|(_, s, _)| s.start < s.end)
        .collect();
    all.sort_unstable_by_key(|&(_, s, p)| (s.start, p));
    let mut reach: Option<Area> = None;
    for cur in all {
        if let Some(prev) = reach {
            if cur.1.start < prev.1.end {
                return Err(overlap(prev, cur, cur.1.start, san));
            }
        }
        if reach.is_none_or(|p| cur.1.end > p.1.end) {
            reach = Some(cur);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn areas(ring: &[(u64, u64)], table: Option<(u64, u64)>, status: Option<u64>) -> Areas {
        Areas {
            ring: ring
                .iter()
                .enumerate()
                .map(|(i, &(s, n))| (Span::new(s, n), Some(i as u32)))
                .collect(),
            table: table.map(|(s, n)| Span::new(s, n)),
            status: status.map(|s| Span::new(s, 64)),
        }
    }

    fn addr(a: &Areas) -> Option<u64> {
        check_overlaps(a, &Sanitizer::default())
            .err()
            .map(|r| r.addr)
    }

    /// SPEC §6.1: every pair of areas is checked, adjacency is fine.
    #[test]
    fn overlaps_are_found_where_they_start() {
        let pages = [(0x3000, 0x1000), (0x1000, 0x1000), (0x5000, 0x800)];
        assert_eq!(addr(&areas(&pages, Some((0x0, 0x18)), Some(0x2000))), None);
        assert_eq!(addr(&areas(&pages, Some((0x0, 0x18)), Some(0x2fc0))), None);
        assert_eq!(
            addr(&areas(&pages, Some((0x0, 0x18)), Some(0x2fc8))),
            Some(0x3000)
        );
        assert_eq!(
            addr(&areas(&pages, Some((0x0, 0x18)), Some(0x3fc0))),
            Some(0x3fc0)
        );
        assert_eq!(
            addr(&areas(&pages, Some((0x1ff8, 0x18)), None)),
            Some(0x1ff8)
        );
        // The status block inside the table.
        assert_eq!(
            addr(&areas(&pages, Some((0x8000, 0x18)), Some(0x8008))),
            Some(0x8008)
        );
        // A page listed twice.
        let dup = [(0x1000, 0x1000), (0x2000, 0x1000), (0x1000, 0x1000)];
        let r = check_overlaps(&areas(&dup, None, None), &Sanitizer::default()).unwrap_err();
        assert_eq!(r.addr, 0x1000);
        let msg = r.finding.unwrap().msg;
        assert!(
            msg.contains("SG page 0") && msg.contains("SG page 2"),
            "{msg}"
        );
        // A long area hides a later overlap from a short neighbour.
        let long = [(0x1000, 0x10000), (0x2000, 0x10), (0x8000, 0x10)];
        assert_eq!(addr(&areas(&long, None, None)), Some(0x2000));
        // The unused tail of a page is not the ring's.
        assert_eq!(addr(&areas(&[(0x5000, 0x800)], None, Some(0x5800))), None);
        // An empty area holds no byte, so it overlaps nothing.
        assert_eq!(addr(&areas(&pages, Some((0x1800, 0)), None)), None);
    }
}

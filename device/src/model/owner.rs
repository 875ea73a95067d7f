//! Who owns which guest memory (SPEC §16): the ranges the driver has handed
//! to the card and not taken back, the ranges DMA_UNMAP took away while
//! handed, and the recent DMA_UNMAPs. Pure bookkeeping, no DMA: the model
//! (`sanitizer.rs`) asks it whether a write is allowed and why not.

use std::collections::VecDeque;
use std::fmt;

use crate::fault::FaultKind;
use crate::replay::names::location;

/// DMA_UNMAPs remembered to tell "unmapped since" from "never mapped".
const UNMAP_HISTORY: usize = 1024;
/// Revoked ranges remembered to explain a later stray write.
const REVOKED_HISTORY: usize = 64;

/// `[start, end)`; `end` saturates at 2^64 − 1 for ranges that would wrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: u64,
    pub end: u64,
}

impl Span {
    pub(crate) fn new(start: u64, len: u64) -> Span {
        Span {
            start,
            end: start.saturating_add(len),
        }
    }

    pub(crate) fn overlaps(&self, o: &Span) -> bool {
        self.start < o.end && o.start < self.end
    }

    pub(crate) fn contains(&self, o: &Span) -> bool {
        self.start <= o.start && o.end <= self.end
    }

    /// Bytes from this span to `at` (0 inside it).
    fn distance(&self, at: u64) -> u64 {
        if at < self.start {
            self.start - at
        } else {
            at.saturating_sub(self.end.saturating_sub(1))
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}..{:#x}", self.start, self.end)
    }
}

/// What a handed range is to the card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    StatusBlock,
    Ring,
    /// Read once at enable, never written: not a write target.
    SgTable,
    CopyBuffer,
}

impl Role {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Role::StatusBlock => "status block",
            Role::Ring => "ring",
            Role::SgTable => "SG page table",
            Role::CopyBuffer => "copy buffer",
        }
    }
}

/// What a guest (or VMM) action was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum What {
    #[default]
    Nothing,
    Write {
        bar: u8,
        off: u64,
        val: u64,
    },
    Read {
        bar: u8,
        off: u64,
    },
    DmaMap {
        addr: u64,
        size: u64,
    },
    DmaUnmap {
        addr: u64,
        size: u64,
    },
    UnmapAll,
    VmmReset,
    /// A fault fired (SPEC §14).
    Fault(FaultKind),
}

/// A guest action, or a fault firing, as the card saw it: what, its
/// number among guest actions since the card was created, its trace
/// event number (when tracing) and VTIME.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Cause {
    pub what: What,
    pub action: u64,
    pub event: Option<u64>,
    pub t: u64,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.what {
            What::Nothing => write!(f, "the card starting")?,
            What::Write { bar, off, val } => {
                write!(f, "the {} write {val:#x}", location(bar, off))?
            }
            What::Read { bar, off } => write!(f, "the {} read", location(bar, off))?,
            What::DmaMap { addr, size } => write!(f, "DMA_MAP {addr:#x}+{size:#x}")?,
            What::DmaUnmap { addr, size } => write!(f, "DMA_UNMAP {addr:#x}+{size:#x}")?,
            What::UnmapAll => write!(f, "DMA_UNMAP of everything")?,
            What::VmmReset => write!(f, "the VMM's device reset")?,
            What::Fault(k) => write!(f, "the {} fault firing", k.name())?,
        }
        write!(f, " (guest action {}", self.action)?;
        if let Some(e) = self.event {
            write!(f, ", trace event {e}")?;
        }
        write!(f, ", VTIME {} ns)", self.t)
    }
}

/// One handed range.
#[derive(Clone, Copy, Debug)]
struct Handed {
    span: Span,
    role: Role,
    /// Index of the SG page it is (SG rings).
    page: Option<u32>,
}

/// A handed range DMA_UNMAP took away.
#[derive(Clone, Copy, Debug)]
struct Revoked {
    span: Span,
    role: Role,
    handed_by: Cause,
    unmap: Cause,
}

/// The ownership set.
#[derive(Default)]
pub(crate) struct Ownership {
    /// Write targets the driver handed (status block, ring pieces).
    handed: Vec<Handed>,
    /// The same, merged and sorted: what `covers` searches.
    cover: Vec<Span>,
    /// The action that handed each role (index = `role_index`).
    grants: [Option<Cause>; 4],
    /// The SG page table of the running ring (only read, at enable).
    table: Option<Span>,
    /// The copy engine's host buffer while a copy runs.
    copy: Option<Span>,
    revoked: VecDeque<Revoked>,
    unmaps: VecDeque<(Span, Cause)>,
}

fn role_index(r: Role) -> usize {
    match r {
        Role::StatusBlock => 0,
        Role::Ring => 1,
        Role::SgTable => 2,
        Role::CopyBuffer => 3,
    }
}

impl Ownership {
    /// Hands `spans` (each with its SG page index) to the card as `role`.
    pub(crate) fn hand(
        &mut self,
        role: Role,
        spans: impl IntoIterator<Item = (Span, Option<u32>)>,
        by: Cause,
    ) {
        self.handed.extend(
            spans
                .into_iter()
                .filter(|(s, _)| s.start < s.end)
                .map(|(span, page)| Handed { span, role, page }),
        );
        self.grants[role_index(role)] = Some(by);
        self.rebuild();
    }

    /// Records the SG page table the ring was read from.
    pub(crate) fn hand_table(&mut self, span: Span, by: Cause) {
        self.table = Some(span);
        self.grants[role_index(Role::SgTable)] = Some(by);
    }

    /// The copy engine's host buffer, for the length of one copy.
    pub(crate) fn hand_copy(&mut self, span: Option<Span>, by: Cause) {
        self.copy = span;
        self.grants[role_index(Role::CopyBuffer)] = span.map(|_| by);
    }

    /// Whether anything of `role` is handed.
    pub(crate) fn holds(&self, role: Role) -> bool {
        self.handed.iter().any(|h| h.role == role)
    }

    /// A handed range or the SG table that `w` overlaps, if any.
    pub(crate) fn clash(&self, w: Span) -> Option<(Role, Span)> {
        self.handed
            .iter()
            .map(|h| (h.role, h.span))
            .chain(self.table.map(|t| (Role::SgTable, t)))
            .find(|(_, s)| s.overlaps(&w))
    }

    /// The card gives `role` back (stop, disable, fresh enable).
    pub(crate) fn take_back(&mut self, role: Role) {
        if role == Role::SgTable {
            self.table = None;
        } else if role == Role::CopyBuffer {
            self.copy = None;
        } else if self.holds(role) {
            self.handed.retain(|h| h.role != role);
            self.rebuild();
        }
        self.grants[role_index(role)] = None;
    }

    /// Reset (SPEC §9): nothing is handed any more. The DMA_UNMAP history
    /// stays: mappings belong to the VMM.
    pub(crate) fn reset(&mut self) {
        self.handed.clear();
        self.cover.clear();
        self.grants = [None; 4];
        self.table = None;
        self.copy = None;
    }

    fn rebuild(&mut self) {
        let mut spans: Vec<Span> = self.handed.iter().map(|h| h.span).collect();
        spans.sort_unstable_by_key(|s| s.start);
        self.cover.clear();
        for s in spans {
            match self.cover.last_mut() {
                Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
                _ => self.cover.push(s),
            }
        }
    }

    /// Whether a write of `[iova, iova + len)` stays inside what is handed.
    pub(crate) fn covers(&self, iova: u64, len: u64) -> bool {
        let w = Span::new(iova, len);
        if self.copy.is_some_and(|c| c.contains(&w)) {
            return true;
        }
        // `cover` is sorted and merged: one span holds the write or none does.
        let i = self.cover.partition_point(|s| s.start <= iova);
        i > 0 && self.cover[i - 1].contains(&w)
    }

    /// A DMA_UNMAP of `span` by `by`: remembered, and every handed range
    /// under it is taken away (the part under it).
    pub(crate) fn unmapped(&mut self, span: Span, by: Cause) {
        if self.unmaps.len() == UNMAP_HISTORY {
            self.unmaps.pop_front();
        }
        self.unmaps.push_back((span, by));
        if !self.handed.iter().any(|h| h.span.overlaps(&span)) {
            return;
        }
        let mut kept = Vec::with_capacity(self.handed.len());
        let mut hulls: Vec<(Role, Span)> = Vec::new();
        for h in self.handed.drain(..) {
            if !h.span.overlaps(&span) {
                kept.push(h);
                continue;
            }
            let cut = Span {
                start: h.span.start.max(span.start),
                end: h.span.end.min(span.end),
            };
            match hulls.iter_mut().find(|(r, _)| *r == h.role) {
                Some((_, hull)) => {
                    hull.start = hull.start.min(cut.start);
                    hull.end = hull.end.max(cut.end);
                }
                None => hulls.push((h.role, cut)),
            }
            for piece in [
                Span {
                    start: h.span.start,
                    end: cut.start,
                },
                Span {
                    start: cut.end,
                    end: h.span.end,
                },
            ] {
                if piece.start < piece.end {
                    kept.push(Handed { span: piece, ..h });
                }
            }
        }
        self.handed = kept;
        for (role, hull) in hulls {
            if self.revoked.len() == REVOKED_HISTORY {
                self.revoked.pop_front();
            }
            self.revoked.push_back(Revoked {
                span: hull,
                role,
                handed_by: self.grants[role_index(role)].unwrap_or_default(),
                unmap: by,
            });
        }
        self.rebuild();
    }

    /// The latest remembered DMA_UNMAP that covered `iova`.
    pub(crate) fn unmap_of(&self, iova: u64) -> Option<(Span, Cause)> {
        self.unmaps
            .iter()
            .rev()
            .find(|(s, _)| s.contains(&Span::new(iova, 1)))
            .copied()
    }

    /// "the ring … handed by …", and the DMA_UNMAP that took it away, if
    /// `iova` lies in a handed range DMA_UNMAP revoked.
    pub(crate) fn revoked_at(&self, iova: u64) -> Option<(String, Cause)> {
        let r = self
            .revoked
            .iter()
            .rev()
            .find(|r| r.span.contains(&Span::new(iova, 1)))?;
        Some((
            format!("the {} {} handed by {}", r.role.name(), r.span, r.handed_by),
            r.unmap,
        ))
    }

    /// Why a write of `[iova, iova + len)` is not covered: a revoked
    /// range, the SG table, or the nearest handed range.
    pub(crate) fn explain_miss(&self, iova: u64, len: u64) -> String {
        let w = Span::new(iova, len);
        if let Some((what, unmap)) = self.revoked_at(iova) {
            return format!(
                "it was {what}, taken away by {unmap} while the card still used it \
                 (the IOVA was mapped again since)"
            );
        }
        let grant = |role: Role| {
            self.grants[role_index(role)]
                .map_or(String::from("an unknown action"), |c| c.to_string())
        };
        if let Some(t) = self.table.filter(|t| t.overlaps(&w)) {
            return format!(
                "it hits the SG page table {t} (handed by {}), which the card only reads",
                grant(Role::SgTable)
            );
        }
        let Some(near) = self.handed.iter().min_by_key(|h| {
            let d = h
                .span
                .distance(iova)
                .min(h.span.distance(w.end.saturating_sub(1)));
            (d, h.span.start)
        }) else {
            return "nothing is handed to the card right now (no ring running, no status block, no copy)".into();
        };
        let page = near
            .page
            .map_or(String::new(), |p| format!(" (SG page {p})"));
        let overhang = if near.span.overlaps(&w) {
            format!(
                "it overlaps it but runs {:#x} bytes past",
                w.end.saturating_sub(near.span.end) + near.span.start.saturating_sub(w.start)
            )
        } else if w.start >= near.span.end {
            format!(
                "it starts {:#x} bytes after its end",
                w.start - near.span.end
            )
        } else {
            format!(
                "it ends {:#x} bytes before its start",
                near.span.start - w.end
            )
        };
        format!(
            "the nearest handed range is the {} {}{page}, handed by {}: {overhang}",
            near.role.name(),
            near.span,
            grant(near.role)
        )
    }
}

/// Edges of DMA_UNMAP revocation and empty spans (the survivors of
/// `cargo mutants`, device/MUTANTS.md).
#[cfg(test)]
mod unmap_tests;

#[cfg(test)]
mod tests {
    use super::*;

    /// A CONTROL write, guest action `action` (also the unmap tests' hand-over).
    pub(super) fn cause(action: u64) -> Cause {
        Cause {
            what: What::Write {
                bar: 0,
                off: cardless_abi::regs::CONTROL,
                val: 1,
            },
            action,
            event: Some(action + 10),
            t: 0,
        }
    }

    /// SPEC §16: handed ranges cover writes inside them, whole, and nothing else.
    #[test]
    fn cover_is_exact() {
        let mut o = Ownership::default();
        assert!(!o.covers(0, 1));
        o.hand(
            Role::Ring,
            [
                (Span::new(0x3000, 0x1000), Some(0)),
                (Span::new(0x1000, 0x1000), Some(1)),
                (Span::new(0x2000, 0x800), Some(2)),
            ],
            cause(1),
        );
        o.hand(Role::StatusBlock, [(Span::new(0x8000, 64), None)], cause(2));
        // Adjacent pages merge: a write may straddle them.
        assert!(o.covers(0x1ff0, 0x20));
        assert!(o.covers(0x1000, 0x1800));
        assert!(!o.covers(0x2800, 1), "the unused tail of page 2");
        assert!(o.covers(0x3000, 0x1000));
        assert!(!o.covers(0x3000, 0x1001));
        assert!(o.covers(0x8000, 64));
        assert!(!o.covers(0x8008, 64));
        assert!(!o.covers(u64::MAX, 8), "no wrap, no panic");
        assert!(o.covers(0x1000, 0), "empty write inside");
        o.take_back(Role::Ring);
        assert!(!o.covers(0x1000, 1));
        assert!(o.covers(0x8000, 64));
        o.hand_copy(Some(Span::new(0x9000, 10)), cause(3));
        assert!(o.covers(0x9000, 10));
        o.hand_copy(None, cause(3));
        assert!(!o.covers(0x9000, 10));
        o.reset();
        assert!(!o.covers(0x8000, 1));
    }

    /// SPEC §16: DMA_UNMAP takes away the part of a handed range under it
    /// and is remembered for the reports.
    #[test]
    fn unmap_revokes_and_explains() {
        let mut o = Ownership::default();
        o.hand(Role::Ring, [(Span::new(0x10000, 0x4000), None)], cause(1));
        let unmap = Cause {
            what: What::DmaUnmap {
                addr: 0x11000,
                size: 0x1000,
            },
            action: 7,
            event: Some(40),
            t: 5,
        };
        o.unmapped(Span::new(0x11000, 0x1000), unmap);
        assert!(o.covers(0x10000, 0x1000));
        assert!(!o.covers(0x11000, 1));
        assert!(o.covers(0x12000, 0x2000));
        let why = o.explain_miss(0x11800, 16);
        assert!(
            why.contains("ring") && why.contains("trace event 40"),
            "{why}"
        );
        assert!(why.contains("DMA_UNMAP 0x11000+0x1000"), "{why}");
        assert_eq!(o.unmap_of(0x11fff).map(|u| u.1.event), Some(Some(40)));
        assert!(o.unmap_of(0x12000).is_none());
        let far = o.explain_miss(0x20000, 8);
        assert!(
            far.contains("0x12000..0x14000") && far.contains("after its end"),
            "{far}"
        );
        o.reset();
        assert!(o.explain_miss(0, 1).contains("nothing is handed"));
        assert!(o.unmap_of(0x11000).is_some(), "history outlives reset");
    }

    /// SPEC §16.1: touching is not overlapping; a range is found by the
    /// bytes it shares, the SG table included.
    #[test]
    fn adjacent_ranges_do_not_clash() {
        let mut o = Ownership::default();
        o.hand(Role::Ring, [(Span::new(0x1000, 0x1000), None)], cause(1));
        o.hand_table(Span::new(0x4000, 0x18), cause(1));
        assert!(!Span::new(0, 0x10).overlaps(&Span::new(0x10, 0x10)));
        assert!(Span::new(0, 0x11).overlaps(&Span::new(0x10, 0x10)));
        assert_eq!(o.clash(Span::new(0x2000, 64)), None);
        assert_eq!(o.clash(Span::new(0xfc0, 64)), None);
        assert_eq!(
            o.clash(Span::new(0x1fc1, 64)),
            Some((Role::Ring, Span::new(0x1000, 0x1000)))
        );
        assert_eq!(
            o.clash(Span::new(0x4010, 64)),
            Some((Role::SgTable, Span::new(0x4000, 0x18)))
        );
        assert_eq!(o.clash(Span::new(0x4018, 64)), None);
    }

    /// SPEC §16.3: a miss is explained by the nearest handed range, before
    /// or after the write, and each range by the action that handed it.
    #[test]
    fn misses_name_the_nearest_range_and_who_handed_it() {
        let mut o = Ownership::default();
        o.hand(Role::Ring, [(Span::new(0x1000, 0x1000), None)], cause(1));
        o.hand(Role::StatusBlock, [(Span::new(0x9000, 64), None)], cause(2));
        let near_ring = o.explain_miss(0x2100, 8);
        assert!(
            near_ring.contains("ring 0x1000..0x2000")
                && near_ring.contains("starts 0x100 bytes after its end")
                && near_ring.contains("guest action 1,"),
            "{near_ring}"
        );
        let near_status = o.explain_miss(0x8f00, 8);
        assert!(
            near_status.contains("status block 0x9000..0x9040")
                && near_status.contains("ends 0xf8 bytes before its start")
                && near_status.contains("guest action 2,"),
            "{near_status}"
        );
        let astride = o.explain_miss(0x1ff8, 16);
        assert!(astride.contains("runs 0x8 bytes past"), "{astride}");
        assert_eq!(Span::new(0x10, 0x10).distance(0x10), 0);
        assert_eq!(Span::new(0x10, 0x10).distance(0x4), 0xc);
        assert_eq!(Span::new(0x10, 0x10).distance(0x25), 0x6);
    }

    /// Hostile values: huge and wrapping spans, unmap of everything.
    #[test]
    fn hostile_spans() {
        let mut o = Ownership::default();
        o.hand(Role::Ring, [(Span::new(u64::MAX - 4, 100), None)], cause(1));
        assert!(o.covers(u64::MAX - 4, 4));
        o.unmapped(Span::new(0, u64::MAX), cause(2));
        assert!(!o.covers(u64::MAX - 4, 1));
        let _ = o.explain_miss(u64::MAX, u64::MAX);
        for _ in 0..UNMAP_HISTORY + 5 {
            o.unmapped(Span::new(0, 1), cause(3));
        }
        assert_eq!(o.unmaps.len(), UNMAP_HISTORY);
    }
}

//! Timelines of a trace (SPEC §15.3): Chrome/Perfetto trace-event JSON
//! and a PNG the device renders itself.
//!
//! - this file: trace lines → tracks of marks and index counters, on one
//!   time axis (VTIME or event number);
//! - [`chrome`]: the trace-event JSON;
//! - [`render`]: the PNG, drawn with plotters (as the bench plots are) on
//!   a bitmap backend whose text comes from an embedded font ([`text`]).

pub mod chrome;
pub mod render;
pub mod text;

use cardless_abi::regs::{BAR_REGS, CONS_IDX, PROD_IDX, STATUS_ADDR_HI, STATUS_ADDR_LO};

use crate::replay::names::{cause_name, error_name, location};
use crate::trace::{Event, ResetSource, TraceLine};

/// What the horizontal axis counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Axis {
    /// The card's virtual time in ns (one time axis for everything).
    Vtime,
    /// The event number (spreads events that share a VTIME).
    Event,
}

/// The rows of a timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Track {
    /// Guest register writes.
    MmioWrite,
    /// Guest register reads.
    MmioRead,
    /// Card DMA into host memory.
    DmaWrite,
    /// Card DMA from host memory.
    DmaRead,
    /// Interrupt messages.
    Irq,
    /// Fault events.
    Fault,
    /// Errors, resets, DMA mappings.
    Card,
}

/// Every track, top to bottom.
pub const TRACKS: [Track; 7] = [
    Track::MmioWrite,
    Track::MmioRead,
    Track::DmaWrite,
    Track::DmaRead,
    Track::Irq,
    Track::Fault,
    Track::Card,
];

impl Track {
    /// Row label.
    pub fn label(self) -> &'static str {
        match self {
            Track::MmioWrite => "MMIO W",
            Track::MmioRead => "MMIO R",
            Track::DmaWrite => "DMA W",
            Track::DmaRead => "DMA R",
            Track::Irq => "IRQ",
            Track::Fault => "FAULT",
            Track::Card => "ERR/RST/MAP",
        }
    }

    /// Chrome thread id.
    pub fn tid(self) -> u32 {
        TRACKS.iter().position(|&t| t == self).unwrap_or(0) as u32 + 1
    }
}

/// One event on a track.
#[derive(Clone, Debug)]
pub struct Mark {
    /// Position on the axis (ns or event number).
    pub x: u64,
    /// Row.
    pub track: Track,
    /// What it was.
    pub name: String,
    /// Colour class (interrupt vector, 0 otherwise).
    pub class: u8,
    /// The trace line (for the JSON's args).
    pub line: usize,
}

/// Producer/consumer indices as the guest could see them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Indices {
    /// Position on the axis.
    pub x: u64,
    /// PROD_IDX (status block write-back or register read).
    pub prod: u32,
    /// CONS_IDX (register write).
    pub cons: u32,
}

/// A whole trace laid out.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    /// Marks in trace order.
    pub marks: Vec<Mark>,
    /// Index changes in trace order.
    pub indices: Vec<Indices>,
    /// Largest axis position.
    pub x_max: u64,
    /// The axis.
    pub axis: Option<Axis>,
}

impl Timeline {
    /// Lays out `lines` on `axis`.
    pub fn build(lines: &[TraceLine], axis: Axis) -> Timeline {
        let mut tl = Timeline {
            axis: Some(axis),
            ..Timeline::default()
        };
        let mut status_addr = 0u64;
        let mut idx = Indices::default();
        for l in lines {
            let x = match axis {
                Axis::Vtime => l.t,
                Axis::Event => l.number as u64,
            };
            tl.x_max = tl.x_max.max(x);
            let mut mark = |track, name: String, class| {
                tl.marks.push(Mark {
                    x,
                    track,
                    name,
                    class,
                    line: l.number,
                })
            };
            let before = idx;
            match &l.ev {
                Event::Start { .. } => {}
                Event::Mmio {
                    write,
                    bar,
                    off,
                    val,
                    ..
                } => {
                    let v = val.map_or(String::new(), |v| format!("={v:#x}"));
                    let track = if *write {
                        Track::MmioWrite
                    } else {
                        Track::MmioRead
                    };
                    mark(track, format!("{}{v}", location(*bar, *off)), 0);
                    if let (BAR_REGS, Some(v)) = (*bar, *val) {
                        match (*write, *off) {
                            (true, STATUS_ADDR_LO) => {
                                status_addr = (status_addr & !0xffff_ffff) | (v & 0xffff_ffff)
                            }
                            (true, STATUS_ADDR_HI) => {
                                status_addr = (status_addr & 0xffff_ffff) | (v << 32)
                            }
                            (true, CONS_IDX) => idx.cons = v as u32,
                            (false, PROD_IDX) => idx.prod = v as u32,
                            _ => {}
                        }
                    }
                }
                Event::Dma {
                    write,
                    addr,
                    len,
                    data,
                    ..
                } => {
                    let track = if *write {
                        Track::DmaWrite
                    } else {
                        Track::DmaRead
                    };
                    mark(track, format!("{addr:#x}+{len}"), 0);
                    if let (true, Some(d)) = (*write && *addr == status_addr, data) {
                        if d.len() == 64 {
                            idx.prod = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
                        }
                    }
                }
                Event::Bar2 { off, len, .. } => {
                    mark(Track::DmaRead, format!("BAR2 {off:#x}+{len}"), 0)
                }
                Event::Irq { cause, vec } => mark(
                    Track::Irq,
                    format!("{} vec {vec}", cause_name(*cause)),
                    (*vec).min(3) as u8,
                ),
                Event::Fault { kind, act, arg } => {
                    let a = arg.map_or(String::new(), |a| format!(" {a:#x}"));
                    mark(Track::Fault, format!("{kind} {act}{a}"), 0)
                }
                Event::Error { code, addr } => {
                    mark(Track::Card, format!("{} {addr:#x}", error_name(*code)), 1)
                }
                Event::Sanitizer {
                    check, addr, len, ..
                } => mark(
                    Track::Card,
                    format!("sanitizer {check} {addr:#x}+{len:#x}"),
                    1,
                ),
                Event::Reset { src } => {
                    idx = Indices::default();
                    let by = match src {
                        ResetSource::Vmm => "VMM",
                        ResetSource::Reg => "CONTROL",
                    };
                    mark(Track::Card, format!("reset by {by}"), 2)
                }
                Event::DmaMap { addr, size, .. } => {
                    mark(Track::Card, format!("DMA_MAP {addr:#x}+{size:#x}"), 0)
                }
                Event::DmaUnmap { addr, size } => {
                    mark(Track::Card, format!("DMA_UNMAP {addr:#x}+{size:#x}"), 0)
                }
                Event::DmaUnmapAll => mark(Track::Card, "DMA_UNMAP all".into(), 0),
            }
            if idx != before || tl.indices.is_empty() {
                idx.x = x;
                tl.indices.push(idx);
            }
        }
        tl
    }
}

#[cfg(test)]
mod tests;

//! A card in full use — a buffer of every strategy allocated and mapped,
//! one of them streaming — for the tests that take the card away from under
//! it (unbind, hot-unplug): afterwards every mapping of the card answers
//! SIGBUS (the driver zapped them), waits fail with ENODEV, and the kernel
//! stays quiet (the DMA-API debugger checks that every DMA mapping was
//! released at unbind).

use crate::card::{Card, Errno, Mapping};
use crate::check_eq;
use crate::ktap::CaseResult;
use crate::stream_reader::params;
use cardless_uapi::ioctl as uapi;

const SIZE: usize = 64 * 1024;

pub struct LiveBuffers {
    pub card: Card,
    maps: Vec<(u32, Mapping)>,
    /// The `fault` strategy's mapping with only page 0 touched.
    fault_map: Mapping,
}

impl LiveBuffers {
    /// Card `index` with a mapped buffer of every strategy and a stream.
    pub fn set_up(index: u32) -> Result<LiveBuffers, String> {
        let card = Card::open(index)?;
        let mut maps = Vec::new();
        for strategy in 0..uapi::STRATEGY_COUNT {
            let (_, map) = card
                .mapped_buffer(SIZE as u64, strategy)
                .map_err(|e| format!("{}: {e}", uapi::STRATEGY_NAMES[strategy as usize]))?;
            let _ = map.bytes()[0];
            maps.push((strategy, map));
        }
        let (fault_buf, fault_map) = card.mapped_buffer(SIZE as u64, uapi::STRATEGY_FAULT)?;
        let _ = fault_map.bytes()[0];
        let _ = fault_buf;
        let (stream_buf, stream_map) = card.mapped_buffer(SIZE as u64, uapi::STRATEGY_PAGES)?;
        let mut p = params(stream_buf.id, 31);
        p.rate = 2000;
        card.stream_start(&p)
            .map_err(|e| format!("STREAM_START: {e}"))?;
        card.stream_wait(0, 5000)
            .map_err(|e| format!("first record of the live stream: {e}"))?;
        maps.push((uapi::STRATEGY_PAGES, stream_map));
        Ok(LiveBuffers {
            card,
            maps,
            fault_map,
        })
    }

    /// After the card went away: every mapping SIGBUS, every call ENODEV.
    pub fn check_gone(&self) -> CaseResult {
        for (strategy, map) in &self.maps {
            check_eq!(
                map.signal_of_touch(),
                Some(libc::SIGBUS),
                format!(
                    "touch of a {} buffer mapping after the card went",
                    uapi::STRATEGY_NAMES[*strategy as usize]
                )
            );
        }
        let untouched = self.fault_map.ptr as usize + 5 * 4096;
        check_eq!(
            crate::card::signal_of_child(move || {
                // SAFETY: a deliberate read of a page the fault handler must refuse.
                let _ = unsafe { std::ptr::read_volatile(untouched as *const u8) };
            }),
            Some(libc::SIGBUS),
            "first touch of a fault-strategy page after the card went"
        );
        match self.card.stream_wait(0, 1000) {
            Err(Errno(libc::ENODEV)) | Err(Errno(libc::ENODATA)) => {}
            other => {
                return Err(format!(
                    "STREAM_WAIT after the card went: got {other:?}, expected ENODEV (or ENODATA: the stream was dropped)"
                ))
            }
        }
        match self.card.buf_alloc(4096, uapi::STRATEGY_PAGES) {
            Err(Errno(libc::ENODEV)) => {}
            other => {
                return Err(format!(
                    "BUF_ALLOC after the card went: got {other:?}, expected ENODEV"
                ))
            }
        }
        Ok(())
    }
}

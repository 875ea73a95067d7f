//! The card's `--trace` format (SPEC §12, §15.1), declared once: the
//! device's tracer writes these types, and replay, the timeline and the
//! harness's verdict read them back, so no reader can drift from the writer.
//!
//! - [`format`]: the line types and their cross-field rules
//!   ([`Event::validate`]), and the parsers;
//! - [`fields`]: how numbers, directions and bytes are spelled in JSON.
#![forbid(unsafe_code)]

pub mod fields;
pub mod format;

pub use fields::{hex_string, unhex};
pub use format::{
    parse_line, parse_trace, Event, Line, ParseError, ResetSource, StartInfo, TraceLine,
    TRACE_VERSION,
};

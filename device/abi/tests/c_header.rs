//! The C form of the ABI: `guest-driver/examples/c-streaming/cardless_hw.h`
//! is generated from `device/abi/src/{regs,record}.rs` by this test and
//! checked against it, so a C driver uses the register map without a
//! hand-kept copy of the offsets.
//!
//! Values come from the compiled ABI (rustc evaluates them); names, order,
//! section banners and one-line comments come from the ABI's source text.
//! Every integer constant of the ABI must appear (the test says which one
//! is missing). After changing the ABI, regenerate the header with
//!
//! ```sh
//! CARDLESS_BLESS=1 cargo test -p cardless-abi --test c_header
//! ```

use cardless_abi::record::*;
use cardless_abi::regs::*;
use std::collections::BTreeMap;
use std::mem::{offset_of, size_of, size_of_val};

const REGS_RS: &str = include_str!("../src/regs.rs");
const RECORD_RS: &str = include_str!("../src/record.rs");
const HEADER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../guest-driver/examples/c-streaming/cardless_hw.h"
);
const GUARD: &str = "CARDLESS_HW_H";
const PREFIX: &str = "CARDLESS_";

/// `[(name, value as u64, width in bytes)]` from identifiers.
macro_rules! values {
    ($($c:ident),* $(,)?) => {
        vec![$((stringify!($c), $c as u64, size_of_val(&$c))),*]
    };
}

/// Every integer constant of the ABI except the register offsets (those
/// come from `REGISTERS` and `DEBUG_REGISTERS`).
fn constants() -> BTreeMap<&'static str, (u64, usize)> {
    let mut all = values![
        PCI_VENDOR_ID,
        PCI_DEVICE_ID,
        PCI_REVISION_ID,
        PCI_CLASS_CODE,
        PCI_CLASS,
        PCI_SUBSYSTEM_VENDOR_ID,
        PCI_SUBSYSTEM_ID,
        BAR_REGS,
        BAR0_SIZE,
        BAR_MEM,
        BAR2_DEFAULT_SIZE,
        BAR2_MIN_SIZE,
        BAR2_MAX_SIZE,
        BAR_MSIX,
        BAR4_SIZE,
        MSIX_TABLE_OFFSET,
        MSIX_PBA_OFFSET,
        MSIX_VECTORS,
        VEC_DATA_READY,
        VEC_ERROR,
        VEC_COPY_DONE,
        VEC_OVERFLOW,
        INT_DATA_READY,
        INT_ERROR,
        INT_COPY_DONE,
        INT_OVERFLOW,
        INT_ALL,
        REG_WIDTH,
        ID_VALUE,
        VERSION_VALUE,
        FEAT_SG,
        FEAT_COPY,
        FEAT_CHECKSUM,
        FEAT_DETERMINISTIC,
        FEAT_STATUS_WB,
        FEAT_DEBUG,
        CTRL_ENABLE,
        CTRL_SG,
        CTRL_OVF_STOP,
        CTRL_STATUS_WB,
        CTRL_RESET,
        CTRL_MASK,
        STS_RUNNING,
        STS_ERROR,
        STS_OVERFLOW_STOPPED,
        STS_RING_FULL,
        COPY_OP_TO_HOST,
        COPY_OP_FROM_HOST,
        COPY_OP_CHECKSUM,
        COPY_OP_MASK,
        MAX_RING_ENTRIES,
        MIN_RECORD_SIZE,
        MAX_RECORD_SIZE,
        RECORD_ALIGN,
        MAX_RING_BYTES,
        MAX_SG_PAGES,
        MAX_STEP,
        DEFAULT_RECORD_SIZE,
        DET_DEFAULT_PERIOD_NS,
        ENGINE_BATCH,
        ERR_NONE,
        ERR_DMA_UNMAPPED,
        ERR_DMA_READONLY,
        ERR_DMA_OVERFLOW,
        ERR_BAD_RING_SIZE,
        ERR_BAD_RECORD_SIZE,
        ERR_BAD_ALIGNMENT,
        ERR_BAD_SG_COUNT,
        ERR_BAD_SG_ENTRY,
        ERR_BAD_CONS_IDX,
        ERR_COPY_RANGE,
        ERR_BAD_STEP,
        ERR_BAD_COPY_OP,
        ERR_DMA_STRAY,
        ERR_RING_OVERLAP,
        FAULT_DROP_IRQ,
        FAULT_DUP_IRQ,
        FAULT_DELAY_IRQ,
        FAULT_CORRUPT_PAYLOAD,
        FAULT_CORRUPT_HEADER,
        FAULT_STALL,
        FAULT_RESUME,
        FAULT_STRAY_WRITE,
        FAULT_SURPRISE_REMOVAL,
        FAULT_LINK_DOWN,
        FAULT_LINK_UP,
        FAULT_STATUS_LOST,
        FAULT_KIND_MAX,
        MAX_SCHEDULED_FAULTS,
        LINK_DOWN_ACCESS_NS,
        DBG_BASE,
        DBG_ID_VALUE,
        DBG_TRIG_VTIME,
        DBG_TRIG_RECORD,
        DBG_CMD_SCHEDULE,
        DBG_CMD_CANCEL_ALL,
        DBG_ST_OK,
        DBG_ST_BAD_KIND,
        DBG_ST_BAD_TRIGGER,
        DBG_ST_BAD_ARG,
        DBG_ST_FULL,
        DBG_ST_BAD_CMD,
        DBG_STATE_LINK_DOWN,
        DBG_STATE_REMOVED,
        DBG_STATE_STALLED,
        DBG_STATE_IRQ_HELD,
        DBG_END,
        RECORD_MAGIC,
        RECORD_HEADER_SIZE,
        REC_FLAG_AFTER_DROP,
        RECORD_CHECKSUM_OFFSET,
        PAYLOAD_WEYL,
        STATUS_BLOCK_SIZE,
        SG_PAGE_SIZE,
        SG_ENTRY_SIZE,
    ];
    // Register offsets: small numbers, printed like the SPEC's table.
    for &(name, off) in REGISTERS.iter().chain(DEBUG_REGISTERS) {
        all.push((name, off, 0));
    }
    let mut map = BTreeMap::new();
    for (name, value, width) in all {
        assert!(
            map.insert(name, (value, width)).is_none(),
            "{name} listed twice"
        );
    }
    map
}

/// One item of an ABI source file, in order.
#[derive(Debug, PartialEq)]
enum Item {
    /// A `// §n Title` banner.
    Section(String),
    /// `pub const NAME: <integer type>` with the first line of its doc comment.
    Const { name: String, doc: String },
}

/// The banners and integer constants of one ABI source file, in order.
fn items(source: &str) -> Vec<Item> {
    let mut out = Vec::new();
    let mut doc = String::new();
    for line in source.lines().map(str::trim) {
        if let Some(d) = line.strip_prefix("///") {
            doc = format!("{doc} {}", d.trim()).trim().to_string();
            continue;
        }
        if let Some(title) = line.strip_prefix("// §") {
            out.push(Item::Section(format!("§{}", title.trim())));
        } else if let Some(rest) = line.strip_prefix("pub const ") {
            let (name, ty) = rest.split_once(':').unwrap_or((rest, ""));
            let ty = ty.split('=').next().unwrap_or("").trim();
            if ["u8", "u16", "u32", "u64", "usize"].contains(&ty) {
                out.push(Item::Const {
                    name: name.trim().to_string(),
                    doc: first_sentence(&doc),
                });
            }
        }
        doc.clear();
    }
    out
}

/// Up to the first ". " of a doc comment joined into one line.
fn first_sentence(doc: &str) -> String {
    doc.find(". ").map_or(doc, |i| &doc[..=i]).to_string()
}

/// A doc sentence as a C comment of lines at most 80 columns wide, each
/// line starting with `indent` (no `*/` inside, no Rust link syntax).
fn c_comment(doc: &str, indent: &str) -> String {
    let text = doc.replace("*/", "* /").replace(['[', ']'], "");
    let width = 80 - indent.len() * 8 - 6; // tabs, "/* " and " */"
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("never empty");
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    match &lines[..] {
        [one] => format!("{indent}/* {one} */\n"),
        _ => {
            let body: String = lines.iter().map(|l| format!("{indent} * {l}\n")).collect();
            format!("{indent}/*\n{body}{indent} */\n")
        }
    }
}

fn c_value(value: u64, width: usize) -> String {
    match width {
        0 => format!("0x{value:03x}"),
        8 => format!("0x{value:x}ULL"),
        _ if value > 9 => format!("0x{value:x}U"),
        _ => format!("{value}U"),
    }
}

/// `(field, offset, size, first doc line)` of a `#[repr(C)]` struct, from
/// its source text, checked against the compiled layout by the caller.
fn struct_docs(source: &str, name: &str) -> Vec<(String, String)> {
    let start = source
        .find(&format!("pub struct {name} {{"))
        .unwrap_or_else(|| panic!("no struct {name} in the ABI"));
    let body = &source[start..start + source[start..].find("\n}").expect("struct end")];
    let mut out = Vec::new();
    let mut doc = String::new();
    for line in body.lines().skip(1).map(str::trim) {
        if let Some(d) = line.strip_prefix("///") {
            doc = format!("{doc} {}", d.trim()).trim().to_string();
        } else if let Some(field) = line.strip_prefix("pub ") {
            let field = field.split(':').next().unwrap_or("").trim().to_string();
            out.push((field, first_sentence(&doc)));
            doc.clear();
        }
    }
    out
}

/// `[(field, offset, size)]` of a struct, from the compiler.
macro_rules! layout {
    ($t:ident { $($f:ident),* $(,)? }) => {{
        let v = $t::default();
        let fields: Vec<(&str, usize, usize)> =
            vec![$((stringify!($f), offset_of!($t, $f), size_of_val(&v.$f))),*];
        (fields, size_of::<$t>())
    }};
}

fn c_struct(
    out: &mut String,
    source: &str,
    rust: &str,
    c: &str,
    layout: (Vec<(&str, usize, usize)>, usize),
) {
    let (fields, size) = layout;
    let docs = struct_docs(source, rust);
    let names: Vec<&str> = docs.iter().map(|(f, _)| f.as_str()).collect();
    let listed: Vec<&str> = fields.iter().map(|f| f.0).collect();
    assert_eq!(
        names, listed,
        "fields of {rust}: update the layout! list in c_header.rs"
    );
    out.push_str(&format!(
        "\n/* {rust}: little-endian, no padding. */\nstruct {c} {{\n"
    ));
    let mut at = 0;
    for ((field, off, len), (_, doc)) in fields.iter().zip(&docs) {
        assert_eq!(
            *off, at,
            "{rust}.{field} is not packed: the C struct would differ"
        );
        let ty = match len {
            2 => "__le16",
            4 => "__le32",
            8 => "__le64",
            _ => panic!("{rust}.{field}: {len}-byte fields have no C type here"),
        };
        out.push_str(&c_comment(&format!("{off:#04x}: {doc}"), "\t"));
        out.push_str(&format!("\t{ty} {field};\n"));
        at += len;
    }
    assert_eq!(at, size, "{rust} has padding at its end");
    out.push_str(&format!(
        "}};\n_Static_assert(sizeof(struct {c}) == {size},\n\t       \"struct {c} is the card's layout\");\n"
    ));
}

/// The whole header, from the ABI.
fn generate() -> String {
    let values = constants();
    let mut seen = Vec::new();
    let mut out = format!(
        "/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */\n\
         /*\n\
         \x20* cardless_hw.h: the cardless card's hardware interface for C drivers\n\
         \x20* (PCI identity, BAR0 registers, DMA formats; device/SPEC.md).\n\
         \x20*\n\
         \x20* GENERATED from device/abi/src/regs.rs and record.rs by\n\
         \x20* device/abi/tests/c_header.rs. Do not edit: `cargo test -p cardless-abi`\n\
         \x20* fails when this file and the ABI differ. Regenerate with\n\
         \x20*   CARDLESS_BLESS=1 cargo test -p cardless-abi --test c_header\n\
         \x20*/\n\
         #ifndef {GUARD}\n#define {GUARD}\n\n#include <linux/types.h>\n"
    );
    for (file, source) in [("regs.rs", REGS_RS), ("record.rs", RECORD_RS)] {
        out.push_str(&format!("\n/* ---- device/abi/src/{file} ---- */\n"));
        for item in items(source) {
            match item {
                Item::Section(title) => out.push_str(&format!("\n/* {title} */\n")),
                Item::Const { name, doc } => {
                    let &(value, width) = values.get(name.as_str()).unwrap_or_else(|| {
                        panic!("{name} (device/abi/src/{file}) is not in the C header: add it to constants() in device/abi/tests/c_header.rs")
                    });
                    out.push_str(&c_comment(&doc, ""));
                    out.push_str(&format!(
                        "#define {PREFIX}{name} {}\n",
                        c_value(value, width)
                    ));
                    seen.push(name);
                }
            }
        }
    }
    for name in values.keys() {
        assert!(
            seen.iter().any(|s| s == name),
            "{name} is listed in c_header.rs but is no `pub const` of the ABI's source"
        );
    }
    c_struct(
        &mut out,
        RECORD_RS,
        "RecordHeader",
        "cardless_record_header",
        layout!(RecordHeader {
            magic,
            header_len,
            flags,
            seq,
            timestamp_ns,
            payload_len,
            dropped_before,
            checksum
        }),
    );
    c_struct(
        &mut out,
        RECORD_RS,
        "StatusBlock",
        "cardless_status_block",
        layout!(StatusBlock {
            prod_idx,
            status,
            produced,
            dropped,
            next_seq,
            vtime_ns,
            error_code,
            int_status,
            error_addr,
            generation
        }),
    );
    out.push_str(&format!("\n#endif /* {GUARD} */\n"));
    out
}

/// The committed header is exactly what the ABI generates.
#[test]
fn c_header_matches_the_abi() {
    let want = generate();
    if std::env::var_os("CARDLESS_BLESS").is_some() {
        std::fs::write(HEADER, &want).unwrap_or_else(|e| panic!("cannot write {HEADER}: {e}"));
        return;
    }
    let have = std::fs::read_to_string(HEADER).unwrap_or_default();
    if have != want {
        let line = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .map_or(have.lines().count().min(want.lines().count()), |i| i)
            + 1;
        panic!(
            "{HEADER} differs from the ABI from line {line} on; regenerate it with\n  \
             CARDLESS_BLESS=1 cargo test -p cardless-abi --test c_header"
        );
    }
}

/// Registers the C driver needs come out with the SPEC's offsets, and a
/// constant missing from the list would be named (the generator is not vacuous).
#[test]
fn generator_is_complete_and_exact() {
    let h = generate();
    assert!(h.contains("#define CARDLESS_CONTROL 0x010\n"), "{h}");
    assert!(h.contains("#define CARDLESS_CTRL_RESET 0x80000000U\n"));
    assert!(h.contains("#define CARDLESS_PAYLOAD_WEYL 0x9e3779b97f4a7c15ULL\n"));
    assert!(h.contains("\t/* 0x20: §5.4 checksum of the whole slot with this field read as 0. */\n\t__le64 checksum;\n"));
    assert!(
        h.lines().all(|l| l.replace('\t', "        ").len() <= 80),
        "a line over 80 columns"
    );
    let parsed = items("// §9 Reset\n/// Doc\n/// here. More.\npub const NEW_ONE: u32 = 1;\npub const T: &[u8] = &[];\n");
    assert_eq!(
        parsed,
        vec![
            Item::Section("§9 Reset".into()),
            Item::Const {
                name: "NEW_ONE".into(),
                doc: "Doc here.".into()
            }
        ]
    );
    assert!(!constants().contains_key("NEW_ONE"));
    assert_eq!(c_value(0x80000000, 4), "0x80000000U");
    assert_eq!(c_value(3, 2), "3U");
}

//! SPEC §5.7: the worked examples in `device/SPEC.md` are recomputed here
//! with the ABI code, so the document cannot drift from the card.
//!
//! The test reads the section itself: every table row of the form
//! ``| `f(args)` | `0x...` |`` is evaluated, and the record dump (the one
//! ```` ```text ```` block of the section) is rebuilt byte by byte.

use cardless_abi::record::*;

const SPEC: &str = include_str!("../../SPEC.md");
const SECTION: &str = "### 5.7 Worked examples";

/// The text of §5.7, up to the next heading of the same or a higher level.
fn section() -> &'static str {
    let start = SPEC
        .find(SECTION)
        .unwrap_or_else(|| panic!("SPEC.md has no '{SECTION}' heading"));
    let body = &SPEC[start + SECTION.len()..];
    let end = ["\n## ", "\n### "]
        .iter()
        .filter_map(|h| body.find(h))
        .min()
        .unwrap_or(body.len());
    &body[..end]
}

fn parse_u64(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let hex = s
        .strip_prefix("0x")
        .ok_or_else(|| format!("'{s}' is not a 0x number"))?;
    u64::from_str_radix(&hex.replace('_', ""), 16).map_err(|e| format!("'{s}': {e}"))
}

/// Space-separated hex bytes ("01 02 0a").
fn parse_bytes(s: &str) -> Result<Vec<u8>, String> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).map_err(|e| format!("byte '{b}': {e}")))
        .collect()
}

/// Evaluates one expression of the table with the ABI's functions.
fn eval(expr: &str) -> Result<u64, String> {
    let (name, rest) = expr
        .split_once('(')
        .ok_or_else(|| format!("'{expr}' is not f(args)"))?;
    let args = rest
        .strip_suffix(')')
        .ok_or_else(|| format!("'{expr}' does not end with ')'"))?;
    let nums = || -> Result<Vec<u64>, String> { args.split(',').map(parse_u64).collect() };
    let want = |n: usize, v: Vec<u64>| {
        if v.len() == n {
            Ok(v)
        } else {
            Err(format!(
                "{name} takes {n} argument(s), '{expr}' has {}",
                v.len()
            ))
        }
    };
    match name {
        "mix64" => Ok(mix64(want(1, nums()?)?[0])),
        "key" => {
            let a = want(2, nums()?)?;
            Ok(payload_key(a[0], a[1]))
        }
        "word" => {
            let a = want(3, nums()?)?;
            Ok(payload_word(a[0], a[1], a[2]))
        }
        "sum" => Ok(weighted_sum(&parse_bytes(args)?, 0)),
        "checksum" => Ok(checksum(&parse_bytes(args)?)),
        _ => Err(format!(
            "unknown function '{name}' (mix64, key, word, sum, checksum)"
        )),
    }
}

/// `(expression, value)` of every ``| `expr` | `0x..` |`` row.
fn table_rows(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim().trim_matches('|').split('|').collect();
            let [expr, value] = cells[..] else {
                return None;
            };
            let expr = expr.trim().strip_prefix('`')?.strip_suffix('`')?;
            let value = value.trim().strip_prefix('`')?.strip_suffix('`')?;
            Some((expr.to_string(), value.to_string()))
        })
        .collect()
}

/// The record §5.7 describes: the first one a deterministic card started
/// with `--seed SEED` writes after reset, RECORD_SIZE 64, enable, STEP 1.
const SEED: u64 = 0x0123_4567_89ab_cdef;
const RECORD_BYTES: usize = 64;

fn example_record() -> Vec<u8> {
    let mut h = RecordHeader {
        magic: RECORD_MAGIC,
        header_len: RECORD_HEADER_SIZE as u16,
        flags: 0,
        seq: 0,
        timestamp_ns: 0,
        payload_len: (RECORD_BYTES - RECORD_HEADER_SIZE) as u32,
        dropped_before: 0,
        checksum: 0,
    };
    h.checksum = record_checksum(&h, SEED);
    let mut rec = h.to_bytes().to_vec();
    for j in 0..(h.payload_len / 8) as u64 {
        rec.extend_from_slice(&payload_word(SEED, 0, j).to_le_bytes());
    }
    rec
}

/// "0000  43 52 ..." lines, 16 bytes each, 8 + 8 with a gap.
fn hex_dump(bytes: &[u8]) -> String {
    bytes
        .chunks(16)
        .enumerate()
        .map(|(i, line)| {
            let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
            let (a, b) = hex.split_at(hex.len().min(8));
            format!("{:04x}  {}  {}", i * 16, a.join(" "), b.join(" "))
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The body of the section's one ```text block.
fn text_block(text: &str) -> Option<String> {
    let start = text.find("```text\n")? + "```text\n".len();
    let len = text[start..].find("```")?;
    Some(text[start..start + len].trim_end().to_string())
}

/// SPEC §5.7: every value of the table is what the ABI computes.
#[test]
fn spec_table_values_match_the_abi() {
    let rows = table_rows(section());
    assert!(
        rows.len() >= 10,
        "SPEC §5.7 should hold at least 10 worked values, found {}: {rows:?}",
        rows.len()
    );
    let mut wrong = Vec::new();
    for (expr, value) in &rows {
        let got = eval(expr).unwrap_or_else(|e| panic!("SPEC §5.7 row `{expr}`: {e}"));
        let said = parse_u64(value).unwrap_or_else(|e| panic!("SPEC §5.7 row `{expr}`: {e}"));
        if got != said {
            wrong.push(format!(
                "`{expr}`: SPEC says {said:#018x}, the ABI computes {got:#018x}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "SPEC §5.7 disagrees with device/abi (fix the document or the code):\n{}",
        wrong.join("\n")
    );
}

/// SPEC §5.7: the record dump is byte for byte the ABI's record, and a valid one.
#[test]
fn spec_record_dump_matches_the_abi() {
    let rec = example_record();
    assert_eq!(verify_record(&rec, SEED).map(|h| h.seq), Ok(0));
    let want = hex_dump(&rec);
    let said = text_block(section()).expect("SPEC §5.7 has no ```text block with the record dump");
    assert!(
        said == want,
        "SPEC §5.7's record dump disagrees with device/abi; the ABI's record is:\n{want}\n\nthe document has:\n{said}"
    );
}

/// The parser itself: a wrong value, an unknown function and a short
/// section are each noticed (so the tests above cannot pass vacuously).
#[test]
fn parser_notices_mistakes() {
    let rows = table_rows("| `mix64(0x1)` | `0x5` |\n| text | `0x1` |\n| `a` | b |");
    assert_eq!(rows, vec![("mix64(0x1)".into(), "0x5".into())]);
    assert_ne!(eval("mix64(0x1)").unwrap(), 5);
    assert!(eval("crc32(0x1)").is_err());
    assert!(eval("key(0x1)").is_err());
    assert!(eval("sum(zz)").is_err());
    assert_eq!(eval("sum(01 00 00 00 00 00 00 00 02)").unwrap(), 1 + 2 * 3);
    assert_eq!(hex_dump(&[0xab; 17]).lines().count(), 2);
}

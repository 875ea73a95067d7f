//! Register names and values as a person reads them: names from the ABI's
//! tables (SPEC §4.2, §14.4), bits decoded.

use cardless_abi::regs::*;

/// Every register name the card has, BAR0 and debug window.
fn all() -> impl Iterator<Item = &'static (&'static str, u64)> {
    REGISTERS.iter().chain(DEBUG_REGISTERS)
}

/// A number as written on a command line: `0x` hex or decimal.
pub fn parse_u32(text: &str) -> Result<u32, String> {
    let t = text.trim().replace('_', "");
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => t.parse(),
    };
    parsed.map_err(|_| format!("'{text}' is not a 32-bit number (write 0x1f or 31)"))
}

/// A register by SPEC name (any case) or BAR0 byte offset: `(name, offset)`.
pub fn parse(text: &str) -> Result<(&'static str, u64), String> {
    if let Some(&(name, off)) = all().find(|(n, _)| n.eq_ignore_ascii_case(text)) {
        return Ok((name, off));
    }
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        let names: Vec<&str> = all().map(|(n, _)| *n).collect();
        return Err(format!(
            "no register named '{text}'; SPEC §4.2 names them: {}",
            names.join(" ")
        ));
    }
    let off = u64::from(parse_u32(text)?);
    if off % REG_WIDTH != 0 || off >= BAR0_SIZE {
        return Err(format!(
            "offset {off:#x} is not a register: BAR0 offsets are 4-byte aligned and below {BAR0_SIZE:#x}"
        ));
    }
    Ok((
        all().find(|(_, o)| *o == off).map_or("(hole)", |(n, _)| *n),
        off,
    ))
}

/// `A|B` of the named bits set in `value` (and any unnamed ones in hex).
fn bits(table: &[(&str, u32)], prefix: &str, value: u32) -> String {
    let mut parts: Vec<String> = table
        .iter()
        .filter(|(_, b)| value & b != 0)
        .map(|(n, _)| n.trim_start_matches(prefix).to_string())
        .collect();
    let known = table.iter().fold(0, |acc, (_, b)| acc | b);
    if value & !known != 0 {
        parts.push(format!("{:#x}", value & !known));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join("|")
    }
}

pub fn features(v: u32) -> String {
    bits(FEATURE_BITS, "FEAT_", v)
}

pub fn status(v: u32) -> String {
    bits(STATUS_BITS, "STS_", v)
}

pub fn error(code: u32) -> String {
    error_name(code).map_or_else(|| format!("unknown error {code}"), str::to_string)
}

/// What a register's value means, for the registers whose bits have names.
pub fn explain(off: u64, v: u32) -> String {
    let text = match off {
        CONTROL => bits(CONTROL_BITS, "CTRL_", v),
        STATUS => status(v),
        INT_STATUS | INT_MASK => bits(INT_BITS, "INT_", v),
        FEATURES => features(v),
        ERROR_CODE | COPY_STATUS => error(v),
        _ => return String::new(),
    };
    format!("  {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_offsets() {
        assert_eq!(parse("CONTROL"), Ok(("CONTROL", CONTROL)));
        assert_eq!(parse("prod_idx"), Ok(("PROD_IDX", PROD_IDX)));
        assert_eq!(parse("0x14"), Ok(("STATUS", STATUS)));
        assert_eq!(parse("20"), Ok(("STATUS", STATUS)));
        assert_eq!(parse("0x30"), Ok(("(hole)", 0x30)));
        assert_eq!(parse("dbg_id"), Ok(("DBG_ID", DBG_ID)));
    }

    #[test]
    fn bad_input_says_what_to_do() {
        let e = parse("CONTROLL").unwrap_err();
        assert!(
            e.contains("no register named 'CONTROLL'") && e.contains(" CONTROL "),
            "{e}"
        );
        assert!(parse("0x13").unwrap_err().contains("4-byte aligned"));
        assert!(parse("0x1000").unwrap_err().contains("below 0x1000"));
        assert!(parse("0xzz").unwrap_err().contains("not a 32-bit number"));
        assert!(parse_u32("99999999999").is_err());
    }

    #[test]
    fn values_decode() {
        assert_eq!(
            explain(CONTROL, CTRL_ENABLE | CTRL_STATUS_WB),
            "  ENABLE|STATUS_WB"
        );
        assert_eq!(explain(STATUS, 0), "  -");
        assert_eq!(explain(INT_STATUS, INT_ERROR | 0x100), "  ERROR|0x100");
        assert_eq!(explain(ERROR_CODE, ERR_DMA_STRAY), "  ERR_DMA_STRAY");
        assert_eq!(error(99), "unknown error 99");
        assert_eq!(explain(SCRATCH, 5), "");
    }
}

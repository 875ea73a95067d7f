//! Number formatting shared by the tables and the plots: three significant
//! digits, a unit that keeps the number short, always the same text for the
//! same value (the guide's tables are regenerated, and must not churn).

/// `x` with three significant digits (no exponent): `0.000153`, `1.20`, `45000`.
pub fn sig3(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let decimals = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.decimals$}");
    // Rounding up may add a digit (9.995 -> "10.00"): one decimal fewer then.
    let significant = s
        .trim_start_matches(['-', '0', '.'])
        .chars()
        .filter(char::is_ascii_digit)
        .count();
    if decimals > 0 && significant > 3 {
        format!("{x:.prec$}", prec = decimals - 1)
    } else {
        s
    }
}

/// A duration given in ns, in ns, µs, ms or s.
pub fn duration_ns(ns: f64) -> String {
    let (v, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    format!("{} {unit}", sig3(v))
}

/// Bytes per second as MiB/s.
pub fn bytes_per_s(b: f64) -> String {
    format!("{} MiB/s", sig3(b / MIB))
}

/// MiB/s.
pub fn mib_per_s(m: f64) -> String {
    format!("{} MiB/s", sig3(m))
}

/// A count per second with an SI prefix: `5.00 k/s`, `320 k/s`, `2.00 M/s`.
pub fn per_s(x: f64) -> String {
    let (v, prefix) = if x < 1e3 {
        (x, "")
    } else if x < 1e6 {
        (x / 1e3, "k")
    } else if x < 1e9 {
        (x / 1e6, "M")
    } else {
        (x / 1e9, "G")
    };
    format!("{} {prefix}/s", sig3(v))
}

/// A size in bytes: `64 B`, `4 KiB`, `16 MiB` (exact multiples), else bytes.
pub fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} B")
    }
}

/// A ratio: `×0.0153`, `×1.00`, `×22.5`.
pub fn ratio(r: f64) -> String {
    format!("×{}", sig3(r))
}

/// A relative spread as a percentage: `(max - min) / median`.
pub fn percent(fraction: f64) -> String {
    format!("{}%", sig3(fraction * 100.0))
}

pub const MIB: f64 = 1024.0 * 1024.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_significant_digits() {
        assert_eq!(sig3(1.0), "1.00");
        assert_eq!(sig3(0.000153), "0.000153");
        assert_eq!(sig3(22.5), "22.5");
        assert_eq!(sig3(45000.0), "45000");
        assert_eq!(sig3(9.996), "10.0");
        assert_eq!(sig3(0.09996), "0.100");
    }

    #[test]
    fn units() {
        assert_eq!(duration_ns(50.0), "50.0 ns");
        assert_eq!(duration_ns(45000.0), "45.0 µs");
        assert_eq!(duration_ns(1.0e8), "100 ms");
        assert_eq!(duration_ns(2.5e9), "2.50 s");
        assert_eq!(bytes_per_s(2.0 * MIB), "2.00 MiB/s");
        assert_eq!(per_s(5000.0), "5.00 k/s");
        assert_eq!(size(64), "64 B");
        assert_eq!(size(4096), "4 KiB");
        assert_eq!(size(16 << 20), "16 MiB");
        assert_eq!(ratio(0.5), "×0.500");
        assert_eq!(percent(0.25), "25.0%");
    }
}

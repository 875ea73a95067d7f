//! How long the racing cases race. Each has a base duration, sized for the
//! edit loop; the run's soak factor multiplies it (`SOAK=N make qemu-test`
//! writes N to /etc/cardless-soak; 1 without it). A race finds a bug by
//! chance, so more time finds more: CI soaks one run of its own.

use std::time::Duration;

const SOAK_FILE: &str = "/etc/cardless-soak";
/// The host refuses more (qemu-test.sh): a typo must not race for hours.
pub const MAX_FACTOR: u32 = 100;

/// The run's soak factor, 1 to MAX_FACTOR.
pub fn factor() -> Result<u32, String> {
    match std::fs::read_to_string(SOAK_FILE) {
        Err(_) => Ok(1),
        Ok(text) => parse_factor(&text).map_err(|e| format!("{SOAK_FILE}: {e}")),
    }
}

fn parse_factor(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_FACTOR).contains(&n) => Ok(n),
        _ => Err(format!(
            "soak factor {:?} is not a whole number from 1 to {MAX_FACTOR}",
            text.trim()
        )),
    }
}

/// `base` times the run's soak factor, which it prints for the host's
/// verdict to check against the SOAK the run asked for.
pub fn race_time(base: Duration) -> Result<Duration, String> {
    let factor = factor()?;
    println!("    # cardless-soak: {factor}");
    Ok(base * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_from_one_to_the_maximum_are_taken() {
        assert_eq!(parse_factor("1\n"), Ok(1));
        assert_eq!(parse_factor("4"), Ok(4));
        assert_eq!(parse_factor(&MAX_FACTOR.to_string()), Ok(MAX_FACTOR));
    }

    #[test]
    fn zero_negative_fractional_and_too_large_factors_are_refused() {
        for bad in ["0", "-1", "1.5", "", "x", &(MAX_FACTOR + 1).to_string()] {
            assert!(parse_factor(bad).is_err(), "{bad:?} accepted");
        }
    }
}

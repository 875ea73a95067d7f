//! Rules of single fields, applied while a field is read, so a broken one is
//! reported at its own path with what was expected.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

/// A count of at least 1 (bytes, pages, runs, samples), a JSON integer.
pub fn count<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct Count;
    impl Visitor<'_> for Count {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-negative integer")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            match v {
                0 => Err(E::custom("must be at least 1, found 0")),
                n => Ok(n),
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            match u64::try_from(v) {
                Ok(n) => self.visit_u64(n),
                Err(_) => Err(E::custom(format!(
                    "expected a non-negative integer, found {v}"
                ))),
            }
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
            Err(E::custom(format!(
                "expected a non-negative integer, found {v}"
            )))
        }
    }
    d.deserialize_any(Count)
}

/// A finite number greater than 0 (a time or a rate).
pub fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    struct Positive;
    impl Visitor<'_> for Positive {
        type Value = f64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number greater than 0")
        }
        fn visit_f64<E: de::Error>(self, x: f64) -> Result<f64, E> {
            if x.is_finite() && x > 0.0 {
                Ok(x)
            } else {
                Err(E::custom(format!(
                    "must be a number greater than 0, found {x} (a figure that could not be \
                     measured belongs in \"skipped\")"
                )))
            }
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            self.visit_f64(v as f64)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            self.visit_f64(v as f64)
        }
    }
    d.deserialize_any(Positive)
}

/// `EFAULT`-style (E and capitals or digits) or `errno N`.
pub fn is_errno_name(s: &str) -> bool {
    let symbolic = s.len() > 1
        && s.starts_with('E')
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let numeric = s
        .strip_prefix("errno ")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    symbolic || numeric
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names() {
        assert!(is_errno_name("EFAULT"));
        assert!(is_errno_name("errno 121"));
        assert!(!is_errno_name("E"));
        assert!(!is_errno_name("efault"));
        assert!(!is_errno_name("errno "));
        assert!(!is_errno_name("failed"));
    }
}

//! How trace fields are spelled in JSON (SPEC §12): the `#[serde(with)]`
//! helpers the event types in [`super::format`] name.
//!
//! Addresses, values and hashes are written as `"0x…"` strings (JSON
//! numbers lose precision above 2^53 in most readers); counts as integers.
//! Both kinds are read back leniently, from an integer or a decimal or hex
//! string, so a hand-edited trace reads as well as a written one.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Serializer;

/// Reads a number given as a JSON integer or a decimal/hex string.
struct NumberVisitor;

impl Visitor<'_> for NumberVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative integer or a hex string such as \"0x1f\"")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        crate::fault::parse_number(v).map_err(E::custom)
    }
}

fn number<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(NumberVisitor)
}

/// A number narrowed to its field's width, with the width in the message.
fn narrow<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<T, D::Error> {
    let v = number(d)?;
    T::try_from(v).map_err(|_| {
        de::Error::custom(format!(
            "{v} does not fit the field's {} bits",
            std::mem::size_of::<T>() * 8
        ))
    })
}

/// `"0x…"`: addresses, values, hashes.
pub mod hex {
    use super::*;

    pub fn serialize<S: Serializer, T: Copy + Into<u64>>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:#x}", (*v).into()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<T, D::Error> {
        narrow(d)
    }
}

/// An optional `"0x…"`, left out when absent.
pub mod opt_hex {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => hex::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        number(d).map(Some)
    }
}

/// A count written as a JSON integer (read from a string too).
pub mod int {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<T, D::Error> {
        narrow(d)
    }
}

/// An optional count, left out when absent.
pub mod opt_int {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        number(d).map(Some)
    }
}

/// `"dir"`: `"w"` (into the card or host memory) or `"r"`, as `write: bool`.
pub mod dir {
    use super::*;

    pub fn serialize<S: Serializer>(write: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if *write { "w" } else { "r" })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        d.deserialize_str(StrVisitor("\"r\" or \"w\"", |s: &str| match s {
            "w" => Ok(true),
            "r" => Ok(false),
            other => Err(format!("\"dir\" is \"{other}\", expected \"r\" or \"w\"")),
        }))
    }
}

/// Reads a string through `parse` without copying it first.
struct StrVisitor<F>(&'static str, F);

impl<T, F: FnOnce(&str) -> Result<T, String>> Visitor<'_> for StrVisitor<F> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.1)(v).map_err(E::custom)
    }
}

/// Bytes as lowercase hex.
pub fn hex_string(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Decodes lowercase or uppercase hex.
pub fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err("\"data\" has an odd number of hex digits".into());
    }
    let digit = |c: u8| -> Result<u8, String> {
        (c as char)
            .to_digit(16)
            .map(|d| d as u8)
            .ok_or_else(|| format!("\"data\" holds '{}', not a hex digit", c as char))
    };
    s.as_bytes()
        .chunks_exact(2)
        .map(|p| Ok(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// `"data"`: the bytes in hex, left out when not recorded.
pub mod data {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<Cow<'_, [u8]>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(bytes) => s.serialize_str(&hex_string(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, 'a, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Cow<'a, [u8]>>, D::Error> {
        d.deserialize_str(StrVisitor("a hex string", |s: &str| {
            unhex(s).map(|b| Some(Cow::Owned(b)))
        }))
    }
}

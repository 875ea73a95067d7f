//! Reports a test provokes on purpose, declared in its KTAP diagnostics:
//!
//! ```text
//! # cardless-expect: card=0 error=DMA_UNMAPPED count=1
//! # cardless-expect: card=0 sanitizer=stray count=1+
//! # cardless-expect: kernel=PAT count=any
//! ```
//!
//! A declaration covers only the case that prints it; the verdict checks
//! that what was declared appeared (`count=N` exactly N, `N+` at least N,
//! `any` zero or more) and that nothing undeclared did.

/// What a declaration is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    /// A card latched this error (`ERR_` name without the prefix).
    CardError { card: u32, name: String },
    /// A card's DMA sanitizer reported this check.
    Sanitizer { card: u32, check: String },
    /// The kernel printed a report of this kind (`WARNING`, `KASAN`, `PAT`...).
    Kernel { kind: String },
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::CardError { card, name } => write!(f, "card {card} error {name}"),
            Subject::Sanitizer { card, check } => {
                write!(f, "card {card} sanitizer finding '{check}'")
            }
            Subject::Kernel { kind } => write!(f, "kernel {kind} report"),
        }
    }
}

impl Subject {
    /// Whether a declaration of `self` covers an observed `other`: the same
    /// subject, or a wildcard (`error=*`, `sanitizer=*`) on the same card.
    pub fn covers(&self, other: &Subject) -> bool {
        match (self, other) {
            (Subject::CardError { card: a, name }, Subject::CardError { card: b, .. })
                if name == "*" =>
            {
                a == b
            }
            (Subject::Sanitizer { card: a, check }, Subject::Sanitizer { card: b, .. })
                if check == "*" =>
            {
                a == b
            }
            _ => self == other,
        }
    }
}

/// How many are expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Exactly(usize),
    AtLeast(usize),
    Any,
}

impl Count {
    pub fn admits(self, seen: usize) -> bool {
        match self {
            Count::Exactly(n) => seen == n,
            Count::AtLeast(n) => seen >= n,
            Count::Any => true,
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Count::Exactly(n) => write!(f, "exactly {n}"),
            Count::AtLeast(n) => write!(f, "at least {n}"),
            Count::Any => write!(f, "any number"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    pub subject: Subject,
    pub count: Count,
}

pub const PREFIX: &str = "cardless-expect:";

/// The declaration on a diagnostic line, if it is one; a malformed one is
/// an error (a typo must not silently excuse nothing).
pub fn parse(diagnostic: &str) -> Option<Result<Expectation, String>> {
    let rest = diagnostic.trim().strip_prefix(PREFIX)?;
    Some(parse_fields(rest).map_err(|e| format!("bad declaration '{}': {e}", diagnostic.trim())))
}

fn parse_fields(rest: &str) -> Result<Expectation, String> {
    let mut card = None;
    let mut subject = None;
    let mut count = Count::Exactly(1);
    for word in rest.split_whitespace() {
        let (k, v) = word
            .split_once('=')
            .ok_or_else(|| format!("'{word}' is not KEY=VALUE"))?;
        match k {
            "card" => card = Some(v.parse::<u32>().map_err(|_| format!("card '{v}'"))?),
            "error" | "sanitizer" | "kernel" => subject = Some((k, v.to_string())),
            "count" => count = parse_count(v)?,
            other => return Err(format!("unknown key '{other}'")),
        }
    }
    let subject = match (subject, card) {
        (Some(("error", name)), Some(card)) => Subject::CardError {
            card,
            name: name.trim_start_matches("ERR_").to_string(),
        },
        (Some(("sanitizer", check)), Some(card)) => Subject::Sanitizer { card, check },
        (Some(("kernel", kind)), None) => Subject::Kernel { kind },
        _ => return Err("want card=N with error=/sanitizer=, or kernel= alone".into()),
    };
    Ok(Expectation { subject, count })
}

fn parse_count(v: &str) -> Result<Count, String> {
    if v == "any" {
        return Ok(Count::Any);
    }
    if let Some(n) = v.strip_suffix('+') {
        return n
            .parse()
            .map(Count::AtLeast)
            .map_err(|_| format!("count '{v}'"));
    }
    v.parse()
        .map(Count::Exactly)
        .map_err(|_| format!("count '{v}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_parse() {
        let e = parse("cardless-expect: card=0 error=ERR_DMA_UNMAPPED count=2")
            .unwrap()
            .unwrap();
        assert_eq!(
            e.subject,
            Subject::CardError {
                card: 0,
                name: "DMA_UNMAPPED".into()
            }
        );
        assert_eq!(e.count, Count::Exactly(2));
        let e = parse("cardless-expect: kernel=PAT count=1+")
            .unwrap()
            .unwrap();
        assert_eq!(e.subject, Subject::Kernel { kind: "PAT".into() });
        assert!(e.count.admits(3) && !e.count.admits(0));
        let e = parse("cardless-expect: card=1 sanitizer=stray count=any")
            .unwrap()
            .unwrap();
        assert!(e.count.admits(0));
    }

    #[test]
    fn wildcards_cover_every_error_of_their_card() {
        let any = parse("cardless-expect: card=0 error=* count=any")
            .unwrap()
            .unwrap();
        let one = Subject::CardError {
            card: 0,
            name: "BAD_STEP".into(),
        };
        assert!(any.subject.covers(&one));
        assert!(!any.subject.covers(&Subject::CardError {
            card: 1,
            name: "BAD_STEP".into()
        }));
        assert!(!any.subject.covers(&Subject::Sanitizer {
            card: 0,
            check: "stray".into()
        }));
        assert!(one.covers(&one) && !one.covers(&any.subject));
    }

    #[test]
    fn the_default_count_is_exactly_one() {
        let e = parse("cardless-expect: card=0 error=BAD_COPY_OP")
            .unwrap()
            .unwrap();
        assert_eq!(e.count, Count::Exactly(1));
    }

    #[test]
    fn other_lines_are_not_declarations_and_typos_are_errors() {
        assert!(parse("VmFlags rd sh").is_none());
        assert!(parse("cardless-expect: card=0 eror=X").unwrap().is_err());
        assert!(parse("cardless-expect: error=X").unwrap().is_err());
        assert!(parse("cardless-expect: card=0 error=X count=lots")
            .unwrap()
            .is_err());
    }
}

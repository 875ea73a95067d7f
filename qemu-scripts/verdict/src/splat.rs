//! Finds kernel reports in a console log: any of them fails a run, even
//! when every test passed, because a splat means the kernel caught a bug.

/// One kernel report: the line that opened it and a few lines after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splat {
    pub kind: &'static str,
    pub line_no: usize,
    pub excerpt: Vec<String>,
    /// Every line of the report, timestamps removed (for the allow-list).
    pub report: Vec<String>,
}

/// (pattern, kind). Matched against each line with the printk timestamp removed.
/// Lockdep's reports come first: their opening line also says "WARNING:".
const PATTERNS: &[(&str, &str)] = &[
    ("possible circular locking dependency", "lockdep"),
    ("possible recursive locking", "lockdep"),
    ("inconsistent lock state", "lockdep"),
    ("suspicious RCU usage", "lockdep"),
    ("INFO: lockdep", "lockdep"),
    ("WARNING:", "WARNING"),
    ("------------[ cut here ]------------", "WARNING"),
    ("BUG:", "BUG"),
    ("kernel BUG at", "BUG"),
    ("Oops", "Oops"),
    ("general protection fault", "Oops"),
    ("KASAN:", "KASAN"),
    ("UBSAN:", "UBSAN"),
    ("Call Trace:", "Call Trace"),
    ("unreferenced object", "kmemleak"),
    // dma-debug's reports ("DMA-API: <driver> <dev>: device driver ...") come
    // with a WARNING; its boot banner ("DMA-API: debugging enabled") is not one.
    ("DMA-API: ", "DMA-API"),
    ("Kernel panic", "panic"),
    ("rust_panic", "Rust panic"),
    ("blocked for more than", "hung task"),
    ("soft lockup", "soft lockup"),
    ("rcu_sched self-detected stall", "RCU stall"),
    ("rcu: INFO:", "RCU stall"),
    // x86 PAT refused the caching mode a driver asked for (the second
    // seed's remap_pfn_range of RAM with pgprot_noncached, or a WC/UC clash).
    ("map pfn RAM range req", "PAT"),
    ("map pfn expected mapping type", "PAT"),
    ("conflicting memory types", "PAT"),
];

fn strip_timestamp(line: &str) -> &str {
    let t = line.trim_start();
    if let Some(rest) = t.strip_prefix('[') {
        if let Some((stamp, after)) = rest.split_once(']') {
            if stamp.trim().chars().all(|c| c.is_ascii_digit() || c == '.') {
                return after.trim_start();
            }
        }
    }
    t
}

/// How far a report's closing line is looked for.
const REPORT_MAX_LINES: usize = 300;

/// Lines that contain a pattern but report nothing wrong.
fn is_benign(line: &str) -> bool {
    const BENIGN: &[&str] = &["DMA-API: preallocated", "DMA-API: debugging enabled"];
    BENIGN.iter().any(|b| line.contains(b))
}

/// Every report in `log`. A report's follow-on lines (the call trace of a
/// WARNING) are folded into the report that opened it.
pub fn find(log: &str) -> Vec<Splat> {
    let lines: Vec<&str> = log.lines().collect();
    let mut found: Vec<Splat> = Vec::new();
    let mut skip_until = 0;
    for (i, raw) in lines.iter().enumerate() {
        if i < skip_until {
            continue;
        }
        let line = strip_timestamp(raw);
        if let Some((_, kind)) = PATTERNS
            .iter()
            .find(|(p, _)| line.contains(p) && !is_benign(line))
        {
            let end = (i + 12).min(lines.len());
            // The rest of this report (its trace) is not a new report. It
            // ends with "---[ end trace" (WARNING, BUG), or for lockdep
            // with the stack backtrace's "</TASK>".
            let closes = |l: &&str| {
                let l = strip_timestamp(l);
                l.starts_with("---[ end trace") || (*kind == "lockdep" && l.starts_with("</TASK>"))
            };
            let report_end = lines[i + 1..]
                .iter()
                .take(REPORT_MAX_LINES)
                .position(closes)
                .map_or(end, |p| i + 1 + p + 1);
            found.push(Splat {
                kind,
                line_no: i + 1,
                excerpt: lines[i..end].iter().map(|l| l.to_string()).collect(),
                report: lines[i..report_end]
                    .iter()
                    .map(|l| strip_timestamp(l).to_string())
                    .collect(),
            });
            skip_until = report_end;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_boot_has_no_splat() {
        let log = "[    0.000000] Linux version 7.2.13\n[    0.5] cardless 0000:01:00.0: card v1 bound\n[    0.9] reboot: Power down\n";
        assert!(find(log).is_empty());
    }

    #[test]
    fn a_warning_with_its_trace_is_one_report() {
        let log = "[ 1.0] ------------[ cut here ]------------\n[ 1.0] WARNING: CPU: 0 PID: 1 at drivers/misc/lkdtm/bugs.c:1 lkdtm_WARNING+0x1\n[ 1.0] Call Trace:\n[ 1.0]  <TASK>\n[ 1.0] ---[ end trace 0000000000000000 ]---\n[ 2.0] BUG: KASAN: slab-use-after-free in x\n";
        let s = find(log);
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[0].kind, "WARNING");
        assert!(s[0].excerpt.iter().any(|l| l.contains("lkdtm_WARNING")));
        assert_eq!(s[1].kind, "BUG");
    }

    #[test]
    fn boot_banners_are_not_reports() {
        let log = "[ 1.7] DMA-API: preallocated 65536 debug entries\n[ 1.7] DMA-API: debugging enabled by kernel config\n";
        assert!(find(log).is_empty());
        let bad = "[ 9.0] DMA-API: cardless 0000:01:00.0: device driver frees DMA memory with wrong function\n";
        assert_eq!(find(bad).len(), 1);
    }

    #[test]
    fn each_kind_is_recognised() {
        for (pattern, kind) in PATTERNS {
            let s = find(&format!("[ 3.25] {pattern} something\n"));
            assert_eq!(s.len(), 1, "{pattern}");
            assert_eq!(&s[0].kind, kind);
        }
    }
}

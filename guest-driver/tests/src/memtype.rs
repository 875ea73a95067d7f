//! What the kernel records about physical memory: the caching type x86 PAT
//! gave each mapped range (`/sys/kernel/debug/x86/pat_memtype_list`), the
//! physical frame behind a user address (`/proc/self/pagemap`), whether an
//! address is RAM (`/proc/iomem`), and a card's BAR addresses (sysfs).
//! Under QEMU a caching mode changes no byte, but the kernel's bookkeeping
//! tells the truth.

const PAT_LIST: &str = "/sys/kernel/debug/x86/pat_memtype_list";

/// One PAT entry: `[start, end)` and its type (`uncached-minus`,
/// `write-combining`, `write-back`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memtype {
    pub start: u64,
    pub end: u64,
    pub kind: String,
}

/// Every range PAT tracks (`PAT: [mem 0x...-0x...] type`).
pub fn pat_memtypes() -> Result<Vec<Memtype>, String> {
    let text = std::fs::read_to_string(PAT_LIST)
        .map_err(|e| format!("{PAT_LIST}: {e} (kernel without X86_PAT or debugfs?)"))?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("PAT: [mem ")?;
            let (range, kind) = rest.split_once("] ")?;
            let (a, b) = range.split_once('-')?;
            let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok();
            Some(Memtype {
                start: hex(a)?,
                end: hex(b)?,
                kind: kind.trim().to_string(),
            })
        })
        .collect())
}

/// The caching types PAT recorded for ranges that start at `phys`.
pub fn pat_types_at(phys: u64) -> Result<Vec<String>, String> {
    Ok(pat_memtypes()?
        .into_iter()
        .filter(|m| m.start == phys)
        .map(|m| m.kind)
        .collect())
}

/// A PFN mapping (VM_PFNMAP, which /proc/self/pagemap does not show) is of
/// physical address `phys` with caching `kind`: PAT tracks one more range
/// starting at `phys` while the mapping `map()` makes lives, of that type,
/// and one less after its munmap.
pub fn check_mapping_reserves<M>(
    phys: u64,
    kind: &str,
    map: impl FnOnce() -> Result<M, String>,
) -> Result<(), String> {
    let before = pat_types_at(phys)?;
    let mapping = map()?;
    let during = pat_types_at(phys)?;
    drop(mapping);
    let after = pat_types_at(phys)?;
    if during.len() != before.len() + 1 || during.iter().any(|t| t != kind) {
        return Err(format!(
            "PAT at {phys:#x} before the mapping {before:?}, with it {during:?}: expected one more {kind} range (the mapping is not of {phys:#x}, or not {kind})"
        ));
    }
    if after.len() != before.len() {
        return Err(format!(
            "PAT at {phys:#x} after munmap: {after:?}, before the mapping {before:?}"
        ));
    }
    Ok(())
}

/// Whether `/proc/iomem` lists `phys` inside a "System RAM" range.
pub fn is_system_ram(phys: u64) -> Result<bool, String> {
    let text = std::fs::read_to_string("/proc/iomem").map_err(|e| format!("/proc/iomem: {e}"))?;
    Ok(text.lines().any(|l| {
        let Some((range, name)) = l.trim().split_once(" : ") else {
            return false;
        };
        let Some((a, b)) = range.split_once('-') else {
            return false;
        };
        let (Ok(a), Ok(b)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) else {
            return false;
        };
        name == "System RAM" && (a..=b).contains(&phys)
    }))
}

/// BAR `bar`'s physical start and length, from the card's sysfs `resource`.
pub fn bar_range(card: &crate::pci::PciCard, bar: usize) -> Result<(u64, u64), String> {
    let path = card.sysfs.join("resource");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let line = text
        .lines()
        .nth(bar)
        .ok_or_else(|| format!("{} has no line for BAR{bar}", path.display()))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| u64::from_str_radix(w.trim_start_matches("0x"), 16).ok())
        .collect();
    match f[..] {
        [start, end, _] if end > start => Ok((start, end - start + 1)),
        _ => Err(format!(
            "BAR{bar} of {} is not assigned: '{line}'",
            card.sysfs.display()
        )),
    }
}

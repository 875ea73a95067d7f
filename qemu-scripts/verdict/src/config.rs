//! What a run was configured with, and whether a skip is explained by it.
//!
//! A test that cannot run here skips with a machine-readable need in front
//! of its reason: `SKIP [needs:iommu] ...`. The skip is explained only when
//! the run's configuration lacks that need; any other skip fails the run.

use std::collections::BTreeMap;

/// `key=value` facts of a run, as the harness passed them (`--config`).
#[derive(Debug, Default, Clone)]
pub struct RunConfig(BTreeMap<String, String>);

impl RunConfig {
    /// Parses `key=value`; a word without `=` is an error naming it.
    pub fn parse(items: &[String]) -> Result<Self, String> {
        let mut map = BTreeMap::new();
        for item in items {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| format!("--config {item}: expected KEY=VALUE (e.g. iommu=1)"))?;
            map.insert(k.trim().to_string(), v.trim().to_string());
        }
        Ok(RunConfig(map))
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn number(&self, key: &str) -> Option<u64> {
        self.get(key)?.parse().ok()
    }

    fn list_has(&self, key: &str, word: &str) -> bool {
        self.get(key)
            .is_some_and(|v| v.split(',').any(|w| w.trim() == word))
    }

    /// The soak factor the run asked for (`SOAK=N`), if it said.
    pub fn soak(&self) -> Option<u64> {
        self.number("soak")
    }

    /// Whether this run provides `need`; `None` for a need nobody knows.
    pub fn provides(&self, need: &str) -> Option<bool> {
        if let Some(n) = need.strip_prefix("cards>=") {
            let want: u64 = n.parse().ok()?;
            return Some(self.number("cards")? >= want);
        }
        Some(match need {
            "iommu" => self.get("iommu")? == "1",
            "no-iommu" => self.get("iommu")? != "1",
            // MSI or MSI-X: not with IRQ=intx (pci=nomsi).
            "msi" => self.get("irq")? != "intx",
            // kmemleak, KASAN, lockdep: the debug kernel's options.
            "debug-kernel" => self.get("kernel")? == "debug",
            "host-unplug" => self.list_has("host", "unplug"),
            "host-kill" => self.list_has("host", "kill"),
            "debug-window" => self.list_has("card0", "debug-window"),
            "zoo-module" => self.get("module")? == "zoo",
            _ => return None,
        })
    }
}

/// The `[needs:X]` of a skip reason.
pub fn need_of(reason: &str) -> Option<&str> {
    let start = reason.find("[needs:")? + "[needs:".len();
    let len = reason[start..].find(']')?;
    Some(&reason[start..start + len])
}

/// `None` when the skip is explained; else why it is not.
pub fn unexplained_skip(config: &RunConfig, reason: &str) -> Option<String> {
    let Some(need) = need_of(reason) else {
        return Some(
            "the skip names no need ([needs:...]) the run's configuration could explain".into(),
        );
    };
    match config.provides(need) {
        Some(false) => None,
        Some(true) => Some(format!(
            "it needs {need}, and this run has it (configuration: {config})"
        )),
        None => Some(format!(
            "it needs '{need}', which the harness does not describe (configuration: {config})"
        )),
    }
}

impl std::fmt::Display for RunConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let words: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        write!(f, "{}", words.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(items: &[&str]) -> RunConfig {
        RunConfig::parse(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn a_skip_for_want_of_msi_is_explained_only_with_irq_intx() {
        let why = "SKIP [needs:msi] INTx: one line for every cause";
        assert_eq!(unexplained_skip(&config(&["irq=intx"]), why), None);
        assert!(unexplained_skip(&config(&["irq=msi"]), why).is_some());
        assert!(unexplained_skip(&config(&[]), why).is_some());
    }

    #[test]
    fn a_skip_for_want_of_an_iommu_is_explained_only_without_one() {
        let why = "SKIP [needs:iommu] the card's DMA is not behind an IOMMU";
        assert_eq!(unexplained_skip(&config(&["iommu=0"]), why), None);
        assert!(unexplained_skip(&config(&["iommu=1"]), why).is_some());
    }

    #[test]
    fn card_counts_compare() {
        let why = "SKIP [needs:cards>=2] one card";
        assert_eq!(unexplained_skip(&config(&["cards=1"]), why), None);
        assert!(unexplained_skip(&config(&["cards=2"]), why).is_some());
    }

    #[test]
    fn host_steps_are_a_list() {
        let c = config(&["host=unplug,kill"]);
        assert_eq!(c.provides("host-unplug"), Some(true));
        assert_eq!(c.provides("host-kill"), Some(true));
        assert_eq!(config(&["host=kill"]).provides("host-unplug"), Some(false));
        assert_eq!(config(&[]).provides("host-unplug"), Some(false));
    }

    #[test]
    fn a_skip_without_a_need_or_with_an_unknown_one_is_not_explained() {
        assert!(unexplained_skip(&config(&[]), "SKIP not today").is_some());
        assert!(unexplained_skip(&config(&[]), "SKIP [needs:moon] x").is_some());
        // An unknown fact about the run cannot explain it either.
        assert!(unexplained_skip(&config(&[]), "SKIP [needs:iommu] x").is_some());
    }

    #[test]
    fn the_soak_factor_is_read_as_a_number() {
        assert_eq!(config(&["soak=6"]).soak(), Some(6));
        assert_eq!(config(&["iommu=1"]).soak(), None);
    }

    #[test]
    fn bad_config_words_are_refused() {
        assert!(RunConfig::parse(&["iommu".to_string()]).is_err());
    }
}

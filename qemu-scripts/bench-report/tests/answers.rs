//! The guide's per-question figures on `tests/sample.json` (not a
//! measurement): every number comes from the JSON, every comparison word is
//! decided by it, and every generated text and plot names the accelerator.

use cardless_bench_report::schema::{self, Bench};
use cardless_bench_report::{answers, charts, guide, guide_blocks, markdown};
use serde_json::Value;

const SAMPLE: &str = include_str!("sample.json");

fn sample() -> Value {
    serde_json::from_str(SAMPLE).expect("sample.json is JSON")
}

fn bench_of(v: &Value) -> Bench {
    let (bench, problems) = schema::parse(&v.to_string()).expect("parses");
    assert_eq!(problems, vec![]);
    bench
}

/// The text of question `n`'s block.
fn answer(bench: &Bench, n: usize) -> String {
    let blocks = answers::blocks(bench);
    assert_eq!(blocks.len(), 4);
    assert_eq!(blocks[n - 1].name, format!("bench-q{n}"));
    blocks[n - 1].text.clone()
}

#[test]
fn q2_states_the_fault_cost_from_the_json() {
    let q2 = answer(&bench_of(&sample()), 2);
    // fault: 135 ms for 4096 pages; pages: 3.6 ms (16 MiB); compound: 0.85 ms (4 MiB).
    assert!(q2.contains("takes 135 ms"), "{q2}");
    assert!(q2.contains("33.0 µs per page"), "{q2}");
    assert!(
        q2.contains("faulting costs ×37.5 per page, 131 ms more"),
        "{q2}"
    );
    assert!(
        q2.contains("(`compound`, 830 ns per page, measured on a 4 MiB buffer) it is ×39.7"),
        "{q2}"
    );
    // 16 MiB at 1520 MiB/s is 10.5 ms; 135 ms is ×12.8 that.
    assert!(
        q2.contains("reads sequentially in 10.5 ms (1520 MiB/s)"),
        "{q2}"
    );
    assert!(q2.contains("×12.8 the time of a full read"), "{q2}");
    assert!(q2.contains("×0.981 of anonymous memory"), "{q2}");
    assert!(q2.contains("min–max ranges overlap"), "{q2}");

    // Other numbers, other text: nothing is typed.
    let mut v = sample();
    v["first_touch"][4]["median_ns"] = 1.4e7.into();
    v["first_touch"][4]["min_ns"] = 1.3e7.into();
    v["seq_read"][5]["median_mib_s"] = 700.0.into();
    v["seq_read"][5]["min_mib_s"] = 690.0.into();
    v["seq_read"][5]["max_mib_s"] = 710.0.into();
    let q2 = answer(&bench_of(&v), 2);
    assert!(q2.contains("takes 14.0 ms"), "{q2}");
    assert!(q2.contains("×0.452 of anonymous memory"), "{q2}");
    assert!(q2.contains("slower: min–max ranges apart"), "{q2}");
}

#[test]
fn q1_states_latencies_and_the_direct_io_split() {
    let q1 = answer(&bench_of(&sample()), 1);
    assert!(
        q1.contains("takes 45.0 µs (median; p99 92.0 µs), ×21.4 the 2.10 µs"),
        "{q1}"
    );
    assert!(
        q1.contains("takes 55.0 ns: 818 times faster than the trapped read"),
        "{q1}"
    );
    assert!(
        q1.contains(
            "works from `pages`, `compound`, `vmalloc`, `fault` and `page_by_page` and fails with \
             EFAULT from `coherent` and `carveout`: exactly the PFN mappings fail."
        ),
        "{q1}"
    );
    // A split that is not the expected one is said to be so.
    let mut v = sample();
    v["direct_io"][1]["result"] = "EFAULT".into();
    let q1 = answer(&bench_of(&v), 1);
    assert!(
        q1.contains("works from `compound`, `vmalloc`, `fault` and `page_by_page`"),
        "{q1}"
    );
    assert!(q1.contains("not the expected split"), "{q1}");
}

#[test]
fn q3_and_q4_compare_per_page_across_sizes() {
    let bench = bench_of(&sample());
    let q3 = answer(&bench, 3);
    assert!(
        q3.contains("`coherent` (`dma_mmap_coherent`, 4 MiB)"),
        "{q3}"
    );
    assert!(
        q3.contains("`carveout` (`remap_pfn_range`, 16 MiB)"),
        "{q3}"
    );
    assert!(
        q3.contains("first touch 1.07 µs against 1.05 µs per page"),
        "{q3}"
    );
    assert!(q3.contains("compare per page"), "{q3}");
    assert!(q3.contains("fails with EFAULT"), "{q3}");
    let q4 = answer(&bench, 4);
    assert!(
        q4.contains("one `vm_insert_pages` batch (`pages`, 16 MiB) 879 ns"),
        "{q4}"
    );
    assert!(q4.contains("is ×0.944 the batch per page"), "{q4}");
    // page_by_page: the same 16 MiB of order-0 pages, one vm_insert_page each.
    assert!(
        q4.contains(
            "One `vm_insert_page` call per page on the same order-0 memory is ×1.80 the batch \
             (both 16 MiB)"
        ),
        "{q4}"
    );
}

#[test]
fn everything_generated_names_the_accelerator() {
    for (accel, label, other) in [("tcg", "TCG", "KVM"), ("kvm", "KVM", "TCG")] {
        let mut v = sample();
        v["accel"] = accel.into();
        let bench = bench_of(&v);
        let tables = markdown::tables(&bench);
        for b in guide_blocks(&bench, &tables) {
            assert!(b.text.contains(label), "{}: {}", b.name, b.text);
            assert!(!b.text.contains(other), "{}: {}", b.name, b.text);
        }
        for (file, chart) in charts::all(&bench) {
            assert!(chart.title.contains(label), "{file}: {}", chart.title);
            assert!(!chart.title.contains(other), "{file}: {}", chart.title);
        }
    }
}

#[test]
fn the_real_guide_has_every_generated_block() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/mapping-guide.md");
    let text = std::fs::read_to_string(path).expect("docs/mapping-guide.md");
    let bench = bench_of(&sample());
    let blocks = guide_blocks(&bench, &markdown::tables(&bench));
    let names: Vec<&str> = blocks.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(
        names,
        ["bench", "bench-q1", "bench-q2", "bench-q3", "bench-q4"]
    );
    guide::replace(&text, &blocks, path).expect("every marker in the guide");
}

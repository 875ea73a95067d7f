//! The figures behind the guide's answers to the seeds' four questions, as
//! sentences: one generated block per question (`bench-q1` .. `bench-q4`),
//! every number taken from the benchmark's JSON and every comparison word
//! ("faster", "within the spread") decided by the numbers, never typed.

use crate::guide::Block;
use crate::markdown::{names, order, sizes};
use crate::ratios;
use crate::schema::{
    Bench, DirectIoResult, FirstTouch, RegisterTarget, SeqRead, Spread, Streaming, ANONYMOUS,
};
use crate::units::{duration_ns, mib_per_s, ratio, size, MIB};

/// The strategies the driver maps by PFN (VM_PFNMAP, no `struct page` to
/// hand out): `dma_mmap_coherent` and `remap_pfn_range` of the carve-out.
pub const PFN_STRATEGIES: [&str; 2] = ["coherent", "carveout"];

/// The four blocks, in question order.
pub fn blocks(bench: &Bench) -> Vec<Block> {
    let head = format!("**Measured** (under **{}**", bench.accel.label());
    let head = format!("{head}, kernel {}; `make qemu-bench`):", bench.kernel);
    [q1(bench), q2(bench), q3(bench), q4(bench)]
        .into_iter()
        .enumerate()
        .map(|(i, text)| Block {
            name: format!("bench-q{}", i + 1),
            text: format!(
                "{head} {}",
                text.unwrap_or_else(
                    || "not measured in this run: see `build/bench/report.md`.".to_string()
                )
            ),
        })
        .collect()
}

fn first_touch<'a>(bench: &'a Bench, strategy: &str) -> Option<&'a FirstTouch> {
    bench.first_touch.iter().find(|e| e.strategy == strategy)
}

fn seq_read<'a>(bench: &'a Bench, strategy: &str) -> Option<&'a SeqRead> {
    bench.seq_read.iter().find(|e| e.strategy == strategy)
}

fn latency(bench: &Bench, t: RegisterTarget) -> Option<(f64, f64)> {
    let e = bench
        .register_latency
        .iter()
        .find(|e| e.kind() == Some(t))?;
    Some((e.median_ns, e.p99_ns))
}

/// `×R of anonymous memory`, with whether that is inside the baseline's spread.
fn vs_anonymous(bench: &Bench, strategy: &str) -> Option<String> {
    let e = seq_read(bench, strategy)?;
    let anon = seq_read(bench, ANONYMOUS)?;
    let r = ratios::seq_read_vs_anonymous(&bench.seq_read, e)?;
    let verdict = if overlaps(&e.mib_s(), &anon.mib_s()) {
        "min–max ranges overlap"
    } else if e.mib_s().median > anon.mib_s().median {
        "faster: min–max ranges apart"
    } else {
        "slower: min–max ranges apart"
    };
    Some(format!(
        "{} of anonymous memory ({} against {}; {verdict})",
        ratio(r),
        mib_per_s(e.mib_s().median),
        mib_per_s(anon.mib_s().median)
    ))
}

/// Whether two min–max ranges overlap.
fn overlaps(a: &Spread, b: &Spread) -> bool {
    a.min <= b.max && b.min <= a.max
}

/// `X times faster` / `X times slower`: how `a` (a time) compares with `b`.
fn times(a: f64, b: f64) -> String {
    if a <= b {
        format!("{:.0} times faster than", b / a)
    } else {
        format!("{} times slower than", crate::units::sig3(a / b))
    }
}

/// Strategies by direct-I/O outcome: (works, [(errno, strategies)]).
fn direct_io_split(bench: &Bench) -> (Vec<&str>, Vec<(String, Vec<&str>)>) {
    let mut entries: Vec<_> = bench.direct_io.iter().collect();
    entries.sort_by_key(|e| order(&e.strategy));
    let works = entries
        .iter()
        .filter(|e| e.result == DirectIoResult::Works)
        .map(|e| e.strategy.as_str())
        .collect();
    let mut fails: Vec<(String, Vec<&str>)> = Vec::new();
    for e in &entries {
        if let DirectIoResult::Fails(errno) = &e.result {
            match fails.iter_mut().find(|(x, _)| x == errno) {
                Some((_, v)) => v.push(&e.strategy),
                None => fails.push((errno.clone(), vec![&e.strategy])),
            }
        }
    }
    (works, fails)
}

/// The direct-I/O sentence, checked against which strategies are PFN mappings.
fn direct_io_sentence(bench: &Bench) -> Option<String> {
    if bench.direct_io.is_empty() {
        return None;
    }
    let (works, fails) = direct_io_split(bench);
    let failed: Vec<&str> = fails.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    let mut s = format!(
        "`write(O_DIRECT)` from a populated mapping works from {}",
        if works.is_empty() {
            "none".to_string()
        } else {
            names(works.iter().copied())
        }
    );
    for (errno, v) in &fails {
        s += &format!(" and fails with {errno} from {}", names(v.iter().copied()));
    }
    let mut want: Vec<&str> = PFN_STRATEGIES.to_vec();
    let mut got = failed.clone();
    want.sort_unstable();
    got.sort_unstable();
    if got == want {
        s += ": exactly the PFN mappings fail.";
    } else {
        s += &format!(
            ": not the expected split (exactly the PFN mappings, {}, should fail).",
            names(PFN_STRATEGIES)
        );
    }
    Some(s)
}

/// Q1: trapped vs mapped vs edu, and direct I/O.
fn q1(bench: &Bench) -> Option<String> {
    let (bar0, bar0_p99) = latency(bench, RegisterTarget::CardlessBar0)?;
    let (edu, _) = latency(bench, RegisterTarget::EduBar0)?;
    let (bar2, _) = latency(bench, RegisterTarget::CardlessBar2)?;
    let r = ratios::registers(bench);
    Some(format!(
        "a 32-bit read of a cardless BAR0 register from user space, trapped and served by the \
         vfio-user server, takes {} (median; p99 {}), {} the {} of the same read on QEMU's \
         built-in `edu` device (the cost of the trip out to the server process); a read of BAR2 \
         through its write-combining user mapping, memory the guest reaches without a trap, \
         takes {}: {} the trapped read ({}). {}",
        duration_ns(bar0),
        duration_ns(bar0_p99),
        ratio(r.cardless_bar0_vs_edu_bar0?),
        duration_ns(edu),
        duration_ns(bar2),
        times(bar2, bar0),
        ratio(r.cardless_bar2_vs_cardless_bar0?),
        direct_io_sentence(bench)?
    ))
}

/// Q2: the cost of faulting a buffer in, against prefaulting it.
fn q2(bench: &Bench) -> Option<String> {
    let fault = first_touch(bench, "fault")?;
    let pages = first_touch(bench, "pages")?;
    let fault_pp = ratios::per_page_ns(fault);
    let pages_pp = ratios::per_page_ns(pages);
    let best = ratios::best_per_page(&bench.first_touch, |e| e.strategy != "fault")?;
    let best_pp = ratios::per_page_ns(best);
    let read = seq_read(bench, "fault")?;
    // One full sequential read of the populated buffer, at its measured speed.
    let read_ns = fault.bytes as f64 / MIB / read.mib_s().median * 1e9;
    let mut s = format!(
        "faulting a {} buffer in (`fault`, {} pages, one read per page) takes {} (median of {} \
         runs, {} – {}): {} per page. ",
        size(fault.bytes),
        fault.pages,
        duration_ns(fault.ns().median),
        fault.runs,
        duration_ns(fault.ns().min),
        duration_ns(fault.ns().max),
        duration_ns(fault_pp)
    );
    if pages.bytes == fault.bytes {
        s += &format!(
            "The same order-0 pages inserted at `mmap` with `vm_insert_pages` (`pages`, {}) \
             take {} ({} per page): faulting costs {} per page, {} more for the buffer. ",
            size(pages.bytes),
            duration_ns(pages.ns().median),
            duration_ns(pages_pp),
            ratio(fault_pp / pages_pp),
            duration_ns(fault.ns().median - pages.ns().median)
        );
    }
    s += &format!(
        "Against the cheapest prefaulted strategy per page (`{}`, {} per page{}) it is {} per \
         page. For scale: once populated, the whole {} reads sequentially in {} ({}), so the \
         first pass takes {} the time of a full read. After that the faults are paid: the `fault` mapping \
         reads at {}.",
        best.strategy,
        duration_ns(best_pp),
        if best.bytes == fault.bytes {
            String::new()
        } else {
            format!(", measured on a {} buffer", size(best.bytes))
        },
        ratio(fault_pp / best_pp),
        size(fault.bytes),
        duration_ns(read_ns),
        mib_per_s(read.mib_s().median),
        ratio(fault.ns().median / read_ns),
        vs_anonymous(bench, "fault")?
    );
    Some(s)
}

fn streaming_of<'a>(bench: &'a Bench, strategy: &str, record: u64) -> Option<&'a Streaming> {
    bench
        .streaming
        .iter()
        .find(|e| e.strategy == strategy && e.record_size == record)
}

/// Q3: `dma_mmap_coherent` (coherent) against `remap_pfn_range` (carveout).
fn q3(bench: &Bench) -> Option<String> {
    let (c, v) = ("coherent", "carveout");
    let (ct, vt) = (first_touch(bench, c)?, first_touch(bench, v)?);
    let (ctp, vtp) = (ratios::per_page_ns(ct), ratios::per_page_ns(vt));
    let mut s = format!(
        "`{c}` (`dma_mmap_coherent`, {}) and `{v}` (`remap_pfn_range`, {}) are both populated at \
         `mmap`: first touch {} against {} per page ({} against {} in total, {}). \
         Sequential read: `{c}` at {}, `{v}` at {}.",
        size(ct.bytes),
        size(vt.bytes),
        duration_ns(ctp),
        duration_ns(vtp),
        duration_ns(ct.ns().median),
        duration_ns(vt.ns().median),
        if ct.bytes == vt.bytes {
            "the same size"
        } else {
            "buffers of different sizes: compare per page"
        },
        vs_anonymous(bench, c)?,
        vs_anonymous(bench, v)?
    );
    let records: std::collections::BTreeSet<u64> =
        bench.streaming.iter().map(|e| e.record_size).collect();
    let mut parts = Vec::new();
    for r in records {
        let (cs, vs) = (streaming_of(bench, c, r)?, streaming_of(bench, v, r)?);
        parts.push(format!(
            "{} records {} against {} verified, a {} ring each ({})",
            size(r),
            mib_per_s(cs.median_bytes_per_s / MIB),
            mib_per_s(vs.median_bytes_per_s / MIB),
            size(cs.ring_bytes),
            if overlaps(&cs.records_per_s(), &vs.records_per_s()) {
                "min–max ranges overlap"
            } else {
                "min–max ranges apart"
            }
        ));
    }
    s += &format!(" Streaming: {}.", parts.join("; "));
    let (_, fails) = direct_io_split(bench);
    for (errno, v) in &fails {
        if v.contains(&c) && v.contains(&"carveout") {
            s += &format!(" `write(O_DIRECT)` from either fails with {errno}.");
        }
    }
    Some(s)
}

/// Q4: the cost of each insertion style per page, at `mmap`.
fn q4(bench: &Bench) -> Option<String> {
    let rows: Vec<(&str, &str)> = vec![
        ("pages", "one `vm_insert_pages` batch"),
        ("page_by_page", "`vm_insert_page` per order-0 page"),
        ("compound", "`vm_insert_page` per compound sub-page"),
        ("vmalloc", "`remap_vmalloc_range`"),
        ("carveout", "`remap_pfn_range` of the carve-out"),
        ("coherent", "`dma_mmap_coherent`"),
    ];
    let mut parts = Vec::new();
    for (strategy, how) in &rows {
        let e = first_touch(bench, strategy)?;
        parts.push(format!(
            "{how} (`{strategy}`, {}) {}",
            size(e.bytes),
            duration_ns(ratios::per_page_ns(e))
        ));
    }
    let pages = first_touch(bench, "pages")?;
    let by_page = first_touch(bench, "page_by_page")?;
    let compound = first_touch(bench, "compound")?;
    let one_by_one = ratios::per_page_ns(by_page) / ratios::per_page_ns(pages);
    let r = ratios::per_page_ns(compound) / ratios::per_page_ns(pages);
    let sizes = sizes(
        bench
            .first_touch
            .iter()
            .map(|e| (e.bytes, e.strategy.as_str())),
    );
    Some(format!(
        "mapping a whole buffer at `mmap` costs, per page (mmap plus one read of each page): \
         {}. One `vm_insert_page` call per page on the same order-0 memory is {} the batch \
         ({}). Sub-page by sub-page insertion of a compound page is {} the batch per page{}.",
        parts.join("; "),
        ratio(one_by_one),
        if by_page.bytes == pages.bytes {
            format!("both {}", size(pages.bytes))
        } else {
            format!(
                "{} against {}: compare per page",
                size(by_page.bytes),
                size(pages.bytes)
            )
        },
        ratio(r),
        if sizes.len() > 1 {
            " (compare per page: the buffers differ in size)"
        } else {
            ""
        }
    ))
}

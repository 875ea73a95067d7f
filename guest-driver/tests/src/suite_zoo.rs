//! The bug zoo (issue 7): each classic driver bug, armed in the test build
//! of the module, is caught (by the kernel, the card, or a verified wrong
//! byte) and the same seed gives the same report twice. Needs what
//! `make zoo-test` boots: the zoo build of the module (the normal one answers
//! IOC_ZOO_ARM with ENOTTY), a deterministic card, a guest IOMMU and
//! `debugpat`. Only run when named (`cardless-tests zoo`).

use crate::card::{Card, Errno, Mapping};
use crate::kmsg::Kmsg;
use crate::ktap::{expect, skip, CaseResult, Count, Report, Suite};
use crate::stream_reader::params;
use crate::{cases, check, check_eq, memtype};
use cardless_abi::regs;
use cardless_uapi::ioctl as uapi;

const PAGE: usize = 4096;
/// Ring of the streaming bugs: 16 KiB of 64-byte records (256 slots).
const RING: usize = 16 * 1024;
const RECORD: u32 = 64;

/// One bug armed for as long as this lives.
struct Armed {
    card: Card,
}

impl Armed {
    fn new(bug: u32) -> Result<Armed, String> {
        let card = Card::open(0)?;
        arm(&card, bug)?;
        Ok(Armed { card })
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        let _ = arm(&self.card, uapi::ZOO_NONE);
    }
}

fn arm(card: &Card, bug: u32) -> Result<(), String> {
    let mut value = bug;
    match card.ioctl_raw(uapi::IOC_ZOO_ARM, &mut value as *mut u32 as usize) {
        Ok(_) => Ok(()),
        Err(Errno(libc::ENOTTY)) => Err(
            "IOC_ZOO_ARM: ENOTTY, this is the normal module; the zoo needs its test build (make zoo-test)".into(),
        ),
        Err(e) => Err(format!("IOC_ZOO_ARM {bug}: {e}")),
    }
}

/// Runs `scenario` twice; both must catch the bug with the same report.
fn twice(scenario: fn() -> Result<String, String>) -> CaseResult {
    let first = scenario().map_err(|e| format!("first run: {e}"))?;
    let second = scenario().map_err(|e| format!("second run: {e}"))?;
    check!(
        first == second,
        "the same seed gave two different reports:\n  1: {first}\n  2: {second}"
    );
    println!("    # zoo: {first}");
    Ok(())
}

/// The streaming bugs need a card that produces records only on STEP, and
/// start from a reset one (counters and virtual time at 0, SPEC §9), so a
/// run's report does not depend on the runs before it.
fn deterministic_from_reset(card: &Card) -> Result<(), String> {
    let features = card.info().map_err(|e| format!("CARD_INFO: {e}"))?.features;
    check!(
        features & regs::FEAT_DETERMINISTIC != 0,
        "card 0 is free-running; the zoo needs --deterministic (make zoo-test)"
    );
    card.reset().map_err(|e| format!("IOC_RESET: {e}"))
}

fn iommu_present() -> bool {
    std::fs::read_dir("/sys/class/iommu").is_ok_and(|mut d| d.next().is_some())
}

fn error_name(code: u32) -> String {
    format!(
        "{} ({code})",
        regs::error_name(code).unwrap_or("an unknown error")
    )
}

/// A 64-byte-record stream into `buf`, one interrupt per record.
fn start_stream(card: &Card, buf: u32) -> Result<(), Errno> {
    let mut p = params(buf, 7);
    p.record_size = RECORD;
    p.coalesce_records = 1;
    p.coalesce_ns = 0;
    card.stream_start(&p)
}

fn step(card: &Card, records: u32) -> Result<(), String> {
    card.reg_write(regs::STEP, records)
        .map_err(|e| format!("STEP {records}: {e}"))
}

/// The first seed's crash: `kmalloc` memory mapped with `remap_pfn_range`
/// and freed in the vm_ops close. Unmapping the first page splits the VMA
/// and closes that part: the rest of the mapping now shows freed memory.
fn kmalloc_freed_in_close() -> Result<String, String> {
    const LEN: usize = 4 * PAGE;
    let _bug = Armed::new(uapi::ZOO_KMALLOC_FREED_IN_CLOSE)?;
    let card = Card::open(0)?;
    let buf = card
        .buf_alloc(LEN as u64, uapi::ZOO_STRATEGY_KMALLOC)
        .map_err(|e| format!("BUF_ALLOC kmalloc: {e}"))?;
    // Odd bytes only: never page poisoning's 0xaa.
    let pattern: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8 | 1).collect();
    let bar2 = card.map_bar2(LEN)?;
    bar2.copy_in(0, &pattern);
    card.copy(buf.id, uapi::COPY_BAR2_TO_BUFFER, 0, 0, LEN as u32)
        .map_err(|e| format!("IOC_COPY into the kmalloc buffer: {e}"))?;
    let map = card
        .map(buf.id as u64, LEN, libc::PROT_READ, libc::MAP_SHARED)
        .map_err(|e| format!("mmap of the kmalloc buffer: {e}"))?;
    check!(
        map.bytes() == &pattern[..],
        "the card's bytes are not in the mapping even before anything was freed"
    );
    // SAFETY: the first page of our own mapping; `map` is not read there again.
    if unsafe { libc::munmap(map.ptr.cast(), PAGE) } != 0 {
        return Err(format!("munmap of page 0: {}", crate::card::errno()));
    }
    let rest = map.bytes()[PAGE..].to_vec();
    let changed = rest
        .iter()
        .zip(&pattern[PAGE..])
        .filter(|(a, b)| a != b)
        .count();
    check!(
        changed > 0,
        "not caught: after the first part's close freed the memory, the rest still reads the card's bytes (page poisoning off? boot with page_poison=1)"
    );
    let poisoned = rest.iter().filter(|&&b| b == 0xaa).count();
    Ok(format!(
        "after munmap of page 0, {changed} of {} still-mapped bytes changed, {poisoned} read 0xaa (page poisoning): close freed the kmalloc memory under the rest of the mapping",
        rest.len()
    ))
}

/// IOC_BUF_FREE drops the ring's DMA mappings while the card streams: with
/// a guest IOMMU the next record hits an unmapped IOVA.
fn free_ring_while_streaming() -> Result<String, String> {
    let _bug = Armed::new(uapi::ZOO_FREE_RING_WHILE_STREAMING)?;
    let card = Card::open(0)?;
    deterministic_from_reset(&card)?;
    let buf = card
        .buf_alloc(RING as u64, uapi::STRATEGY_PAGES)
        .map_err(|e| format!("BUF_ALLOC: {e}"))?;
    start_stream(&card, buf.id).map_err(|e| format!("STREAM_START: {e}"))?;
    step(&card, 4)?;
    let prod = card
        .stream_wait(0, 5000)
        .map_err(|e| format!("STREAM_WAIT before the free: {e}"))?;
    check_eq!(prod, 4, "records before the free");
    card.buf_free(buf.id)
        .map_err(|e| format!("BUF_FREE: {e}"))?;
    step(&card, 1)?;
    let c = card.counters().map_err(|e| format!("COUNTERS: {e}"))?;
    let _ = card.stream_stop();
    check_eq!(
        c.error_code,
        regs::ERR_DMA_UNMAPPED,
        format!(
            "the card's error after record {} went to the freed ring (SPEC §10: an unmapped IOVA)",
            c.produced
        )
    );
    Ok(format!(
        "after {} records the card reports {}: the ring's DMA mapping went while the stream ran (STATUS {:#x})",
        c.produced,
        error_name(c.error_code),
        c.status
    ))
}

/// A high-order block without `__GFP_COMP`: `vm_insert_page` refuses its
/// tail pages (their refcount is 0). The control allocation (bug disarmed)
/// maps fine.
fn insert_non_compound() -> Result<String, String> {
    let card = Card::open(0)?;
    let outcome = {
        let _bug = Armed::new(uapi::ZOO_INSERT_NON_COMPOUND)?;
        let buf = card
            .buf_alloc(RING as u64, uapi::STRATEGY_COMPOUND)
            .map_err(|e| format!("BUF_ALLOC: {e}"))?;
        card.map(buf.id as u64, RING, libc::PROT_READ, libc::MAP_SHARED)
            .map(|_| ())
    };
    let control = card
        .buf_alloc(RING as u64, uapi::STRATEGY_COMPOUND)
        .map_err(|e| format!("BUF_ALLOC (control): {e}"))?;
    card.map(control.id as u64, RING, libc::PROT_READ, libc::MAP_SHARED)
        .map_err(|e| format!("the control (a real compound block) does not map either: {e}"))?;
    match outcome {
        Ok(()) => Err("not caught: vm_insert_page took the sub-pages of a non-compound block".into()),
        Err(Errno(libc::EINVAL)) => Ok(format!(
            "mmap failed with {}: vm_insert_page refuses a tail page of a non-compound block (refcount 0); the __GFP_COMP control maps",
            Errno(libc::EINVAL)
        )),
        Err(e) => Err(format!("mmap of the non-compound block failed with {e}, expected EINVAL (vm_insert_page's refusal)")),
    }
}

/// BAR0's physical range from sysfs (`resource`, first line).
fn bar0_range() -> Result<(u64, u64), String> {
    let cards = crate::pci::cards();
    let card = cards.first().ok_or("no card in sysfs")?;
    let text = std::fs::read_to_string(card.sysfs.join("resource"))
        .map_err(|e| format!("read resource: {e}"))?;
    let mut fields = text
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(|f| u64::from_str_radix(f.trim_start_matches("0x"), 16));
    match (fields.next(), fields.next()) {
        (Some(Ok(start)), Some(Ok(end))) => Ok((start, end)),
        _ => Err(format!("unreadable resource line: {text:?}")),
    }
}

/// The PAT log line (`debugpat`) of a mapping of BAR0 page 0.
fn pat_line_of_bar0_mapping(card: &Card, start: u64) -> Result<String, String> {
    let mut log = Kmsg::here()?;
    let map: Mapping = card.map_bar0(PAGE)?;
    check_eq!(
        map.read32(regs::ID),
        regs::ID_VALUE,
        "ID through the mapping"
    );
    drop(map);
    let needle = format!("memtype_reserve added [mem {start:#010x}-");
    log.lines()
        .into_iter()
        .find(|l| l.contains(&needle))
        .map(|l| l.trim().to_string())
        .ok_or_else(|| format!("no PAT line '{needle}' in the kernel log: boot with debugpat"))
}

/// Registers mapped without `pgprot_noncached`: PAT logs a write-back
/// request for register space (and, with an MTRR marking the range
/// uncached, quietly downgrades it); the driver's own mapping asks uncached.
fn cached_registers() -> Result<String, String> {
    let (start, _) = bar0_range()?;
    let card = Card::open(0)?;
    let buggy = {
        let _bug = Armed::new(uapi::ZOO_CACHED_REGISTERS)?;
        pat_line_of_bar0_mapping(&card, start)?
    };
    let control = pat_line_of_bar0_mapping(&card, start)?;
    check!(
        control.contains("req uncached"),
        "the driver's own BAR0 mapping is not logged as uncached either: {control}"
    );
    check!(
        buggy.contains("req write-back"),
        "not caught: the bug's mapping is logged as {buggy}"
    );
    Ok(format!("x86 PAT: {buggy}; the driver's own: {control}"))
}

/// The carve-out strategy pointed at an address where no RAM is: mmap
/// "quietly appears to work", the card's DMA finds nothing there.
fn unbacked_carveout() -> Result<String, String> {
    let _bug = Armed::new(uapi::ZOO_UNBACKED_CARVEOUT)?;
    let card = Card::open(0)?;
    deterministic_from_reset(&card)?;
    let (buf, map) = card
        .mapped_buffer(RING as u64, uapi::STRATEGY_CARVEOUT)
        .map_err(|e| format!("the unbacked carve-out: {e}"))?;
    let started = start_stream(&card, buf.id);
    if started.is_ok() {
        step(&card, 4)?;
    }
    let c = card.counters().map_err(|e| format!("COUNTERS: {e}"))?;
    let _ = card.stream_stop();
    let first: Vec<u8> = map.bytes()[..RECORD as usize].to_vec();
    check_eq!(
        c.error_code,
        regs::ERR_DMA_UNMAPPED,
        "the card's error streaming into an address no RAM backs (SPEC §10: not in any DMA mapping)"
    );
    let fill = match first.iter().all(|&b| b == first[0]) {
        true => format!("{:#04x} x {}", first[0], first.len()),
        false => format!("{:02x?}", &first[..8]),
    };
    Ok(format!(
        "mmap worked; STREAM_START {}; the card reports {} after {} records; the mapping reads {fill} where record 0 belongs",
        started.map_or_else(|e| format!("failed ({e})"), |_| "ok".into()),
        error_name(c.error_code),
        c.produced
    ))
}

/// Streams 512 records through a 256-slot ring with a reader that consumes
/// each: the records the card had to drop.
fn drops_with_a_reader_that_keeps_up(card: &Card) -> Result<uapi::StreamCounters, String> {
    deterministic_from_reset(card)?;
    let buf = card
        .buf_alloc(RING as u64, uapi::STRATEGY_PAGES)
        .map_err(|e| format!("BUF_ALLOC: {e}"))?;
    start_stream(card, buf.id).map_err(|e| format!("STREAM_START: {e}"))?;
    let mut cons = 0u32;
    for _ in 0..8 {
        step(card, 64)?;
        match card.stream_wait(cons, 0) {
            Ok(prod) => cons = prod,
            Err(Errno(libc::ETIMEDOUT)) => {}
            Err(e) => return Err(format!("STREAM_WAIT: {e}")),
        }
        card.stream_consume(cons)
            .map_err(|e| format!("STREAM_CONSUME {cons}: {e}"))?;
    }
    let c = card.counters().map_err(|e| format!("COUNTERS: {e}"));
    let _ = card.stream_stop();
    let _ = card.buf_free(buf.id);
    c
}

/// The consumer index never reaches the card: the ring looks full to it
/// although the reader keeps up.
fn no_consumer_update() -> Result<String, String> {
    let card = Card::open(0)?;
    let buggy = {
        let _bug = Armed::new(uapi::ZOO_NO_CONSUMER_UPDATE)?;
        drops_with_a_reader_that_keeps_up(&card)?
    };
    let control = drops_with_a_reader_that_keeps_up(&card)?;
    check_eq!(control.dropped, 0, "records dropped with the bug disarmed");
    check!(buggy.dropped > 0, "not caught: no record dropped");
    Ok(format!(
        "{} of {} records dropped while the reader consumed all it saw: the card's CONS_IDX stayed {} (the control run drops none)",
        buggy.dropped,
        buggy.produced + buggy.dropped,
        buggy.cons_idx
    ))
}

/// The seeds the wrong ways answer, named in each report.
const SEED_NIC: &str =
    "seed 000 \"What is the difference between vm_insert_page() and remap_pfn_range()?\"";
const SEED_LDD3: &str =
    "seed 001 \"Linux Driver: mmap() kernel buffer to userspace without using nopage\"";
const SEED_DMA_MMAP: &str =
    "seed 002 \"What is the difference between dma_mmap_coherent and remap_pfn_range?\"";

/// Odd bytes only (never page poisoning's 0xaa, never 0 or 0xff), copied
/// by the card from BAR2 into buffer `id` of `len` bytes.
fn card_writes_pattern(card: &Card, id: u32, len: usize) -> Result<Vec<u8>, String> {
    let pattern: Vec<u8> = (0..len).map(|i| (i % 251) as u8 | 1).collect();
    let bar2 = card.map_bar2(len)?;
    bar2.copy_in(0, &pattern);
    card.copy(id, uapi::COPY_BAR2_TO_BUFFER, 0, 0, len as u32)
        .map_err(|e| format!("IOC_COPY into the buffer: {e}"))?;
    Ok(pattern)
}

/// The guest CPU's physical address width (`address sizes` in /proc/cpuinfo).
fn physical_address_bits() -> Result<u32, String> {
    let text =
        std::fs::read_to_string("/proc/cpuinfo").map_err(|e| format!("/proc/cpuinfo: {e}"))?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("address sizes")?
                .split(':')
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .ok_or_else(|| "no 'address sizes' in /proc/cpuinfo".into())
}

/// What the bytes of a page are, in words that do not depend on the run.
fn describe_fill(bytes: &[u8], pattern: &[u8]) -> String {
    if bytes == pattern {
        "the card's bytes".into()
    } else if bytes.iter().all(|&b| b == bytes[0]) {
        format!("{:#04x} throughout", bytes[0])
    } else {
        "other bytes".into()
    }
}

/// The answer's sample mmap, `remap_pfn_range(dma_handle >> PAGE_SHIFT)`
/// with `pgprot_noncached`, on a one-page `coherent` buffer the card filled.
/// Behind the zoo's IOMMU the handle is an IOVA: mmap succeeds, and PAT's
/// bookkeeping shows the mapping is of the physical address with the
/// IOVA's number, not of the buffer. Then the same call where the handle is
/// the memory's physical address (a machine without an IOMMU): PAT refuses
/// uncached for RAM and logs that it made the mapping write-back.
fn remap_pfn_of_a_dma_handle() -> Result<String, String> {
    if !iommu_present() {
        return Err("the zoo needs its guest IOMMU (make zoo-test boots IOMMU=1)".into());
    }
    let card = Card::open(0)?;
    let iova_part = {
        let _bug = Armed::new(uapi::ZOO_REMAP_DMA_HANDLE)?;
        let buf = card
            .buf_alloc(PAGE as u64, uapi::STRATEGY_COHERENT)
            .map_err(|e| format!("BUF_ALLOC coherent: {e}"))?;
        let pattern = card_writes_pattern(&card, buf.id, PAGE)?;
        // The copy engine's host address register still holds the handle.
        let handle = (u64::from(
            card.reg_read(regs::COPY_HOST_HI)
                .map_err(|e| format!("REG_READ: {e}"))?,
        ) << 32)
            | u64::from(
                card.reg_read(regs::COPY_HOST_LO)
                    .map_err(|e| format!("REG_READ: {e}"))?,
            );
        check!(handle != 0, "the card's DMA address of the buffer reads 0");
        let bits = physical_address_bits()?;
        let ram = if memtype::is_system_ram(handle)? {
            "RAM"
        } else {
            "not RAM"
        };
        let mut seen = String::new();
        memtype::check_mapping_reserves(handle, "uncached-minus", || {
            let m = card
                .map(buf.id as u64, PAGE, libc::PROT_READ, libc::MAP_SHARED)
                .map_err(|e| format!("not even the wrong way mapped: mmap failed with {e}"))?;
            seen = if handle >> bits != 0 {
                format!("past the CPU's {bits}-bit physical address space, so not touched (a read would be a reserved-bit page fault)")
            } else {
                format!("it reads {}", describe_fill(m.bytes(), &pattern))
            };
            Ok(m)
        })
        .map_err(|e| format!("the mapping is not of the IOVA's number: {e}"))?;
        check!(
            !seen.contains("the card's bytes"),
            "not caught: the mapping of the IOVA's number shows the card's bytes"
        );
        format!("mmap succeeded; PAT reserved the physical page numbered like the IOVA (uncached-minus), where the buffer is not: {ram}, {seen}")
    };
    let pat_part = {
        let _bug = Armed::new(uapi::ZOO_REMAP_RAM_UNCACHED)?;
        let buf = card
            .buf_alloc(PAGE as u64, uapi::STRATEGY_COHERENT)
            .map_err(|e| format!("BUF_ALLOC coherent: {e}"))?;
        let pattern = card_writes_pattern(&card, buf.id, PAGE)?;
        let mut log = Kmsg::here()?;
        let m = card
            .map(buf.id as u64, PAGE, libc::PROT_READ, libc::MAP_SHARED)
            .map_err(|e| format!("mmap by the memory's own frame: {e}"))?;
        let reads = describe_fill(m.bytes(), &pattern);
        drop(m);
        let line = log
            .lines()
            .into_iter()
            .find(|l| l.contains("map pfn RAM range req uncached-minus"))
            .ok_or("not caught: PAT logged nothing for an uncached mapping of RAM")?;
        check!(line.contains("got write-back"), "PAT's line: {line}");
        format!("PAT logs 'map pfn RAM range req uncached-minus ..., got write-back' and the mapping reads {reads}: write-back, not what the driver asked")
    };
    Ok(format!("{SEED_DMA_MMAP}, the answer's mmap: behind an IOMMU {iova_part}. Where the handle is the physical address: {pat_part}"))
}

/// LDD3's ring: `__get_free_pages` memory mapped with `remap_pfn_range`,
/// which takes no page reference, and no mapping holds the buffer: FREE
/// frees the pages while user space still maps them.
fn free_pages_freed_while_mapped() -> Result<String, String> {
    const LEN: usize = 4 * PAGE;
    let _bug = Armed::new(uapi::ZOO_FREE_PAGES_UNHELD)?;
    let card = Card::open(0)?;
    let buf = card
        .buf_alloc(LEN as u64, uapi::ZOO_STRATEGY_FREE_PAGES)
        .map_err(|e| format!("BUF_ALLOC free_pages: {e}"))?;
    let pattern = card_writes_pattern(&card, buf.id, LEN)?;
    let map = card
        .map(buf.id as u64, LEN, libc::PROT_READ, libc::MAP_SHARED)
        .map_err(|e| format!("mmap of the ring: {e}"))?;
    check!(
        map.bytes() == &pattern[..],
        "the card's bytes are not in the mapping even before the free"
    );
    card.buf_free(buf.id)
        .map_err(|e| format!("BUF_FREE: {e}"))?;
    let after = map.bytes().to_vec();
    let changed = after.iter().zip(&pattern).filter(|(a, b)| a != b).count();
    check!(
        changed > 0,
        "not caught: after FREE the still-mapped ring reads the card's bytes (page poisoning off? boot with page_poison=1)"
    );
    let poisoned = after.iter().filter(|&&b| b == 0xaa).count();
    Ok(format!(
        "{SEED_LDD3}, remap_pfn_range on __get_free_pages memory: after IOC_BUF_FREE, {changed} of {LEN} still-mapped bytes changed, {poisoned} read 0xaa (page poisoning): the ring was freed under a live mapping, which held no reference"
    ))
}

/// The NIC question: device memory by `vm_insert_page`. BAR2's frames have
/// no `struct page` (`pfn_valid` is false): refused. The driver's own way
/// (`io_remap_pfn_range`) maps the same BAR.
fn bar_by_vm_insert_page() -> Result<String, String> {
    let card = Card::open(0)?;
    let outcome = {
        let _bug = Armed::new(uapi::ZOO_BAR_VM_INSERT_PAGE)?;
        let mut log = Kmsg::here()?;
        let outcome = card.map_shared(uapi::MMAP_PGOFF_BAR2, PAGE).map(|_| ());
        let said = log
            .lines()
            .into_iter()
            .any(|l| l.contains("no struct page (pfn_valid is false)"));
        check!(
            said,
            "the driver did not say why (no 'no struct page' line in the kernel log)"
        );
        outcome
    };
    let control = card
        .map_shared(uapi::MMAP_PGOFF_BAR2, PAGE)
        .map_err(|e| format!("the driver's own BAR2 mapping fails too: {e}"))?;
    drop(control);
    match outcome {
        Ok(()) => Err("not caught: BAR2 mapped the vm_insert_page way".into()),
        Err(Errno(libc::EINVAL)) => Ok(format!(
            "{SEED_NIC}, vm_insert_page for NIC memory: mmap of BAR2 fails with {}: its frames have no struct page (pfn_valid is false), so there is nothing to insert; io_remap_pfn_range maps the same BAR",
            Errno(libc::EINVAL)
        )),
        Err(e) => Err(format!("mmap of BAR2 the vm_insert_page way failed with {e}, expected EINVAL")),
    }
}

fn zoo_kmalloc_freed_in_close() -> CaseResult {
    twice(kmalloc_freed_in_close)
}

fn zoo_free_ring_while_streaming() -> CaseResult {
    if !iommu_present() {
        return skip("iommu", "without a guest IOMMU the card cannot see the unmap (make zoo-test boots with IOMMU=1)");
    }
    // Each of the two runs: the card faults on the unmapped ring, and its
    // sanitizer names the DMA_UNMAP behind it.
    expect(Report::CardError(0, "ERR_DMA_UNMAPPED"), Count::Exactly(2));
    expect(Report::Sanitizer(0, "unmapped"), Count::Exactly(2));
    twice(free_ring_while_streaming)
}

fn zoo_insert_non_compound() -> CaseResult {
    twice(insert_non_compound)
}

fn zoo_cached_registers() -> CaseResult {
    twice(cached_registers)
}

fn zoo_unbacked_carveout() -> CaseResult {
    // Each of the two runs: the card faults where no RAM is, and its
    // sanitizer explains that nothing ever mapped that address.
    expect(Report::CardError(0, "ERR_DMA_UNMAPPED"), Count::Exactly(2));
    expect(Report::Sanitizer(0, "unmapped"), Count::Exactly(2));
    twice(unbacked_carveout)
}

fn zoo_no_consumer_update() -> CaseResult {
    twice(no_consumer_update)
}

fn zoo_remap_pfn_of_a_dma_handle() -> CaseResult {
    if !iommu_present() {
        return skip(
            "iommu",
            "the IOVA half needs a guest IOMMU (make zoo-test boots with IOMMU=1)",
        );
    }
    // Each of the two runs: PAT's one line for the uncached mapping of RAM.
    expect(Report::Kernel("PAT"), Count::Exactly(2));
    twice(remap_pfn_of_a_dma_handle)
}

fn zoo_free_pages_freed_while_mapped() -> CaseResult {
    twice(free_pages_freed_while_mapped)
}

fn zoo_bar_by_vm_insert_page() -> CaseResult {
    twice(bar_by_vm_insert_page)
}

pub const SUITE: Suite = Suite {
    name: "zoo",
    about: "classic driver bugs, each caught twice alike (make zoo-test: the zoo build)",
    cases: cases![
        zoo_kmalloc_freed_in_close,
        zoo_free_ring_while_streaming,
        zoo_insert_non_compound,
        zoo_cached_registers,
        zoo_unbacked_carveout,
        zoo_no_consumer_update,
        zoo_remap_pfn_of_a_dma_handle,
        zoo_free_pages_freed_while_mapped,
        zoo_bar_by_vm_insert_page,
    ],
};

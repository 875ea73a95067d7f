//! The driver core (issue 4): the node, its ioctls, the BARs mapped into user
//! space, interrupts, bad input, unbind/rebind, module unload, two cards.
//! Register semantics cited from device/SPEC.md.

use crate::card::{self, e, Card, Errno};
use crate::ktap::{expect, skip, CaseResult, Count, Report, Suite};
use crate::wait::wait_for;
use crate::{cases, check, check_eq, cmdline, pci};
use cardless_abi::{record, regs};
use cardless_uapi::ioctl as uapi;

const PAGE: usize = 4096;
const RW: i32 = libc::PROT_READ | libc::PROT_WRITE;

fn open0() -> Result<Card, String> {
    Card::open(0)
}

fn node_is_root_only() -> CaseResult {
    let meta =
        std::fs::metadata("/dev/cardless0").map_err(|err| format!("/dev/cardless0: {err}"))?;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    check_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "mode of /dev/cardless0"
    );
    check_eq!(meta.uid(), 0, "owner of /dev/cardless0");
    Ok(())
}

fn version_ioctl_reports_abi_and_card() -> CaseResult {
    let v = open0()?.version().map_err(e("IOC_VERSION"))?;
    check_eq!(v.uapi, uapi::UAPI_VERSION, "uapi version");
    check_eq!(v.card_id, regs::ID_VALUE, "ID register (SPEC §4.2)");
    check_eq!(v.card_version, regs::VERSION_VALUE, "VERSION register");
    Ok(())
}

fn card_info_matches_spec() -> CaseResult {
    let info = open0()?.info().map_err(e("IOC_CARD_INFO"))?;
    check_eq!(info.bar0_size, regs::BAR0_SIZE, "BAR0 size");
    check!(
        info.bar2_size >= 1 << 20 && info.bar2_size.is_power_of_two(),
        "BAR2 size {:#x}: want a power of two >= 1 MiB",
        info.bar2_size
    );
    if cmdline::msi_disabled() {
        check_eq!(
            info.irq_mode,
            uapi::IRQ_MODE_INTX,
            "interrupt mode (INTx expected: the run has pci=nomsi)"
        );
        check_eq!(info.irq_vectors, 1, "INTx vectors");
        return Ok(());
    }
    check_eq!(
        info.irq_mode,
        uapi::IRQ_MODE_MSIX,
        "interrupt mode (MSI-X expected from QEMU)"
    );
    check_eq!(info.irq_vectors, regs::MSIX_VECTORS as u32, "MSI-X vectors");
    Ok(())
}

fn id_through_kernel_and_mapping_agree() -> CaseResult {
    let card = open0()?;
    let bar0 = card.map_bar0(PAGE)?;
    let via_kernel = card.reg_read(regs::ID).map_err(e("IOC_REG_READ"))?;
    check_eq!(
        bar0.read32(regs::ID),
        via_kernel,
        "ID via the user mapping vs via the kernel"
    );
    check_eq!(via_kernel, regs::ID_VALUE, "ID");
    Ok(())
}

fn scratch_written_through_mapping_is_seen_by_device() -> CaseResult {
    let card = open0()?;
    let bar0 = card.map_bar0(PAGE)?;
    for value in [0xdead_beef_u32, 0x0123_4567, 0] {
        bar0.write32(regs::SCRATCH, value);
        // Second path: the kernel's own BAR0 mapping asks the device.
        check_eq!(
            card.reg_read(regs::SCRATCH).map_err(e("IOC_REG_READ"))?,
            value,
            "SCRATCH via the kernel after a user-mapping write"
        );
    }
    card.reg_write(regs::SCRATCH, 0x5a5a_a5a5)
        .map_err(e("IOC_REG_WRITE"))?;
    check_eq!(
        bar0.read32(regs::SCRATCH),
        0x5a5a_a5a5,
        "SCRATCH via the mapping after a kernel write"
    );
    Ok(())
}

/// Runs a copy-engine command (SPEC §11) through the kernel's register path.
fn copy_command(card: &Card, op: u32, bar_off: u32, len: u32) -> Result<u32, String> {
    card.reg_write(regs::COPY_BAR_OFF, bar_off)
        .map_err(e("COPY_BAR_OFF"))?;
    card.reg_write(regs::COPY_LEN, len).map_err(e("COPY_LEN"))?;
    card.reg_write(regs::COPY_CTRL, op)
        .map_err(e("COPY_CTRL"))?;
    card.reg_read(regs::COPY_STATUS).map_err(e("COPY_STATUS"))
}

fn pattern(len: usize, salt: u64) -> Vec<u8> {
    (0..len)
        .map(|i| (record::mix64(i as u64 ^ salt) & 0xff) as u8)
        .collect()
}

fn bar2_pattern_reaches_the_card() -> CaseResult {
    let card = open0()?;
    let len = 64 * 1024;
    let bar2 = card.map_bar2(len)?;
    let data = pattern(len, 0x1234);
    bar2.copy_in(0, &data);
    check_eq!(
        copy_command(&card, regs::COPY_OP_CHECKSUM, 0, len as u32)?,
        0,
        "COPY_STATUS of the checksum"
    );
    let lo = card
        .reg_read(regs::COPY_RESULT_LO)
        .map_err(e("COPY_RESULT_LO"))? as u64;
    let hi = card
        .reg_read(regs::COPY_RESULT_HI)
        .map_err(e("COPY_RESULT_HI"))? as u64;
    check_eq!(
        (hi << 32) | lo,
        record::checksum(&data),
        "card's checksum of BAR2 (SPEC §5.4) vs the bytes written through the WC mapping"
    );
    let mut back = vec![0u8; len];
    bar2.copy_out(0, &mut back);
    check!(
        back == data,
        "BAR2 read back through the mapping differs from what was written"
    );
    Ok(())
}

/// The card writes BAR2 (a copy from host memory it DMA-reads) and the user
/// mapping sees the bytes; and the other way, the card copies what user space
/// wrote through the mapping into a DMA buffer (SPEC §11).
fn bar2_and_buffers_exchange_bytes_through_the_card() -> CaseResult {
    const LEN: usize = 64 * 1024;
    const BAR_OFF: u32 = 128 * 1024;
    let card = open0()?;
    let bar2 = card.map_bar2(256 * 1024)?;
    // Card-generated bytes: stream records into a coherent buffer first.
    let (src, src_map) = card.mapped_buffer(LEN as u64, uapi::STRATEGY_COHERENT)?;
    card.stream_start(&crate::stream_reader::params(src.id, 4242))
        .map_err(e("STREAM_START"))?;
    let filled = card.stream_wait(0, 5000);
    std::thread::sleep(std::time::Duration::from_millis(50));
    card.stream_stop().map_err(e("STREAM_STOP"))?;
    filled.map_err(e("records into the source buffer"))?;
    card.copy(src.id, uapi::COPY_BUFFER_TO_BAR2, 0, BAR_OFF, LEN as u32)
        .map_err(e("IOC_COPY buffer -> BAR2"))?;
    let mut seen = vec![0u8; LEN];
    bar2.copy_out(BAR_OFF as usize, &mut seen);
    check!(
        seen == src_map.bytes(),
        "BAR2 read through the mapping differs from the buffer the card copied in"
    );
    // The other way: a pattern written through the mapping, DMA'd into a fresh buffer.
    let data = pattern(LEN, 0x77);
    bar2.copy_in(0, &data);
    let (dst, dst_map) = card.mapped_buffer(LEN as u64, uapi::STRATEGY_COMPOUND)?;
    card.copy(dst.id, uapi::COPY_BAR2_TO_BUFFER, 0, 0, LEN as u32)
        .map_err(e("IOC_COPY BAR2 -> buffer"))?;
    check!(
        dst_map.bytes() == &data[..],
        "the buffer the card wrote differs from what went into BAR2"
    );
    // A page-list buffer takes copies within one page only.
    let pages = card
        .buf_alloc(LEN as u64, uapi::STRATEGY_PAGES)
        .map_err(e("alloc"))?;
    match card.copy(pages.id, uapi::COPY_BAR2_TO_BUFFER, 4000, 0, 200) {
        Err(Errno(libc::EINVAL)) => {}
        other => {
            return Err(format!(
                "copy across a page of a page-list buffer: got {other:?}, expected EINVAL"
            ))
        }
    }
    card.copy(pages.id, uapi::COPY_BAR2_TO_BUFFER, 4096, 0, 4096)
        .map_err(e("IOC_COPY into one page"))?;
    Ok(())
}

fn smaps_shows_pfn_mapping_flags() -> CaseResult {
    let card = open0()?;
    for (pgoff, name) in [
        (uapi::MMAP_PGOFF_BAR0, "BAR0"),
        (uapi::MMAP_PGOFF_BAR2, "BAR2"),
    ] {
        let m = card.map_shared(pgoff, PAGE).map_err(e("mmap"))?;
        let flags =
            card::vm_flags(m.addr()).ok_or(format!("no smaps entry for the {name} mapping"))?;
        for want in ["rd", "wr", "sh", "io", "pf", "de", "dd"] {
            check!(
                flags.iter().any(|f| f == want),
                "{name} mapping VmFlags {flags:?} lack '{want}'"
            );
        }
    }
    Ok(())
}

fn interrupts_are_counted_per_vector() -> CaseResult {
    if cmdline::msi_disabled() {
        return skip(
            "msi",
            "INTx: one line for every cause (the run has pci=nomsi)",
        );
    }
    let card = open0()?;
    let before = card.info().map_err(e("IOC_CARD_INFO"))?.irq_counts;
    // A checksum raises COPY_DONE (vector 2); an unknown op raises ERROR (vector 1) too (SPEC §11).
    check_eq!(
        copy_command(&card, regs::COPY_OP_CHECKSUM, 0, 64)?,
        0,
        "COPY_STATUS"
    );
    wait_for(
        || Ok(card.info().map_err(e("info"))?.irq_counts[2] > before[2]),
        "a COPY_DONE interrupt",
    )?;
    expect(Report::CardError(0, "ERR_BAD_COPY_OP"), Count::Exactly(1));
    check_eq!(
        copy_command(&card, 3, 0, 64)?,
        regs::ERR_BAD_COPY_OP,
        "COPY_STATUS of op 3"
    );
    wait_for(
        || Ok(card.info().map_err(e("info"))?.irq_counts[1] > before[1]),
        "an ERROR interrupt",
    )?;
    card.reg_write(regs::ERROR_CODE, 0)
        .map_err(e("clear ERROR_CODE"))?;
    let after = card.info().map_err(e("info"))?.irq_counts;
    check_eq!(after[0], before[0], "DATA_READY count (nothing streamed)");
    let procirq = std::fs::read_to_string("/proc/interrupts").unwrap_or_default();
    check!(
        procirq.matches("cardless").count() >= regs::MSIX_VECTORS as usize,
        "/proc/interrupts lists fewer than {} cardless vectors",
        regs::MSIX_VECTORS
    );
    Ok(())
}

fn reset_restores_registers() -> CaseResult {
    let card = open0()?;
    card.reg_write(regs::SCRATCH, 0x1111_2222)
        .map_err(e("SCRATCH"))?;
    card.reset().map_err(e("IOC_RESET"))?;
    check_eq!(
        card.reg_read(regs::SCRATCH).map_err(e("SCRATCH"))?,
        0,
        "SCRATCH after reset (SPEC §9)"
    );
    check_eq!(
        card.reg_read(regs::INT_MASK).map_err(e("INT_MASK"))?,
        regs::INT_ALL,
        "INT_MASK re-armed by the driver after reset"
    );
    Ok(())
}

fn bad_mmaps_are_refused() -> CaseResult {
    let card = open0()?;
    let bar2_len = card.info().map_err(e("info"))?.bar2_size as usize;
    let bar0_pages = regs::BAR0_SIZE / PAGE as u64;
    let bar2_pages = (bar2_len / PAGE) as u64;
    let ro = libc::PROT_READ;
    let shared = libc::MAP_SHARED;
    // (what, page offset, length, prot, flags, errno)
    let cases: [(&str, u64, usize, i32, i32, i32); 12] = [
        (
            "BAR0 longer than BAR0",
            uapi::MMAP_PGOFF_BAR0,
            2 * PAGE,
            RW,
            shared,
            libc::EINVAL,
        ),
        (
            "BAR0's page past its end",
            uapi::MMAP_PGOFF_BAR0 + bar0_pages,
            PAGE,
            RW,
            shared,
            libc::EINVAL,
        ),
        (
            "BAR2 longer than BAR2",
            uapi::MMAP_PGOFF_BAR2,
            bar2_len + PAGE,
            RW,
            shared,
            libc::EINVAL,
        ),
        (
            "BAR2 tail past its end",
            uapi::MMAP_PGOFF_BAR2 + bar2_pages - 1,
            2 * PAGE,
            RW,
            shared,
            libc::EINVAL,
        ),
        (
            "the page after BAR2",
            uapi::MMAP_PGOFF_BAR2 + bar2_pages,
            PAGE,
            RW,
            shared,
            libc::EINVAL,
        ),
        (
            "between BAR0 and BAR2",
            uapi::MMAP_PGOFF_BAR2 - 1,
            PAGE,
            RW,
            shared,
            libc::EINVAL,
        ),
        (
            "the page after the unbacked page",
            uapi::MMAP_PGOFF_UNBACKED + 1,
            PAGE,
            ro,
            shared,
            libc::EINVAL,
        ),
        (
            "an offset past every region",
            0x4000_0000,
            PAGE,
            ro,
            shared,
            libc::EINVAL,
        ),
        (
            "the unbacked page writable",
            uapi::MMAP_PGOFF_UNBACKED,
            PAGE,
            RW,
            shared,
            libc::EACCES,
        ),
        (
            "private mapping of registers",
            uapi::MMAP_PGOFF_BAR0,
            PAGE,
            RW,
            libc::MAP_PRIVATE,
            libc::EINVAL,
        ),
        (
            "buffer ID with no buffer",
            7,
            PAGE,
            ro,
            shared,
            libc::EINVAL,
        ),
        ("buffer ID 0", 0, PAGE, ro, shared, libc::EINVAL),
    ];
    for (what, pgoff, len, prot, flags, want) in cases {
        match card.map(pgoff, len, prot, flags) {
            Ok(m) => return Err(format!("{what}: mmap succeeded at {:#x}", m.addr())),
            Err(Errno(code)) if code == want => {}
            Err(other) => {
                return Err(format!(
                    "{what}: mmap failed with {other}, expected {}",
                    Errno(want)
                ))
            }
        }
    }
    // The limits themselves map: the whole of BAR0, the last page of BAR2.
    card.map_shared(uapi::MMAP_PGOFF_BAR0, regs::BAR0_SIZE as usize)
        .map_err(e("mmap of exactly BAR0"))?;
    card.map_shared(uapi::MMAP_PGOFF_BAR2 + bar2_pages - 1, PAGE)
        .map_err(e("mmap of BAR2's last page"))?;
    // An offset that is not page-aligned never reaches the driver.
    // SAFETY: an mmap call the kernel must refuse.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            PAGE,
            RW,
            libc::MAP_SHARED,
            card.fd,
            100,
        )
    };
    check!(p == libc::MAP_FAILED, "unaligned offset: mmap succeeded");
    Ok(())
}

fn bad_ioctls_get_errors() -> CaseResult {
    let card = open0()?;
    let expect = |what: &str, r: Result<i64, Errno>, want: i32| -> CaseResult {
        match r {
            Err(Errno(got)) if got == want => Ok(()),
            other => Err(format!("{what}: got {other:?}, expected errno {want}")),
        }
    };
    expect(
        "unknown ioctl number",
        card.ioctl_raw(uapi::ioc(uapi::IOC_READ, 0x7f, 8), 0),
        libc::ENOTTY,
    )?;
    expect(
        "foreign ioctl type",
        card.ioctl_raw(0x5401, 0),
        libc::ENOTTY,
    )?;
    expect(
        "IOC_VERSION to a null pointer",
        card.ioctl_raw(uapi::IOC_VERSION, 0),
        libc::EFAULT,
    )?;
    expect(
        "IOC_CARD_INFO to a kernel address",
        card.ioctl_raw(uapi::IOC_CARD_INFO, 0xffff_8000_0000_0000),
        libc::EFAULT,
    )?;
    expect(
        "IOC_REG_READ from an unmapped address",
        card.ioctl_raw(uapi::IOC_REG_READ, 0x10),
        libc::EFAULT,
    )?;
    let mut unaligned = uapi::RegAccess {
        offset: 2,
        value: 0,
    };
    expect(
        "IOC_REG_READ unaligned",
        card.ioctl_raw(uapi::IOC_REG_READ, &mut unaligned as *mut _ as usize),
        libc::EINVAL,
    )?;
    let mut past = uapi::RegAccess {
        offset: regs::BAR0_SIZE as u32,
        value: 0,
    };
    expect(
        "IOC_REG_READ past BAR0",
        card.ioctl_raw(uapi::IOC_REG_READ, &mut past as *mut _ as usize),
        libc::EINVAL,
    )?;
    let mut huge = uapi::RegAccess {
        offset: u32::MAX - 1,
        value: 0,
    };
    expect(
        "IOC_REG_WRITE at offset 0xfffffffe",
        card.ioctl_raw(uapi::IOC_REG_WRITE, &mut huge as *mut _ as usize),
        libc::EINVAL,
    )?;
    // The bug zoo's switch exists only in its test build (make zoo-test).
    let mut bug = uapi::ZOO_KMALLOC_FREED_IN_CLOSE;
    expect(
        "IOC_ZOO_ARM on the normal module",
        card.ioctl_raw(uapi::IOC_ZOO_ARM, &mut bug as *mut u32 as usize),
        libc::ENOTTY,
    )?;
    // Still healthy afterwards.
    check_eq!(
        card.reg_read(regs::ID).map_err(e("ID"))?,
        regs::ID_VALUE,
        "ID after the bad calls"
    );
    Ok(())
}

fn write_sysfs(path: &str, value: &str) -> CaseResult {
    std::fs::write(path, value).map_err(|err| format!("write '{value}' to {path}: {err}"))
}

fn unbind_with_open_mapping_is_safe_and_rebind_works() -> CaseResult {
    let name = card0_sysfs_name()?;
    let card = open0()?;
    let bar0 = card.map_bar0(PAGE)?;
    check_eq!(bar0.read32(regs::ID), regs::ID_VALUE, "ID before unbind");
    write_sysfs("/sys/bus/pci/drivers/cardless/unbind", &name)?;
    let result = (|| -> CaseResult {
        // The old mapping lost its pages: a touch is SIGBUS, not a read of whatever is there now.
        check_eq!(
            bar0.signal_of_touch(),
            Some(libc::SIGBUS),
            "signal of a read through the mapping after unbind"
        );
        match card.version() {
            Err(Errno(libc::ENODEV)) => {}
            other => {
                return Err(format!(
                    "IOC_VERSION after unbind: got {other:?}, expected ENODEV"
                ))
            }
        }
        check!(
            card.map_shared(uapi::MMAP_PGOFF_BAR0, PAGE).is_err(),
            "a new mmap after unbind succeeded"
        );
        Ok(())
    })();
    drop(bar0);
    drop(card);
    rebind(&name, result)?;
    check_eq!(
        open0()?.reg_read(regs::ID).map_err(e("ID after rebind"))?,
        regs::ID_VALUE,
        "ID after rebind"
    );
    Ok(())
}

/// Unbind while buffers of every strategy are mapped and one streams: the
/// driver stops the stream, zaps every mapping (SIGBUS, also for the fault
/// handler's untouched pages), releases every DMA mapping while still bound
/// (the DMA-API debugger reports any it missed), and a rebind works.
fn unbind_with_live_buffers_of_every_strategy() -> CaseResult {
    let name = card0_sysfs_name()?;
    let live = crate::live_buffers::LiveBuffers::set_up(0)?;
    write_sysfs("/sys/bus/pci/drivers/cardless/unbind", &name)?;
    let result = live.check_gone();
    drop(live);
    rebind(&name, result)?;
    let card = open0()?;
    let (buf, map) = card.mapped_buffer(64 * 1024, uapi::STRATEGY_COHERENT)?;
    card.stream_start(&crate::stream_reader::params(buf.id, 3))
        .map_err(e("STREAM_START after rebind"))?;
    let ring = crate::stream_reader::Ring::new(&card, &map, 1024, 3);
    let read = ring.read(100, |_| {});
    card.stream_stop().map_err(e("STREAM_STOP"))?;
    read.map(|_| ())
}

/// Binds card `name` back to the driver, then reports `while_unbound` (the
/// checks made while it was unbound) and waits for its node.
fn rebind(name: &str, while_unbound: CaseResult) -> CaseResult {
    write_sysfs("/sys/bus/pci/drivers/cardless/bind", name)?;
    while_unbound?;
    wait_for(
        || Ok(std::path::Path::new("/dev/cardless0").exists()),
        "/dev/cardless0 after rebind",
    )
}

fn card0_sysfs_name() -> Result<String, String> {
    let cards = pci::cards();
    let first = cards.first().ok_or("no card")?;
    Ok(first
        .sysfs
        .file_name()
        .ok_or("bad sysfs path")?
        .to_string_lossy()
        .into_owned())
}

fn delete_module(name: &str) -> Result<(), Errno> {
    let c = std::ffi::CString::new(name).unwrap_or_default();
    // SAFETY: a valid NUL-terminated module name.
    let r = unsafe { libc::syscall(libc::SYS_delete_module, c.as_ptr(), libc::O_NONBLOCK) };
    if r < 0 {
        Err(card::errno())
    } else {
        Ok(())
    }
}

fn module_unload_refused_while_open_and_mapped() -> CaseResult {
    let card = open0()?;
    let map = card.map_bar2(PAGE)?;
    expect_rmmod_refused("with an open file")?;
    drop(card);
    // The mapping alone still holds the file, and so the module.
    expect_rmmod_refused("with only a mapping left")?;
    drop(map);
    Ok(())
}

/// rmmod of the module in use is refused (EBUSY, or EWOULDBLOCK for O_NONBLOCK).
fn expect_rmmod_refused(when: &str) -> CaseResult {
    match delete_module("cardless") {
        Err(Errno(code)) if code == libc::EBUSY || code == libc::EWOULDBLOCK => Ok(()),
        other => Err(format!(
            "rmmod {when}: got {other:?}, expected EBUSY/EWOULDBLOCK"
        )),
    }
}

fn two_cards_are_independent() -> CaseResult {
    if pci::cards().len() < 2 {
        return skip("cards>=2", "only one card attached (CARDS=2 runs this)");
    }
    let (a, b) = (open0()?, Card::open(1)?);
    a.reg_write(regs::SCRATCH, 0xaaaa_0000)
        .map_err(e("card0 SCRATCH"))?;
    b.reg_write(regs::SCRATCH, 0x0000_bbbb)
        .map_err(e("card1 SCRATCH"))?;
    check_eq!(
        a.reg_read(regs::SCRATCH).map_err(e("card0"))?,
        0xaaaa_0000,
        "card0 SCRATCH"
    );
    check_eq!(
        b.reg_read(regs::SCRATCH).map_err(e("card1"))?,
        0x0000_bbbb,
        "card1 SCRATCH"
    );
    let (ia, ib) = (a.info().map_err(e("info0"))?, b.info().map_err(e("info1"))?);
    check!(
        ia.index == 0 && ib.index == 1,
        "indices {} and {}",
        ia.index,
        ib.index
    );
    check!(
        ia.pci_location != ib.pci_location,
        "both nodes name PCI location {:#x}",
        ia.pci_location
    );
    Ok(())
}

use crate::driver_core_guards::{
    bar2_read_and_write_through_the_node, interrupts_are_acknowledged,
    pat_records_each_mappings_caching, reg_write_refuses_every_register_that_programs_dma,
};

pub const SUITE: Suite = Suite {
    name: "driver_core",
    about: "the node, its ioctls, BAR mappings, interrupts, bad input, unbind, unload",
    cases: cases![
        node_is_root_only,
        version_ioctl_reports_abi_and_card,
        card_info_matches_spec,
        id_through_kernel_and_mapping_agree,
        scratch_written_through_mapping_is_seen_by_device,
        bar2_pattern_reaches_the_card,
        bar2_and_buffers_exchange_bytes_through_the_card,
        smaps_shows_pfn_mapping_flags,
        pat_records_each_mappings_caching,
        bar2_read_and_write_through_the_node,
        interrupts_are_counted_per_vector,
        interrupts_are_acknowledged,
        reset_restores_registers,
        bad_mmaps_are_refused,
        bad_ioctls_get_errors,
        reg_write_refuses_every_register_that_programs_dma,
        two_cards_are_independent,
        module_unload_refused_while_open_and_mapped,
        unbind_with_open_mapping_is_safe_and_rebind_works,
        unbind_with_live_buffers_of_every_strategy,
    ],
};

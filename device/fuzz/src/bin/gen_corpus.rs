//! Writes the seed corpora: valid (and a few deliberately invalid) op and
//! message sequences in the targets' input formats, one file per seed, to
//! `corpus/<target>/seed-<name>`. Run from anywhere:
//! `cargo run --bin gen_corpus` in device/fuzz. Deterministic output.

use std::path::Path;

use cardless_abi::regs::*;
use cardless_device_fuzz::client::{msg, Encoder, Fds, GUEST_SIZE};
use cardless_device_fuzz::guest::{self, map_flags, reg_index, Op, Setup, Value, REGS};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    std::fs::create_dir_all(&dir).expect("corpus dir");
    std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
}

fn w(reg: u64, value: u32) -> Op {
    Op::RegWrite {
        reg: reg_index(reg),
        value: Value::raw(value),
    }
}

fn r(reg: u64) -> Op {
    Op::RegRead {
        reg: reg_index(reg),
    }
}

/// 16 writable pages of the pool at IOVA page `page`.
fn map(page: u16, pages: u8, file_page: u8, flags: u8) -> Op {
    Op::Map {
        iova_page: page,
        pages: pages - 1,
        file_page,
        flags,
    }
}

fn guest_seeds() {
    let plain = Setup {
        trace: false,
        bar2_size: BAR2_MIN_SIZE,
        debug_window: false,
        seed: 7,
    };
    let traced = Setup {
        trace: true,
        bar2_size: 16 * BAR2_MIN_SIZE,
        ..plain
    };
    let ring = |control: u32, record: u8, entries: u8| Op::Ring {
        slot: 0,
        entries: entries - 1,
        record,
        control: control as u8,
        status: 0,
    };
    let stream = vec![
        map(0x10, 16, 0, map_flags::WRITABLE),
        ring(CTRL_STATUS_WB, 0, 8),
        Op::Step(5),
        r(PROD_IDX),
        Op::Consume { behind: 0 },
        Op::Step(10),
        r(STATUS),
        r(INT_STATUS),
        w(INT_STATUS, INT_ALL),
        Op::Copy {
            slot: 0,
            op: 0,
            bar_off: 0,
            len: 256,
        },
        Op::Copy {
            slot: 0,
            op: 1,
            bar_off: 128,
            len: 512,
        },
        Op::Copy {
            slot: 0,
            op: 2,
            bar_off: 0,
            len: 1024,
        },
        r(COPY_RESULT_LO),
        Op::Unmap {
            iova_page: 0,
            pages: 0,
            flags: 1,
        },
        Op::Step(1),
        r(ERROR_CODE),
        r(ERROR_ADDR_LO),
    ];
    write("guest_state", "stream", &guest::encode(plain, &stream));
    write(
        "guest_state",
        "stream-traced",
        &guest::encode(traced, &stream),
    );

    let sg = vec![
        map(0x40, 9, 8, map_flags::WRITABLE),
        ring(CTRL_SG | CTRL_STATUS_WB | CTRL_OVF_STOP, 2, 16),
        Op::Step(20),
        r(STATUS),
        Op::Consume { behind: 4 },
        w(
            CONTROL,
            CTRL_ENABLE | CTRL_SG | CTRL_STATUS_WB | CTRL_OVF_STOP,
        ),
        Op::Step(8),
        w(COAL_COUNT, 4),
        w(COAL_NS, 5000),
        Op::Step(3),
        Op::StepNs(10_000),
        w(CONTROL, 0),
        Op::Reset,
        r(CONTROL),
    ];
    write("guest_state", "sg-overflow", &guest::encode(plain, &sg));

    let drop_mode = vec![
        map(0x100, 4, 0, map_flags::WRITABLE),
        map(0x104, 4, 4, map_flags::WRITABLE),
        ring(CTRL_STATUS_WB, 3, 2),
        Op::Step(6),
        r(CNT_DROPPED),
        w(RATE, 1000),
        Op::Step(2),
        r(VTIME_LO),
        r(VTIME_HI),
        w(STEP, 65537),
        r(ERROR_CODE),
        w(ERROR_CODE, 0),
        Op::UnmapAll,
        ring(0, 0, 4),
        Op::Step(1),
    ];
    write(
        "guest_state",
        "drop-unmapped",
        &guest::encode(plain, &drop_mode),
    );

    let mut sweep = Vec::new();
    for (i, &reg) in REGS.iter().enumerate() {
        sweep.push(r(reg));
        if reg != CONTROL {
            sweep.push(w(reg, 0xffff_ffff ^ (i as u32)));
        }
    }
    for (bar, offset, width) in [
        (0u8, 0u32, 8u8),
        (0, 4, 8),
        (0, 0x10, 2),
        (0, 0xffc, 4),
        (0, 0x1000, 4),
        (2, 0, 16),
        (2, 0xff8, 8),
        (4, 0, 4),
        (1, 0, 4),
        (255, 8, 1),
    ] {
        sweep.push(Op::Raw {
            bar,
            offset,
            flags: 0,
            width,
            data: Vec::new(),
        });
        sweep.push(Op::Raw {
            bar,
            offset,
            flags: 1,
            width,
            data: vec![0xa5; usize::from(width)],
        });
    }
    write(
        "guest_state",
        "register-sweep",
        &guest::encode(plain, &sweep),
    );

    let maps = vec![
        map(0x10, 4, 0, map_flags::WRITABLE | map_flags::UNALIGNED),
        map(0x0, 2, 0, map_flags::WRITABLE | map_flags::HIGH),
        map(0x10, 4, 0, map_flags::WRITABLE | map_flags::FD_UNSEALED),
        map(0x10, 4, 2, map_flags::WRITABLE | map_flags::FD_SHORT),
        map(0x10, 4, 62, map_flags::WRITABLE),
        map(0x10, 4, 0, map_flags::WRITABLE),
        map(0x12, 4, 8, map_flags::WRITABLE),
        map(0x14, 2, 4, 0),
        map(0x20, 2, 0, map_flags::WRITABLE),
        Op::Unmap {
            iova_page: 0x11,
            pages: 0,
            flags: 0,
        },
        Op::Unmap {
            iova_page: 0x30,
            pages: 0,
            flags: 0,
        },
        Op::Ring {
            slot: 1,
            entries: 3,
            record: 0,
            control: CTRL_STATUS_WB as u8,
            status: 0,
        },
        Op::Step(2),
        r(ERROR_CODE),
        Op::Unmap {
            iova_page: 0x10,
            pages: 5,
            flags: 0,
        },
        Op::Unmap {
            iova_page: 0,
            pages: 0,
            flags: 2,
        },
    ];
    write("guest_state", "map-rules", &guest::encode(plain, &maps));

    // Fault injection through the debug window: a stray write, a corrupt
    // payload, a link-down period and a surprise removal ended by reset.
    let debug = Setup {
        debug_window: true,
        ..traced
    };
    let mut faults = vec![
        map(0x10, 16, 0, map_flags::WRITABLE),
        ring(CTRL_STATUS_WB, 1, 8),
        r(DBG_ID),
    ];
    for (kind, trigger, when, arg) in [
        (FAULT_STRAY_WRITE, DBG_TRIG_RECORD, 2, 0),
        (FAULT_CORRUPT_PAYLOAD, DBG_TRIG_RECORD, 3, 8),
        (FAULT_DUP_IRQ, DBG_TRIG_VTIME, 0, 0),
        (FAULT_LINK_DOWN, DBG_TRIG_VTIME, 20_000, 5_000),
        (FAULT_SURPRISE_REMOVAL, DBG_TRIG_RECORD, 12, 0),
    ] {
        faults.extend([
            w(DBG_KIND, kind),
            w(DBG_TRIGGER, trigger),
            w(DBG_WHEN_LO, when),
            w(DBG_ARG_LO, arg),
            w(DBG_CMD, DBG_CMD_SCHEDULE),
            r(DBG_CMD_STATUS),
        ]);
    }
    faults.extend([
        Op::Step(6),
        Op::StepNs(30_000),
        r(ID),
        Op::Step(10),
        r(DBG_STATE),
        Op::Reset,
        r(ID),
        w(DBG_CMD, DBG_CMD_CANCEL_ALL),
    ]);
    write("guest_state", "faults", &guest::encode(debug, &faults));
}

fn client_seeds() {
    const READ_WRITE: u32 = 3;
    const EVENTFD_TRIGGER: u32 = 4 | 32;
    const MSIX: u32 = 2;
    const IOVA: u64 = 0x10_0000;
    let bar0 =
        |id: u16, reg: u64, value: u32| msg::region_write(id, 0, reg, &value.to_le_bytes(), 0);

    // A QEMU-like session: negotiate, discover, wire interrupts, map guest
    // memory, stream through a ring, copy, unmap, reset.
    let mut e = Encoder::new(false);
    let mut id = 0u16;
    let mut next = || {
        id += 1;
        id
    };
    e.chunk(Fds::None, &msg::version(next()));
    e.chunk(Fds::None, &msg::device_info(next()));
    for index in 0..9 {
        e.chunk(Fds::None, &msg::region_info(next(), index, 32));
    }
    e.chunk(Fds::None, &msg::region_info(next(), 2, 80));
    for index in 0..5 {
        e.chunk(Fds::None, &msg::irq_info(next(), index));
    }
    e.chunk(
        Fds::EventFd,
        &msg::set_irqs(next(), EVENTFD_TRIGGER, MSIX, 0, 1),
    );
    e.chunk(
        Fds::TwoEventFds,
        &msg::set_irqs(next(), EVENTFD_TRIGGER, MSIX, 1, 2),
    );
    e.chunk(
        Fds::GuestMemory,
        &msg::dma_map(next(), READ_WRITE, 0, IOVA, GUEST_SIZE),
    );
    e.chunk(Fds::None, &msg::region_read(next(), 7, 0, 64));
    e.chunk(Fds::None, &msg::region_write(next(), 7, 4, &[6, 0], 0));
    for (reg, value) in [
        (RING_BASE_LO, IOVA as u32),
        (RING_BASE_HI, 0),
        (RING_ENTRIES, 8),
        (RECORD_SIZE, 256),
        (STATUS_ADDR_LO, (IOVA + GUEST_SIZE - 64) as u32),
        (INT_MASK, INT_ALL),
        (CONTROL, CTRL_ENABLE | CTRL_STATUS_WB),
        (STEP, 5),
    ] {
        e.chunk(Fds::None, &bar0(next(), reg, value));
    }
    e.chunk(Fds::None, &msg::region_read(next(), 0, PROD_IDX, 4));
    e.chunk(
        Fds::None,
        &msg::region_write(next(), 0, CONS_IDX, &5u32.to_le_bytes(), msg::FLAG_NO_REPLY),
    );
    e.chunk(
        Fds::None,
        &msg::region_write(next(), 2, 0x100, &[0x5a; 64], 0),
    );
    for (reg, value) in [
        (COPY_BAR_OFF, 0x100),
        (COPY_LEN, 64),
        (COPY_HOST_LO, (IOVA + 0x8000) as u32),
        (COPY_CTRL, 0),
    ] {
        e.chunk(Fds::None, &bar0(next(), reg, value));
    }
    e.chunk(Fds::None, &msg::region_read(next(), 2, 0x100, 64));
    e.chunk(Fds::None, &msg::region_read(next(), 4, 0x800, 8));
    e.chunk(Fds::None, &msg::dma_unmap(next(), 0, IOVA, GUEST_SIZE));
    e.chunk(Fds::None, &bar0(next(), STEP, 1));
    e.chunk(Fds::None, &msg::region_read(next(), 0, ERROR_CODE, 4));
    e.chunk(Fds::None, &msg::reset(next()));
    e.chunk(
        Fds::GuestMemory,
        &msg::dma_map(next(), READ_WRITE, 0, 0, 4096),
    );
    e.chunk(Fds::None, &msg::dma_unmap(next(), 2, 0, 0));
    e.chunk(Fds::None, &msg::set_irqs(next(), 1 | 32, MSIX, 0, 0));
    write("client_bytes", "session", &e.finish());

    // The same first steps with VERSION sent by the harness, then INTx and
    // MSI wiring and refusals (unsealed memfd, fds where none belong).
    let mut e = Encoder::new(true);
    e.chunk(Fds::None, &msg::device_info(1));
    e.chunk(Fds::EventFd, &msg::set_irqs(2, EVENTFD_TRIGGER, 0, 0, 1));
    e.chunk(Fds::EventFd, &msg::set_irqs(3, EVENTFD_TRIGGER, 1, 0, 1));
    e.chunk(Fds::None, &msg::set_irqs(4, 2 | 8, 0, 0, 1));
    e.chunk(
        Fds::UnsealedMemfd,
        &msg::dma_map(5, READ_WRITE, 0, IOVA, GUEST_SIZE),
    );
    e.chunk(Fds::EventFd, &msg::region_read(6, 0, 0, 4));
    e.chunk(Fds::None, &msg::dma_map(7, 1, 0, IOVA, GUEST_SIZE));
    e.chunk(Fds::None, &bar0(8, INT_MASK, INT_ALL));
    e.chunk(Fds::None, &bar0(9, STEP, 100_000));
    e.chunk(Fds::None, &msg::region_read(10, 0, INT_STATUS, 4));
    e.chunk(Fds::None, &bar0(11, INT_STATUS, INT_ALL));
    e.chunk(Fds::None, &msg::version(12));
    write("client_bytes", "irqs-refusals", &e.finish());

    // Framing: a message split over chunks, then one declaring more than it sends.
    let mut e = Encoder::new(true);
    let whole = msg::region_read(1, 0, ID, 4);
    e.chunk(Fds::None, &whole[..5]);
    e.chunk(Fds::None, &whole[5..]);
    let mut short = msg::region_write(2, 2, 0, &[1; 32], 0);
    short.truncate(40);
    e.chunk(Fds::None, &short);
    write("client_bytes", "framing", &e.finish());
}

fn main() {
    guest_seeds();
    client_seeds();
}

//! `cardlessctl`: poke a cardless card from the guest's shell, the way
//! `lspci`, `devmem` and `ethtool` poke real hardware. `list` reads sysfs
//! and works with any driver (or none); the rest go through the project's
//! driver (`/dev/cardlessN`, the uAPI crate's ioctls).

mod dump;
mod regname;

use cardless_abi::regs::{self, DEBUG_REGISTERS, FEAT_DEBUG, REGISTERS};
use cardless_guest_tests::card::Card;
use cardless_guest_tests::pci;
use cardless_guest_tests::stream_reader::{self, Ring};
use cardless_uapi::ioctl as uapi;
use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "cardlessctl",
    about = "Poke a cardless card: list, info, registers, a verified stream, one record.",
    after_help = "All commands but `list` need the project's driver (cardless.ko, /dev/cardlessN).\n\
                  Register names are SPEC §4.2's (and §14.4's with --debug-window)."
)]
struct Cli {
    /// Which card: N of /dev/cardlessN.
    #[arg(long, short, default_value_t = 0, global = true)]
    card: u32,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every cardless PCI function, its driver and node (like lspci; any driver).
    List {
        /// Print only the addresses of cards no driver is bound to.
        #[arg(long)]
        unbound: bool,
    },
    /// What the driver knows: identity, features, interrupts, stream counters (like ethtool -i/-S).
    Info,
    /// Every BAR0 register by name with its value.
    Regs,
    /// Read one register, or write it with VALUE (like devmem).
    Reg {
        /// A SPEC §4.2 name (CONTROL, prod_idx, ...) or a byte offset (0x14).
        register: String,
        /// Value to write (the driver refuses the DMA address registers).
        value: Option<String>,
    },
    /// Stream N records through a coherent ring and verify every byte.
    Stream {
        /// How many records.
        #[arg(default_value_t = 256)]
        count: u64,
        /// Bytes per record (header included; multiple of 8, at least 64).
        #[arg(long, default_value_t = 1024)]
        record_size: u32,
        /// Records per second (0: as fast as they are read).
        #[arg(long, default_value_t = 0)]
        rate: u32,
        /// Payload seed (SPEC §5.2).
        #[arg(long, default_value_t = 0x5eed)]
        seed: u64,
    },
    /// Stream until record INDEX exists and show it: header fields, check, bytes.
    Dump {
        /// Producer index of the record (the first of a fresh stream is 0).
        #[arg(default_value_t = 0)]
        index: u32,
        /// Bytes per record.
        #[arg(long, default_value_t = 128)]
        record_size: u32,
        /// Payload seed.
        #[arg(long, default_value_t = 0x5eed)]
        seed: u64,
    },
}

/// Ring slots for `stream` and `dump`.
const RING_ENTRIES: u32 = 64;

fn open(card: u32) -> Result<Card, String> {
    Card::open(card).map_err(|e| {
        format!("{e} (cardlessctl needs the project's driver, cardless.ko; `cardlessctl list` shows what is bound)")
    })
}

fn list(unbound: bool) -> Result<(), String> {
    let cards = pci::cards();
    if cards.is_empty() && !unbound {
        return Err(format!(
            "no cardless card (PCI {:04x}:{:04x}) in /sys/bus/pci/devices",
            regs::PCI_VENDOR_ID,
            regs::PCI_DEVICE_ID
        ));
    }
    for c in cards {
        let addr = c
            .sysfs
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let driver = c.driver();
        if unbound {
            if driver.is_none() {
                println!("{addr}");
            }
            continue;
        }
        // A misc device whose parent is the card shows up under it.
        let nodes: Vec<String> = std::fs::read_dir(c.sysfs.join("misc"))
            .map(|d| {
                d.flatten()
                    .map(|e| format!("/dev/{}", e.file_name().to_string_lossy()))
                    .collect()
            })
            .unwrap_or_default();
        println!(
            "{addr}  {:04x}:{:04x} rev {:02x}  driver={}  node={}",
            regs::PCI_VENDOR_ID,
            regs::PCI_DEVICE_ID,
            c.read_hex("revision").unwrap_or(0),
            driver.as_deref().unwrap_or("none"),
            if nodes.is_empty() {
                "-".into()
            } else {
                nodes.join(",")
            }
        );
    }
    Ok(())
}

fn info(card: &Card, index: u32) -> Result<(), String> {
    let v = card.version().map_err(|e| format!("IOC_VERSION: {e}"))?;
    let i = card.info().map_err(|e| format!("IOC_CARD_INFO: {e}"))?;
    let c = card
        .counters()
        .map_err(|e| format!("IOC_STREAM_COUNTERS: {e}"))?;
    println!("node          /dev/cardless{index}");
    println!("pci           {}", pci::address_of(i.pci_location));
    println!("uapi          {}", v.uapi);
    println!(
        "card id       {:#010x}{}",
        v.card_id,
        if v.card_id == regs::ID_VALUE {
            ""
        } else {
            " (not a cardless ID!)"
        }
    );
    println!(
        "card version  {}.{}",
        v.card_version >> 16,
        v.card_version & 0xffff
    );
    println!("features      {}", regname::features(i.features));
    let mode = ["INTx", "MSI", "MSI-X"]
        .get(i.irq_mode as usize)
        .copied()
        .unwrap_or("?");
    println!("interrupts    {mode}, {} vector(s)", i.irq_vectors);
    println!(
        "irqs handled  data-ready {} error {} copy-done {} overflow {}",
        i.irq_counts[0], i.irq_counts[1], i.irq_counts[2], i.irq_counts[3]
    );
    println!("bar0          {} bytes", i.bar0_size);
    println!("bar2          {} KiB", i.bar2_size / 1024);
    println!(
        "stream        produced {} consumed {} dropped {} errors {}",
        c.produced, c.consumed, c.dropped, c.errors
    );
    println!(
        "              prod_idx {} cons_idx {} status {} error {}",
        c.prod_idx,
        c.cons_idx,
        regname::status(c.status),
        regname::error(c.error_code)
    );
    Ok(())
}

fn read_reg(card: &Card, off: u64) -> Result<u32, String> {
    card.reg_read(off)
        .map_err(|e| format!("IOC_REG_READ at {off:#x}: {e}"))
}

fn regs_all(card: &Card) -> Result<(), String> {
    let features = read_reg(card, regs::FEATURES)?;
    let debug: &[(&str, u64)] = if features & FEAT_DEBUG != 0 {
        DEBUG_REGISTERS
    } else {
        &[]
    };
    for &(name, off) in REGISTERS.iter().chain(debug) {
        let v = read_reg(card, off)?;
        println!(
            "{off:#05x}  {name:<15} {v:#010x}{}",
            regname::explain(off, v)
        );
    }
    Ok(())
}

/// Parsed before the card is opened, so a typo is named even without a driver.
fn reg(card: u32, register: &str, value: Option<&str>) -> Result<(), String> {
    let (name, off) = regname::parse(register)?;
    let value = value.map(regname::parse_u32).transpose()?;
    let card = open(card)?;
    if let Some(v) = value {
        card.reg_write(off, v)
            .map_err(|e| format!("IOC_REG_WRITE {name} ({off:#x}) = {v:#x}: {e}"))?;
    }
    let v = read_reg(&card, off)?;
    println!("{off:#05x}  {name}  {v:#010x}{}", regname::explain(off, v));
    Ok(())
}

/// A coherent ring of `entries` records, streaming; stopped and freed on drop.
struct Stream<'a> {
    card: &'a Card,
    buf: uapi::BufAlloc,
}

impl<'a> Stream<'a> {
    fn start(
        card: &'a Card,
        entries: u32,
        record_size: u32,
        rate: u32,
        seed: u64,
    ) -> Result<(Stream<'a>, cardless_guest_tests::card::Mapping), String> {
        let bytes = u64::from(entries) * u64::from(record_size);
        let (buf, map) = card.mapped_buffer(bytes, uapi::STRATEGY_COHERENT)?;
        let s = Stream { card, buf };
        let p = uapi::StreamStart {
            record_size,
            rate,
            ..stream_reader::params(buf.id, seed)
        };
        card.stream_start(&p)
            .map_err(|e| format!("STREAM_START ({entries} x {record_size} bytes): {e}"))?;
        Ok((s, map))
    }
}

impl Drop for Stream<'_> {
    fn drop(&mut self) {
        let _ = self.card.stream_stop();
        let _ = self.card.buf_free(self.buf.id);
    }
}

fn stream(card: &Card, count: u64, record_size: u32, rate: u32, seed: u64) -> Result<(), String> {
    let (_s, map) = Stream::start(card, RING_ENTRIES, record_size, rate, seed)?;
    let ring = Ring::new(card, &map, record_size, seed);
    let t = Instant::now();
    let st = ring.read(count, |_| {})?;
    let secs = t.elapsed().as_secs_f64();
    let mb = st.records as f64 * f64::from(record_size) / 1e6;
    println!(
        "{} records verified ({mb:.1} MB, {record_size} bytes each) in {secs:.2} s: {:.1} MB/s, {} wakeups, {} dropped by the card",
        st.records,
        mb / secs.max(1e-9),
        st.wakeups,
        st.dropped_seen
    );
    Ok(())
}

fn dump(card: &Card, index: u32, record_size: u32, seed: u64) -> Result<(), String> {
    // Records before `index` are given back so the card can go on; the ring
    // is big enough that `index` is never overwritten before we look.
    let (_s, map) = Stream::start(card, RING_ENTRIES, record_size, 0, seed)?;
    let ring = Ring::new(card, &map, record_size, seed);
    let mut cons = 0u32;
    loop {
        let prod = card
            .stream_wait(cons, 5000)
            .map_err(|e| format!("STREAM_WAIT for record {index}: {e}"))?;
        if prod.wrapping_sub(index) as i32 > 0 {
            break;
        }
        cons = prod;
        card.stream_consume(cons)
            .map_err(|e| format!("STREAM_CONSUME: {e}"))?;
    }
    let slot = (index % RING_ENTRIES) as usize * record_size as usize;
    let bytes = map.bytes()[slot..slot + record_size as usize].to_vec();
    print!(
        "{}",
        dump::record(index, &bytes, ring.verify(index).map(|_| ()))
    );
    Ok(())
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::List { unbound } => list(unbound),
        Command::Info => info(&open(cli.card)?, cli.card),
        Command::Regs => regs_all(&open(cli.card)?),
        Command::Reg { register, value } => reg(cli.card, &register, value.as_deref()),
        Command::Stream {
            count,
            record_size,
            rate,
            seed,
        } => stream(&open(cli.card)?, count, record_size, rate, seed),
        Command::Dump {
            index,
            record_size,
            seed,
        } => dump(&open(cli.card)?, index, record_size, seed),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cardlessctl: {e}");
            ExitCode::FAILURE
        }
    }
}

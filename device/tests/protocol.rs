//! The card through the vfio-user protocol, driven by the `vfio_user`
//! crate's `Client` (an independent implementation) over a real socket.
//! Section numbers refer to device/SPEC.md.

mod common;

use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use cardless_abi::regs;
use common::*;
use vfio_bindings::bindings::vfio::*;

#[test]
fn version_negotiation_and_device_info() {
    let server = TestServer::start();
    // Client::new negotiates the version and reads every region's info.
    let client = server.client();
    assert!(client.region(8).is_some(), "nine regions");
    assert!(client.region(9).is_none());
    drop(client); // the server serves one connection at a time
    assert_eq!(server.next_ending(), Ok(()));

    let mut raw = RawClient::connect(&server.path);
    let mut body = vec![0, 0, 0, 0];
    body.extend_from_slice(b"{\"capabilities\":{}}\0");
    raw.send(&message(7, 1, &body));
    let (header, reply) = raw.recv().unwrap();
    assert_eq!((header.id, header.flags), (7, FLAG_REPLY));
    assert_eq!(&reply[..4], &[0, 0, 0, 0], "server speaks 0.0");
    let json = std::str::from_utf8(&reply[4..reply.len() - 1]).unwrap();
    let caps: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(caps["capabilities"]["max_msg_fds"], 16);
    assert_eq!(caps["capabilities"]["pgsizes"], 4096);

    raw.send(&message(8, 4, &16u32.to_le_bytes().repeat(4)));
    let (header, reply) = raw.recv().unwrap();
    assert_eq!(header.flags, FLAG_REPLY);
    let field = |at: usize| u32::from_le_bytes(reply[at..at + 4].try_into().unwrap());
    assert_eq!(field(4), VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
    assert_eq!((field(8), field(12)), (9, 5), "9 regions, 5 irq indices");
}

#[test]
fn region_info_matches_spec_bars() {
    let server = TestServer::start();
    let client = server.client();
    let bar0 = client.region(REGION_BAR0).unwrap();
    assert_eq!(bar0.size, regs::BAR0_SIZE);
    assert_eq!(
        bar0.flags & VFIO_REGION_INFO_FLAG_MMAP,
        0,
        "BAR0 is trapped"
    );

    // SPEC §3.1: BAR2 is mmappable through a sparse-mmap area covering it,
    // with the card's memfd.
    let bar2 = client.region(REGION_BAR2).unwrap();
    assert_eq!(bar2.size, regs::BAR2_DEFAULT_SIZE);
    assert_ne!(bar2.flags & VFIO_REGION_INFO_FLAG_MMAP, 0);
    assert_ne!(bar2.flags & VFIO_REGION_INFO_FLAG_CAPS, 0);
    assert_eq!(bar2.sparse_areas.len(), 1);
    assert_eq!(bar2.sparse_areas[0].offset, 0);
    assert_eq!(bar2.sparse_areas[0].size, bar2.size);
    assert!(bar2.file_offset.is_some(), "BAR2 comes with its fd");

    assert_eq!(client.region(REGION_BAR4).unwrap().size, regs::BAR4_SIZE);
    assert_eq!(client.region(REGION_CONFIG).unwrap().size, 4096);
    for absent in [1, 3, 5, 6, 8] {
        assert_eq!(client.region(absent).unwrap().size, 0, "region {absent}");
    }
}

fn config_read(client: &mut vfio_user::Client, offset: u64, len: usize) -> Vec<u8> {
    let mut data = vec![0u8; len];
    client
        .region_read(REGION_CONFIG, offset, &mut data)
        .unwrap();
    data
}

/// Walks the capability list from 0x34; returns (id, offset) pairs.
fn capabilities(config: &[u8]) -> Vec<(u8, usize)> {
    let mut out = Vec::new();
    let mut at = config[0x34] as usize;
    while at != 0 && out.len() < 48 {
        out.push((config[at], at));
        at = config[at + 1] as usize;
    }
    out
}

#[test]
fn config_space_identity_capabilities_and_bars() {
    let server = TestServer::start();
    let mut client = server.client();
    let config = config_read(&mut client, 0, 4096);
    let u16_at = |at: usize| u16::from_le_bytes([config[at], config[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(config[at..at + 4].try_into().unwrap());

    // SPEC §1.
    assert_eq!(u16_at(0x00), regs::PCI_VENDOR_ID);
    assert_eq!(u16_at(0x02), regs::PCI_DEVICE_ID);
    assert_eq!(config[0x08], regs::PCI_REVISION_ID);
    assert_eq!(u32_at(0x08) >> 8, regs::PCI_CLASS_CODE);
    assert_eq!(u16_at(0x2c), regs::PCI_SUBSYSTEM_VENDOR_ID);
    assert_eq!(u16_at(0x2e), regs::PCI_SUBSYSTEM_ID);
    assert_eq!(config[0x3d], 1, "INTA");
    assert_ne!(u16_at(0x06) & (1 << 4), 0, "capability list");

    // SPEC §2: PCI Express endpoint, MSI-X with 4 vectors in BAR4, MSI.
    let caps = capabilities(&config);
    let ids: Vec<u8> = caps.iter().map(|&(id, _)| id).collect();
    assert_eq!(ids, vec![0x10, 0x11, 0x05]);
    let pcie = caps[0].1;
    assert_eq!(u16_at(pcie + 2) & 0xf, 2, "PCIe capability version 2");
    assert_eq!((u16_at(pcie + 2) >> 4) & 0xf, 0, "endpoint");
    let msix = caps[1].1;
    assert_eq!(u16_at(msix + 2) & 0x7ff, regs::MSIX_VECTORS - 1);
    assert_eq!(u32_at(msix + 4), regs::MSIX_TABLE_OFFSET | 4);
    assert_eq!(u32_at(msix + 8), regs::MSIX_PBA_OFFSET | 4);
    let msi = caps[2].1;
    assert_ne!(u16_at(msi + 2) & (1 << 7), 0, "64-bit MSI");
    assert_eq!(u32_at(0x100), 0, "empty extended capability list");

    // SPEC §3: BAR types, sizing.
    assert_eq!(u32_at(0x10) & 0xf, 0, "BAR0: 32-bit, non-prefetchable");
    assert_eq!(u32_at(0x18) & 0xf, 0xc, "BAR2: 64-bit, prefetchable");
    assert_eq!(u32_at(0x20) & 0xf, 0, "BAR4: 32-bit");
    for bar in 0..6u64 {
        write32(&mut client, REGION_CONFIG, 0x10 + 4 * bar, u32::MAX);
    }
    let sized: Vec<u32> = (0..6u64)
        .map(|bar| read32(&mut client, REGION_CONFIG, 0x10 + 4 * bar))
        .collect();
    let bar2_mask = !(regs::BAR2_DEFAULT_SIZE - 1);
    assert_eq!(
        sized,
        vec![
            !(regs::BAR0_SIZE as u32 - 1),
            0,
            bar2_mask as u32 | 0xc,
            (bar2_mask >> 32) as u32,
            !(regs::BAR4_SIZE as u32 - 1),
            0
        ]
    );

    // Read-only fields keep their value; command takes only its RW bits.
    write32(&mut client, REGION_CONFIG, 0, 0xffff_ffff);
    write32(&mut client, REGION_CONFIG, 0x08, 0xffff_ffff);
    write32(&mut client, REGION_CONFIG, 0x04, 0xffff_ffff);
    assert_eq!(config_read(&mut client, 0, 4), config[0..4]);
    assert_eq!(config_read(&mut client, 0x08, 4), config[0x08..0x0c]);
    let command = read32(&mut client, REGION_CONFIG, 0x04) & 0xffff;
    assert_eq!(command, 0x0546);
    client.reset().unwrap();
    assert_eq!(read32(&mut client, REGION_CONFIG, 0x04) & 0xffff, 0);
}

#[test]
fn bar0_id_version_and_scratch() {
    let server = TestServer::start();
    let mut client = server.client();
    assert_eq!(read32(&mut client, REGION_BAR0, regs::ID), regs::ID_VALUE);
    assert_eq!(
        read32(&mut client, REGION_BAR0, regs::VERSION),
        regs::VERSION_VALUE
    );
    assert_eq!(
        read32(&mut client, REGION_BAR0, regs::BAR2_SIZE),
        regs::BAR2_DEFAULT_SIZE as u32
    );
    write32(&mut client, REGION_BAR0, regs::SCRATCH, 0x5a5a_1234);
    assert_eq!(read32(&mut client, REGION_BAR0, regs::SCRATCH), 0x5a5a_1234);
}

#[test]
fn device_reset_restores_registers() {
    let server = TestServer::start();
    let mut client = server.client();
    write32(&mut client, REGION_BAR0, regs::SCRATCH, 0xdead_beef);
    write32(&mut client, REGION_BAR0, regs::INT_MASK, regs::INT_ALL);
    client.reset().unwrap();
    assert_eq!(read32(&mut client, REGION_BAR0, regs::SCRATCH), 0);
    assert_eq!(read32(&mut client, REGION_BAR0, regs::INT_MASK), 0);
    assert_eq!(read32(&mut client, REGION_BAR0, regs::ID), regs::ID_VALUE);
}

#[test]
fn bar2_trapped_and_mapped_paths_see_the_same_bytes() {
    let server = TestServer::start();
    let mut client = server.client();
    let bar2 = client.region(REGION_BAR2).unwrap();
    let file = bar2.file_offset.as_ref().unwrap().file();
    let size = bar2.size as usize;
    let mapping = map_shared(file.as_fd(), size);
    // SAFETY: `size` bytes mapped just above; the test owns the mapping.
    let mapped = unsafe { std::slice::from_raw_parts_mut(mapping.as_ptr(), size) };

    // Trapped write, seen through the mapping (SPEC §3.1).
    client
        .region_write(REGION_BAR2, 0x1000, b"through the socket")
        .unwrap();
    assert_eq!(&mapped[0x1000..0x1012], b"through the socket");

    // Mapped write, seen by a trapped read, up to the last byte.
    mapped[size - 8..].copy_from_slice(b"mmapped!");
    let mut data = [0u8; 8];
    client
        .region_read(REGION_BAR2, (size - 8) as u64, &mut data)
        .unwrap();
    assert_eq!(&data, b"mmapped!");
    // SAFETY: unmapping the mapping made above.
    unsafe { rustix::mm::munmap(mapping.as_ptr().cast(), size).unwrap() };
}

/// Programs a copy-engine checksum (no DMA needed): COPY_DONE (SPEC §11).
fn run_checksum(client: &mut vfio_user::Client) {
    write32(client, REGION_BAR0, regs::COPY_BAR_OFF, 0);
    write32(client, REGION_BAR0, regs::COPY_LEN, 64);
    write32(client, REGION_BAR0, regs::COPY_CTRL, regs::COPY_OP_CHECKSUM);
}

#[test]
fn irq_info_and_msix_eventfds() {
    let server = TestServer::start();
    let mut client = server.client();
    let intx = client.get_irq_info(VFIO_PCI_INTX_IRQ_INDEX).unwrap();
    assert_eq!(intx.count, 1);
    assert_ne!(intx.flags & VFIO_IRQ_INFO_MASKABLE, 0);
    assert_ne!(intx.flags & VFIO_IRQ_INFO_AUTOMASKED, 0);
    assert_eq!(
        client.get_irq_info(VFIO_PCI_MSI_IRQ_INDEX).unwrap().count,
        1
    );
    let msix = client.get_irq_info(VFIO_PCI_MSIX_IRQ_INDEX).unwrap();
    assert_eq!(msix.count, u32::from(regs::MSIX_VECTORS));
    assert_eq!(
        client.get_irq_info(VFIO_PCI_ERR_IRQ_INDEX).unwrap().count,
        1
    );
    assert_eq!(
        client.get_irq_info(VFIO_PCI_REQ_IRQ_INDEX).unwrap().count,
        1
    );

    let vectors = common::wire_msix(&mut client);
    write32(
        &mut client,
        REGION_BAR0,
        regs::INT_MASK,
        regs::INT_COPY_DONE,
    );
    run_checksum(&mut client);
    let copy_done = usize::from(regs::VEC_COPY_DONE);
    assert_eq!(vectors[copy_done].wait(), 1, "COPY_DONE on its vector");
    for (vector, fd) in vectors.iter().enumerate() {
        if vector != copy_done {
            assert_eq!(fd.take(), 0, "vector {vector} stays quiet");
        }
    }

    // Loopback trigger (DATA_NONE) fires the named vectors.
    msix_trigger_no_data(&mut client, 1, 1);
    assert_eq!(vectors[1].take(), 1);

    // Disabling the index: no more messages.
    unwire_msix(&mut client);
    run_checksum(&mut client);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(vectors[copy_done].take(), 0);
}

#[test]
fn intx_is_level_triggered_with_automask() {
    let server = TestServer::start();
    let mut client = server.client();
    let intx = wire(&mut client, VFIO_PCI_INTX_IRQ_INDEX, 1).remove(0);
    write32(
        &mut client,
        REGION_BAR0,
        regs::INT_MASK,
        regs::INT_COPY_DONE,
    );
    run_checksum(&mut client);
    assert_eq!(intx.wait(), 1, "INTx asserted");

    // Auto-masked: a second event does not signal until the unmask.
    run_checksum(&mut client);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(intx.take(), 0, "masked after delivery");
    let unmask = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK;
    client
        .set_irqs(VFIO_PCI_INTX_IRQ_INDEX, unmask, 0, 1, &[])
        .unwrap();
    assert_eq!(intx.take(), 1, "still pending: unmask re-signals (level)");

    // Clearing the cause and unmasking leaves the line quiet.
    write32(&mut client, REGION_BAR0, regs::INT_STATUS, regs::INT_ALL);
    client
        .set_irqs(VFIO_PCI_INTX_IRQ_INDEX, unmask, 0, 1, &[])
        .unwrap();
    assert_eq!(intx.take(), 0);
}

#[test]
fn dma_map_copy_to_guest_memory_and_unmap() {
    let server = TestServer::start();
    let mut client = server.client();
    let iova = 0x1_0000_0000u64;
    let guest = GuestMemory::mapped(&mut client, iova, 1 << 20);

    // Put a pattern in BAR2, let the copy engine DMA it to the guest.
    let pattern: Vec<u8> = (0..256u32).map(|i| (i * 7 + 3) as u8).collect();
    client.region_write(REGION_BAR2, 0x200, &pattern).unwrap();
    let copy_to_guest = |client: &mut vfio_user::Client| {
        copy_to_host(client, 0x200, iova + 0x3000, pattern.len() as u32)
    };
    assert_eq!(copy_to_guest(&mut client), regs::ERR_NONE);
    let mut landed = vec![0u8; pattern.len()];
    guest.read(0x3000, &mut landed);
    assert_eq!(landed, pattern, "the card's DMA reached guest memory");

    // After DMA_UNMAP the card must not touch the range (SPEC §10).
    client.dma_unmap(iova, guest.len as u64).unwrap();
    guest.write(0x3000, &vec![0u8; pattern.len()]);
    assert_eq!(copy_to_guest(&mut client), regs::ERR_DMA_UNMAPPED);
    guest.read(0x3000, &mut landed);
    assert!(landed.iter().all(|&b| b == 0), "no DMA after unmap");
    assert_eq!(
        read32(&mut client, REGION_BAR0, regs::ERROR_CODE),
        regs::ERR_DMA_UNMAPPED
    );
}

#[test]
fn disconnect_ends_serve_and_drops_mappings() {
    let server = TestServer::start();
    let guest = GuestMemory::new(1 << 16);
    {
        let mut client = server.client();
        client
            .dma_map(0, 0x10000, guest.len as u64, guest.fd.as_raw_fd())
            .unwrap();
    }
    assert_eq!(server.next_ending(), Ok(()));
    // A new client finds the card without the old client's mappings.
    let mut client = server.client();
    assert_eq!(
        copy_to_host(&mut client, 0, 0x10000, 16),
        regs::ERR_DMA_UNMAPPED
    );
}

#[test]
fn msi_sends_every_cause_on_message_zero() {
    let server = TestServer::start();
    let mut client = server.client();
    let msi = wire(&mut client, VFIO_PCI_MSI_IRQ_INDEX, 1).remove(0);
    write32(&mut client, REGION_BAR0, regs::INT_MASK, regs::INT_ALL);
    run_checksum(&mut client);
    assert_eq!(msi.wait(), 1, "COPY_DONE on the MSI message (SPEC §7.2)");
    // A copy with a bad range: COPY_DONE and ERROR, two messages.
    write32(&mut client, REGION_BAR0, regs::COPY_BAR_OFF, u32::MAX);
    write32(&mut client, REGION_BAR0, regs::COPY_LEN, 16);
    write32(
        &mut client,
        REGION_BAR0,
        regs::COPY_CTRL,
        regs::COPY_OP_CHECKSUM,
    );
    assert_eq!(msi.wait(), 2);
}

#[test]
fn dma_unmap_all_and_maps_without_fd() {
    let server = TestServer::start();
    let guest = GuestMemory::new(1 << 16);
    let mut raw = RawClient::negotiated(&server.path);
    let map = |iova: u64| {
        let mut body = Vec::new();
        body.extend_from_slice(&32u32.to_le_bytes());
        body.extend_from_slice(&3u32.to_le_bytes());
        body.extend_from_slice(&0u64.to_le_bytes());
        body.extend_from_slice(&iova.to_le_bytes());
        body.extend_from_slice(&(1u64 << 16).to_le_bytes());
        message(1, 2, &body)
    };
    raw.send_with_fds(&map(0x10000), &[guest.fd.as_fd()]);
    assert_eq!(raw.recv().unwrap().0.flags, FLAG_REPLY);
    // Without an fd (QEMU with non-shared RAM): accepted, but unreachable.
    raw.send(&map(0x40000));
    assert_eq!(raw.recv().unwrap().0.flags, FLAG_REPLY);
    // QEMU unmaps such ranges later: not an error (it would log one per boot).
    let mut unmap_fdless = Vec::new();
    unmap_fdless.extend_from_slice(&24u32.to_le_bytes());
    unmap_fdless.extend_from_slice(&0u32.to_le_bytes());
    unmap_fdless.extend_from_slice(&0x40000u64.to_le_bytes());
    unmap_fdless.extend_from_slice(&(1u64 << 16).to_le_bytes());
    raw.send(&message(4, 3, &unmap_fdless));
    let (header, body) = raw.recv().unwrap();
    assert_eq!(
        header.flags, FLAG_REPLY,
        "unmap of a range mapped without an fd succeeds"
    );
    assert_eq!(body, unmap_fdless);

    let mut unmap_all = Vec::new();
    unmap_all.extend_from_slice(&24u32.to_le_bytes());
    unmap_all.extend_from_slice(&VFIO_DMA_UNMAP_FLAG_ALL.to_le_bytes());
    unmap_all.extend_from_slice(&[0; 16]);
    raw.send(&message(2, 3, &unmap_all));
    let (header, body) = raw.recv().unwrap();
    assert_eq!(header.flags, FLAG_REPLY);
    assert_eq!(body, unmap_all, "DMA_UNMAP reply echoes the request");

    // On the same connection, the card can no longer reach the range.
    let mut write = |offset: u64, value: u32| {
        let body = region_access(REGION_BAR0, offset, 4, &value.to_le_bytes());
        raw.send(&message(3, 10, &body));
        assert_eq!(raw.recv().unwrap().0.flags, FLAG_REPLY);
    };
    write(regs::COPY_LEN, 16);
    write(regs::COPY_HOST_LO, 0x10000);
    write(regs::COPY_CTRL, regs::COPY_OP_TO_HOST);
    raw.send(&message(
        4,
        9,
        &region_access(REGION_BAR0, regs::COPY_STATUS, 4, &[]),
    ));
    let (_, body) = raw.recv().unwrap();
    assert_eq!(body[16..], regs::ERR_DMA_UNMAPPED.to_le_bytes());
}

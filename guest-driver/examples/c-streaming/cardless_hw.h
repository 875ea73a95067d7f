/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * cardless_hw.h: the cardless card's hardware interface for C drivers
 * (PCI identity, BAR0 registers, DMA formats; device/SPEC.md).
 *
 * GENERATED from device/abi/src/regs.rs and record.rs by
 * device/abi/tests/c_header.rs. Do not edit: `cargo test -p cardless-abi`
 * fails when this file and the ABI differ. Regenerate with
 *   CARDLESS_BLESS=1 cargo test -p cardless-abi --test c_header
 */
#ifndef CARDLESS_HW_H
#define CARDLESS_HW_H

#include <linux/types.h>

/* ---- device/abi/src/regs.rs ---- */

/* §1 PCI identity */
/* PCI vendor ID (QEMU's historic "experimental" vendor, as used by `edu`). */
#define CARDLESS_PCI_VENDOR_ID 0x1234U
/* PCI device ID of the streaming card. */
#define CARDLESS_PCI_DEVICE_ID 0xca7dU
/* Revision ID; bumped with incompatible changes of this file. */
#define CARDLESS_PCI_REVISION_ID 1U
/*
 * Class code (base class 0x11 data acquisition / signal processing
 * controller, subclass 0x80 other), programming interface 0.
 */
#define CARDLESS_PCI_CLASS_CODE 0x118000U
/* Class and subclass as one 16-bit value (the form `pci_ids` tables use). */
#define CARDLESS_PCI_CLASS 0x1180U
/* Subsystem vendor ID. */
#define CARDLESS_PCI_SUBSYSTEM_VENDOR_ID 0x1234U
/* Subsystem ID. */
#define CARDLESS_PCI_SUBSYSTEM_ID 1U

/* §3 BARs */
/* BAR index of the trapped register file (32-bit, non-prefetchable MMIO). */
#define CARDLESS_BAR_REGS 0U
/* Size of BAR0 in bytes. */
#define CARDLESS_BAR0_SIZE 0x1000ULL
/* BAR index of the on-board memory (64-bit, prefetchable MMIO, mmappable). */
#define CARDLESS_BAR_MEM 2U
/* Default size of BAR2 in bytes (1 MiB). */
#define CARDLESS_BAR2_DEFAULT_SIZE 0x100000ULL
/* Smallest BAR2 size the card accepts (a power of two). */
#define CARDLESS_BAR2_MIN_SIZE 0x1000ULL
/* Largest BAR2 size the card accepts (a power of two). */
#define CARDLESS_BAR2_MAX_SIZE 0x40000000ULL
/* BAR index of the MSI-X table and PBA (32-bit, non-prefetchable MMIO). */
#define CARDLESS_BAR_MSIX 4U
/* Size of BAR4 in bytes. */
#define CARDLESS_BAR4_SIZE 0x1000ULL
/* Offset of the MSI-X table in BAR4. */
#define CARDLESS_MSIX_TABLE_OFFSET 0U
/* Offset of the MSI-X pending-bit array in BAR4. */
#define CARDLESS_MSIX_PBA_OFFSET 0x800U

/* §7 Interrupts: MSI-X vectors and INT_STATUS cause bits */
/* Number of MSI-X vectors (table entries). */
#define CARDLESS_MSIX_VECTORS 4U
/* Vector of the DATA_READY cause: records are waiting in the ring. */
#define CARDLESS_VEC_DATA_READY 0U
/* Vector of the ERROR cause: ERROR_CODE latched, engine stopped. */
#define CARDLESS_VEC_ERROR 1U
/* Vector of the COPY_DONE cause: a copy/checksum command finished. */
#define CARDLESS_VEC_COPY_DONE 2U
/* Vector of the OVERFLOW cause: the ring was full when a record was due. */
#define CARDLESS_VEC_OVERFLOW 3U
/* INT_STATUS / INT_MASK bit: records are waiting in the ring (coalesced). */
#define CARDLESS_INT_DATA_READY 1U
/* INT_STATUS / INT_MASK bit: an error was latched in ERROR_CODE. */
#define CARDLESS_INT_ERROR 2U
/* INT_STATUS / INT_MASK bit: a copy engine command completed. */
#define CARDLESS_INT_COPY_DONE 4U
/* INT_STATUS / INT_MASK bit: the ring overflowed (drop or stop). */
#define CARDLESS_INT_OVERFLOW 8U
/* All defined cause bits; other INT_STATUS/INT_MASK bits read 0. */
#define CARDLESS_INT_ALL 0xfU

/* §4 BAR0 register map. All registers are 32 bits wide, little-endian. */
/* Width of every BAR0 register in bytes. */
#define CARDLESS_REG_WIDTH 0x4ULL
/* `ID` (RO): identifies the card; reads `ID_VALUE`. */
#define CARDLESS_ID 0x000
/* Value of the ID register ("ca7d" + vendor). */
#define CARDLESS_ID_VALUE 0xca7d1234U
/* `VERSION` (RO): register map version, major in 31:16, minor in 15:0. */
#define CARDLESS_VERSION 0x004
/* Value of the VERSION register (1.0). */
#define CARDLESS_VERSION_VALUE 0x10000U
/* `FEATURES` (RO): what this card instance offers, `FEAT_*` bits. */
#define CARDLESS_FEATURES 0x008
/* FEATURES: the ring may be a scatter-gather page list. */
#define CARDLESS_FEAT_SG 1U
/* FEATURES: the copy engine (COPY_*) exists. */
#define CARDLESS_FEAT_COPY 2U
/* FEATURES: the copy engine can checksum a BAR2 range. */
#define CARDLESS_FEAT_CHECKSUM 4U
/* FEATURES: deterministic mode: records are produced only by STEP writes. */
#define CARDLESS_FEAT_DETERMINISTIC 8U
/* FEATURES: the status block write-back exists. */
#define CARDLESS_FEAT_STATUS_WB 0x10U
/*
 * FEATURES: the fault-injection debug window (§14.4) is present at
 * `DBG_BASE`.
 */
#define CARDLESS_FEAT_DEBUG 0x20U
/* `SCRATCH` (RW, reset 0): free for the driver; no side effects. */
#define CARDLESS_SCRATCH 0x00c
/* `CONTROL` (RW, reset 0): engine enable and mode bits, `CTRL_*`. */
#define CARDLESS_CONTROL 0x010
/*
 * CONTROL: 0->1 latches the ring programming and starts the engine (§6.1);
 * 1->0 stops it.
 */
#define CARDLESS_CTRL_ENABLE 1U
/* CONTROL: the ring is a scatter-gather page list (latched at enable). */
#define CARDLESS_CTRL_SG 2U
/*
 * CONTROL: on overflow stop the engine (1) instead of dropping the record
 * (0).
 */
#define CARDLESS_CTRL_OVF_STOP 4U
/* CONTROL: write the status block to STATUS_ADDR (§5.3). */
#define CARDLESS_CTRL_STATUS_WB 8U
/* CONTROL: write 1 to reset the whole card (§9); reads as 0. */
#define CARDLESS_CTRL_RESET 0x80000000U
/* CONTROL bits that are stored (others read 0). */
#define CARDLESS_CTRL_MASK 0xfU
/* `STATUS` (RO): engine state, `STS_*` bits. */
#define CARDLESS_STATUS 0x014
/* STATUS: the engine is running. */
#define CARDLESS_STS_RUNNING 1U
/* STATUS: ERROR_CODE != 0. */
#define CARDLESS_STS_ERROR 2U
/* STATUS: the engine stopped because the ring was full (CTRL_OVF_STOP). */
#define CARDLESS_STS_OVERFLOW_STOPPED 4U
/* STATUS: the ring is full right now (PROD_IDX - CONS_IDX == RING_ENTRIES). */
#define CARDLESS_STS_RING_FULL 8U
/* `INT_STATUS` (RW1C, reset 0): latched interrupt causes, `INT_*` bits. */
#define CARDLESS_INT_STATUS 0x018
/* `INT_MASK` (RW, reset 0): 1 enables signalling of the cause (§7). */
#define CARDLESS_INT_MASK 0x01c
/*
 * `ERROR_CODE` (RO, write any value to clear, reset 0): first error,
 * `ERR_*`.
 */
#define CARDLESS_ERROR_CODE 0x020
/* `BAR2_SIZE` (RO): size of BAR2 in bytes. */
#define CARDLESS_BAR2_SIZE 0x024
/*
 * `ERROR_ADDR_LO` (RO): low half of the address or value that caused
 * ERROR_CODE.
 */
#define CARDLESS_ERROR_ADDR_LO 0x028
/* `ERROR_ADDR_HI` (RO): high half of ERROR_ADDR. */
#define CARDLESS_ERROR_ADDR_HI 0x02c
/*
 * `RING_BASE_LO` (RW, reset 0): contiguous mode: ring IOVA; SG mode: IOVA of
 * the page table.
 */
#define CARDLESS_RING_BASE_LO 0x040
/* `RING_BASE_HI` (RW, reset 0): high half of RING_BASE. */
#define CARDLESS_RING_BASE_HI 0x044
/*
 * `RING_ENTRIES` (RW, reset 0): number of record slots,
 * 1..=`MAX_RING_ENTRIES`.
 */
#define CARDLESS_RING_ENTRIES 0x048
/*
 * `RECORD_SIZE` (RW, reset = CLI record size): bytes per slot including the
 * header, a multiple of 8 in `MIN_RECORD_SIZE`..=`MAX_RECORD_SIZE`.
 */
#define CARDLESS_RECORD_SIZE 0x04c
/*
 * `SG_PAGES` (RW, reset 0): number of u64 entries in the SG page table,
 * 1..=`MAX_SG_PAGES`.
 */
#define CARDLESS_SG_PAGES 0x050
/* `STATUS_ADDR_LO` (RW, reset 0): IOVA of the status block, 8-byte aligned. */
#define CARDLESS_STATUS_ADDR_LO 0x058
/* `STATUS_ADDR_HI` (RW, reset 0): high half of STATUS_ADDR. */
#define CARDLESS_STATUS_ADDR_HI 0x05c
/*
 * `PROD_IDX` (RO, reset 0): free-running count of records written to the
 * ring.
 */
#define CARDLESS_PROD_IDX 0x060
/*
 * `CONS_IDX` (RW, reset 0): free-running count of records the driver
 * consumed.
 */
#define CARDLESS_CONS_IDX 0x064
/*
 * `COAL_COUNT` (RW, reset 1): raise DATA_READY after this many new records
 * (0 acts as 1).
 */
#define CARDLESS_COAL_COUNT 0x068
/*
 * `COAL_NS` (RW, reset 0): raise DATA_READY when the oldest unsignalled
 * record is this many virtual ns old (0 = no time trigger).
 */
#define CARDLESS_COAL_NS 0x06c
/*
 * `RATE` (RW, reset = CLI rate or 0): records per second, 0 = unlimited
 * (§6.5).
 */
#define CARDLESS_RATE 0x070
/* `STEP` (WO, reads 0): produce N records now (§8). */
#define CARDLESS_STEP 0x074
/*
 * `STEP_NS` (WO, reads 0): advance the virtual clock by N ns (deterministic
 * mode).
 */
#define CARDLESS_STEP_NS 0x078
/* `SEED_LO` (RW, reset = CLI seed): payload PRNG seed, latched at enable. */
#define CARDLESS_SEED_LO 0x080
/* `SEED_HI` (RW): high half of SEED. */
#define CARDLESS_SEED_HI 0x084
/*
 * `VTIME_LO` (RO): low half of the virtual clock in ns; reading it snapshots
 * the whole 64-bit value for VTIME_HI.
 */
#define CARDLESS_VTIME_LO 0x088
/*
 * `VTIME_HI` (RO): high half of the snapshot taken by the last VTIME_LO
 * read.
 */
#define CARDLESS_VTIME_HI 0x08c
/* `CNT_PRODUCED` (RO): records written to the ring (low 32 bits, wraps). */
#define CARDLESS_CNT_PRODUCED 0x0a0
/* `CNT_DROPPED` (RO): records dropped on overflow (wraps). */
#define CARDLESS_CNT_DROPPED 0x0a4
/* `CNT_ERRORS` (RO): errors detected, including ones not latched (wraps). */
#define CARDLESS_CNT_ERRORS 0x0a8
/* `CNT_IRQS` (RO): interrupt messages sent (wraps). */
#define CARDLESS_CNT_IRQS 0x0ac
/* `CNT_BAD_ACCESS` (RO): BAR0 accesses to holes or of a wrong width (wraps). */
#define CARDLESS_CNT_BAD_ACCESS 0x0b0
/* `CNT_COPIES` (RO): copy engine commands completed (wraps). */
#define CARDLESS_CNT_COPIES 0x0b4
/* `COPY_BAR_OFF` (RW, reset 0): BAR2 offset of a copy/checksum command. */
#define CARDLESS_COPY_BAR_OFF 0x0c0
/* `COPY_LEN` (RW, reset 0): length in bytes of a copy/checksum command. */
#define CARDLESS_COPY_LEN 0x0c4
/* `COPY_HOST_LO` (RW, reset 0): host IOVA of a copy command. */
#define CARDLESS_COPY_HOST_LO 0x0c8
/* `COPY_HOST_HI` (RW, reset 0): high half of COPY_HOST. */
#define CARDLESS_COPY_HOST_HI 0x0cc
/*
 * `COPY_CTRL` (RW, reset 0): doorbell: writing starts the command in bits
 * 1:0 (`COPY_OP_*`); reads return the last value written.
 */
#define CARDLESS_COPY_CTRL 0x0d0
/*
 * COPY_CTRL op: copy BAR2COPY_BAR_OFF..+COPY_LEN to host memory at
 * COPY_HOST.
 */
#define CARDLESS_COPY_OP_TO_HOST 0U
/*
 * COPY_CTRL op: copy host memory at COPY_HOST to
 * BAR2COPY_BAR_OFF..+COPY_LEN.
 */
#define CARDLESS_COPY_OP_FROM_HOST 1U
/* COPY_CTRL op: checksum BAR2COPY_BAR_OFF..+COPY_LEN into COPY_RESULT. */
#define CARDLESS_COPY_OP_CHECKSUM 2U
/* COPY_CTRL: mask of the op field. */
#define CARDLESS_COPY_OP_MASK 3U
/*
 * `COPY_STATUS` (RO, reset 0): 0 if the last command succeeded, else its
 * `ERR_*`.
 */
#define CARDLESS_COPY_STATUS 0x0d4
/* `COPY_RESULT_LO` (RO, reset 0): checksum of the last COPY_OP_CHECKSUM. */
#define CARDLESS_COPY_RESULT_LO 0x0d8
/* `COPY_RESULT_HI` (RO): high half of COPY_RESULT. */
#define CARDLESS_COPY_RESULT_HI 0x0dc
/* Largest RING_ENTRIES value. */
#define CARDLESS_MAX_RING_ENTRIES 0x100000U
/* Smallest RECORD_SIZE value. */
#define CARDLESS_MIN_RECORD_SIZE 0x40U
/* Largest RECORD_SIZE value. */
#define CARDLESS_MAX_RECORD_SIZE 0x100000U
/* RECORD_SIZE must be a multiple of this. */
#define CARDLESS_RECORD_ALIGN 8U
/* Largest ring in bytes (RING_ENTRIES * RECORD_SIZE). */
#define CARDLESS_MAX_RING_BYTES 0x40000000ULL
/* Largest SG_PAGES value (1 GiB of 4 KiB pages). */
#define CARDLESS_MAX_SG_PAGES 0x40000U
/* Largest N accepted by one STEP write. */
#define CARDLESS_MAX_STEP 0x10000U
/* Default RECORD_SIZE when the CLI gives none. */
#define CARDLESS_DEFAULT_RECORD_SIZE 0x1000U
/* Virtual ns between two records in deterministic mode when RATE is 0 (§8). */
#define CARDLESS_DET_DEFAULT_PERIOD_NS 0x3e8ULL
/*
 * Most records the free-running engine writes between two status block
 * write-backs (§6.5).
 */
#define CARDLESS_ENGINE_BATCH 0x40U

/* §10 Error codes (ERROR_CODE, COPY_STATUS) */
/* No error. */
#define CARDLESS_ERR_NONE 0U
/* DMA to or from an IOVA range that is not (entirely) mapped. */
#define CARDLESS_ERR_DMA_UNMAPPED 1U
/* DMA write to a region mapped read-only. */
#define CARDLESS_ERR_DMA_READONLY 2U
/* DMA address + length overflows 64 bits. */
#define CARDLESS_ERR_DMA_OVERFLOW 3U
/* RING_ENTRIES is 0, above the limit, or the ring exceeds MAX_RING_BYTES. */
#define CARDLESS_ERR_BAD_RING_SIZE 4U
/* RECORD_SIZE is out of range or not a multiple of 8. */
#define CARDLESS_ERR_BAD_RECORD_SIZE 5U
/* RING_BASE or STATUS_ADDR is not 8-byte aligned. */
#define CARDLESS_ERR_BAD_ALIGNMENT 6U
/* SG_PAGES is 0, above MAX_SG_PAGES, or too small for the ring. */
#define CARDLESS_ERR_BAD_SG_COUNT 7U
/*
 * An SG page table entry is not 4 KiB aligned, or a page the ring uses is
 * not entirely mapped writable.
 */
#define CARDLESS_ERR_BAD_SG_ENTRY 8U
/*
 * CONS_IDX written with a value ahead of PROD_IDX or more than RING_ENTRIES
 * behind it.
 */
#define CARDLESS_ERR_BAD_CONS_IDX 9U
/* Copy/checksum BAR2 range out of BAR2. */
#define CARDLESS_ERR_COPY_RANGE 0xaU
/* STEP written with N > MAX_STEP. */
#define CARDLESS_ERR_BAD_STEP 0xbU
/* COPY_CTRL written with an undefined op. */
#define CARDLESS_ERR_BAD_COPY_OP 0xcU
/*
 * DMA sanitizer (§16): a DMA write, into mapped memory, outside every range
 * the driver has handed to the card (ring, status block, copy buffer), or
 * into one it took back (stop, reset, DMA_UNMAP).
 */
#define CARDLESS_ERR_DMA_STRAY 0xdU
/*
 * At enable (§6.1, §16): the ring overlaps itself (an SG page listed
 * twice), the status block or the SG page table, or the status block
 * overlaps the SG page table.
 */
#define CARDLESS_ERR_RING_OVERLAP 0xeU

/* §14 Fault injection: kinds and the debug register window */
/* Fault kind (DBG_KIND): the next `count` interrupt messages are not sent. */
#define CARDLESS_FAULT_DROP_IRQ 1U
/* Fault kind: the next `count` interrupt messages are sent twice. */
#define CARDLESS_FAULT_DUP_IRQ 2U
/*
 * Fault kind: the next `count` interrupt messages are held for ARG ns of
 * VTIME.
 */
#define CARDLESS_FAULT_DELAY_IRQ 3U
/*
 * Fault kind: one payload byte (ARG, modulo the payload length) of the next
 * `count` records is XORed with ARG2 (0 acts as 0xff) after the write.
 */
#define CARDLESS_FAULT_CORRUPT_PAYLOAD 4U
/*
 * Fault kind: header byte ARG (0..40) of the next `count` records is XORed
 * with ARG2 (0 acts as 0xff) after the write.
 */
#define CARDLESS_FAULT_CORRUPT_HEADER 5U
/*
 * Fault kind: the engine stops producing while it still reads as running;
 * ARG = ns of VTIME until it resumes by itself (0 = until FAULT_RESUME).
 */
#define CARDLESS_FAULT_STALL 6U
/* Fault kind: ends a stall. */
#define CARDLESS_FAULT_RESUME 7U
/*
 * Fault kind: the next `count` records are written at IOVA ARG instead of
 * their slot (ARG 0 = the byte right after the ring).
 */
#define CARDLESS_FAULT_STRAY_WRITE 8U
/*
 * Fault kind: surprise removal: trapped reads return all-ones, writes are
 * ignored, DMA and interrupts stop, BAR2 is filled with 0xff.
 */
#define CARDLESS_FAULT_SURPRISE_REMOVAL 9U
/*
 * Fault kind: the link goes down (reads all-ones, writes dropped, no DMA,
 * messages lost) for ARG ns of VTIME (0 = until FAULT_LINK_UP).
 */
#define CARDLESS_FAULT_LINK_DOWN 0xaU
/* Fault kind: the link comes back up. */
#define CARDLESS_FAULT_LINK_UP 0xbU
/*
 * Fault kind: the next `count` status block write-backs are lost (the posted
 * write never lands); nothing else changes.
 */
#define CARDLESS_FAULT_STATUS_LOST 0xcU
/* Largest defined fault kind. */
#define CARDLESS_FAULT_KIND_MAX 0xcU
/* Most faults scheduled at once (plan file and debug window together). */
#define CARDLESS_MAX_SCHEDULED_FAULTS 0x1000U
/*
 * VTIME cost, in deterministic mode, of one trapped access while the link is
 * down (a PCIe completion timeout), §14.3.
 */
#define CARDLESS_LINK_DOWN_ACCESS_NS 0xc350ULL
/*
 * First offset of the debug window in BAR0 (present only with `FEAT_DEBUG`;
 * otherwise these offsets are holes, §4.1).
 */
#define CARDLESS_DBG_BASE 0x800ULL
/* `DBG_ID` (RO): reads `DBG_ID_VALUE`. */
#define CARDLESS_DBG_ID 0x800
/* Value of DBG_ID ("FLT" + version 1). */
#define CARDLESS_DBG_ID_VALUE 0x464c5401U
/* `DBG_KIND` (RW, reset 0): `FAULT_*` kind of the fault to schedule. */
#define CARDLESS_DBG_KIND 0x804
/* `DBG_TRIGGER` (RW, reset 0): `DBG_TRIG_*`. */
#define CARDLESS_DBG_TRIGGER 0x808
/* DBG_TRIGGER: fire when VTIME >= DBG_WHEN (0 = at once). */
#define CARDLESS_DBG_TRIG_VTIME 0U
/*
 * DBG_TRIGGER: fire just before record number DBG_WHEN (CNT_PRODUCED,
 * 64-bit) is written.
 */
#define CARDLESS_DBG_TRIG_RECORD 1U
/*
 * `DBG_COUNT` (RW, reset 0): how many messages/records the fault hits (0
 * acts as 1).
 */
#define CARDLESS_DBG_COUNT 0x80c
/*
 * `DBG_WHEN_LO` (RW, reset 0): trigger value (VTIME ns or record number),
 * bits 31:0.
 */
#define CARDLESS_DBG_WHEN_LO 0x810
/* `DBG_WHEN_HI` (RW): bits 63:32. */
#define CARDLESS_DBG_WHEN_HI 0x814
/*
 * `DBG_ARG_LO` (RW, reset 0): kind argument (ns, byte offset or IOVA), bits
 * 31:0.
 */
#define CARDLESS_DBG_ARG_LO 0x818
/* `DBG_ARG_HI` (RW): bits 63:32. */
#define CARDLESS_DBG_ARG_HI 0x81c
/*
 * `DBG_ARG2` (RW, reset 0): XOR mask (corrupt kinds, low 8 bits) or
 * INT_STATUS cause filter (interrupt kinds, 0 = any cause).
 */
#define CARDLESS_DBG_ARG2 0x820
/* `DBG_CMD` (WO): `DBG_CMD_*`. */
#define CARDLESS_DBG_CMD 0x824
/* DBG_CMD: schedule the fault described by DBG_KIND..DBG_ARG2. */
#define CARDLESS_DBG_CMD_SCHEDULE 1U
/* DBG_CMD: cancel every scheduled fault that has not fired yet. */
#define CARDLESS_DBG_CMD_CANCEL_ALL 2U
/*
 * `DBG_CMD_STATUS` (RO, reset 0): outcome of the last DBG_CMD write,
 * `DBG_ST_*`.
 */
#define CARDLESS_DBG_CMD_STATUS 0x828
/* DBG_CMD_STATUS: accepted. */
#define CARDLESS_DBG_ST_OK 0U
/* DBG_CMD_STATUS: DBG_KIND is not a defined kind. */
#define CARDLESS_DBG_ST_BAD_KIND 1U
/* DBG_CMD_STATUS: DBG_TRIGGER is not a defined trigger. */
#define CARDLESS_DBG_ST_BAD_TRIGGER 2U
/*
 * DBG_CMD_STATUS: an argument is out of range (header byte >= 40, cause
 * filter).
 */
#define CARDLESS_DBG_ST_BAD_ARG 3U
/* DBG_CMD_STATUS: `MAX_SCHEDULED_FAULTS` are already scheduled. */
#define CARDLESS_DBG_ST_FULL 4U
/* DBG_CMD_STATUS: the DBG_CMD value is not a defined command. */
#define CARDLESS_DBG_ST_BAD_CMD 5U
/* `DBG_SCHEDULED` (RO): faults scheduled that have not fired yet. */
#define CARDLESS_DBG_SCHEDULED 0x82c
/*
 * `DBG_FIRED` (RO): faults fired since the card was created (wraps; not
 * reset).
 */
#define CARDLESS_DBG_FIRED 0x830
/* `DBG_STATE` (RO): `DBG_STATE_*` bits. */
#define CARDLESS_DBG_STATE 0x834
/* DBG_STATE: the link is down. */
#define CARDLESS_DBG_STATE_LINK_DOWN 1U
/* DBG_STATE: the card was surprise-removed. */
#define CARDLESS_DBG_STATE_REMOVED 2U
/* DBG_STATE: the engine is stalled. */
#define CARDLESS_DBG_STATE_STALLED 4U
/* DBG_STATE: interrupt messages are held by a delay fault. */
#define CARDLESS_DBG_STATE_IRQ_HELD 8U
/* One past the last debug window offset. */
#define CARDLESS_DBG_END 0x840ULL

/* ---- device/abi/src/record.rs ---- */

/* §5.1 Record header */
/* `RecordHeader::magic` value: the bytes "CREC" in memory order. */
#define CARDLESS_RECORD_MAGIC 0x43455243U
/* Size of `RecordHeader` in bytes; the payload starts right after it. */
#define CARDLESS_RECORD_HEADER_SIZE 0x28ULL
/*
 * Header flag: one or more records were dropped (ring full) just before this
 * one.
 */
#define CARDLESS_REC_FLAG_AFTER_DROP 1U
/* Byte offset of `RecordHeader::checksum`. */
#define CARDLESS_RECORD_CHECKSUM_OFFSET 0x20ULL

/* §5.2 Payload PRNG */
/* Weyl increment of the payload sequence (2^64 / golden ratio, odd). */
#define CARDLESS_PAYLOAD_WEYL 0x9e3779b97f4a7c15ULL

/* §5.4 Checksum */

/* §5.3 Status block */
/* Size of `StatusBlock` in bytes. */
#define CARDLESS_STATUS_BLOCK_SIZE 0x40ULL

/* §5.5 Scatter-gather page table */
/*
 * Size of one SG page; every table entry is the IOVA of one such page and
 * must be aligned to it.
 */
#define CARDLESS_SG_PAGE_SIZE 0x1000ULL
/* Size of one SG table entry (a little-endian u64 IOVA). */
#define CARDLESS_SG_ENTRY_SIZE 0x8ULL

/* RecordHeader: little-endian, no padding. */
struct cardless_record_header {
	/* 0x00: `RECORD_MAGIC`. */
	__le32 magic;
	/* 0x04: `RECORD_HEADER_SIZE`. */
	__le16 header_len;
	/* 0x06: `REC_FLAG_*` bits. */
	__le16 flags;
	/*
	 * 0x08: Sequence number since the engine was enabled; dropped
	 * records use one too, so a gap in `seq` shows exactly which records
	 * were lost.
	 */
	__le64 seq;
	/* 0x10: Virtual time (ns) at which the record was produced. */
	__le64 timestamp_ns;
	/*
	 * 0x18: Payload bytes after the header: RECORD_SIZE -
	 * RECORD_HEADER_SIZE.
	 */
	__le32 payload_len;
	/*
	 * 0x1c: Records dropped between the previous written record and this
	 * one (saturating).
	 */
	__le32 dropped_before;
	/* 0x20: §5.4 checksum of the whole slot with this field read as 0. */
	__le64 checksum;
};
_Static_assert(sizeof(struct cardless_record_header) == 40,
	       "struct cardless_record_header is the card's layout");

/* StatusBlock: little-endian, no padding. */
struct cardless_status_block {
	/* 0x00: PROD_IDX at the time of writing. */
	__le32 prod_idx;
	/* 0x04: STATUS register at the time of writing. */
	__le32 status;
	/*
	 * 0x08: Records written to the ring since reset (64-bit
	 * CNT_PRODUCED).
	 */
	__le64 produced;
	/* 0x10: Records dropped since reset (64-bit CNT_DROPPED). */
	__le64 dropped;
	/* 0x18: Sequence number the next record will carry. */
	__le64 next_seq;
	/* 0x20: Virtual time (ns) of the write. */
	__le64 vtime_ns;
	/* 0x28: ERROR_CODE. */
	__le32 error_code;
	/* 0x2c: INT_STATUS. */
	__le32 int_status;
	/* 0x30: ERROR_ADDR. */
	__le64 error_addr;
	/*
	 * 0x38: Number of status block writes since reset, this one
	 * included.
	 */
	__le64 generation;
};
_Static_assert(sizeof(struct cardless_status_block) == 64,
	       "struct cardless_status_block is the card's layout");

#endif /* CARDLESS_HW_H */

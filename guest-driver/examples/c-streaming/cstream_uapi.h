/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * cstream_uapi.h: what user space sees of the cstream example driver.
 *
 * One node per card, /dev/cstreamN, opened by one process at a time.
 * mmap offsets pick what is mapped:
 *   CSTREAM_MMAP_RING  the record ring (read-only, dma_mmap_coherent)
 *   CSTREAM_MMAP_BAR2  the card's on-board memory (write-combining)
 */
#ifndef CSTREAM_UAPI_H
#define CSTREAM_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define CSTREAM_MMAP_RING 0x0ULL
#define CSTREAM_MMAP_BAR2 0x10000000ULL

/* CSTREAM_IOC_INFO: the ring's shape and the stream's seed (SPEC §5.2). */
struct cstream_info {
	__u32 ring_entries;	/* record slots in the ring */
	__u32 record_size;	/* bytes per slot, header included */
	__u64 seed;		/* payload seed of the next stream */
	__u64 bar2_size;	/* bytes of on-board memory */
	__u64 bar2_phys;	/* where BAR2 is (for /sys/kernel/debug/x86/pat_memtype_list) */
};

/* CSTREAM_IOC_START: a new stream, with a fresh seed. */
struct cstream_start {
	__u32 rate;		/* records per second; 0: as fast as they are given back */
	__u32 pad;
};

/*
 * CSTREAM_IOC_WAIT: gives back every record before @consumed (the card may
 * reuse their slots), then sleeps until a record after it exists or
 * @timeout_ms passes. @produced: the card's producer index. Indices are
 * free-running u32 counts; record i is in slot i % ring_entries.
 */
struct cstream_wait {
	__u32 consumed;		/* in */
	__u32 timeout_ms;	/* in */
	__u32 produced;		/* out */
	__u32 pad;
};

/* CSTREAM_IOC_CHECKSUM: the card's copy engine checksums BAR2[off, off+len) (SPEC §11). */
struct cstream_checksum {
	__u32 offset;		/* in */
	__u32 len;		/* in */
	__u64 result;		/* out: SPEC §5.4 */
};

#define CSTREAM_IOC_INFO	_IOR('C', 1, struct cstream_info)
#define CSTREAM_IOC_START	_IOW('C', 2, struct cstream_start)
#define CSTREAM_IOC_WAIT	_IOWR('C', 3, struct cstream_wait)
#define CSTREAM_IOC_STOP	_IO('C', 4)
#define CSTREAM_IOC_CHECKSUM	_IOWR('C', 5, struct cstream_checksum)

#endif /* CSTREAM_UAPI_H */

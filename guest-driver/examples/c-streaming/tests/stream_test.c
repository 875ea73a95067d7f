// SPDX-License-Identifier: GPL-2.0
/*
 * The cstream example driver's tests, in the kernel's own kselftest harness
 * (it prints KTAP). Built static as tests/run with the module; the cardless
 * harness boots a guest with cstream.ko loaded and runs it there as root.
 *
 * Each test checks what the card really did: records are verified word by
 * word against SPEC §5.2 and §5.4, BAR2 bytes through the card's own
 * checksum engine, and caching through the kernel's PAT bookkeeping.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "cardless_hw.h"
#include "cstream_uapi.h"

#define NODE "/dev/cstream0"
#define DRIVER_DIR "/sys/bus/pci/drivers/cstream"

/* SPEC §5.2: the payload generator. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t payload_key(uint64_t seed, uint64_t seq)
{
	return mix64(seed ^ mix64(seq + CARDLESS_PAYLOAD_WEYL));
}

/* SPEC §5.4: little-endian words, word i weighted by 2i + 1, last one zero-padded. */
static uint64_t weighted_sum(const uint8_t *bytes, size_t len, uint64_t first_word)
{
	uint64_t acc = 0;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = 0;

		memcpy(&w, bytes + i, len - i < 8 ? len - i : 8);
		acc += le64toh(w) * (2 * (first_word + i / 8) + 1);
	}
	return acc;
}

static uint64_t checksum_finish(uint64_t sum, uint64_t len)
{
	return mix64(sum ^ (len * CARDLESS_PAYLOAD_WEYL));
}

static uint64_t checksum(const uint8_t *bytes, size_t len)
{
	return checksum_finish(weighted_sum(bytes, len, 0), len);
}

/*
 * SPEC §5.1: one ring slot is a record with sequence number @seq of the
 * stream seeded @seed. Says what is wrong in @why.
 */
static int check_record(const uint8_t *slot, uint32_t size, uint64_t seed, uint64_t seq,
			char *why, size_t why_len)
{
	struct cardless_record_header h;
	uint32_t payload = size - CARDLESS_RECORD_HEADER_SIZE;
	uint64_t key, sum;

	memcpy(&h, slot, sizeof(h));
	if (le32toh(h.magic) != CARDLESS_RECORD_MAGIC || le16toh(h.header_len) != sizeof(h))
		return snprintf(why, why_len, "magic %#x, header_len %u", le32toh(h.magic),
				le16toh(h.header_len)), -1;
	if (le64toh(h.seq) != seq)
		return snprintf(why, why_len, "seq %llu, expected %llu",
				(unsigned long long)le64toh(h.seq), (unsigned long long)seq), -1;
	if (le32toh(h.payload_len) != payload)
		return snprintf(why, why_len, "payload_len %u", le32toh(h.payload_len)), -1;
	/* The checksum covers the whole slot with its own field read as 0. */
	h.checksum = 0;
	sum = weighted_sum((const uint8_t *)&h, sizeof(h), 0) +
	      weighted_sum(slot + sizeof(h), payload, sizeof(h) / 8);
	if (checksum_finish(sum, size) != le64toh(((const struct cardless_record_header *)slot)->checksum))
		return snprintf(why, why_len, "bad checksum"), -1;
	key = payload_key(seed, seq);
	for (uint32_t j = 0; j < payload / 8; j++) {
		uint64_t w;

		memcpy(&w, slot + sizeof(h) + 8 * j, 8);
		if (le64toh(w) != key + j * CARDLESS_PAYLOAD_WEYL)
			return snprintf(why, why_len, "payload word %u", j), -1;
	}
	return 0;
}

static int start(int fd, uint32_t rate)
{
	struct cstream_start s = { .rate = rate };

	return ioctl(fd, CSTREAM_IOC_START, &s);
}

/* Gives back every record before @consumed, waits for more; -1 and errno on error. */
static int wait_records(int fd, uint32_t consumed, uint32_t *produced)
{
	struct cstream_wait w = { .consumed = consumed, .timeout_ms = 10000 };

	if (ioctl(fd, CSTREAM_IOC_WAIT, &w))
		return -1;
	*produced = w.produced;
	return 0;
}

/* SPEC §5.7's worked values: the C arithmetic above agrees with the document. */
TEST(spec_worked_examples)
{
	const uint8_t bytes[11] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };

	EXPECT_EQ(0x5692161d100b05e5ULL, mix64(1));
	EXPECT_EQ(0xe32dd5e67f3c0f09ULL, payload_key(0x0123456789abcdefULL, 0));
	EXPECT_EQ(0x080706050424201cULL, weighted_sum(bytes, sizeof(bytes), 0));
	EXPECT_EQ(0x5f9f44ba5e072d7aULL, checksum(bytes, sizeof(bytes)));
}

/* Reads a sysfs number such as "0xca7d"; 0 if it cannot. */
static unsigned long sysfs_number(const char *dir, const char *file)
{
	char path[PATH_MAX], text[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(text, sizeof(text), f))
			text[0] = 0;
		fclose(f);
	}
	return strtoul(text, NULL, 0);
}

/* The driver bound every card: one node per cardless PCI function. */
TEST(every_card_has_a_node)
{
	char path[PATH_MAX];
	int cards = 0, nodes = 0;
	glob_t g;

	ASSERT_EQ(0, glob("/sys/bus/pci/devices/*", 0, NULL, &g));
	for (size_t i = 0; i < g.gl_pathc; i++)
		cards += sysfs_number(g.gl_pathv[i], "vendor") == CARDLESS_PCI_VENDOR_ID &&
			 sysfs_number(g.gl_pathv[i], "device") == CARDLESS_PCI_DEVICE_ID;
	globfree(&g);
	for (int i = 0; i < 16; i++) {
		snprintf(path, sizeof(path), "/dev/cstream%d", i);
		nodes += access(path, F_OK) == 0;
	}
	ASSERT_LT(0, cards) TH_LOG("no cardless card in /sys/bus/pci/devices");
	EXPECT_EQ(cards, nodes);
}

FIXTURE(card) {
	int fd;
	struct cstream_info info;
	const uint8_t *ring;
	size_t ring_len;
};

FIXTURE_SETUP(card)
{
	self->fd = open(NODE, O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", NODE, strerror(errno));
	ASSERT_EQ(0, ioctl(self->fd, CSTREAM_IOC_INFO, &self->info));
	self->ring_len = (size_t)self->info.ring_entries * self->info.record_size;
	self->ring = mmap(NULL, self->ring_len, PROT_READ, MAP_SHARED, self->fd, CSTREAM_MMAP_RING);
	ASSERT_NE(MAP_FAILED, self->ring) TH_LOG("mmap of the ring: %s", strerror(errno));
}

FIXTURE_TEARDOWN(card)
{
	munmap((void *)self->ring, self->ring_len);
	close(self->fd);
}

/* Streams four times round the ring, every record verified where the card wrote it. */
TEST_F(card, streams_verified_records)
{
	uint32_t entries = self->info.ring_entries, size = self->info.record_size;
	uint32_t cons = 0, prod;
	char why[128];

	ASSERT_EQ(0, start(self->fd, 0));
	ASSERT_EQ(0, ioctl(self->fd, CSTREAM_IOC_INFO, &self->info));
	while (cons < 4 * entries) {
		ASSERT_EQ(0, wait_records(self->fd, cons, &prod))
			TH_LOG("WAIT after %u records: %s", cons, strerror(errno));
		ASSERT_GE(entries, prod - cons);
		for (; cons != prod; cons++)
			ASSERT_EQ(0, check_record(self->ring + (cons % entries) * size, size,
						  self->info.seed, cons, why, sizeof(why)))
				TH_LOG("record %u: %s", cons, why);
	}
	ASSERT_EQ(0, ioctl(self->fd, CSTREAM_IOC_STOP));
}

/* The ring is the card's to write: no writable mapping, now or by mprotect. */
TEST_F(card, ring_is_read_only)
{
	void *rw = mmap(NULL, self->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
			CSTREAM_MMAP_RING);

	EXPECT_EQ(MAP_FAILED, rw);
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, mprotect((void *)self->ring, self->ring_len, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
}

TEST_F(card, one_opener_at_a_time)
{
	EXPECT_EQ(-1, open(NODE, O_RDWR));
	EXPECT_EQ(EBUSY, errno);
}

/* A stopped stream stays stopped; the next one starts at seq 0 with a new seed. */
TEST_F(card, stop_then_start_again)
{
	uint32_t size = self->info.record_size, prod;
	char why[128];

	for (int round = 0; round < 2; round++) {
		ASSERT_EQ(0, start(self->fd, 0));
		ASSERT_EQ(0, ioctl(self->fd, CSTREAM_IOC_INFO, &self->info));
		ASSERT_EQ(0, wait_records(self->fd, 0, &prod)) TH_LOG("%s", strerror(errno));
		ASSERT_EQ(0, check_record(self->ring, size, self->info.seed, 0, why, sizeof(why)))
			TH_LOG("round %d, record 0: %s", round, why);
		ASSERT_EQ(0, ioctl(self->fd, CSTREAM_IOC_STOP));
		EXPECT_EQ(-1, wait_records(self->fd, 0, &prod));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(-1, ioctl(self->fd, CSTREAM_IOC_STOP));
	}
}

/* Bytes written through the write-combining mapping reach the card's memory. */
TEST_F(card, bar2_is_mapped_write_combining)
{
	size_t len = 64 * 1024;
	struct cstream_checksum sum = { .offset = 0, .len = len };
	char want[64], line[256];
	uint64_t *bar2;
	int found = 0;

	ASSERT_LE(len, self->info.bar2_size);
	bar2 = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, CSTREAM_MMAP_BAR2);
	ASSERT_NE(MAP_FAILED, bar2) TH_LOG("mmap of BAR2: %s", strerror(errno));
	for (size_t i = 0; i < len / 8; i++)
		bar2[i] = htole64(i * CARDLESS_PAYLOAD_WEYL);
	__builtin_ia32_sfence();	/* write-combined stores are not ordered otherwise */
	ASSERT_EQ(0, ioctl(self->fd, CSTREAM_IOC_CHECKSUM, &sum)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(checksum((const uint8_t *)bar2, len), sum.result);

	/*
	 * The caching mode is invisible in the data; the kernel's PAT list
	 * shows it, for as long as the mapping exists.
	 */
	FILE *pat = fopen("/sys/kernel/debug/x86/pat_memtype_list", "r");

	if (!pat)
		SKIP(return, "no /sys/kernel/debug/x86/pat_memtype_list (debugfs, x86 PAT)");
	snprintf(want, sizeof(want), "[mem 0x%016llx-", (unsigned long long)self->info.bar2_phys);
	while (fgets(line, sizeof(line), pat))
		found |= strstr(line, want) && strstr(line, "write-combining");
	fclose(pat);
	munmap(bar2, len);
	EXPECT_TRUE(found) TH_LOG("no write-combining entry starting %s", want);
}

/* Writes @value to a sysfs file; 0 or an errno. */
static int sysfs_write(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return errno;
	if (write(fd, value, strlen(value)) < 0)
		ret = errno;
	close(fd);
	return ret;
}

/*
 * Remove done right: unbinding the driver while a stream runs and the ring
 * is mapped stops the card before its memory goes, the mapping then gets
 * SIGBUS instead of freed memory, the open file ENODEV; binding again gives
 * a working card. Its own fixture, declared last, so it runs last (it
 * takes the card away for a moment).
 */
FIXTURE(removal) {
	int unused;
};

FIXTURE_SETUP(removal)
{
}

FIXTURE_TEARDOWN(removal)
{
}

TEST_F(removal, unbind_while_streaming_and_mapped)
{
	char link[PATH_MAX], *pci;
	struct cstream_info info;
	uint32_t prod;
	const uint8_t *ring;
	size_t len;
	int fd, status;
	pid_t child;
	ssize_t n;

	n = readlink("/sys/class/misc/cstream0/device", link, sizeof(link) - 1);
	ASSERT_LT(0, n) TH_LOG("/sys/class/misc/cstream0/device: %s", strerror(errno));
	link[n] = 0;
	pci = basename(link);

	fd = open(NODE, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, CSTREAM_IOC_INFO, &info));
	len = (size_t)info.ring_entries * info.record_size;
	ring = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, CSTREAM_MMAP_RING);
	ASSERT_NE(MAP_FAILED, ring);
	/* A fixed rate keeps the card writing (dropping when full) until it is stopped. */
	ASSERT_EQ(0, start(fd, 20000));
	ASSERT_EQ(0, wait_records(fd, 0, &prod)) TH_LOG("%s", strerror(errno));

	ASSERT_EQ(0, sysfs_write(DRIVER_DIR "/unbind", pci)) TH_LOG("unbind %s", pci);
	EXPECT_EQ(-1, wait_records(fd, 0, &prod));
	EXPECT_EQ(ENODEV, errno);
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0)
		_exit(ring[0]);	/* must not read freed memory */
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS)
		TH_LOG("reading the ring after unbind: status %#x, expected SIGBUS", status);
	munmap((void *)ring, len);
	close(fd);

	ASSERT_EQ(0, sysfs_write(DRIVER_DIR "/bind", pci)) TH_LOG("bind %s", pci);
	fd = open(NODE, O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("%s after bind: %s", NODE, strerror(errno));
	ASSERT_EQ(0, start(fd, 0));
	EXPECT_EQ(0, wait_records(fd, 0, &prod));
	EXPECT_EQ(0, ioctl(fd, CSTREAM_IOC_STOP));
	close(fd);
}

TEST_HARNESS_MAIN

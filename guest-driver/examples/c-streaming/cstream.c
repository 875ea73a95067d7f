// SPDX-License-Identifier: GPL-2.0
/*
 * cstream: a small C driver for the cardless streaming card, written to be
 * read. It follows the bring-up recipe at the top of device/SPEC.md:
 *
 *   probe    enable, 64-bit DMA mask, BAR0 mapped, card reset, one ring and
 *            one status block of coherent DMA memory, one interrupt vector
 *   mmap     the ring read-only (dma_mmap_coherent), BAR2 write-combining
 *   ioctl    START a stream, WAIT for records and give them back, STOP
 *   remove   stop the card, quiesce its interrupt, take the mappings away,
 *            and only then let the DMA memory go
 *
 * User space: cstream_uapi.h. The card's registers and formats:
 * cardless_hw.h, generated from the project's ABI (never edit it by hand).
 * tests/stream_test.c drives every path; `make qemu-test M=<this dir>` runs it.
 */
#include <linux/dma-mapping.h>
#include <linux/idr.h>
#include <linux/interrupt.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/random.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "cardless_hw.h"
#include "cstream_uapi.h"

#define RING_ENTRIES 64
#define RECORD_SIZE 4096
#define RING_BYTES (RING_ENTRIES * RECORD_SIZE)
/* The causes this driver handles; COPY_DONE it does not need (SPEC §7.1). */
#define IRQ_CAUSES (CARDLESS_INT_DATA_READY | CARDLESS_INT_ERROR | CARDLESS_INT_OVERFLOW)

static DEFINE_IDA(cstream_ida);

struct cstream {
	/* Held by the PCI device (until its resources are gone) and the open file. */
	struct kref ref;
	/* Guards everything below it; mmap takes it with mmap_lock held. */
	struct mutex lock;
	bool dead;		/* removed: nothing but this struct is left */
	bool open;		/* one opener at a time owns the stream */
	bool streaming;
	u32 cons;		/* records given back to the card (CONS_IDX) */
	u64 seed;
	struct address_space *mapping;	/* the opener's, zapped at remove */

	/* Written by the interrupt handler, read by WAIT. */
	wait_queue_head_t wait;
	u32 produced;
	bool error;

	struct pci_dev *pdev;
	void __iomem *regs;		/* BAR0, uncached */
	void *ring;			/* RING_BYTES, written by the card */
	dma_addr_t ring_dma;
	struct cardless_status_block *sb;	/* written by the card */
	dma_addr_t sb_dma;
	int irq;
	int id;
	char name[16];
	struct miscdevice misc;
};

static u32 rd(struct cstream *cs, u32 reg)
{
	return ioread32(cs->regs + reg);
}

static void wr(struct cstream *cs, u32 reg, u32 val)
{
	iowrite32(val, cs->regs + reg);
}

static void cs_free(struct kref *ref)
{
	kfree(container_of(ref, struct cstream, ref));
}

/*
 * One handler for every cause (MSI or INTx, SPEC §7.2): acknowledge what is
 * latched, then read the status block, which the card wrote before it
 * raised the interrupt (§5.3).
 */
static irqreturn_t cs_irq(int irq, void *data)
{
	struct cstream *cs = data;
	u32 causes = rd(cs, CARDLESS_INT_STATUS);

	if (!causes || causes == ~0U)	/* a shared INTx line, or the card is gone */
		return IRQ_NONE;
	wr(cs, CARDLESS_INT_STATUS, causes);
	WRITE_ONCE(cs->produced, le32_to_cpu(READ_ONCE(cs->sb->prod_idx)));
	if (READ_ONCE(cs->sb->error_code))
		WRITE_ONCE(cs->error, true);
	wake_up(&cs->wait);
	return IRQ_HANDLED;
}

/*
 * SPEC §6.7: CONTROL = 0 stops the engine in every state (running, stopped
 * by an error, overflow-stopped) and ends status block writes. The STATUS
 * read flushes the posted write: when it returns the card does no more DMA.
 * A message it sent during the stop may still be on its way, hence
 * synchronize_irq() before anyone frees what the handler reads.
 */
static int cs_stop_card(struct cstream *cs)
{
	u32 status;

	wr(cs, CARDLESS_CONTROL, 0);
	status = rd(cs, CARDLESS_STATUS);
	synchronize_irq(cs->irq);
	WRITE_ONCE(cs->streaming, false);
	wake_up_all(&cs->wait);
	if (status == ~0U)
		return -ENODEV;
	if (status & (CARDLESS_STS_RUNNING | CARDLESS_STS_OVERFLOW_STOPPED)) {
		dev_err(&cs->pdev->dev, "engine still running after stop (STATUS %#x)\n", status);
		return -EIO;
	}
	return 0;
}

/* SPEC §6.1: program the ring, enable, and read back whether it took. */
static int cs_start(struct cstream *cs, u32 rate)
{
	u32 status;

	if (cs->streaming)
		return -EBUSY;
	cs->seed = get_random_u64();
	cs->cons = 0;
	WRITE_ONCE(cs->produced, 0);
	WRITE_ONCE(cs->error, false);
	wr(cs, CARDLESS_ERROR_CODE, 0);	/* an old error would refuse the enable */
	wr(cs, CARDLESS_RING_BASE_LO, lower_32_bits(cs->ring_dma));
	wr(cs, CARDLESS_RING_BASE_HI, upper_32_bits(cs->ring_dma));
	wr(cs, CARDLESS_RING_ENTRIES, RING_ENTRIES);
	wr(cs, CARDLESS_RECORD_SIZE, RECORD_SIZE);
	wr(cs, CARDLESS_STATUS_ADDR_LO, lower_32_bits(cs->sb_dma));
	wr(cs, CARDLESS_STATUS_ADDR_HI, upper_32_bits(cs->sb_dma));
	wr(cs, CARDLESS_SEED_LO, lower_32_bits(cs->seed));
	wr(cs, CARDLESS_SEED_HI, upper_32_bits(cs->seed));
	wr(cs, CARDLESS_RATE, rate);	/* 0: as fast as records are given back */
	wr(cs, CARDLESS_CONTROL, CARDLESS_CTRL_ENABLE | CARDLESS_CTRL_STATUS_WB);
	status = rd(cs, CARDLESS_STATUS);	/* validation is done when this returns */
	if (!(status & CARDLESS_STS_RUNNING)) {
		dev_err(&cs->pdev->dev, "enable refused: ERROR_CODE %u, ERROR_ADDR %#x%08x\n",
			rd(cs, CARDLESS_ERROR_CODE), rd(cs, CARDLESS_ERROR_ADDR_HI),
			rd(cs, CARDLESS_ERROR_ADDR_LO));
		return -EIO;
	}
	cs->streaming = true;
	return 0;
}

/*
 * Records after @consumed exist. cs->produced is only ever written by the
 * handler, from the status block, so it may lag the card (a message still
 * on its way) but the next interrupt brings it up to date; a value outside
 * (consumed, consumed + RING_ENTRIES] is such a lagging one.
 */
static bool cs_wait_over(struct cstream *cs, u32 consumed)
{
	return READ_ONCE(cs->produced) - consumed - 1 < RING_ENTRIES || READ_ONCE(cs->error) ||
	       READ_ONCE(cs->dead) || !READ_ONCE(cs->streaming);
}

static long cs_wait(struct cstream *cs, struct cstream_wait *w)
{
	long left;
	u32 prod;

	mutex_lock(&cs->lock);
	if (cs->dead || !cs->streaming) {
		mutex_unlock(&cs->lock);
		return cs->dead ? -ENODEV : -EINVAL;
	}
	/* SPEC §6.3: give back only records the card wrote and we had not given back. */
	prod = le32_to_cpu(READ_ONCE(cs->sb->prod_idx));
	if (w->consumed - cs->cons > prod - cs->cons) {
		mutex_unlock(&cs->lock);
		return -EINVAL;
	}
	cs->cons = w->consumed;
	wr(cs, CARDLESS_CONS_IDX, w->consumed);
	mutex_unlock(&cs->lock);

	left = wait_event_interruptible_timeout(cs->wait, cs_wait_over(cs, w->consumed),
						msecs_to_jiffies(w->timeout_ms));
	if (left < 0)
		return left;
	if (READ_ONCE(cs->dead))
		return -ENODEV;
	if (READ_ONCE(cs->error))
		return -EIO;
	w->produced = READ_ONCE(cs->produced);
	return cs_wait_over(cs, w->consumed) ? 0 : -ETIMEDOUT;
}

static long cs_checksum(struct cstream *cs, struct cstream_checksum *c)
{
	u64 bar2_len = pci_resource_len(cs->pdev, CARDLESS_BAR_MEM);
	long ret = 0;

	if (c->len > bar2_len || c->offset > bar2_len - c->len)
		return -EINVAL;
	mutex_lock(&cs->lock);
	if (cs->dead) {
		mutex_unlock(&cs->lock);
		return -ENODEV;
	}
	wr(cs, CARDLESS_COPY_BAR_OFF, c->offset);
	wr(cs, CARDLESS_COPY_LEN, c->len);
	wr(cs, CARDLESS_COPY_CTRL, CARDLESS_COPY_OP_CHECKSUM);
	/* The copy engine is synchronous (SPEC §11): the read sees the result. */
	if (rd(cs, CARDLESS_COPY_STATUS))
		ret = -EIO;
	c->result = rd(cs, CARDLESS_COPY_RESULT_LO) |
		    (u64)rd(cs, CARDLESS_COPY_RESULT_HI) << 32;
	mutex_unlock(&cs->lock);
	return ret;
}

static long cs_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct cstream *cs = file->private_data;
	void __user *uarg = (void __user *)arg;
	union {
		struct cstream_info info;
		struct cstream_start start;
		struct cstream_wait wait;
		struct cstream_checksum sum;
	} u;
	long ret;

	if (_IOC_TYPE(cmd) != 'C' || _IOC_SIZE(cmd) > sizeof(u))
		return -ENOTTY;
	if (_IOC_DIR(cmd) & _IOC_WRITE && copy_from_user(&u, uarg, _IOC_SIZE(cmd)))
		return -EFAULT;
	switch (cmd) {
	case CSTREAM_IOC_INFO:
		memset(&u.info, 0, sizeof(u.info));
		mutex_lock(&cs->lock);
		u.info.ring_entries = RING_ENTRIES;
		u.info.record_size = RECORD_SIZE;
		u.info.seed = cs->seed;
		u.info.bar2_size = pci_resource_len(cs->pdev, CARDLESS_BAR_MEM);
		u.info.bar2_phys = pci_resource_start(cs->pdev, CARDLESS_BAR_MEM);
		ret = cs->dead ? -ENODEV : 0;
		mutex_unlock(&cs->lock);
		break;
	case CSTREAM_IOC_START:
		mutex_lock(&cs->lock);
		ret = cs->dead ? -ENODEV : cs_start(cs, u.start.rate);
		mutex_unlock(&cs->lock);
		break;
	case CSTREAM_IOC_WAIT:
		ret = cs_wait(cs, &u.wait);
		break;
	case CSTREAM_IOC_STOP:
		mutex_lock(&cs->lock);
		ret = cs->dead ? -ENODEV : cs->streaming ? cs_stop_card(cs) : -EINVAL;
		mutex_unlock(&cs->lock);
		break;
	case CSTREAM_IOC_CHECKSUM:
		ret = cs_checksum(cs, &u.sum);
		break;
	default:
		return -ENOTTY;
	}
	/*
	 * Outside cs->lock: copy_to_user can fault and take mmap_lock, and mmap
	 * takes cs->lock under mmap_lock (an ABBA deadlock lockdep reports).
	 */
	if (ret == 0 && _IOC_DIR(cmd) & _IOC_READ && copy_to_user(uarg, &u, _IOC_SIZE(cmd)))
		return -EFAULT;
	return ret;
}

static int cs_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct cstream *cs = file->private_data;
	unsigned long len = vma->vm_end - vma->vm_start;
	u64 offset = (u64)vma->vm_pgoff << PAGE_SHIFT;
	struct pci_dev *pdev = cs->pdev;
	int ret = -EINVAL;

	mutex_lock(&cs->lock);
	if (cs->dead) {
		ret = -ENODEV;
	} else if (offset == CSTREAM_MMAP_RING) {
		/* The records are the card's to write: no write access, not even by mprotect. */
		if (vma->vm_flags & VM_WRITE) {
			ret = -EPERM;
			goto out;
		}
		vm_flags_clear(vma, VM_MAYWRITE);
		/* dma_mmap_coherent reads vm_pgoff as an offset into the buffer. */
		vma->vm_pgoff = 0;
		if (len <= PAGE_ALIGN(RING_BYTES))
			ret = dma_mmap_coherent(&pdev->dev, vma, cs->ring, cs->ring_dma, RING_BYTES);
	} else if (offset == CSTREAM_MMAP_BAR2 && (vma->vm_flags & VM_SHARED)) {
		/* On-board memory: write-combining, so stores stream out in bursts. */
		vma->vm_page_prot = pgprot_writecombine(vma->vm_page_prot);
		vma->vm_pgoff = 0;
		ret = vm_iomap_memory(vma, pci_resource_start(pdev, CARDLESS_BAR_MEM),
				      pci_resource_len(pdev, CARDLESS_BAR_MEM));
	}
out:
	mutex_unlock(&cs->lock);
	return ret;
}

static int cs_open(struct inode *inode, struct file *file)
{
	struct cstream *cs = container_of(file->private_data, struct cstream, misc);
	int ret = 0;

	mutex_lock(&cs->lock);
	if (cs->open) {
		ret = -EBUSY;
	} else {
		cs->open = true;
		cs->mapping = file->f_mapping;
		kref_get(&cs->ref);
		file->private_data = cs;
	}
	mutex_unlock(&cs->lock);
	return ret;
}

/* The last close (and munmap): a stream nobody can wait for is stopped. */
static int cs_release(struct inode *inode, struct file *file)
{
	struct cstream *cs = file->private_data;

	mutex_lock(&cs->lock);
	if (!cs->dead && cs->streaming)
		cs_stop_card(cs);
	cs->open = false;
	mutex_unlock(&cs->lock);
	kref_put(&cs->ref, cs_free);
	return 0;
}

static const struct file_operations cs_fops = {
	.owner = THIS_MODULE,
	.open = cs_open,
	.release = cs_release,
	.unlocked_ioctl = cs_ioctl,
	.mmap = cs_mmap,
};

/* Runs last when the device goes: everything devres freed is gone by then. */
static void cs_put_device_ref(void *data)
{
	struct cstream *cs = data;

	ida_free(&cstream_ida, cs->id);
	kref_put(&cs->ref, cs_free);
}

static int cs_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct cstream *cs;
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	pci_set_master(pdev);
	/* SPEC §5: every address the card takes is a 64-bit IOVA. */
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;

	cs = kzalloc(sizeof(*cs), GFP_KERNEL);
	if (!cs)
		return -ENOMEM;
	kref_init(&cs->ref);
	mutex_init(&cs->lock);
	init_waitqueue_head(&cs->wait);
	cs->pdev = pdev;
	cs->id = ida_alloc(&cstream_ida, GFP_KERNEL);
	if (cs->id < 0) {
		ret = cs->id;
		kfree(cs);
		return ret;
	}
	/* Registered first, so devres runs it after freeing everything below. */
	ret = devm_add_action_or_reset(dev, cs_put_device_ref, cs);
	if (ret)
		return ret;

	cs->regs = pcim_iomap_region(pdev, CARDLESS_BAR_REGS, "cstream");
	if (IS_ERR(cs->regs))
		return PTR_ERR(cs->regs);
	/* BAR2 is mapped only into user space, but it is ours all the same. */
	ret = pcim_request_region(pdev, CARDLESS_BAR_MEM, "cstream");
	if (ret)
		return ret;
	if (rd(cs, CARDLESS_ID) != CARDLESS_ID_VALUE)
		return dev_err_probe(dev, -ENODEV, "ID reads %#x, not a cardless card\n",
				     rd(cs, CARDLESS_ID));
	wr(cs, CARDLESS_CONTROL, CARDLESS_CTRL_RESET);	/* SPEC §9: a known state */

	cs->ring = dmam_alloc_coherent(dev, RING_BYTES, &cs->ring_dma, GFP_KERNEL);
	cs->sb = dmam_alloc_coherent(dev, sizeof(*cs->sb), &cs->sb_dma, GFP_KERNEL);
	if (!cs->ring || !cs->sb)
		return -ENOMEM;

	/* One vector for every cause: never 1 to 3 MSI-X vectors (SPEC §7.2). */
	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSI | PCI_IRQ_INTX);
	if (ret < 0)
		return ret;
	cs->irq = pci_irq_vector(pdev, 0);
	ret = devm_request_irq(dev, cs->irq, cs_irq, IRQF_SHARED, "cstream", cs);
	if (ret)
		return ret;
	wr(cs, CARDLESS_INT_MASK, IRQ_CAUSES);

	snprintf(cs->name, sizeof(cs->name), "cstream%d", cs->id);
	cs->misc = (struct miscdevice) {
		.minor = MISC_DYNAMIC_MINOR,
		.name = cs->name,
		.fops = &cs_fops,
		.parent = dev,
		.mode = 0600,
	};
	pci_set_drvdata(pdev, cs);
	ret = misc_register(&cs->misc);
	if (ret)
		return ret;
	dev_info(dev, "/dev/%s: card version %#x, %s interrupt\n", cs->name,
		 rd(cs, CARDLESS_VERSION), pdev->msi_enabled ? "MSI" : "INTx");
	return 0;
}

static void cs_remove(struct pci_dev *pdev)
{
	struct cstream *cs = pci_get_drvdata(pdev);

	misc_deregister(&cs->misc);	/* no new opens */
	mutex_lock(&cs->lock);
	cs->dead = true;		/* ioctl and mmap answer ENODEV from now on */
	if (cs->streaming)
		cs_stop_card(cs);	/* before the ring goes: the card writes into it */
	wr(cs, CARDLESS_INT_MASK, 0);
	wr(cs, CARDLESS_CONTROL, CARDLESS_CTRL_RESET);
	rd(cs, CARDLESS_STATUS);
	/* The pages go with devres below: later touches of a mapping get SIGBUS. */
	if (cs->open)
		unmap_mapping_range(cs->mapping, 0, 0, 1);
	mutex_unlock(&cs->lock);
	wake_up_all(&cs->wait);
	/* devres now frees the vector, the DMA memory and BAR0, then our reference. */
}

static const struct pci_device_id cs_ids[] = {
	{ PCI_DEVICE(CARDLESS_PCI_VENDOR_ID, CARDLESS_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, cs_ids);

static struct pci_driver cs_driver = {
	.name = "cstream",
	.id_table = cs_ids,
	.probe = cs_probe,
	.remove = cs_remove,
};
module_pci_driver(cs_driver);

MODULE_DESCRIPTION("cardless streaming card: a teaching driver in C");
MODULE_LICENSE("GPL");

// SPDX-License-Identifier: GPL-2.0
/*
 * One-line wrappers for static inlines and macros Rust cannot call directly
 * (the kernel's own rust/helpers/ pattern). No logic here.
 */
#include <linux/mm.h>
#include <linux/pgtable.h>
#include <linux/pci.h>
#include <linux/vmalloc.h>
#include <linux/dma-mapping.h>

#include "helpers.h"

pgprot_t cardless_pgprot_noncached(pgprot_t prot)
{
	return pgprot_noncached(prot);
}

int cardless_io_remap_pfn_range(struct vm_area_struct *vma, unsigned long addr,
				unsigned long pfn, unsigned long size, pgprot_t prot)
{
	return io_remap_pfn_range(vma, addr, pfn, size, prot);
}

int cardless_pci_domain_nr(struct pci_bus *bus)
{
	return pci_domain_nr(bus);
}

void cardless_get_page(struct page *page)
{
	get_page(page);
}

void *cardless_vmalloc_user(unsigned long size)
{
	return vmalloc_user(size);
}

int cardless_dma_mapping_error(struct device *dev, dma_addr_t addr)
{
	return dma_mapping_error(dev, addr);
}

void cardless_dma_set_seg_boundary(struct device *dev, unsigned long mask)
{
	dma_set_seg_boundary(dev, mask);
}

#ifdef CARDLESS_ZOO
/* The bug zoo's wrong ways (test build only). */
int cardless_pfn_valid(unsigned long pfn)
{
	return pfn_valid(pfn);
}

unsigned long cardless_get_free_pages(gfp_t gfp, unsigned int order)
{
	return __get_free_pages(gfp, order);
}

struct page *cardless_virt_to_page(const void *addr)
{
	return virt_to_page(addr);
}

phys_addr_t cardless_virt_to_phys(const void *addr)
{
	return virt_to_phys((void *)addr);
}
#endif

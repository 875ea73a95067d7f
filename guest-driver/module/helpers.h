/* SPDX-License-Identifier: GPL-2.0 */
/* Declarations of helpers.c (the Rust side declares them in ffi/c_helpers.rs). */
#ifndef CARDLESS_HELPERS_H
#define CARDLESS_HELPERS_H

#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/dma-mapping.h>

pgprot_t cardless_pgprot_noncached(pgprot_t prot);
int cardless_io_remap_pfn_range(struct vm_area_struct *vma, unsigned long addr,
				unsigned long pfn, unsigned long size, pgprot_t prot);
int cardless_pci_domain_nr(struct pci_bus *bus);
void cardless_get_page(struct page *page);
void *cardless_vmalloc_user(unsigned long size);
int cardless_dma_mapping_error(struct device *dev, dma_addr_t addr);
void cardless_dma_set_seg_boundary(struct device *dev, unsigned long mask);
#ifdef CARDLESS_ZOO
int cardless_pfn_valid(unsigned long pfn);
unsigned long cardless_get_free_pages(gfp_t gfp, unsigned int order);
struct page *cardless_virt_to_page(const void *addr);
phys_addr_t cardless_virt_to_phys(const void *addr);
#endif

#endif

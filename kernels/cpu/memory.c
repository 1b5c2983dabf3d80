/*
 * memory.c - the CPU backend's allocations of tensors, weight copies and oneDNN scratch.
 * Buffers are 64-byte aligned (an AVX-512 vector). Buffers of HUGE_MIN bytes or more - the
 * model's activation arena, large weights and scratch - are 2 MiB aligned and marked
 * MADV_HUGEPAGE, so that the kernel backs them with transparent huge pages where it allows
 * them only on request (THP "madvise", as on this project's machines): a first touch of
 * HRNet-W32's 2.7 GB arena at batch 64 took 690,000 page faults and 4.6 s of system time
 * with 4 KiB pages, and the convolutions' walks over activations miss the TLB less.
 * The hint changes no result; where huge pages are off it does nothing.
 */
#include "cpu.h"
#include "../fail.h"

#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_MIN ((size_t)4 << 20)

void *drop_cpu_alloc(size_t bytes)
{
	size_t align = bytes >= HUGE_MIN ? HUGE_PAGE : 64;
	void *p = NULL;
	if (posix_memalign(&p, align, bytes ? bytes : 64))
		drop_oom(bytes);
	if (align == HUGE_PAGE)
		(void)madvise(p, bytes / HUGE_PAGE * HUGE_PAGE, MADV_HUGEPAGE);
	return p;
}

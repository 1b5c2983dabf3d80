/*
 * strict.h - the checked CPU backend's private header (kernels/strict/): its device memory
 * (memory.c) and the checks every wrapped op makes (ops.c). Private to kernels/strict/;
 * the registry reaches the backend through drop_backend_strict_get (kernels/backends.h),
 * lib/ and cmd/ only through drop_backend_get("cpu-strict").
 *
 * An op call is a "use": drop_strict_begin names the op; one drop_strict_dev per pointer
 * argument checks that [p, p + bytes) lies in one live allocation and records those pages;
 * drop_strict_host checks that a result the op writes on the host side is not device
 * memory. drop_strict_open makes the recorded pages readable and writable for the call
 * (one call at a time), drop_strict_close makes them PROT_NONE again. A failed check
 * prints "PROG: cpu-strict: OP: ARG 0x... what is wrong" on stderr and aborts (SIGABRT),
 * as DROP_BUG does.
 * Not here: the table and the wrappers (ops.c), what each op computes (ops.h).
 */
#ifndef DROP_STRICT_PRIV_H
#define DROP_STRICT_PRIV_H

#include "../ops.h"

#include <stddef.h>

/* The most page ranges one op call opens (a concat of up to 60 parts). */
#define DROP_STRICT_MAX_RANGES 64

struct drop_strict_use {
	const char *op;
	int n;
	char *lo[DROP_STRICT_MAX_RANGES], *hi[DROP_STRICT_MAX_RANGES]; /* whole pages */
};

/* Set up the page size and the SIGSEGV handler (once, from the table's first use). */
void drop_strict_memory_init(void);

/* The table's memory members. */
void *drop_strict_alloc(size_t bytes);
void drop_strict_free(void *p);
void drop_strict_to_device(void *dst, const void *src, size_t bytes);
void drop_strict_to_host(void *dst, const void *src, size_t bytes);

void drop_strict_begin(struct drop_strict_use *u, const char *op);
/* p (never NULL) and the `bytes` after it must lie in one live allocation. */
void drop_strict_dev(struct drop_strict_use *u, const char *arg, const void *p,
                     size_t bytes);
/* drop_strict_dev where p is not NULL (an argument the op may be given as NULL). */
void drop_strict_dev_opt(struct drop_strict_use *u, const char *arg, const void *p,
                         size_t bytes);
/* p, where not NULL, must not be device memory (a result the op writes on the host). */
void drop_strict_host(struct drop_strict_use *u, const char *arg, const void *p);
/* Open the pages recorded in u for the call, and close them after it. */
void drop_strict_open(struct drop_strict_use *u);
void drop_strict_close(struct drop_strict_use *u);

/* "PROG: cpu-strict: message" on stderr, then abort(). */
_Noreturn void drop_strict_violation(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif

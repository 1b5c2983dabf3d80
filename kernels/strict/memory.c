/*
 * memory.c - the checked backend's device memory. Every allocation is a region of its own,
 * mapped with mmap, registered in a table of live allocations, and PROT_NONE except for
 * the pages an op or a copy is given while it runs. Host code that reads or writes device
 * memory directly faults, as it would on a GPU, and so does an op that strays outside the
 * pages of its arguments; a SIGSEGV handler names the allocation the address lies in and
 * aborts.
 *
 * A region is the allocation rounded up to whole pages, then one guard page that is never
 * opened. Allocations start on a page (a stronger alignment than the CPU backend's 64
 * bytes; no result depends on it: the tests compare the bits). A freed region is not
 * unmapped at once: its pages are given back (MADV_DONTNEED) and it stays PROT_NONE in a
 * quarantine of the last QUARANTINE frees, so that a stale pointer is named "freed" by a
 * check, or faults, instead of landing in a new allocation.
 *
 * Only the pages an op's arguments cover are opened, not whole allocations: an op reading
 * one slice of the model's activation arena changes the protection of that slice alone,
 * not of the whole arena (whose page-table walks then dominated a training step), and an
 * op straying into another slice faults. Calls are therefore serialised: one op or copy
 * at a time holds `calls` (sgemm, the one op ops.h lets several threads call at once,
 * waits its turn), so that one call's closing never shuts pages another is using. The
 * allocation table has its own lock; the SIGSEGV handler reads it without one, only to
 * print before aborting.
 * Not here: the ops and what they check (ops.c).
 */
#include "strict.h"
#include "../fail.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define QUARANTINE 1024

struct region {
	char *base;
	size_t bytes;  /* as asked for */
	size_t span;   /* bytes rounded up to whole pages (at least one) */
	size_t mapped; /* span + the guard page */
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t calls = PTHREAD_MUTEX_INITIALIZER;
static size_t page;
static struct region *live; /* sorted by base */
static size_t nlive, caplive;
static struct region quarantine[QUARANTINE];
static size_t qnext, qn;
static struct sigaction old_segv;
/* The op (or copy) running now, for the SIGSEGV handler's message. */
static const char *volatile current_op;

void drop_strict_violation(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: cpu-strict: %s\n", program_invocation_short_name, msg);
	abort();
}

/* The live allocation whose region (guard page included) holds p, or NULL. */
static const struct region *find(const void *p)
{
	const char *c = p;
	size_t lo = 0, hi = nlive;
	while (lo < hi) { /* the first entry whose base is above c */
		size_t mid = lo + (hi - lo) / 2;
		if (live[mid].base <= c)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	const struct region *a = &live[lo - 1];
	return c < a->base + a->mapped ? a : NULL;
}

static const struct region *find_freed(const void *p)
{
	const char *c = p;
	for (size_t i = 0; i < qn; i++)
		if (c >= quarantine[i].base && c < quarantine[i].base + quarantine[i].mapped)
			return &quarantine[i];
	return NULL;
}

/* Bytes of a that a pointer may point into (an allocation of 0 bytes has its first). */
static size_t extent(const struct region *a)
{
	return a->bytes ? a->bytes : 1;
}

/* What p is, not being inside a live allocation: into buf. */
static const char *describe(const void *p, char *buf, size_t cap)
{
	const struct region *a = find(p), *f;
	if (a)
		snprintf(buf, cap, "lies %zu bytes past the end of the allocation %p of %zu bytes",
		         (size_t)((const char *)p - a->base) - a->bytes, (void *)a->base,
		         a->bytes);
	else if ((f = find_freed(p)))
		snprintf(buf, cap, "is in the allocation %p of %zu bytes, which was freed",
		         (void *)f->base, f->bytes);
	else
		snprintf(buf, cap, "is not device memory (a host pointer?)");
	return buf;
}

/* ---- The SIGSEGV handler --------------------------------------------------------------- */

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	(void)sig, (void)ctx;
	const char *addr = si->si_addr, *op = current_op, *prog = program_invocation_short_name;
	const struct region *a = find(addr), *f = a ? NULL : find_freed(addr);
	char msg[512];
	int len;
	if (!a && !f) { /* not ours: the fault again, under the handler there was before */
		sigaction(SIGSEGV, &old_segv, NULL);
		return;
	}
	size_t at = (size_t)(addr - (a ? a : f)->base);
	if (f)
		len = snprintf(msg, sizeof msg, "%s: cpu-strict: %s touched %p, byte %zu of the "
		               "allocation %p of %zu bytes, which was freed\n", prog,
		               op ? op : "host code", (void *)addr, at, (void *)f->base, f->bytes);
	else if (at >= extent(a))
		len = snprintf(msg, sizeof msg, "%s: cpu-strict: %s touched %p, %zu bytes past the "
		               "end of the allocation %p of %zu bytes\n", prog,
		               op ? op : "host code", (void *)addr, at - a->bytes, (void *)a->base,
		               a->bytes);
	else if (op)
		len = snprintf(msg, sizeof msg, "%s: cpu-strict: %s touched device memory at %p "
		               "(byte %zu of the allocation %p of %zu bytes) outside its "
		               "arguments\n", prog, op, (void *)addr, at, (void *)a->base,
		               a->bytes);
	else
		len = snprintf(msg, sizeof msg, "%s: cpu-strict: host code touched device memory "
		               "at %p (byte %zu of the allocation %p of %zu bytes) outside an op "
		               "or a copy: read it with to_host, write it with to_device\n", prog,
		               (void *)addr, at, (void *)a->base, a->bytes);
	if (len > 0)
		(void)!write(STDERR_FILENO, msg, (size_t)len < sizeof msg ? (size_t)len :
		                                                            sizeof msg - 1);
	abort();
}

void drop_strict_memory_init(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	page = ps > 0 ? (size_t)ps : 4096;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &old_segv))
		DROP_BUG("cpu-strict: sigaction: %s", strerror(errno));
}

/* ---- Allocations ----------------------------------------------------------------------- */

void *drop_strict_alloc(size_t bytes)
{
	struct region a = { NULL, bytes, (bytes + page - 1) / page * page, 0 };
	if (a.span < bytes)
		drop_oom(bytes);
	if (!a.span)
		a.span = page;
	a.mapped = a.span + page;
	void *p = mmap(NULL, a.mapped, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
	               -1, 0);
	if (p == MAP_FAILED)
		drop_oom(bytes);
	a.base = p;
	pthread_mutex_lock(&table_lock);
	if (nlive == caplive) {
		caplive = caplive ? 2 * caplive : 256;
		live = drop_realloc(live, caplive * sizeof *live);
	}
	size_t i = nlive;
	while (i > 0 && live[i - 1].base > a.base) {
		live[i] = live[i - 1];
		i--;
	}
	live[i] = a;
	nlive++;
	pthread_mutex_unlock(&table_lock);
	return p;
}

void drop_strict_free(void *p)
{
	if (!p)
		return;
	char why[160];
	pthread_mutex_lock(&table_lock);
	const struct region *a = find(p);
	if (!a || a->base != (char *)p) {
		if (a && (size_t)((char *)p - a->base) < extent(a))
			drop_strict_violation("free: %p is byte %zu of the allocation %p, not its "
			                      "start", p, (size_t)((char *)p - a->base),
			                      (void *)a->base);
		drop_strict_violation("free: %p %s", p, describe(p, why, sizeof why));
	}
	size_t i = (size_t)(a - live);
	struct region gone = *a;
	memmove(live + i, live + i + 1, (nlive - i - 1) * sizeof *live);
	nlive--;
	(void)madvise(gone.base, gone.span, MADV_DONTNEED);
	if (qn == QUARANTINE) {
		munmap(quarantine[qnext].base, quarantine[qnext].mapped);
		qn--;
	}
	quarantine[qnext] = gone;
	qnext = (qnext + 1) % QUARANTINE;
	qn++;
	pthread_mutex_unlock(&table_lock);
}

/* ---- Checks ---------------------------------------------------------------------------- */

void drop_strict_begin(struct drop_strict_use *u, const char *op)
{
	u->op = op;
	u->n = 0;
}

void drop_strict_dev(struct drop_strict_use *u, const char *arg, const void *p,
                     size_t bytes)
{
	char why[160];
	if (!p)
		drop_strict_violation("%s: %s is NULL", u->op, arg);
	pthread_mutex_lock(&table_lock);
	const struct region *a = find(p);
	size_t at = a ? (size_t)((const char *)p - a->base) : 0;
	if (!a || at >= extent(a))
		drop_strict_violation("%s: %s %p %s", u->op, arg, p, describe(p, why, sizeof why));
	if (bytes > a->bytes - at)
		drop_strict_violation("%s: %s %p + %zu bytes runs %zu bytes past the end of its "
		                      "allocation %p of %zu bytes", u->op, arg, p, bytes,
		                      bytes - (a->bytes - at), (void *)a->base, a->bytes);
	pthread_mutex_unlock(&table_lock);
	if (!bytes)
		return;
	DROP_ASSERT(u->n < DROP_STRICT_MAX_RANGES, "cpu-strict: %s: more than %d arguments",
	            u->op, DROP_STRICT_MAX_RANGES);
	uintptr_t lo = (uintptr_t)p / page * page;
	uintptr_t hi = ((uintptr_t)p + bytes + page - 1) / page * page;
	u->lo[u->n] = (char *)lo;
	u->hi[u->n++] = (char *)hi;
}

void drop_strict_dev_opt(struct drop_strict_use *u, const char *arg, const void *p,
                         size_t bytes)
{
	if (p)
		drop_strict_dev(u, arg, p, bytes);
}

void drop_strict_host(struct drop_strict_use *u, const char *arg, const void *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&table_lock);
	const struct region *a = find(p);
	if (a)
		drop_strict_violation("%s: %s %p is device memory (the allocation %p of %zu "
		                      "bytes), where the op writes host memory", u->op, arg, p,
		                      (void *)a->base, a->bytes);
	pthread_mutex_unlock(&table_lock);
}

/* Sort u's page ranges and merge those that overlap or touch. */
static void merge(struct drop_strict_use *u)
{
	for (int i = 1; i < u->n; i++)
		for (int j = i; j > 0 && u->lo[j] < u->lo[j - 1]; j--) {
			char *l = u->lo[j], *h = u->hi[j];
			u->lo[j] = u->lo[j - 1], u->hi[j] = u->hi[j - 1];
			u->lo[j - 1] = l, u->hi[j - 1] = h;
		}
	int m = 0;
	for (int i = 0; i < u->n; i++) {
		if (m && u->lo[i] <= u->hi[m - 1]) {
			if (u->hi[i] > u->hi[m - 1])
				u->hi[m - 1] = u->hi[i];
			continue;
		}
		u->lo[m] = u->lo[i], u->hi[m] = u->hi[i];
		m++;
	}
	u->n = m;
}

static void protect(struct drop_strict_use *u, int prot)
{
	for (int i = 0; i < u->n; i++)
		if (mprotect(u->lo[i], (size_t)(u->hi[i] - u->lo[i]), prot))
			DROP_BUG("cpu-strict: %s: mprotect of %zu bytes: %s", u->op,
			         (size_t)(u->hi[i] - u->lo[i]), strerror(errno));
}

void drop_strict_open(struct drop_strict_use *u)
{
	pthread_mutex_lock(&calls);
	merge(u);
	protect(u, PROT_READ | PROT_WRITE);
	current_op = u->op;
}

void drop_strict_close(struct drop_strict_use *u)
{
	current_op = NULL;
	protect(u, PROT_NONE);
	pthread_mutex_unlock(&calls);
}

/* ---- Copies ---------------------------------------------------------------------------- */

void drop_strict_to_device(void *dst, const void *src, size_t bytes)
{
	struct drop_strict_use u;
	drop_strict_begin(&u, "to_device");
	drop_strict_dev(&u, "dst", dst, bytes);
	if (bytes && !src)
		drop_strict_violation("to_device: src is NULL");
	drop_strict_host(&u, "src", src);
	drop_strict_open(&u);
	if (bytes)
		memcpy(dst, src, bytes);
	drop_strict_close(&u);
}

void drop_strict_to_host(void *dst, const void *src, size_t bytes)
{
	struct drop_strict_use u;
	drop_strict_begin(&u, "to_host");
	drop_strict_dev(&u, "src", src, bytes);
	if (bytes && !dst)
		drop_strict_violation("to_host: dst is NULL");
	drop_strict_host(&u, "dst", dst);
	drop_strict_open(&u);
	if (bytes)
		memcpy(dst, src, bytes);
	drop_strict_close(&u);
}

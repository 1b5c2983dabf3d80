/*
 * fail.h - the failure path of the whole code base, at its lowest layer: kernels/ uses it
 * directly and lib/ through lib/core/drop.h, so there is one of each.
 *
 * Two kinds of failure, never mixed:
 *   a bug       a broken invariant (a descriptor that cannot be, a shape the caller should
 *               have checked): DROP_BUG / DROP_ASSERT print "PROG: bug at FILE:LINE: what"
 *               on stderr and abort(), so a core dump or a debugger shows where;
 *   bad input   never here: a function that can meet it returns an error to its caller,
 *               which names the file and exits 1 (lib/core/drop.h's drop_fail).
 * Out of memory is fatal (exit 1, "PROG: out of memory (N bytes)"): drop_malloc & co.
 * never return NULL. PROG is the program's name (program_invocation_short_name), so this
 * layer needs nothing from lib/.
 */
#ifndef DROP_FAIL_H
#define DROP_FAIL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#define DROP_FAIL_NORETURN [[noreturn]]
#else
#define DROP_FAIL_NORETURN _Noreturn
#endif

/* Abort with "PROG: bug at FILE:LINE: message" (printf format). */
#define DROP_BUG(...) drop_bug(__FILE__, __LINE__, __VA_ARGS__)
/* DROP_BUG unless cond holds. */
#define DROP_ASSERT(cond, ...)                     \
	do {                                       \
		if (!(cond))                       \
			DROP_BUG(__VA_ARGS__);     \
	} while (0)

DROP_FAIL_NORETURN void drop_bug(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "PROG: out of memory (N bytes)" on stderr, exit 1. */
DROP_FAIL_NORETURN void drop_oom(size_t bytes);

/* Allocation that cannot fail (drop_oom). A size of 0 allocates 1 byte. */
void *drop_malloc(size_t n);
void *drop_calloc(size_t n, size_t size);
void *drop_realloc(void *p, size_t n);
char *drop_strdup(const char *s);

#ifdef __cplusplus
}
#endif
#endif

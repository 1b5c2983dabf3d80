/*
 * drop.h - the things every part of drop shares: exit statuses, diagnostics and the
 * per-thread error message that lib/ functions leave for their caller.
 *
 * The map of the code base, its groups and their order are in lib/README.md (and
 * kernels/README.md, cmd/README.md).
 *
 * Convention: a lib/ function that can fail returns -1 (or NULL) and leaves a one-line
 * reason in drop_errmsg() (thread-local, so parallel workers do not clobber each other);
 * the tool prints it as "drop-x: FILE: reason". lib/ never exits and never prints data.
 * A broken invariant - something the code itself should have made impossible, whatever the
 * input - is a bug, not an error: DROP_ASSERT / DROP_BUG (kernels/fail.h) abort with
 * "PROG: bug at FILE:LINE". drop_die is the tools' (cmd/, lib/run/cli.c's option handling).
 */
#ifndef DROP_H
#define DROP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../../kernels/fail.h" /* DROP_BUG, DROP_ASSERT, drop_malloc & co. */

#ifdef __cplusplus
extern "C" {
#define DROP_NORETURN [[noreturn]]
#else
#define DROP_NORETURN _Noreturn
#endif

#define DROP_VERSION "0.1.0"

/* The exit-status contract of every tool (documented in each man page, EXIT STATUS). */
enum drop_exit {
	DROP_EXIT_OK = 0,       /* success */
	DROP_EXIT_DATA = 1,     /* runtime or data error: bad file, shape mismatch, I/O error */
	DROP_EXIT_USAGE = 2,    /* bad option or argument */
	DROP_EXIT_NODEVICE = 3, /* the requested device (--device cuda) is not available */
};

/* Program name used by every diagnostic ("drop-match"); set by drop_proginit(). */
extern const char *drop_progname;
/* Verbosity: 0 = quiet (-q), 1 = normal, 2 = verbose (-v). */
extern int drop_verbosity;

/* Diagnostics on stderr, prefixed "PROG: ". drop_die exits with `status`. */
void drop_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void drop_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void drop_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));    /* unless -q */
void drop_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));   /* only -v */
DROP_NORETURN void drop_die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Called by drop_die, when set, after the message and before exit: the job of several
 * ranks ends there as a whole (lib/core/ranks.h). */
extern void (*drop_die_hook)(int status);

/* Set the calling thread's error message; always returns -1 so `return drop_fail(...)`. */
int drop_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The calling thread's last error message ("" if none). */
const char *drop_errmsg(void);

/* Overflow-checked size arithmetic: returns -1 with a message on overflow. */
int drop_mul_size(size_t a, size_t b, size_t *out);

#ifdef __cplusplus
}
#endif
#endif

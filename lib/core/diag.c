/*
 * diag.c - diagnostics (drop_error & co.) and the thread-local error message
 * (allocation: kernels/fail.c). Every byte of human text goes to stderr from here.
 */
#include "drop.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *drop_progname = "drop";
int drop_verbosity = 1;
void (*drop_die_hook)(int status);

static _Thread_local char errbuf[1024];

static void vmessage(const char *kind, const char *fmt, va_list ap)
{
	char line[2048];
	int n = snprintf(line, sizeof line, "%s: %s", drop_progname, kind);
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	/* One write per message so lines from worker threads never interleave. */
	fprintf(stderr, "%s\n", line);
}

void drop_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
}

void drop_warn(const char *fmt, ...)
{
	va_list ap;
	if (drop_verbosity < 1)
		return;
	va_start(ap, fmt);
	vmessage("warning: ", fmt, ap);
	va_end(ap);
}

void drop_info(const char *fmt, ...)
{
	va_list ap;
	if (drop_verbosity < 1)
		return;
	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
}

void drop_debug(const char *fmt, ...)
{
	va_list ap;
	if (drop_verbosity < 2)
		return;
	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
}

void drop_die(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
	if (drop_die_hook)
		drop_die_hook(status);
	exit(status);
}

int drop_fail(const char *fmt, ...)
{
	/* Format apart first: an argument may be drop_errmsg() itself ("x: %s"). */
	char msg[sizeof errbuf];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	memcpy(errbuf, msg, sizeof errbuf);
	return -1;
}

const char *drop_errmsg(void)
{
	return errbuf;
}

int drop_mul_size(size_t a, size_t b, size_t *out)
{
	if (__builtin_mul_overflow(a, b, out))
		return drop_fail("size overflow (%zu x %zu)", a, b);
	return 0;
}

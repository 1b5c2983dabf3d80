/*
 * fail.c - bugs abort, out of memory exits: the failure path of kernels/fail.h.
 */
#include "fail.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void drop_bug(const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: bug at %s:%d: %s\n", program_invocation_short_name, file, line, msg);
	abort();
}

void drop_oom(size_t bytes)
{
	fprintf(stderr, "%s: out of memory (%zu bytes)\n", program_invocation_short_name, bytes);
	exit(1);
}

void *drop_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		drop_oom(n);
	return p;
}

void *drop_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		drop_oom(n * size);
	return p;
}

void *drop_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		drop_oom(n);
	return q;
}

char *drop_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(drop_malloc(n), s, n);
}

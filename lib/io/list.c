/*
 * list.c - TSV list files (see list.h).
 */
#include "list.h"
#include "../core/drop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int drop_parse_id(const char *s, int32_t *v)
{
	/* strtol alone would take " 5", "+5" and "\t5" as 5. */
	const char *d = *s == '-' ? s + 1 : s;
	if (*d < '0' || *d > '9')
		return -1;
	char *end;
	errno = 0;
	long x = strtol(s, &end, 10);
	if (*end || errno || x < INT32_MIN || x > INT32_MAX)
		return -1;
	*v = (int32_t)x;
	return 0;
}

int drop_list_read(const char *path, struct drop_list *l)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f)
		return drop_fail("%s", strerror(errno));
	memset(l, 0, sizeof *l);
	size_t cap = 0, lineno = 0, len = 0;
	char *line = NULL;
	ssize_t got;
	int rc = 0;
	while ((got = getline(&line, &len, f)) >= 0) {
		lineno++;
		while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
			line[--got] = 0;
		if (got == 0 || line[0] == '#')
			continue;
		char *col[5] = { 0 };
		int ncol = 0;
		for (char *p = line; p && ncol < 5; ncol++) {
			col[ncol] = p;
			p = strchr(p, '\t');
			if (p)
				*p++ = 0;
		}
		if (ncol < 3 || ncol > 4) {
			rc = drop_fail("line %zu: expected 3 or 4 tab-separated columns "
			               "(path, pid, camid[, label]), got %d", lineno, ncol);
			break;
		}
		struct drop_list_item it = { 0 };
		if (drop_parse_id(col[1], &it.pid)) {
			rc = drop_fail("line %zu: pid '%s' is not an integer", lineno, col[1]);
			break;
		}
		if (drop_parse_id(col[2], &it.camid)) {
			rc = drop_fail("line %zu: camid '%s' is not an integer", lineno, col[2]);
			break;
		}
		if (!*col[0]) {
			rc = drop_fail("line %zu: empty path", lineno);
			break;
		}
		it.path = drop_strdup(col[0]);
		it.label = ncol == 4 ? drop_strdup(col[3]) : NULL;
		if (l->n == cap) {
			cap = cap ? 2 * cap : 256;
			l->items = drop_realloc(l->items, cap * sizeof *l->items);
		}
		l->items[l->n++] = it;
	}
	if (!rc && ferror(f))
		rc = drop_fail("read error: %s", strerror(errno));
	free(line);
	if (f != stdin)
		fclose(f);
	if (rc)
		drop_list_free(l);
	return rc;
}

void drop_tsv_field(FILE *f, const char *s)
{
	const char *p = s;
	while (*p && *p != '\\' && (unsigned char)*p >= 0x20 && *p != 0x7f)
		p++;
	if (!*p) { /* nothing to escape: the usual case */
		fputs(s, f);
		return;
	}
	for (p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '\\')
			fputs("\\\\", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

void drop_list_free(struct drop_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].path);
		free(l->items[i].label);
	}
	free(l->items);
	memset(l, 0, sizeof *l);
}

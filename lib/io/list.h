/*
 * list.h - TSV list files: one image per line, "path<TAB>pid<TAB>camid[<TAB>label]".
 * Lines starting with '#' and blank lines are ignored. pid and camid are 32-bit integers
 * written with digits and an optional '-' only (-1 = unknown or junk). Paths are taken as
 * written (relative paths stay relative).
 */
#ifndef DROP_LIST_H
#define DROP_LIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct drop_list_item {
	char *path;
	int32_t pid;
	int32_t camid;
	char *label; /* NULL when the line has no fourth column */
};

struct drop_list {
	struct drop_list_item *items; /* (n,) */
	size_t n;
};

/* Read a list file ("-" = stdin). Errors name the line: "line 3: pid 'x' is not an
 * integer". Returns -1 with drop_errmsg() set. */
int drop_list_read(const char *path, struct drop_list *l);
void drop_list_free(struct drop_list *l);
/* A pid or camid column: an optional '-', decimal digits, nothing else (no space, no '+'),
 * in int32 range. 0, or -1 without a message. */
int drop_parse_id(const char *s, int32_t *v);

/* Write s as one field of a TSV line (drop-match --text, drop-score --per-query): a path
 * may hold a tab or a newline, which would split the line. A backslash and the control
 * characters (bytes 0x01-0x1f and 0x7f) are written as C escapes: \\, \t, \n, \r, else
 * \xHH; every other byte as it is (man/drop-formats.5, TSV output). */
void drop_tsv_field(FILE *f, const char *s);

#endif

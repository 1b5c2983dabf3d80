/*
 * list.h - TSV list files: one image per line, "path<TAB>pid<TAB>camid[<TAB>label]".
 * Lines starting with '#' and blank lines are ignored. pid and camid are integers
 * (-1 = unknown or junk). Paths are taken as written (relative paths stay relative).
 */
#ifndef DROP_LIST_H
#define DROP_LIST_H

#include <stddef.h>
#include <stdint.h>

struct list_item {
	char *path;
	int32_t pid;
	int32_t camid;
	char *label; /* NULL when the line has no fourth column */
};

struct list {
	struct list_item *items; /* (n,) */
	size_t n;
};

/* Read a list file ("-" = stdin). Errors name the line: "line 3: pid 'x' is not an
 * integer". Returns -1 with drop_errmsg() set. */
int list_read(const char *path, struct list *l);
void list_free(struct list *l);

#endif

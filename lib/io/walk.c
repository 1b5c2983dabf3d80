/*
 * walk.c - recursive sorted listings, mkdir -p (see walk.h).
 */
#include "walk.h"
#include "../core/drop.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- Listing --------------------------------------------------------------------------- */

/* A folder being listed, for the link-loop check. */
struct ancestor {
	dev_t dev;
	ino_t ino;
	const struct ancestor *up;
};

struct entry {
	char *name;
	unsigned char type;     /* d_type: DT_REG, DT_DIR, or DT_UNKNOWN/DT_LNK (stat it) */
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

char *drop_path_join(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	if (n == 0)
		return drop_strdup(b);
	int slash = a[n - 1] != '/';
	char *p = drop_malloc(n + (size_t)slash + m + 1);
	memcpy(p, a, n);
	if (slash)
		p[n] = '/';
	memcpy(p + n + (size_t)slash, b, m + 1);
	return p;
}

static void push(struct drop_walk *w, char *rel)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 64;
		w->rel = drop_realloc(w->rel, w->cap * sizeof *w->rel);
	}
	w->rel[w->n++] = rel;
}

static size_t walk_dir(const char *root, const char *rel, const struct ancestor *up,
                       const char *suffix, struct drop_walk *w, drop_walk_error_fn *err,
                       void *ctx)
{
	char *path = rel[0] ? drop_path_join(root, rel) : drop_strdup(root);
	char reason[512];
	size_t problems = 0;
	DIR *d = opendir(path);
	if (!d) {
		snprintf(reason, sizeof reason, "cannot open folder: %s", strerror(errno));
		err(path, reason, ctx);
		free(path);
		return 1;
	}
	struct stat st;
	if (fstat(dirfd(d), &st) != 0) {
		snprintf(reason, sizeof reason, "cannot stat folder: %s", strerror(errno));
		err(path, reason, ctx);
		closedir(d);
		free(path);
		return 1;
	}
	for (const struct ancestor *a = up; a; a = a->up)
		if (a->dev == st.st_dev && a->ino == st.st_ino) {
			err(path, "symbolic link loop: this folder is one of its own parents", ctx);
			closedir(d);
			free(path);
			return 1;
		}
	struct ancestor self = { st.st_dev, st.st_ino, up };

	/* Read the whole folder first, so children are visited (and problems reported) in
	 * name order. */
	struct entry *e = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno) {
				snprintf(reason, sizeof reason, "cannot read folder: %s",
				         strerror(errno));
				err(path, reason, ctx);
				problems++;
			}
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			e = drop_realloc(e, cap * sizeof *e);
		}
		e[n].name = drop_strdup(de->d_name);
		e[n].type = de->d_type;
		n++;
	}
	closedir(d);
	if (n)
		qsort(e, n, sizeof *e, cmp_entry);

	for (size_t i = 0; i < n; i++) {
		char *crel = rel[0] ? drop_path_join(rel, e[i].name) : drop_strdup(e[i].name);
		unsigned char type = e[i].type;
		if (type != DT_REG && type != DT_DIR) {
			char *cpath = drop_path_join(root, crel);
			struct stat cst;
			if (stat(cpath, &cst) != 0) {
				snprintf(reason, sizeof reason, "cannot stat: %s", strerror(errno));
				err(cpath, reason, ctx);
				problems++;
				type = DT_UNKNOWN;
			} else {
				type = S_ISDIR(cst.st_mode) ? DT_DIR : S_ISREG(cst.st_mode) ? DT_REG
				                                                             : DT_UNKNOWN;
			}
			free(cpath);
		}
		if (type == DT_DIR) {
			problems += walk_dir(root, crel, &self, suffix, w, err, ctx);
			free(crel);
		} else if (type == DT_REG && ends_with(e[i].name, suffix)) {
			push(w, crel);
		} else {
			free(crel);
		}
		free(e[i].name);
	}
	free(e);
	free(path);
	return problems;
}

size_t drop_walk(const char *root, const char *suffix, struct drop_walk *w,
                 drop_walk_error_fn *err, void *ctx)
{
	size_t problems = walk_dir(root, "", NULL, suffix, w, err, ctx);
	if (w->n)
		qsort(w->rel, w->n, sizeof *w->rel, cmp_str);
	return problems;
}

void drop_walk_free(struct drop_walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->rel[i]);
	free(w->rel);
	memset(w, 0, sizeof *w);
}

/* ---- Folders --------------------------------------------------------------------------- */

bool drop_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int drop_mkdirs(const char *dir)
{
	if (!dir[0] || drop_is_dir(dir))
		return 0;
	char *p = drop_strdup(dir);
	/* Create every prefix ending before a '/', then the whole path. */
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST) {
			int e = errno;
			drop_fail("cannot create folder %s: %s", p, strerror(e));
			free(p);
			return -1;
		}
		if (c == '\0')
			break;
		*s = c;
	}
	int ok = drop_is_dir(p);
	if (!ok)
		drop_fail("cannot create folder %s: a file of that name is in the way", p);
	free(p);
	return ok ? 0 : -1;
}

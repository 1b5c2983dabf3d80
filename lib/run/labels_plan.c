/*
 * labels_plan.c - the jobs of a drop-labels run: listing the inputs, naming the outputs,
 * creating their folders (see labels_plan.h).
 */
#include "labels_plan.h"
#include "../core/drop.h"
#include "../data/labels.h"
#include "../io/walk.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void add_job(struct drop_labeljobs *js, char *in, char *rel)
{
	if (js->n == js->cap) {
		js->cap = js->cap ? 2 * js->cap : 64;
		js->v = drop_realloc(js->v, js->cap * sizeof *js->v);
	}
	js->v[js->n++] = (struct drop_labeljob){ .in = in, .rel = rel };
}

static void walk_error(const char *path, const char *reason, void *ctx)
{
	(void)ctx;
	drop_error("%s: %s", path, reason);
}

void drop_labeljobs_collect(struct drop_labeljobs *js, char *const *inputs, int n)
{
	for (int i = 0; i < n; i++) {
		if (strcmp(inputs[i], "-") && drop_is_dir(inputs[i])) {
			struct drop_walk w = { 0 };
			js->problems += drop_walk(inputs[i], ".npy", &w, walk_error, NULL);
			if (w.n == 0)
				drop_warn("%s: no .npy files in this folder", inputs[i]);
			for (size_t j = 0; j < w.n; j++)
				add_job(js, drop_path_join(inputs[i], w.rel[j]), drop_strdup(w.rel[j]));
			drop_walk_free(&w);
		} else {
			const char *base = strrchr(inputs[i], '/');
			add_job(js, drop_strdup(inputs[i]), drop_strdup(base ? base + 1 : inputs[i]));
		}
	}
}

/* The part of `path` before its last '/' (malloc'd), or NULL if it has none. */
static char *folder_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return NULL;
	size_t n = (size_t)(slash - path);
	char *dir = drop_malloc(n + 1);
	memcpy(dir, path, n);
	dir[n] = '\0';
	return dir;
}

char *drop_labeljob_path(const char *dir, const char *rel, const char *suffix)
{
	char stem[4096];
	if (drop_labels_stem(rel, stem, sizeof stem - strlen(suffix)))
		return NULL;
	strcat(stem, suffix);
	char *folder = folder_of(rel);
	char *sub = drop_path_join(folder ? folder : "", stem), *path = drop_path_join(dir, sub);
	free(folder);
	free(sub);
	return path;
}

/* An output name and the job that writes it, for finding names written twice. */
struct named {
	const char *path;
	size_t job;
};

static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	return c ? c : (x->job > y->job) - (x->job < y->job);
}

void drop_labeljobs_name(struct drop_labeljobs *js, const char *dir, const char *suffix,
                         bool overlay)
{
	struct named *all = drop_malloc(2 * js->n * sizeof *all);
	size_t m = 0;
	for (size_t i = 0; i < js->n; i++) {
		struct drop_labeljob *j = &js->v[i];
		j->out = drop_labeljob_path(dir, j->rel, suffix);
		if (j->out && overlay)
			j->overlay_out = drop_labeljob_path(dir, j->rel, ".overlay.png");
		if (!j->out || (overlay && !j->overlay_out)) {
			j->err = drop_strdup(drop_errmsg());
			continue;
		}
		struct stat si, so;
		if (stat(j->out, &so) == 0 && stat(j->in, &si) == 0 && si.st_dev == so.st_dev &&
		    si.st_ino == so.st_ino) {
			char msg[4200];
			snprintf(msg, sizeof msg, "the output %s would overwrite the input", j->out);
			j->err = drop_strdup(msg);
			continue;
		}
		all[m++] = (struct named){ j->out, i };
		if (j->overlay_out)
			all[m++] = (struct named){ j->overlay_out, i };
	}
	qsort(all, m, sizeof *all, cmp_named);
	for (size_t i = 1; i < m; i++)
		if (!strcmp(all[i].path, all[i - 1].path) && all[i].job != all[i - 1].job) {
			struct drop_labeljob *j = &js->v[all[i].job];
			if (j->err)
				continue;
			char msg[8400];
			snprintf(msg, sizeof msg, "output %s is also written for %s", all[i].path,
			         js->v[all[i - 1].job].in);
			j->err = drop_strdup(msg);
			/* keep all[i - 1]'s job as the owner for later duplicates */
			all[i].job = all[i - 1].job;
		}
	free(all);
}

void drop_labeljobs_make_folders(struct drop_labeljobs *js)
{
	char *last = NULL, *last_err = NULL;
	for (size_t i = 0; i < js->n; i++) {
		struct drop_labeljob *j = &js->v[i];
		if (j->err || !j->out)
			continue;
		char *dir = folder_of(j->out);
		if (!dir)
			continue;
		if (!last || strcmp(dir, last)) {
			free(last);
			free(last_err);
			last = dir;
			last_err = drop_mkdirs(dir) ? drop_strdup(drop_errmsg()) : NULL;
		} else {
			free(dir);
		}
		if (last_err)
			j->err = drop_strdup(last_err);
	}
	free(last);
	free(last_err);
}

void drop_labeljobs_free(struct drop_labeljobs *js)
{
	for (size_t i = 0; i < js->n; i++) {
		free(js->v[i].in);
		free(js->v[i].rel);
		free(js->v[i].out);
		free(js->v[i].overlay_out);
		free(js->v[i].err);
	}
	free(js->v);
	memset(js, 0, sizeof *js);
}

/*
 * dataset.c - dataset layouts, file-name rules, training classes, label paths (see
 * dataset.h).
 */
#include "dataset.h"
#include "../core/drop.h"
#include "labels.h"
#include "../io/list.h"
#include "../io/walk.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FOLDERS 2   /* folders of one split */

struct folder {
	const char *dir;        /* relative to the dataset folder; NULL ends the list */
	int camid;              /* fixed camera, or -1: from the file name */
};

struct layout {
	const char *name;       /* "market1501" */
	const char *folder;     /* "Market-1501-v15.09.15" */
	const char *ext;        /* image files: names ending so */
	int depth;              /* 0: files in the split folder; 1: in one folder per pid */
	bool drop_junk;         /* drop pid -1 (Market) */
	const char *npy_suffix; /* added to the extension-less image name (doc/bpbreid.md §1.1) */
	struct folder split[3][MAX_FOLDERS + 1];        /* train, query, gallery */
};

static const struct layout layouts[] = {
	{ "market1501", "Market-1501-v15.09.15", ".jpg", 0, true, ".npy",
	  { { { "bounding_box_train", -1 } }, { { "query", -1 } },
	    { { "bounding_box_test", -1 } } } },
	{ "dukemtmcreid", "DukeMTMC-reID", ".jpg", 0, false, ".npy",
	  { { { "bounding_box_train", -1 } }, { { "query", -1 } },
	    { { "bounding_box_test", -1 } } } },
	{ "occluded_duke", "Occluded_Duke", ".jpg", 0, false, ".jpg.confidence_fields.npy",
	  { { { "bounding_box_train", -1 } }, { { "query", -1 } },
	    { { "bounding_box_test", -1 } } } },
	{ "occluded_reid", "Occluded_REID", ".tif", 1, false, ".npy",
	  { { { NULL, 0 } }, { { "occluded_body_images", 0 } },
	    { { "whole_body_images", 1 } } } },
	{ "p_dukemtmc_reid", "P-DukeMTMC-reID", ".jpg", 1, false, ".npy",
	  { { { "train/whole_body_images", 1 }, { "train/occluded_body_images", 0 } },
	    { { "test/occluded_body_images", 0 } }, { { "test/whole_body_images", 1 } } } },
};
#define NLAYOUTS (sizeof layouts / sizeof layouts[0])

static const struct layout *find_layout(const char *name)
{
	for (size_t i = 0; i < NLAYOUTS; i++)
		if (!strcmp(layouts[i].name, name))
			return &layouts[i];
	return NULL;
}

bool drop_dataset_known(const char *name)
{
	if (find_layout(name))
		return true;
	char list[256] = "";
	for (size_t i = 0; i < NLAYOUTS; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
		         layouts[i].name);
	drop_fail("unknown dataset '%s' (%s)", name, list);
	return false;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* "-12" or "0042" (optional minus, then digits, fitting int32) -> 0; else -1. */
static int parse_pid(const char *s, size_t n, int32_t *v)
{
	size_t i = n > 0 && s[0] == '-';
	if (i == n)
		return -1;
	long long x = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
		if (x > INT32_MAX)
			return -1;
	}
	*v = (int32_t)(s[0] == '-' ? -x : x);
	return 0;
}

/* Python's re.search(r'([-\d]+)_c(\d)') on the base name: the leftmost match starts a
 * maximal run of [-0-9] (a shorter run cannot be followed by '_'), so try each run. */
bool drop_name_ids(const char *path, int32_t *pid, int32_t *camid)
{
	const char *s = base_name(path);
	*pid = *camid = -1;
	for (size_t i = 0; s[i];) {
		if (s[i] != '-' && (s[i] < '0' || s[i] > '9')) {
			i++;
			continue;
		}
		size_t j = i;
		while (s[j] == '-' || (s[j] >= '0' && s[j] <= '9'))
			j++;
		if (s[j] == '_' && s[j + 1] == 'c' && s[j + 2] >= '0' && s[j + 2] <= '9') {
			int32_t p;
			if (parse_pid(s + i, j - i, &p) || s[j + 2] == '0')
				return false;
			*pid = p;
			*camid = s[j + 2] - '1';
			return true;
		}
		i = j;
	}
	return false;
}

/* pid = the integer before the first '_' of the base name (Occluded-REID, P-Duke). */
static int prefix_pid(const char *path, int32_t *pid)
{
	const char *s = base_name(path), *u = strchr(s, '_');
	return u ? parse_pid(s, (size_t)(u - s), pid) : -1;
}

/* LABELS/<folder of npy_rel>/<stem of npy_rel>.png, or NULL with a reason. */
static char *label_under(const char *labels, const char *dir, const char *npy_name)
{
	char stem[PATH_MAX];
	if (drop_labels_stem(npy_name, stem, sizeof stem - 4))
		return NULL;
	strcat(stem, ".png");
	char *d = drop_path_join(labels, dir);
	char *p = drop_path_join(d, stem);
	free(d);
	return p;
}

/* The image name without its last extension (os.path.splitext), plus suffix. */
static char *npy_name_of(const char *path, const char *suffix)
{
	const char *b = base_name(path), *dot = strrchr(b, '.');
	size_t n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
	size_t m = strlen(suffix);
	char *s = drop_malloc(n + m + 1);
	memcpy(s, b, n);
	memcpy(s + n, suffix, m + 1);
	return s;
}

/* The folder part of rel with its last `drop` + 1 components removed ("a/b/c.jpg", 1 ->
 * "a"); "" when there are not that many. malloc'd. */
static char *folder_of(const char *rel, int drop)
{
	char *d = drop_strdup(rel);
	for (int k = 0; k <= drop; k++) {
		char *s = strrchr(d, '/');
		if (!s) {
			d[0] = '\0';
			break;
		}
		*s = '\0';
	}
	return d;
}

char *drop_dataset_label_path(const char *name, const char *rel, const char *labels)
{
	const struct layout *L = find_layout(name);
	if (!L) {
		drop_fail("unknown dataset '%s'", name);
		return NULL;
	}
	char *npy = npy_name_of(rel, L->npy_suffix);
	char *dir = folder_of(rel, L->depth);
	char *p = label_under(labels, dir, npy);
	free(npy);
	free(dir);
	return p;
}

/* The Market rule for list rows: LABELS/<name of the image's parent folder>/<stem>.png. */
static char *list_label_path(const char *path, const char *labels)
{
	char *dir = folder_of(path, 0);
	char *npy = npy_name_of(path, ".npy");
	char *p = label_under(labels, base_name(dir), npy);
	free(dir);
	free(npy);
	return p;
}

static void push(struct drop_dataset *ds, struct drop_sample s)
{
	if (ds->n == ds->cap) {
		ds->cap = ds->cap ? 2 * ds->cap : 256;
		ds->v = drop_realloc(ds->v, ds->cap * sizeof *ds->v);
	}
	ds->v[ds->n++] = s;
}

void drop_dataset_free(struct drop_dataset *ds)
{
	for (size_t i = 0; i < ds->n; i++) {
		free(ds->v[i].path);
		free(ds->v[i].label);
	}
	free(ds->v);
	free(ds->class_pid);
	memset(ds, 0, sizeof *ds);
}

static int check_label(const struct drop_sample *s)
{
	struct stat st;
	if (stat(s->label, &st))
		return drop_fail("%s: label %s: %s", s->path, s->label, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return drop_fail("%s: label %s: not a regular file", s->path, s->label);
	return 0;
}

/* The first problem drop_walk reports. */
struct walk_err {
	char *msg;
};

static void on_walk_error(const char *path, const char *reason, void *ctx)
{
	struct walk_err *e = ctx;
	if (!e->msg) {
		size_t n = strlen(path) + strlen(reason) + 3;
		e->msg = drop_malloc(n);
		snprintf(e->msg, n, "%s: %s", path, reason);
	}
}

static int depth_of(const char *rel)
{
	int d = 0;
	for (; *rel; rel++)
		d += *rel == '/';
	return d;
}

/* The dataset folder under root: the first candidate holding the query folder. */
static char *dataset_dir(const struct layout *L, const char *root)
{
	char *c[4];
	c[0] = drop_path_join(root, L->folder);
	char *t = drop_path_join(root, L->name);
	c[1] = drop_path_join(t, L->folder);
	c[2] = t;
	c[3] = drop_strdup(root);
	char *found = NULL;
	for (int i = 0; i < 4; i++) {
		char *q = drop_path_join(c[i], L->split[DROP_SPLIT_QUERY][0].dir);
		if (!found && drop_is_dir(q))
			found = c[i], c[i] = NULL;
		free(q);
	}
	for (int i = 0; i < 4; i++)
		free(c[i]);
	return found;
}

static int add_folder(const struct layout *L, const char *dsdir, const struct folder *f,
                      const struct drop_dataset_source *s, struct drop_dataset *ds)
{
	char *dir = drop_path_join(dsdir, f->dir);
	if (!drop_is_dir(dir)) {
		drop_fail("%s: no such folder", dir);
		free(dir);
		return -1;
	}
	struct drop_walk w = { 0 };
	struct walk_err we = { 0 };
	drop_walk(dir, L->ext, &w, on_walk_error, &we);
	int rc = 0;
	if (we.msg)
		rc = drop_fail("%s", we.msg);
	for (size_t i = 0; !rc && i < w.n; i++) {
		if (depth_of(w.rel[i]) != L->depth)
			continue;
		struct drop_sample x = { .path = drop_path_join(dir, w.rel[i]), .cls = -1 };
		if (f->camid >= 0) {
			x.camid = f->camid;
			if (prefix_pid(x.path, &x.pid))
				rc = drop_fail("%s: no integer PID_ prefix in the file name",
				               x.path);
		} else if (!drop_name_ids(x.path, &x.pid, &x.camid)) {
			rc = drop_fail("%s: no PID_cD pattern (D = camera 1-9) in the file name",
			               x.path);
		}
		if (!rc && L->drop_junk && x.pid == -1) {
			free(x.path);
			continue;
		}
		if (!rc && s->labels) {
			char *rel = drop_path_join(f->dir, w.rel[i]);
			x.label = drop_dataset_label_path(L->name, rel, s->labels);
			free(rel);
			if (!x.label)
				rc = drop_fail("%s: no label name: %s", x.path, drop_errmsg());
		}
		if (!rc && s->need_labels)
			rc = check_label(&x);
		if (rc) {
			free(x.path);
			free(x.label);
		} else {
			push(ds, x);
		}
	}
	free(we.msg);
	drop_walk_free(&w);
	free(dir);
	return rc;
}

static int load_layout(const struct drop_dataset_source *s, struct drop_dataset *ds)
{
	const struct layout *L = find_layout(s->name);
	if (!L)
		return drop_fail("unknown dataset '%s'", s->name);
	const struct folder *fs = L->split[s->split];
	if (!fs[0].dir)
		return drop_fail("%s has no training split (BPBreID trains on market1501 for it)",
		                 L->name);
	if (s->need_labels && !s->labels)
		return drop_fail("%s: no labels folder given", L->name);
	char *dsdir = dataset_dir(L, s->root);
	if (!dsdir)
		return drop_fail("%s: no %s dataset there (looked for %s/%s)", s->root, L->name,
		                 L->folder, L->split[DROP_SPLIT_QUERY][0].dir);
	int rc = 0;
	for (int i = 0; !rc && fs[i].dir; i++)
		rc = add_folder(L, dsdir, &fs[i], s, ds);
	if (!rc && ds->n == 0)
		rc = drop_fail("%s/%s: no %s images", dsdir, fs[0].dir, L->ext);
	free(dsdir);
	return rc;
}

static int load_list(const struct drop_dataset_source *s, struct drop_dataset *ds)
{
	struct drop_list l;
	if (drop_list_read(s->list, &l))
		return drop_fail("%s: %s", s->list, drop_errmsg());
	int rc = 0;
	for (size_t i = 0; !rc && i < l.n; i++) {
		struct drop_list_item *it = &l.items[i];
		struct drop_sample x = { .path = it->path, .label = it->label, .pid = it->pid,
		                         .camid = it->camid, .cls = -1 };
		it->path = it->label = NULL;
		if (s->split == DROP_SPLIT_TRAIN && x.pid < 0)
			rc = drop_fail("%s: pid %d in a training list", x.path, (int)x.pid);
		if (!rc && !x.label && s->labels) {
			x.label = list_label_path(x.path, s->labels);
			if (!x.label)
				rc = drop_fail("%s: no label name: %s", x.path, drop_errmsg());
		}
		if (!rc && s->need_labels && !x.label)
			rc = drop_fail("%s: no label (the list has no fourth column and no labels "
			               "folder was given)", x.path);
		if (!rc && s->need_labels)
			rc = check_label(&x);
		if (rc) {
			free(x.path);
			free(x.label);
		} else {
			push(ds, x);
		}
	}
	drop_list_free(&l);
	if (!rc && ds->n == 0)
		rc = drop_fail("%s: no images in the list", s->list);
	return rc;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/* Classes 0..C-1 for the distinct pids in ascending order. */
static void make_classes(struct drop_dataset *ds)
{
	int32_t *p = drop_malloc(ds->n * sizeof *p);
	for (size_t i = 0; i < ds->n; i++)
		p[i] = ds->v[i].pid;
	qsort(p, ds->n, sizeof *p, cmp_i32);
	size_t c = 0;
	for (size_t i = 0; i < ds->n; i++)
		if (c == 0 || p[c - 1] != p[i])
			p[c++] = p[i];
	p = drop_realloc(p, c * sizeof *p);
	ds->class_pid = p;
	ds->nclass = (int32_t)c;
	for (size_t i = 0; i < ds->n; i++) {
		const int32_t *q = bsearch(&ds->v[i].pid, p, c, sizeof *p, cmp_i32);
		ds->v[i].cls = (int32_t)(q - p);
	}
}

int drop_dataset_load(const struct drop_dataset_source *s, struct drop_dataset *ds)
{
	memset(ds, 0, sizeof *ds);
	int rc = s->name ? load_layout(s, ds) : load_list(s, ds);
	if (rc) {
		drop_dataset_free(ds);
		return -1;
	}
	if (s->split == DROP_SPLIT_TRAIN)
		make_classes(ds);
	return 0;
}

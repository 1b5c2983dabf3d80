/*
 * checkpoint.c - drop checkpoints on top of lib/io/safetensors.c, and importing weights by
 * name (see checkpoint.h).
 */
#include "checkpoint.h"
#include "../core/drop.h"

#include <stdlib.h>
#include <string.h>

const char *const drop_ckpt_common_prefixes[] = {
	"module.", "backbone_appearance_feature_extractor.", "backbone.", "model.", NULL,
};

/* ---- Writing ---------------------------------------------------------------------------- */

void drop_ckpt_writer_init(struct drop_ckpt_writer *w)
{
	char version[16];
	drop_sft_writer_init(&w->st);
	snprintf(version, sizeof version, "%d", CKPT_VERSION);
	drop_sft_writer_meta(&w->st, "format", CKPT_FORMAT);
	drop_sft_writer_meta(&w->st, "version", version);
}

int drop_ckpt_add(struct drop_ckpt_writer *w, const char *name, int ndim, const int64_t *shape,
             const float *data)
{
	return drop_sft_writer_add(&w->st, name, SFT_F32, ndim, shape, data, false);
}

int drop_ckpt_add_copy(struct drop_ckpt_writer *w, const char *name, int ndim, const int64_t *shape,
                  const float *data)
{
	return drop_sft_writer_add(&w->st, name, SFT_F32, ndim, shape, data, true);
}

int drop_ckpt_add_i64(struct drop_ckpt_writer *w, const char *name, int64_t value)
{
	return drop_sft_writer_add(&w->st, name, SFT_I64, 0, NULL, &value, true);
}

int drop_ckpt_set_meta(struct drop_ckpt_writer *w, const char *key, const char *value)
{
	if (!strcmp(key, "format") || !strcmp(key, "version"))
		return drop_fail("metadata key \"%s\" is reserved", key);
	drop_sft_writer_meta(&w->st, key, value);
	return 0;
}

int drop_ckpt_commit(const struct drop_ckpt_writer *w, const char *path)
{
	return drop_sft_writer_commit(&w->st, path);
}

void drop_ckpt_writer_free(struct drop_ckpt_writer *w)
{
	drop_sft_writer_free(&w->st);
}

/* ---- Reading ---------------------------------------------------------------------------- */

int drop_ckpt_open(struct drop_ckpt_reader *r, const char *path)
{
	if (drop_sft_open(&r->st, path))
		return -1;
	const char *format = drop_sft_meta_get(&r->st, "format"),
	           *version = drop_sft_meta_get(&r->st, "version");
	int rc = 0;
	if (!format)
		rc = drop_fail("not a drop checkpoint (no \"format\": \"" CKPT_FORMAT "\" in its "
		               "metadata)");
	else if (strcmp(format, CKPT_FORMAT))
		rc = drop_fail("not a drop checkpoint (its metadata says \"format\": \"%s\")",
		               format);
	else if (!version || !*version || version[strspn(version, "0123456789")] ||
	         strlen(version) > 6 || atoi(version) < 1)
		rc = drop_fail("bad checkpoint version \"%s\"", version ? version : "(none)");
	else if (atoi(version) > CKPT_VERSION)
		rc = drop_fail("checkpoint version %s is newer than this drop reads (%d): use a "
		               "newer drop", version, CKPT_VERSION);
	if (rc)
		drop_sft_close(&r->st);
	return rc;
}

void drop_ckpt_close(struct drop_ckpt_reader *r)
{
	drop_sft_close(&r->st);
}

const char *drop_ckpt_meta(const struct drop_ckpt_reader *r, const char *key)
{
	return drop_sft_meta_get(&r->st, key);
}

int drop_ckpt_version(const struct drop_ckpt_reader *r)
{
	return atoi(drop_sft_meta_get(&r->st, "version"));
}

size_t drop_ckpt_count(const struct drop_ckpt_reader *r)
{
	return r->st.ntensors;
}

const char *drop_ckpt_name(const struct drop_ckpt_reader *r, size_t i)
{
	return r->st.tensors[i].name;
}

bool drop_ckpt_has(const struct drop_ckpt_reader *r, const char *name)
{
	return drop_sft_find(&r->st, name) != NULL;
}

static bool same_shape(const struct drop_sft_tensor *t, int ndim, const int64_t *shape)
{
	if (t->ndim != ndim)
		return false;
	for (int i = 0; i < ndim; i++)
		if (t->shape[i] != shape[i])
			return false;
	return true;
}

/* "expected shape (64, 3, 3, 3), file has (32, 3, 3, 3)" after `who`. */
static int shape_error(const char *who, const struct drop_sft_tensor *t, int ndim,
                       const int64_t *shape)
{
	char want[160], got[160];
	drop_sft_shape_str(ndim, shape, want, sizeof want);
	drop_sft_shape_str(t->ndim, t->shape, got, sizeof got);
	return drop_fail("%s: expected shape %s, file has %s", who, want, got);
}

int drop_ckpt_read(const struct drop_ckpt_reader *r, const char *name, int ndim, const int64_t *shape,
              float *dst)
{
	const struct drop_sft_tensor *t = drop_sft_find(&r->st, name);
	if (!t)
		return drop_fail("%s: not in the checkpoint", name);
	if (!same_shape(t, ndim, shape))
		return shape_error(name, t, ndim, shape);
	return drop_sft_read_f32(&r->st, t, dst);
}

int drop_ckpt_read_i64(const struct drop_ckpt_reader *r, const char *name, int64_t *value)
{
	const struct drop_sft_tensor *t = drop_sft_find(&r->st, name);
	if (!t)
		return drop_fail("%s: not in the checkpoint", name);
	if (t->count != 1)
		return shape_error(name, t, 0, NULL);
	return drop_sft_read_i64(&r->st, t, value);
}

/* ---- Importing -------------------------------------------------------------------------- */

int drop_ckpt_map_name(const char *file_name, const struct drop_ckpt_rename *rule, char *buf,
                  size_t cap)
{
	const char *s = file_name;
	bool again = rule && rule->strip;
	while (again) {
		again = false;
		for (const char *const *p = rule->strip; *p; p++) {
			size_t n = strlen(*p);
			if (n && !strncmp(s, *p, n)) {
				s += n;
				again = true;
			}
		}
	}
	const char *add = rule && rule->add ? rule->add : "";
	if ((size_t)snprintf(buf, cap, "%s%s", add, s) >= cap)
		return drop_fail("tensor name too long: %s", file_name);
	return 0;
}

/* A file tensor under its model name. */
struct mapped {
	char *name;
	const struct drop_sft_tensor *t;
	bool used;
};

static int mapped_order(const void *a, const void *b)
{
	const struct mapped *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->t->name, y->t->name);
}

static int load_one(const struct drop_sft_file *f, const struct drop_ckpt_want *w, struct mapped *m,
                    size_t nm)
{
	struct mapped *hit = m;
	if (nm > 1 && !strcmp(m[1].name, w->name))
		return drop_fail("%s: the file has both \"%s\" and \"%s\"", w->name, m[0].t->name,
		                 m[1].t->name);
	if (!same_shape(hit->t, w->ndim, w->shape)) {
		char who[512];
		if (strcmp(hit->t->name, w->name))
			snprintf(who, sizeof who, "%s (file: %s)", w->name, hit->t->name);
		else
			snprintf(who, sizeof who, "%s", w->name);
		return shape_error(who, hit->t, w->ndim, w->shape);
	}
	hit->used = true;
	return drop_sft_read_f32(f, hit->t, w->dst);
}

int drop_ckpt_import(const struct drop_sft_file *f, const struct drop_ckpt_want *want, size_t nwant,
                const struct drop_ckpt_rename *rule, struct drop_ckpt_import_report *rep)
{
	memset(rep, 0, sizeof *rep);
	size_t n = f->ntensors;
	struct mapped *m = drop_calloc(n + 1, sizeof *m);
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		char buf[1024];
		m[i].t = &f->tensors[i];
		rc = drop_ckpt_map_name(f->tensors[i].name, rule, buf, sizeof buf);
		m[i].name = drop_strdup(rc ? "" : buf);
	}
	qsort(m, n, sizeof *m, mapped_order);
	rep->missing = drop_malloc((nwant + 1) * sizeof *rep->missing);
	for (size_t i = 0; i < nwant && !rc; i++) {
		/* The first mapped entry with this name (the order is by name, then file name). */
		size_t lo = 0, hi = n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (strcmp(m[mid].name, want[i].name) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < n && !strcmp(m[lo].name, want[i].name)) {
			rc = load_one(f, &want[i], &m[lo], n - lo);
			rep->nloaded += !rc;
		} else
			rep->missing[rep->nmissing++] = i;
	}
	if (!rc) {
		/* f->tensors is sorted by name, so the unused names come out sorted. */
		bool *used = drop_calloc(n + 1, sizeof *used);
		for (size_t i = 0; i < n; i++)
			used[m[i].t - f->tensors] = m[i].used;
		rep->unused = drop_malloc((n + 1) * sizeof *rep->unused);
		for (size_t i = 0; i < n; i++)
			if (!used[i])
				rep->unused[rep->nunused++] = f->tensors[i].name;
		free(used);
	}
	for (size_t i = 0; i < n; i++)
		free(m[i].name);
	free(m);
	if (rc)
		drop_ckpt_import_report_free(rep);
	return rc;
}

void drop_ckpt_import_report_free(struct drop_ckpt_import_report *rep)
{
	free(rep->missing);
	free(rep->unused);
	memset(rep, 0, sizeof *rep);
}

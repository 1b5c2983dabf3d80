/*
 * embedding.c - reading and writing the embedding stream (see embedding.h).
 * Not here: any arithmetic on the vectors beyond converting them to float32.
 */
#include "embedding.h"
#include "../core/drop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Records per document when writing to a pipe, and per read when loading a gallery. */
#define WRITE_BLOCK 64
#define LOAD_BLOCK 256

static const char *const field_list = "path, pid, camid, global, fg, parts, vis";

void drop_embedding_set_clear(struct drop_embedding_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->path[i]);
	s->n = 0;
}

void drop_embedding_set_free(struct drop_embedding_set *s)
{
	drop_embedding_set_clear(s);
	free(s->path);
	free(s->pid);
	free(s->camid);
	for (size_t v = 0; v < s->nvec && s->vec; v++)
		free(s->vec[v]);
	free(s->vec);
	free(s->vis);
	memset(s, 0, sizeof *s);
}

void drop_embedding_view(struct drop_embedding_set *v, const struct drop_embedding_set *s,
                         size_t i0, size_t n)
{
	DROP_ASSERT(i0 + n <= s->n, "view of records %zu..%zu of %zu", i0, i0 + n, s->n);
	*v = *s;
	v->n = v->cap = n;
	v->path = s->path + i0;
	v->pid = s->pid + i0;
	v->camid = s->camid + i0;
	v->vis = s->vis ? s->vis + i0 * s->K : NULL;
	v->vec = drop_calloc(s->nvec ? s->nvec : 1, sizeof *v->vec);
	for (size_t k = 0; k < s->nvec; k++)
		v->vec[k] = s->vec[k] ? s->vec[k] + i0 * s->D : NULL;
}

void drop_embedding_view_free(struct drop_embedding_set *v)
{
	free(v->vec);
	memset(v, 0, sizeof *v);
}

/* ---- Reading ------------------------------------------------------------------------------ */

static bool is_float_type(enum drop_npy_type t)
{
	return t == NPY_F2 || t == NPY_F4 || t == NPY_F8;
}

static bool is_int_type(enum drop_npy_type t)
{
	return drop_npy_type_is_numeric(t) && !is_float_type(t) && t != NPY_B1;
}

static void shape_str(const struct drop_npy_field *f, char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap, "(");
	for (int i = 0; i < f->ndim && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, f->ndim == 1 ? "%zu," : i ? ", %zu" : "%zu",
		                      f->shape[i]);
	if (n < cap)
		snprintf(buf + n, cap - n, ")");
}

/* Copy the field `name` of h into *out after checking its type ('S', integer scalar, or
 * float of `ndim` dimensions). */
static int get_field(const struct drop_npy_header *h, const char *name, char kind, int ndim,
                     struct drop_npy_field *out)
{
	const struct drop_npy_field *f = drop_npy_field_find(h, name);
	if (!f) {
		char have[512] = "";
		for (int i = 0; i < h->nfields; i++) {
			strncat(have, i ? ", " : "", sizeof have - strlen(have) - 1);
			strncat(have, h->fields[i].name, sizeof have - strlen(have) - 1);
		}
		return drop_fail("not an embedding stream: missing field '%s' (it has: %s)", name,
		                 have);
	}
	char shape[128];
	shape_str(f, shape, sizeof shape);
	switch (kind) {
	case 'S':
		if (f->type != NPY_S || f->ndim)
			return drop_fail("field '%s' must be a byte string ('S'), not '%s' %s", name,
			                 drop_npy_type_name(f->type), shape);
		break;
	case 'i':
		if (!is_int_type(f->type) || f->ndim)
			return drop_fail("field '%s' must be an integer scalar, not '%s' %s", name,
			                 drop_npy_type_name(f->type), shape);
		break;
	case 'f':
		if (!is_float_type(f->type))
			return drop_fail("field '%s' must be floating point, not '%s'", name,
			                 drop_npy_type_name(f->type));
		if (f->ndim != ndim || f->count == 0)
			return drop_fail("field '%s' must have shape %s, not %s", name,
			                 ndim == 1 ? "(D,)" : ndim == 2 ? "(K, D)" : "(K,)", shape);
		break;
	}
	*out = *f;
	return 0;
}

/* Check the header of an embedding stream and fill er's fields, K and D. */
static int check_layout(struct drop_embedding_reader *er)
{
	const struct drop_npy_header *h = &er->r.h;
	if (h->nfields == 0 || h->ndim != 1) {
		char d[256];
		drop_npy_header_describe(h, d, sizeof d);
		return drop_fail("not an embedding stream: expected 1-D records (%s), got %s",
		                 field_list, d);
	}
	if (get_field(h, "path", 'S', 0, &er->path) || get_field(h, "pid", 'i', 0, &er->pid) ||
	    get_field(h, "camid", 'i', 0, &er->camid))
		return -1;
	const char *dfrom = NULL;
	if (er->kinds & EMB_GLOBAL) {
		if (get_field(h, "global", 'f', 1, &er->global))
			return -1;
		er->D = er->global.shape[0];
		dfrom = "global";
	}
	if (er->kinds & EMB_FG) {
		if (get_field(h, "fg", 'f', 1, &er->fg))
			return -1;
		if (dfrom && er->fg.shape[0] != er->D)
			return drop_fail("field 'fg' has D = %zu, but '%s' has D = %zu",
			                 er->fg.shape[0], dfrom, er->D);
		er->D = er->fg.shape[0];
		dfrom = "fg";
	}
	if (er->kinds & EMB_PARTS) {
		if (get_field(h, "parts", 'f', 2, &er->parts) || get_field(h, "vis", 'f', 1, &er->vis))
			return -1;
		if (dfrom && er->parts.shape[1] != er->D)
			return drop_fail("field 'parts' has D = %zu, but '%s' has D = %zu",
			                 er->parts.shape[1], dfrom, er->D);
		er->D = er->parts.shape[1];
		er->K = er->parts.shape[0];
		if (er->vis.shape[0] != er->K)
			return drop_fail("field 'vis' has %zu scores, but 'parts' has K = %zu",
			                 er->vis.shape[0], er->K);
	}
	if (!er->kinds)
		return drop_fail("no embedding requested");
	return 0;
}

int drop_embedding_reader_open(struct drop_embedding_reader *er, const char *path, unsigned kinds)
{
	memset(er, 0, sizeof *er);
	er->kinds = kinds;
	if (drop_npy_reader_open(&er->r, path))
		return -1;
	if (check_layout(er)) {
		drop_npy_reader_close(&er->r);
		return -1;
	}
	return 0;
}

void drop_embedding_reader_close(struct drop_embedding_reader *er)
{
	drop_npy_reader_close(&er->r);
	free(er->buf);
	memset(er, 0, sizeof *er);
}

/* Give an empty set the layout of the reader's stream. The vectors are allocated by
 * set_grow, once records are read: K is only a header's word until then. */
static void set_init(struct drop_embedding_set *s, const struct drop_embedding_reader *er)
{
	s->K = er->K;
	s->D = er->D;
	s->kinds = er->kinds;
	s->nvec = EMB_VEC_PART + s->K;
}

void drop_embedding_set_layout(struct drop_embedding_set *s, const struct drop_embedding_reader *er)
{
	set_init(s, er);
}

/* Room for `need` records: 0, or -1 with a message when the sizes overflow (a header
 * claiming a huge D or K). */
static int set_grow(struct drop_embedding_set *s, size_t need)
{
	if (need <= s->cap)
		return 0;
	size_t cap = s->cap ? s->cap : 16;
	while (cap < need)
		cap *= 2;
	size_t vbytes, kbytes;
	if (drop_mul_size(cap, s->D * sizeof(float), &vbytes) ||
	    drop_mul_size(cap, (s->K ? s->K : 1) * sizeof(float), &kbytes))
		return -1;
	if (!s->vec)
		s->vec = drop_calloc(s->nvec, sizeof *s->vec);
	s->path = drop_realloc(s->path, cap * sizeof *s->path);
	s->pid = drop_realloc(s->pid, cap * sizeof *s->pid);
	s->camid = drop_realloc(s->camid, cap * sizeof *s->camid);
	for (size_t v = 0; v < s->nvec; v++) {
		bool want = v == EMB_VEC_GLOBAL ? s->kinds & EMB_GLOBAL
		            : v == EMB_VEC_FG   ? s->kinds & EMB_FG
		                                : s->kinds & EMB_PARTS;
		if (want)
			s->vec[v] = drop_realloc(s->vec[v], vbytes);
	}
	if (s->kinds & EMB_PARTS)
		s->vis = drop_realloc(s->vis, kbytes);
	s->cap = cap;
	return 0;
}

static bool all_finite(const float *x, size_t n)
{
	int bad = 0;
#pragma omp simd reduction(| : bad)
	for (size_t i = 0; i < n; i++)
		bad |= !isfinite(x[i]);
	return !bad;
}

static int get_id(const struct drop_npy_field *f, const char *rec, size_t index, int32_t *out)
{
	int64_t v = drop_npy_get_int(f, rec);
	if (v < INT32_MIN || v > INT32_MAX)
		return drop_fail("record %zu: %s %lld does not fit in 32 bits", index, f->name,
		                 (long long)v);
	*out = (int32_t)v;
	return 0;
}

/* Convert raw record `rec` (number `index` in the stream) into row j of s: ids, vectors
 * (parts through tmp (K, D)), scores. Non-finite values (or float64 values beyond float32)
 * are an error naming the record and the field. The path is set by the caller. */
static int convert(const struct drop_embedding_reader *er, const char *rec, size_t index,
                   struct drop_embedding_set *s, size_t j, float *tmp, const char *path)
{
	size_t D = s->D, K = s->K;
	const char *bad = NULL;
	if (get_id(&er->pid, rec, index, &s->pid[j]) || get_id(&er->camid, rec, index, &s->camid[j]))
		return -1;
	if (s->kinds & EMB_GLOBAL) {
		drop_npy_get_f32(&er->global, rec, s->vec[EMB_VEC_GLOBAL] + j * D);
		if (!all_finite(s->vec[EMB_VEC_GLOBAL] + j * D, D))
			bad = "global";
	}
	if (!bad && s->kinds & EMB_FG) {
		drop_npy_get_f32(&er->fg, rec, s->vec[EMB_VEC_FG] + j * D);
		if (!all_finite(s->vec[EMB_VEC_FG] + j * D, D))
			bad = "fg";
	}
	if (!bad && s->kinds & EMB_PARTS) {
		drop_npy_get_f32(&er->parts, rec, tmp); /* (K, D) */
		for (size_t k = 0; k < K; k++)
			memcpy(s->vec[EMB_VEC_PART + k] + j * D, tmp + k * D, D * sizeof *tmp);
		drop_npy_get_f32(&er->vis, rec, s->vis + j * K);
		bad = !all_finite(tmp, K * D) ? "parts" : !all_finite(s->vis + j * K, K) ? "vis" : NULL;
	}
	if (bad)
		return drop_fail("record %zu ('%s'): non-finite value in '%s'", index, path, bad);
	return 0;
}

/* Append the n raw records of er->buf to s. */
static int append(struct drop_embedding_reader *er, struct drop_embedding_set *s, size_t n)
{
	if (set_grow(s, s->n + n))
		return -1;
	size_t plen = er->path.size + 1;
	float *tmp = s->K ? drop_malloc(s->K * s->D * sizeof *tmp) : NULL;
	char *path = drop_malloc(plen);
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		const char *rec = er->buf + i * er->r.h.itemsize;
		drop_npy_get_bytes(&er->path, rec, path, plen);
		rc = convert(er, rec, er->nread + i, s, s->n, tmp, path);
		if (!rc)
			s->path[s->n++] = drop_strdup(path);
	}
	free(tmp);
	free(path);
	return rc;
}

long drop_embedding_reader_read(struct drop_embedding_reader *er, struct drop_embedding_set *s, size_t max)
{
	if (!s->nvec)
		set_init(s, er);
	else if (s->K != er->K || s->D != er->D || s->kinds != er->kinds)
		return drop_fail("internal: embedding set of another layout");
	/* The buffer grows with the bytes read, not with the sizes the header declares. */
	void *buf = er->buf;
	long got = drop_npy_reader_read_alloc(&er->r, &buf, &er->cap, max);
	er->buf = buf;
	if (got <= 0)
		return got;
	if (append(er, s, (size_t)got))
		return -1;
	er->nread += (size_t)got;
	return got;
}

long drop_embedding_reader_skip(struct drop_embedding_reader *er, size_t max)
{
	long got = drop_npy_reader_skip(&er->r, max);
	if (got > 0)
		er->nread += (size_t)got;
	return got;
}

int drop_embedding_load(const char *path, unsigned kinds, struct drop_embedding_set *s)
{
	struct drop_embedding_reader er;
	memset(s, 0, sizeof *s);
	if (drop_embedding_reader_open(&er, path, kinds))
		return -1;
	set_init(s, &er);
	long got;
	while ((got = drop_embedding_reader_read(&er, s, LOAD_BLOCK)) > 0)
		;
	drop_embedding_reader_close(&er);
	if (got < 0) {
		drop_embedding_set_free(s);
		return -1;
	}
	return 0;
}

int drop_embedding_check_compatible(const struct drop_embedding_set *q, const struct drop_embedding_set *g)
{
	bool parts = (q->kinds & g->kinds & EMB_PARTS) != 0;
	if (q->D == g->D && (!parts || q->K == g->K))
		return 0;
	if (parts)
		return drop_fail("embeddings of K = %zu parts of D = %zu, but the gallery has "
		                 "K = %zu parts of D = %zu", q->K, q->D, g->K, g->D);
	return drop_fail("embeddings of D = %zu, but the gallery has D = %zu", q->D, g->D);
}

/* ---- Writing ------------------------------------------------------------------------------ */

void drop_embedding_fields(struct drop_npy_field fields[EMBEDDING_NFIELDS], size_t K, size_t D,
                      size_t pathlen)
{
	size_t kd[2] = { K, D };
	fields[0] = drop_npy_field_make("path", NPY_S, pathlen ? pathlen : 1, 0, NULL);
	fields[1] = drop_npy_field_make("pid", NPY_I4, 0, 0, NULL);
	fields[2] = drop_npy_field_make("camid", NPY_I4, 0, 0, NULL);
	fields[3] = drop_npy_field_make("global", NPY_F4, 0, 1, &D);
	fields[4] = drop_npy_field_make("fg", NPY_F4, 0, 1, &D);
	fields[5] = drop_npy_field_make("parts", NPY_F4, 0, 2, kd);
	fields[6] = drop_npy_field_make("vis", NPY_F4, 0, 1, &K);
}

int drop_embedding_header(struct drop_npy_header *h, size_t K, size_t D, size_t pathlen, size_t n)
{
	struct drop_npy_field fields[EMBEDDING_NFIELDS];
	drop_embedding_fields(fields, K, D, pathlen);
	return drop_npy_header_records(h, fields, EMBEDDING_NFIELDS, n);
}

/* Copy `count` scalars of 4 bytes into field `name` of rec, if h has that field. */
static int put4(const struct drop_npy_header *h, const char *name, enum drop_npy_type type,
                const void *src, size_t count, char *rec)
{
	const struct drop_npy_field *f = drop_npy_field_find(h, name);
	if (!f)
		return 0;
	if (f->type != type || f->count != count)
		return drop_fail("field '%s' is not laid out as drop_embedding_fields() makes it", name);
	if (!src)
		return drop_fail("no data for field '%s'", name);
	memcpy(rec + f->offset, src, 4 * count);
	return 0;
}

int drop_embedding_pack(const struct drop_npy_header *h, const struct drop_embedding_record *e, void *rec)
{
	char *r = rec;
	memset(r, 0, h->itemsize);
	const struct drop_npy_field *p = drop_npy_field_find(h, "path");
	const struct drop_npy_field *parts = drop_npy_field_find(h, "parts");
	const struct drop_npy_field *g = drop_npy_field_find(h, "global"), *fg = drop_npy_field_find(h, "fg");
	size_t D = g ? g->count : fg ? fg->count : parts && parts->ndim == 2 ? parts->shape[1] : 0;
	size_t K = parts && parts->ndim == 2 ? parts->shape[0] : 0;
	if (p) {
		size_t n = strlen(e->path);
		if (n > p->size)
			return drop_fail("path longer than %zu bytes: '%s'", p->size, e->path);
		memcpy(r + p->offset, e->path, n);
	}
	return put4(h, "pid", NPY_I4, &e->pid, 1, r) || put4(h, "camid", NPY_I4, &e->camid, 1, r) ||
	               put4(h, "global", NPY_F4, e->global, D, r) ||
	               put4(h, "fg", NPY_F4, e->fg, D, r) ||
	               put4(h, "parts", NPY_F4, e->parts, K * D, r) ||
	               put4(h, "vis", NPY_F4, e->vis, K, r)
	               ? -1
	               : 0;
}

int drop_embedding_writer_open(struct drop_embedding_writer *ew, FILE *f, const struct drop_npy_header *h)
{
	memset(ew, 0, sizeof *ew);
	if (drop_npy_writer_open(&ew->w, f, h))
		return -1;
	ew->cap = WRITE_BLOCK;
	ew->block = drop_malloc(ew->cap * h->itemsize);
	return 0;
}

static int flush_block(struct drop_embedding_writer *ew)
{
	int rc = drop_npy_writer_write(&ew->w, ew->block, ew->n);
	ew->n = 0;
	return rc;
}

int drop_embedding_writer_add(struct drop_embedding_writer *ew, const struct drop_embedding_record *e)
{
	if (drop_embedding_pack(&ew->w.h, e, ew->block + ew->n * ew->w.h.itemsize))
		return -1;
	if (++ew->n == ew->cap)
		return flush_block(ew);
	return 0;
}

int drop_embedding_writer_close(struct drop_embedding_writer *ew)
{
	int rc = ew->n ? flush_block(ew) : 0;
	if (!rc)
		rc = drop_npy_writer_close(&ew->w);
	free(ew->block);
	memset(ew, 0, sizeof *ew);
	return rc;
}

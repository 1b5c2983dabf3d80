/*
 * ranklist.c - reading and writing the ranked-list stream (see ranklist.h).
 */
#include "ranklist.h"
#include "../core/drop.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Queries per document when writing to a pipe: big enough to amortise the header,
 * small enough that a reader downstream starts early. */
#define BLOCK_QUERIES 256

void drop_ranklist_gallery_free(struct drop_ranklist_gallery *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->path[i]);
	free(g->path);
	free(g->pid);
	free(g->camid);
	memset(g, 0, sizeof *g);
}

/* ---- Writing ---------------------------------------------------------------------------- */

static void id_fields(struct drop_npy_field *f, size_t pathlen)
{
	f[0] = drop_npy_field_make("path", NPY_S, pathlen ? pathlen : 1, 0, NULL);
	f[1] = drop_npy_field_make("pid", NPY_I4, 0, 0, NULL);
	f[2] = drop_npy_field_make("camid", NPY_I4, 0, 0, NULL);
}

/* Fill the path/pid/camid part of a record laid out by id_fields. */
static void put_ids(char *rec, size_t pathlen, const char *path, int32_t pid, int32_t camid)
{
	memset(rec, 0, pathlen);
	size_t n = strlen(path);
	memcpy(rec, path, n < pathlen ? n : pathlen);
	memcpy(rec + pathlen, &pid, 4);
	memcpy(rec + pathlen + 4, &camid, 4);
}

int drop_ranklist_write_gallery(FILE *f, const struct drop_ranklist_gallery *g)
{
	size_t pathlen = 1;
	for (size_t i = 0; i < g->n; i++)
		if (strlen(g->path[i]) > pathlen)
			pathlen = strlen(g->path[i]);
	struct drop_npy_field fields[3];
	struct drop_npy_header h;
	id_fields(fields, pathlen);
	if (drop_npy_header_records(&h, fields, 3, g->n))
		return -1;
	char *recs = drop_calloc(g->n ? g->n : 1, h.itemsize);
	for (size_t i = 0; i < g->n; i++)
		put_ids(recs + i * h.itemsize, pathlen, g->path[i], g->pid[i], g->camid[i]);
	int rc = drop_npy_write(f, &h, recs);
	free(recs);
	return rc;
}

int drop_ranklist_writer_open(struct drop_ranklist_writer *w, FILE *f, size_t k, size_t pathlen)
{
	struct drop_npy_field fields[5];
	struct drop_npy_header h;
	memset(w, 0, sizeof *w);
	w->k = k;
	w->pathlen = pathlen ? pathlen : 1;
	id_fields(fields, w->pathlen);
	fields[3] = drop_npy_field_make("index", NPY_I4, 0, 1, &k);
	fields[4] = drop_npy_field_make("dist", NPY_F4, 0, 1, &k);
	if (drop_npy_header_records(&h, fields, 5, 0) || drop_npy_writer_open(&w->w, f, &h))
		return -1;
	w->cap = BLOCK_QUERIES;
	w->block = drop_malloc(w->cap * h.itemsize);
	return 0;
}

static int flush_block(struct drop_ranklist_writer *w)
{
	int rc = drop_npy_writer_write(&w->w, w->block, w->nblock);
	w->nblock = 0;
	return rc;
}

int drop_ranklist_writer_add(struct drop_ranklist_writer *w, const struct drop_ranklist_query *q)
{
	if (q->k != w->k)
		return drop_fail("ranked list of %zu entries in a stream of %zu", q->k, w->k);
	char *rec = w->block + w->nblock * w->w.h.itemsize;
	put_ids(rec, w->pathlen, q->path, q->pid, q->camid);
	memcpy(rec + w->pathlen + 8, q->index, w->k * sizeof *q->index);
	memcpy(rec + w->pathlen + 8 + 4 * w->k, q->dist, w->k * sizeof *q->dist);
	if (++w->nblock == w->cap)
		return flush_block(w);
	return 0;
}

int drop_ranklist_writer_close(struct drop_ranklist_writer *w)
{
	int rc = w->nblock ? flush_block(w) : 0;
	if (!rc)
		rc = drop_npy_writer_close(&w->w);
	free(w->block);
	w->block = NULL;
	return rc;
}

void drop_ranklist_writer_abort(struct drop_ranklist_writer *w)
{
	free(w->block);
	w->block = NULL;
}

/* ---- Reading ---------------------------------------------------------------------------- */

/* The field `name` of h: a byte string, or a numeric scalar. */
static const struct drop_npy_field *need(const struct drop_npy_header *h, const char *name, bool string)
{
	const struct drop_npy_field *f = drop_npy_field_find(h, name);
	if (!f) {
		drop_fail("not a ranked-list stream: no field '%s'", name);
		return NULL;
	}
	if (string ? f->type != NPY_S || f->ndim : !drop_npy_type_is_numeric(f->type) || f->count != 1) {
		drop_fail("not a ranked-list stream: field '%s' has the wrong type or shape", name);
		return NULL;
	}
	return f;
}

/* The integer id `f` of record rec, which must fit in 32 bits (NaN does not). */
static int get_id(const struct drop_npy_field *f, const char *rec, int32_t *out)
{
	int64_t v = drop_npy_get_int(f, rec);
	if (v < INT32_MIN || v > INT32_MAX) {
		double d;
		drop_npy_get_f64(f, rec, &d);
		return drop_fail("%s %g is not a 32-bit integer", f->name, d);
	}
	*out = (int32_t)v;
	return 0;
}

static int read_gallery(FILE *f, struct drop_ranklist_gallery *g)
{
	struct drop_npy_header h;
	int rc = drop_npy_read_header(f, &h);
	if (rc <= 0)
		return rc ? -1 : drop_fail("empty input");
	const struct drop_npy_field *fp, *fi, *fc;
	if (!(fp = need(&h, "path", true)) || !(fi = need(&h, "pid", false)) ||
	    !(fc = need(&h, "camid", false)))
		return -1;
	if (drop_npy_field_find(&h, "index"))
		return drop_fail("not a ranked-list stream: it starts with query records, "
		                 "not the gallery table");
	if (h.ndim != 1)
		return drop_fail("gallery table is not 1-D");
	/* Read first, in a buffer that grows with the bytes read: only then is h.count known to
	 * be real, and the tables sized by it safe to allocate. */
	void *recs = NULL;
	size_t cap = 0;
	if (drop_npy_read_rows_alloc(f, &h, &recs, &cap, h.count)) {
		free(recs);
		return drop_fail("gallery table: %s", drop_errmsg());
	}
	g->n = h.count;
	g->path = drop_calloc(g->n ? g->n : 1, sizeof *g->path);
	g->pid = drop_calloc(g->n ? g->n : 1, sizeof *g->pid);
	g->camid = drop_calloc(g->n ? g->n : 1, sizeof *g->camid);
	char *pathbuf = g->n ? drop_malloc(fp->size + 1) : NULL; /* g->n: fp->size is real */
	rc = 0;
	for (size_t i = 0; i < g->n && !rc; i++) {
		const char *rec = (const char *)recs + i * h.itemsize;
		drop_npy_get_bytes(fp, rec, pathbuf, fp->size + 1);
		g->path[i] = drop_strdup(pathbuf);
		if (get_id(fi, rec, &g->pid[i]) || get_id(fc, rec, &g->camid[i]))
			rc = drop_fail("gallery item %zu (%s): %s", i, pathbuf, drop_errmsg());
	}
	free(pathbuf);
	free(recs);
	return rc;
}

int drop_ranklist_reader_open(struct drop_ranklist_reader *rr, const char *path,
                         struct drop_ranklist_gallery *g)
{
	memset(rr, 0, sizeof *rr);
	memset(g, 0, sizeof *g);
	rr->f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!rr->f)
		return drop_fail("%s", strerror(errno));
	rr->owns = rr->f != stdin;
	if (read_gallery(rr->f, g))
		goto fail;
	rr->ng = g->n;
	int rc = drop_npy_reader_attach(&rr->r, rr->f, path);
	if (rc < 0)
		goto fail;
	if (rc == 1) /* a gallery table and no query document: no queries */
		return 0;
	const struct drop_npy_header *h = &rr->r.h;
	rr->path = need(h, "path", true);
	rr->pid = rr->path ? need(h, "pid", false) : NULL;
	rr->camid = rr->pid ? need(h, "camid", false) : NULL;
	rr->index = rr->camid ? drop_npy_field_find(h, "index") : NULL;
	rr->dist = rr->index ? drop_npy_field_find(h, "dist") : NULL;
	if (!rr->path || !rr->pid || !rr->camid)
		goto fail;
	if (!rr->index || !rr->dist) {
		drop_fail("not a ranked-list stream: no field '%s'", rr->index ? "dist" : "index");
		goto fail;
	}
	if (!drop_npy_type_is_numeric(rr->index->type) || !drop_npy_type_is_numeric(rr->dist->type) ||
	    rr->index->ndim != 1 || rr->dist->ndim != 1 || rr->index->count != rr->dist->count) {
		drop_fail("not a ranked-list stream: fields 'index' and 'dist' must be 1-D of one "
		          "length");
		goto fail;
	}
	if (rr->index->count > g->n) {
		drop_fail("ranked lists of %zu entries for a gallery of %zu", rr->index->count, g->n);
		goto fail;
	}
	rr->pathbuf = drop_malloc(1); /* grown with the first record (reader_next) */
	rr->ibuf = drop_malloc((rr->index->count + 1) * sizeof *rr->ibuf);
	rr->dbuf = drop_malloc((rr->index->count + 1) * sizeof *rr->dbuf);
	return 0;
fail:
	drop_ranklist_reader_close(rr);
	drop_ranklist_gallery_free(g);
	return -1;
}

int drop_ranklist_reader_next(struct drop_ranklist_reader *rr, struct drop_ranklist_query *q)
{
	if (!rr->pathbuf) /* no query document */
		return 0;
	/* The record buffer grows with the bytes read, not with the itemsize declared. */
	void *rec = rr->rec;
	long got = drop_npy_reader_read_alloc(&rr->r, &rec, &rr->reccap, 1);
	rr->rec = rec;
	if (got <= 0)
		return (int)got;
	size_t k = rr->index->count, qi = rr->nread++;
	if (rr->nread == 1)
		rr->pathbuf = drop_realloc(rr->pathbuf, rr->path->size + 1);
	drop_npy_get_bytes(rr->path, rr->rec, rr->pathbuf, rr->path->size + 1);
	double *tmp = drop_malloc((k + 1) * sizeof *tmp);
	drop_npy_get_f64(rr->index, rr->rec, tmp);
	for (size_t i = 0; i < k; i++) {
		if (!(tmp[i] >= 0 && tmp[i] < (double)rr->ng)) {
			double bad = tmp[i];
			free(tmp);
			return drop_fail("query %zu (%s): gallery index %g out of range [0, %zu)", qi,
			                 rr->pathbuf, bad, rr->ng);
		}
		rr->ibuf[i] = (int32_t)tmp[i];
	}
	free(tmp);
	drop_npy_get_f32(rr->dist, rr->rec, rr->dbuf);
	for (size_t i = 0; i < k; i++)
		if (isnan(rr->dbuf[i]))
			return drop_fail("query %zu (%s): NaN distance", qi, rr->pathbuf);
	q->path = rr->pathbuf;
	if (get_id(rr->pid, rr->rec, &q->pid) || get_id(rr->camid, rr->rec, &q->camid))
		return drop_fail("query %zu (%s): %s", qi, rr->pathbuf, drop_errmsg());
	q->k = k;
	q->index = rr->ibuf;
	q->dist = rr->dbuf;
	return 1;
}

void drop_ranklist_reader_close(struct drop_ranklist_reader *rr)
{
	if (rr->r.name)
		drop_npy_reader_close(&rr->r);
	if (rr->owns && rr->f)
		fclose(rr->f);
	free(rr->rec);
	free(rr->pathbuf);
	free(rr->ibuf);
	free(rr->dbuf);
	memset(rr, 0, sizeof *rr);
}

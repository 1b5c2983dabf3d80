/*
 * ranklist.c - reading and writing the ranked-list stream (see ranklist.h).
 */
#include "ranklist.h"
#include "drop.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Queries per document when writing to a pipe: big enough to amortise the header,
 * small enough that a reader downstream starts early. */
#define BLOCK_QUERIES 256

void ranklist_gallery_free(struct ranklist_gallery *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->path[i]);
	free(g->path);
	free(g->pid);
	free(g->camid);
	memset(g, 0, sizeof *g);
}

/* ---- Writing ---------------------------------------------------------------------------- */

static void id_fields(struct npy_field *f, size_t pathlen)
{
	f[0] = npy_field_make("path", NPY_S, pathlen ? pathlen : 1, 0, NULL);
	f[1] = npy_field_make("pid", NPY_I4, 0, 0, NULL);
	f[2] = npy_field_make("camid", NPY_I4, 0, 0, NULL);
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

int ranklist_write_gallery(FILE *f, const struct ranklist_gallery *g)
{
	size_t pathlen = 1;
	for (size_t i = 0; i < g->n; i++)
		if (strlen(g->path[i]) > pathlen)
			pathlen = strlen(g->path[i]);
	struct npy_field fields[3];
	struct npy_header h;
	id_fields(fields, pathlen);
	if (npy_header_records(&h, fields, 3, g->n))
		return -1;
	char *recs = xcalloc(g->n ? g->n : 1, h.itemsize);
	for (size_t i = 0; i < g->n; i++)
		put_ids(recs + i * h.itemsize, pathlen, g->path[i], g->pid[i], g->camid[i]);
	int rc = npy_write(f, &h, recs);
	free(recs);
	return rc;
}

int ranklist_writer_open(struct ranklist_writer *w, FILE *f, size_t k, size_t pathlen)
{
	struct npy_field fields[5];
	struct npy_header h;
	memset(w, 0, sizeof *w);
	w->k = k;
	w->pathlen = pathlen ? pathlen : 1;
	id_fields(fields, w->pathlen);
	fields[3] = npy_field_make("index", NPY_I4, 0, 1, &k);
	fields[4] = npy_field_make("dist", NPY_F4, 0, 1, &k);
	if (npy_header_records(&h, fields, 5, 0) || npy_writer_open(&w->w, f, &h))
		return -1;
	w->cap = BLOCK_QUERIES;
	w->block = xmalloc(w->cap * h.itemsize);
	return 0;
}

static int flush_block(struct ranklist_writer *w)
{
	int rc = npy_writer_write(&w->w, w->block, w->nblock);
	w->nblock = 0;
	return rc;
}

int ranklist_writer_add(struct ranklist_writer *w, const struct ranklist_query *q)
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

int ranklist_writer_close(struct ranklist_writer *w)
{
	int rc = w->nblock ? flush_block(w) : 0;
	if (!rc)
		rc = npy_writer_close(&w->w);
	free(w->block);
	w->block = NULL;
	return rc;
}

void ranklist_writer_abort(struct ranklist_writer *w)
{
	free(w->block);
	w->block = NULL;
}

/* ---- Reading ---------------------------------------------------------------------------- */

/* The field `name` of h: a byte string, or a numeric scalar. */
static const struct npy_field *need(const struct npy_header *h, const char *name, bool string)
{
	const struct npy_field *f = npy_field_find(h, name);
	if (!f) {
		drop_fail("not a ranked-list stream: no field '%s'", name);
		return NULL;
	}
	if (string ? f->type != NPY_S : !npy_type_is_numeric(f->type) || f->count != 1) {
		drop_fail("not a ranked-list stream: field '%s' has the wrong type or shape", name);
		return NULL;
	}
	return f;
}

static int read_gallery(FILE *f, struct ranklist_gallery *g)
{
	struct npy_header h;
	int rc = npy_read_header(f, &h);
	if (rc <= 0)
		return rc ? -1 : drop_fail("empty input");
	const struct npy_field *fp, *fi, *fc;
	if (!(fp = need(&h, "path", true)) || !(fi = need(&h, "pid", false)) ||
	    !(fc = need(&h, "camid", false)))
		return -1;
	if (npy_field_find(&h, "index"))
		return drop_fail("not a ranked-list stream: it starts with query records, "
		                 "not the gallery table");
	if (h.ndim != 1)
		return drop_fail("gallery table is not 1-D");
	char *recs = xcalloc(h.count ? h.count : 1, h.itemsize);
	if (npy_read_rows(f, &h, recs, h.count)) {
		free(recs);
		return drop_fail("gallery table: %s", drop_errmsg());
	}
	g->n = h.count;
	g->path = xcalloc(g->n ? g->n : 1, sizeof *g->path);
	g->pid = xcalloc(g->n ? g->n : 1, sizeof *g->pid);
	g->camid = xcalloc(g->n ? g->n : 1, sizeof *g->camid);
	for (size_t i = 0; i < g->n; i++) {
		const char *rec = recs + i * h.itemsize;
		g->path[i] = xmalloc(fp->size + 1);
		npy_get_bytes(fp, rec, g->path[i], fp->size + 1);
		g->pid[i] = (int32_t)npy_get_int(fi, rec);
		g->camid[i] = (int32_t)npy_get_int(fc, rec);
	}
	free(recs);
	return 0;
}

int ranklist_reader_open(struct ranklist_reader *rr, const char *path,
                         struct ranklist_gallery *g)
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
	int rc = npy_reader_attach(&rr->r, rr->f, path);
	if (rc < 0)
		goto fail;
	if (rc == 1) /* a gallery table and no query document: no queries */
		return 0;
	const struct npy_header *h = &rr->r.h;
	rr->path = need(h, "path", true);
	rr->pid = rr->path ? need(h, "pid", false) : NULL;
	rr->camid = rr->pid ? need(h, "camid", false) : NULL;
	rr->index = rr->camid ? npy_field_find(h, "index") : NULL;
	rr->dist = rr->index ? npy_field_find(h, "dist") : NULL;
	if (!rr->path || !rr->pid || !rr->camid)
		goto fail;
	if (!rr->index || !rr->dist) {
		drop_fail("not a ranked-list stream: no field '%s'", rr->index ? "dist" : "index");
		goto fail;
	}
	if (!npy_type_is_numeric(rr->index->type) || !npy_type_is_numeric(rr->dist->type) ||
	    rr->index->ndim != 1 || rr->dist->ndim != 1 || rr->index->count != rr->dist->count) {
		drop_fail("not a ranked-list stream: fields 'index' and 'dist' must be 1-D of one "
		          "length");
		goto fail;
	}
	if (rr->index->count > g->n) {
		drop_fail("ranked lists of %zu entries for a gallery of %zu", rr->index->count, g->n);
		goto fail;
	}
	rr->rec = xmalloc(h->itemsize);
	rr->pathbuf = xmalloc(rr->path->size + 1);
	rr->ibuf = xmalloc((rr->index->count + 1) * sizeof *rr->ibuf);
	rr->dbuf = xmalloc((rr->index->count + 1) * sizeof *rr->dbuf);
	return 0;
fail:
	ranklist_reader_close(rr);
	ranklist_gallery_free(g);
	return -1;
}

int ranklist_reader_next(struct ranklist_reader *rr, struct ranklist_query *q)
{
	if (!rr->rec) /* no query document */
		return 0;
	long got = npy_reader_read(&rr->r, rr->rec, 1);
	if (got <= 0)
		return (int)got;
	size_t k = rr->index->count, qi = rr->nread++;
	npy_get_bytes(rr->path, rr->rec, rr->pathbuf, rr->path->size + 1);
	double *tmp = xmalloc((k + 1) * sizeof *tmp);
	npy_get_f64(rr->index, rr->rec, tmp);
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
	npy_get_f32(rr->dist, rr->rec, rr->dbuf);
	for (size_t i = 0; i < k; i++)
		if (isnan(rr->dbuf[i]))
			return drop_fail("query %zu (%s): NaN distance", qi, rr->pathbuf);
	q->path = rr->pathbuf;
	q->pid = (int32_t)npy_get_int(rr->pid, rr->rec);
	q->camid = (int32_t)npy_get_int(rr->camid, rr->rec);
	q->k = k;
	q->index = rr->ibuf;
	q->dist = rr->dbuf;
	return 1;
}

void ranklist_reader_close(struct ranklist_reader *rr)
{
	if (rr->r.name)
		npy_reader_close(&rr->r);
	if (rr->owns && rr->f)
		fclose(rr->f);
	free(rr->rec);
	free(rr->pathbuf);
	free(rr->ibuf);
	free(rr->dbuf);
	memset(rr, 0, sizeof *rr);
}

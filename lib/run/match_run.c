/*
 * match_run.c - drop-match's run: the gallery, the blocks of queries, and the three outputs
 * written block by block (see match_run.h). Three runs: the gallery read whole in one
 * process (every option), by several ranks each reading its share whole (matchrun_ranks),
 * and streamed in blocks, by one process or by each rank over its share (matchrun_stream;
 * one process is rank 0 of 1). The last two share the reading of a rank's share and the
 * gallery table sent to rank 0 (match_share.h), each query's best kept block by block
 * (match_into) and the merge of every rank's best on rank 0 (merge_ranks).
 */
#include "match_run.h"
#include "match_share.h"
#include "../core/drop.h"
#include "../core/ranks.h"
#include "../reid/embedding.h"
#include "../io/list.h"
#include "../io/npy.h"
#include "../io/outfile.h"
#include "../reid/ranklist.h"
#include "../reid/sheet.h"

#include <stdbool.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- Outputs ----------------------------------------------------------------------------- */

/* The output being written. Zero it before output_open. */
struct output {
	enum drop_match_output mode;
	struct drop_out out;          /* out.path set while open */
	struct drop_ranklist_writer rw;    /* DROP_MATCH_RANKLIST */
	struct drop_npy_writer mw;         /* DROP_MATCH_MATRIX */
	size_t k;                     /* ranks per query */
};

/* Ranks per query written for a gallery of ng items. */
static size_t output_ranks(const struct drop_matchrun_opts *o, size_t ng)
{
	size_t k = o->top ? o->top : o->mode == DROP_MATCH_TEXT ? DROP_MATCH_TEXT_TOP : ng;
	return k < ng ? k : ng;
}

/* Open `path` and write what comes before the queries: the matrix header, or the gallery
 * table and the query records' header; k ranks per query out of g's, query paths stored in
 * pathlen bytes. On failure the caller calls output_abort. */
static int output_open(struct output *w, const struct drop_matchrun_opts *o, const char *path,
                       const struct drop_embedding_set *g, size_t pathlen)
{
	w->mode = o->mode;
	w->k = output_ranks(o, g->n);
	if (drop_out_open(&w->out, path, o->mode != DROP_MATCH_TEXT))
		return -1;
	FILE *f = w->out.f;
	if (w->mode == DROP_MATCH_MATRIX) {
		struct drop_npy_header h;
		size_t shape[2] = { 0, g->n };
		return drop_npy_header_plain(&h, NPY_F4, 2, shape) || drop_npy_writer_open(&w->mw, f, &h) ? -1
		                                                                                 : 0;
	}
	if (w->mode == DROP_MATCH_RANKLIST) {
		struct drop_ranklist_gallery rg = { g->n, g->path, g->pid, g->camid };
		if (drop_ranklist_write_gallery(f, &rg) || drop_ranklist_writer_open(&w->rw, f, w->k, pathlen))
			return -1;
	}
	return 0;
}

/* Write the ranked lists of the queries q against g (text or ranked-list stream): index
 * (q->n, k) their gallery indices, nearest first, rdist (q->n, k) the distances. */
static int output_ranked(struct output *w, const struct drop_embedding_set *q,
                         const struct drop_embedding_set *g, const int32_t *index,
                         const float *rdist)
{
	size_t k = w->k;
	for (size_t i = 0; i < q->n; i++) {
		const int32_t *idx = index + i * k;
		const float *d = rdist + i * k;
		if (w->mode == DROP_MATCH_TEXT) {
			for (size_t r = 0; r < k; r++) {
				int32_t j = idx[r];
				const char *same = q->pid[i] == -1 || g->pid[j] == -1 ? "-"
				                   : q->pid[i] == g->pid[j]          ? "1"
				                                                      : "0";
				drop_tsv_field(w->out.f, q->path[i]);
				fprintf(w->out.f, "\t%zu\t", r + 1);
				drop_tsv_field(w->out.f, g->path[j]);
				fprintf(w->out.f, "\t%.6f\t%s\n", d[r], same);
			}
			continue;
		}
		struct drop_ranklist_query rq = { q->path[i], q->pid[i], q->camid[i], k, idx, d };
		if (drop_ranklist_writer_add(&w->rw, &rq))
			return -1;
	}
	return 0;
}

/* Write one block of queries q against g: dist (q->n, g->n) their distances, index
 * (q->n, k) their rankings, sorted (q->n, k) scratch. */
static int output_block(struct output *w, const struct drop_embedding_set *q,
                        const struct drop_embedding_set *g, const float *dist, const int32_t *index,
                        float *sorted)
{
	size_t ng = g->n, k = w->k;
	if (w->mode == DROP_MATCH_MATRIX)
		return drop_npy_writer_write(&w->mw, dist, q->n);
	for (size_t i = 0; i < q->n; i++)
		for (size_t r = 0; r < k; r++)
			sorted[i * k + r] = dist[i * ng + (size_t)index[i * k + r]];
	return output_ranked(w, q, g, index, sorted);
}

/* Discard the output: nothing written stays (stdout's buffer included). Harmless on an
 * output that is closed or was never opened. */
static void output_abort(struct output *w)
{
	drop_ranklist_writer_abort(&w->rw);
	drop_out_abort(&w->out);
}

/* Finish the document and put the output in place; on failure nothing stays. */
static int output_close(struct output *w)
{
	if ((w->mode == DROP_MATCH_MATRIX && drop_npy_writer_close(&w->mw)) ||
	    (w->mode == DROP_MATCH_RANKLIST && drop_ranklist_writer_close(&w->rw))) {
		output_abort(w);
		return -1;
	}
	return drop_out_commit(&w->out);
}

/* ---- The contact sheet ------------------------------------------------------------------- */

/* The image at fault after a failed run, for *file (which outlives the sheet). */
static _Thread_local char bad_image[4096];

/* Draw the sheet's rows for the queries of the block q, while it has rows left: each
 * query's sh->cols nearest items of g, ranked again from dist (q->n, g->n) into idx
 * (sh->cols,), items (sh->cols,) scratch. On failure *file names the image. */
static int sheet_block(struct drop_sheet *sh, const struct drop_embedding_set *q,
                       const struct drop_embedding_set *g, const float *dist, int32_t *idx,
                       struct drop_sheet_item *items, const char **file)
{
	size_t k = (size_t)sh->cols;
	for (size_t i = 0; i < q->n && sh->nrows < sh->rows; i++) {
		drop_match_rank(dist + i * g->n, g->n, k, idx);
		for (size_t r = 0; r < k; r++)
			items[r] = (struct drop_sheet_item){ g->path[idx[r]], g->pid[idx[r]],
			                                     dist[i * g->n + (size_t)idx[r]] };
		struct drop_sheet_item qi = { q->path[i], q->pid[i], 0 };
		if (drop_sheet_add(sh, &qi, items, (int)k) < 0) {
			snprintf(bad_image, sizeof bad_image, "%s", sh->bad);
			*file = bad_image;
			return -1;
		}
	}
	return 0;
}

/* ---- Blocks of queries -------------------------------------------------------------------- */

/* The distances dist (qs->n, G) of the block qs to the gallery gm; qm becomes its side. */
static int block_distances(const struct drop_matchrun_opts *o, struct drop_embedding_set *qs,
                           struct drop_match_side *qm, const struct drop_match_side *gm,
                           float *dist)
{
	drop_match_side_init(qm, qs);
	return drop_match_distances(&o->m, qm, gm, dist);
}

/* Read the rest of the queries into qs (which holds the first block), make qm their side
 * and prepare their re-ranking against the gallery gm. */
static int read_rest(struct drop_embedding_reader *qr, struct drop_embedding_set *qs, size_t nb,
                     struct drop_match_side *qm, struct drop_rerank *rr,
                     const struct drop_matchrun_opts *o, const struct drop_match_side *gm)
{
	long got;
	while ((got = drop_embedding_reader_read(qr, qs, nb)) > 0)
		;
	if (got < 0)
		return -1;
	drop_match_side_init(qm, qs);
	drop_debug("re-ranking %zu queries and %zu gallery items (k1 %d, k2 %d, lambda %g)",
	           qs->n, gm->s->n, o->rerank_opts.k1, o->rerank_opts.k2, o->rerank_opts.lambda);
	return drop_rerank_prepare(rr, &o->rerank_opts, &o->m, qm, gm);
}

/* Several ranks: refuse what needs one process (the caller checks nranks > 1). Returns
 * -1 with *file set, or 0. */
static int ranks_refuse(const struct drop_matchrun_opts *o, const char *gallery,
                        const char *query, const char **file)
{
	if (o->rerank || o->sheet) {
		*file = "drop-match";
		return drop_fail("%s cannot run over several ranks (it needs every distance of a "
		                 "query in one process)", o->rerank ? "--rerank" : "--sheet");
	}
	if (!strcmp(query, "-") || !strcmp(gallery, "-")) {
		*file = "stdin";
		return drop_fail("every rank reads the %s: give it as a file, not stdin",
		                 strcmp(query, "-") ? "gallery" : "queries");
	}
	return 0;
}

/* ---- Each query's best ------------------------------------------------------------------- */

/* The best ranks so far of nq queries: query i's cnt[i] entries at d, j + i * stride,
 * sorted by (distance, gallery index). */
struct best {
	size_t nq, stride, *cnt;
	float *d;
	int32_t *j;
};

/* Make room for k entries per query, keeping those held. */
static void best_grow(struct best *b, size_t k)
{
	if (k <= b->stride)
		return;
	float *d = drop_malloc((b->nq * k + 1) * sizeof *d);
	int32_t *j = drop_malloc((b->nq * k + 1) * sizeof *j);
	for (size_t i = 0; i < b->nq; i++) {
		if (!b->cnt[i]) /* nothing held yet (b->d may still be NULL) */
			continue;
		memcpy(d + i * k, b->d + i * b->stride, b->cnt[i] * sizeof *d);
		memcpy(j + i * k, b->j + i * b->stride, b->cnt[i] * sizeof *j);
	}
	free(b->d);
	free(b->j);
	b->d = d;
	b->j = j;
	b->stride = k;
}

static void best_free(struct best *b)
{
	free(b->cnt);
	free(b->d);
	free(b->j);
	memset(b, 0, sizeof *b);
}

/* Match the gallery records gm (gidx (gm's n,) their gallery indices) against every query
 * of qm, nb at a time (the queries' blocks of the whole-gallery run: the same GEMM
 * shapes), and merge each query's kmax best of them into b. dist (nb, gm's n), idx
 * (nb, kmax), td, tj (kmax,) scratch. */
static int match_into(const struct drop_matchrun_opts *o, const struct drop_match_side *qm,
                      const struct drop_match_side *gm, const int32_t *gidx, size_t kmax,
                      struct best *b, float *dist, int32_t *idx, float *td, int32_t *tj)
{
	size_t ng = gm->s->n, kl = kmax < ng ? kmax : ng, nq = qm->s->n;
	float **sqv = drop_calloc(qm->s->nvec + 1, sizeof *sqv);
	for (size_t i0 = 0; i0 < nq; i0 += o->block) {
		size_t n = nq - i0 < o->block ? nq - i0 : o->block;
		struct drop_embedding_set view = { 0 };
		drop_embedding_view(&view, qm->s, i0, n);
		for (size_t v = 0; v < qm->s->nvec; v++)
			sqv[v] = qm->sq[v] ? qm->sq[v] + i0 : NULL;
		struct drop_match_side sub = { &view, sqv, NULL };
		int rc = drop_match_distances(&o->m, &sub, gm, dist);
		drop_embedding_view_free(&view);
		if (rc) {
			free(sqv);
			return -1;
		}
		drop_match_rank_rows(dist, n, ng, kl, idx);
		for (size_t i = 0; i < n; i++) {
			size_t q = i0 + i;
			for (size_t r = 0; r < kl; r++) {
				td[r] = dist[i * ng + (size_t)idx[i * kl + r]];
				idx[i * kl + r] = gidx[idx[i * kl + r]];
			}
			/* the block's candidates go to dist's row, free now, then merge */
			memcpy(dist + i * ng, td, kl * sizeof *td);
			b->cnt[q] = drop_match_merge(b->d + q * b->stride, b->j + q * b->stride, b->cnt[q],
			                             dist + i * ng, idx + i * kl, kl, kmax, td, tj);
		}
	}
	free(sqv);
	return 0;
}

/* Scratch of merge_ranks for blocks of up to nb queries and k ranks. */
struct merge {
	size_t k;
	float *sd, *rd, *td;          /* sent (nb, k), received on rank 0 (nranks, nb, k), (k,) */
	int32_t *sj, *rj, *tj;
	float *d;                     /* the k best of all, on rank 0: (nb, k) */
	int32_t *j;
};

static void merge_init(struct merge *m, size_t nb, size_t k)
{
	size_t nr = drop_rank() == 0 ? (size_t)drop_nranks() : 0;
	m->k = k;
	m->sd = drop_malloc((nb * k + 1) * sizeof *m->sd);
	m->sj = drop_malloc((nb * k + 1) * sizeof *m->sj);
	m->rd = drop_malloc((nr * nb * k + 1) * sizeof *m->rd);
	m->rj = drop_malloc((nr * nb * k + 1) * sizeof *m->rj);
	m->d = drop_malloc((nb * k + 1) * sizeof *m->d);
	m->j = drop_malloc((nb * k + 1) * sizeof *m->j);
	m->td = drop_malloc((k + 1) * sizeof *m->td);
	m->tj = drop_malloc((k + 1) * sizeof *m->tj);
}

static void merge_free(struct merge *m)
{
	free(m->sd);
	free(m->sj);
	free(m->rd);
	free(m->rj);
	free(m->d);
	free(m->j);
	free(m->td);
	free(m->tj);
	memset(m, 0, sizeof *m);
}

/* Each rank's best of the n queries from q0 in b sent to rank 0 (collective), which keeps
 * each query's m->k best of all in m->d, m->j (n, k), by (distance, gallery index): the
 * order one process gives the whole row (drop_match_merge). A rank holding fewer than k
 * pads its lists with (inf, INT32_MAX), which the k real ones of the gallery pass. */
static void merge_ranks(struct merge *m, const struct best *b, size_t q0, size_t n)
{
	size_t k = m->k, nr = (size_t)drop_nranks();
	for (size_t i = 0; i < n; i++)
		for (size_t r = 0; r < k; r++) {
			bool held = r < b->cnt[q0 + i];
			m->sd[i * k + r] = held ? b->d[(q0 + i) * b->stride + r] : INFINITY;
			m->sj[i * k + r] = held ? b->j[(q0 + i) * b->stride + r] : INT32_MAX;
		}
	drop_ranks_gather0(m->sd, m->rd, n * k * sizeof *m->sd);
	drop_ranks_gather0(m->sj, m->rj, n * k * sizeof *m->sj);
	if (drop_rank() != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		size_t held = 0;
		for (size_t r = 0; r < nr; r++)
			held = drop_match_merge(m->d + i * k, m->j + i * k, held, m->rd + (r * n + i) * k,
			                        m->rj + (r * n + i) * k, k, k, m->td, m->tj);
		DROP_ASSERT(held == k && m->j[i * k + k - 1] != INT32_MAX,
		            "query %zu: fewer than %zu records ranked", q0 + i, k);
	}
}

/* What a ranked match holds besides the sets: this rank's share being read, each query's
 * best, the merge's buffers and the scratch of match_into. */
struct ranked {
	struct drop_match_share sh;
	uint64_t *ns;             /* (nranks,) the size of each rank's share */
	struct best b;
	struct merge m;
	float *dist, *td;         /* match_into's scratch */
	int32_t *idx, *tj;
};

static void ranked_free(struct ranked *x)
{
	drop_match_share_close(&x->sh);
	free(x->ns);
	best_free(&x->b);
	merge_free(&x->m);
	free(x->dist);
	free(x->td);
	free(x->idx);
	free(x->tj);
}

/* ---- Several ranks ----------------------------------------------------------------------- */

/* Rank 0's matrix rows of the block q (queries, gallery) from every rank's columns: its own
 * dist (q->n, ns[0]), the others' received. ns (nranks,) the size of each share. */
static int matrix_rows(struct output *w, size_t nq, size_t ng, const uint64_t *ns, const float *dist)
{
	int nr = drop_nranks();
	size_t most = 0;
	for (int r = 0; r < nr; r++)
		most = ns[r] > most ? (size_t)ns[r] : most;
	float *full = drop_malloc((nq * ng + 1) * sizeof *full);
	float *part = drop_malloc((nq * most + 1) * sizeof *part);
	for (int r = 0; r < nr; r++) {
		size_t cnt = (size_t)ns[r];
		const float *src = r == 0 ? dist : part;
		if (r != 0)
			drop_ranks_recv(r, part, nq * cnt * sizeof *part);
		for (size_t i = 0; i < nq; i++)
			for (size_t l = 0; l < cnt; l++)
				full[i * ng + drop_match_share_index((size_t)r, (size_t)nr, l)] =
					src[i * cnt + l];
	}
	int rc = drop_npy_writer_write(&w->mw, full, nq);
	free(full);
	free(part);
	return rc;
}

/*
 * drop-match as ranks of a job, the gallery read whole: each rank reads only its share
 * (chunks r, r + nranks, ...) and the gallery table's path and ids come to rank 0 from
 * their ranks; every rank reads the queries block by block, ranks its share and sends its
 * k best per query (distance, gallery index) to rank 0, which keeps the k best of all in
 * the order one process gives (distance, then gallery index) and writes the output. With
 * --matrix rank 0 gathers the distances column by column instead.
 */
static int matchrun_ranks(const struct drop_matchrun_opts *o, const char *gallery,
                          const char *query, const char *output, const char **file)
{
	int me = drop_rank(), nr = drop_nranks();
	const char *oname = strcmp(output, "-") ? output : "stdout";
	unsigned kinds = drop_match_kinds(o->m.use);
	struct drop_embedding_set gs = { 0 }, all = { 0 }, qs = { 0 };
	struct drop_embedding_reader qr = { 0 };
	struct drop_match_side gm = { 0 }, qm = { 0 };
	struct output w = { 0 };
	struct ranked x = { .ns = drop_malloc((size_t)nr * sizeof *x.ns) };
	int rc = -1;

	if (ranks_refuse(o, gallery, query, file))
		goto out;
	*file = gallery;
	if (drop_match_share_open(&x.sh, gallery, kinds, &gs) ||
	    drop_match_share_read(&x.sh, &gs, SIZE_MAX) < 0)
		goto out;
	size_t ng = drop_match_share_sizes(gs.n, x.ns);
	if (ng == 0) {
		drop_fail("empty gallery (no records)");
		goto out;
	}
	drop_debug("gallery %s: %zu records, %zu on this rank", gallery, ng, gs.n);
	if (gs.n)
		drop_match_side_init(&gm, &gs);
	drop_match_gallery_table(&gs, x.ns, &all);

	*file = query;
	if (drop_embedding_reader_open(&qr, query, kinds))
		goto out;
	size_t nb = o->block, k = output_ranks(o, ng), kl = k < gs.n ? k : gs.n, done = 0;
	x.dist = drop_malloc((nb * gs.n + 1) * sizeof *x.dist);   /* (nb, mine) */
	x.idx = drop_malloc((nb * kl + 1) * sizeof *x.idx);       /* (nb, kl) */
	x.td = drop_malloc((kl + 1) * sizeof *x.td);
	x.tj = drop_malloc((kl + 1) * sizeof *x.tj);
	x.b.nq = nb;
	x.b.cnt = drop_calloc(nb + 1, sizeof *x.b.cnt);
	best_grow(&x.b, kl);
	merge_init(&x.m, nb, k);
	bool opened = false;
	for (;;) {
		*file = query;
		if (drop_embedding_reader_read(&qr, &qs, nb) < 0 ||
		    (qs.n && drop_embedding_check_compatible(&qs, &gs)))
			goto out; /* every rank reads the same queries: all fail alike */
		if (qs.n && gs.n) {
			/* the block's distances to this rank's share, or its kl best of them */
			drop_match_side_init(&qm, &qs);
			memset(x.b.cnt, 0, nb * sizeof *x.b.cnt);
			if (o->mode == DROP_MATCH_MATRIX
			            ? drop_match_distances(&o->m, &qm, &gm, x.dist)
			            : match_into(o, &qm, &gm, x.sh.gidx, kl, &x.b, x.dist, x.idx, x.td, x.tj))
				goto out;
		}
		*file = oname;
		if (me == 0 && !opened && output_open(&w, o, output, &all, qr.path.size))
			goto out;
		opened = true;
		if (qs.n == 0)
			break;
		if (o->mode == DROP_MATCH_MATRIX) {
			if (me != 0)
				drop_ranks_send(0, x.dist, qs.n * gs.n * sizeof *x.dist);
			else if (matrix_rows(&w, qs.n, ng, x.ns, x.dist))
				goto out;
		} else {
			merge_ranks(&x.m, &x.b, 0, qs.n);
			if (me == 0 && output_ranked(&w, &qs, &all, x.m.j, x.m.d))
				goto out;
		}
		done += qs.n;
		if (o->progress && me == 0)
			fprintf(stderr, "\r%s: %zu queries", drop_progname, done);
		drop_match_side_free(&qm);
		drop_embedding_set_clear(&qs);
	}
	if (o->progress && me == 0)
		fputc('\n', stderr);
	*file = oname;
	if (me == 0 && output_close(&w))
		goto out;
	drop_debug("%zu queries matched", done);
	rc = 0;
out:
	if (rc)
		output_abort(&w);
	ranked_free(&x);
	drop_embedding_reader_close(&qr);
	drop_match_side_free(&qm);
	drop_embedding_set_free(&qs);
	drop_match_side_free(&gm);
	drop_embedding_set_free(&gs);
	drop_match_table_free(&all);
	return rc;
}

/* ---- The gallery streamed ---------------------------------------------------------------- */

/*
 * drop-match with the gallery read in blocks of o->gallery_block records, one process or
 * each rank of a job (one process is rank 0 of 1): every query is read first and
 * normalised once; this rank's share of the gallery (all of it alone) is read in blocks
 * of o->gallery_block of its records, the others' passed over; each block is matched
 * against the queries (in blocks of o->block) and each query's kmax best merged into its
 * best so far by (distance, gallery index). Rank 0 then merges every rank's lists the same
 * way, block of queries by block, and writes them: the output is that of the whole-gallery
 * run, byte for byte. Memory on each rank: the queries, one gallery block, its distances
 * to one block of queries, kmax ranks per query and its share's paths and ids (rank 0:
 * every record's, the output's gallery table). Ranked outputs only (the caller checks).
 */
static int matchrun_stream(const struct drop_matchrun_opts *o, const char *gallery,
                           const char *query, const char *output, const char **file)
{
	int me = drop_rank(), nr = drop_nranks();
	const char *gname = strcmp(gallery, "-") ? gallery : "stdin";
	DROP_ASSERT(o->gallery_block <= INT32_MAX, "gallery block %zu", o->gallery_block);
	const char *oname = strcmp(output, "-") ? output : "stdout";
	unsigned kinds = drop_match_kinds(o->m.use);
	struct drop_embedding_set gs = { 0 }, qs = { 0 }, meta = { 0 }, all = { 0 };
	struct drop_match_side gm = { 0 }, qm = { 0 };
	struct output w = { 0 };
	struct ranked x = { .ns = drop_malloc((size_t)nr * sizeof *x.ns) };
	/* whole chunks of the distances' GEMMs, for the bits of the whole-gallery run */
	size_t gb = (o->gallery_block + DROP_MATCH_CHUNK - 1) / DROP_MATCH_CHUNK * DROP_MATCH_CHUNK;
	size_t kmax = o->top ? o->top : DROP_MATCH_TEXT_TOP;
	size_t mine = 0, cap = 0, qpathlen = 1;
	int rc = -1;

	DROP_ASSERT(o->mode != DROP_MATCH_MATRIX && !o->rerank && !o->sheet, "whole-gallery option");
	DROP_ASSERT(o->top || o->mode == DROP_MATCH_TEXT, "unbounded top");
	if (nr > 1 && ranks_refuse(o, gallery, query, file))
		goto out;
	*file = strcmp(query, "-") ? query : "stdin";
	{
		struct drop_embedding_reader qr;
		if (drop_embedding_reader_open(&qr, query, kinds))
			goto out;
		qpathlen = qr.path.size;
		drop_embedding_set_layout(&qs, &qr);
		long got;
		while ((got = drop_embedding_reader_read(&qr, &qs, LONG_MAX)) > 0)
			;
		drop_embedding_reader_close(&qr);
		if (got < 0)
			goto out;
	}
	drop_match_side_init(&qm, &qs);
	x.b.nq = qs.n;
	x.b.cnt = drop_calloc(qs.n + 1, sizeof *x.b.cnt);

	*file = gallery;
	if (drop_match_share_open(&x.sh, gallery, kinds, &gs))
		goto out;
	size_t kb = kmax < gb ? kmax : gb;
	x.dist = drop_malloc((o->block * gb) * sizeof *x.dist);        /* (block, gb) */
	x.idx = drop_malloc((o->block * kb) * sizeof *x.idx);          /* (block, kb) */
	for (;;) {
		drop_embedding_set_clear(&gs);
		long got = drop_match_share_read(&x.sh, &gs, gb);
		if (got < 0)
			goto out;
		if (got == 0)
			break;
		*file = strcmp(query, "-") ? query : "stdin";
		if (qs.n && drop_embedding_check_compatible(&qs, &gs))
			goto out;
		*file = gallery;
		size_t k = kmax < mine + gs.n ? kmax : mine + gs.n;
		if (k > x.b.stride) {
			best_grow(&x.b, k);
			x.td = drop_realloc(x.td, k * sizeof *x.td);
			x.tj = drop_realloc(x.tj, k * sizeof *x.tj);
		}
		drop_match_side_init(&gm, &gs);
		int mrc = qs.n ? match_into(o, &qm, &gm, x.sh.gidx, k, &x.b, x.dist, x.idx, x.td, x.tj) : 0;
		drop_match_side_free(&gm);
		if (mrc)
			goto out;
		mine += gs.n;
		drop_match_table_append(&meta, &cap, &gs);
		if (o->progress && me == 0)
			fprintf(stderr, "\r%s: %zu gallery records", drop_progname, x.sh.next);
	}
	if (o->progress && me == 0)
		fputc('\n', stderr);
	size_t ng = drop_match_share_sizes(mine, x.ns);
	if (ng == 0) {
		drop_fail("empty gallery (no records)");
		goto out;
	}
	drop_debug("gallery %s: %zu records, %zu on this rank, in blocks of %zu", gname, ng, mine, gb);
	drop_match_gallery_table(&meta, x.ns, &all);
	*file = oname;
	if (me == 0 && output_open(&w, o, output, &all, qpathlen))
		goto out;
	merge_init(&x.m, o->block, output_ranks(o, ng));
	/* in the whole-gallery run's blocks of queries: a pipe gets the same documents */
	for (size_t i0 = 0; i0 < qs.n; i0 += o->block) {
		size_t n = qs.n - i0 < o->block ? qs.n - i0 : o->block;
		merge_ranks(&x.m, &x.b, i0, n);
		if (me != 0)
			continue;
		struct drop_embedding_set view = { 0 };
		drop_embedding_view(&view, &qs, i0, n);
		int wrc = output_ranked(&w, &view, &all, x.m.j, x.m.d);
		drop_embedding_view_free(&view);
		if (wrc)
			goto out;
	}
	if (me == 0 && output_close(&w))
		goto out;
	drop_debug("%zu queries matched", qs.n);
	rc = 0;
out:
	if (rc)
		output_abort(&w);
	ranked_free(&x);
	drop_match_side_free(&qm);
	drop_embedding_set_free(&qs);
	drop_embedding_set_free(&gs);
	drop_match_table_free(&meta);
	drop_match_table_free(&all);
	return rc;
}

/* ---- The run ----------------------------------------------------------------------------- */

int drop_matchrun(const struct drop_matchrun_opts *o, const char *gallery, const char *query,
                  const char *output, const char **file)
{
	const char *qname = strcmp(query, "-") ? query : "stdin";
	const char *oname = strcmp(output, "-") ? output : "stdout";
	unsigned kinds = drop_match_kinds(o->m.use);
	struct drop_embedding_set gs = { 0 }, qs = { 0 };
	struct drop_embedding_reader qr = { 0 };
	struct drop_match_side gm = { 0 }, qm = { 0 };
	struct output w = { 0 };
	struct drop_sheet sh = { 0 };
	struct drop_out so = { 0 };
	struct drop_rerank rr = { 0 };
	struct drop_embedding_set view = { 0 };
	struct drop_sheet_item *items = NULL;
	float *dist = NULL, *sorted = NULL;
	int32_t *index = NULL, *sidx = NULL;
	bool opened = false;
	int rc = -1;

	if (o->gallery_block)
		return matchrun_stream(o, gallery, query, output, file);
	if (drop_nranks() > 1)
		return matchrun_ranks(o, gallery, query, output, file);
	*file = gallery;
	if (drop_embedding_load(gallery, kinds, &gs))
		goto out;
	if (gs.n == 0) {
		drop_fail("empty gallery (no records)");
		goto out;
	}
	if (gs.n > INT32_MAX) {
		drop_fail("gallery too large (%zu records)", gs.n);
		goto out;
	}
	drop_debug("gallery %s: %zu records, K = %zu, D = %zu", gallery, gs.n, gs.K, gs.D);
	drop_match_side_init(&gm, &gs);
	if (o->sheet) {
		size_t sk = o->sheet_top < gs.n ? o->sheet_top : gs.n;
		*file = o->sheet;
		if (drop_sheet_init(&sh, (int)o->sheet_queries, (int)sk, o->sheet_root))
			goto out;
		sidx = drop_malloc(sk * sizeof *sidx);                /* (sk,) */
		items = drop_malloc(sk * sizeof *items);              /* (sk,) */
	}

	/* The first block is read, checked and drawn before any output, so bad queries or a
	 * missing image of the sheet leave none. */
	*file = qname;
	if (drop_embedding_reader_open(&qr, query, kinds))
		goto out;
	size_t nb = o->block;
	if (drop_embedding_reader_read(&qr, &qs, nb) < 0 || drop_embedding_check_compatible(&qs, &gs))
		goto out;
	/* Re-ranking needs every query at once (their distances to each other): read them
	 * all, then go through them in blocks of views. */
	if (o->rerank && read_rest(&qr, &qs, nb, &qm, &rr, o, &gm))
		goto out;

	size_t ng = gs.n, k = output_ranks(o, ng), done = 0;
	dist = drop_malloc(nb * ng * sizeof *dist);                 /* (nb, ng) */
	index = drop_malloc((nb * k + 1) * sizeof *index);          /* (nb, k) */
	sorted = drop_malloc((nb * k + 1) * sizeof *sorted);        /* (nb, k) */
	for (;;) {
		/* the block: the records read (qs), or the next view of them when re-ranking */
		struct drop_embedding_set *cur = &qs;
		if (o->rerank) {
			drop_embedding_view_free(&view);
			drop_embedding_view(&view, &qs, done, qs.n - done < nb ? qs.n - done : nb);
			cur = &view;
		}
		if (cur->n > 0) {
			*file = qname;
			if (o->rerank ? drop_rerank_distances(&rr, done, cur->n, dist)
			              : block_distances(o, &qs, &qm, &gm, dist))
				goto out;
			if (o->sheet && sheet_block(&sh, cur, &gs, dist, sidx, items, file))
				goto out;
		}
		*file = oname;
		if (!opened && output_open(&w, o, output, &gs, qr.path.size))
			goto out;
		opened = true;
		if (cur->n == 0)
			break;
		if (w.mode != DROP_MATCH_MATRIX)
			drop_match_rank_rows(dist, cur->n, ng, k, index);
		if (output_block(&w, cur, &gs, dist, index, sorted))
			goto out;
		done += cur->n;
		if (o->progress)
			fprintf(stderr, "\r%s: %zu queries", drop_progname, done);
		if (o->rerank)
			continue;
		drop_match_side_free(&qm);
		drop_embedding_set_clear(&qs);
		*file = qname;
		if (drop_embedding_reader_read(&qr, &qs, nb) < 0)
			goto out;
	}
	if (o->progress)
		fputc('\n', stderr);
	if (o->sheet) {
		*file = o->sheet;
		if (drop_out_open(&so, o->sheet, true) || drop_sheet_write(&sh, so.f))
			goto out;
		drop_debug("sheet %s: %d queries, top %d", o->sheet, sh.nrows, sh.cols);
	}
	*file = oname;
	if (output_close(&w))
		goto out;
	*file = o->sheet;
	if (o->sheet && drop_out_commit(&so))
		goto out;
	drop_debug("%zu queries matched", done);
	rc = 0;
out:
	if (rc) {
		output_abort(&w);
		drop_out_abort(&so);
	}
	free(dist);
	free(index);
	free(sorted);
	free(sidx);
	free(items);
	drop_sheet_free(&sh);
	drop_embedding_reader_close(&qr);
	drop_embedding_view_free(&view);
	drop_rerank_free(&rr);
	drop_match_side_free(&qm);
	drop_embedding_set_free(&qs);
	drop_match_side_free(&gm);
	drop_embedding_set_free(&gs);
	return rc;
}

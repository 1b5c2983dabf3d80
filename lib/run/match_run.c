/*
 * match_run.c - drop-match's run: the gallery, the blocks of queries, and the three outputs
 * written block by block (see match_run.h).
 */
#include "match_run.h"
#include "../core/drop.h"
#include "../reid/embedding.h"
#include "../io/list.h"
#include "../io/npy.h"
#include "../io/outfile.h"
#include "../reid/ranklist.h"
#include "../reid/sheet.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
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

/* Write one block of queries q against g: dist (q->n, g->n) their distances, index
 * (q->n, k) their rankings, sorted (k,) scratch. */
static int output_block(struct output *w, const struct drop_embedding_set *q,
                        const struct drop_embedding_set *g, const float *dist, const int32_t *index,
                        float *sorted)
{
	size_t ng = g->n, k = w->k;
	if (w->mode == DROP_MATCH_MATRIX)
		return drop_npy_writer_write(&w->mw, dist, q->n);
	for (size_t i = 0; i < q->n; i++) {
		const int32_t *idx = index + i * k;
		const float *row = dist + i * ng;
		if (w->mode == DROP_MATCH_TEXT) {
			for (size_t r = 0; r < k; r++) {
				int32_t j = idx[r];
				const char *same = q->pid[i] == -1 || g->pid[j] == -1 ? "-"
				                   : q->pid[i] == g->pid[j]          ? "1"
				                                                      : "0";
				drop_tsv_field(w->out.f, q->path[i]);
				fprintf(w->out.f, "\t%zu\t", r + 1);
				drop_tsv_field(w->out.f, g->path[j]);
				fprintf(w->out.f, "\t%.6f\t%s\n", row[j], same);
			}
			continue;
		}
		for (size_t r = 0; r < k; r++)
			sorted[r] = row[idx[r]];
		struct drop_ranklist_query rq = { q->path[i], q->pid[i], q->camid[i], k, idx, sorted };
		if (drop_ranklist_writer_add(&w->rw, &rq))
			return -1;
	}
	return 0;
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
	sorted = drop_malloc((k + 1) * sizeof *sorted);             /* (k,) */
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

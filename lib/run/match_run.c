/*
 * match_run.c - drop-match's run: the gallery, the blocks of queries, and the three outputs
 * written block by block (see match_run.h).
 */
#include "match_run.h"
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

/* ---- Several ranks ----------------------------------------------------------------------- */

/* Gallery records are dealt in chunks of SHARD_CHUNK: chunk c to rank c % nranks. */
#define SHARD_CHUNK 1024

/* This rank's share of the gallery stream: the records of its chunks in mine (normalised
 * later), and on rank 0 the path, pid and camid of every record in all (n, path, pid, camid
 * only), for the outputs. gidx (mine->n,) maps a record of mine to its gallery index. The
 * other ranks seek over the chunks not theirs (drop_embedding_reader_skip), walking the
 * documents' headers; rank 0 reads every record for the outputs' paths and ids. */
static int load_share(const char *path, unsigned kinds, struct drop_embedding_set *mine,
                      struct drop_embedding_set *all, int32_t **gidx)
{
	struct drop_embedding_reader er;
	struct drop_embedding_set chunk = { 0 };
	size_t me = (size_t)drop_rank(), nr = (size_t)drop_nranks(), total = 0, cap = 0;
	if (drop_embedding_reader_open(&er, path, kinds))
		return -1;
	drop_embedding_set_layout(mine, &er);
	long got = 0;
	*gidx = NULL;
	for (size_t c = 0;; c++) {
		bool own = c % nr == me;
		struct drop_embedding_set *into = own ? mine : &chunk;
		size_t before = into->n, n = 0;
		if (!own && me != 0) {
			/* another rank's chunk: passed over, seeked in a file */
			while (n < SHARD_CHUNK && (got = drop_embedding_reader_skip(&er, SHARD_CHUNK - n)) > 0)
				n += (size_t)got;
		} else {
			/* a chunk can take several reads (one per document of a stream) */
			while (into->n - before < SHARD_CHUNK &&
			       (got = drop_embedding_reader_read(&er, into, SHARD_CHUNK - (into->n - before))) > 0)
				;
			n = into->n - before;
		}
		if (got < 0 || (total + n > INT32_MAX && (got = drop_fail("gallery too large")) < 0))
			break;
		if (own) {
			*gidx = drop_realloc(*gidx, (mine->n + 1) * sizeof **gidx);
			for (size_t i = 0; i < n; i++)
				(*gidx)[before + i] = (int32_t)(total + i);
		}
		if (me == 0 && n) {
			if (all->n + n > cap) {
				cap = 2 * (all->n + n);
				all->path = drop_realloc(all->path, cap * sizeof *all->path);
				all->pid = drop_realloc(all->pid, cap * sizeof *all->pid);
				all->camid = drop_realloc(all->camid, cap * sizeof *all->camid);
			}
			for (size_t i = 0; i < n; i++) {
				all->path[all->n + i] = drop_strdup(into->path[before + i]);
				all->pid[all->n + i] = into->pid[before + i];
				all->camid[all->n + i] = into->camid[before + i];
			}
			all->n += n;
		}
		total += n;
		drop_embedding_set_clear(&chunk);
		if (n < SHARD_CHUNK)
			break;
	}
	drop_embedding_set_free(&chunk);
	drop_embedding_reader_close(&er);
	return got < 0 ? -1 : 0;
}

/* One ranked candidate: a gallery index and its distance. */
struct cand {
	float d;
	int32_t j;
};

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->d != y->d)
		return x->d < y->d ? -1 : 1;
	return (x->j > y->j) - (x->j < y->j);
}

static void free_meta(struct drop_embedding_set *all)
{
	for (size_t i = 0; i < all->n; i++)
		free(all->path[i]);
	free(all->path);
	free(all->pid);
	free(all->camid);
	memset(all, 0, sizeof *all);
}

/*
 * drop-match as ranks of a job: rank r holds the gallery chunks r, r + nranks, ...; every
 * rank reads the queries block by block, ranks its share and sends its k best per query
 * (distance, gallery index) to rank 0, which keeps the k best of all in the order one
 * process gives (distance, then gallery index) and writes the output. With --matrix rank
 * 0 gathers the distances column by column instead. Re-ranking and sheets need every
 * distance of a query on one rank: they are refused.
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
	int32_t *gidx = NULL, *index = NULL;
	float *dist = NULL, *rd = NULL;
	struct cand *sendc = NULL, *recvc = NULL, *pool = NULL;
	int rc = -1;

	*file = query;
	if (o->rerank || o->sheet) {
		drop_fail("%s cannot run over several ranks (it needs every distance of a "
		          "query in one process)", o->rerank ? "--rerank" : "--sheet");
		*file = "drop-match";
		goto out;
	}
	if (o->gallery_block) {
		drop_fail("--gallery-block runs in one process (each rank holds its share of "
		          "the gallery)");
		*file = "drop-match";
		goto out;
	}
	if (!strcmp(query, "-") || !strcmp(gallery, "-")) {
		drop_fail("every rank reads the %s: give it as a file, not stdin",
		          strcmp(query, "-") ? "gallery" : "queries");
		*file = "stdin";
		goto out;
	}
	*file = gallery;
	if (load_share(gallery, kinds, &gs, &all, &gidx))
		goto out;
	/* the gallery size, from every rank's share */
	uint64_t mine_n = gs.n, *ns = drop_malloc((size_t)nr * sizeof *ns);
	drop_ranks_allgather(&mine_n, ns, sizeof mine_n);
	size_t ng = 0;
	for (int r = 0; r < nr; r++)
		ng += (size_t)ns[r];
	free(ns);
	if (ng == 0) {
		drop_fail("empty gallery (no records)");
		goto out;
	}
	drop_debug("gallery %s: %zu records, %zu on this rank", gallery, ng, gs.n);
	if (gs.n)
		drop_match_side_init(&gm, &gs);

	*file = query;
	if (drop_embedding_reader_open(&qr, query, kinds))
		goto out;
	size_t nb = o->block, k = output_ranks(o, ng), kl = k < gs.n ? k : gs.n, done = 0;
	dist = drop_malloc((nb * (gs.n ? gs.n : 1)) * sizeof *dist);   /* (nb, mine) */
	index = drop_malloc((nb * k + 1) * sizeof *index);              /* (nb, k) */
	rd = drop_malloc((nb * k + 1) * sizeof *rd);                    /* (nb, k) */
	sendc = drop_malloc((nb * k + 1) * sizeof *sendc);             /* (nb, k) */
	if (me == 0) {
		recvc = drop_malloc(((size_t)nr * nb * k + 1) * sizeof *recvc);
		pool = drop_malloc(((size_t)nr * k + 1) * sizeof *pool);
	}
	bool opened = false;
	for (;;) {
		*file = query;
		if (drop_embedding_reader_read(&qr, &qs, nb) < 0 ||
		    (qs.n && drop_embedding_check_compatible(&qs, &gs)))
			goto out; /* every rank reads the same queries: all fail alike */
		if (qs.n && gs.n && block_distances(o, &qs, &qm, &gm, dist))
			goto out;
		*file = oname;
		if (me == 0 && !opened && output_open(&w, o, output, &all, qr.path.size))
			goto out;
		opened = true;
		if (qs.n == 0)
			break;
		if (o->mode == DROP_MATCH_MATRIX) {
			/* rank 0 puts each rank's columns in place, row by row */
			if (me != 0) {
				drop_ranks_send(0, dist, qs.n * gs.n * sizeof *dist);
			} else {
				float *full = drop_malloc(qs.n * ng * sizeof *full);
				float *part = drop_malloc(qs.n * SHARD_CHUNK * ((ng + SHARD_CHUNK - 1) /
				                          SHARD_CHUNK) * sizeof *part);
				for (int r = 0; r < nr; r++) {
					/* rank r's records: chunks r, r + nr, ... in order */
					size_t cnt = 0;
					for (size_t c = (size_t)r; c * SHARD_CHUNK < ng; c += (size_t)nr)
						cnt += ng - c * SHARD_CHUNK < SHARD_CHUNK ? ng - c * SHARD_CHUNK
						                                          : SHARD_CHUNK;
					const float *src = r == 0 ? dist : part;
					if (r != 0)
						drop_ranks_recv(r, part, qs.n * cnt * sizeof *part);
					for (size_t i = 0; i < qs.n; i++)
						for (size_t l = 0; l < cnt; l++) {
							size_t c = (size_t)r + (l / SHARD_CHUNK) * (size_t)nr;
							full[i * ng + c * SHARD_CHUNK + l % SHARD_CHUNK] =
								src[i * cnt + l];
						}
				}
				int wrc = drop_npy_writer_write(&w.mw, full, qs.n);
				free(full);
				free(part);
				if (wrc)
					goto out;
			}
		} else {
			/* this rank's kl best per query, padded to k with (inf, INT32_MAX) */
			if (kl)
				drop_match_rank_rows(dist, qs.n, gs.n, kl, index);
			for (size_t i = 0; i < qs.n; i++)
				for (size_t r = 0; r < k; r++)
					sendc[i * k + r] = r < kl ? (struct cand){ dist[i * gs.n + (size_t)index[i * kl + r]],
					                                          gidx[index[i * kl + r]] }
					                          : (struct cand){ INFINITY, INT32_MAX };
			drop_ranks_gather0(sendc, recvc, qs.n * k * sizeof *sendc);
			if (me == 0) {
				for (size_t i = 0; i < qs.n; i++) {
					for (int r = 0; r < nr; r++)
						memcpy(pool + (size_t)r * k, recvc + ((size_t)r * qs.n + i) * k,
						       k * sizeof *pool);
					qsort(pool, (size_t)nr * k, sizeof *pool, cmp_cand);
					for (size_t r = 0; r < k; r++) {
						index[i * k + r] = pool[r].j;
						rd[i * k + r] = pool[r].d;
					}
				}
				if (output_ranked(&w, &qs, &all, index, rd))
					goto out;
			}
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
	free(gidx);
	free(index);
	free(dist);
	free(rd);
	free(sendc);
	free(recvc);
	free(pool);
	drop_embedding_reader_close(&qr);
	drop_match_side_free(&qm);
	drop_embedding_set_free(&qs);
	drop_match_side_free(&gm);
	drop_embedding_set_free(&gs);
	free_meta(&all);
	return rc;
}

/* ---- The gallery streamed ---------------------------------------------------------------- */

/* Append the path, pid and camid of every record of g to all (n, path, pid, camid only). */
static void keep_meta(struct drop_embedding_set *all, size_t *cap, const struct drop_embedding_set *g)
{
	if (all->n + g->n > *cap) {
		*cap = 2 * (all->n + g->n);
		all->path = drop_realloc(all->path, *cap * sizeof *all->path);
		all->pid = drop_realloc(all->pid, *cap * sizeof *all->pid);
		all->camid = drop_realloc(all->camid, *cap * sizeof *all->camid);
	}
	for (size_t i = 0; i < g->n; i++) {
		all->path[all->n + i] = drop_strdup(g->path[i]);
		all->pid[all->n + i] = g->pid[i];
		all->camid[all->n + i] = g->camid[i];
	}
	all->n += g->n;
}

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

/* Match the block gm (gallery indices from g0) against every query of qm, nb at a time
 * (the queries' blocks of the whole-gallery run: the same GEMM shapes), and merge each
 * query's kmax best of the block into b. dist (nb, gm's n), idx (nb, kmax), td, tj (kmax,)
 * scratch. */
static int stream_block(const struct drop_matchrun_opts *o, const struct drop_match_side *qm,
                        const struct drop_match_side *gm, size_t g0, size_t kmax,
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
				idx[i * kl + r] += (int32_t)g0;
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

/*
 * drop-match with the gallery read in blocks of o->gallery_block records: every query is
 * read first and normalised once; each gallery block is matched against them (in blocks
 * of o->block queries) and each query's kmax best of the block merged into its best so
 * far by (distance, gallery index), the order of the whole row: the output is that of the
 * whole-gallery run, byte for byte. Memory: the queries, one gallery block, its distances
 * to one block of queries, kmax ranks per query and every gallery record's path and ids
 * (the output's gallery table and lines). Ranked outputs only (the caller checks).
 */
static int matchrun_stream(const struct drop_matchrun_opts *o, const char *gallery,
                           const char *query, const char *output, const char **file)
{
	const char *gname = strcmp(gallery, "-") ? gallery : "stdin";
	DROP_ASSERT(o->gallery_block <= INT32_MAX, "gallery block %zu", o->gallery_block);
	const char *oname = strcmp(output, "-") ? output : "stdout";
	unsigned kinds = drop_match_kinds(o->m.use);
	struct drop_embedding_set gs = { 0 }, qs = { 0 }, all = { 0 };
	struct drop_embedding_reader gr = { 0 };
	struct drop_match_side gm = { 0 }, qm = { 0 };
	struct output w = { 0 };
	struct best b = { 0 };
	float *dist = NULL, *td = NULL;
	int32_t *idx = NULL, *tj = NULL;
	/* whole chunks of the distances' GEMMs, for the bits of the whole-gallery run */
	size_t gb = (o->gallery_block + DROP_MATCH_CHUNK - 1) / DROP_MATCH_CHUNK * DROP_MATCH_CHUNK;
	size_t kmax = o->top ? o->top : DROP_MATCH_TEXT_TOP;
	size_t ng = 0, cap = 0, qpathlen = 1;
	int rc = -1;

	DROP_ASSERT(o->mode != DROP_MATCH_MATRIX && !o->rerank && !o->sheet, "whole-gallery option");
	DROP_ASSERT(o->top || o->mode == DROP_MATCH_TEXT, "unbounded top");
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
	b.nq = qs.n;
	b.cnt = drop_calloc(qs.n + 1, sizeof *b.cnt);

	*file = gallery;
	if (drop_embedding_reader_open(&gr, gallery, kinds))
		goto out;
	size_t kb = kmax < gb ? kmax : gb;
	dist = drop_malloc((o->block * gb) * sizeof *dist);        /* (block, gb) */
	idx = drop_malloc((o->block * kb) * sizeof *idx);          /* (block, kb) */
	for (;;) {
		long got = 1;
		drop_embedding_set_clear(&gs);
		/* a block can take several reads (one per document of a stream) */
		while (gs.n < gb && (got = drop_embedding_reader_read(&gr, &gs, gb - gs.n)) > 0)
			;
		if (got < 0)
			goto out;
		if (gs.n == 0)
			break;
		if (ng + gs.n > INT32_MAX) {
			drop_fail("gallery too large (more than %d records)", INT32_MAX);
			goto out;
		}
		*file = strcmp(query, "-") ? query : "stdin";
		if (qs.n && drop_embedding_check_compatible(&qs, &gs))
			goto out;
		*file = gallery;
		keep_meta(&all, &cap, &gs);
		size_t k = kmax < ng + gs.n ? kmax : ng + gs.n;
		if (k > b.stride) {
			best_grow(&b, k);
			td = drop_realloc(td, k * sizeof *td);
			tj = drop_realloc(tj, k * sizeof *tj);
		}
		drop_match_side_init(&gm, &gs);
		int mrc = qs.n ? stream_block(o, &qm, &gm, ng, k, &b, dist, idx, td, tj) : 0;
		drop_match_side_free(&gm);
		if (mrc)
			goto out;
		ng += gs.n;
		if (o->progress)
			fprintf(stderr, "\r%s: %zu gallery records", drop_progname, ng);
		if (gs.n < gb && got == 0)
			break;
	}
	if (o->progress)
		fputc('\n', stderr);
	if (ng == 0) {
		drop_fail("empty gallery (no records)");
		goto out;
	}
	drop_debug("gallery %s: %zu records in blocks of %zu", gname, ng, gb);
	*file = oname;
	if (output_open(&w, o, output, &all, qpathlen))
		goto out;
	DROP_ASSERT(w.k == b.stride, "k %zu, stride %zu", w.k, b.stride);
	/* in the whole-gallery run's blocks of queries: a pipe gets the same documents */
	for (size_t i0 = 0; i0 < qs.n; i0 += o->block) {
		struct drop_embedding_set view = { 0 };
		drop_embedding_view(&view, &qs, i0, qs.n - i0 < o->block ? qs.n - i0 : o->block);
		int wrc = output_ranked(&w, &view, &all, b.j + i0 * b.stride, b.d + i0 * b.stride);
		drop_embedding_view_free(&view);
		if (wrc)
			goto out;
	}
	if (output_close(&w))
		goto out;
	drop_debug("%zu queries matched", qs.n);
	rc = 0;
out:
	if (rc)
		output_abort(&w);
	free(dist);
	free(idx);
	free(td);
	free(tj);
	free(b.cnt);
	free(b.d);
	free(b.j);
	drop_embedding_reader_close(&gr);
	drop_match_side_free(&qm);
	drop_embedding_set_free(&qs);
	drop_embedding_set_free(&gs);
	free_meta(&all);
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

	if (drop_nranks() > 1)
		return matchrun_ranks(o, gallery, query, output, file);
	if (o->gallery_block)
		return matchrun_stream(o, gallery, query, output, file);
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

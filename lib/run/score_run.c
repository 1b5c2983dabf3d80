/*
 * score_run.c - the two inputs of drop-score, the per-query file and the printed totals
 * (see score_run.h).
 */
#include "score_run.h"
#include "../core/drop.h"
#include "../io/list.h"
#include "../io/npy.h"
#include "../io/outfile.h"
#include "../reid/ranklist.h"

#include <stdlib.h>
#include <string.h>

/* Distance-matrix rows ranked at a time: about 2^24 distances, 1 to 64 rows. */
#define DIST_BLOCK_VALUES ((size_t)1 << 24)
#define DIST_BLOCK_MAX_ROWS 64

/* A file's name in messages: "stdin" for "-". */
static const char *shown(const char *name)
{
	return strcmp(name, "-") ? name : "stdin";
}

/* *file = the shown name of `name`; returns -1 (drop_errmsg() is set by the caller). */
static int fail_at(const char **file, const char *name)
{
	*file = shown(name);
	return -1;
}

static const char *protocol_name(enum drop_metrics_protocol p)
{
	return p == METRICS_CUHK03 ? "cuhk03-single-shot" : "market";
}

/* ---- The per-query file ------------------------------------------------------------------ */

static int per_query_open(struct drop_out *pq, const char *path, enum drop_metrics_protocol p)
{
	if (drop_out_open(pq, path, false))
		return -1;
	fprintf(pq->f,
	        "# drop-score per-query results, protocol %s; skipped queries have '-' in the\n"
	        "# last three columns. first_hit: 1-based position of the first true match.\n"
	        "# query\tpath\tpid\tcamid\tAP\tfirst_hit\tINP\n",
	        protocol_name(p));
	return 0;
}

/* One row of the per-query file, when it is open (pq->f set). */
static void per_query_row(const struct drop_out *pq, size_t qi, const char *path, int32_t pid,
                          int32_t camid, const struct drop_metrics_query *r)
{
	if (!pq->f)
		return;
	fprintf(pq->f, "%zu\t", qi);
	drop_tsv_field(pq->f, path);
	if (r->valid)
		fprintf(pq->f, "\t%d\t%d\t%.10g\t%zu\t%.10g\n", (int)pid, (int)camid, r->ap,
		        r->first_hit, r->inp);
	else
		fprintf(pq->f, "\t%d\t%d\t-\t-\t-\n", (int)pid, (int)camid);
}

/* ---- The two inputs ---------------------------------------------------------------------- */

/* Score drop-match's ranked-list stream o->input into s. */
static int score_stream(const struct drop_scorerun_opts *o, const struct drop_out *pq,
                        struct drop_scores *s, const char **file)
{
	struct drop_ranklist_reader rr;
	struct drop_ranklist_gallery g;
	struct drop_ranklist_query q;
	if (drop_ranklist_reader_open(&rr, o->input, &g))
		return fail_at(file, o->input);
	/* Keep the identities for the accumulator, not the paths. */
	size_t ng = g.n;
	s->gpid = g.pid;
	s->gcam = g.camid;
	g.pid = g.camid = NULL;
	drop_ranklist_gallery_free(&g);

	int rc = -1, got = 0;
	if (drop_metrics_init(&s->acc, o->protocol, o->max_rank, o->seed, ng, s->gpid, s->gcam))
		goto out;
	while ((got = drop_ranklist_reader_next(&rr, &q)) == 1) {
		struct drop_metrics_query r;
		if (drop_metrics_add(&s->acc, q.pid, q.camid, q.index, q.k, &r)) {
			drop_fail("query %zu (%s): %s", s->acc.nquery, q.path, drop_errmsg());
			goto out;
		}
		per_query_row(pq, s->acc.nquery - 1, q.path, q.pid, q.camid, &r);
		if (s->has_roc && r.valid)
			drop_roc_add(&s->pairs, q.pid, q.camid, s->gpid, s->gcam, ng, q.index, q.dist,
			             q.k);
	}
	rc = got < 0 ? -1 : 0;
out:
	drop_ranklist_reader_close(&rr);
	if (rc)
		return fail_at(file, o->input);
	if (s->acc.min_k < s->acc.ng)
		drop_warn("%s: ranked lists hold the top %zu of %zu gallery items: mAP and mINP "
		          "are lower bounds (true matches beyond them count as ranked last)",
		          shown(o->input), s->acc.min_k, s->acc.ng);
	return 0;
}

/* Rank and score the rows of the open matrix r, (ql->n, ng), block by block into s. */
static int score_rows(const struct drop_scorerun_opts *o, const struct drop_out *pq,
                      struct drop_npy_reader *r, const struct drop_list *ql, struct drop_scores *s,
                      const char **file)
{
	size_t ng = s->acc.ng, block = DIST_BLOCK_VALUES / ng;
	block = block < 1 ? 1 : block > DIST_BLOCK_MAX_ROWS ? DIST_BLOCK_MAX_ROWS : block;
	char *rows = drop_malloc(block * ng * r->h.base.size);          /* (block, ng) */
	int32_t *order = drop_malloc(block * ng * sizeof *order);       /* (block, ng) */
	float *drow = NULL;                                             /* (ng,) one row */
	int32_t *all = NULL;                                            /* (ng,) 0..ng-1 */
	struct drop_npy_field fr = r->h.base;                           /* one row's scalars */
	fr.count = ng;
	fr.offset = 0;
	if (s->has_roc) {
		drow = drop_malloc(ng * sizeof *drow);
		all = drop_malloc(ng * sizeof *all);
		for (size_t j = 0; j < ng; j++)
			all[j] = (int32_t)j;
	}
	size_t nq = 0;
	long got;
	int rc = -1;
	while ((got = drop_npy_reader_read(r, rows, block)) > 0) {
		if (nq + (size_t)got > ql->n) {
			drop_fail("more than %zu rows, the number of queries in %s", ql->n, o->query);
			goto out;
		}
		if (drop_metrics_rank_rows(&r->h, rows, (size_t)got, ng, nq, order))
			goto out;
		for (size_t i = 0; i < (size_t)got; i++, nq++) {
			const struct drop_list_item *it = &ql->items[nq];
			struct drop_metrics_query res;
			if (drop_metrics_add(&s->acc, it->pid, it->camid, order + i * ng, ng, &res)) {
				drop_fail("row %zu: %s", nq, drop_errmsg());
				goto out;
			}
			per_query_row(pq, nq, it->path, it->pid, it->camid, &res);
			if (s->has_roc && res.valid) {
				drop_npy_get_f32(&fr, rows + i * ng * r->h.base.size, drow);
				drop_roc_add(&s->pairs, it->pid, it->camid, s->gpid, s->gcam, ng, all,
				             drow, ng);
			}
		}
	}
	if (got < 0)
		goto out;
	if (nq != ql->n) {
		drop_fail("%zu rows, but %zu queries in %s", nq, ql->n, o->query);
		goto out;
	}
	rc = 0;
out:
	free(rows);
	free(order);
	free(drow);
	free(all);
	return rc ? fail_at(file, o->dist) : 0;
}

/* Score the distance matrix o->dist with its lists o->query and o->gallery into s. */
static int score_dist(const struct drop_scorerun_opts *o, const struct drop_out *pq,
                      struct drop_scores *s, const char **file)
{
	struct drop_list ql = { 0 }, gl = { 0 };
	struct drop_npy_reader r = { 0 };
	int rc = -1;
	if (drop_list_read(o->query, &ql)) {
		fail_at(file, o->query);
		goto out;
	}
	if (drop_list_read(o->gallery, &gl)) {
		fail_at(file, o->gallery);
		goto out;
	}
	size_t ng = gl.n;
	s->gpid = drop_malloc((ng + 1) * sizeof *s->gpid);
	s->gcam = drop_malloc((ng + 1) * sizeof *s->gcam);
	for (size_t j = 0; j < ng; j++) {
		s->gpid[j] = gl.items[j].pid;
		s->gcam[j] = gl.items[j].camid;
	}
	drop_list_free(&gl);

	if (drop_npy_reader_open(&r, o->dist)) {
		fail_at(file, o->dist);
		goto out;
	}
	char desc[256];
	drop_npy_header_describe(&r.h, desc, sizeof desc);
	if (r.h.nfields || !drop_npy_type_is_numeric(r.h.base.type) || r.h.ndim != 2) {
		drop_fail("expected a 2-D numeric distance matrix, got %s", desc);
		fail_at(file, o->dist);
	} else if (r.h.shape[1] != ng) {
		drop_fail("%zu columns, but %zu gallery items in %s", r.h.shape[1], ng, o->gallery);
		fail_at(file, o->dist);
	} else if (drop_metrics_init(&s->acc, o->protocol, o->max_rank, o->seed, ng, s->gpid,
	                        s->gcam)) {
		fail_at(file, o->gallery);
	} else {
		rc = score_rows(o, pq, &r, &ql, s, file);
	}
out:
	drop_npy_reader_close(&r);
	drop_list_free(&ql);
	drop_list_free(&gl);
	return rc;
}

/* ---- The ROC curve ---------------------------------------------------------------------- */

/* The curve of the pairs collected in s, and its TSV and PNG files. */
static int roc_write(const struct drop_scorerun_opts *o, struct drop_scores *s,
                     const char **file)
{
	struct drop_out t = { 0 }, p = { 0 };
	int rc = drop_roc_curve(&s->pairs, &s->roc);
	drop_roc_free(&s->pairs);
	if (rc)
		return fail_at(file, o->dist ? o->dist : o->input);
	if (o->roc) {
		*file = o->roc;
		if (drop_out_open(&t, o->roc, false))
			goto fail;
		drop_roc_write_tsv(t.f, &s->roc);
	}
	if (o->roc_plot) {
		*file = o->roc_plot;
		if (drop_out_open(&p, o->roc_plot, true) || drop_roc_write_png(p.f, &s->roc))
			goto fail;
	}
	*file = o->roc;
	if (o->roc && drop_out_commit(&t))
		goto fail;
	*file = o->roc_plot;
	if (o->roc_plot && drop_out_commit(&p))
		goto fail;
	return 0;
fail:
	drop_out_abort(&t);
	drop_out_abort(&p);
	return -1;
}

/* ---- The run ----------------------------------------------------------------------------- */

int drop_scorerun(const struct drop_scorerun_opts *o, struct drop_scores *s, const char **file)
{
	struct drop_out pq = { 0 };
	memset(s, 0, sizeof *s);
	s->has_roc = o->roc || o->roc_plot;
	if (o->per_query && per_query_open(&pq, o->per_query, o->protocol))
		return fail_at(file, o->per_query);
	int rc = o->dist ? score_dist(o, &pq, s, file) : score_stream(o, &pq, s, file);
	if (!rc && s->acc.nvalid == 0) {
		if (s->acc.nquery == 0)
			drop_fail("no queries");
		else
			drop_fail("no valid query: none of the %zu queries has a true match in the "
			          "gallery (same-camera and junk items left out)", s->acc.nquery);
		rc = fail_at(file, o->dist ? o->dist : o->input);
	}
	if (!rc && s->has_roc)
		rc = roc_write(o, s, file);
	if (rc) {
		drop_out_abort(&pq);
		drop_scores_free(s);
		return -1;
	}
	if (pq.f && drop_out_commit(&pq)) {
		drop_scores_free(s);
		return fail_at(file, o->per_query);
	}
	return 0;
}

void drop_scores_print(FILE *f, const struct drop_scores *s, const size_t *ranks,
                       size_t nranks, bool json)
{
	const struct drop_metrics_acc *acc = &s->acc;
	if (json) {
		fprintf(f, "{\"queries\": %zu, \"mAP\": %.10g, \"mINP\": %.10g, \"cmc\": {",
		        acc->nvalid, drop_metrics_map(acc), drop_metrics_minp(acc));
		for (size_t i = 0; i < nranks; i++)
			fprintf(f, "%s\"%zu\": %.10g", i ? ", " : "", ranks[i],
			        drop_metrics_cmc(acc, ranks[i]));
		fprintf(f, "}");
		if (s->has_roc) {
			const struct drop_roc_curve *c = &s->roc;
			fprintf(f, ", \"roc\": {\"positives\": %zu, \"negatives\": %zu, "
			           "\"tpr_at_fpr\": {", c->npos, c->nneg);
			for (int i = 0; i < DROP_ROC_NFPR; i++)
				fprintf(f, "%s\"%s\": %.10g", i ? ", " : "", drop_roc_fpr_names[i],
				        c->tpr_at[i]);
			fprintf(f, "}, \"eer\": %.10g}", c->eer);
		}
		fprintf(f, "}\n");
		return;
	}
	fprintf(f, "Protocol %s: %zu valid queries, %zu skipped\n", protocol_name(acc->protocol),
	        acc->nvalid, acc->nquery - acc->nvalid);
	fprintf(f, "%-9s %6.2f%%\n", "mAP", 100 * drop_metrics_map(acc));
	fprintf(f, "%-9s %6.2f%%\n", "mINP", 100 * drop_metrics_minp(acc));
	for (size_t i = 0; i < nranks; i++) {
		char name[32];
		snprintf(name, sizeof name, "Rank-%zu", ranks[i]);
		fprintf(f, "%-9s %6.2f%%\n", name, 100 * drop_metrics_cmc(acc, ranks[i]));
	}
	if (!s->has_roc)
		return;
	const struct drop_roc_curve *c = &s->roc;
	fprintf(f, "Verification: %zu positive, %zu negative query-gallery pairs\n", c->npos,
	        c->nneg);
	for (int i = 0; i < DROP_ROC_NFPR; i++) {
		char name[32];
		snprintf(name, sizeof name, "TPR@FPR=%s", drop_roc_fpr_names[i]);
		fprintf(f, "%-14s %6.2f%%\n", name, 100 * c->tpr_at[i]);
	}
	fprintf(f, "%-14s %6.2f%%\n", "EER", 100 * c->eer);
}

void drop_scores_free(struct drop_scores *s)
{
	drop_metrics_free(&s->acc);
	drop_roc_free(&s->pairs);
	drop_roc_curve_free(&s->roc);
	free(s->gpid);
	free(s->gcam);
	memset(s, 0, sizeof *s);
}

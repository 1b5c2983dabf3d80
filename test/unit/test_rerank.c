/*
 * tests: lib/reid/rerank.c - k-reciprocal re-ranking against an independent NumPy
 * transcription of torchreid's dense re_ranking (fixtures from scripts/make-rerank-fixtures):
 * every re-ranked distance within 1e-4 and the same ranking of every query, for the
 * default parameters, k1 odd and even (round half to even), k2 = 1 (no query expansion),
 * lambda 0 and 1, k1 = 1, the cosine metric on G alone, and Q and G smaller than k1; a
 * query whose identity is not in the gallery; bit-identical results for 1 and 2 threads
 * (and within 1e-6 for other query blocks);
 * lambda = 1 ranks as the original distances do.
 * also requires: test/fixtures/rerank (committed)
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/core/drop.h"
#include "../../lib/io/npy.h"
#include "../../lib/reid/embedding.h"
#include "../../lib/reid/match.h"
#include "../../lib/reid/rerank.h"
#include "tap.h"

#define FIX "test/fixtures/rerank/"

struct rcase {
	const char *name, *set;
	unsigned use;
	enum drop_match_metric metric;
	int k1, k2;
	double lambda;
};

static const struct rcase cases[] = {
	{ "default", "", MATCH_F | MATCH_P, MATCH_EUCLIDEAN, 20, 6, 0.3 },
	{ "k1_5_k2_1", "", MATCH_F | MATCH_P, MATCH_EUCLIDEAN, 5, 1, 0.3 },
	{ "k1_7_k2_3_l0", "", MATCH_F | MATCH_P, MATCH_EUCLIDEAN, 7, 3, 0.0 },
	{ "l1", "", MATCH_F | MATCH_P, MATCH_EUCLIDEAN, 20, 6, 1.0 },
	{ "k1_1_k2_2", "", MATCH_F | MATCH_P, MATCH_EUCLIDEAN, 1, 2, 0.5 },
	{ "G_cosine", "", MATCH_G, MATCH_COSINE, 10, 4, 0.3 },
	{ "small", "small_", MATCH_F | MATCH_P, MATCH_EUCLIDEAN, 20, 6, 0.3 },
};

/* A loaded query and gallery, normalised, and the options of a case. */
struct fixture {
	struct drop_embedding_set qs, gs;
	struct drop_match_side q, g;
	struct drop_match_opts m;
	struct drop_rerank_opts o;
};

static int fixture_load(struct fixture *f, const struct rcase *c)
{
	char qp[256], gp[256];
	memset(f, 0, sizeof *f);
	snprintf(qp, sizeof qp, FIX "%squery.npy", c->set);
	snprintf(gp, sizeof gp, FIX "%sgallery.npy", c->set);
	f->m = (struct drop_match_opts){ .use = c->use, .vis_threshold = 0.4f,
	                                 .metric = c->metric };
	f->o = (struct drop_rerank_opts){ c->k1, c->k2, c->lambda };
	unsigned kinds = drop_match_kinds(c->use);
	if (drop_embedding_load(qp, kinds, &f->qs) || drop_embedding_load(gp, kinds, &f->gs))
		return -1;
	drop_match_side_init(&f->q, &f->qs);
	drop_match_side_init(&f->g, &f->gs);
	return 0;
}

static void fixture_free(struct fixture *f)
{
	drop_match_side_free(&f->q);
	drop_match_side_free(&f->g);
	drop_embedding_set_free(&f->qs);
	drop_embedding_set_free(&f->gs);
}

/* The re-ranked distances (Q, G) of f, the queries applied in blocks of `block`; NULL on
 * failure. */
static float *rerank(const struct fixture *f, size_t block)
{
	size_t nq = f->qs.n, ng = f->gs.n;
	float *dist = drop_malloc(nq * ng * sizeof *dist);
	struct drop_rerank r;
	if (drop_rerank_prepare(&r, &f->o, &f->m, &f->q, &f->g)) {
		free(dist);
		return NULL;
	}
	int rc = 0;
	for (size_t q0 = 0; q0 < nq && !rc; q0 += block)
		rc = drop_rerank_distances(&r, q0, nq - q0 < block ? nq - q0 : block, dist + q0 * ng);
	drop_rerank_free(&r);
	if (rc) {
		free(dist);
		return NULL;
	}
	return dist;
}

/* Whether every row of a and b (n, m) ranks its columns in the same order. */
static int same_ranking(const float *a, const float *b, size_t n, size_t m)
{
	int32_t *ia = drop_malloc(n * m * sizeof *ia), *ib = drop_malloc(n * m * sizeof *ib);
	drop_match_rank_rows(a, n, m, m, ia);
	drop_match_rank_rows(b, n, m, m, ib);
	int same = !memcmp(ia, ib, n * m * sizeof *ia);
	free(ia);
	free(ib);
	return same;
}

static void test_reference(void)
{
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		const struct rcase *rc = &cases[c];
		struct fixture f;
		char path[256];
		struct drop_npy_array ref = { 0 };
		snprintf(path, sizeof path, FIX "rr_%s.npy", rc->name);
		int ok = !fixture_load(&f, rc) && !drop_npy_load_f32(path, &ref);
		CHECK(ok, "%s: fixtures load (%s)", rc->name, drop_errmsg());
		if (!ok)
			continue;
		size_t nq = f.qs.n, ng = f.gs.n;
		CHECK(ref.h.ndim == 2 && ref.h.shape[0] == nq && ref.h.shape[1] == ng,
		      "%s: reference is [%zu, %zu]", rc->name, nq, ng);
		float *got = rerank(&f, 5);
		CHECK(got != NULL, "%s: re-ranked (%s)", rc->name, drop_errmsg());
		if (got && ref.h.ndim == 2) {
			const float *want = ref.data;
			double worst = 0;
			for (size_t i = 0; i < nq * ng; i++)
				worst = fmax(worst, fabs((double)got[i] - want[i]));
			CHECK(worst <= 1e-4, "%s: every distance within 1e-4 of NumPy's (worst %.3g)",
			      rc->name, worst);
			CHECK(same_ranking(got, want, nq, ng), "%s: the same ranking of every query",
			      rc->name);
		}
		free(got);
		drop_npy_array_free(&ref);
		fixture_free(&f);
	}
}

/* 1 and 2 threads: the same bits; blocks of 1 and of every query: the same ranking. */
static void test_threads(void)
{
	struct fixture f;
	if (fixture_load(&f, &cases[0])) {
		CHECK(0, "fixtures load (%s)", drop_errmsg());
		return;
	}
	size_t n = f.qs.n * f.gs.n;
	omp_set_num_threads(1);
	float *a = rerank(&f, 1), *c = rerank(&f, f.qs.n);
	omp_set_num_threads(2);
	float *b = rerank(&f, f.qs.n);
	/* a block's GEMM may round otherwise than a larger one's (OpenBLAS picks its kernel by
	 * size): within float rounding, the same ranking */
	double worst = 0;
	for (size_t i = 0; a && c && i < n; i++)
		worst = fmax(worst, fabs((double)a[i] - c[i]));
	CHECK(a && c && worst <= 1e-6 && same_ranking(a, c, f.qs.n, f.gs.n),
	      "blocks of 1 query or of all: within 1e-6 (%.3g), the same ranking", worst);
	CHECK(b && c && !memcmp(b, c, n * sizeof *a), "1 and 2 threads: the same bits");
	free(a);
	free(b);
	free(c);
	fixture_free(&f);
}

/* lambda = 1 leaves o(i, j) = d^2 / max d^2 alone: the original ranking. */
static void test_lambda_one(void)
{
	struct fixture f;
	if (fixture_load(&f, &cases[3])) {
		CHECK(0, "fixtures load (%s)", drop_errmsg());
		return;
	}
	size_t nq = f.qs.n, ng = f.gs.n;
	float *orig = drop_malloc(nq * ng * sizeof *orig);
	float *rr = rerank(&f, nq);
	CHECK(rr && !drop_match_distances(&f.m, &f.q, &f.g, orig) &&
	              same_ranking(rr, orig, nq, ng),
	      "lambda 1: the ranking of the original distances");
	free(orig);
	free(rr);
	fixture_free(&f);
}

int main(void)
{
	test_reference();
	test_threads();
	test_lambda_one();
	return tap_done();
}

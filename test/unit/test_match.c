/*
 * tests: lib/reid/match.c and lib/reid/embedding.c - distances against an independent NumPy
 * reference (fixtures from scripts/make-match-fixtures) and against a naive
 * double-precision reference written here (random cases: invisible parts, near-duplicates,
 * zero vectors, every --use, cosine, gallery sizes off the chunk size); bit-identical
 * results for 1 and 3 threads; the same through a device's memory in blocks of any size
 * (cpu-strict bit for bit; a GPU within 1e-5 where there is one); ranking (full and top-k) against qsort with ties; the
 * embedding stream: write/read round trip, several documents, float64 fields, missing
 * fields, bad shapes, NaN, truncation, K/D mismatch.
 * also requires: test/fixtures/match (committed)
 */
#include <math.h>
#include <stdbool.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../kernels/maths/maths.h"
#include "../../lib/core/drop.h"
#include "../../lib/reid/embedding.h"
#include "../../lib/reid/match.h"
#include "../../lib/io/npy.h"
#include "../../kernels/ops.h"
#include "tap.h"

#define FIX "test/fixtures/match/"

/* ---- A small deterministic generator (xorshift64*) ---------------------------------------- */

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static double urand(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double)((rng_state * 0x2545f4914f6cdd1dull) >> 11) * 0x1p-53;
}

static float nrand(void)
{
	double u1 = 1.0 - urand(), u2 = urand();
	return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* ---- Building sets by hand ---------------------------------------------------------------- */

static void set_make(struct drop_embedding_set *s, size_t n, size_t K, size_t D)
{
	memset(s, 0, sizeof *s);
	s->n = s->cap = n;
	s->K = K;
	s->D = D;
	s->kinds = EMB_GLOBAL | EMB_FG | EMB_PARTS;
	s->nvec = 2 + K;
	s->path = drop_calloc(n, sizeof *s->path);
	s->pid = drop_calloc(n, sizeof *s->pid);
	s->camid = drop_calloc(n, sizeof *s->camid);
	s->vec = drop_calloc(s->nvec, sizeof *s->vec);
	for (size_t v = 0; v < s->nvec; v++) {
		s->vec[v] = drop_malloc(n * D * sizeof(float));
		for (size_t i = 0; i < n * D; i++)
			s->vec[v][i] = nrand();
	}
	s->vis = drop_malloc(n * K * sizeof(float));
	for (size_t i = 0; i < n; i++) {
		char p[32];
		snprintf(p, sizeof p, "x%zu.jpg", i);
		s->path[i] = drop_strdup(p);
		s->pid[i] = (int32_t)(i % 5);
		for (size_t k = 0; k < K; k++) {
			/* Some exactly at the threshold (not visible), some just above. */
			double u = urand();
			s->vis[i * K + k] = u < 0.1 ? 0.4f : u < 0.2 ? nextafterf(0.4f, 1) : (float)urand();
		}
	}
}

/* A copy of every vector of s, as double (the reference keeps its own). */
static double *copy_vecs(const struct drop_embedding_set *s)
{
	double *c = drop_malloc(s->nvec * s->n * s->D * sizeof *c);
	for (size_t v = 0; v < s->nvec; v++)
		for (size_t i = 0; i < s->n * s->D; i++)
			c[v * s->n * s->D + i] = s->vec[v][i];
	return c;
}

/* The naive reference: double precision, distances from the difference, independent
 * loops. x: (nvec, n, D) as copy_vecs made it. */
static void naive(const struct drop_match_opts *o, const struct drop_embedding_set *q, const double *xq,
                  const struct drop_embedding_set *g, const double *xg, double *dist)
{
	size_t D = q->D, K = q->K;
	for (size_t i = 0; i < q->n; i++)
		for (size_t j = 0; j < g->n; j++) {
			double sum = 0;
			int n = 0;
			for (size_t v = 0; v < q->nvec; v++) {
				if (v == 0 && !(o->use & MATCH_G))
					continue;
				if (v == 1 && !(o->use & MATCH_F))
					continue;
				if (v >= 2 && (!(o->use & MATCH_P) || !(q->vis[i * K + v - 2] > o->vis_threshold &&
				                                        g->vis[j * K + v - 2] > o->vis_threshold)))
					continue;
				const double *a = xq + (v * q->n + i) * D, *b = xg + (v * g->n + j) * D;
				double na = 0, nb = 0;
				for (size_t d = 0; d < D; d++) {
					na += a[d] * a[d];
					nb += b[d] * b[d];
				}
				na = fmax(sqrt(na), 1e-12);
				nb = fmax(sqrt(nb), 1e-12);
				double e = 0;
				for (size_t d = 0; d < D; d++) {
					if (o->metric == MATCH_COSINE)
						e += (a[d] / na) * (b[d] / nb);
					else
						e += (a[d] / na - b[d] / nb) * (a[d] / na - b[d] / nb);
				}
				sum += o->metric == MATCH_COSINE ? 1 - e : sqrt(e);
				n++;
			}
			dist[i * g->n + j] = n ? sum / n : 3.0;
		}
}

static double max_abs_diff(const float *a, const double *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++)
		m = fmax(m, fabs(a[i] - b[i]));
	return m;
}

/* One random case: distances equal the naive reference to 1e-5, for 1 and 3 threads
 * bit-identically. */
/* Device budgets: one chunk a block, a middle one (set per case), the default. */
static const size_t budgets[] = { 1, 0, 0 };
static bool cuda_missing; /* a case found no usable GPU */

/* The distances through a device's memory (lib/reid/match.c's distances_device), the
 * gallery in blocks of one chunk, of about two and of the default budget: cpu-strict
 * (the CPU's GEMM behind a device's discipline) gives the host path's d1 bit for bit, and
 * a GPU, where there is one, ref within the host path's 1e-5. */
static void devices_case(const struct drop_match_opts *o0, const struct drop_match_side *mq,
                         const struct drop_match_side *mg, const float *d1, const double *ref)
{
	size_t nq = mq->s->n, ng = mg->s->n;
	float *d = drop_malloc(nq * ng * sizeof *d);
	static const char *const names[] = { "cpu-strict", "cuda" };
	for (int b = 0; b < 2; b++) {
		struct drop_match_opts o = *o0;
		o.be = drop_backend_get(names[b], NULL);
		if (!o.be) {
			cuda_missing = true;
			continue;
		}
		for (size_t i = 0; i < sizeof budgets / sizeof *budgets; i++) {
			/* the middle budget: the queries and 512 gallery items at most */
			size_t rows = nq * (2 + mq->s->K), D = mq->s->D;
			o.device_budget = i == 1 ? (rows * D + 512 * ((2 + mq->s->K) * D + rows)) * 4
			                         : budgets[i];
			memset(d, 0xff, nq * ng * sizeof *d);
			int rc = drop_match_distances(&o, mq, mg, d);
			if (b == 0) {
				CHECK(rc == 0 && !memcmp(d, d1, nq * ng * sizeof *d),
				      "  cpu-strict, device budget %zu: the cpu's bits", o.device_budget);
			} else {
				double err = max_abs_diff(d, ref, nq * ng);
				CHECK(rc == 0 && err <= 1e-5, "  cuda, device budget %zu: max error %.2g",
				      o.device_budget, err);
			}
		}
	}
	free(d);
}

static void random_case(size_t nq, size_t ng, size_t K, size_t D, unsigned use,
                        enum drop_match_metric metric, float thr, int dupes)
{
	struct drop_embedding_set q, g;
	set_make(&q, nq, K, D);
	set_make(&g, ng, K, D);
	/* Near-duplicates (distances about 1e-5, 1e-3, 0.15, 0.3: both sides of the switch to
	 * the direct form), scaled copies (distance 0), zero vectors. */
	static const double noise[5] = { 1e-5, 1e-3, 0.15, 0.3, 0 };
	for (size_t i = 0; dupes && i < nq; i++) {
		size_t j = (i * 7) % ng;
		for (size_t v = 0; v < q.nvec; v++)
			for (size_t d = 0; d < D; d++)
				q.vec[v][i * D + d] = g.vec[v][j * D + d] * (i % 5 == 4 ? 3.0f : 1.0f) +
				                      (float)(noise[i % 5] * nrand());
		memcpy(q.vis + i * K, g.vis + j * K, K * sizeof *q.vis);
		if (i % 4 == 3)
			memset(q.vec[1] + i * D, 0, D * sizeof(float));
	}
	if (dupes && ng > 1)
		memset(g.vec[EMB_VEC_PART] + D, 0, D * sizeof(float)); /* item 1, part 1 */

	double *xq = copy_vecs(&q), *xg = copy_vecs(&g), *ref = drop_malloc(nq * ng * sizeof *ref);
	struct drop_match_opts o = { .use = use, .vis_threshold = thr, .metric = metric };
	naive(&o, &q, xq, &g, xg, ref);

	struct drop_match_side mq, mg;
	drop_match_side_init(&mq, &q);
	drop_match_side_init(&mg, &g);
	float *d1 = drop_malloc(nq * ng * sizeof *d1), *d3 = drop_malloc(nq * ng * sizeof *d3);
	omp_set_num_threads(1);
	int rc = drop_match_distances(&o, &mq, &mg, d1);
	omp_set_num_threads(3);
	rc |= drop_match_distances(&o, &mq, &mg, d3);
	double err = max_abs_diff(d1, ref, nq * ng);
	CHECK(rc == 0 && err <= 1e-5, "%zux%zu K=%zu D=%zu use=%u %s thr=%.2f%s: max error %.2g",
	      nq, ng, K, D, use, metric == MATCH_COSINE ? "cosine" : "euclidean", thr,
	      dupes ? " near-duplicates" : "", err);
	CHECK(!memcmp(d1, d3, nq * ng * sizeof *d1), "  same bits with 1 and 3 threads");
	devices_case(&o, &mq, &mg, d1, ref);

	drop_match_side_free(&mq);
	drop_match_side_free(&mg);
	drop_embedding_set_free(&q);
	drop_embedding_set_free(&g);
	free(xq);
	free(xg);
	free(ref);
	free(d1);
	free(d3);
}

/* Device blocks: whole chunks of 256 within the budget, at least one, at most the gallery's. */
static void test_device_block(void)
{
	CHECK(drop_match_device_block(1, 100, 10, 1000) == 256, "a budget below the queries: one chunk");
	CHECK(drop_match_device_block(100 + 10 * 700, 100, 10, 10000) == 512,
	      "700 items' room: two chunks");
	CHECK(drop_match_device_block((size_t)1 << 40, 100, 10, 1000) == 1024,
	      "room for all: the gallery rounded up to a chunk");
	CHECK(drop_match_device_block(100 + 10 * 255, 100, 10, 1) == 256, "a gallery of one");
}

static void test_random(void)
{
	static const unsigned uses[] = { MATCH_G, MATCH_F, MATCH_P, MATCH_G | MATCH_F,
		                         MATCH_F | MATCH_P, MATCH_G | MATCH_F | MATCH_P };
	for (size_t u = 0; u < 6; u++)
		random_case(9, 301, 4, 33, uses[u], MATCH_EUCLIDEAN, 0.4f, 1);
	random_case(5, 40, 8, 512, MATCH_F | MATCH_P, MATCH_EUCLIDEAN, 0.4f, 1);
	random_case(13, 517, 8, 512, MATCH_G | MATCH_F | MATCH_P, MATCH_EUCLIDEAN, 0.4f, 0);
	random_case(7, 260, 3, 64, MATCH_F | MATCH_P, MATCH_COSINE, 0.4f, 1);
	random_case(6, 50, 2, 1, MATCH_F | MATCH_P, MATCH_EUCLIDEAN, 0.4f, 1);
	random_case(4, 30, 5, 16, MATCH_P, MATCH_EUCLIDEAN, 0.9f, 0); /* mostly none shared */
	random_case(4, 30, 5, 16, MATCH_F | MATCH_P, MATCH_EUCLIDEAN, 0.0f, 1);
	random_case(1, 1, 1, 8, MATCH_F | MATCH_P, MATCH_EUCLIDEAN, 0.4f, 1);
	if (cuda_missing) {
		CHECK(!getenv("DROP_TEST_STRICT") || strcmp(getenv("DROP_TEST_STRICT"), "1"),
		      "# SKIP the CUDA cases: no usable GPU (a failure under DROP_TEST_STRICT=1)");
	}
}

/* ---- The NumPy fixtures ---------------------------------------------------------------------- */

static void fixture_case(const char *name, unsigned use, enum drop_match_metric metric, float thr)
{
	struct drop_embedding_set q, g;
	struct drop_npy_array want;
	char path[256];
	snprintf(path, sizeof path, FIX "dist_%s.npy", name);
	unsigned kinds = drop_match_kinds(use);
	int rc = drop_embedding_load(FIX "gallery.npy", kinds, &g);
	rc |= drop_embedding_load(FIX "query.npy", kinds, &q);
	rc |= drop_npy_load(path, &want);
	CHECK(rc == 0, "fixture %s loads (%s)", name, rc ? drop_errmsg() : "ok");
	if (rc)
		return;
	CHECK(want.h.ndim == 2 && want.h.shape[0] == q.n && want.h.shape[1] == g.n,
	      "  expected matrix is [%zu, %zu]", q.n, g.n);
	double *ref = drop_malloc(want.h.count * sizeof *ref);
	struct drop_npy_field f = want.h.base;
	f.count = want.h.count;
	drop_npy_get_f64(&f, want.data, ref);
	struct drop_match_side mq, mg;
	drop_match_side_init(&mq, &q);
	drop_match_side_init(&mg, &g);
	float *dist = drop_malloc(q.n * g.n * sizeof *dist);
	struct drop_match_opts o = { .use = use, .vis_threshold = thr, .metric = metric };
	rc = drop_match_distances(&o, &mq, &mg, dist);
	double err = max_abs_diff(dist, ref, q.n * g.n);
	CHECK(rc == 0 && err <= 1e-5, "  %s equals NumPy's to 1e-5 (max error %.2g)", name, err);
	free(dist);
	free(ref);
	drop_npy_array_free(&want);
	drop_match_side_free(&mq);
	drop_match_side_free(&mg);
	drop_embedding_set_free(&q);
	drop_embedding_set_free(&g);
}

static void test_fixtures(void)
{
	for (int u = 0; drop_match_use_names[u]; u++)
		fixture_case(drop_match_use_names[u], drop_match_use_bits[u], MATCH_EUCLIDEAN, 0.4f);
	fixture_case("F+P_cosine", MATCH_F | MATCH_P, MATCH_COSINE, 0.4f);
	fixture_case("F+P_t0.6", MATCH_F | MATCH_P, MATCH_EUCLIDEAN, 0.6f);
	fixture_case("G+F+P_t0", MATCH_G | MATCH_F | MATCH_P, MATCH_EUCLIDEAN, 0.0f);
}

/* ---- Ranking ------------------------------------------------------------------------------- */

struct pair {
	float d;
	int32_t i;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	if (x->d != y->d)
		return x->d < y->d ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

static void test_rank(void)
{
	static const size_t sizes[] = { 1, 2, 17, 300, 5000 };
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		size_t ng = sizes[s];
		float *row = drop_malloc(ng * sizeof *row);
		struct pair *p = drop_malloc(ng * sizeof *p);
		int32_t *idx = drop_malloc(ng * sizeof *idx);
		for (size_t j = 0; j < ng; j++) {
			/* Few distinct values: many ties; -0 and +0 tie too; cosine can go negative. */
			int v = (int)(urand() * 7);
			row[j] = v == 0 ? -0.0f : v == 1 ? 0.0f : v == 2 ? -1e-7f : (float)v / 4;
			p[j] = (struct pair){ row[j], (int32_t)j };
		}
		qsort(p, ng, sizeof *p, pair_cmp);
		size_t ks[] = { 1, 3, ng / 16 + 1, ng / 2 + 1, ng };
		for (size_t t = 0; t < 5; t++) {
			size_t k = ks[t] > ng ? ng : ks[t];
			drop_match_rank(row, ng, k, idx);
			int same = 1;
			for (size_t r = 0; r < k; r++)
				same &= idx[r] == p[r].i;
			CHECK(same, "rank %zu of %zu (ties by index) equals qsort", k, ng);
		}
		free(row);
		free(p);
		free(idx);
	}
}

static void test_rank_rows(void)
{
	enum { NQ = 5, NG = 300, K = 7 };
	float *d = drop_malloc(NQ * NG * sizeof *d);
	int32_t rows[NQ * K], one[K];
	for (int i = 0; i < NQ * NG; i++)
		d[i] = (float)(int)(urand() * 50);
	drop_match_rank_rows(d, NQ, NG, K, rows);
	int same = 1;
	for (int i = 0; i < NQ; i++) {
		drop_match_rank(d + i * NG, NG, K, one);
		same &= !memcmp(one, rows + i * K, sizeof one);
	}
	CHECK(same, "match_rank_rows ranks each row as drop_match_rank does");
	free(d);
}

/* ---- The embedding stream ------------------------------------------------------------------ */

static void fill_record(struct drop_embedding_record *e, float *buf, size_t K, size_t D, int i)
{
	for (size_t j = 0; j < (2 + K) * D + K; j++)
		buf[j] = (float)(i * 1000 + (int)j) / 7;
	e->global = buf;
	e->fg = buf + D;
	e->parts = buf + 2 * D;
	e->vis = buf + (2 + K) * D;
	e->pid = i;
	e->camid = -i;
}

static void test_roundtrip(void)
{
	const size_t K = 3, D = 5, N = 150; /* more than one writer block */
	char path[] = "/tmp/test_match_XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "wb");
	struct drop_npy_header h;
	struct drop_embedding_writer ew;
	float buf[(2 + 3) * 5 + 3];
	int rc = drop_embedding_header(&h, K, D, 12, 0) || drop_embedding_writer_open(&ew, f, &h);
	for (size_t i = 0; i < N && !rc; i++) {
		struct drop_embedding_record e;
		char p[32];
		snprintf(p, sizeof p, "img%zu.jpg", i);
		e.path = p;
		fill_record(&e, buf, K, D, (int)i);
		rc = drop_embedding_writer_add(&ew, &e);
	}
	struct drop_embedding_record toolong = { .path = "a-path-of-more-than-12-bytes.jpg" };
	fill_record(&toolong, buf, K, D, 0);
	CHECK(drop_embedding_writer_add(&ew, &toolong) == -1 && strstr(drop_errmsg(), "longer"),
	      "a path longer than the field is refused (%s)", drop_errmsg());
	rc |= drop_embedding_writer_close(&ew);
	fclose(f);
	CHECK(rc == 0, "write %zu records (%s)", N, rc ? drop_errmsg() : "ok");

	struct drop_embedding_set s;
	rc = drop_embedding_load(path, EMB_GLOBAL | EMB_FG | EMB_PARTS, &s);
	CHECK(rc == 0 && s.n == N && s.K == K && s.D == D, "read back: %zu records, K %zu, D %zu",
	      s.n, s.K, s.D);
	if (!rc) {
		int ok = 1;
		for (size_t i = 0; i < N; i++) {
			struct drop_embedding_record e;
			fill_record(&e, buf, K, D, (int)i);
			char p[32];
			snprintf(p, sizeof p, "img%zu.jpg", i);
			ok &= !strcmp(s.path[i], p) && s.pid[i] == (int)i && s.camid[i] == -(int)i;
			ok &= !memcmp(s.vec[0] + i * D, e.global, D * 4) &&
			      !memcmp(s.vec[1] + i * D, e.fg, D * 4) && !memcmp(s.vis + i * K, e.vis, K * 4);
			for (size_t k = 0; k < K; k++)
				ok &= !memcmp(s.vec[2 + k] + i * D, e.parts + k * D, D * 4);
		}
		CHECK(ok, "every path, id, vector and score read back");
		drop_embedding_set_free(&s);
	}

	/* Only fg requested: parts are not read at all. */
	rc = drop_embedding_load(path, EMB_FG, &s);
	CHECK(rc == 0 && s.K == 0 && s.nvec == 2 && !s.vec[0] && s.vec[1] && !s.vis,
	      "reading only 'fg' leaves the other slots empty");
	if (!rc)
		drop_embedding_set_free(&s);

	/* Truncated: the last record cut short. */
	FILE *t = fopen(path, "r+b");
	fseek(t, 0, SEEK_END);
	CHECK(ftruncate(fileno(t), ftell(t) - 3) == 0, "truncate the file");
	fclose(t);
	rc = drop_embedding_load(path, EMB_FG, &s);
	CHECK(rc == -1 && strstr(drop_errmsg(), "truncated"), "truncated data: %s", drop_errmsg());
	unlink(path);
}

/* Write a stream of two documents laid out by `fields` and load it. */
static int load_custom(const struct drop_npy_field *fields, int nf, const void *recs, size_t n,
                       unsigned kinds, struct drop_embedding_set *s)
{
	char path[] = "/tmp/test_match_XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "wb");
	struct drop_npy_header h;
	drop_npy_header_records(&h, fields, nf, n / 2);
	drop_npy_write(f, &h, recs);
	drop_npy_header_set_len(&h, n - n / 2);
	drop_npy_write(f, &h, (const char *)recs + (n / 2) * h.itemsize);
	fclose(f);
	int rc = drop_embedding_load(path, kinds, s);
	unlink(path);
	return rc;
}

static void test_layouts(void)
{
	size_t D = 4, K = 2, kd[2] = { 2, 4 }, k1 = 2;
	struct drop_npy_field f[7] = {
		drop_npy_field_make("path", NPY_S, 8, 0, NULL),
		drop_npy_field_make("pid", NPY_I8, 0, 0, NULL),
		drop_npy_field_make("camid", NPY_I2, 0, 0, NULL),
		drop_npy_field_make("global", NPY_F8, 0, 1, &D),
		drop_npy_field_make("fg", NPY_F8, 0, 1, &D),
		drop_npy_field_make("parts", NPY_F2, 0, 2, kd),
		drop_npy_field_make("vis", NPY_F8, 0, 1, &k1),
	};
	struct drop_npy_header h;
	drop_npy_header_records(&h, f, 7, 3);
	char *recs = drop_calloc(3, h.itemsize);
	for (int i = 0; i < 3; i++) {
		char *r = recs + i * h.itemsize;
		memcpy(r, "abc", 3);
		int64_t pid = 100 + i;
		memcpy(r + h.fields[1].offset, &pid, 8);
		for (size_t j = 0; j < D; j++) {
			double v = (double)j + i;
			memcpy(r + h.fields[4].offset + 8 * j, &v, 8);
		}
		double vis[2] = { 0.5, 0.25 };
		memcpy(r + h.fields[6].offset, vis, sizeof vis);
	}
	struct drop_embedding_set s;
	int rc = load_custom(f, 7, recs, 3, EMB_FG | EMB_PARTS, &s);
	CHECK(rc == 0 && s.n == 3 && s.K == K && s.D == D, "i8/i2/f8/f2 fields, 2 documents (%s)",
	      rc ? drop_errmsg() : "ok");
	if (!rc) {
		CHECK(s.pid[2] == 102 && s.vec[1][2 * D + 3] == 5.0f && s.vis[1] == 0.25f,
		      "  converted to int32 and float32");
		drop_embedding_set_free(&s);
	}

	/* Missing field: the message names it. */
	rc = load_custom(f, 4, recs, 0, EMB_FG, &s); /* path, pid, camid, global */
	CHECK(rc == -1 && strstr(drop_errmsg(), "missing field 'fg'"), "missing fg: %s",
	      drop_errmsg());
	rc = load_custom(f, 5, recs, 0, EMB_GLOBAL, &s); /* global present, no parts needed */
	CHECK(rc == 0, "a stream without parts serves --use G");
	if (!rc)
		drop_embedding_set_free(&s);

	/* Wrong shapes and types. */
	struct drop_npy_field bad[7];
	memcpy(bad, f, sizeof bad);
	bad[5] = drop_npy_field_make("parts", NPY_F4, 0, 1, &D);
	rc = load_custom(bad, 7, recs, 0, EMB_PARTS, &s);
	CHECK(rc == -1 && strstr(drop_errmsg(), "'parts' must have shape (K, D)"), "1-D parts: %s",
	      drop_errmsg());
	memcpy(bad, f, sizeof bad);
	size_t d5 = 5;
	bad[4] = drop_npy_field_make("fg", NPY_F4, 0, 1, &d5);
	rc = load_custom(bad, 7, recs, 0, EMB_FG | EMB_PARTS, &s);
	CHECK(rc == -1 && strstr(drop_errmsg(), "D = 4") && strstr(drop_errmsg(), "D = 5"),
	      "fg and parts of different D: %s", drop_errmsg());
	memcpy(bad, f, sizeof bad);
	bad[6] = drop_npy_field_make("vis", NPY_F4, 0, 1, &d5);
	rc = load_custom(bad, 7, recs, 0, EMB_PARTS, &s);
	CHECK(rc == -1 && strstr(drop_errmsg(), "'vis'"), "vis of the wrong K: %s", drop_errmsg());
	memcpy(bad, f, sizeof bad);
	bad[1] = drop_npy_field_make("pid", NPY_F4, 0, 0, NULL);
	rc = load_custom(bad, 7, recs, 0, EMB_FG, &s);
	CHECK(rc == -1 && strstr(drop_errmsg(), "'pid' must be an integer"), "float pid: %s",
	      drop_errmsg());
	memcpy(bad, f, sizeof bad);
	bad[4] = drop_npy_field_make("fg", NPY_I4, 0, 1, &D);
	rc = load_custom(bad, 7, recs, 0, EMB_FG, &s);
	CHECK(rc == -1 && strstr(drop_errmsg(), "'fg' must be floating point"), "int fg: %s",
	      drop_errmsg());

	/* A plain array is not an embedding stream. */
	size_t shape[2] = { 2, 3 };
	drop_npy_header_plain(&h, NPY_F4, 2, shape);
	char path[] = "/tmp/test_match_XXXXXX";
	FILE *pf = fdopen(mkstemp(path), "wb");
	float z[6] = { 0 };
	drop_npy_write(pf, &h, z);
	fclose(pf);
	rc = drop_embedding_load(path, EMB_FG, &s);
	CHECK(rc == -1 && strstr(drop_errmsg(), "not an embedding stream"), "plain array: %s",
	      drop_errmsg());
	unlink(path);

	/* NaN: the message names the record and its path. */
	double nan = NAN;
	drop_npy_header_records(&h, f, 7, 3);
	memcpy(recs + 2 * h.itemsize + h.fields[4].offset + 8, &nan, 8);
	memcpy(recs + 2 * h.itemsize, "bad.jpg", 7);
	rc = load_custom(f, 7, recs, 3, EMB_FG, &s);
	CHECK(rc == -1 && strstr(drop_errmsg(), "record 2 ('bad.jpg'): non-finite value in 'fg'"),
	      "NaN: %s", drop_errmsg());
	rc = load_custom(f, 7, recs, 3, EMB_GLOBAL, &s);
	CHECK(rc == 0, "a NaN in a field not in use does not matter");
	if (!rc)
		drop_embedding_set_free(&s);
	free(recs);
}

static void test_compatible(void)
{
	struct drop_embedding_set a, b;
	set_make(&a, 2, 8, 16);
	set_make(&b, 2, 6, 16);
	CHECK(drop_embedding_check_compatible(&a, &b) == -1 && strstr(drop_errmsg(), "K = 8") &&
	      strstr(drop_errmsg(), "K = 6"), "K mismatch: %s", drop_errmsg());
	struct drop_match_side ma, mb;
	drop_match_side_init(&ma, &a);
	drop_match_side_init(&mb, &b);
	float d[4];
	struct drop_match_opts o = { .use = MATCH_F | MATCH_P, .vis_threshold = 0.4f,
	                             .metric = MATCH_EUCLIDEAN };
	CHECK(drop_match_distances(&o, &ma, &mb, d) == -1, "match_distances refuses it too");
	b.kinds = a.kinds = EMB_FG;
	o.use = MATCH_F;
	CHECK(drop_embedding_check_compatible(&a, &b) == 0 && drop_match_distances(&o, &ma, &mb, d) == 0,
	      "without parts, K does not matter");
	a.D = 8;
	CHECK(drop_embedding_check_compatible(&a, &b) == -1 && strstr(drop_errmsg(), "D = 16"),
	      "D mismatch: %s", drop_errmsg());
	a.D = 16;
	drop_match_side_free(&ma);
	drop_match_side_free(&mb);
	drop_embedding_set_free(&a);
	drop_embedding_set_free(&b);
}

static void test_use_names(void)
{
	int ok = 1;
	for (int u = 0; drop_match_use_names[u]; u++) {
		unsigned bits = 0;
		for (const char *c = drop_match_use_names[u]; *c; c++)
			bits |= *c == 'G' ? MATCH_G : *c == 'F' ? MATCH_F : *c == 'P' ? MATCH_P : 0;
		ok &= bits == drop_match_use_bits[u];
	}
	CHECK(ok, "--use names and bits agree");
	CHECK(drop_mean_dist(0, 0) == 3.0f && drop_mean_dist(3, 2) == 1.5f,
	      "no shared term gives 3.0, else the mean");
	CHECK(!drop_part_visible(0.4f, 0.4f) && drop_part_visible(0.41f, 0.4f),
	      "visibility must exceed the threshold strictly");
}

/* drop_match_merge over random blocks (ties on purpose: distances from 8 values) gives the
 * k best of the whole row in drop_match_rank's order. */
static void test_merge(void)
{
	enum { NG = 500 };
	float d[NG], bd[NG], td[NG], cd[NG];
	int32_t want[NG], bj[NG], tj[NG], cj[NG], idx[NG];
	int ok = 1;
	for (size_t trial = 0; trial < 40; trial++) {
		size_t k = 1 + (size_t)(urand() * 60), blk = 1 + (size_t)(urand() * 130), nb = 0;
		if (trial % 10 == 0)
			k = NG; /* every item */
		for (size_t j = 0; j < NG; j++)
			d[j] = (float)(int)(urand() * 8) * 0.25f;
		drop_match_rank(d, NG, k, want);
		for (size_t g0 = 0; g0 < NG; g0 += blk) {
			size_t n = NG - g0 < blk ? NG - g0 : blk, kl = k < n ? k : n;
			drop_match_rank(d + g0, n, kl, idx);
			for (size_t r = 0; r < kl; r++) {
				cj[r] = (int32_t)g0 + idx[r];
				cd[r] = d[cj[r]];
			}
			nb = drop_match_merge(bd, bj, nb, cd, cj, kl, k, td, tj);
		}
		ok &= nb == k && !memcmp(bj, want, k * sizeof *want);
		for (size_t r = 0; r < nb; r++)
			ok &= bd[r] == d[bj[r]];
	}
	CHECK(ok, "merging blocks' top k gives the whole row's top k, ties by index");
}

int main(void)
{
	test_use_names();
	test_fixtures();
	test_random();
	test_device_block();
	test_rank();
	test_rank_rows();
	test_merge();
	test_roundtrip();
	test_layouts();
	test_compatible();
	return tap_done();
}

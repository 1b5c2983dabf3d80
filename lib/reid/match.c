/*
 * match.c - query-gallery distances and ranking (see match.h for the rules).
 *
 * Work is split by blocks of GALLERY_CHUNK gallery items: an OpenMP worker takes a chunk,
 * runs one single-threaded GEMM per embedding in use (queries x chunk dot products; for a
 * part, only the queries whose part is visible, gathered beforehand), turns the products
 * into distances, folds them into the running sum and count of each pair, then writes the
 * means. The chunking depends only on the gallery size, never on the thread count.
 * The GEMM is the CPU backend table's (every buffer here is host memory), run with the
 * BLAS's own threads set to 1 for the parallel region and put back after it.
 * Not here: reading records, output formats, a GPU path (another backend table's GEMM would
 * fit, on device copies of the embeddings).
 */
#include "match.h"
#include "../core/drop.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/maths/maths.h"
#include "../../kernels/ops.h"

/* Gallery items per GEMM: queries x 256 x D keeps both operands in L2 for D = 512. */
#define GALLERY_CHUNK 256

/* PyTorch F.normalize's eps. */
#define NORM_EPS 1e-12f

const char *const drop_match_use_names[] = { "G", "F", "P", "G+F", "F+P", "G+F+P", NULL };
const unsigned drop_match_use_bits[] = { MATCH_G, MATCH_F, MATCH_P, MATCH_G | MATCH_F,
	                            MATCH_F | MATCH_P, MATCH_G | MATCH_F | MATCH_P };

unsigned drop_match_kinds(unsigned use)
{
	return (use & MATCH_G ? EMB_GLOBAL : 0) | (use & MATCH_F ? EMB_FG : 0) |
	       (use & MATCH_P ? EMB_PARTS : 0);
}

/* ---- Normalisation ------------------------------------------------------------------------ */

/* x (D,) /= max(|x|, eps); returns |x|^2 of the result. */
static float normalise(float *x, size_t D)
{
	double n2 = 0;
	for (size_t i = 0; i < D; i++)
		n2 += (double)x[i] * x[i];
	float norm = (float)sqrt(n2);
	float den = norm > NORM_EPS ? norm : NORM_EPS;
	double s2 = 0;
	for (size_t i = 0; i < D; i++) {
		x[i] /= den;
		s2 += (double)x[i] * x[i];
	}
	return (float)s2;
}

void drop_match_side_init(struct drop_match_side *m, struct drop_embedding_set *s)
{
	m->s = s;
	m->sq = drop_calloc(s->nvec ? s->nvec : 1, sizeof *m->sq);
	for (size_t v = 0; v < s->nvec; v++) {
		if (!s->vec || !s->vec[v]) /* no records read: no vectors */
			continue;
		float *x = s->vec[v], *sq = m->sq[v] = drop_malloc((s->n ? s->n : 1) * sizeof *sq);
		size_t D = s->D;
		long n = (long)s->n;
#pragma omp parallel for schedule(static)
		for (long i = 0; i < n; i++)
			sq[i] = normalise(x + (size_t)i * D, D);
	}
}

void drop_match_side_free(struct drop_match_side *m)
{
	for (size_t v = 0; m->sq && v < m->s->nvec; v++)
		free(m->sq[v]);
	free(m->sq);
	memset(m, 0, sizeof *m);
}

/* ---- Distances ---------------------------------------------------------------------------- */

/* Euclidean distance straight from the difference, accumulated in double (no cancellation). */
static float euclid_direct(const float *q, const float *g, size_t D)
{
	double s = 0;
	for (size_t i = 0; i < D; i++) {
		double d = (double)q[i] - (double)g[i];
		s += d * d;
	}
	return (float)sqrt(s);
}

/* One embedding in use, with the query vectors that take part in it: all of them for
 * the global and foreground embeddings, those whose part is visible for a part (the
 * others cannot count, so they are left out of the GEMM). */
struct slot {
	size_t v;          /* vector slot: EMB_VEC_GLOBAL, EMB_VEC_FG or EMB_VEC_PART + k */
	size_t n;          /* query rows taking part */
	size_t *rows;      /* (n,) their query indices; NULL: all, in order */
	const float *x;    /* (n, D) their vectors, contiguous */
	float *packed;     /* x when it had to be gathered (parts), else NULL */
};

/* The slots in use, in summation order: global, fg, parts 1..K. Returns their number. */
static size_t make_slots(const struct drop_match_opts *o, const struct drop_embedding_set *qs,
                         struct slot *slots)
{
	size_t n = 0, D = qs->D, K = qs->K;
	if (o->use & MATCH_G)
		slots[n++] = (struct slot){ EMB_VEC_GLOBAL, qs->n, NULL, qs->vec[EMB_VEC_GLOBAL], NULL };
	if (o->use & MATCH_F)
		slots[n++] = (struct slot){ EMB_VEC_FG, qs->n, NULL, qs->vec[EMB_VEC_FG], NULL };
	for (size_t k = 0; o->use & MATCH_P && k < K; k++) {
		struct slot *sl = &slots[n++];
		size_t v = EMB_VEC_PART + k;
		*sl = (struct slot){ v, 0, drop_malloc(qs->n * sizeof *sl->rows), NULL,
			             drop_malloc(qs->n * D * sizeof *sl->packed) };
		for (size_t i = 0; i < qs->n; i++)
			if (drop_part_visible(qs->vis[i * K + k], o->vis_threshold)) {
				memcpy(sl->packed + sl->n * D, qs->vec[v] + i * D, D * sizeof(float));
				sl->rows[sl->n++] = i;
			}
		sl->x = sl->packed;
	}
	return n;
}

/* Turn one row of dot products (nc,) of query vector qx into distances, in place. */
static void row_distances(enum drop_match_metric metric, const float *qx, float q2, const float *gx,
                          const float *g2, size_t nc, size_t D, float *row)
{
	if (metric == MATCH_COSINE) {
#pragma omp simd
		for (size_t j = 0; j < nc; j++)
			row[j] = drop_cosine_from_dot(row[j]);
		return;
	}
#pragma omp simd
	for (size_t j = 0; j < nc; j++)
		row[j] = drop_euclid_from_dot(q2, g2[j], row[j]);
	for (size_t j = 0; j < nc; j++) /* rare: nearly identical vectors */
		if (row[j] < DROP_EUCLID_DIRECT_BELOW)
			row[j] = euclid_direct(qx, gx + j * D, D);
}

/* Fold the dot products of slot sl for its queries x gallery items [j0, j0 + nc) into the
 * sums and counts of those pairs: dots (sl->n, nc) becomes distances; gvis (nc,) holds 1
 * where the gallery item's part counts (parts only). sum, cnt: (nq, nc). */
static void fold_slot(const struct drop_match_opts *o, const struct drop_match_side *q,
                      const struct drop_match_side *g, const struct slot *sl, size_t j0, size_t nc,
                      float *dots, const float *gvis, float *sum, float *cnt)
{
	size_t v = sl->v, D = q->s->D;
	for (size_t r = 0; r < sl->n; r++) {
		size_t i = sl->rows ? sl->rows[r] : r;
		float *row = dots + r * nc, *s = sum + i * nc, *c = cnt + i * nc;
		row_distances(o->metric, sl->x + r * D, q->sq[v][i], g->s->vec[v] + j0 * D,
		              g->sq[v] + j0, nc, D, row);
		if (v >= EMB_VEC_PART) {
#pragma omp simd
			for (size_t j = 0; j < nc; j++) { /* gvis is 0 or 1: exact */
				s[j] += gvis[j] * row[j];
				c[j] += gvis[j];
			}
		} else {
#pragma omp simd
			for (size_t j = 0; j < nc; j++) {
				s[j] += row[j];
				c[j] += 1.0f;
			}
		}
	}
}

/* Distances of all queries to gallery items [j0, j0 + nc) into dist (nq, ng), with the
 * worker's scratch: dots, sum, cnt (nq, GALLERY_CHUNK), gvis (GALLERY_CHUNK,). */
static void match_chunk(const struct drop_backend *be, const struct drop_match_opts *o,
                        const struct drop_match_side *q, const struct drop_match_side *g,
                        const struct slot *slots, size_t nslots, size_t j0, size_t nc,
                        float *dots, float *sum, float *cnt, float *gvis, float *dist)
{
	const struct drop_embedding_set *gs = g->s;
	size_t nq = q->s->n, ng = gs->n, D = gs->D, K = gs->K;
	memset(sum, 0, nq * nc * sizeof *sum);
	memset(cnt, 0, nq * nc * sizeof *cnt);
	for (size_t s = 0; s < nslots; s++) {
		const struct slot *sl = &slots[s];
		if (sl->n == 0)
			continue;
		be->sgemm(false, true, (int)sl->n, (int)nc, (int)D, 1.0f, sl->x, (int)D,
		          gs->vec[sl->v] + j0 * D, (int)D, 0.0f, dots, (int)nc);
		for (size_t j = 0; sl->v >= EMB_VEC_PART && j < nc; j++)
			gvis[j] = (float)drop_part_visible(gs->vis[(j0 + j) * K + sl->v - EMB_VEC_PART],
			                                   o->vis_threshold);
		fold_slot(o, q, g, sl, j0, nc, dots, gvis, sum, cnt);
	}
	for (size_t i = 0; i < nq; i++)
		for (size_t j = 0; j < nc; j++)
			dist[i * ng + j0 + j] = drop_mean_dist(sum[i * nc + j], cnt[i * nc + j]);
}

int drop_match_distances(const struct drop_match_opts *o, const struct drop_match_side *q,
                    const struct drop_match_side *g, float *dist)
{
	const struct drop_embedding_set *qs = q->s, *gs = g->s;
	unsigned kinds = drop_match_kinds(o->use);
	if (!kinds)
		return drop_fail("no embedding in use");
	if ((qs->kinds & kinds) != kinds || (gs->kinds & kinds) != kinds)
		return drop_fail("internal: embeddings in use were not read");
	if (drop_embedding_check_compatible(qs, gs))
		return -1;
	size_t nq = qs->n, ng = gs->n;
	if (nq == 0 || ng == 0)
		return 0;
	if (qs->D > INT32_MAX || nq > INT32_MAX)
		return drop_fail("block too large for the GEMM");
	struct slot *slots = drop_malloc((EMB_VEC_PART + qs->K) * sizeof *slots);
	size_t nslots = make_slots(o, qs, slots);
	long nchunks = (long)((ng + GALLERY_CHUNK - 1) / GALLERY_CHUNK);

	/* The GEMMs run inside our workers, one whole GEMM per worker at a time: the BLAS must
	 * not start threads of its own (ops.h, sgemm). Its thread count is the process's
	 * (--threads), so it goes back to what it was once the workers are done. */
	const struct drop_backend *be = drop_backend_get("cpu", NULL);
	int blas_threads = drop_blas_set_threads(1);
#pragma omp parallel
	{
		size_t cells = nq * GALLERY_CHUNK;
		float *dots = drop_malloc(cells * sizeof *dots);         /* (nq, nc) */
		float *sum = drop_malloc(cells * sizeof *sum);           /* (nq, nc) */
		float *cnt = drop_malloc(cells * sizeof *cnt);           /* (nq, nc) */
		float *gvis = drop_malloc(GALLERY_CHUNK * sizeof *gvis); /* (nc,) */
#pragma omp for schedule(dynamic, 1)
		for (long c = 0; c < nchunks; c++) {
			size_t j0 = (size_t)c * GALLERY_CHUNK;
			size_t nc = ng - j0 < GALLERY_CHUNK ? ng - j0 : GALLERY_CHUNK;
			match_chunk(be, o, q, g, slots, nslots, j0, nc, dots, sum, cnt, gvis, dist);
		}
		free(dots);
		free(sum);
		free(cnt);
		free(gvis);
	}
	drop_blas_set_threads(blas_threads);
	for (size_t s = 0; s < nslots; s++) {
		free(slots[s].rows);
		free(slots[s].packed);
	}
	free(slots);
	return 0;
}

/* ---- Ranking ------------------------------------------------------------------------------ */

struct cand {
	float d;
	int32_t i;
};

/* The ranking order: ascending distance, then ascending gallery index. */
static bool cand_less(struct cand a, struct cand b)
{
	return a.d < b.d || (a.d == b.d && a.i < b.i);
}

/* An order-preserving unsigned key of a float (no NaN; -0 was made +0). */
static uint32_t float_key(float d)
{
	uint32_t u;
	memcpy(&u, &d, sizeof u);
	return u & 0x80000000u ? ~u : u | 0x80000000u;
}

/* Whole-row ranking: a stable LSD radix sort (3 passes of 11 bits) of the keys, starting
 * from gallery order, so equal distances stay in index order. */
static void rank_radix(const float *dist, size_t ng, size_t k, int32_t *index)
{
	uint32_t *kbuf = drop_malloc(2 * ng * sizeof *kbuf), *key = kbuf, *kt = kbuf + ng;
	int32_t *ibuf = drop_malloc(2 * ng * sizeof *ibuf), *idx = ibuf, *it = ibuf + ng;
	for (size_t j = 0; j < ng; j++) {
		float d = dist[j] == 0.0f ? 0.0f : dist[j];
		key[j] = float_key(d);
		idx[j] = (int32_t)j;
	}
	for (int shift = 0; shift < 32; shift += 11) {
		size_t count[2048 + 1] = { 0 };
		for (size_t j = 0; j < ng; j++)
			count[((key[j] >> shift) & 2047) + 1]++;
		for (size_t b = 0; b < 2048; b++)
			count[b + 1] += count[b];
		for (size_t j = 0; j < ng; j++) {
			size_t p = count[(key[j] >> shift) & 2047]++;
			kt[p] = key[j];
			it[p] = idx[j];
		}
		uint32_t *tk = key;
		key = kt;
		kt = tk;
		int32_t *ti = idx;
		idx = it;
		it = ti;
	}
	memcpy(index, idx, k * sizeof *index);
	free(kbuf);
	free(ibuf);
}

static void sift_down(struct cand *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && cand_less(h[m], h[l]))
			m = l;
		if (r < n && cand_less(h[m], h[r]))
			m = r;
		if (m == i)
			return;
		struct cand t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* Top-k ranking: a max-heap of the k best so far, then the heap sorted in place. */
static void rank_heap(const float *dist, size_t ng, size_t k, int32_t *index)
{
	struct cand *h = drop_malloc(k * sizeof *h);
	for (size_t j = 0; j < k; j++)
		h[j] = (struct cand){ dist[j], (int32_t)j };
	for (size_t i = k / 2; i-- > 0;)
		sift_down(h, k, i);
	for (size_t j = k; j < ng; j++) {
		struct cand c = { dist[j], (int32_t)j };
		if (cand_less(c, h[0])) {
			h[0] = c;
			sift_down(h, k, 0);
		}
	}
	for (size_t n = k; n > 1; n--) { /* heapsort: the largest goes last */
		struct cand t = h[0];
		h[0] = h[n - 1];
		h[n - 1] = t;
		sift_down(h, n - 1, 0);
	}
	for (size_t j = 0; j < k; j++)
		index[j] = h[j].i;
	free(h);
}

void drop_match_rank(const float *dist, size_t ng, size_t k, int32_t *index)
{
	if (k > ng)
		k = ng;
	if (k == 0)
		return;
	if (k * 16 >= ng)
		rank_radix(dist, ng, k, index);
	else
		rank_heap(dist, ng, k, index);
}

void drop_match_rank_rows(const float *dist, size_t nq, size_t ng, size_t k, int32_t *index)
{
	size_t kk = k < ng ? k : ng;
	long n = (long)nq;
#pragma omp parallel for schedule(dynamic, 4)
	for (long i = 0; i < n; i++)
		drop_match_rank(dist + (size_t)i * ng, ng, k, index + (size_t)i * kk);
}

/*
 * match.c - query-gallery distances and ranking (see match.h for the rules).
 *
 * Work is split by blocks of GALLERY_CHUNK gallery items: an OpenMP worker takes a chunk,
 * runs one single-threaded GEMM per embedding in use (queries x chunk dot products; for a
 * part, only the queries whose part is visible, gathered beforehand), turns the products
 * into distances, folds them into the running sum and count of each pair, then writes the
 * means. The chunking depends only on the gallery size, never on the thread count.
 * The GEMM is the chosen backend table's (drop_match_opts.be, else the CPU's). On host
 * memory (the CPU) it runs in those workers, with the BLAS's own threads set to 1 for the
 * parallel region and put back after it. A device (CUDA; cpu-strict, which checks the
 * discipline) gets copies instead: the queries once, the gallery in blocks sized to a
 * memory budget; each chunk's GEMM is the same call on device memory, the products come
 * back a block at a time, and the workers fold them on the host as above (see
 * distances_device). The ranking is on the host either way, on the rows of distances.
 * Not here: reading records, output formats.
 */
#include "match.h"
#include "../core/drop.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/maths/maths.h"
#include "../../kernels/ops.h"

/* Gallery items per GEMM (match.h). */
#define GALLERY_CHUNK DROP_MATCH_CHUNK

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

/* A device's copies of a side's vectors, as a gallery: vec[v] (n, D) or NULL until one is
 * needed (distances_device). */
struct drop_match_devcopy {
	const struct drop_backend *be;
	float **vec;             /* (nvec,) */
};

void drop_match_side_init(struct drop_match_side *m, struct drop_embedding_set *s)
{
	m->s = s;
	m->dev = drop_calloc(1, sizeof *m->dev);
	m->dev->vec = drop_calloc(s->nvec ? s->nvec : 1, sizeof *m->dev->vec);
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
	for (size_t v = 0; m->dev && v < m->s->nvec; v++)
		if (m->dev->vec[v])
			m->dev->be->free(m->dev->vec[v]);
	if (m->dev)
		free(m->dev->vec);
	free(m->dev);
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

/* Fold slot sl's dot products dots (sl->n, nc) with gallery items [j0, j0 + nc) into sum
 * and cnt (nq, nc), gvis (nc,) the worker's scratch. */
static void chunk_slot(const struct drop_match_opts *o, const struct drop_match_side *q,
                       const struct drop_match_side *g, const struct slot *sl, size_t j0,
                       size_t nc, float *dots, float *gvis, float *sum, float *cnt)
{
	const struct drop_embedding_set *gs = g->s;
	size_t K = gs->K;
	for (size_t j = 0; sl->v >= EMB_VEC_PART && j < nc; j++)
		gvis[j] = (float)drop_part_visible(gs->vis[(j0 + j) * K + sl->v - EMB_VEC_PART],
		                                   o->vis_threshold);
	fold_slot(o, q, g, sl, j0, nc, dots, gvis, sum, cnt);
}

/* The means of sum and cnt (nq, nc) into columns [j0, j0 + nc) of dist (nq, ng). */
static void chunk_means(size_t nq, size_t ng, size_t j0, size_t nc, const float *sum,
                        const float *cnt, float *dist)
{
	for (size_t i = 0; i < nq; i++)
		for (size_t j = 0; j < nc; j++)
			dist[i * ng + j0 + j] = drop_mean_dist(sum[i * nc + j], cnt[i * nc + j]);
}

/* Distances of all queries to gallery items [j0, j0 + nc) into dist (nq, ng), with the
 * worker's scratch: dots, sum, cnt (nq, GALLERY_CHUNK), gvis (GALLERY_CHUNK,). Host memory
 * only (be->host_memory). */
static void match_chunk(const struct drop_backend *be, const struct drop_match_opts *o,
                        const struct drop_match_side *q, const struct drop_match_side *g,
                        const struct slot *slots, size_t nslots, size_t j0, size_t nc,
                        float *dots, float *sum, float *cnt, float *gvis, float *dist)
{
	const struct drop_embedding_set *gs = g->s;
	size_t nq = q->s->n, D = gs->D;
	memset(sum, 0, nq * nc * sizeof *sum);
	memset(cnt, 0, nq * nc * sizeof *cnt);
	for (size_t s = 0; s < nslots; s++) {
		const struct slot *sl = &slots[s];
		if (sl->n == 0)
			continue;
		be->sgemm(false, true, (int)sl->n, (int)nc, (int)D, 1.0f, sl->x, (int)D,
		          gs->vec[sl->v] + j0 * D, (int)D, 0.0f, dots, (int)nc);
		chunk_slot(o, q, g, sl, j0, nc, dots, gvis, sum, cnt);
	}
	chunk_means(nq, gs->n, j0, nc, sum, cnt, dist);
}

/* Every distance, on host memory: OpenMP workers over the chunks, each GEMM whole in its
 * worker. */
static void distances_host(const struct drop_backend *be, const struct drop_match_opts *o,
                           const struct drop_match_side *q, const struct drop_match_side *g,
                           const struct slot *slots, size_t nslots, float *dist)
{
	size_t nq = q->s->n, ng = g->s->n;
	long nchunks = (long)((ng + GALLERY_CHUNK - 1) / GALLERY_CHUNK);
	/* The GEMMs run inside our workers, one whole GEMM per worker at a time: the BLAS must
	 * not start threads of its own (ops.h, sgemm). Its thread count is the process's
	 * (--threads), so it goes back to what it was once the workers are done. */
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
}

/* Gallery items a device block holds within `budget` bytes: whole chunks, at least one,
 * at most the gallery rounded up to a chunk. `fixed` bytes are the queries', `per_item`
 * bytes each gallery item's (its vectors and its column of dot products). */
size_t drop_match_device_block(size_t budget, size_t fixed, size_t per_item, size_t ng)
{
	size_t n = budget > fixed ? (budget - fixed) / (per_item ? per_item : 1) : 0;
	size_t all = (ng + GALLERY_CHUNK - 1) / GALLERY_CHUNK * GALLERY_CHUNK;
	n = n / GALLERY_CHUNK * GALLERY_CHUNK;
	if (n < GALLERY_CHUNK)
		n = GALLERY_CHUNK;
	return n < all ? n : all;
}

/* Gallery side g's vector slot v on be (n, D): copied at its first use and kept with the
 * side (drop_match_side_free frees it), so the blocks of queries that follow find it there;
 * NULL where the side keeps no copies (a view) or keeps another backend's. */
static const float *resident(const struct drop_match_side *g, const struct drop_backend *be,
                             size_t v)
{
	struct drop_match_devcopy *dc = g->dev;
	if (!dc || (dc->be && dc->be != be))
		return NULL;
	dc->be = be;
	if (!dc->vec[v]) {
		size_t bytes = g->s->n * g->s->D * sizeof(float);
		dc->vec[v] = be->alloc(bytes);
		be->to_device(dc->vec[v], g->s->vec[v], bytes);
	}
	return dc->vec[v];
}

/* Every distance through a device's memory (be->host_memory false): the queries' slot
 * vectors copied once; then the gallery in blocks of whole chunks that fit the budget
 * (o->device_budget, else DROP_MATCH_DEVICE_BUDGET), so a gallery larger than the
 * device's memory still matches. A gallery that fits whole is one block, copied once and
 * kept with its side for the next blocks of queries (resident). Per block: its vectors
 * copied in, each chunk's GEMM of each slot (the host path's very call: the same shapes
 * and operands) into device memory, every dot product of the block copied back at once,
 * then the chunks folded into distances on the host by OpenMP workers, as on the host
 * path. */
static void distances_device(const struct drop_backend *be, const struct drop_match_opts *o,
                             const struct drop_match_side *q, const struct drop_match_side *g,
                             const struct slot *slots, size_t nslots, float *dist)
{
	const struct drop_embedding_set *gs = g->s;
	size_t nq = q->s->n, ng = gs->n, D = gs->D, rows = 0;
	size_t *row0 = drop_malloc(nslots * sizeof *row0); /* each slot's first row */
	for (size_t s = 0; s < nslots; s++) {
		row0[s] = rows;
		rows += slots[s].n;
	}
	size_t budget = o->device_budget ? o->device_budget : DROP_MATCH_DEVICE_BUDGET;
	size_t nbg = drop_match_device_block(budget, rows * D * sizeof(float),
	                                     (nslots * D + rows) * sizeof(float), ng);
	bool whole = nbg >= ng && resident(g, be, slots[0].v); /* one block, kept */
	float *qd = be->alloc((rows ? rows : 1) * D * sizeof *qd);         /* (rows, D) */
	float *gd = whole ? NULL : be->alloc(nslots * nbg * D * sizeof *gd); /* (nslots, nbg, D) */
	float *dd = be->alloc((rows ? rows : 1) * nbg * sizeof *dd);       /* (rows, nbg) */
	float *dh = drop_malloc((rows ? rows : 1) * nbg * sizeof *dh);     /* dd's copy */
	for (size_t s = 0; s < nslots; s++)
		if (slots[s].n)
			be->to_device(qd + row0[s] * D, slots[s].x, slots[s].n * D * sizeof *qd);
	/* The host path's products come from a one-thread BLAS, and a threaded OpenBLAS sums
	 * some of them in another order: cpu-strict's GEMMs (the CPU's) run on one thread too,
	 * to give the same bits. A GPU's BLAS is not OpenBLAS and does not notice. */
	int blas_threads = drop_blas_set_threads(1);
	for (size_t b0 = 0; b0 < ng; b0 += nbg) {
		size_t nb = ng - b0 < nbg ? ng - b0 : nbg;
		/* slot s's dot products are (n_s, nb) at row0[s] nb, chunk by chunk: chunk c0
		 * is (n_s, nc) at row0[s] nb + n_s c0, as the host path's dots */
		for (size_t s = 0; s < nslots; s++) {
			const struct slot *sl = &slots[s];
			const float *gv = gd + s * nbg * D;
			if (!sl->n)
				continue;
			if (whole)
				gv = resident(g, be, sl->v);
			else
				be->to_device(gd + s * nbg * D, gs->vec[sl->v] + b0 * D,
				              nb * D * sizeof *gd);
			for (size_t c0 = 0; c0 < nb; c0 += GALLERY_CHUNK) {
				size_t nc = nb - c0 < GALLERY_CHUNK ? nb - c0 : GALLERY_CHUNK;
				be->sgemm(false, true, (int)sl->n, (int)nc, (int)D, 1.0f,
				          qd + row0[s] * D, (int)D, gv + c0 * D, (int)D, 0.0f,
				          dd + row0[s] * nb + sl->n * c0, (int)nc);
			}
		}
		if (rows)
			be->to_host(dh, dd, rows * nb * sizeof *dh);
		long nchunks = (long)((nb + GALLERY_CHUNK - 1) / GALLERY_CHUNK);
#pragma omp parallel
		{
			size_t cells = nq * GALLERY_CHUNK;
			float *sum = drop_malloc(cells * sizeof *sum);           /* (nq, nc) */
			float *cnt = drop_malloc(cells * sizeof *cnt);           /* (nq, nc) */
			float *gvis = drop_malloc(GALLERY_CHUNK * sizeof *gvis); /* (nc,) */
#pragma omp for schedule(dynamic, 1)
			for (long c = 0; c < nchunks; c++) {
				size_t c0 = (size_t)c * GALLERY_CHUNK;
				size_t nc = nb - c0 < GALLERY_CHUNK ? nb - c0 : GALLERY_CHUNK;
				memset(sum, 0, nq * nc * sizeof *sum);
				memset(cnt, 0, nq * nc * sizeof *cnt);
				for (size_t s = 0; s < nslots; s++)
					if (slots[s].n)
						chunk_slot(o, q, g, &slots[s], b0 + c0, nc,
						           dh + row0[s] * nb + slots[s].n * c0, gvis, sum,
						           cnt);
				chunk_means(nq, ng, b0 + c0, nc, sum, cnt, dist);
			}
			free(sum);
			free(cnt);
			free(gvis);
		}
	}
	drop_blas_set_threads(blas_threads);
	be->free(qd);
	if (gd)
		be->free(gd);
	be->free(dd);
	free(dh);
	free(row0);
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
	const struct drop_backend *be = o->be ? o->be : &drop_backend_cpu;
	if (be->host_memory)
		distances_host(be, o, q, g, slots, nslots, dist);
	else
		distances_device(be, o, q, g, slots, nslots, dist);
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

size_t drop_match_merge(float *bd, int32_t *bj, size_t nb, const float *cd, const int32_t *cj,
                        size_t nc, size_t k, float *td, int32_t *tj)
{
	size_t a = 0, b = 0, n = 0;
	while (n < k && (a < nb || b < nc)) {
		bool first = b == nc || (a < nb && (bd[a] < cd[b] || (bd[a] == cd[b] && bj[a] < cj[b])));
		td[n] = first ? bd[a] : cd[b];
		tj[n++] = first ? bj[a++] : cj[b++];
	}
	memcpy(bd, td, n * sizeof *bd);
	memcpy(bj, tj, n * sizeof *bj);
	return n;
}

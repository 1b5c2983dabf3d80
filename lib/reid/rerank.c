/*
 * rerank.c - k-reciprocal re-ranking in O((Q + G) k1) memory (see rerank.h for the steps).
 *
 * Items are numbered as torchreid numbers them: the Q queries first, then the G gallery
 * items. The N x N distances come from drop_match_distances over blocks of ROW_BLOCK rows
 * (a block of queries or of gallery items against all queries, then all gallery items);
 * each row leaves its largest squared value and its nearest items, and the block is
 * reused. Everything after that works on those lists and on sparse rows.
 */
#include "rerank.h"
#include "../core/drop.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/maths/maths.h"

/* Rows of the N x N distances computed at a time: ROW_BLOCK x N floats twice. */
#define ROW_BLOCK 128

/* ---- Items and their distances ------------------------------------------------------------ */

/* The two sides, and item a (0..N-1) as a side and an index in it. */
struct items {
	const struct drop_match_opts *m;
	const struct drop_match_side *q, *g;
	size_t nq, n;
};

static const struct drop_match_side *item_side(const struct items *it, size_t a, size_t *i)
{
	*i = a < it->nq ? a : a - it->nq;
	return a < it->nq ? it->q : it->g;
}

/* The distance of items a and b, computed for this pair alone by match.h's rules (the same
 * terms and counts; the dot product summed in order, so it may differ from the GEMM's in
 * the last bits). */
static float pair_distance(const struct items *it, size_t a, size_t b)
{
	size_t i, j;
	const struct drop_match_side *sa = item_side(it, a, &i), *sb = item_side(it, b, &j);
	const struct drop_embedding_set *A = sa->s, *B = sb->s;
	const struct drop_match_opts *m = it->m;
	size_t D = A->D, K = A->K;
	float sum = 0, cnt = 0;
	for (size_t v = 0; v < EMB_VEC_PART + K; v++) {
		bool used = v == EMB_VEC_GLOBAL ? m->use & MATCH_G
		            : v == EMB_VEC_FG   ? m->use & MATCH_F
		                                : m->use & MATCH_P;
		if (!used)
			continue;
		if (v >= EMB_VEC_PART) {
			size_t k = v - EMB_VEC_PART;
			if (!drop_part_visible(A->vis[i * K + k], m->vis_threshold) ||
			    !drop_part_visible(B->vis[j * K + k], m->vis_threshold))
				continue;
		}
		const float *x = A->vec[v] + i * D, *y = B->vec[v] + j * D;
		float dot = 0;
		for (size_t t = 0; t < D; t++)
			dot += x[t] * y[t];
		float d;
		if (m->metric == MATCH_COSINE) {
			d = drop_cosine_from_dot(dot);
		} else {
			d = drop_euclid_from_dot(sa->sq[v][i], sb->sq[v][j], dot);
			if (d < DROP_EUCLID_DIRECT_BELOW) {
				double s = 0;
				for (size_t t = 0; t < D; t++) {
					double e = (double)x[t] - (double)y[t];
					s += e * e;
				}
				d = (float)sqrt(s);
			}
		}
		sum += d;
		cnt += 1;
	}
	return drop_mean_dist(sum, cnt);
}

/* Rows [i0, i0 + n) of side s as a side of their own (drop_embedding_view, and the
 * squared norms' pointer array owned here). */
struct view {
	struct drop_embedding_set set;
	struct drop_match_side side;
};

static void view_init(struct view *w, const struct drop_match_side *s, size_t i0, size_t n)
{
	const struct drop_embedding_set *S = s->s;
	drop_embedding_view(&w->set, S, i0, n);
	w->side.s = &w->set;
	w->side.dev = NULL;
	w->side.sq = drop_calloc(S->nvec ? S->nvec : 1, sizeof *w->side.sq);
	for (size_t v = 0; v < S->nvec; v++)
		w->side.sq[v] = s->sq[v] ? s->sq[v] + i0 : NULL;
}

static void view_free(struct view *w)
{
	drop_embedding_view_free(&w->set);
	free(w->side.sq);
}

/* ---- Step 1: each item's largest squared distance and nearest items ----------------------- */

/* For every item a: rowmax[a] = max_l d(a, l)^2 (1 where that is 0, so that o stays 0)
 * and nn (N, kk) its kk nearest items, ascending, ties by index. */
static int nearest(const struct items *it, size_t kk, float *rowmax, int32_t *nn)
{
	size_t N = it->n, nq = it->nq, ng = N - nq;
	float *dq = drop_malloc(ROW_BLOCK * (nq ? nq : 1) * sizeof *dq); /* (B, Q) */
	float *dg = drop_malloc(ROW_BLOCK * ng * sizeof *dg);            /* (B, G) */
	int rc = 0;
	for (size_t a0 = 0, nb; a0 < N; a0 += nb) {
		/* a block never straddles the two sides */
		size_t i0, end = a0 < nq ? nq : N;
		nb = end - a0 < ROW_BLOCK ? end - a0 : ROW_BLOCK;
		const struct drop_match_side *s = item_side(it, a0, &i0);
		struct view w;
		view_init(&w, s, i0, nb);
		rc = (nq && drop_match_distances(it->m, &w.side, it->q, dq)) ||
		     drop_match_distances(it->m, &w.side, it->g, dg);
		view_free(&w);
		if (rc)
			break;
#pragma omp parallel
		{
			float *row = drop_malloc(N * sizeof *row); /* (N,) */
#pragma omp for schedule(static)
			for (long b = 0; b < (long)nb; b++) {
				memcpy(row, dq + (size_t)b * nq, nq * sizeof *row);
				memcpy(row + nq, dg + (size_t)b * ng, ng * sizeof *row);
				float mx = 0;
				for (size_t l = 0; l < N; l++)
					mx = fmaxf(mx, row[l] * row[l]);
				rowmax[a0 + (size_t)b] = mx > 0 ? mx : 1;
				drop_match_rank(row, N, kk, nn + (a0 + (size_t)b) * kk);
			}
			free(row);
		}
	}
	free(dq);
	free(dg);
	return rc ? -1 : 0;
}

/* ---- Steps 2-4: k-reciprocal neighbours, their expansion, the weights --------------------- */

/* Whether item a is among the first m nearest items of x. */
static bool among(const int32_t *nn, size_t kk, size_t x, size_t m, int32_t a)
{
	for (size_t t = 0; t < m; t++)
		if (nn[x * kk + t] == a)
			return true;
	return false;
}

/* R(a): those of a's first m nearest items that count a among their first m, in rank
 * order, into out (m,). Returns their number. */
static size_t reciprocal(const int32_t *nn, size_t kk, size_t a, size_t m, int32_t *out)
{
	size_t n = 0;
	for (size_t t = 0; t < m; t++) {
		int32_t c = nn[a * kk + t];
		if (among(nn, kk, (size_t)c, m, (int32_t)a))
			out[n++] = c;
	}
	return n;
}

static int cmp_i32(const void *pa, const void *pb)
{
	int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
	return (a > b) - (a < b);
}

/* A sparse row: columns ascending and their values. */
struct srow {
	size_t n;
	int32_t *col;
	float *val;
};

/* Item a's vector V(a) (step 4) from its expansion (step 3); scratch: rec (m1,), cand
 * (mh,), exp_ (m1 (mh + 1),). */
static void weights(const struct items *it, const int32_t *nn, size_t kk, const float *rowmax,
                    size_t a, size_t m1, size_t mh, int32_t *rec, int32_t *cand, int32_t *ex,
                    struct srow *out)
{
	size_t nr = reciprocal(nn, kk, a, m1, rec), ne = nr;
	memcpy(ex, rec, nr * sizeof *ex);
	for (size_t r = 0; r < nr; r++) {
		size_t nc = reciprocal(nn, kk, (size_t)rec[r], mh, cand), inter = 0;
		for (size_t t = 0; t < nc; t++)
			for (size_t u = 0; u < nr; u++)
				inter += cand[t] == rec[u];
		/* torchreid's rule, in its double arithmetic: > 2/3 of the candidate's set */
		if ((double)inter > 2. / 3 * (double)nc) {
			memcpy(ex + ne, cand, nc * sizeof *ex);
			ne += nc;
		}
	}
	qsort(ex, ne, sizeof *ex, cmp_i32);
	size_t nu = 0;
	for (size_t t = 0; t < ne; t++)
		if (nu == 0 || ex[t] != ex[nu - 1])
			ex[nu++] = ex[t];
	out->n = nu;
	out->col = drop_malloc((nu ? nu : 1) * sizeof *out->col);
	out->val = drop_malloc((nu ? nu : 1) * sizeof *out->val);
	float sum = 0;
	for (size_t t = 0; t < nu; t++) {
		float d = pair_distance(it, a, (size_t)ex[t]);
		float w = expf(-(d * d / rowmax[a]));
		out->col[t] = ex[t];
		out->val[t] = w;
		sum += w;
	}
	for (size_t t = 0; t < nu; t++)
		out->val[t] = out->val[t] / sum;
}

/* ---- Step 5: query expansion --------------------------------------------------------------- */

/* out = the mean of the rows v[nn[a][0..k2)], the sum in rank order; acc (N,) zeroed and
 * mark (N,) false on entry and on return. */
static void expand(const struct srow *v, const int32_t *nn, size_t kk, size_t a, size_t k2,
                   float *acc, bool *mark, int32_t *touched, struct srow *out)
{
	size_t nt = 0;
	for (size_t r = 0; r < k2; r++) {
		const struct srow *s = &v[nn[a * kk + r]];
		for (size_t t = 0; t < s->n; t++) {
			int32_t l = s->col[t];
			if (!mark[l]) {
				mark[l] = true;
				touched[nt++] = l;
			}
			acc[l] += s->val[t];
		}
	}
	qsort(touched, nt, sizeof *touched, cmp_i32);
	out->n = nt;
	out->col = drop_malloc((nt ? nt : 1) * sizeof *out->col);
	out->val = drop_malloc((nt ? nt : 1) * sizeof *out->val);
	for (size_t t = 0; t < nt; t++) {
		int32_t l = touched[t];
		out->col[t] = l;
		out->val[t] = acc[l] / (float)k2;
		acc[l] = 0;
		mark[l] = false;
	}
}

static void srows_free(struct srow *v, size_t n)
{
	for (size_t a = 0; v && a < n; a++) {
		free(v[a].col);
		free(v[a].val);
	}
	free(v);
}

/* ---- Preparing and applying ---------------------------------------------------------------- */

/* V's rows into r's CSR arrays and the inverted index of its gallery rows. */
static void pack(struct drop_rerank *r, const struct srow *v, size_t N)
{
	size_t nq = r->nq, nnz = 0, gnz = 0;
	r->vptr = drop_malloc((N + 1) * sizeof *r->vptr);
	r->iptr = drop_calloc(N + 1, sizeof *r->iptr);
	for (size_t a = 0; a < N; a++) {
		r->vptr[a] = nnz;
		nnz += v[a].n;
		for (size_t t = 0; a >= nq && t < v[a].n; t++)
			r->iptr[v[a].col[t] + 1]++;
	}
	r->vptr[N] = nnz;
	r->vcol = drop_malloc((nnz ? nnz : 1) * sizeof *r->vcol);
	r->vval = drop_malloc((nnz ? nnz : 1) * sizeof *r->vval);
	for (size_t l = 0; l < N; l++)
		r->iptr[l + 1] += r->iptr[l];
	gnz = r->iptr[N];
	r->irow = drop_malloc((gnz ? gnz : 1) * sizeof *r->irow);
	r->ival = drop_malloc((gnz ? gnz : 1) * sizeof *r->ival);
	size_t *fill = drop_malloc((N ? N : 1) * sizeof *fill);
	memcpy(fill, r->iptr, N * sizeof *fill);
	for (size_t a = 0; a < N; a++) {
		memcpy(r->vcol + r->vptr[a], v[a].col, v[a].n * sizeof *r->vcol);
		memcpy(r->vval + r->vptr[a], v[a].val, v[a].n * sizeof *r->vval);
		for (size_t t = 0; a >= nq && t < v[a].n; t++) {
			size_t at = fill[v[a].col[t]]++;
			r->irow[at] = (int32_t)(a - nq);
			r->ival[at] = v[a].val[t];
		}
	}
	free(fill);
}

int drop_rerank_prepare(struct drop_rerank *r, const struct drop_rerank_opts *o,
                        const struct drop_match_opts *m, const struct drop_match_side *q,
                        const struct drop_match_side *g)
{
	memset(r, 0, sizeof *r);
	DROP_ASSERT(o->k1 >= 1 && o->k2 >= 1 && o->lambda >= 0 && o->lambda <= 1,
	            "re-ranking k1 %d, k2 %d, lambda %g", o->k1, o->k2, o->lambda);
	r->o = *o;
	r->m = *m;
	r->q = q;
	r->g = g;
	r->nq = q->s->n;
	r->ng = g->s->n;
	size_t N = r->nq + r->ng;
	if (N > INT32_MAX)
		return drop_fail("too many items to re-rank (%zu)", N);
	if (r->ng == 0)
		return 0;
	struct items it = { m, q, g, r->nq, N };
	/* k + 1 nearest (the item itself first), clipped to N as numpy's slices are */
	size_t m1 = (size_t)o->k1 + 1 < N ? (size_t)o->k1 + 1 : N;
	size_t mh = (size_t)nearbyint(o->k1 / 2.0) + 1;
	mh = mh < N ? mh : N;
	size_t k2 = (size_t)o->k2 < N ? (size_t)o->k2 : N;
	size_t kk = m1 > k2 ? m1 : k2;

	float *rowmax = drop_malloc(N * sizeof *rowmax);        /* (N,) */
	int32_t *nn = drop_malloc(N * kk * sizeof *nn);         /* (N, kk) */
	struct srow *v = drop_calloc(N, sizeof *v), *vqe = NULL;
	int rc = -1;
	if (nearest(&it, kk, rowmax, nn))
		goto out;
#pragma omp parallel
	{
		int32_t *rec = drop_malloc(m1 * sizeof *rec);                 /* (m1,) */
		int32_t *cand = drop_malloc(mh * sizeof *cand);               /* (mh,) */
		int32_t *ex = drop_malloc(m1 * (mh + 1) * sizeof *ex);        /* (m1 (mh + 1),) */
#pragma omp for schedule(dynamic, 64)
		for (long a = 0; a < (long)N; a++)
			weights(&it, nn, kk, rowmax, (size_t)a, m1, mh, rec, cand, ex, &v[a]);
		free(rec);
		free(cand);
		free(ex);
	}
	if (o->k2 > 1) {
		vqe = drop_calloc(N, sizeof *vqe);
#pragma omp parallel
		{
			float *acc = drop_calloc(N, sizeof *acc);             /* (N,) */
			bool *mark = drop_calloc(N, sizeof *mark);            /* (N,) */
			int32_t *touched = drop_malloc(N * sizeof *touched);  /* (N,) */
#pragma omp for schedule(dynamic, 64)
			for (long a = 0; a < (long)N; a++)
				expand(v, nn, kk, (size_t)a, k2, acc, mark, touched, &vqe[a]);
			free(acc);
			free(mark);
			free(touched);
		}
	}
	pack(r, vqe ? vqe : v, N);
	r->qmax = drop_malloc((r->nq ? r->nq : 1) * sizeof *r->qmax);
	memcpy(r->qmax, rowmax, r->nq * sizeof *r->qmax);
	rc = 0;
out:
	srows_free(v, N);
	srows_free(vqe, N);
	free(rowmax);
	free(nn);
	return rc;
}

/* Turn dist (n, G), the original distances of queries q0 .. q0 + n - 1, into their
 * re-ranked distances, in place (step 7). */
static void apply(const struct drop_rerank *r, size_t q0, size_t n, float *dist)
{
	size_t ng = r->ng;
	/* numpy multiplies a float32 array by a Python float in float32 */
	float wj = (float)(1.0 - r->o.lambda), wo = (float)r->o.lambda;
#pragma omp parallel
	{
		float *t = drop_calloc(ng ? ng : 1, sizeof *t); /* (G,) the Jaccard sums */
#pragma omp for schedule(dynamic, 1)
		for (long b = 0; b < (long)n; b++) {
			size_t i = q0 + (size_t)b;
			for (size_t e = r->vptr[i]; e < r->vptr[i + 1]; e++) {
				int32_t l = r->vcol[e];
				float vi = r->vval[e];
				for (size_t u = r->iptr[l]; u < r->iptr[l + 1]; u++)
					t[r->irow[u]] += fminf(vi, r->ival[u]);
			}
			float *row = dist + (size_t)b * ng;
			for (size_t j = 0; j < ng; j++) {
				float jd = 1 - t[j] / (2 - t[j]);
				float o = row[j] * row[j] / r->qmax[i];
				row[j] = jd * wj + o * wo;
				t[j] = 0;
			}
		}
		free(t);
	}
}

int drop_rerank_distances(const struct drop_rerank *r, size_t q0, size_t n, float *dist)
{
	DROP_ASSERT(q0 + n <= r->nq, "re-ranking queries %zu..%zu of %zu", q0, q0 + n, r->nq);
	if (n == 0 || r->ng == 0)
		return 0;
	struct view w;
	view_init(&w, r->q, q0, n);
	int rc = drop_match_distances(&r->m, &w.side, r->g, dist);
	view_free(&w);
	if (rc)
		return -1;
	apply(r, q0, n, dist);
	return 0;
}

void drop_rerank_free(struct drop_rerank *r)
{
	free(r->qmax);
	free(r->vptr);
	free(r->vcol);
	free(r->vval);
	free(r->iptr);
	free(r->irow);
	free(r->ival);
	memset(r, 0, sizeof *r);
}

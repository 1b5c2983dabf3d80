/*
 * rerank.h - k-reciprocal re-ranking (Zhong et al., CVPR 2017) as BPBreID's torchreid
 * computes it (re_ranking(q_g, q_q, g_g, k1, k2, lambda)), over the distance drop-match has
 * in use (lib/reid/match.h), in memory that grows with (Q + G) k1 instead of (Q + G)^2.
 *
 * The reference, for the N = Q + G items (queries first) and their distances d:
 *   1. o(i, j) = d(i, j)^2 / max_l d(i, l)^2: squared, each item's row scaled by its
 *      largest value (torchreid divides each column of the symmetric matrix by its maximum,
 *      then transposes), in float32;
 *   2. R(i, k) = the k + 1 nearest items of i (itself first) that also count i among
 *      their k + 1 nearest: the k-reciprocal neighbours, in rank order;
 *   3. the expansion: R(i, k1), and for each c in it, R(c, round(k1 / 2)) (round half to
 *      even, as np.around) when more than 2/3 of it lies in R(i, k1); the union, sorted;
 *   4. V(i, j) = exp(-o(i, j)) / sum over the expansion, for j in it, else 0;
 *   5. query expansion (k2 > 1): V(i) becomes the mean of V over i's k2 nearest items;
 *   6. Jaccard: t(i, j) = sum_l min(V(i, l), V(j, l)), jd = 1 - t / (2 - t);
 *   7. the result for query i and gallery item j: jd (1 - lambda) + o(i, j) lambda.
 * Nearest means by d, ties by index (numpy's argsort leaves ties in no set order).
 *
 * How it scales: the N x N distances are computed in blocks of rows and thrown away; each
 * row keeps only its largest value and its max(k1 + 1, k2) nearest items. The vectors V
 * are sparse (at most (k1 + 1)(round(k1 / 2) + 2) entries before query expansion, k2 times
 * that after), and an inverted index (for each item l, the items j with V(j, l) != 0) gives
 * the Jaccard sums of a query in time proportional to its overlaps. The few distances step
 * 4 needs outside the kept neighbours are computed for that pair alone, from the vectors.
 * Rows are processed in parallel; every value is computed by the same steps whatever the
 * thread count, so the result is bit-identical across --threads.
 *
 * Not here: reading the records, ranking and writing the result (lib/run/match_run.h).
 */
#ifndef DROP_RERANK_H
#define DROP_RERANK_H

#include <stddef.h>
#include <stdint.h>

#include "match.h"

/* The re-ranking parameters (torchreid's defaults: 20, 6, 0.3). */
struct drop_rerank_opts {
	int k1;          /* k-reciprocal neighbourhood, >= 1 */
	int k2;          /* query expansion over the k2 nearest, >= 1 (1: none) */
	double lambda;   /* weight of the original distance, [0, 1] */
};

#define DROP_RERANK_K1 20
#define DROP_RERANK_K2 6
#define DROP_RERANK_LAMBDA 0.3

/* The re-ranking of Q queries against G gallery items, prepared. */
struct drop_rerank {
	struct drop_rerank_opts o;
	struct drop_match_opts m;
	const struct drop_match_side *q, *g;
	size_t nq, ng;
	float *qmax;        /* (nq,) each query's largest squared distance, max_l d(i, l)^2 */
	/* V after query expansion, rows of the N items in CSR form, columns ascending */
	size_t *vptr;       /* (N + 1,) */
	int32_t *vcol;      /* (nnz,) */
	float *vval;        /* (nnz,) */
	/* the inverted index of the gallery rows of V: for item l, the gallery items j (as
	 * 0..G-1) with V(j, l) != 0, ascending, and those values */
	size_t *iptr;       /* (N + 1,) */
	int32_t *irow;      /* (gallery nnz,) */
	float *ival;        /* (gallery nnz,) */
};

/* Prepare the re-ranking of the queries q against the gallery g with the distance m:
 * every item's nearest neighbours among all Q + G items and the vectors V. q and g are
 * sides initialised by drop_match_side_init and stay in use until drop_rerank_free.
 * Returns 0, or -1 with a message (embeddings that cannot be matched). */
int drop_rerank_prepare(struct drop_rerank *r, const struct drop_rerank_opts *o,
                        const struct drop_match_opts *m, const struct drop_match_side *q,
                        const struct drop_match_side *g);

/* The re-ranked distances dist (n, G) of queries q0 .. q0 + n - 1 to the gallery. Returns
 * 0, or -1 with a message. */
int drop_rerank_distances(const struct drop_rerank *r, size_t q0, size_t n, float *dist);

void drop_rerank_free(struct drop_rerank *r);

#endif

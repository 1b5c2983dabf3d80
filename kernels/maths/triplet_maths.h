/*
 * triplet_maths.h - the arithmetic of the triplet losses (ops.h, struct
 * drop_triplet_desc), written once for both backends (DROP_HD, see kernels/maths/maths.h):
 * the visibility-masked part-averaged distance of two entries, batch-hard mining for one
 * anchor, and one pair's gradient. Entries are numbered batch first (0..B-1, live), then
 * bank (B..B+M-1, detached).
 * Not here: the loops over anchors and pairs (kernels/cpu/triplet.c, kernels/cuda/triplet.cu).
 */
#ifndef DROP_TRIPLET_MATHS_H
#define DROP_TRIPLET_MATHS_H

#include "../ops.h"
#include "hd.h"
#include "loss_maths.h"

#include <stddef.h>

/* The mining result of one anchor: entry indices (-1 if none) and distances. */
struct drop_mined {
	int pos, neg;
	double dpos, dneg;
};

/* Entry j's embeddings (K, D). */
static inline DROP_HD const float *drop_trip_entry(const struct drop_triplet_desc *d,
                                                   const float *emb, const float *bank, int j)
{
	size_t row = (size_t)d->k * d->dim;
	return j < d->b ? emb + (size_t)j * row : bank + (size_t)(j - d->b) * row;
}

/* Whether part k of entry j is visible (always, with all_parts). */
static inline DROP_HD int drop_trip_vis(const struct drop_triplet_desc *d,
                                        const unsigned char *vis,
                                        const unsigned char *bank_vis, int j, int k)
{
	if (d->all_parts)
		return 1;
	return j < d->b ? vis[(size_t)j * d->k + k] : bank_vis[(size_t)(j - d->b) * d->k + k];
}

/* Squared distance of part k of entries i and j. */
static inline DROP_HD double drop_trip_sq(const struct drop_triplet_desc *d, const float *a,
                                          const float *e, int k)
{
	double sq = 0;
	for (int c = 0; c < d->dim; c++) {
		double t = (double)a[k * d->dim + c] - e[k * d->dim + c];
		sq += t * t;
	}
	return sq;
}

/* Distance of entries i and j: the mean over the parts visible in both of the per-part
 * distances; -1 when they share no visible part. */
static inline DROP_HD double drop_pair_dist(const struct drop_triplet_desc *d,
                                            const float *emb, const unsigned char *vis,
                                            const float *bank, const unsigned char *bank_vis,
                                            int i, int j)
{
	const float *a = drop_trip_entry(d, emb, bank, i), *e = drop_trip_entry(d, emb, bank, j);
	double s = 0;
	int shared = 0, flows;
	for (int k = 0; k < d->k; k++) {
		if (!drop_trip_vis(d, vis, bank_vis, i, k) || !drop_trip_vis(d, vis, bank_vis, j, k))
			continue;
		s += drop_safe_sqrt(drop_trip_sq(d, a, e, k), &flows);
		shared++;
	}
	return shared ? s / shared : -1.0;
}

/* Batch-hard mining for anchor i (< B) over every other entry: the farthest entry of the
 * same identity and the nearest of another, first one on ties. */
static inline DROP_HD struct drop_mined drop_trip_mine(const struct drop_triplet_desc *d,
                                                       const float *emb, const int *pid,
                                                       const unsigned char *vis,
                                                       const float *bank, const int *bank_pid,
                                                       const unsigned char *bank_vis, int i)
{
	struct drop_mined r = { -1, -1, 0, 0 };
	for (int j = 0; j < d->b + d->m; j++) {
		if (j == i)
			continue;
		double dist = drop_pair_dist(d, emb, vis, bank, bank_vis, i, j);
		if (dist < 0)
			continue;
		int same = (j < d->b ? pid[j] : bank_pid[j - d->b]) == pid[i];
		if (same && (r.pos < 0 || dist > r.dpos))
			r.pos = j, r.dpos = dist;
		if (!same && (r.neg < 0 || dist < r.dneg))
			r.neg = j, r.dneg = dist;
	}
	return r;
}

/* Add g * d dist(i, j) / d emb to demb (B, K, D): to anchor i's row and, when j is in the
 * current batch, to j's row (bank entries are detached). */
static inline DROP_HD void drop_pair_grad(const struct drop_triplet_desc *d, const float *emb,
                                          const unsigned char *vis, const float *bank,
                                          const unsigned char *bank_vis, int i, int j,
                                          double g, float *demb)
{
	const float *a = drop_trip_entry(d, emb, bank, i), *e = drop_trip_entry(d, emb, bank, j);
	int shared = 0, flows;
	for (int k = 0; k < d->k; k++)
		shared += drop_trip_vis(d, vis, bank_vis, i, k) && drop_trip_vis(d, vis, bank_vis, j, k);
	for (int k = 0; k < d->k; k++) {
		if (!drop_trip_vis(d, vis, bank_vis, i, k) || !drop_trip_vis(d, vis, bank_vis, j, k))
			continue;
		double dist = drop_safe_sqrt(drop_trip_sq(d, a, e, k), &flows);
		if (!flows)
			continue;
		double f = g / shared / dist;
		for (int c = 0; c < d->dim; c++) {
			double t = f * ((double)a[k * d->dim + c] - e[k * d->dim + c]);
			demb[((size_t)i * d->k + k) * d->dim + c] += (float)t;
			if (j < d->b)
				demb[((size_t)j * d->k + k) * d->dim + c] -= (float)t;
		}
	}
}

#endif

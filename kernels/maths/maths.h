/*
 * maths.h - per-element arithmetic written once for both backends (kernels/README.md, Backends):
 * distances from dot products and the rules of query-gallery matching.
 * Every function is `static inline` and marked DROP_HD, so gcc compiles it for the CPU
 * loops and nvcc for the CUDA kernels: the CPU tests check the GPU's arithmetic too.
 * Like everything in kernels/maths/, it depends on nothing but libm and kernels/ops.h's
 * types, so lib/ may include it too (lib/reid/match.c does).
 * Not here: loops, reductions, memory (the backends' and lib's own code).
 */
#ifndef DROP_MATHS_H
#define DROP_MATHS_H

#include "hd.h"

#include <math.h>

/* Euclidean distance from squared norms and a dot product (doc/bpbreid.md §8 step 2):
 * sqrt(max(0, |q|^2 + |g|^2 - 2 q.g)), never squared. */
static inline DROP_HD float drop_euclid_from_dot(float q2, float g2, float dot)
{
	float d2 = q2 + g2 - 2.0f * dot;
	return d2 > 0.0f ? sqrtf(d2) : 0.0f;
}

/* Cosine distance of unit vectors: 1 - q.g. */
static inline DROP_HD float drop_cosine_from_dot(float dot)
{
	return 1.0f - dot;
}

/* ---- Query-gallery matching (lib/reid/match.c; doc/bpbreid.md §8) ---------------------- */

/* Distances (of unit vectors, so in [0, 2]) under which drop_euclid_from_dot is not
 * trusted. Near 0, |q|^2 + |g|^2 - 2 q.g cancels: a float32 GEMM dot product of unit
 * vectors (D = 512) is off by up to about 3e-7, so the squared distance by up to about
 * 8e-7, which moves the distance d by 8e-7 / (2 d): 2e-6 at d = 0.2, and without bound
 * towards 0. Below 0.2 the caller recomputes the distance from the difference q - g,
 * keeping every distance well within 1e-5 of a double-precision reference; genuine pairs
 * this close are rare, so the direct path costs little. */
#define DROP_EUCLID_DIRECT_BELOW 0.2f

/* Whether a part counts on one side: its visibility score exceeds the threshold,
 * strictly. A part takes part in a query-gallery distance when visible on both sides. */
static inline DROP_HD int drop_part_visible(float vis, float threshold)
{
	return vis > threshold;
}

/* Distance of a pair that shares no embedding (only possible with --use P): BPBreID sets
 * it to "the largest distance + 1"; a fixed 3.0 is larger than any real distance (at most
 * 2 for unit vectors, Euclidean or cosine) and keeps query blocks independent. */
#define DROP_DIST_NONE_SHARED 3.0f

/* The combined distance: the mean of the n terms that count (n a whole number held in a
 * float, so that the sums vectorise), summed in `sum`. */
static inline DROP_HD float drop_mean_dist(float sum, float n)
{
	return n > 0.0f ? sum / n : DROP_DIST_NONE_SHARED;
}

#endif

/*
 * maths.h - per-element arithmetic written once for both backends (design.md, Backends).
 * Every function is `static inline` and marked DROP_HD, so gcc compiles it for the CPU
 * loops and nvcc for the CUDA kernels: the CPU tests check the GPU's arithmetic too.
 */
#ifndef DROP_MATHS_H
#define DROP_MATHS_H

#ifdef __CUDACC__
#define DROP_HD __host__ __device__
#else
#define DROP_HD
#endif

#include <math.h>

/* Euclidean distance from squared norms and a dot product (bpbreid-reference.md §8 step 2):
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

#endif

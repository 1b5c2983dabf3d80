/*
 * maths_ops.h - per-element arithmetic of the compute core's ops, written once for both
 * backends (kernels/README.md, Backends): ReLU, axpy, the batch-norm element formulas and the
 * bilinear taps, WAMP's and F.normalize's floors. Every function is `static inline
 * DROP_HD`, so gcc compiles it for the CPU loops and nvcc for the CUDA kernels. The
 * batch-norm functions work in double: the statistics are doubles, and the same
 * functions serve the double-precision reference path of the gradient checks.
 * Not here: reductions (their order is each backend's business, documented in ops.h).
 */
#ifndef DROP_MATHS_OPS_H
#define DROP_MATHS_OPS_H

#include "hd.h"

#include <math.h>
#include <stdint.h>

/* ReLU: max(x, 0); NaN stays NaN. */
static inline DROP_HD float drop_relu_f(float x)
{
	return x < 0.0f ? 0.0f : x;
}

/* ReLU backward from the output y: dy where y > 0, else 0. */
static inline DROP_HD float drop_relu_bwd_f(float y, float dy)
{
	return y > 0.0f ? dy : 0.0f;
}

/* y + alpha x (one rounding step less than alpha * x then + y only with FMA contraction,
 * which both compilers may apply; the tests use tolerances, not bit equality, across
 * backends). */
static inline DROP_HD float drop_axpy_f(float alpha, float x, float y)
{
	return y + alpha * x;
}

/* 1 / sqrt(var + eps) for the biased batch variance. */
static inline DROP_HD double drop_bn_invstd(double var, double eps)
{
	return 1.0 / sqrt(var + eps);
}

/* Running statistic update with PyTorch's momentum convention. */
static inline DROP_HD double drop_bn_running(double running, double batch, double momentum)
{
	return (1.0 - momentum) * running + momentum * batch;
}

/* Bilinear source position of output index `dst` along an axis of `in` -> `out` samples,
 * PyTorch's upsample_bilinear2d with an output size: align_corners true maps the corner
 * samples onto each other (scale (in - 1)/(out - 1)); false maps pixel centres
 * (scale in/out, source (dst + 0.5) scale - 0.5, clamped at 0). Gives the two taps
 * i0 <= i1 (equal at the last sample) and the weight l1 of i1 (1 - l1 for i0). */
static inline DROP_HD void drop_bilinear_taps(int dst, int in, int out, int align_corners,
                                              int *i0, int *i1, double *l1)
{
	double src;
	if (align_corners) {
		src = out > 1 ? (double)dst * (in - 1) / (out - 1) : 0.0;
	} else {
		src = ((double)dst + 0.5) * in / out - 0.5;
		if (src < 0)
			src = 0;
	}
	int i = (int)src;
	if (i > in - 1)
		i = in - 1;
	*i0 = i;
	*i1 = i < in - 1 ? i + 1 : i;
	*l1 = src - i;
}

/* WAMP's weighted-average denominator: the map's mass, floored at 1e-6 (doc/model.md §4). */
static inline DROP_HD double drop_wamp_den(double mass)
{
	return mass > 1e-6 ? mass : 1e-6;
}

/* F.normalize's denominator: the norm, floored at 1e-12. */
static inline DROP_HD double drop_l2norm_den(double sumsq)
{
	double nrm = sqrt(sumsq);
	return nrm > 1e-12 ? nrm : 1e-12;
}

/* The factor of d |x - y| / d x = (x - y) / |x - y| for an upstream gradient dd: dd / dist,
 * and 0 at a zero distance (torch.cdist's choice there). */
static inline DROP_HD double drop_pdist_coef(double dd, double dist)
{
	return dist > 0 ? dd / dist : 0.0;
}

/* exp(x) in float for the channel softmax: Cephes' expf (x = n ln2 + r with ln2 in two
 * parts, a polynomial in r, 2^n built in the exponent bits), with no branch and no call, so
 * the CPU loops vectorise it (n is rounded by adding and subtracting 1.5 2^23: gcc 12 does
 * not vectorise floorf for AVX-512). Within 1 ulp of exp(x) on [-87.3, 88.3]
 * (test_ops_softmax), 0 below (2^-126 is the smallest normal float), exp(88.3) above. */
static inline DROP_HD float drop_expf(float x)
{
	float xc = x < -87.3f ? -87.3f : x > 88.3f ? 88.3f : x;
	float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
	float r = xc - n * 0.693359375f;
	r = r + n * 2.12194440e-4f;
	float p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * (r * r) + r + 1.0f;
	union {
		uint32_t u;
		float f;
	} two_n = { .u = (uint32_t)((int32_t)n + 127) << 23 };
	return x < -87.3f ? 0.0f : p * two_n.f;
}

/* bfloat16 (the upper 16 bits of a float) of x as AVX512-BF16's VCVTNEPS2BF16 and
 * oneDNN's f32 -> bf16 reorder make it: rounded to nearest even, a denormal to zero of
 * its sign, a NaN kept a (quiet) NaN. */
static inline DROP_HD uint16_t drop_bf16_from_f(float x)
{
	union {
		float f;
		uint32_t u;
	} b = { .f = x };
	uint32_t u = b.u;
	if ((u & 0x7f800000u) == 0)
		return (uint16_t)((u >> 16) & 0x8000u);
	if ((u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((u >> 16) | 0x0040u);
	return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static inline DROP_HD float drop_bf16_to_f(uint16_t h)
{
	union {
		uint32_t u;
		float f;
	} b = { .u = (uint32_t)h << 16 };
	return b.f;
}

/* ReLU backward from the output kept as bfloat16 y: dy where y > 0 (a positive float
 * stays positive in bf16 unless it is a denormal), else 0. */
static inline DROP_HD float drop_relu_bwd_bf16(uint16_t y, float dy)
{
	return (int16_t)y > 0 && y <= 0x7f80u ? dy : 0.0f;
}

#endif

/*
 * maths_ops.h - per-element arithmetic of the compute core's ops, written once for both
 * backends (design.md, Backends): ReLU, axpy, the batch-norm element formulas and the
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

/* WAMP's weighted-average denominator: the map's mass, floored at 1e-6 (model.md §4). */
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

#endif

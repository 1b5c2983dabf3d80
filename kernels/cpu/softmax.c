/*
 * softmax.c - softmax over the channels of each pixel (the parsing head, doc/model.md §3), the
 * maximum over channels (the foreground map), and L2 normalisation of rows (test
 * embeddings, doc/model.md §8) on the CPU, forward and backward. The loops are in
 * softmax_impl.h, compiled here for float (the backend ops, with drop_expf) and double (the
 * *_f64 reference path of the finite-difference tests). Plain layout only: the heads
 * convert out of the blocked layout first (ops.h).
 */
#include "cpu.h"
#include "../maths/maths_ops.h"
#include "par.h"

#include <math.h>

#define REAL float
#define SM_NAME(x) drop_##x##_cpu
#define SM_EXP drop_expf
#include "softmax_impl.h"
#undef REAL
#undef SM_NAME
#undef SM_EXP

#define REAL double
#define SM_NAME(x) drop_##x##_cpu_f64
#define SM_EXP exp
#include "softmax_impl.h"
#undef REAL
#undef SM_NAME
#undef SM_EXP

void drop_chanmax_fwd_cpu(int n, int k, int hw, int first, const float *x, float *y,
                          int *argmax)
{
#pragma omp parallel for collapse(2) schedule(static) if (DROP_PAR((size_t)n * k * hw))
	for (int i = 0; i < n; i++) {
		for (int p = 0; p < hw; p++) {
			const float *xp = x + (size_t)i * k * hw + p;
			int best = first;
			for (int c = first + 1; c < k; c++)
				if (xp[(size_t)c * hw] > xp[(size_t)best * hw])
					best = c;
			y[(size_t)i * hw + p] = xp[(size_t)best * hw];
			argmax[(size_t)i * hw + p] = best;
		}
	}
}

void drop_chanmax_bwd_cpu(int n, int k, int hw, const int *argmax, const float *dy, float *dx)
{
#pragma omp parallel for collapse(2) schedule(static) if (DROP_PAR((size_t)n * k * hw))
	for (int i = 0; i < n; i++) {
		for (int p = 0; p < hw; p++) {
			float *dp = dx + (size_t)i * k * hw + p;
			for (int c = 0; c < k; c++)
				dp[(size_t)c * hw] = 0.0f;
			dp[(size_t)argmax[(size_t)i * hw + p] * hw] = dy[(size_t)i * hw + p];
		}
	}
}

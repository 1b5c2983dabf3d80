/*
 * batchnorm.c - batch norm 2-D and 1-D on the CPU: training (batch statistics, running
 * statistics with momentum), eval (running statistics), backward, and a frozen bias
 * (beta NULL: BNNeck). Plain and blocked layouts. The loops are in batchnorm_impl.h,
 * compiled here for float (the backend ops) and for double (drop_bn_*_cpu_f64, the
 * finite-difference reference), so both paths are one source.
 * Not here: the CUDA version (kernels/cuda/batchnorm.cu, the same formulas).
 */
#include "cpu.h"
#include "../maths/maths_ops.h"
#include "par.h"

#include <stdlib.h>

#include "../fail.h"

#define BN_MAXL 16 /* the largest block (AVX-512) */

static int bn_lanes(const struct drop_bn_desc *d)
{
	return d->layout == DROP_BLOCKED ? drop_cpu_block() : 1;
}

static int bn_groups(const struct drop_bn_desc *d)
{
	int L = bn_lanes(d);
	return (d->c + L - 1) / L;
}

#define REAL float
#define BN_NAME(x) drop_bn_##x##_cpu
#include "batchnorm_impl.h"
#undef REAL
#undef BN_NAME

#define REAL double
#define BN_NAME(x) drop_bn_##x##_cpu_f64
#include "batchnorm_impl.h"
#undef REAL
#undef BN_NAME

/* The float path's apply loop (BN_NAME(apply) above), for bn_sync.c. */
void drop_bn_normalise_cpu(const struct drop_bn_desc *d, const float *x, const double *mean,
                           const double *invstd, const float *gamma, const float *beta,
                           float *y)
{
	drop_bn_apply_cpu(d, x, mean, invstd, gamma, beta, y);
}

/* The float path's backward cut at its sums (BN_NAME(bwd_any) above), for bn_sync.c. */
void drop_bn_bwd_cut_cpu(const struct drop_bn_desc *d, const float *x, const float *dy,
                         const float *gamma, const float *beta, const float *save_mean,
                         const float *save_invstd, const double *sums_in, double count,
                         double *sums_out, float *dx, float *dgamma, float *dbeta)
{
	drop_bn_bwd_any_cpu(d, x, dy, gamma, beta, save_mean, save_invstd, sums_in, count,
	                    sums_out, dx, dgamma, dbeta);
}

/*
 * bn_sync.c - batch norm in training mode cut at its reductions (ops.h, "Batch norm over
 * several processes"): per-channel sums out, the normalisation and the backward's dx from
 * sums the caller has added over the processes (drop-train --sync-bn, doc/scale-out.md).
 *
 * The data view is batchnorm_impl.h's (G groups of L lanes); one thread owns a group and
 * sums each channel over (n, s) in that order, in double, so the sums depend neither on
 * the layout nor on the thread count. The forward finishes as bn_fwd_train does: the
 * statistics rounded to float, then the shared apply loop (drop_bn_normalise_cpu).
 * Not here: the one-process batch norm (batchnorm.c), the sums over processes (lib/).
 */
#include "cpu.h"
#include "../maths/maths_ops.h"
#include "par.h"

#include <stdlib.h>

#include "../fail.h"

#define BN_MAXL 16

static int lanes(const struct drop_bn_desc *d)
{
	return d->layout == DROP_BLOCKED ? drop_cpu_block() : 1;
}

void drop_bn_stats_cpu(const struct drop_bn_desc *d, const float *x, double *sums)
{
	int L = lanes(d), G = (d->c + L - 1) / L;
	size_t hw = (size_t)d->h * d->w;
#pragma omp parallel for schedule(static) if (DROP_PAR((size_t)d->n * G * hw * L))
	for (int g = 0; g < G; g++) {
		double s1[BN_MAXL] = { 0 }, s2[BN_MAXL] = { 0 };
		for (int n = 0; n < d->n; n++) {
			const float *p = x + ((size_t)n * G + g) * hw * L;
			for (size_t s = 0; s < hw; s++)
				for (int l = 0; l < L; l++) {
					double v = p[s * L + l];
					s1[l] += v;
					s2[l] += v * v;
				}
		}
		for (int l = 0; l < L && g * L + l < d->c; l++) {
			sums[g * L + l] = s1[l];
			sums[d->c + g * L + l] = s2[l];
		}
	}
}

void drop_bn_fwd_sync_cpu(const struct drop_bn_desc *d, const float *x, const double *sums,
                          double count, const float *gamma, const float *beta,
                          float *running_mean, float *running_var, float *y, float *save_mean,
                          float *save_invstd)
{
	if (count < 2)
		DROP_BUG("batch norm: training needs more than one value per channel");
	double *mean = drop_malloc(2 * (size_t)d->c * sizeof *mean), *inv = mean + d->c;
	for (int c = 0; c < d->c; c++) {
		double mu = sums[c] / count, var = sums[d->c + c] / count - mu * mu;
		var = var > 0 ? var : 0; /* rounding of E[x^2] - mean^2 */
		running_mean[c] = (float)drop_bn_running(running_mean[c], mu, d->momentum);
		running_var[c] = (float)drop_bn_running(running_var[c], var * count / (count - 1),
		                                        d->momentum);
		save_mean[c] = (float)mu;
		save_invstd[c] = (float)drop_bn_invstd(var, d->eps);
		mean[c] = save_mean[c];
		inv[c] = save_invstd[c];
	}
	drop_bn_normalise_cpu(d, x, mean, inv, gamma, beta, y);
	free(mean);
}

/* The ReLU's mask of the output at one element (1 without d->relu), as bwd_group has it. */
static inline float relu_mask(int relu, float ga, float x, float mr, float be)
{
	return relu ? (float)(ga * (x - mr) + be > 0) : 1.0f;
}

void drop_bn_bwd_stats_cpu(const struct drop_bn_desc *d, const float *x, const float *dy,
                           const float *gamma, const float *beta, const float *save_mean,
                           const float *save_invstd, double *sums, float *dgamma,
                           float *dbeta)
{
	int L = lanes(d), G = (d->c + L - 1) / L, relu = d->relu;
	size_t hw = (size_t)d->h * d->w;
	if (relu && !beta)
		DROP_BUG("batch norm + ReLU backward: beta is required");
#pragma omp parallel for schedule(static) if (DROP_PAR((size_t)d->n * G * hw * L))
	for (int g = 0; g < G; g++) {
		double sdy[BN_MAXL] = { 0 }, sdyx[BN_MAXL] = { 0 }, mu[BN_MAXL] = { 0 },
		       is[BN_MAXL] = { 0 };
		float ga[BN_MAXL] = { 0 }, mr[BN_MAXL] = { 0 }, be[BN_MAXL] = { 0 };
		int live = d->c - g * L < L ? d->c - g * L : L;
		for (int l = 0; l < live; l++) {
			int c = g * L + l;
			mu[l] = save_mean[c];
			is[l] = save_invstd[c];
			mr[l] = (float)mu[l];
			ga[l] = (float)(gamma[c] * is[l]);
			be[l] = relu ? beta[c] : 0;
		}
		for (int n = 0; n < d->n; n++) {
			size_t o = ((size_t)n * G + g) * hw * L;
			for (size_t s = 0; s < hw; s++)
				for (int l = 0; l < live; l++) {
					float xv = x[o + s * L + l];
					double t = dy[o + s * L + l] * relu_mask(relu, ga[l], xv, mr[l], be[l]);
					sdy[l] += t;
					sdyx[l] += t * (xv - mu[l]) * is[l];
				}
		}
		for (int l = 0; l < live; l++) {
			int c = g * L + l;
			sums[c] = sdy[l];
			sums[d->c + c] = sdyx[l];
			dgamma[c] = (float)sdyx[l];
			if (dbeta)
				dbeta[c] = (float)sdy[l];
		}
	}
}

void drop_bn_bwd_sync_cpu(const struct drop_bn_desc *d, const float *x, const float *dy,
                          const float *gamma, const float *beta, const float *save_mean,
                          const float *save_invstd, const double *sums, double count,
                          float *dx)
{
	int L = lanes(d), G = (d->c + L - 1) / L, relu = d->relu;
	size_t hw = (size_t)d->h * d->w;
	if (relu && !beta)
		DROP_BUG("batch norm + ReLU backward: beta is required");
#pragma omp parallel for schedule(static) if (DROP_PAR((size_t)d->n * G * hw * L))
	for (int g = 0; g < G; g++) {
		float a[BN_MAXL] = { 0 }, b[BN_MAXL] = { 0 }, c0[BN_MAXL] = { 0 };
		float ga[BN_MAXL] = { 0 }, mr[BN_MAXL] = { 0 }, be[BN_MAXL] = { 0 };
		int live = d->c - g * L < L ? d->c - g * L : L;
		for (int l = 0; l < live; l++) {
			int c = g * L + l;
			double is = save_invstd[c], gi = gamma[c] * is;
			mr[l] = save_mean[c];
			ga[l] = (float)gi;
			be[l] = relu ? beta[c] : 0;
			a[l] = (float)gi;
			b[l] = (float)(-gi * is * sums[d->c + c] / count);
			c0[l] = (float)(-gi * sums[c] / count);
		}
		for (int n = 0; n < d->n; n++) {
			size_t o = ((size_t)n * G + g) * hw * L;
			for (size_t s = 0; s < hw; s++) {
				for (int l = 0; l < live; l++) {
					size_t i = o + s * L + l;
					float dyv = dy[i] * relu_mask(relu, ga[l], x[i], mr[l], be[l]);
					dx[i] = a[l] * dyv + b[l] * (x[i] - mr[l]) + c0[l];
				}
				for (int l = live; l < L; l++) /* padding lanes: exactly 0 */
					dx[o + s * L + l] = 0;
			}
		}
	}
}

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

/* The backward's sums are bwd_group's (batchnorm_impl.h), cut where the processes add
 * them: this process's part of dgamma and dbeta with them, dx from the summed ones. */
void drop_bn_bwd_stats_cpu(const struct drop_bn_desc *d, const float *x, const float *dy,
                           const float *gamma, const float *beta, const float *save_mean,
                           const float *save_invstd, double *sums, float *dgamma,
                           float *dbeta)
{
	if (d->relu && !beta)
		DROP_BUG("batch norm + ReLU backward: beta is required");
	drop_bn_bwd_cut_cpu(d, x, dy, gamma, d->relu ? beta : NULL, save_mean, save_invstd, NULL,
	                    0, sums, NULL, dgamma, dbeta);
}

void drop_bn_bwd_sync_cpu(const struct drop_bn_desc *d, const float *x, const float *dy,
                          const float *gamma, const float *beta, const float *save_mean,
                          const float *save_invstd, const double *sums, double count,
                          float *dx)
{
	if (d->relu && !beta)
		DROP_BUG("batch norm + ReLU backward: beta is required");
	drop_bn_bwd_cut_cpu(d, x, dy, gamma, d->relu ? beta : NULL, save_mean, save_invstd, sums,
	                    count, NULL, dx, NULL, NULL);
}

/*
 * sync_bn.c - batch norm over the global batch of a data-parallel run (see sync_bn.h).
 * The 2C sums and this rank's value count travel in one allreduce of 2C + 1 doubles, so
 * ranks holding unequal slices still divide by the global count.
 */
#include "sync_bn.h"

#include <stdlib.h>

#include "../core/drop.h"
#include "../core/ranks.h"

/* Sum the 2C sums and the count (n h w) over the ranks: the global count. */
static double allreduce_sums(const struct drop_bn_desc *d, double *sums)
{
	sums[2 * d->c] = (double)d->n * d->h * d->w;
	drop_ranks_allreduce_f64(sums, 2 * (size_t)d->c + 1);
	return sums[2 * d->c];
}

void drop_sync_bn_fwd(const struct drop_backend *be, const struct drop_bn_desc *d,
                      const float *x, const float *gamma, const float *beta,
                      float *running_mean, float *running_var, float *y, float *save_mean,
                      float *save_invstd)
{
	double *sums = drop_malloc((2 * (size_t)d->c + 1) * sizeof *sums);
	be->bn_stats(d, x, sums);
	double count = allreduce_sums(d, sums);
	be->bn_fwd_sync(d, x, sums, count, gamma, beta, running_mean, running_var, y, save_mean,
	                save_invstd);
	free(sums);
}

void drop_sync_bn_bwd(const struct drop_backend *be, const struct drop_bn_desc *d,
                      const float *x, const float *dy, const float *gamma, const float *beta,
                      const float *save_mean, const float *save_invstd, float *dx,
                      float *dgamma, float *dbeta)
{
	double *sums = drop_malloc((2 * (size_t)d->c + 1) * sizeof *sums);
	be->bn_bwd_stats(d, x, dy, gamma, beta, save_mean, save_invstd, sums, dgamma, dbeta);
	double count = allreduce_sums(d, sums);
	be->bn_bwd_sync(d, x, dy, gamma, beta, save_mean, save_invstd, sums, count, dx);
	free(sums);
}

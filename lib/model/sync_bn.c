/*
 * sync_bn.c - batch norm over the global batch of a data-parallel run (see sync_bn.h).
 */
#include "sync_bn.h"

#include <stdlib.h>

#include "../core/drop.h"
#include "../core/ranks.h"

void drop_sync_bn_init(struct drop_sync_bn *s, const struct drop_backend *be, int ranks,
                       bool device_sums)
{
	*s = (struct drop_sync_bn){ .be = be, .ranks = ranks, .device_sums = device_sums };
}

void drop_sync_bn_free(struct drop_sync_bn *s)
{
	if (s->sums)
		s->be->free(s->sums);
	s->sums = NULL;
	s->cap = 0;
}

/* The buffer for the 2C sums of d (backend memory). */
static double *sums_for(struct drop_sync_bn *s, const struct drop_bn_desc *d)
{
	size_t n = 2 * (size_t)d->c;
	if (n > s->cap) {
		drop_sync_bn_free(s);
		s->sums = s->be->alloc(n * sizeof *s->sums);
		s->cap = n;
	}
	return s->sums;
}

/* Sum the 2C sums over the ranks, in place: the global count. */
static double allreduce_sums(struct drop_sync_bn *s, const struct drop_bn_desc *d)
{
	size_t n = 2 * (size_t)d->c;
	if (s->device_sums) {
		s->be->allreduce_f64(s->sums, n);
	} else if (s->be->host_memory) {
		drop_ranks_allreduce_f64(s->sums, n);
	} else {
		double *h = drop_malloc(n * sizeof *h);
		s->be->to_host(h, s->sums, n * sizeof *h);
		drop_ranks_allreduce_f64(h, n);
		s->be->to_device(s->sums, h, n * sizeof *h);
		free(h);
	}
	return (double)s->ranks * d->n * d->h * d->w;
}

void drop_sync_bn_fwd(struct drop_sync_bn *s, const struct drop_bn_desc *d, const float *x,
                      const float *gamma, const float *beta, float *running_mean,
                      float *running_var, float *y, float *save_mean, float *save_invstd)
{
	double *sums = sums_for(s, d);
	s->be->bn_stats(d, x, sums);
	double count = allreduce_sums(s, d);
	s->be->bn_fwd_sync(d, x, sums, count, gamma, beta, running_mean, running_var, y,
	                   save_mean, save_invstd);
}

void drop_sync_bn_bwd(struct drop_sync_bn *s, const struct drop_bn_desc *d, const float *x,
                      const float *dy, const float *gamma, const float *beta,
                      const float *save_mean, const float *save_invstd, float *dx,
                      float *dgamma, float *dbeta)
{
	double *sums = sums_for(s, d);
	s->be->bn_bwd_stats(d, x, dy, gamma, beta, save_mean, save_invstd, sums, dgamma, dbeta);
	double count = allreduce_sums(s, d);
	s->be->bn_bwd_sync(d, x, dy, gamma, beta, save_mean, save_invstd, sums, count, dx);
}

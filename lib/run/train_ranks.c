/*
 * train_ranks.c - drop-train's pieces for several ranks (see train_ranks.h).
 * Not here: the model's side (gathered losses, summed gradients, --sync-bn: lib/model).
 */
#include "train_ranks.h"

#include "../core/drop.h"
#include "../core/ranks.h"

int drop_train_ranks_check(const struct drop_train_opts *o, const struct drop_backend *be)
{
	int R = drop_nranks();
	if (R == 1)
		return 0;
	if (o->batch % R)
		return drop_fail("--batch %d does not split evenly over %d ranks (the batch is "
		                 "global: give a multiple of %d)", o->batch, R, R);
	if (o->batch / R < 2)
		return drop_fail("--batch %d over %d ranks: fewer than 2 images a rank (batch "
		                 "norm needs 2)", o->batch, R);
	if (o->sync_bn && o->model.backbone == DROP_RESNET50_IBN)
		return drop_fail("--sync-bn: not with --backbone resnet50-ibn (its instance "
		                 "norm halves)");
	if (o->sync_bn && !(be->bn_stats && be->bn_fwd_sync && be->bn_bwd_stats &&
	                    be->bn_bwd_sync))
		return drop_fail("--sync-bn: device %s has no batch norm over processes "
		                 "(bn_stats)", be->name);
	return 0;
}

size_t *drop_train_ranks_slice(const size_t *order, size_t norder, int batch, size_t *nlocal)
{
	int R = drop_nranks(), r = drop_rank(), per = batch / R;
	size_t nb = norder / (size_t)batch;
	size_t *out = drop_malloc((nb ? nb * per : 1) * sizeof *out);
	for (size_t b = 0; b < nb; b++)
		for (int i = 0; i < per; i++)
			out[b * per + i] = order[b * batch + (size_t)r * per + i];
	*nlocal = nb * per;
	return out;
}

bool drop_train_ranks_any(bool flag)
{
	double v = flag;
	drop_ranks_allreduce_f64(&v, 1);
	return v > 0;
}

/* The counts travel as doubles: exact below 2^53 pixels. */
void drop_train_ranks_counts(struct drop_parsing_counts *c)
{
	enum { NC = DROP_MAX_PARTS + 2 };
	double v[1 + 2 * NC];
	v[0] = (double)c->pixels;
	for (int i = 0; i < NC; i++)
		v[1 + i] = (double)c->inter[i], v[1 + NC + i] = (double)c->uni[i];
	drop_ranks_allreduce_f64(v, 1 + 2 * NC);
	c->pixels = (uint64_t)v[0];
	for (int i = 0; i < NC; i++)
		c->inter[i] = (uint64_t)v[1 + i], c->uni[i] = (uint64_t)v[1 + NC + i];
}

/*
 * triplet.c - the part-aware compactness triplet loss over a memory bank (PCT, doc/model.md
 * §5) and BPBreID's part-averaged triplet (the same with an empty bank) on the CPU.
 *
 * Phase 1, in parallel over anchors: batch-hard mining over the batch and the bank
 * (drop_trip_mine, kernels/maths/triplet_maths.h). Phase 2, serial in anchor order: the
 * gradient, which flows to the anchor and to a positive or negative of the current batch
 * (bank entries are detached). The serial phase fixes the order of every addition: the
 * result does not depend on the thread count. Cost B (B + M) K D multiply-adds (64 x 320 x
 * 8 x 512 = 84 M at the paper's sizes), small beside the backbone.
 */
#include "cpu.h"
#include "../maths/loss_maths.h"
#include "../maths/triplet_maths.h"

#include <stdlib.h>
#include <string.h>

#include "../fail.h"

double drop_triplet_cpu(const struct drop_triplet_desc *d, const float *emb, const int *pid,
                        const unsigned char *vis, const float *bank, const int *bank_pid,
                        const unsigned char *bank_vis, float scale, float *demb, int *nvalid)
{
	struct drop_mined *mn = drop_malloc((size_t)d->b * sizeof *mn);
#pragma omp parallel for schedule(static)
	for (int i = 0; i < d->b; i++)
		mn[i] = drop_trip_mine(d, emb, pid, vis, bank, bank_pid, bank_vis, i);
	int valid = 0;
	for (int i = 0; i < d->b; i++)
		valid += mn[i].pos >= 0 && mn[i].neg >= 0;
	memset(demb, 0, (size_t)d->b * d->k * d->dim * sizeof *demb);
	double loss = 0;
	for (int i = 0; i < d->b; i++) {
		if (mn[i].pos < 0 || mn[i].neg < 0)
			continue;
		double l = mn[i].dpos - mn[i].dneg + d->margin;
		if (l <= 0)
			continue;
		loss += l;
		double g = (double)scale / valid;
		drop_pair_grad(d, emb, vis, bank, bank_vis, i, mn[i].pos, g, demb);
		drop_pair_grad(d, emb, vis, bank, bank_vis, i, mn[i].neg, -g, demb);
	}
	free(mn);
	*nvalid = valid;
	return valid ? loss / valid : 0.0;
}

/*
 * losses.c - the training losses of doc/model.md §5 over the heads' outputs:
 * L = L_reid + L_pct + lambda L_hp, with L_reid the three label-smoothed cross-entropies
 * (global, foreground, concatenated parts), L_pct the part-aware compactness triplet over
 * the current batch (live) and the parts embedding memory bank (PEMB: the previous
 * pemb - 1 batches, detached, oldest first), L_hp the smoothed pixel cross-entropy plus
 * gamma times the spatial smoothness of the part probabilities. Each term writes the
 * gradient of its weighted value into the heads' buffers; the bank then takes the batch.
 *
 * Visibility for L_pct: part k of an image is visible when v_k > vis_threshold (the score
 * of doc/model.md §4); the parts averaged are those visible in both entries (CHOICE), or all K
 * with triplet_all_parts. --triplet part-avg is BPBreID's: all K parts, no bank.
 *
 * Data-parallel (drop_model_data_parallel, doc/scale-out.md): each of R ranks holds n of
 * the R n images of the global batch. The means over images (L_reid, L_hp) are this
 * rank's, with their gradients scaled by 1/R, so that the gradients summed over the ranks
 * are those of the global means; the triplet and the PEMB need every image: the part
 * embeddings, identities and visibility of all ranks are gathered, the triplet computed
 * over the global batch on every rank (the same value everywhere) and its gradient kept
 * for this rank's rows only, the others' being theirs; the bank takes the global batch,
 * identical on every rank. The loss terms returned are the global batch's.
 * Not here: the heads' forward and backward passes (heads.c).
 */
#include "heads.h"

#include <stdlib.h>
#include <string.h>

#include "../core/drop.h"
#include "../core/ranks.h"

/* Append the current batch (detached) to the bank, dropping the oldest batch when the bank
 * already holds pemb - 1 of them. */
static void bank_push(struct drop_model *m, int n, const float *p1, const int *pids,
                      const unsigned char *vis)
{
	struct drop_heads *h = m->heads;
	const struct drop_backend *be = m->be;
	size_t row = (size_t)m->cfg.parts * m->cfg.dim, K = m->cfg.parts;
	if (m->cfg.pemb <= 1)
		return;
	if (m->bank_nslots == m->cfg.pemb - 1 || m->bank_n + n > h->bank_cap) {
		int drop = m->bank_slot[0], keep = m->bank_n - drop;
		/* Move the kept entries to the front, in chunks that do not overlap. */
		for (int s = 0; s < keep; s += drop) {
			int c = keep - s < drop ? keep - s : drop;
			be->scale(c * row, 1.0f, h->bank + (size_t)(drop + s) * row,
			          h->bank + (size_t)s * row);
		}
		memmove(m->bank_pid_h, m->bank_pid_h + drop, (size_t)keep * sizeof *m->bank_pid_h);
		memmove(m->bank_vis_h, m->bank_vis_h + drop * K, (size_t)keep * K);
		memmove(m->bank_slot, m->bank_slot + 1, (size_t)(m->bank_nslots - 1) * sizeof(int));
		m->bank_nslots--;
		m->bank_n = keep;
	}
	be->scale(n * row, 1.0f, p1, h->bank + (size_t)m->bank_n * row);
	memcpy(m->bank_pid_h + m->bank_n, pids, (size_t)n * sizeof *pids);
	memcpy(m->bank_vis_h + m->bank_n * K, vis, (size_t)n * K);
	m->bank_slot[m->bank_nslots++] = n;
	m->bank_n += n;
}

/* Data-parallel: every rank's n part embeddings (to h->gp1), identities and visibility
 * (host, R n each, rank order) gathered. */
static void gather_batch(struct drop_model *m, int n, const int *pids, const unsigned char *vis,
                         int *gpids, unsigned char *gvis)
{
	struct drop_heads *h = m->heads;
	size_t row = (size_t)m->cfg.parts * m->cfg.dim, K = m->cfg.parts, R = m->ranks;
	float *mine = drop_malloc((size_t)n * row * sizeof *mine);
	float *all = drop_malloc(R * n * row * sizeof *all);
	m->be->to_host(mine, h->p1, (size_t)n * row * sizeof *mine);
	drop_ranks_allgather(mine, all, (size_t)n * row * sizeof *mine);
	drop_ranks_allgather(pids, gpids, (size_t)n * sizeof *pids);
	drop_ranks_allgather(vis, gvis, (size_t)n * K);
	drop_heads_reserve_global(m, (int)R * n);
	m->be->to_device(h->gp1, all, R * n * row * sizeof *all);
	m->be->to_device(h->gpid, gpids, R * n * sizeof *gpids);
	m->be->to_device(h->gvis, gvis, R * n * K);
	free(mine);
	free(all);
}

struct drop_model_loss drop_model_losses(struct drop_model *m, int n, const int *pids,
                                         const int *labels)
{
	struct drop_heads *h = m->heads;
	const struct drop_backend *be = m->be;
	const struct drop_model_config *c = &m->cfg;
	int K = c->parts, k1 = K + 1, C = c->classes, D = c->dim;
	size_t hw = (size_t)m->hf * m->wf;
	struct drop_model_loss L = { 0 };

	int R = m->ranks > 1 ? m->ranks : 1, B = R * n; /* ranks, the global batch */
	float wr = 1.0f / (float)R; /* this rank's share of a mean over the global batch */

	drop_heads_reserve_bank(m, B);
	be->to_device(h->pid, pids, (size_t)n * sizeof *pids);
	be->to_device(h->labels, labels, (size_t)n * hw * sizeof *labels);

	/* L_reid */
	L.id_global = be->ce_smooth(n, C, h->lg, h->pid, c->label_smooth, wr, h->dlg);
	L.id_fore = be->ce_smooth(n, C, h->lf, h->pid, c->label_smooth, wr, h->dlf);
	L.id_concat = be->ce_smooth(n, C, h->lc, h->pid, c->label_smooth, wr, h->dlc);

	/* L_pct */
	unsigned char *vis = drop_malloc((size_t)n * K);
	float *v = drop_malloc((size_t)n * K * sizeof *v);
	be->to_host(v, h->vis, (size_t)n * K * sizeof *v);
	for (size_t i = 0; i < (size_t)n * K; i++)
		vis[i] = v[i] > c->vis_threshold;
	free(v);
	size_t ne = (size_t)n * K * D;
	int *gpids = NULL;
	unsigned char *gvis = NULL;
	if (R > 1 && c->triplet != DROP_TRIPLET_NONE) {
		gpids = drop_malloc((size_t)B * sizeof *gpids);
		gvis = drop_malloc((size_t)B * K);
		gather_batch(m, n, pids, vis, gpids, gvis);
	}
	if (c->triplet == DROP_TRIPLET_NONE) {
		be->scale(ne, 0.0f, h->dtrip, h->dtrip);
	} else {
		bool pct = c->triplet == DROP_TRIPLET_PCT;
		struct drop_triplet_desc d = { n, pct ? m->bank_n : 0, K, D, c->margin,
		                               pct ? c->triplet_all_parts : true };
		be->to_device(h->visb, vis, (size_t)n * K);
		if (d.m) {
			be->to_device(h->bank_pid, m->bank_pid_h, (size_t)d.m * sizeof(int));
			be->to_device(h->bank_vis, m->bank_vis_h, (size_t)d.m * K);
		}
		if (R == 1) {
			L.pct = be->triplet(&d, h->p1, h->pid, h->visb, h->bank, h->bank_pid,
			                    h->bank_vis, 1.0f, h->dtrip, &L.pct_valid);
		} else { /* over the global batch, the gradient of this rank's rows */
			d.b = B;
			L.pct = be->triplet(&d, h->gp1, h->gpid, h->gvis, h->bank, h->bank_pid,
			                    h->bank_vis, 1.0f, h->gdtrip, &L.pct_valid);
			be->scale(ne, 1.0f, h->gdtrip + (size_t)m->rank * ne, h->dtrip);
		}
	}

	/* L_hp, weighted by lambda */
	double out[2];
	be->parsing_loss(n, k1, m->hf, m->wf, h->s, h->prob, h->labels, c->label_smooth,
	                 c->ss_gamma, c->hp_weight * wr, h->ds, h->dprob_s, out);
	L.hp_ce = out[0];
	L.hp_smooth = out[1];
	if (R > 1) { /* the means over the global batch */
		double t[5] = { L.id_global, L.id_fore, L.id_concat, L.hp_ce, L.hp_smooth };
		drop_ranks_allreduce_f64(t, 5);
		L.id_global = t[0] / R;
		L.id_fore = t[1] / R;
		L.id_concat = t[2] / R;
		L.hp_ce = t[3] / R;
		L.hp_smooth = t[4] / R;
	}

	L.total = L.id_global + L.id_fore + L.id_concat + L.pct +
	          c->hp_weight * (L.hp_ce + c->ss_gamma * L.hp_smooth);
	if (c->triplet == DROP_TRIPLET_PCT)
		bank_push(m, B, R > 1 ? h->gp1 : h->p1, R > 1 ? gpids : pids, R > 1 ? gvis : vis);
	free(vis);
	free(gpids);
	free(gvis);
	return L;
}

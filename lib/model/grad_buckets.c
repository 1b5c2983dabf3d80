/*
 * grad_buckets.c - the buckets of a data-parallel backward pass (see grad_buckets.h).
 */
#include "grad_buckets.h"
#include "graph.h"
#include "model.h"
#include "../core/drop.h"

#include <stdint.h>
#include <stdlib.h>

void drop_grad_buckets_init(struct drop_grad_buckets *b, const struct drop_graph *g,
                            const struct drop_params *ps, size_t cap)
{
	b->nn = g->nn;
	b->n = ps->ntrained;
	b->cap = cap ? cap : SIZE_MAX;
	b->below = drop_malloc(((size_t)g->nn + 1) * sizeof *b->below);
	size_t end = 0;
	for (int i = 0; i < g->nn; i++) {
		b->below[i] = end;
		int e[4], ne = drop_graph_node_params(&g->nd[i], e);
		for (int j = 0; j < ne; j++) {
			const struct drop_param *p = &ps->p[e[j]];
			if (p->kind == DROP_PARAM_TRAINED && p->off + p->numel > end)
				end = p->off + p->numel;
		}
	}
	b->below[g->nn] = end;
	drop_grad_buckets_reset(b);
}

void drop_grad_buckets_reset(struct drop_grad_buckets *b)
{
	b->lo = b->n;
}

size_t drop_grad_buckets_ready(struct drop_grad_buckets *b, int i, size_t *off)
{
	DROP_ASSERT(i >= 0 && i <= b->nn, "grad buckets: node %d of %d", i, b->nn);
	size_t from = b->below[i];
	if (from >= b->lo || (b->lo - from < b->cap && from > 0))
		return 0;
	size_t count = b->lo - from;
	*off = from;
	b->lo = from;
	return count;
}

void drop_grad_buckets_free(struct drop_grad_buckets *b)
{
	free(b->below);
	b->below = NULL;
}

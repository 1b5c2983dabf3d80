/*
 * test_grad_buckets.c - tests: lib/model/grad_buckets.h, the buckets a data-parallel
 * backward pass sums while it goes on. For hrnet-tiny and hrnet-w32 (the registry only,
 * no pass run) and bucket sizes from one float to the whole buffer, the backward order
 * (node nn - 1 down to 0) is walked as drop_graph_backward calls the hook, and the
 * buckets given out must: tile the gradient buffer exactly, from its end backwards; hold
 * no gradient of a node whose backward has not run yet when they are started (they would
 * sum a partial gradient); reach the size asked for, all but the last; and, smaller than
 * the buffer, start before backward ends (the overlap); as large as it, be one. Also
 * requires: kernels (CPU backend).
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../lib/core/drop.h"
#include "../../lib/model/grad_buckets.h"
#include "../../lib/model/graph.h"
#include "../../lib/model/model.h"
#include "tap.h"
#include "tiny_model.h"

/* Whether a trained entry of a node before i overlaps [off, off + n). */
static int holds_pending(const struct drop_model *m, int i, size_t off, size_t n)
{
	const struct drop_graph *g = m->graph;
	for (int j = 0; j < i; j++) {
		int e[4], ne = drop_graph_node_params(&g->nd[j], e);
		for (int k = 0; k < ne; k++) {
			const struct drop_param *p = &m->params.p[e[k]];
			if (p->kind == DROP_PARAM_TRAINED && p->off < off + n && off < p->off + p->numel)
				return 1;
		}
	}
	return 0;
}

/* Walk one backward pass with buckets of cap floats; returns the buckets given out. */
static int walk(const struct drop_model *m, size_t cap, const char *name)
{
	struct drop_grad_buckets b;
	drop_grad_buckets_init(&b, m->graph, &m->params, cap);
	size_t hi = m->params.ntrained, small = 0;
	int count = 0, first = -1, early = 0, pending = 0;
	for (int i = m->graph->nn; i >= 0; i--) {
		size_t off, n = drop_grad_buckets_ready(&b, i, &off);
		if (!n)
			continue;
		count++;
		if (first < 0)
			first = i;
		if (off + n != hi)
			break;
		hi = off;
		pending += holds_pending(m, i, off, n);
		early += i > 0;
		small += off > 0 && n < (cap ? cap : SIZE_MAX);
	}
	CHECK(hi == 0, "%s, cap %zu: %d buckets tile the %zu floats from the end (left %zu)",
	      name, cap, count, m->params.ntrained, hi);
	CHECK(pending == 0, "%s, cap %zu: no bucket holds a gradient not yet final", name, cap);
	CHECK(small == 0, "%s, cap %zu: every bucket but the last holds at least cap floats", name,
	      cap);
	if (cap == 0 || cap >= m->params.ntrained)
		CHECK(count == 1, "%s, cap %zu: one bucket, once every gradient is final (%d)", name,
		      cap, count);
	else
		CHECK(early >= 1 && count >= 2,
		      "%s, cap %zu: %d of %d buckets start during backward (the first after "
		      "node %d of %d)", name, cap, early, count, first, m->graph->nn);
	/* a second pass gives the same buckets */
	drop_grad_buckets_reset(&b);
	size_t again = 0, off;
	for (int i = m->graph->nn; i >= 0; i--)
		again += drop_grad_buckets_ready(&b, i, &off) > 0;
	CHECK((int)again == count, "%s, cap %zu: reset: the same %d buckets again", name, cap,
	      count);
	drop_grad_buckets_free(&b);
	return count;
}

static void test_model(const struct drop_model_config *c, const char *name)
{
	struct drop_model m;
	if (drop_model_create(&m, c, &drop_backend_cpu))
		drop_die(1, "model: %s", drop_errmsg());
	size_t n = m.params.ntrained;
	walk(&m, 0, name);
	walk(&m, n, name);
	walk(&m, 1, name);
	int quarter = walk(&m, n / 4, name);
	CHECK(quarter >= 3 && quarter <= 4, "%s: a quarter of the buffer makes 3 or 4 buckets (%d)",
	      name, quarter);
	walk(&m, (25u << 20) / sizeof(float), name); /* drop-train's default, 25 MiB */
	drop_model_free(&m);
}

int main(void)
{
	struct drop_model_config c;
	tiny_config(&c);
	test_model(&c, "hrnet-tiny");
	drop_model_config_default(&c);
	c.classes = 702;
	test_model(&c, "hrnet-w32");
	return tap_done();
}

/*
 * graph.c - the network as a list of layers (lib/model/graph.h): building it,
 * planning its memory for a batch size and mode, and running it forward and backward on a
 * backend.
 *
 * Time line of a plan with n nodes: forward node i at time i, the heads' forward at n,
 * the heads' backward at n + 1 (n + 2 is a spare slot), backward node i at 2n + 2 - i.
 * Every buffer (a value's data in forward, its bf16 copy, a recomputed value's data in
 * backward, a gradient, a backward temporary) is an interval on it; buffers whose
 * intervals are disjoint share memory.
 * Not here: the layers' arrangement (hrnet.c, resnet.c, net.c) or the heads' maths (heads.c).
 */
#include "graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/drop.h"
#include "sync_bn.h"

#define ALIGN 64

/* ---- Building ----------------------------------------------------------------------------- */

static int new_node(struct drop_graph *g, enum drop_node_op op)
{
	if (g->nn == g->capn) {
		g->capn = g->capn ? 2 * g->capn : 256;
		g->nd = drop_realloc(g->nd, (size_t)g->capn * sizeof *g->nd);
	}
	struct drop_node *nd = &g->nd[g->nn];
	memset(nd, 0, sizeof *nd);
	nd->op = op;
	nd->out = -1;
	nd->w = nd->b = nd->rm = nd->rv = nd->nbt = -1;
	nd->tmp_y = -1;
	nd->tmp_dy16 = -1;
	nd->aux = -1;
	nd->tmp_f = -1;
	nd->w2 = nd->b2 = -1;
	for (int j = 0; j < DROP_NODE_MAXIN; j++)
		nd->tmp_dx[j] = -1;
	return g->nn++;
}

static int new_val(struct drop_graph *g, int node, int c, int h, int w, enum drop_layout l)
{
	if (g->nv == g->capv) {
		g->capv = g->capv ? 2 * g->capv : 256;
		g->v = drop_realloc(g->v, (size_t)g->capv * sizeof *g->v);
	}
	struct drop_val *v = &g->v[g->nv];
	memset(v, 0, sizeof *v);
	v->t = drop_tensor_make(0, c, h, w, l);
	v->g = v->t;
	v->producer = node;
	v->buf_fwd = v->buf_bwd = v->buf_grad = v->buf_bf16 = -1;
	v->first_writer = -1;
	v->slice_of = -1;
	g->nd[node].out = g->nv;
	return g->nv++;
}

static void set_inputs(struct drop_graph *g, int node, int n, const int *xs)
{
	DROP_ASSERT(n >= 1 && n <= DROP_NODE_MAXIN, "graph: %d inputs", n);
	struct drop_node *nd = &g->nd[node];
	nd->nin = n;
	for (int j = 0; j < n; j++)
		nd->in[j] = xs[j];
}

static int param(struct drop_graph *g, const char *prefix, const char *suffix,
                 enum drop_param_kind kind, int ndim, const int *shape, enum drop_init init,
                 double std)
{
	char name[DROP_PARAM_NAMELEN + 32];
	snprintf(name, sizeof name, "%s.%s", prefix, suffix);
	return drop_params_add(g->params, name, kind, ndim, shape, init, std);
}

int drop_graph_input(struct drop_graph *g, int c, int h, int w, enum drop_layout layout)
{
	int nd = new_node(g, DROP_NODE_INPUT);
	return new_val(g, nd, c, h, w, layout);
}

int drop_graph_conv(struct drop_graph *g, int x, const char *name, int cout, int k,
                    int stride, int pad, bool bias, enum drop_init init, double std)
{
	struct drop_tensor xt = g->v[x].t;
	int nd = new_node(g, DROP_NODE_CONV);
	set_inputs(g, nd, 1, &x);
	int wshape[4] = { cout, xt.c, k, k };
	g->nd[nd].w = param(g, name, "weight", DROP_PARAM_TRAINED, 4, wshape, init, std);
	if (bias)
		g->nd[nd].b = param(g, name, "bias", DROP_PARAM_TRAINED, 1, &cout, DROP_INIT_ZERO, 0);
	g->nd[nd].k = k;
	g->nd[nd].stride = stride;
	g->nd[nd].pad = pad;
	int v = new_val(g, nd, cout, drop_conv2d_out(xt.h, k, stride, pad),
	                drop_conv2d_out(xt.w, k, stride, pad), DROP_BLOCKED);
	g->v[v].needs_grad = true;
	return v;
}

int drop_graph_bn(struct drop_graph *g, int x, const char *name, bool relu)
{
	struct drop_tensor xt = g->v[x].t;
	int nd = new_node(g, DROP_NODE_BN);
	set_inputs(g, nd, 1, &x);
	struct drop_node *n = &g->nd[nd];
	int c = xt.c;
	n->relu = relu;
	n->w = param(g, name, "weight", DROP_PARAM_TRAINED, 1, &c, DROP_INIT_ONE, 0);
	n->b = param(g, name, "bias", DROP_PARAM_TRAINED, 1, &c, DROP_INIT_ZERO, 0);
	n->rm = param(g, name, "running_mean", DROP_PARAM_RUNNING, 1, &c, DROP_INIT_ZERO, 0);
	n->rv = param(g, name, "running_var", DROP_PARAM_RUNNING, 1, &c, DROP_INIT_ONE, 0);
	n->nbt = param(g, name, "num_batches_tracked", DROP_PARAM_COUNT, 0, NULL,
	               DROP_INIT_ZERO, 0);
	int v = new_val(g, nd, c, xt.h, xt.w, xt.layout);
	g->v[v].needs_grad = true;
	g->v[v].recompute = true;
	return v;
}

static bool any_grad(struct drop_graph *g, int n, const int *xs)
{
	for (int j = 0; j < n; j++)
		if (g->v[xs[j]].needs_grad)
			return true;
	return false;
}

int drop_graph_add(struct drop_graph *g, int n, const int *xs, bool relu)
{
	struct drop_tensor xt = g->v[xs[0]].t;
	for (int j = 1; j < n; j++) {
		struct drop_tensor t = g->v[xs[j]].t;
		DROP_ASSERT(t.c == xt.c && t.h == xt.h && t.w == xt.w && t.layout == xt.layout,
		            "graph: add of (%d, %d, %d) and (%d, %d, %d)", xt.c, xt.h, xt.w, t.c, t.h,
		            t.w);
	}
	int nd = new_node(g, DROP_NODE_ADD);
	set_inputs(g, nd, n, xs);
	g->nd[nd].relu = relu;
	int v = new_val(g, nd, xt.c, xt.h, xt.w, xt.layout);
	g->v[v].needs_grad = any_grad(g, n, xs);
	return v;
}

int drop_graph_resample(struct drop_graph *g, int x, int ho, int wo,
                        enum drop_resample_mode mode, bool align_corners)
{
	struct drop_tensor xt = g->v[x].t;
	int nd = new_node(g, DROP_NODE_RESAMPLE);
	set_inputs(g, nd, 1, &x);
	struct drop_node *n = &g->nd[nd];
	n->mode = mode;
	n->align_corners = align_corners;
	if (mode == DROP_NEAREST) {
		n->factor = ho / xt.h;
		DROP_ASSERT(n->factor >= 1 && ho == n->factor * xt.h && wo == n->factor * xt.w,
		            "graph: nearest %dx%d -> %dx%d is not a whole factor", xt.h, xt.w, ho, wo);
	}
	int v = new_val(g, nd, xt.c, ho, wo, xt.layout);
	g->v[v].needs_grad = g->v[x].needs_grad;
	return v;
}

int drop_graph_concat(struct drop_graph *g, int n, const int *xs)
{
	struct drop_tensor xt = g->v[xs[0]].t;
	int c = 0;
	for (int j = 0; j < n; j++) {
		struct drop_tensor t = g->v[xs[j]].t;
		DROP_ASSERT(t.h == xt.h && t.w == xt.w && t.layout == xt.layout,
		            "graph: concat of different sizes");
		c += t.c;
	}
	int nd = new_node(g, DROP_NODE_CONCAT);
	set_inputs(g, nd, n, xs);
	int v = new_val(g, nd, c, xt.h, xt.w, xt.layout);
	g->v[v].needs_grad = any_grad(g, n, xs);
	return v;
}

int drop_graph_maxpool(struct drop_graph *g, int x, int k, int stride, int pad)
{
	struct drop_tensor xt = g->v[x].t;
	int nd = new_node(g, DROP_NODE_MAXPOOL);
	set_inputs(g, nd, 1, &x);
	g->nd[nd].k = k;
	g->nd[nd].stride = stride;
	g->nd[nd].pad = pad;
	int v = new_val(g, nd, xt.c, drop_conv2d_out(xt.h, k, stride, pad),
	                drop_conv2d_out(xt.w, k, stride, pad), xt.layout);
	g->v[v].needs_grad = g->v[x].needs_grad;
	return v;
}

int drop_graph_ibn(struct drop_graph *g, int x, const char *name)
{
	struct drop_tensor xt = g->v[x].t;
	int nd = new_node(g, DROP_NODE_IBN);
	set_inputs(g, nd, 1, &x);
	struct drop_node *n = &g->nd[nd];
	int h = xt.c / 2, rest = xt.c - h;
	char pre[DROP_PARAM_NAMELEN + 8];
	n->half = h;
	snprintf(pre, sizeof pre, "%s.IN", name);
	n->w = param(g, pre, "weight", DROP_PARAM_TRAINED, 1, &h, DROP_INIT_ONE, 0);
	n->b = param(g, pre, "bias", DROP_PARAM_TRAINED, 1, &h, DROP_INIT_ZERO, 0);
	snprintf(pre, sizeof pre, "%s.BN", name);
	n->w2 = param(g, pre, "weight", DROP_PARAM_TRAINED, 1, &rest, DROP_INIT_ONE, 0);
	n->b2 = param(g, pre, "bias", DROP_PARAM_TRAINED, 1, &rest, DROP_INIT_ZERO, 0);
	n->rm = param(g, pre, "running_mean", DROP_PARAM_RUNNING, 1, &rest, DROP_INIT_ZERO, 0);
	n->rv = param(g, pre, "running_var", DROP_PARAM_RUNNING, 1, &rest, DROP_INIT_ONE, 0);
	n->nbt = param(g, pre, "num_batches_tracked", DROP_PARAM_COUNT, 0, NULL, DROP_INIT_ZERO, 0);
	int v = new_val(g, nd, xt.c, xt.h, xt.w, xt.layout);
	g->v[v].needs_grad = true;
	return v;
}

int drop_graph_cbr(struct drop_graph *g, int x, const char *conv, const char *bn, int cout,
                   int k, int stride, int pad, bool relu)
{
	int y = drop_graph_conv(g, x, conv, cout, k, stride, pad, false, DROP_INIT_KAIMING, 0);
	return drop_graph_bn(g, y, bn, relu);
}

void drop_graph_output(struct drop_graph *g, int v)
{
	g->v[v].output = true;
	g->v[v].recompute = false;
}

void drop_graph_grad_writer(struct drop_graph *g, int v, void (*fn)(void *), void *ctx)
{
	g->v[v].grad_fn = fn;
	g->v[v].grad_ctx = ctx;
	g->plan_n = 0;
}

void drop_graph_keep(struct drop_graph *g, int v)
{
	g->v[v].keep = true;
	g->v[v].recompute = false;
	g->plan_n = 0;
}

int drop_graph_bf16_check(const struct drop_backend *be)
{
	if (!(be->bf16 && be->bf16()))
		return drop_fail("--bf16: the %s backend has no native bf16 here%s", be->name,
		                 strncmp(be->name, "cpu", 3) ? "" :
		                 " (it needs AVX512-BF16 or AMX)");
	return 0;
}

int drop_graph_set_bf16(struct drop_graph *g, bool on)
{
	if (on && drop_graph_bf16_check(g->be))
		return -1;
	g->bf16 = on;
	return 0;
}

const char *const drop_conv_algo_names[] = { "direct", "auto", "winograd", NULL };

int drop_graph_conv_algo_check(const struct drop_backend *be, enum drop_conv_algo algo)
{
	if (algo == DROP_CONV_WINOGRAD && !(be->winograd && be->winograd()))
		return drop_fail("--conv-algo winograd: the %s backend has no Winograd convolution "
		                 "here%s", be->name, strncmp(be->name, "cpu", 3) ? "" :
		                 " (it needs AVX-512)");
	return 0;
}

int drop_graph_set_conv_algo(struct drop_graph *g, enum drop_conv_algo algo)
{
	if (drop_graph_conv_algo_check(g->be, algo))
		return -1;
	g->conv_algo = algo;
	return 0;
}

void drop_graph_set_recompute(struct drop_graph *g, enum drop_recompute level)
{
	if (g->recompute != level)
		g->plan_n = 0;
	g->recompute = level;
}

/* ---- Planning ----------------------------------------------------------------------------- */

static int t_bwd(const struct drop_graph *g, int node)
{
	return 2 * g->nn + 2 - node;
}

static float *buf_ptr(struct drop_graph *g, int b)
{
	return (float *)(g->arena + g->buf[b].off);
}

/* Point every value's data, bf16 copy and gradient at its plan buffers (a slice at its
 * concat's channel c0). */
static void bind(struct drop_graph *g)
{
	for (int i = 0; i < g->nv; i++) {
		struct drop_val *v = &g->v[i];
		if (v->slice_of >= 0) {
			const struct drop_val *c = &g->v[v->slice_of]; /* bound already: made later */
			size_t off = (size_t)v->slice_c0 * v->t.h * v->t.w;
			v->t.data = buf_ptr(g, c->buf_fwd) + off;
			v->g.data = c->buf_grad >= 0 ? buf_ptr(g, c->buf_grad) + off : NULL;
			v->t.bf16 = NULL;
			continue;
		}
		if (v->folded) {
			v->t.data = v->g.data = NULL;
			v->t.bf16 = NULL;
			continue;
		}
		v->t.data = v->bf16_only ? NULL : buf_ptr(g, v->buf_fwd);
		v->t.bf16 = v->bf16_only ? (uint16_t *)buf_ptr(g, v->buf_fwd)
		            : v->buf_bf16 >= 0 ? (uint16_t *)buf_ptr(g, v->buf_bf16) : NULL;
		v->g.data = v->buf_grad >= 0 ? buf_ptr(g, v->buf_grad) : NULL;
	}
}

/* Multiply-adds x 2 per output element of convolution node nd. */
#define CHEAP_FLOPS 512
static int conv_flops(const struct drop_graph *g, const struct drop_node *nd)
{
	return 2 * g->v[nd->in[0]].t.c * nd->k * nd->k;
}

double drop_graph_flops(const struct drop_graph *g)
{
	double f = 0;
	for (int i = 0; i < g->nn; i++) {
		const struct drop_node *nd = &g->nd[i];
		const struct drop_tensor *y = &g->v[nd->out].t;
		if (nd->op == DROP_NODE_CONV)
			f += (double)conv_flops(g, nd) * y->c * y->h * y->w;
	}
	return f;
}

static int new_buf(struct drop_graph *g, size_t bytes, int first, int last)
{
	if (g->nbuf == g->capbuf) {
		g->capbuf = g->capbuf ? 2 * g->capbuf : 1024;
		g->buf = drop_realloc(g->buf, (size_t)g->capbuf * sizeof *g->buf);
	}
	struct drop_buf *b = &g->buf[g->nbuf];
	b->bytes = (bytes + ALIGN - 1) / ALIGN * ALIGN;
	b->off = 0;
	b->first = first;
	b->last = last;
	return g->nbuf++;
}

static size_t val_bytes(const struct drop_graph *g, const struct drop_val *v)
{
	return drop_tensor_bytes(&v->t, g->be->block());
}

/* Whether node nd reads input slot j's data in its backward pass. */
static bool bwd_reads_input(const struct drop_node *nd)
{
	return nd->op == DROP_NODE_CONV || nd->op == DROP_NODE_BN || nd->op == DROP_NODE_IBN;
}

static int cmp_size(const void *a, const void *b, void *ctx)
{
	const struct drop_buf *buf = ctx;
	int i = *(const int *)a, j = *(const int *)b;
	if (buf[i].bytes != buf[j].bytes)
		return buf[i].bytes < buf[j].bytes ? 1 : -1;
	return (i > j) - (i < j);
}

/* Greedy placement: largest first, the lowest offset free over the buffer's interval. */
static size_t place(struct drop_graph *g)
{
	int nb = g->nbuf;
	int *order = drop_malloc((size_t)nb * sizeof *order), *placed = drop_malloc((size_t)nb * sizeof *placed);
	for (int i = 0; i < nb; i++)
		order[i] = i;
	qsort_r(order, nb, sizeof *order, cmp_size, g->buf);
	size_t total = 0;
	int np = 0;
	struct { size_t lo, hi; } *busy = drop_malloc((size_t)nb * sizeof *busy);
	for (int oi = 0; oi < nb; oi++) {
		struct drop_buf *b = &g->buf[order[oi]];
		int nbusy = 0;
		for (int k = 0; k < np; k++) {
			struct drop_buf *o = &g->buf[placed[k]];
			if (o->first <= b->last && b->first <= o->last) {
				busy[nbusy].lo = o->off;
				busy[nbusy++].hi = o->off + o->bytes;
			}
		}
		/* lowest gap: sort the busy ranges by start, sweep */
		for (int a = 1; a < nbusy; a++)
			for (int c = a; c > 0 && busy[c - 1].lo > busy[c].lo; c--) {
				size_t lo = busy[c].lo, hi = busy[c].hi;
				busy[c] = busy[c - 1];
				busy[c - 1].lo = lo, busy[c - 1].hi = hi;
			}
		size_t off = 0;
		for (int k = 0; k < nbusy; k++) {
			if (busy[k].lo >= off + b->bytes)
				break;
			if (busy[k].hi > off)
				off = busy[k].hi;
		}
		b->off = off;
		if (off + b->bytes > total)
			total = off + b->bytes;
		placed[np++] = order[oi];
	}
	free(busy);
	free(order);
	free(placed);
	return total;
}

/* What the planner learns about each value (index) from the nodes that read it. */
struct plan_scan {
	int *last_fwd;           /* the last node reading it in forward (else its producer) */
	int *bwd_lo, *bwd_hi;    /* the first and last backward times reading its data (-1:
	                          * none: bwd_hi) */
	int *nreaders;           /* nodes reading it */
	int *bwd_float;          /* read in backward as float data: by anything but a
	                          * convolution, or as more than ReLU's mask */
	int *fwd_float;          /* read in forward by something not a convolution */
	int *add_taken;          /* an ADD's output whose gradient buffer an input took over */
};

/* Forget the previous plan: every value at batch n, without buffers or data. */
static void plan_reset(struct drop_graph *g, int n)
{
	g->nbuf = 0;
	for (int i = 0; i < g->nv; i++) {
		struct drop_val *v = &g->v[i];
		v->t.n = v->g.n = n;
		v->t.data = v->g.data = NULL;
		v->t.bf16 = NULL;
		v->grad_late = v->bf16_only = false;
		v->buf_fwd = v->buf_bwd = v->buf_grad = v->buf_bf16 = -1;
		v->slice_of = -1;
		v->first_writer = -1;
	}
}

/* Per value: last forward reader, backward readers (and whether one needs the float
 * data: anything but a convolution, or ReLU's mask), first gradient writer (the last node
 * reading it: backward meets that one first). s's arrays are allocated here (scan_free). */
static void scan_readers(struct drop_graph *g, bool train, struct plan_scan *s)
{
	int nv = g->nv;
	int *last_fwd = s->last_fwd = drop_malloc((size_t)nv * 7 * sizeof *last_fwd);
	int *bwd_lo = s->bwd_lo = last_fwd + nv, *bwd_hi = s->bwd_hi = bwd_lo + nv;
	int *nreaders = s->nreaders = bwd_hi + nv, *bwd_float = s->bwd_float = nreaders + nv;
	int *add_taken = s->add_taken = bwd_float + nv, *fwd_float = s->fwd_float = add_taken + nv;
	for (int i = 0; i < nv; i++) {
		last_fwd[i] = g->v[i].producer;
		bwd_lo[i] = 1 << 30;
		bwd_hi[i] = -1;
		nreaders[i] = bwd_float[i] = add_taken[i] = fwd_float[i] = 0;
	}
	for (int i = 0; i < g->nn; i++) {
		struct drop_node *nd = &g->nd[i];
		for (int j = 0; j < nd->nin; j++) {
			int x = nd->in[j];
			for (int k = 0; k < j; k++)
				DROP_ASSERT(nd->in[k] != x, "graph: node %d reads value %d twice", i, x);
			last_fwd[x] = i;
			nreaders[x]++;
			fwd_float[x] |= nd->op != DROP_NODE_CONV;
			if (g->v[x].needs_grad && (g->v[x].first_writer < 0 || i > g->v[x].first_writer))
				g->v[x].first_writer = i;
			if (train && bwd_reads_input(nd)) {
				int t = t_bwd(g, i);
				bwd_lo[x] = t < bwd_lo[x] ? t : bwd_lo[x];
				bwd_hi[x] = t > bwd_hi[x] ? t : bwd_hi[x];
				bwd_float[x] |= nd->op != DROP_NODE_CONV;
			}
		}
		if (train && ((nd->op == DROP_NODE_ADD && nd->relu) || nd->op == DROP_NODE_IBN)) {
			int t = t_bwd(g, i);
			bwd_float[nd->out] |= nd->op == DROP_NODE_IBN;
			bwd_lo[nd->out] = t < bwd_lo[nd->out] ? t : bwd_lo[nd->out];
			bwd_hi[nd->out] = t > bwd_hi[nd->out] ? t : bwd_hi[nd->out];
		}
	}
}

static void scan_free(struct plan_scan *s)
{
	free(s->last_fwd);
	memset(s, 0, sizeof *s);
}

/* Which values backward rebuilds (training plans): BN outputs, and outputs of convolutions
 * read only by a BN as the recompute level says (CHEAP: those at most CHEAP_FLOPS an
 * element to compute again - for HRNet-W32 the 1x1 convolutions and the stem's first: a
 * fifth of the memory for 1-3 % of a step). A rebuilt value's producer reads its inputs
 * again when it is rebuilt, so a rebuilt input must be there from then on: walking the
 * nodes backwards carries each rebuild time down the chain (conv -> BN -> conv). */
static void mark_rebuilt(struct drop_graph *g, bool train, struct plan_scan *s)
{
	int *last_fwd = s->last_fwd, *bwd_lo = s->bwd_lo, *bwd_hi = s->bwd_hi;
	int *nreaders = s->nreaders;
	for (int i = 0; i < g->nv; i++) {
		struct drop_val *v = &g->v[i];
		const struct drop_node *pr = &g->nd[v->producer];
		bool conv_bn = pr->op == DROP_NODE_CONV && !v->output && !v->keep &&
		               nreaders[i] == 1 && g->nd[last_fwd[i]].op == DROP_NODE_BN;
		bool again = g->recompute == DROP_RECOMPUTE_ALL ||
		             (g->recompute == DROP_RECOMPUTE_CHEAP && conv_flops(g, pr) <= CHEAP_FLOPS);
		v->rebuilt = train && (v->recompute || (conv_bn && again));
	}
	for (int i = g->nn - 1; train && i >= 0; i--) {
		struct drop_node *nd = &g->nd[i];
		int w = nd->out;
		if (w < 0 || !g->v[w].rebuilt || bwd_hi[w] < 0)
			continue;
		for (int j = 0; j < nd->nin; j++) {
			int x = nd->in[j];
			if (!g->v[x].rebuilt)
				continue;
			bwd_lo[x] = bwd_lo[w] < bwd_lo[x] ? bwd_lo[w] : bwd_lo[x];
			bwd_hi[x] = bwd_lo[w] > bwd_hi[x] ? bwd_lo[w] : bwd_hi[x];
		}
	}
}

/* A resampling read only by a concat writes straight into the concat's buffer, and its
 * backward reads its gradient from the concat's (no copy either way), where the slice
 * starts at a whole channel block. */
static void slice_resamplings(struct drop_graph *g, const struct plan_scan *s)
{
	for (int i = 0; i < g->nn; i++) {
		const struct drop_node *nd = &g->nd[i];
		if (nd->op != DROP_NODE_CONCAT)
			continue;
		int block = g->v[nd->out].t.layout == DROP_BLOCKED ? g->be->block() : 1;
		for (int j = 0, c0 = 0; j < nd->nin; c0 += g->v[nd->in[j]].t.c, j++) {
			struct drop_val *u = &g->v[nd->in[j]];
			if (g->nd[u->producer].op == DROP_NODE_RESAMPLE && s->nreaders[nd->in[j]] == 1 &&
			    !u->output && !u->keep && c0 % block == 0) {
				u->slice_of = nd->out;
				u->slice_c0 = c0;
			}
		}
	}
}

/* Eval plans: a batch norm whose input is a convolution's output that nothing else reads
 * is folded into the convolution (w' = w gamma / sqrt(var + eps), b' = beta + (b - mean)
 * gamma / sqrt(var + eps) per output channel), which then writes the batch norm's output,
 * ReLU fused: one pass over the activation less, and no buffer for the conv's output. */
static void mark_folded(struct drop_graph *g, bool train, const struct plan_scan *s)
{
	for (int i = 0; i < g->nv; i++)
		g->v[i].folded = false;
	for (int i = 0; i < g->nn; i++) {
		struct drop_node *nd = &g->nd[i];
		nd->fold_bn = -1;
		nd->folded = false;
		if (train || g->no_fold || nd->op != DROP_NODE_BN)
			continue;
		int x = nd->in[0];
		struct drop_val *v = &g->v[x];
		struct drop_node *pr = &g->nd[v->producer];
		if (pr->op != DROP_NODE_CONV || s->nreaders[x] != 1 || v->output || v->keep ||
		    v->slice_of >= 0)
			continue;
		v->folded = nd->folded = true;
		pr->fold_bn = i;
	}
}

/* Every value's data buffers: forward (from its producer to its last reader, or to its
 * last backward reader when backward reads it as made), and in training its bf16 copy or
 * its backward buffer when rebuilt. With --bf16, a value that backward reads only as a
 * convolution's input or as ReLU's mask is kept as its bfloat16 copy, which the
 * convolutions read in forward too (the bits they would round to themselves), and its
 * float data dies after forward: half the memory, no rounding pass in backward. */
static void plan_value_buffers(struct drop_graph *g, bool train, const struct plan_scan *s)
{
	const int *last_fwd = s->last_fwd, *bwd_lo = s->bwd_lo, *bwd_hi = s->bwd_hi;
	const int *nreaders = s->nreaders, *bwd_float = s->bwd_float, *fwd_float = s->fwd_float;
	int nn = g->nn;
	bool halves = train && g->bf16 && g->be->to_bf16 && g->be->relu_bwd_bf16;
	for (int i = 0; i < g->nv; i++) {
		struct drop_val *v = &g->v[i];
		int first = g->nd[v->producer].op == DROP_NODE_INPUT ? 0 : v->producer;
		if (g->nd[v->producer].folded) /* written by the conv before the BN */
			first = g->v[g->nd[v->producer].in[0]].producer;
		bool half = halves && !v->rebuilt && bwd_hi[i] >= 0 && !bwd_float[i] && !v->output &&
		            !v->keep;
		/* and a batch norm's output that only bf16 convolutions read is made in bf16 */
		v->bf16_only = g->bf16 && g->be->to_bf16 && g->nd[v->producer].op == DROP_NODE_BN &&
		               nreaders[i] > 0 && !fwd_float[i] && !bwd_float[i] && !v->output &&
		               !v->keep && v->slice_of < 0 && !half;
		size_t bytes = v->bf16_only ? val_bytes(g, v) / 2 : val_bytes(g, v);
		if (v->slice_of >= 0 || v->folded)
			continue; /* the concat's buffers, stretched by stretch_slices; none */
		int last = last_fwd[i];
		if (v->output) {
			last = last > nn + 1 ? last : nn + 1;
			v->first_writer = -1;
		}
		DROP_ASSERT(v->output || nreaders[i] > 0, "graph: value %d is never read", i);
		if (v->keep && last < nn)
			last = nn;
		if (half)
			v->buf_bf16 = new_buf(g, bytes / 2, first, bwd_hi[i] > last ? bwd_hi[i] : last);
		else if (train && !v->rebuilt && bwd_hi[i] > last)
			last = bwd_hi[i];
		v->buf_fwd = new_buf(g, bytes, first, last);
		if (!train)
			continue;
		if (v->rebuilt && bwd_hi[i] >= 0)
			v->buf_bwd = new_buf(g, bytes, bwd_lo[i], bwd_hi[i]);
	}
}

/* Gradients (training plans), last value first: each lives from its first writer's
 * backward (the heads' for an output, its producer's when a gradient writer writes it
 * late) to its producer's. An ADD's output gradient goes on as the gradient of one input
 * that the ADD writes first (dy is that input's gradient: no copy, one buffer). */
static void plan_gradients(struct drop_graph *g, struct plan_scan *s)
{
	int nn = g->nn;
	for (int i = g->nv - 1; i >= 0; i--) {
		struct drop_val *v = &g->v[i];
		if (!v->needs_grad || v->slice_of >= 0)
			continue;
		int last = t_bwd(g, v->producer);
		const struct drop_node *fw = v->first_writer >= 0 ? &g->nd[v->first_writer] : NULL;
		int y = fw && fw->op == DROP_NODE_ADD ? fw->out : -1;
		if (y >= 0 && !s->add_taken[y] && g->v[y].buf_grad >= 0 && !g->v[y].output) {
			s->add_taken[y] = 1;
			v->buf_grad = g->v[y].buf_grad;
			if (g->buf[v->buf_grad].last < last)
				g->buf[v->buf_grad].last = last;
			continue;
		}
		int gfirst = v->output ? nn + 1 : t_bwd(g, v->first_writer);
		v->grad_late = v->grad_fn && s->nreaders[i] == 0;
		if (v->grad_late) /* written at its producer */
			gfirst = t_bwd(g, v->producer);
		v->buf_grad = new_buf(g, val_bytes(g, v), gfirst, last);
	}
}

/* The nodes' own buffers: max pooling's argmax and IBN's instance statistics (forward to
 * backward), IBN's forward temporary, and in training the backward temporaries: an input's
 * gradient to add to what another node wrote first, dy rounded to bf16 once for both of a
 * convolution's backward passes, a BN + ReLU output recomputed for the mask, IBN's own. */
static void plan_node_buffers(struct drop_graph *g, bool train)
{
	for (int i = 0; i < g->nn; i++) {
		struct drop_node *nd = &g->nd[i];
		int last = train ? t_bwd(g, i) : i;
		nd->aux = nd->tmp_f = -1;
		if (nd->op == DROP_NODE_MAXPOOL)
			nd->aux = new_buf(g, val_bytes(g, &g->v[nd->out]), i, last);
		if (nd->op == DROP_NODE_IBN) {
			nd->aux = new_buf(g, drop_ibn_aux_bytes(g, nd), i, last);
			nd->tmp_f = new_buf(g, drop_ibn_tmp_bytes(g, nd, false), i, i);
		}
	}
	if (!train)
		return;
	for (int i = 0; i < g->nn; i++) {
		struct drop_node *nd = &g->nd[i];
		int t = t_bwd(g, i);
		for (int j = 0; j < nd->nin; j++) {
			struct drop_val *x = &g->v[nd->in[j]];
			nd->tmp_dx[j] = -1;
			if (x->needs_grad && x->first_writer != i && nd->op != DROP_NODE_ADD)
				nd->tmp_dx[j] = new_buf(g, val_bytes(g, x), t, t);
		}
		nd->tmp_y = nd->tmp_dy16 = -1;
		if (nd->op == DROP_NODE_CONV && g->bf16 && g->be->to_bf16 &&
		    g->v[nd->out].needs_grad)
			nd->tmp_dy16 = new_buf(g, val_bytes(g, &g->v[nd->out]) / 2, t, t);
		if (nd->op == DROP_NODE_BN && nd->relu && !g->be->bn_relu_bwd)
			nd->tmp_y = new_buf(g, val_bytes(g, &g->v[nd->out]), t, t);
		if (nd->op == DROP_NODE_IBN)
			nd->tmp_y = new_buf(g, drop_ibn_tmp_bytes(g, nd, true), t, t);
	}
}

/* A concat's buffers hold its slices' lifetimes too: from the first slice's producer, and
 * its gradient to the last slice's backward. */
static void stretch_slices(struct drop_graph *g, bool train)
{
	for (int i = 0; i < g->nv; i++) {
		struct drop_val *u = &g->v[i], *c = &g->v[u->slice_of < 0 ? i : u->slice_of];
		if (u->slice_of < 0)
			continue;
		if (g->buf[c->buf_fwd].first > u->producer)
			g->buf[c->buf_fwd].first = u->producer;
		if (train && u->needs_grad && g->buf[c->buf_grad].last < t_bwd(g, u->producer))
			g->buf[c->buf_grad].last = t_bwd(g, u->producer);
	}
}

/* Place every buffer in the arena, which grows (never shrinks) to the plan's size. */
static void place_in_arena(struct drop_graph *g)
{
	size_t total = place(g);
	if (total > g->arena_bytes) {
		if (g->arena)
			g->be->free(g->arena);
		g->arena = g->be->alloc(total);
		g->arena_bytes = total;
	}
}

void drop_graph_plan(struct drop_graph *g, int n, bool train)
{
	if (g->plan_n == n && g->plan_train == train)
		return;
	struct plan_scan s;
	plan_reset(g, n);
	scan_readers(g, train, &s);
	mark_rebuilt(g, train, &s);
	slice_resamplings(g, &s);
	mark_folded(g, train, &s);
	plan_value_buffers(g, train, &s);
	if (train)
		plan_gradients(g, &s);
	plan_node_buffers(g, train);
	stretch_slices(g, train);
	scan_free(&s);
	place_in_arena(g);
	g->plan_n = n;
	g->plan_train = train;
	bind(g);
}

/* ---- Running ------------------------------------------------------------------------------ */

static struct drop_param *P(struct drop_graph *g, int i)
{
	return &g->params->p[i];
}

static struct drop_conv2d_desc conv_desc(struct drop_graph *g, const struct drop_node *nd)
{
	struct drop_tensor x = g->v[nd->in[0]].t;
	/* auto is direct in eval plans: embedding HRNet-W32 ran as fast or faster with direct
	 * kernels at batches 1, 16 and 64 (the README's Performance), and Winograd's gain is in
	 * training, whose backward passes it speeds up */
	enum drop_conv_algo algo = g->conv_algo;
	if (algo == DROP_CONV_AUTO && !g->plan_train)
		algo = DROP_CONV_DIRECT;
	struct drop_conv2d_desc d = { x.n, x.c, x.h, x.w, g->v[nd->out].t.c, nd->k, nd->stride,
	                              nd->pad, nd->b >= 0, x.layout, g->bf16, algo, false, false, 0 };
	if (algo == DROP_CONV_AUTO && g->ranks > 1) /* every rank count picks one kernel */
		d.auto_n = x.n * g->ranks;
	return d;
}

/* Batch norm of x; forward: fused ReLU, output as bf16 or float. */
static struct drop_bn_desc bn_desc(const struct drop_tensor *x, bool relu, bool y_bf16)
{
	struct drop_bn_desc d = { .n = x->n, .c = x->c, .h = x->h, .w = x->w,
	                          .layout = x->layout, .eps = 1e-5f, .momentum = 0.1f,
	                          .relu = relu, .y_bf16 = y_bf16 };
	return d;
}

static struct drop_maxpool_desc mp_desc(struct drop_graph *g, const struct drop_node *nd)
{
	struct drop_tensor x = g->v[nd->in[0]].t;
	struct drop_maxpool_desc d = { x.n, x.c, x.h, x.w, nd->k, nd->stride, nd->pad, x.layout };
	return d;
}

static struct drop_resample_desc rs_desc(struct drop_graph *g, const struct drop_node *nd)
{
	struct drop_tensor x = g->v[nd->in[0]].t, y = g->v[nd->out].t;
	int ctot = g->v[nd->out].slice_of >= 0 ? g->v[g->v[nd->out].slice_of].t.c : 0;
	struct drop_resample_desc d = { x.n, x.c, x.h, x.w, y.h, y.w, x.layout, nd->mode,
	                                nd->align_corners, ctot };
	return d;
}

static size_t floats(struct drop_graph *g, const struct drop_tensor *t)
{
	return drop_tensor_floats(t, g->be->block());
}

/* The folded weights and bias of conv node cv (mark_folded), made again when its weights
 * changed (version) or a training pass ran since (the running statistics); computed on
 * the host in double from the backend's copies, so every backend gets the same bits. */
static void fold(struct drop_graph *g, struct drop_node *cv)
{
	static unsigned serial; /* process-wide, like the parameters' versions (params.c) */
	const struct drop_backend *be = g->be;
	const struct drop_node *bn = &g->nd[cv->fold_bn];
	const struct drop_tensor *w = &P(g, cv->w)->t;
	if (cv->fold_w.data && w->version && cv->fold_src == w->version &&
	    cv->fold_passes == g->train_passes)
		return;
	int C = w->n;
	size_t K = (size_t)w->c * w->h * w->w, nw = (size_t)C * K;
	if (!cv->fold_w.data) {
		cv->fold_w = *w;
		cv->fold_w.data = be->alloc(nw * sizeof(float));
		cv->fold_b = be->alloc((size_t)C * sizeof(float));
	}
	float *wh = drop_malloc((nw + 5 * (size_t)C) * sizeof *wh);
	float *gam = wh + nw, *bet = gam + C, *rm = bet + C, *rv = rm + C, *b = rv + C;
	be->to_host(wh, w->data, nw * sizeof *wh);
	be->to_host(gam, P(g, bn->w)->t.data, (size_t)C * sizeof *gam);
	be->to_host(bet, P(g, bn->b)->t.data, (size_t)C * sizeof *bet);
	be->to_host(rm, P(g, bn->rm)->t.data, (size_t)C * sizeof *rm);
	be->to_host(rv, P(g, bn->rv)->t.data, (size_t)C * sizeof *rv);
	if (cv->b >= 0)
		be->to_host(b, P(g, cv->b)->t.data, (size_t)C * sizeof *b);
	else
		memset(b, 0, (size_t)C * sizeof *b);
	for (int c = 0; c < C; c++) {
		double scale = gam[c] / sqrt((double)rv[c] + (double)1e-5f);
		for (size_t k = 0; k < K; k++)
			wh[c * K + k] = (float)(wh[c * K + k] * scale);
		b[c] = (float)(bet[c] + ((double)b[c] - rm[c]) * scale);
	}
	be->to_device(cv->fold_w.data, wh, nw * sizeof *wh);
	be->to_device(cv->fold_b, b, (size_t)C * sizeof *b);
	free(wh);
	cv->fold_w.version = ++serial ? serial : ++serial;
	cv->fold_src = w->version;
	cv->fold_passes = g->train_passes;
}

void drop_graph_set_fold(struct drop_graph *g, bool on)
{
	if (g->no_fold == on)
		g->plan_n = 0;
	g->no_fold = !on;
}

void drop_graph_forward(struct drop_graph *g, bool train)
{
	const struct drop_backend *be = g->be;
	DROP_ASSERT(g->plan_n && g->plan_train == train, "graph: forward without a matching plan");
	g->train_passes += train;
	for (int i = 0; i < g->nn; i++) {
		struct drop_node *nd = &g->nd[i];
		struct drop_tensor *y = &g->v[nd->out].t;
		struct drop_tensor *x = nd->nin ? &g->v[nd->in[0]].t : NULL;
		switch (nd->op) {
		case DROP_NODE_INPUT:
			break;
		case DROP_NODE_CONV: {
			struct drop_conv2d_desc d = conv_desc(g, nd);
			if (nd->fold_bn >= 0) { /* writes the folded BN's output */
				const struct drop_node *bn = &g->nd[nd->fold_bn];
				struct drop_tensor *z = &g->v[bn->out].t;
				fold(g, nd);
				d.bias = true;
				d.relu = bn->relu;
				d.y_bf16 = !z->data;
				be->conv2d_fwd(&d, x, &nd->fold_w, nd->fold_b, z);
				break;
			}
			be->conv2d_fwd(&d, x, &P(g, nd->w)->t, nd->b >= 0 ? P(g, nd->b)->t.data : NULL, y);
			break;
		}
		case DROP_NODE_BN: {
			if (nd->folded)
				break;
			struct drop_bn_desc d = bn_desc(x, nd->relu, !y->data);
			float *gamma = P(g, nd->w)->t.data, *beta = P(g, nd->b)->t.data;
			float *rm = P(g, nd->rm)->t.data, *rv = P(g, nd->rv)->t.data;
			float *yp = y->data ? y->data : (float *)y->bf16; /* d.y_bf16 says which */
			if (train) {
				if (!nd->save_mean) {
					nd->save_mean = be->alloc((size_t)x->c * sizeof(float));
					nd->save_invstd = be->alloc((size_t)x->c * sizeof(float));
				}
				if (g->sync_bn)
					drop_sync_bn_fwd(g->sync_bn, &d, x->data, gamma, beta, rm, rv, yp,
					                 nd->save_mean, nd->save_invstd);
				else
					be->bn_fwd_train(&d, x->data, gamma, beta, rm, rv, yp,
					                 nd->save_mean, nd->save_invstd);
				P(g, nd->nbt)->count++;
			} else {
				be->bn_fwd_eval(&d, x->data, gamma, beta, rm, rv, yp);
			}
			break;
		}
		case DROP_NODE_ADD:
			be->add(floats(g, y), g->v[nd->in[0]].t.data, g->v[nd->in[1]].t.data, y->data);
			for (int j = 2; j < nd->nin; j++)
				be->add(floats(g, y), y->data, g->v[nd->in[j]].t.data, y->data);
			if (nd->relu)
				be->relu(floats(g, y), y->data, y->data);
			break;
		case DROP_NODE_RESAMPLE: {
			struct drop_resample_desc d = rs_desc(g, nd);
			be->resample_fwd(&d, x->data, y->data);
			break;
		}
		case DROP_NODE_MAXPOOL: {
			struct drop_maxpool_desc d = mp_desc(g, nd);
			be->maxpool_fwd(&d, x->data, y->data, (int *)buf_ptr(g, nd->aux));
			break;
		}
		case DROP_NODE_IBN:
			if (train && !nd->save_mean) {
				size_t c = (size_t)(x->c - nd->half) * sizeof(float);
				nd->save_mean = be->alloc(c);
				nd->save_invstd = be->alloc(c);
			}
			drop_ibn_forward(g, nd, train, (char *)buf_ptr(g, nd->tmp_f), buf_ptr(g, nd->aux));
			break;
		case DROP_NODE_CONCAT: {
			struct drop_tensor in[DROP_NODE_MAXIN];
			const struct drop_tensor *parts[DROP_NODE_MAXIN];
			for (int j = 0; j < nd->nin; j++) {
				in[j] = g->v[nd->in[j]].t;
				if (g->v[nd->in[j]].slice_of >= 0)
					in[j].data = NULL; /* written there already */
				parts[j] = &in[j];
			}
			be->concat(nd->nin, parts, y);
			break;
		}
		}
		if (y->bf16 && y->data) /* a kept value's bf16 copy */
			be->to_bf16(floats(g, y), y->data, y->bf16);
	}
}

/* Rebuild a batch-norm output (value v) into dst from the producer's kept input and the
 * statistics it saved, which the forward normalised with: the same bits (desc.saved). */
static void recompute_bn(struct drop_graph *g, int v, void *dst, bool y_bf16)
{
	struct drop_node *nd = &g->nd[g->v[v].producer];
	struct drop_tensor *x = &g->v[nd->in[0]].t;
	struct drop_bn_desc d = bn_desc(x, nd->relu, y_bf16);
	d.saved = true;
	g->be->bn_fwd_eval(&d, x->data, P(g, nd->w)->t.data, P(g, nd->b)->t.data, nd->save_mean,
	                   nd->save_invstd, dst);
}

/* Rebuild value v in its backward buffer: a BN output from the kept or rebuilt input and
 * the saved statistics, a convolution output by running the convolution again. */
static void rebuild(struct drop_graph *g, int v)
{
	struct drop_val *x = &g->v[v];
	struct drop_node *pr = &g->nd[x->producer];
	x->t.data = x->bf16_only ? NULL : buf_ptr(g, x->buf_bwd);
	x->t.bf16 = x->bf16_only ? (uint16_t *)buf_ptr(g, x->buf_bwd) : NULL;
	if (pr->op == DROP_NODE_BN) {
		recompute_bn(g, v, buf_ptr(g, x->buf_bwd), x->bf16_only);
	} else {
		struct drop_conv2d_desc d = conv_desc(g, pr);
		g->be->conv2d_fwd(&d, &g->v[pr->in[0]].t, &P(g, pr->w)->t,
		                  pr->b >= 0 ? P(g, pr->b)->t.data : NULL, &x->t);
	}
}

int drop_graph_node_params(const struct drop_node *nd, int *e)
{
	int n = 0, ids[4] = { nd->w, nd->b, nd->w2, nd->b2 };
	for (int i = 0; i < 4; i++)
		if (ids[i] >= 0)
			e[n++] = ids[i];
	return n;
}

/* Fused Adam (drop_model_backward_adam): the step of node nd's trained entries. */
static void node_adam(struct drop_graph *g, const struct drop_node *nd)
{
	struct drop_params *ps = g->params;
	int e[4], ne = drop_graph_node_params(nd, e);
	for (int i = 0; i < ne; i++) {
		struct drop_param *p = P(g, e[i]);
		if (p->kind == DROP_PARAM_TRAINED)
			g->be->adam(p->numel, g->adam, p->t.data, p->grad, ps->adam_m + p->off,
			            ps->adam_v + p->off);
	}
}

/* Where node i's backward writes the gradient of input slot j: the value's gradient
 * (first writer) or a temporary to add afterwards. */
static struct drop_tensor dx_target(struct drop_graph *g, struct drop_node *nd, int j)
{
	struct drop_val *x = &g->v[nd->in[j]];
	struct drop_tensor t = x->g;
	if (nd->tmp_dx[j] >= 0)
		t.data = buf_ptr(g, nd->tmp_dx[j]);
	return t;
}

static void dx_finish(struct drop_graph *g, struct drop_node *nd, int j)
{
	struct drop_val *x = &g->v[nd->in[j]];
	if (nd->tmp_dx[j] >= 0)
		g->be->add(floats(g, &x->g), x->g.data, buf_ptr(g, nd->tmp_dx[j]), x->g.data);
}

/* Rebuild the values whose backward buffer starts at time t, producers first (values are
 * numbered in node order). */
static void rebuild_due(struct drop_graph *g, int t)
{
	for (int v = 0; v < g->nv; v++) {
		struct drop_val *x = &g->v[v];
		if (x->rebuilt && x->buf_bwd >= 0 && g->buf[x->buf_bwd].first == t)
			rebuild(g, v);
	}
}

/* Node i's backward pass: the gradients of its registry entries (written) and of its inputs
 * (written by their first writer, added by the others) from its output's gradient. */
static void node_backward(struct drop_graph *g, int i)
{
	const struct drop_backend *be = g->be;
	struct drop_node *nd = &g->nd[i];
	struct drop_val *yv = &g->v[nd->out];
	struct drop_tensor *dy = &yv->g;
	struct drop_tensor *x = nd->nin ? &g->v[nd->in[0]].t : NULL;
	switch (nd->op) {
	case DROP_NODE_INPUT:
		break;
	case DROP_NODE_CONV: {
		struct drop_conv2d_desc d = conv_desc(g, nd);
		struct drop_tensor dyt = *dy;
		if (nd->tmp_dy16 >= 0) { /* both passes read dy as bf16: round it once */
			dyt.bf16 = (uint16_t *)buf_ptr(g, nd->tmp_dy16);
			be->to_bf16(floats(g, dy), dy->data, dyt.bf16);
		}
		be->conv2d_bwd_weights(&d, x, &dyt, P(g, nd->w)->grad,
		                       nd->b >= 0 ? P(g, nd->b)->grad : NULL);
		if (g->v[nd->in[0]].needs_grad) {
			struct drop_tensor dx = dx_target(g, nd, 0);
			be->conv2d_bwd_data(&d, &dyt, &P(g, nd->w)->t, &dx);
			dx_finish(g, nd, 0);
		}
		break;
	}
	case DROP_NODE_BN: {
		struct drop_bn_desc d = bn_desc(x, false, false);
		const float *dyp = dy->data;
		if (g->sync_bn) { /* over all ranks, the ReLU's mask from x (d.relu) */
			struct drop_tensor dx = dx_target(g, nd, 0);
			DROP_ASSERT(g->v[nd->in[0]].needs_grad,
			            "graph: batch norm on an input without gradient");
			d.relu = nd->relu;
			drop_sync_bn_bwd(g->sync_bn, &d, x->data, dy->data, P(g, nd->w)->t.data,
			                 P(g, nd->b)->t.data, nd->save_mean, nd->save_invstd, dx.data,
			                 P(g, nd->w)->grad, P(g, nd->b)->grad);
			dx_finish(g, nd, 0);
			break;
		}
		if (nd->relu && be->bn_relu_bwd) { /* the ReLU's mask from x, in one op */
			struct drop_tensor dx = dx_target(g, nd, 0);
			DROP_ASSERT(g->v[nd->in[0]].needs_grad,
			            "graph: batch norm on an input without gradient");
			be->bn_relu_bwd(&d, x->data, dy->data, P(g, nd->w)->t.data,
			                P(g, nd->b)->t.data, nd->save_mean, nd->save_invstd, dx.data,
			                P(g, nd->w)->grad, P(g, nd->b)->grad);
			dx_finish(g, nd, 0);
			break;
		}
		if (nd->relu) {
			float *yt = buf_ptr(g, nd->tmp_y);
			recompute_bn(g, nd->out, yt, false);
			be->relu_bwd(floats(g, dy), yt, dy->data, yt);
			dyp = yt;
		}
		struct drop_tensor dx = dx_target(g, nd, 0);
		float *dxp = g->v[nd->in[0]].needs_grad ? dx.data : NULL;
		DROP_ASSERT(dxp, "graph: batch norm on an input without gradient");
		be->bn_bwd(&d, x->data, dyp, P(g, nd->w)->t.data, nd->save_mean, nd->save_invstd,
		           dxp, P(g, nd->w)->grad, P(g, nd->b)->grad);
		dx_finish(g, nd, 0);
		break;
	}
	case DROP_NODE_ADD:
		if (nd->relu && yv->buf_bf16 >= 0)
			be->relu_bwd_bf16(floats(g, dy), yv->t.bf16, dy->data, dy->data);
		else if (nd->relu)
			be->relu_bwd(floats(g, dy), yv->t.data, dy->data, dy->data);
		for (int j = 0; j < nd->nin; j++) {
			struct drop_val *xv = &g->v[nd->in[j]];
			if (!xv->needs_grad || xv->buf_grad == yv->buf_grad)
				continue; /* none, or dy itself */
			if (xv->first_writer == i)
				be->scale(floats(g, dy), 1.0f, dy->data, xv->g.data);
			else
				be->add(floats(g, dy), xv->g.data, dy->data, xv->g.data);
		}
		break;
	case DROP_NODE_RESAMPLE: {
		struct drop_resample_desc d = rs_desc(g, nd);
		struct drop_tensor dx = dx_target(g, nd, 0);
		be->resample_bwd(&d, dy->data, dx.data);
		dx_finish(g, nd, 0);
		break;
	}
	case DROP_NODE_IBN: {
		struct drop_tensor dx = dx_target(g, nd, 0);
		drop_ibn_backward(g, nd, (char *)buf_ptr(g, nd->tmp_y), buf_ptr(g, nd->aux), &dx);
		dx_finish(g, nd, 0);
		break;
	}
	case DROP_NODE_MAXPOOL: {
		struct drop_maxpool_desc d = mp_desc(g, nd);
		struct drop_tensor dx = dx_target(g, nd, 0);
		be->maxpool_bwd(&d, dy->data, (const int *)buf_ptr(g, nd->aux), dx.data);
		dx_finish(g, nd, 0);
		break;
	}
	case DROP_NODE_CONCAT: {
		struct drop_tensor parts[DROP_NODE_MAXIN], *pp[DROP_NODE_MAXIN];
		for (int j = 0; j < nd->nin; j++) {
			parts[j] = dx_target(g, nd, j);
			DROP_ASSERT(g->v[nd->in[j]].needs_grad,
			            "graph: concat of an input without gradient");
			if (g->v[nd->in[j]].slice_of >= 0)
				parts[j].data = NULL; /* read there by the resampling's backward */
			pp[j] = &parts[j];
		}
		be->split(dy, nd->nin, pp);
		for (int j = 0; j < nd->nin; j++)
			dx_finish(g, nd, j);
		break;
	}
	}
}

void drop_graph_backward(struct drop_graph *g)
{
	DROP_ASSERT(g->plan_train, "graph: backward without a training plan");
	for (int i = 0; i < g->nv; i++) /* the float data of values kept as bf16 is gone */
		if (g->v[i].buf_bf16 >= 0)
			g->v[i].t.data = NULL;
	for (int i = 0; i < g->nv; i++) /* gradient writers whose value the graph reads too */
		if (g->v[i].grad_fn && !g->v[i].grad_late)
			g->v[i].grad_fn(g->v[i].grad_ctx);
	if (g->grads_final)
		g->grads_final(g->grads_ctx, g->nn);
	for (int i = g->nn - 1; i >= 0; i--) {
		struct drop_node *nd = &g->nd[i];
		rebuild_due(g, t_bwd(g, i));
		struct drop_val *yv = &g->v[nd->out];
		if (yv->grad_fn && yv->grad_late)
			yv->grad_fn(yv->grad_ctx);
		if (yv->needs_grad && nd->op != DROP_NODE_INPUT) {
			node_backward(g, i);
			if (g->adam) /* fused: this node's gradients are final, take its step */
				node_adam(g, nd);
		}
		if (g->grads_final)
			g->grads_final(g->grads_ctx, i);
	}
	bind(g); /* rebuilt values and the float data of bf16-kept ones back where the plan put
	          * them, for the next forward (and its inputs, written before it starts) */
}

struct drop_tensor *drop_graph_data(struct drop_graph *g, int v)
{
	return &g->v[v].t;
}

struct drop_tensor *drop_graph_grad(struct drop_graph *g, int v)
{
	return &g->v[v].g;
}

void drop_graph_free(struct drop_graph *g)
{
	for (int i = 0; i < g->nn; i++) {
		if (g->nd[i].fold_w.data) {
			g->be->free(g->nd[i].fold_w.data);
			g->be->free(g->nd[i].fold_b);
		}
	}
	for (int i = 0; i < g->nn; i++)
		if (g->nd[i].save_mean) {
			g->be->free(g->nd[i].save_mean);
			g->be->free(g->nd[i].save_invstd);
		}
	if (g->arena)
		g->be->free(g->arena);
	free(g->v);
	free(g->nd);
	free(g->buf);
	memset(g, 0, sizeof *g);
}

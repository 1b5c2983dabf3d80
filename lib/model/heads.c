/*
 * heads.c - the parsing-guided embeddings (doc/model.md §3-4) after the graph's outputs
 * Preid and S: softmax of the parsing logits, foreground map, WAMP, global average pooling,
 * the global / foreground / parts reductions (Linear + BN1d + ReLU), BNNeck and classifiers,
 * visibility scores; forward in training or evaluation mode and backward into the graph's
 * output gradients.
 *
 * WAMP runs once over K + 2 maps (foreground, background, K parts): the background row
 * costs 1/(K + 2) more pooling and keeps the maps one contiguous concat of (P_fore, P); its
 * embedding is never used and gets no gradient.
 * Not here: the losses (losses.c) or the layers before Preid and S (the graph, graph.c).
 */
#include "heads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/drop.h"
#include "graph.h"
#include "sync_bn.h"

static int add_entry(struct drop_model *m, const char *pre, const char *suf,
                     enum drop_param_kind kind, int ndim, const int *shape, enum drop_init init,
                     double std)
{
	char name[DROP_PARAM_NAMELEN + 32];
	snprintf(name, sizeof name, "%s.%s", pre, suf);
	return drop_params_add(&m->params, name, kind, ndim, shape, init, std);
}

static struct drop_bn1d bn1d(struct drop_model *m, const char *pre, int c, bool frozen_bias)
{
	struct drop_bn1d b = { 0 };
	b.c = c;
	b.w = add_entry(m, pre, "weight", DROP_PARAM_TRAINED, 1, &c, DROP_INIT_ONE, 0);
	b.b = add_entry(m, pre, "bias", frozen_bias ? DROP_PARAM_FROZEN : DROP_PARAM_TRAINED, 1, &c,
	                DROP_INIT_ZERO, 0);
	b.rm = add_entry(m, pre, "running_mean", DROP_PARAM_RUNNING, 1, &c, DROP_INIT_ZERO, 0);
	b.rv = add_entry(m, pre, "running_var", DROP_PARAM_RUNNING, 1, &c, DROP_INIT_ONE, 0);
	b.nbt = add_entry(m, pre, "num_batches_tracked", DROP_PARAM_COUNT, 0, NULL, DROP_INIT_ZERO, 0);
	b.save_mean = m->be->alloc((size_t)c * sizeof(float));
	b.save_invstd = m->be->alloc((size_t)c * sizeof(float));
	return b;
}

/* Linear (cin -> D, N(0, 0.01), bias 0) + BN1d + ReLU, named pre.0 and pre.1. */
static struct drop_reduce reduce(struct drop_model *m, const char *pre, int cin)
{
	struct drop_reduce r;
	char name[DROP_PARAM_NAMELEN];
	int d = m->cfg.dim, shape[2] = { d, cin };
	snprintf(name, sizeof name, "%s.0", pre);
	r.w = add_entry(m, name, "weight", DROP_PARAM_TRAINED, 2, shape, DROP_INIT_NORMAL, 0.01);
	r.b = add_entry(m, name, "bias", DROP_PARAM_TRAINED, 1, &d, DROP_INIT_ZERO, 0);
	snprintf(name, sizeof name, "%s.1", pre);
	r.bn = bn1d(m, name, d, false);
	return r;
}

/* BNNeck: BN1d with its bias frozen at 0 (pre.bn), then a bias-free classifier (pre.fc,
 * N(0, 0.001)) when there are classes. */
static struct drop_neck neck(struct drop_model *m, const char *pre, int dim)
{
	struct drop_neck k;
	char name[DROP_PARAM_NAMELEN];
	snprintf(name, sizeof name, "%s.bn", pre);
	k.bn = bn1d(m, name, dim, true);
	k.fc = -1;
	if (m->cfg.classes > 0) {
		int shape[2] = { m->cfg.classes, dim };
		snprintf(name, sizeof name, "%s.fc", pre);
		k.fc = add_entry(m, name, "weight", DROP_PARAM_TRAINED, 2, shape, DROP_INIT_NORMAL,
		                 0.001);
	}
	return k;
}

/* dPreid, from what the heads' backward kept (drop_graph_grad_writer: the graph calls it
 * when it needs dPreid, after Preid itself is gone): WAMP's gradient to the features (from
 * the maps, maxima and de alone), plus global pooling's. */
static void preid_grad(void *ctx)
{
	struct drop_model *m = ctx;
	struct drop_heads *h = m->heads;
	int n = m->graph->plan_n, cr = m->creid;
	struct drop_tensor *dpreid = drop_graph_grad(m->graph, m->v_preid);
	struct drop_pool_desc wd = { n, cr, m->hf, m->wf, dpreid->layout, m->cfg.parts + 2, false };
	m->be->wamp_bwd(&wd, NULL, h->maps, h->e_arg, h->de, dpreid->data, NULL);
	struct drop_pool_desc gd = { n, cr, m->hf, m->wf, dpreid->layout, 0, true };
	m->be->pool_global_bwd(&gd, h->dgap, NULL, NULL, dpreid->data);
}

void drop_heads_build(struct drop_model *m)
{
	struct drop_heads *h = drop_calloc(1, sizeof *h);
	m->heads = h;
	int K = m->cfg.parts, D = m->cfg.dim;
	h->red_g = reduce(m, "global_reduction", m->creid);
	h->red_f = reduce(m, "foreground_reduction", m->creid);
	h->red_p = reduce(m, "parts_reduction", m->creid);
	h->neck_g = neck(m, "global_classifier", D);
	h->neck_f = neck(m, "foreground_classifier", D);
	h->neck_c = neck(m, "concat_classifier", K * D);
	drop_graph_grad_writer(m->graph, m->v_preid, preid_grad, m);
}

/* ---- Buffers ------------------------------------------------------------------------------ */

#define HEAD_FLOATS(X)                                                                     \
	X(s, n *k1 *hw) X(prob, n *k1 *hw) X(fg, n *hw) X(maps, n *k2 *hw) X(e, n *k2 *cr)     \
	X(gap, n *cr) X(e_fg, n *cr) X(e_bg, n *cr) X(e_parts, n *K *cr) X(zg, n *D)           \
	X(zf, n *D) X(zp, n *K *D) X(g1, n *D) X(f1, n *D) X(p1, n *K *D) X(bg, n *D)          \
	X(bf, n *D) X(bc, n *K *D) X(lg, n *C) X(lf, n *C) X(lc, n *C) X(vmax, n *k1)          \
	X(vis_bg, n) X(vis, n *K) X(dlg, n *C) X(dlf, n *C) X(dlc, n *C) X(dbg, n *D)          \
	X(dbf, n *D) X(dbc, n *K *D) X(dg1, n *D) X(df1, n *D) X(dp1, n *K *D)                 \
	X(dtrip, n *K *D) X(dzg, n *D) X(dzf, n *D) X(dzp, n *K *D) X(de_fg, n *cr)            \
	X(de_bg, n *cr) X(de_parts, n *K *cr) X(de, n *k2 *cr) X(dmaps, n *k2 *hw)             \
	X(dfg, n *hw) X(dprob_w, n *k1 *hw) X(dprob, n *k1 *hw) X(dprob_s, n *k1 *hw)          \
	X(ds, n *k1 *hw) X(dgap, n *cr)
#define HEAD_INTS(X) X(fg_arg, n *hw) X(e_arg, n *k2 *cr) X(vmax_arg, n *k1) X(pid, n) \
	X(labels, n *hw)

static void *zalloc(const struct drop_backend *be, size_t bytes)
{
	bytes = bytes ? bytes : 1;
	void *d = be->alloc(bytes);
	void *z = drop_calloc(1, bytes);
	be->to_device(d, z, bytes);
	free(z);
	return d;
}

static void free_buffers(struct drop_model *m)
{
	struct drop_heads *h = m->heads;
	const struct drop_backend *be = m->be;
#define FREE(name, size) if (h->name) be->free(h->name); h->name = NULL;
	HEAD_FLOATS(FREE)
	HEAD_INTS(FREE)
#undef FREE
	if (h->visb)
		be->free(h->visb);
	h->visb = NULL;
}

static void free_bank(struct drop_model *m)
{
	struct drop_heads *h = m->heads;
	if (h->bank) {
		m->be->free(h->bank);
		m->be->free(h->bank_pid);
		m->be->free(h->bank_vis);
	}
	h->bank = NULL;
	h->bank_cap = 0;
}

void drop_heads_reserve_bank(struct drop_model *m, int n)
{
	struct drop_heads *h = m->heads;
	const struct drop_backend *be = m->be;
	size_t row = (size_t)m->cfg.parts * m->cfg.dim, K = m->cfg.parts;
	int cap = (m->cfg.pemb - 1) * n;
	if (cap <= h->bank_cap)
		return;
	/* A larger training batch: a larger bank, the entries kept. */
	float *bank = zalloc(be, (size_t)cap * row * sizeof(float));
	if (m->bank_n)
		be->scale((size_t)m->bank_n * row, 1.0f, h->bank, bank);
	free_bank(m);
	h->bank = bank;
	h->bank_pid = zalloc(be, (size_t)cap * sizeof(int));
	h->bank_vis = zalloc(be, (size_t)cap * K);
	m->bank_pid_h = drop_realloc(m->bank_pid_h, ((size_t)cap + 1) * sizeof(int));
	m->bank_vis_h = drop_realloc(m->bank_vis_h, ((size_t)cap + 1) * K);
	h->bank_cap = cap;
}

static void free_global(struct drop_model *m)
{
	struct drop_heads *h = m->heads;
	if (h->gp1) {
		m->be->free(h->gp1);
		m->be->free(h->gdtrip);
		m->be->free(h->gpid);
		m->be->free(h->gvis);
	}
	h->gp1 = h->gdtrip = NULL;
	h->gpid = NULL;
	h->gvis = NULL;
	h->gcap = 0;
}

void drop_heads_reserve_global(struct drop_model *m, int n)
{
	struct drop_heads *h = m->heads;
	size_t K = m->cfg.parts, D = m->cfg.dim;
	if (n <= h->gcap)
		return;
	free_global(m);
	h->gp1 = zalloc(m->be, (size_t)n * K * D * sizeof(float));
	h->gdtrip = zalloc(m->be, (size_t)n * K * D * sizeof(float));
	h->gpid = zalloc(m->be, (size_t)n * sizeof(int));
	h->gvis = zalloc(m->be, (size_t)n * K);
	h->gcap = n;
}

void drop_model_reserve(struct drop_model *m, int n)
{
	struct drop_heads *h = m->heads;
	if (n <= h->cap)
		return;
	free_buffers(m);
	const struct drop_backend *be = m->be;
	size_t K = m->cfg.parts, k1 = K + 1, k2 = K + 2, D = m->cfg.dim, C = m->cfg.classes;
	size_t hw = (size_t)m->hf * m->wf, cr = m->creid;
#define ALLOC(name, size) h->name = zalloc(be, (size_t)(size) * sizeof *h->name);
	HEAD_FLOATS(ALLOC)
	HEAD_INTS(ALLOC)
#undef ALLOC
	h->visb = zalloc(be, n * K);
	h->cap = n;
	drop_heads_reserve_bank(m, n);
}

int drop_model_batch_cap(const struct drop_model *m)
{
	return m->heads->cap;
}

int drop_model_bank_cap(const struct drop_model *m)
{
	return m->heads->bank_cap;
}

void drop_model_bank_get(const struct drop_model *m, float *dst, int n)
{
	size_t row = (size_t)m->cfg.parts * m->cfg.dim;
	m->be->to_host(dst, m->heads->bank, (size_t)n * row * sizeof *dst);
}

void drop_model_bank_set(struct drop_model *m, const float *src, int n)
{
	size_t row = (size_t)m->cfg.parts * m->cfg.dim;
	m->be->to_device(m->heads->bank, src, (size_t)n * row * sizeof *src);
}

void drop_heads_free(struct drop_model *m)
{
	struct drop_heads *h = m->heads;
	if (!h)
		return;
	free_buffers(m);
	free_bank(m);
	free_global(m);
	struct drop_bn1d *bns[] = { &h->red_g.bn, &h->red_f.bn, &h->red_p.bn, &h->neck_g.bn,
	                            &h->neck_f.bn, &h->neck_c.bn };
	for (size_t i = 0; i < sizeof bns / sizeof *bns; i++) {
		m->be->free(bns[i]->save_mean);
		m->be->free(bns[i]->save_invstd);
	}
	free(h);
	m->heads = NULL;
}

/* ---- Forward ------------------------------------------------------------------------------ */

static struct drop_param *E(struct drop_model *m, int i)
{
	return &m->params.p[i];
}

static struct drop_tensor plain(float *data, int n, int c, int h, int w)
{
	struct drop_tensor t = drop_tensor_make(n, c, h, w, DROP_PLAIN);
	t.data = data;
	return t;
}

static void bn1d_fwd(struct drop_model *m, struct drop_bn1d *b, int rows, const float *x,
                     float *y, bool train)
{
	struct drop_bn_desc d = { .n = rows, .c = b->c, .h = 1, .w = 1, .layout = DROP_PLAIN,
	                          .eps = 1e-5f, .momentum = 0.1f };
	float *beta = E(m, b->b)->t.data;
	if (E(m, b->b)->kind == DROP_PARAM_FROZEN)
		beta = NULL;
	if (train && m->sync_bn) {
		drop_sync_bn_fwd(m->sync_bn, &d, x, E(m, b->w)->t.data, beta, E(m, b->rm)->t.data,
		                 E(m, b->rv)->t.data, y, b->save_mean, b->save_invstd);
		E(m, b->nbt)->count++;
	} else if (train) {
		m->be->bn_fwd_train(&d, x, E(m, b->w)->t.data, beta, E(m, b->rm)->t.data,
		                    E(m, b->rv)->t.data, y, b->save_mean, b->save_invstd);
		E(m, b->nbt)->count++;
	} else {
		m->be->bn_fwd_eval(&d, x, E(m, b->w)->t.data, beta, E(m, b->rm)->t.data,
		                   E(m, b->rv)->t.data, y);
	}
}

static void reduce_fwd(struct drop_model *m, struct drop_reduce *r, int rows, const float *x,
                       float *z, float *y, bool train)
{
	struct drop_linear_desc d = { rows, E(m, r->w)->shape[1], m->cfg.dim, true };
	m->be->linear_fwd(&d, x, &E(m, r->w)->t, E(m, r->b)->t.data, z);
	bn1d_fwd(m, &r->bn, rows, z, y, train);
	m->be->relu((size_t)rows * m->cfg.dim, y, y);
}

static void neck_fwd(struct drop_model *m, struct drop_neck *k, int rows, const float *x,
                     float *y, float *logits, bool train)
{
	bn1d_fwd(m, &k->bn, rows, x, y, train);
	if (k->fc >= 0) {
		struct drop_linear_desc d = { rows, k->bn.c, m->cfg.classes, false };
		m->be->linear_fwd(&d, y, &E(m, k->fc)->t, NULL, logits);
	}
}

void drop_heads_forward(struct drop_model *m, int n, bool train)
{
	struct drop_heads *h = m->heads;
	const struct drop_backend *be = m->be;
	int K = m->cfg.parts, k1 = K + 1, k2 = K + 2, hf = m->hf, wf = m->wf, hw = hf * wf;
	int cr = m->creid;

	/* Parsing: S to plain, softmax, foreground map, the K + 2 maps. */
	struct drop_tensor s = plain(h->s, n, k1, hf, wf);
	be->convert(drop_graph_data(m->graph, m->v_s), &s);
	be->softmax_fwd(n, k1, hw, h->s, h->prob);
	be->chanmax_fwd(n, k1, hw, 1, h->prob, h->fg, h->fg_arg);
	struct drop_tensor fg = plain(h->fg, n, 1, hf, wf), prob = plain(h->prob, n, k1, hf, wf);
	struct drop_tensor maps = plain(h->maps, n, k2, hf, wf);
	const struct drop_tensor *mparts[2] = { &fg, &prob };
	be->concat(2, mparts, &maps);

	/* Pooling: global average and WAMP over Preid (blocked). */
	const struct drop_tensor *preid = drop_graph_data(m->graph, m->v_preid);
	struct drop_pool_desc gd = { n, cr, hf, wf, preid->layout, 0, false };
	be->pool_global_fwd(&gd, preid->data, h->gap, NULL, NULL);
	struct drop_pool_desc wd = { n, cr, hf, wf, preid->layout, k2, false };
	be->wamp_fwd(&wd, preid->data, h->maps, h->e, h->e_arg);
	struct drop_tensor e = plain(h->e, n, k2, cr, 1), efg = plain(h->e_fg, n, 1, cr, 1);
	struct drop_tensor ebg = plain(h->e_bg, n, 1, cr, 1), ep = plain(h->e_parts, n, K, cr, 1);
	struct drop_tensor *eparts[3] = { &efg, &ebg, &ep };
	be->split(&e, 3, eparts);

	/* Embeddings, BNNeck, classifiers. */
	reduce_fwd(m, &h->red_g, n, h->gap, h->zg, h->g1, train);
	reduce_fwd(m, &h->red_f, n, h->e_fg, h->zf, h->f1, train);
	reduce_fwd(m, &h->red_p, n * K, h->e_parts, h->zp, h->p1, train);
	neck_fwd(m, &h->neck_g, n, h->g1, h->bg, h->lg, train);
	neck_fwd(m, &h->neck_f, n, h->f1, h->bf, h->lf, train);
	neck_fwd(m, &h->neck_c, n, h->p1, h->bc, h->lc, train);

	/* Visibility: v_k = max_p P_k(p). */
	struct drop_pool_desc vd = { n, k1, hf, wf, DROP_PLAIN, 0, false };
	be->pool_global_fwd(&vd, h->prob, NULL, h->vmax, h->vmax_arg);
	struct drop_tensor vm = plain(h->vmax, n, k1, 1, 1), vb = plain(h->vis_bg, n, 1, 1, 1);
	struct drop_tensor vp = plain(h->vis, n, K, 1, 1);
	struct drop_tensor *vparts[2] = { &vb, &vp };
	be->split(&vm, 2, vparts);

	struct drop_model_out *o = &h->out;
	o->n = n;
	o->global = h->g1;
	o->global_bn = h->bg;
	o->fore = h->f1;
	o->fore_bn = h->bf;
	o->parts = h->p1;
	o->concat_bn = h->bc;
	o->logits_g = m->cfg.classes ? h->lg : NULL;
	o->logits_f = m->cfg.classes ? h->lf : NULL;
	o->logits_c = m->cfg.classes ? h->lc : NULL;
	o->parsing = h->s;
	o->prob = h->prob;
	o->vis = h->vis;
}

/* ---- Backward ----------------------------------------------------------------------------- */

static void bn1d_bwd(struct drop_model *m, struct drop_bn1d *b, int rows, const float *x,
                     const float *dy, float *dx)
{
	struct drop_bn_desc d = { .n = rows, .c = b->c, .h = 1, .w = 1, .layout = DROP_PLAIN,
	                          .eps = 1e-5f, .momentum = 0.1f };
	float *dbeta = E(m, b->b)->kind == DROP_PARAM_FROZEN ? NULL : E(m, b->b)->grad;
	if (m->sync_bn) {
		drop_sync_bn_bwd(m->sync_bn, &d, x, dy, E(m, b->w)->t.data, NULL, b->save_mean,
		                 b->save_invstd, dx, E(m, b->w)->grad, dbeta);
		return;
	}
	m->be->bn_bwd(&d, x, dy, E(m, b->w)->t.data, b->save_mean, b->save_invstd, dx,
	              E(m, b->w)->grad, dbeta);
}

/* dy (rows, D) is the gradient of the ReLU output y; it is overwritten. */
static void reduce_bwd(struct drop_model *m, struct drop_reduce *r, int rows, const float *x,
                       const float *z, const float *y, float *dy, float *dz, float *dx)
{
	size_t nd = (size_t)rows * m->cfg.dim;
	m->be->relu_bwd(nd, y, dy, dy);
	bn1d_bwd(m, &r->bn, rows, z, dy, dz);
	struct drop_linear_desc d = { rows, E(m, r->w)->shape[1], m->cfg.dim, true };
	m->be->linear_bwd_weights(&d, x, dz, E(m, r->w)->grad, E(m, r->b)->grad);
	m->be->linear_bwd_data(&d, dz, &E(m, r->w)->t, dx);
}

static void neck_bwd(struct drop_model *m, struct drop_neck *k, int rows, const float *x,
                     const float *y, const float *dlogits, float *dy, float *dx)
{
	struct drop_linear_desc d = { rows, k->bn.c, m->cfg.classes, false };
	m->be->linear_bwd_weights(&d, y, dlogits, E(m, k->fc)->grad, NULL);
	m->be->linear_bwd_data(&d, dlogits, &E(m, k->fc)->t, dy);
	bn1d_bwd(m, &k->bn, rows, x, dy, dx);
}

void drop_heads_backward(struct drop_model *m, int n)
{
	struct drop_heads *h = m->heads;
	const struct drop_backend *be = m->be;
	int K = m->cfg.parts, k1 = K + 1, k2 = K + 2, hf = m->hf, wf = m->wf, hw = hf * wf;
	int cr = m->creid, D = m->cfg.dim;

	neck_bwd(m, &h->neck_g, n, h->g1, h->bg, h->dlg, h->dbg, h->dg1);
	neck_bwd(m, &h->neck_f, n, h->f1, h->bf, h->dlf, h->dbf, h->df1);
	neck_bwd(m, &h->neck_c, n, h->p1, h->bc, h->dlc, h->dbc, h->dp1);
	be->add((size_t)n * K * D, h->dp1, h->dtrip, h->dp1);
	reduce_bwd(m, &h->red_g, n, h->gap, h->zg, h->g1, h->dg1, h->dzg, h->dgap);
	reduce_bwd(m, &h->red_f, n, h->e_fg, h->zf, h->f1, h->df1, h->dzf, h->de_fg);
	reduce_bwd(m, &h->red_p, n * K, h->e_parts, h->zp, h->p1, h->dp1, h->dzp, h->de_parts);

	/* WAMP backward to the maps (heads phase 1: the last reader of Preid); to the features
	 * later, in preid_grad. de_bg stays zero. */
	struct drop_tensor de = plain(h->de, n, k2, cr, 1), defg = plain(h->de_fg, n, 1, cr, 1);
	struct drop_tensor debg = plain(h->de_bg, n, 1, cr, 1);
	struct drop_tensor dep = plain(h->de_parts, n, K, cr, 1);
	const struct drop_tensor *departs[3] = { &defg, &debg, &dep };
	be->concat(3, departs, &de);
	const struct drop_tensor *preid = drop_graph_data(m->graph, m->v_preid);
	struct drop_pool_desc wd = { n, cr, hf, wf, preid->layout, k2, false };
	be->wamp_bwd(&wd, preid->data, h->maps, h->e_arg, h->de, NULL, h->dmaps);

	/* Maps -> probabilities -> logits S. */
	struct drop_tensor dmaps = plain(h->dmaps, n, k2, hf, wf), dfg = plain(h->dfg, n, 1, hf, wf);
	struct drop_tensor dpw = plain(h->dprob_w, n, k1, hf, wf);
	struct drop_tensor *dmparts[2] = { &dfg, &dpw };
	be->split(&dmaps, 2, dmparts);
	size_t np = (size_t)n * k1 * hw;
	be->chanmax_bwd(n, k1, hw, h->fg_arg, h->dfg, h->dprob);
	be->add(np, h->dprob, h->dprob_w, h->dprob);
	be->add(np, h->dprob, h->dprob_s, h->dprob);
	be->softmax_bwd(n, k1, hw, h->prob, h->dprob, h->dprob);
	be->add(np, h->dprob, h->ds, h->dprob);
	struct drop_tensor ds = plain(h->dprob, n, k1, hf, wf);
	be->convert(&ds, drop_graph_grad(m->graph, m->v_s));
}

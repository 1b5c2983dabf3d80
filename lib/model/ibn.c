/*
 * ibn.c - the IBN-a normalisation of ResNet-50-IBN-a (Pan et al., ECCV 2018) as one
 * graph node: y = ReLU(concat(IN(x[:, :h]), BN(x[:, h:]))), h = C/2, IN an affine
 * InstanceNorm2d (instance statistics in training and evaluation, no running statistics).
 *
 * Instance norm is the batch-norm kernel on a view: a blocked (N, h, H, W) tensor is, byte
 * for byte, a blocked (1, N h, H, W) one when h is a whole number of channel blocks, so the
 * batch statistics of that view are the per-(image, channel) statistics; gamma and beta are
 * repeated N times for it, and their gradients summed back over the N images. The halves
 * are split into temporaries (forward and backward), so the node needs h to be a multiple
 * of the block (ResNet-50's 32/64/128 are).
 * Not here: the graph's planning (graph.c) or the ResNet arrangement (resnet.c).
 */
#include "graph.h"

#include <string.h>

#include "../core/drop.h"

#define AL(b) (((b) + 63) / 64 * 64)

struct ibn_view {
	struct drop_tensor xa, xb;   /* the halves, shapes only */
	size_t ba, bb;               /* their bytes */
	size_t nh;                   /* N h: the instance-norm view's channels */
};

static struct ibn_view view(struct drop_graph *g, const struct drop_node *nd)
{
	const struct drop_tensor *x = &g->v[nd->in[0]].t;
	struct ibn_view v;
	int block = g->be->block();
	DROP_ASSERT(nd->half % block == 0,
	            "IBN: %d instance-norm channels are not whole blocks of %d", nd->half, block);
	v.xa = drop_tensor_make(x->n, nd->half, x->h, x->w, x->layout);
	v.xb = drop_tensor_make(x->n, x->c - nd->half, x->h, x->w, x->layout);
	v.ba = AL(drop_tensor_bytes(&v.xa, block));
	v.bb = AL(drop_tensor_bytes(&v.xb, block));
	v.nh = (size_t)x->n * nd->half;
	return v;
}

size_t drop_ibn_tmp_bytes(struct drop_graph *g, const struct drop_node *nd, bool bwd)
{
	struct ibn_view v = view(g, nd);
	/* forward: xa xb ya yb + gamma, beta, 2 dummy running (N h) each;
	 * backward: xa xb dya dyb dxa dxb + gamma, dgamma, dbeta (N h) */
	return (bwd ? 3 : 2) * (v.ba + v.bb) + 4 * AL(v.nh * sizeof(float));
}

size_t drop_ibn_aux_bytes(struct drop_graph *g, const struct drop_node *nd)
{
	return 2 * AL(view(g, nd).nh * sizeof(float));
}

static struct drop_param *P(struct drop_graph *g, int i)
{
	return &g->params->p[i];
}

/* gamma (h) repeated for the N images into out (N h). */
static void repeat(struct drop_graph *g, const float *v, int h, int n, float *out)
{
	for (int i = 0; i < n; i++)
		g->be->scale((size_t)h, 1.0f, v, out + (size_t)i * h);
}

void drop_ibn_forward(struct drop_graph *g, struct drop_node *nd, bool train, char *tmp,
                      float *aux)
{
	const struct drop_backend *be = g->be;
	struct drop_tensor *x = &g->v[nd->in[0]].t, *y = &g->v[nd->out].t;
	struct ibn_view v = view(g, nd);
	struct drop_tensor xa = v.xa, xb = v.xb, ya = v.xa, yb = v.xb;
	size_t fl = AL(v.nh * sizeof(float));
	xa.data = (float *)tmp;
	xb.data = (float *)(tmp + v.ba);
	ya.data = (float *)(tmp + v.ba + v.bb);
	yb.data = (float *)(tmp + 2 * v.ba + v.bb);
	char *p = tmp + 2 * (v.ba + v.bb);
	float *gam = (float *)p, *bet = (float *)(p + fl), *rm = (float *)(p + 2 * fl),
	      *rv = (float *)(p + 3 * fl);
	struct drop_tensor *halves[2] = { &xa, &xb };
	be->split(x, 2, halves);

	/* instance norm on the (1, N h, H, W) view */
	repeat(g, P(g, nd->w)->t.data, nd->half, x->n, gam);
	repeat(g, P(g, nd->b)->t.data, nd->half, x->n, bet);
	struct drop_bn_desc di = { .n = 1, .c = (int)v.nh, .h = x->h, .w = x->w,
	                           .layout = x->layout, .eps = 1e-5f, .momentum = 0.1f };
	be->bn_fwd_train(&di, xa.data, gam, bet, rm, rv, ya.data, aux, aux + fl / sizeof(float));

	/* batch norm on the rest */
	struct drop_bn_desc db = { .n = x->n, .c = xb.c, .h = x->h, .w = x->w,
	                           .layout = x->layout, .eps = 1e-5f, .momentum = 0.1f };
	float *gb = P(g, nd->w2)->t.data, *bb = P(g, nd->b2)->t.data;
	if (train) {
		be->bn_fwd_train(&db, xb.data, gb, bb, P(g, nd->rm)->t.data, P(g, nd->rv)->t.data,
		                 yb.data, nd->save_mean, nd->save_invstd);
		P(g, nd->nbt)->count++;
	} else {
		be->bn_fwd_eval(&db, xb.data, gb, bb, P(g, nd->rm)->t.data, P(g, nd->rv)->t.data,
		                yb.data);
	}
	const struct drop_tensor *parts[2] = { &ya, &yb };
	be->concat(2, parts, y);
	be->relu(drop_tensor_floats(y, be->block()), y->data, y->data);
}

void drop_ibn_backward(struct drop_graph *g, struct drop_node *nd, char *tmp, const float *aux,
                       struct drop_tensor *dx)
{
	const struct drop_backend *be = g->be;
	struct drop_val *yv = &g->v[nd->out];
	struct drop_tensor *x = &g->v[nd->in[0]].t, *dy = &yv->g;
	struct ibn_view v = view(g, nd);
	size_t fl = AL(v.nh * sizeof(float));
	struct drop_tensor xa = v.xa, xb = v.xb, dya = v.xa, dyb = v.xb, dxa = v.xa, dxb = v.xb;
	xa.data = (float *)tmp;
	xb.data = (float *)(tmp + v.ba);
	dya.data = (float *)(tmp + v.ba + v.bb);
	dyb.data = (float *)(tmp + 2 * v.ba + v.bb);
	dxa.data = (float *)(tmp + 2 * v.ba + 2 * v.bb);
	dxb.data = (float *)(tmp + 3 * v.ba + 2 * v.bb);
	char *p = tmp + 3 * (v.ba + v.bb);
	float *gam = (float *)p, *dgam = (float *)(p + fl), *dbet = (float *)(p + 2 * fl);

	be->relu_bwd(drop_tensor_floats(dy, be->block()), yv->t.data, dy->data, dy->data);
	struct drop_tensor *xs[2] = { &xa, &xb }, *dys[2] = { &dya, &dyb };
	be->split(x, 2, xs);
	be->split(dy, 2, dys);

	repeat(g, P(g, nd->w)->t.data, nd->half, x->n, gam);
	struct drop_bn_desc di = { .n = 1, .c = (int)v.nh, .h = x->h, .w = x->w,
	                           .layout = x->layout, .eps = 1e-5f, .momentum = 0.1f };
	be->bn_bwd(&di, xa.data, dya.data, gam, aux, aux + fl / sizeof(float), dxa.data, dgam, dbet);
	/* sum the N images' gamma / beta gradients */
	float *gw = P(g, nd->w)->grad, *gb = P(g, nd->b)->grad;
	be->scale((size_t)nd->half, 1.0f, dgam, gw);
	be->scale((size_t)nd->half, 1.0f, dbet, gb);
	for (int i = 1; i < x->n; i++) {
		be->add((size_t)nd->half, gw, dgam + (size_t)i * nd->half, gw);
		be->add((size_t)nd->half, gb, dbet + (size_t)i * nd->half, gb);
	}

	struct drop_bn_desc db = { .n = x->n, .c = xb.c, .h = x->h, .w = x->w,
	                           .layout = x->layout, .eps = 1e-5f, .momentum = 0.1f };
	be->bn_bwd(&db, xb.data, dyb.data, P(g, nd->w2)->t.data, nd->save_mean, nd->save_invstd,
	           dxb.data, P(g, nd->w2)->grad, P(g, nd->b2)->grad);
	const struct drop_tensor *parts[2] = { &dxa, &dxb };
	be->concat(2, parts, dx);
}

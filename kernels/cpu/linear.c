/*
 * linear.c - fully connected layers on the CPU through oneDNN's inner product: forward,
 * backward-data and backward-weights, PyTorch's Linear (y = x W^T + b).
 *
 * The same plan scheme as conv2d.c: one plan per descriptor, primitives created on first
 * use, weights reordered to the primitive's layout only when their version changes. The
 * weight gradient is written plain (Cout, Cin) directly: a blocked gradient and a reorder
 * back made backward-weights at 32 rows 1.2x PyTorch's time. oneDNN
 * rather than OpenBLAS: no second thread pool fighting OpenMP, and no dependence on the
 * CPU kernels OpenBLAS picks (OPENBLAS_CORETYPE).
 * Not here: the pairwise distances of drop-match (kernels/maths/maths.h, lib/reid/match.c).
 */
#include "cpu.h"
#include "dnnl_ctx.h"

#include <stdlib.h>

static void wany_md(const struct drop_linear_desc *d, dnnl_memory_desc_t *md)
{
	dnnl_dims_t wdims = { d->cout, d->cin };
	DNNL_CHECK(dnnl_memory_desc_init_by_tag(md, 2, wdims, dnnl_f32, dnnl_format_tag_any));
}

static struct drop_wplan *plan_get(const struct drop_linear_desc *d)
{
	int key[] = { d->n, d->cin, d->cout, d->bias };
	int nkey = (int)(sizeof key / sizeof key[0]);
	struct drop_wplan *p = drop_plan_find(DROP_PLAN_LINEAR, key, nkey);
	if (p)
		return p;
	if (d->n < 1 || d->cin < 1 || d->cout < 1)
		DROP_BUG("linear: bad descriptor");
	p = drop_calloc(1, sizeof *p);
	dnnl_dims_t sdims = { d->n, d->cin }, ddims = { d->n, d->cout }, wdims = { d->cout, d->cin },
	            bdims = { d->cout };
	DNNL_CHECK(dnnl_memory_desc_init_by_tag(&p->src_md, 2, sdims, dnnl_f32, dnnl_nc));
	DNNL_CHECK(dnnl_memory_desc_init_by_tag(&p->dst_md, 2, ddims, dnnl_f32, dnnl_nc));
	DNNL_CHECK(dnnl_memory_desc_init_by_tag(&p->wplain_md, 2, wdims, dnnl_f32, dnnl_oi));
	DNNL_CHECK(dnnl_memory_desc_init_by_tag(&p->bias_md, 1, bdims, dnnl_f32, dnnl_x));
	dnnl_memory_desc_t wany;
	wany_md(d, &wany);
	dnnl_inner_product_desc_t ipd;
	DNNL_CHECK(dnnl_inner_product_forward_desc_init(&ipd, dnnl_forward_training, &p->src_md,
	                                                &wany, d->bias ? &p->bias_md : NULL,
	                                                &p->dst_md));
	p->fwd_pd = drop_dnnl_pd(&ipd, NULL);
	DNNL_CHECK(dnnl_primitive_create(&p->fwd, p->fwd_pd));
	drop_wcopy_init(&p->wf, drop_dnnl_pd_md(p->fwd_pd, dnnl_query_weights_md), &p->wplain_md);
	p->f_src = drop_dnnl_mem(&p->src_md);
	p->f_w = drop_dnnl_mem(&p->wf.md);
	p->f_b = drop_dnnl_mem(&p->bias_md);
	p->f_dst = drop_dnnl_mem(&p->dst_md);
	p->f_scr = drop_dnnl_scratch_mem(p->fwd_pd);
	drop_plan_add(DROP_PLAN_LINEAR, key, nkey, p, drop_wplan_destroy);
	return p;
}

static void plan_bwd_data(const struct drop_linear_desc *d, struct drop_wplan *p)
{
	dnnl_memory_desc_t wany;
	wany_md(d, &wany);
	dnnl_inner_product_desc_t ipd;
	DNNL_CHECK(dnnl_inner_product_backward_data_desc_init(&ipd, &p->src_md, &wany,
	                                                      &p->dst_md));
	p->bd_pd = drop_dnnl_pd(&ipd, p->fwd_pd);
	DNNL_CHECK(dnnl_primitive_create(&p->bd, p->bd_pd));
	drop_wcopy_init(&p->wd, drop_dnnl_pd_md(p->bd_pd, dnnl_query_weights_md), &p->wplain_md);
	p->d_dsrc = drop_dnnl_mem(&p->src_md);
	p->d_w = drop_dnnl_mem(&p->wd.md);
	p->d_ddst = drop_dnnl_mem(&p->dst_md);
	p->d_scr = drop_dnnl_scratch_mem(p->bd_pd);
}

static void plan_bwd_weights(const struct drop_linear_desc *d, struct drop_wplan *p)
{
	dnnl_inner_product_desc_t ipd;
	DNNL_CHECK(dnnl_inner_product_backward_weights_desc_init(
		&ipd, &p->src_md, &p->wplain_md, d->bias ? &p->bias_md : NULL, &p->dst_md));
	p->bw_pd = drop_dnnl_pd(&ipd, p->fwd_pd);
	DNNL_CHECK(dnnl_primitive_create(&p->bw, p->bw_pd));
	p->w_src = drop_dnnl_mem(&p->src_md);
	p->w_ddst = drop_dnnl_mem(&p->dst_md);
	p->w_dw = drop_dnnl_mem(&p->wplain_md);
	p->w_db = drop_dnnl_mem(&p->bias_md);
	p->w_scr = drop_dnnl_scratch_mem(p->bw_pd);
}

static void check_w(const struct drop_linear_desc *d, const struct drop_tensor *w)
{
	if (w->n != d->cout || w->c != d->cin || w->h != 1 || w->w != 1 || w->layout != DROP_PLAIN)
		DROP_BUG("linear: weights are (%d, %d, %d, %d), expected (%d, %d)",
		         w->n, w->c, w->h, w->w, d->cout, d->cin);
}

void drop_linear_fwd_cpu(const struct drop_linear_desc *d, const float *x,
                         const struct drop_tensor *w, const float *b, float *y)
{
	check_w(d, w);
	if (d->bias && !b)
		DROP_BUG("linear: the descriptor has a bias but none is given");
	struct drop_wplan *p = plan_get(d);
	DNNL_CHECK(dnnl_memory_set_data_handle(p->f_src, (void *)x));
	DNNL_CHECK(dnnl_memory_set_data_handle(p->f_w, drop_wcopy_get(&p->wf, w)));
	DNNL_CHECK(dnnl_memory_set_data_handle(p->f_dst, y));
	drop_dnnl_scratch_bind(p->fwd_pd, p->f_scr);
	dnnl_exec_arg_t args[5] = { { DNNL_ARG_SRC, p->f_src }, { DNNL_ARG_WEIGHTS, p->f_w },
	                            { DNNL_ARG_DST, p->f_dst }, { DNNL_ARG_SCRATCHPAD, p->f_scr } };
	int nargs = 4;
	if (d->bias) {
		DNNL_CHECK(dnnl_memory_set_data_handle(p->f_b, (void *)b));
		args[nargs++] = (dnnl_exec_arg_t){ DNNL_ARG_BIAS, p->f_b };
	}
	drop_dnnl_run(p->fwd, nargs, args);
}

void drop_linear_bwd_data_cpu(const struct drop_linear_desc *d, const float *dy,
                              const struct drop_tensor *w, float *dx)
{
	check_w(d, w);
	struct drop_wplan *p = plan_get(d);
	if (!p->bd)
		plan_bwd_data(d, p);
	DNNL_CHECK(dnnl_memory_set_data_handle(p->d_dsrc, dx));
	DNNL_CHECK(dnnl_memory_set_data_handle(p->d_w, drop_wcopy_get(&p->wd, w)));
	DNNL_CHECK(dnnl_memory_set_data_handle(p->d_ddst, (void *)dy));
	drop_dnnl_scratch_bind(p->bd_pd, p->d_scr);
	dnnl_exec_arg_t args[] = { { DNNL_ARG_DIFF_SRC, p->d_dsrc }, { DNNL_ARG_WEIGHTS, p->d_w },
	                           { DNNL_ARG_DIFF_DST, p->d_ddst },
	                           { DNNL_ARG_SCRATCHPAD, p->d_scr } };
	drop_dnnl_run(p->bd, 4, args);
}

void drop_linear_bwd_weights_cpu(const struct drop_linear_desc *d, const float *x,
                                 const float *dy, float *dw, float *db)
{
	if (d->bias && !db)
		DROP_BUG("linear: the descriptor has a bias but no gradient for it");
	struct drop_wplan *p = plan_get(d);
	if (!p->bw)
		plan_bwd_weights(d, p);
	DNNL_CHECK(dnnl_memory_set_data_handle(p->w_src, (void *)x));
	DNNL_CHECK(dnnl_memory_set_data_handle(p->w_ddst, (void *)dy));
	DNNL_CHECK(dnnl_memory_set_data_handle(p->w_dw, dw));
	drop_dnnl_scratch_bind(p->bw_pd, p->w_scr);
	dnnl_exec_arg_t args[5] = { { DNNL_ARG_SRC, p->w_src }, { DNNL_ARG_DIFF_DST, p->w_ddst },
	                            { DNNL_ARG_DIFF_WEIGHTS, p->w_dw },
	                            { DNNL_ARG_SCRATCHPAD, p->w_scr } };
	int nargs = 4;
	if (d->bias) {
		DNNL_CHECK(dnnl_memory_set_data_handle(p->w_db, db));
		args[nargs++] = (dnnl_exec_arg_t){ DNNL_ARG_DIFF_BIAS, p->w_db };
	}
	drop_dnnl_run(p->bw, nargs, args);
}

/*
 * conv2d.c - 2-D convolution on the CPU through oneDNN: forward, backward-data and
 * backward-weights, PyTorch's Conv2d semantics (groups 1, dilation 1, symmetric padding).
 *
 * One plan per descriptor (ops.h, "Plans"): the forward primitive is created on the first
 * call, the backward ones on the first backward call, and all are reused afterwards. The
 * activations are given in their own layouts (y and dy blocked, x and dx as the descriptor
 * says), so no activation is reordered here, except where those layouts get only oneDNN's
 * reference kernel (then x or dy is offered in any layout and converted per call, is_ref).
 * Weights are plain (Cout, Cin, k, k); each direction gets them in the layout its
 * primitive prefers from drop_wcopy (dnnl_ctx.h: a shared buffer, or a copy of its own once
 * the same weights come back). The weight gradient is computed in the layout the
 * backward-weights primitive prefers and reordered to plain (a weights-sized copy, small
 * beside the convolution).
 *
 * With desc->bf16 the primitives multiply in bfloat16 (oneDNN's avx512_core_bf16 kernels,
 * about twice the float rate): x and dy are converted to the primitive's bf16 layout on
 * each call (drop_cvt, one pass over the activation), the weight copies are bf16, and y,
 * dx and dw stay float. An x or dy that comes with its bf16 copy (drop_tensor.bf16, made
 * by be->to_bf16 with the reorder's rounding) is read from that copy instead: no pass at
 * all when the primitive takes our layout, which it does for the blocked activations.
 * A CPU without native bf16 (drop_cpu_bf16) refuses it.
 *
 * Winograd (desc->algo, ops.h). oneDNN 2.6's F(4x4, 3x3) kernel (jit_avx512_core_f32_wino_
 * conv_4x3: float, avx512_core, 3x3 stride 1, channels in multiples of 16, all three
 * passes) does 4x fewer multiplications than the direct kernel, at the cost of transforms
 * and of a few bits of accuracy (its products are of transformed values ~10x larger).
 * A pass asks for it (wino_wanted) and takes the direct kernel when oneDNN has no Winograd
 * one for the shape. DROP_CONV_AUTO asks only where it pays (auto_wino): a fixed rule
 * on the shape, not a timing, so the choice and so the results are the same run to run.
 *
 *
 * Inference extras (forward only): desc->relu fuses a ReLU as oneDNN's post-op, and
 * desc->y_bf16 (with bf16) writes y as bfloat16 into y->bf16, what the graph uses where it
 * folds an eval batch norm into the convolution before it.
 *
 * Not here: groups, dilation, the sum post-op; the output size arithmetic
 * (drop_conv2d_out, kernels/tensor.c).
 */
#include "cpu.h"
#include "dnnl_ctx.h"

#include <stdlib.h>
#include <string.h>

bool drop_cpu_winograd(void)
{
	dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
	return (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
}

/* DROP_CONV_AUTO's rule: Winograd for the 3x3 stride-1 float convolutions of at least
 * 1024 output pixels a call (N Ho Wo; 64 of the kernel's 4x4 tiles), direct below. With
 * fewer tiles the kernel's transforms and thread split cost more than its products save:
 * kernels/bench/bench_ops.c on HRNet-W32's shapes (AMD EPYC Zen 5, one thread,
 * 2026-12-06), effective GFLOP/s Winograd / direct, forward: batch 1 at 64x32 440 / 226,
 * 32x16 282 / 242, 16x8 171 / 237, 8x4 46 / 158; batch 16 at 16x8 (2048 pixels) 256 / 93,
 * at 8x4 (512) backward data 98 / 234; batch 32 at 8x4 (1024) 152 / 125. */
#define AUTO_WINO_MIN_PIXELS 1024

static bool auto_wino(const struct drop_conv2d_desc *d)
{
	return (long)(d->auto_n ? d->auto_n : d->n) * d->h * d->w >= AUTO_WINO_MIN_PIXELS;
}

/* Whether a pass of d asks oneDNN for its Winograd kernel (it may still have none). */
static bool wino_wanted(const struct drop_conv2d_desc *d)
{
	if (d->algo == DROP_CONV_DIRECT || d->bf16 || d->k != 3 || d->stride != 1 ||
	    !drop_cpu_winograd())
		return false;
	return d->algo == DROP_CONV_WINOGRAD || auto_wino(d);
}

/* The primitive descriptor of op_desc, with d's fused ReLU for a forward one (no hint);
 * NULL where oneDNN has no implementation and may_fail, else that aborts. */
static dnnl_primitive_desc_t pd_make(const struct drop_conv2d_desc *d, const void *op_desc,
                                     const_dnnl_primitive_desc_t hint, bool may_fail)
{
	dnnl_primitive_desc_t pd;
	dnnl_primitive_attr_t attr = drop_dnnl_attr();
	dnnl_post_ops_t ops = NULL;
	if (d->relu && !hint) {
		DNNL_CHECK(dnnl_post_ops_create(&ops));
		DNNL_CHECK(dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f));
		DNNL_CHECK(dnnl_primitive_attr_set_post_ops(attr, ops));
	}
	dnnl_status_t st = dnnl_primitive_desc_create(&pd, op_desc, attr, drop_dnnl_engine(), hint);
	dnnl_primitive_attr_destroy(attr);
	if (ops)
		dnnl_post_ops_destroy(ops);
	if (st == dnnl_unimplemented && may_fail)
		return NULL;
	DNNL_CHECK(st);
	return pd;
}

/* Symmetric padding: oneDNN's output size (H + 2 pad - k) / stride + 1 with integer
 * division is PyTorch's. */
static void conv_geometry(const struct drop_conv2d_desc *d, dnnl_dims_t strides,
                          dnnl_dims_t pad_l, dnnl_dims_t pad_r)
{
	strides[0] = strides[1] = d->stride;
	pad_l[0] = pad_l[1] = pad_r[0] = pad_r[1] = d->pad;
}

/* The primitives' weights: any layout, bf16 or float. */
static void wany_md(const struct drop_conv2d_desc *d, dnnl_memory_desc_t *md)
{
	dnnl_dims_t wdims = { d->cout, d->cin, d->k, d->k };
	DNNL_CHECK(dnnl_memory_desc_init_by_tag(md, 4, wdims, d->bf16 ? dnnl_bf16 : dnnl_f32,
	                                        dnnl_format_tag_any));
}

/* What a primitive is offered for the float activation `act` it reads: act itself, or
 * (bf16, or `any` after act gave only oneDNN's reference kernel) the same shape in bf16 or
 * float and the layout the primitive chooses, converted on each call (drop_cvt). */
static void act_md(const struct drop_conv2d_desc *d, const dnnl_memory_desc_t *act, bool any,
                   dnnl_memory_desc_t *md)
{
	*md = *act;
	if (d->bf16 || any)
		DNNL_CHECK(dnnl_memory_desc_init_by_tag(md, act->ndims, act->dims,
		                                        d->bf16 ? dnnl_bf16 : dnnl_f32,
		                                        dnnl_format_tag_any));
}

/* Whether pd is oneDNN's reference implementation: what the fixed blocked layouts get for
 * some shapes, e.g. 8 channels in AVX-512's 16-channel blocks (hrnet-tiny), backward
 * weights there ran 100x slower than with a layout of oneDNN's choice. */
static bool is_ref(const_dnnl_primitive_desc_t pd)
{
	const char *impl = NULL;
	DNNL_CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
	return impl && !strncmp(impl, "ref", 3);
}

/* c converts `ours` to `theirs` when they differ (else it stays empty). */
static void cvt_if(struct drop_cvt *c, const dnnl_memory_desc_t *ours,
                   const dnnl_memory_desc_t *theirs)
{
	if (!dnnl_memory_desc_equal(ours, theirs))
		drop_cvt_init(c, ours, theirs);
}

/* src as the primitive takes it: converted into buffer `slot`, or src itself. */
static void *cvt_or(struct drop_cvt *c, const void *src, int slot)
{
	return c->reorder ? drop_cvt_run(c, src, slot) : (void *)src;
}

/* Activation t as the primitive takes it: from its bf16 copy (c16) in a bf16 convolution
 * that has one, else from its float data (c32). */
static void *act_in(const struct drop_conv2d_desc *d, struct drop_cvt *c32, struct drop_cvt *c16,
                    const struct drop_tensor *t, int slot)
{
	if (d->bf16 && t->bf16)
		return cvt_or(c16, t->bf16, slot);
	if (!t->data)
		DROP_BUG("conv2d: an activation without data%s",
		         d->bf16 ? "" : " (a bf16 copy serves only bf16 convolutions)");
	return cvt_or(c32, t->data, slot);
}

static struct drop_wplan *plan_get(const struct drop_conv2d_desc *d)
{
	int key[] = { d->n, d->cin, d->h, d->w, d->cout, d->k, d->stride, d->pad, d->bias,
	              d->src_layout, d->bf16, d->algo, d->relu, d->y_bf16, d->auto_n };
	int nkey = (int)(sizeof key / sizeof key[0]);
	struct drop_wplan *p = drop_plan_find(DROP_PLAN_CONV2D, key, nkey);
	if (p)
		return p;
	if (d->n < 1 || d->cin < 1 || d->cout < 1 || d->k < 1 || d->stride < 1 || d->pad < 0 ||
	    drop_conv2d_out(d->h, d->k, d->stride, d->pad) < 1 ||
	    drop_conv2d_out(d->w, d->k, d->stride, d->pad) < 1)
		DROP_BUG("conv2d: bad descriptor");
	if (d->bf16 && !drop_cpu_bf16())
		DROP_BUG("conv2d: bf16 needs a CPU with AVX512-BF16 or AMX");
	if (d->y_bf16 && !d->bf16)
		DROP_BUG("conv2d: a bf16 output needs bf16 products");

	p = drop_calloc(1, sizeof *p);
	int ho = drop_conv2d_out(d->h, d->k, d->stride, d->pad);
	int wo = drop_conv2d_out(d->w, d->k, d->stride, d->pad);
	drop_dnnl_md_act(&p->src_md, d->n, d->cin, d->h, d->w, d->src_layout == DROP_BLOCKED);
	drop_dnnl_md_act(&p->dst_md, d->n, d->cout, ho, wo, 1);
	p->src16_md = p->src_md;
	p->dst16_md = p->dst_md;
	p->src16_md.data_type = p->dst16_md.data_type = dnnl_bf16;
	const dnnl_memory_desc_t *ymd = d->y_bf16 ? &p->dst16_md : &p->dst_md;
	dnnl_dims_t wdims = { d->cout, d->cin, d->k, d->k }, bdims = { d->cout };
	DNNL_CHECK(dnnl_memory_desc_init_by_tag(&p->wplain_md, 4, wdims, dnnl_f32, dnnl_oihw));
	DNNL_CHECK(dnnl_memory_desc_init_by_tag(&p->bias_md, 1, bdims, dnnl_f32, dnnl_x));
	dnnl_memory_desc_t wany, xany;
	wany_md(d, &wany);
	dnnl_dims_t strides, pad_l, pad_r;
	conv_geometry(d, strides, pad_l, pad_r);
	if (wino_wanted(d)) {
		dnnl_convolution_desc_t cd;
		DNNL_CHECK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training,
		                                              dnnl_convolution_winograd, &p->src_md,
		                                              &wany, d->bias ? &p->bias_md : NULL,
		                                              ymd, strides, pad_l, pad_r));
		p->fwd_pd = pd_make(d, &cd, NULL, true);
		p->fwd_wino = p->fwd_pd != NULL;
	}
	for (int any = 0; !p->fwd_wino && any < 2; any++) {
		act_md(d, &p->src_md, any, &xany);
		dnnl_convolution_desc_t cd;
		DNNL_CHECK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training,
		                                              dnnl_convolution_direct, &xany, &wany,
		                                              d->bias ? &p->bias_md : NULL,
		                                              ymd, strides, pad_l, pad_r));
		if (p->fwd_pd)
			dnnl_primitive_desc_destroy(p->fwd_pd);
		p->fwd_pd = pd_make(d, &cd, NULL, false);
		if (!is_ref(p->fwd_pd))
			break;
	}
	DNNL_CHECK(dnnl_primitive_create(&p->fwd, p->fwd_pd));
	drop_wcopy_init(&p->wf, drop_dnnl_pd_md(p->fwd_pd, dnnl_query_weights_md), &p->wplain_md);
	const dnnl_memory_desc_t *xmd = drop_dnnl_pd_md(p->fwd_pd, dnnl_query_src_md);
	cvt_if(&p->f_x, &p->src_md, xmd);
	if (d->bf16)
		cvt_if(&p->f_x16, &p->src16_md, xmd);
	p->f_src = drop_dnnl_mem(xmd);
	p->f_w = drop_dnnl_mem(&p->wf.md);
	p->f_b = drop_dnnl_mem(&p->bias_md);
	p->f_dst = drop_dnnl_mem(ymd);
	p->f_scr = drop_dnnl_scratch_mem(p->fwd_pd);
	drop_plan_add(DROP_PLAN_CONV2D, key, nkey, p, drop_wplan_destroy);
	return p;
}

static void plan_bwd_data(const struct drop_conv2d_desc *d, struct drop_wplan *p)
{
	dnnl_dims_t strides, pad_l, pad_r;
	dnnl_memory_desc_t wany, dyany;
	wany_md(d, &wany);
	conv_geometry(d, strides, pad_l, pad_r);
	if (wino_wanted(d)) {
		dnnl_convolution_desc_t cd;
		DNNL_CHECK(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_winograd,
		                                                    &p->src_md, &wany, &p->dst_md,
		                                                    strides, pad_l, pad_r));
		p->bd_pd = pd_make(d, &cd, p->fwd_pd, true);
		p->bd_wino = p->bd_pd != NULL;
	}
	for (int any = 0; !p->bd_wino && any < 2; any++) {
		act_md(d, &p->dst_md, any, &dyany);
		dnnl_convolution_desc_t cd;
		DNNL_CHECK(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct,
		                                                    &p->src_md, &wany, &dyany,
		                                                    strides, pad_l, pad_r));
		if (p->bd_pd)
			dnnl_primitive_desc_destroy(p->bd_pd);
		p->bd_pd = pd_make(d, &cd, p->fwd_pd, false);
		if (!is_ref(p->bd_pd))
			break;
	}
	DNNL_CHECK(dnnl_primitive_create(&p->bd, p->bd_pd));
	drop_wcopy_init(&p->wd, drop_dnnl_pd_md(p->bd_pd, dnnl_query_weights_md), &p->wplain_md);
	p->d_dsrc = drop_dnnl_mem(&p->src_md);
	p->d_w = drop_dnnl_mem(&p->wd.md);
	const dnnl_memory_desc_t *dymd = drop_dnnl_pd_md(p->bd_pd, dnnl_query_diff_dst_md);
	cvt_if(&p->d_dy, &p->dst_md, dymd);
	if (d->bf16)
		cvt_if(&p->d_dy16, &p->dst16_md, dymd);
	p->d_ddst = drop_dnnl_mem(dymd);
	p->d_scr = drop_dnnl_scratch_mem(p->bd_pd);
}

static void plan_bwd_weights(const struct drop_conv2d_desc *d, struct drop_wplan *p)
{
	dnnl_dims_t wdims = { d->cout, d->cin, d->k, d->k }, strides, pad_l, pad_r;
	dnnl_memory_desc_t wany, xany, dyany; /* the weight gradient is float either way */
	DNNL_CHECK(dnnl_memory_desc_init_by_tag(&wany, 4, wdims, dnnl_f32, dnnl_format_tag_any));
	conv_geometry(d, strides, pad_l, pad_r);
	if (wino_wanted(d)) {
		dnnl_convolution_desc_t cd;
		DNNL_CHECK(dnnl_convolution_backward_weights_desc_init(
			&cd, dnnl_convolution_winograd, &p->src_md, &wany,
			d->bias ? &p->bias_md : NULL, &p->dst_md, strides, pad_l, pad_r));
		p->bw_pd = pd_make(d, &cd, p->fwd_pd, true);
		p->bw_wino = p->bw_pd != NULL;
	}
	for (int any = 0; !p->bw_wino && any < 2; any++) {
		act_md(d, &p->src_md, any, &xany);
		act_md(d, &p->dst_md, any, &dyany);
		dnnl_convolution_desc_t cd;
		DNNL_CHECK(dnnl_convolution_backward_weights_desc_init(
			&cd, dnnl_convolution_direct, &xany, &wany, d->bias ? &p->bias_md : NULL,
			&dyany, strides, pad_l, pad_r));
		if (p->bw_pd)
			dnnl_primitive_desc_destroy(p->bw_pd);
		p->bw_pd = pd_make(d, &cd, p->fwd_pd, false);
		if (!is_ref(p->bw_pd))
			break;
	}
	DNNL_CHECK(dnnl_primitive_create(&p->bw, p->bw_pd));
	const dnnl_memory_desc_t *dwmd = drop_dnnl_pd_md(p->bw_pd, dnnl_query_diff_weights_md);
	const dnnl_memory_desc_t *xmd = drop_dnnl_pd_md(p->bw_pd, dnnl_query_src_md),
	                         *dymd = drop_dnnl_pd_md(p->bw_pd, dnnl_query_diff_dst_md);
	cvt_if(&p->w_x, &p->src_md, xmd);
	cvt_if(&p->w_dy, &p->dst_md, dymd);
	if (d->bf16) {
		cvt_if(&p->w_x16, &p->src16_md, xmd);
		cvt_if(&p->w_dy16, &p->dst16_md, dymd);
	}
	p->w_src = drop_dnnl_mem(xmd);
	p->w_ddst = drop_dnnl_mem(dymd);
	p->w_dw = drop_dnnl_mem(dwmd);
	p->w_db = drop_dnnl_mem(&p->bias_md);
	p->w_scr = drop_dnnl_scratch_mem(p->bw_pd);
	p->dw_bytes = dnnl_memory_desc_get_size(dwmd);
	cvt_if(&p->w_dw_plain, dwmd, &p->wplain_md);
}

static void check_act(const char *what, const struct drop_tensor *t, int n, int c, int h,
                      int w, enum drop_layout layout)
{
	if (t->n != n || t->c != c || t->h != h || t->w != w || t->layout != layout)
		DROP_BUG("conv2d: %s is (%d, %d, %d, %d) %s, expected "
		         "(%d, %d, %d, %d) %s", what, t->n, t->c, t->h, t->w,
		         t->layout == DROP_PLAIN ? "plain" : "blocked", n, c, h, w,
		         layout == DROP_PLAIN ? "plain" : "blocked");
}

static void check_args(const struct drop_conv2d_desc *d, const struct drop_tensor *x,
                       const struct drop_tensor *w, const struct drop_tensor *y)
{
	int ho = drop_conv2d_out(d->h, d->k, d->stride, d->pad);
	int wo = drop_conv2d_out(d->w, d->k, d->stride, d->pad);
	if (x)
		check_act("input", x, d->n, d->cin, d->h, d->w, d->src_layout);
	if (w)
		check_act("weights", w, d->cout, d->cin, d->k, d->k, DROP_PLAIN);
	if (y)
		check_act("output", y, d->n, d->cout, ho, wo, DROP_BLOCKED);
}

void drop_conv2d_fwd_cpu(const struct drop_conv2d_desc *d, const struct drop_tensor *x,
                         const struct drop_tensor *w, const float *b, struct drop_tensor *y)
{
	check_args(d, x, w, y);
	if (d->bias && !b)
		DROP_BUG("conv2d: the descriptor has a bias but none is given");
	struct drop_wplan *p = plan_get(d);
	DNNL_CHECK(dnnl_memory_set_data_handle(p->f_src, act_in(d, &p->f_x, &p->f_x16, x, 0)));
	DNNL_CHECK(dnnl_memory_set_data_handle(p->f_w, drop_wcopy_get(&p->wf, w)));
	if (d->y_bf16 ? !y->bf16 : !y->data)
		DROP_BUG("conv2d: the output has no %s data", d->y_bf16 ? "bf16" : "float");
	DNNL_CHECK(dnnl_memory_set_data_handle(p->f_dst, d->y_bf16 ? (void *)y->bf16 : y->data));
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

void drop_conv2d_bwd_data_cpu(const struct drop_conv2d_desc *d, const struct drop_tensor *dy,
                              const struct drop_tensor *w, struct drop_tensor *dx)
{
	check_args(d, dx, w, dy);
	if (d->relu || d->y_bf16)
		DROP_BUG("conv2d: no backward pass through a fused ReLU or a bf16 output");
	struct drop_wplan *p = plan_get(d);
	if (!p->bd)
		plan_bwd_data(d, p);
	DNNL_CHECK(dnnl_memory_set_data_handle(p->d_dsrc, dx->data));
	DNNL_CHECK(dnnl_memory_set_data_handle(p->d_w, drop_wcopy_get(&p->wd, w)));
	DNNL_CHECK(dnnl_memory_set_data_handle(p->d_ddst, act_in(d, &p->d_dy, &p->d_dy16, dy, 1)));
	drop_dnnl_scratch_bind(p->bd_pd, p->d_scr);
	dnnl_exec_arg_t args[] = { { DNNL_ARG_DIFF_SRC, p->d_dsrc }, { DNNL_ARG_WEIGHTS, p->d_w },
	                           { DNNL_ARG_DIFF_DST, p->d_ddst },
	                           { DNNL_ARG_SCRATCHPAD, p->d_scr } };
	drop_dnnl_run(p->bd, 4, args);
}

void drop_conv2d_bwd_weights_cpu(const struct drop_conv2d_desc *d,
                                 const struct drop_tensor *x, const struct drop_tensor *dy,
                                 float *dw, float *db)
{
	check_args(d, x, NULL, dy);
	if (d->bias && !db)
		DROP_BUG("conv2d: the descriptor has a bias but no gradient for it");
	if (d->relu || d->y_bf16)
		DROP_BUG("conv2d: no backward pass through a fused ReLU or a bf16 output");
	struct drop_wplan *p = plan_get(d);
	if (!p->bw)
		plan_bwd_weights(d, p);
	DNNL_CHECK(dnnl_memory_set_data_handle(p->w_src, act_in(d, &p->w_x, &p->w_x16, x, 0)));
	DNNL_CHECK(dnnl_memory_set_data_handle(p->w_ddst, act_in(d, &p->w_dy, &p->w_dy16, dy, 1)));
	void *dwp = p->w_dw_plain.reorder ? drop_dnnl_wshared(p->dw_bytes) : (void *)dw;
	DNNL_CHECK(dnnl_memory_set_data_handle(p->w_dw, dwp));
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
	if (p->w_dw_plain.reorder)
		drop_cvt_into(&p->w_dw_plain, dwp, dw);
}

bool drop_conv2d_winograd_cpu(const struct drop_conv2d_desc *d, int pass)
{
	struct drop_wplan *p = plan_get(d);
	if (pass == 1 && !p->bd)
		plan_bwd_data(d, p);
	if (pass == 2 && !p->bw)
		plan_bwd_weights(d, p);
	return pass == 0 ? p->fwd_wino : pass == 1 ? p->bd_wino : p->bw_wino;
}

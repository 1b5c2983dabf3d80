/*
 * tests: the CUDA backend against the CPU backend, op by op - every member of its table:
 * element-wise ops and bf16 rounding, concat/split, the losses, Adam and the random
 * streams, convolution (float and bf16), linear, batch norm (train, eval, saved, frozen,
 * fused ReLU, bf16 output, backward; the --sync-bn ops cut at their sums), resampling
 * (nearest, bilinear both ways, a channel slice), global pooling, WAMP, softmax, channel
 * max, L2 norm, pairwise distances and max pooling - on random inputs (quantised where
 * ties matter), with the CPU as the oracle and sentinels after every device output.
 * Tolerances, per op: 0 (the same bits) where the kernel runs the CPU's loop in the CPU's
 * order (kernels/README.md); where cuDNN, cuBLAS or a tree reduction sums in another
 * order, atol + rtol |ref| sized to float32 rounding of the sums involved (stated at each
 * check). Skipped (TAP SKIP) in a CPU-only build or without a GPU; DROP_TEST_STRICT=1
 * turns the skip into a failure.
 * also requires: a CUDA device for anything but the skip
 */
#include "config.h"
#include "test_ops_util.h"
#include "../../kernels/maths/maths_ops.h"

#if DROP_WITH_CUDA

#define SENTINEL 12345.0f

static const struct drop_backend *gpu;

/* n floats on the device with a sentinel after them. */
static float *dev_from(const float *h, size_t n)
{
	float *d = gpu->alloc((n + 1) * sizeof *d), s = SENTINEL;
	if (h)
		gpu->to_device(d, h, n * sizeof *d);
	gpu->to_device(d + n, &s, sizeof s);
	return d;
}

/* Copy n floats back, check the sentinel, free the device buffer. */
static float *dev_back(float *d, size_t n, const char *what)
{
	float *h = drop_malloc((n + 1) * sizeof *h);
	gpu->sync();
	gpu->to_host(h, d, (n + 1) * sizeof *h);
	CHECK(h[n] == SENTINEL, "%s: sentinel intact", what);
	gpu->free(d);
	return h;
}

static void *dev_copy(const void *h, size_t bytes)
{
	void *d = gpu->alloc(bytes ? bytes : 1);
	gpu->to_device(d, h, bytes);
	return d;
}

static float *randv(size_t n, uint32_t stream)
{
	float *v = drop_malloc(n * sizeof *v);
	drop_rand_normal_cpu(1, stream, 0, n, v);
	return v;
}

static void test_eltwise(void)
{
	enum { N = 10007 };
	float *x = randv(N, 1), *y = randv(N, 2), *want = drop_malloc(N * sizeof *want);
	float *dx = dev_from(x, N), *dy = dev_from(y, N), *dout = dev_from(NULL, N);
	drop_relu_cpu(N, x, want);
	gpu->relu(N, dx, dout);
	float *got = dev_back(dout, N, "relu");
	compare_f("relu: cuda = cpu", got, want, N, 0, 0);
	free(got);
	dout = dev_from(NULL, N);
	drop_add_cpu(N, x, y, want);
	gpu->add(N, dx, dy, dout);
	got = dev_back(dout, N, "add");
	compare_f("add: cuda = cpu", got, want, N, 0, 0);
	free(got);
	memcpy(want, y, N * sizeof *want);
	drop_axpy_cpu(N, 0.25f, x, want);
	gpu->axpy(N, 0.25f, dx, dy);
	got = dev_back(dy, N, "axpy");
	compare_f("axpy: cuda = cpu (FMA contraction may differ)", got, want, N, 1e-6, 1e-6);
	free(got), gpu->free(dx), free(x), free(y), free(want);
}

/* concat and split of plain parts (the CUDA block is 1): the CPU's bytes; a part without
 * data is skipped both ways. */
static void test_concat(void)
{
	enum { N = 3, H = 5, W = 7, C0 = 3, C1 = 5 };
	size_t n0 = (size_t)N * C0 * H * W, n1 = (size_t)N * C1 * H * W, ny = n0 + n1;
	float *a = randv(n0, 5), *b = randv(n1, 6), *want = drop_malloc(ny * sizeof *want);
	struct drop_tensor ta = drop_tensor_make(N, C0, H, W, DROP_PLAIN), tb = ta, ty = ta;
	tb.c = C1;
	ty.c = C0 + C1;
	ta.data = a, tb.data = b, ty.data = want;
	const struct drop_tensor *parts[2] = { &ta, &tb };
	drop_concat_cpu(2, parts, &ty);
	struct drop_tensor ga = ta, gb = tb, gy = ty;
	ga.data = dev_from(a, n0), gb.data = dev_from(b, n1), gy.data = dev_from(NULL, ny);
	const struct drop_tensor *gparts[2] = { &ga, &gb };
	gpu->concat(2, gparts, &gy);
	float *got = dev_back(gy.data, ny, "concat");
	compare_f("concat: cuda = cpu", got, want, ny, 0, 0);
	gy.data = dev_from(want, ny);
	float *zero = drop_calloc(n0, sizeof *zero);
	gpu->to_device(ga.data, zero, n0 * sizeof *zero);
	struct drop_tensor skip = gb;
	skip.data = NULL;
	struct drop_tensor *sparts[2] = { &ga, &skip };
	gpu->split(&gy, 2, sparts);
	float *ga_back = dev_back(ga.data, n0, "split"), *gb_back = dev_back(gb.data, n1, "split");
	compare_f("split: the first part back", ga_back, a, n0, 0, 0);
	compare_f("split: the part without data skipped", gb_back, b, n1, 0, 0);
	gpu->free(gy.data);
	free(got), free(zero), free(ga_back), free(gb_back), free(a), free(b), free(want);
}

/* to_bf16 and relu_bwd_bf16: the same bits as the CPU's (one formula, maths_ops.h). */
static void test_bf16(void)
{
	enum { N = 10007 };
	float *x = randv(N, 3), *y = randv(N, 4), *want = drop_malloc(N * sizeof *want);
	uint16_t *h = drop_malloc(N * sizeof *h), *hg = drop_malloc(N * sizeof *hg);
	drop_to_bf16_cpu(N, x, h);
	float *dx = dev_from(x, N);
	uint16_t *dh = gpu->alloc(N * sizeof *dh);
	gpu->to_bf16(N, dx, dh);
	gpu->sync();
	gpu->to_host(hg, dh, N * sizeof *hg);
	CHECK(!memcmp(h, hg, N * sizeof *h), "to_bf16: cuda = cpu, bit for bit");
	float *dy = dev_from(y, N), *dout = dev_from(NULL, N);
	drop_relu_bwd_bf16_cpu(N, h, y, want);
	gpu->relu_bwd_bf16(N, dh, dy, dout);
	float *got = dev_back(dout, N, "relu_bwd_bf16");
	compare_f("relu_bwd_bf16: cuda = cpu", got, want, N, 0, 0);
	free(got), gpu->free(dx), gpu->free(dy), gpu->free(dh);
	free(x), free(y), free(want), free(h), free(hg);
}

static void test_losses(void)
{
	enum { N = 16, C = 11, K1 = 5, H = 6, W = 4 };
	float *lg = randv(N * C, 3), *dl = drop_malloc(N * C * sizeof *dl);
	int labels[N], plabels[2 * H * W];
	for (int i = 0; i < N; i++)
		labels[i] = i % C;
	for (int i = 0; i < 2 * H * W; i++)
		plabels[i] = i * 7 % K1;
	double want = drop_ce_smooth_cpu(N, C, lg, labels, 0.1f, 1.0f, dl);
	float *dlg = dev_from(lg, N * C), *ddl = dev_from(NULL, N * C);
	int *dlab = dev_copy(labels, sizeof labels);
	double got = gpu->ce_smooth(N, C, dlg, dlab, 0.1f, 1.0f, ddl);
	CHECK_CLOSE(got, want, 1e-12, 1e-12, "ce_smooth: cuda = cpu");
	float *g = dev_back(ddl, N * C, "ce_smooth dlogits");
	compare_f("ce_smooth dlogits: cuda = cpu", g, dl, N * C, 1e-7, 1e-6);
	free(g), gpu->free(dlg), gpu->free(dlab), free(lg), free(dl);

	size_t n = 2 * K1 * H * W;
	float *pl = randv(n, 4), *pr = drop_malloc(n * sizeof *pr), *pdl = drop_malloc(n * sizeof *pdl),
	      *pdp = drop_malloc(n * sizeof *pdp);
	drop_softmax_fwd_cpu(2, K1, H * W, pl, pr);
	double parts[2], gparts[2];
	want = drop_parsing_loss_cpu(2, K1, H, W, pl, pr, plabels, 0.1f, 0.5f, 1.0f, pdl, pdp, parts);
	float *dpl = dev_from(pl, n), *dpr = dev_from(pr, n), *ddl2 = dev_from(NULL, n),
	      *ddp = dev_from(NULL, n);
	int *dplab = dev_copy(plabels, sizeof plabels);
	got = gpu->parsing_loss(2, K1, H, W, dpl, dpr, dplab, 0.1f, 0.5f, 1.0f, ddl2, ddp, gparts);
	CHECK_CLOSE(got, want, 1e-12, 1e-12, "parsing loss: cuda = cpu");
	g = dev_back(ddl2, n, "parsing dlogits");
	compare_f("parsing dlogits: cuda = cpu", g, pdl, n, 1e-7, 1e-6);
	free(g);
	g = dev_back(ddp, n, "parsing dprob");
	compare_f("parsing dprob: cuda = cpu", g, pdp, n, 0, 0);
	free(g), gpu->free(dpl), gpu->free(dpr), gpu->free(dplab);
	free(pl), free(pr), free(pdl), free(pdp);
}

static void test_triplet(void)
{
	enum { B = 16, M = 32, K = 4, D = 8 };
	struct drop_triplet_desc d = { B, M, K, D, 0.3f, false };
	float *e = randv(B * K * D, 5), *bk = randv(M * K * D, 6), *de = drop_malloc(sizeof(float) * B * K * D);
	int pid[B], bpid[M], nv, gnv;
	unsigned char vis[B * K], bvis[M * K];
	for (int i = 0; i < B; i++)
		pid[i] = i / 4;
	for (int i = 0; i < M; i++)
		bpid[i] = i % 6;
	for (int i = 0; i < B * K; i++)
		vis[i] = i % 5 != 0;
	for (int i = 0; i < M * K; i++)
		bvis[i] = i % 3 != 0;
	double want = drop_triplet_cpu(&d, e, pid, vis, bk, bpid, bvis, 1.0f, de, &nv);
	float *gde = dev_from(NULL, B * K * D), *ge = dev_from(e, B * K * D), *gbk = dev_from(bk, M * K * D);
	int *gpid = dev_copy(pid, sizeof pid), *gbpid = dev_copy(bpid, sizeof bpid);
	unsigned char *gvis = dev_copy(vis, sizeof vis), *gbvis = dev_copy(bvis, sizeof bvis);
	double got = gpu->triplet(&d, ge, gpid, gvis, gbk, gbpid, gbvis, 1.0f, gde, &gnv);
	CHECK(gnv == nv, "triplet: same anchors");
	CHECK_CLOSE(got, want, 1e-12, 1e-12, "triplet: cuda = cpu");
	float *g = dev_back(gde, B * K * D, "triplet demb");
	compare_f("triplet demb: cuda = cpu", g, de, B * K * D, 1e-7, 1e-6);
	free(g), gpu->free(ge), gpu->free(gbk), gpu->free(gpid), gpu->free(gbpid);
	gpu->free(gvis), gpu->free(gbvis), free(e), free(bk), free(de);
}

static void test_adam_rng(void)
{
	enum { N = 5003 };
	float *p = randv(N, 7), *g = randv(N, 8), *m = drop_calloc(N, sizeof *m), *v = drop_calloc(N, sizeof *v);
	float *dp = dev_from(p, N), *dg = dev_from(g, N), *dm = dev_from(m, N), *dv = dev_from(v, N);
	for (int t = 1; t <= 3; t++) {
		struct drop_adam a = { 3.5e-4, 0.9, 0.999, 1e-8, 5e-4, t };
		drop_adam_cpu(N, &a, p, g, m, v);
		gpu->adam(N, &a, dp, dg, dm, dv);
	}
	float *gp = dev_back(dp, N, "adam");
	compare_f("adam: cuda = cpu after 3 steps", gp, p, N, 1e-7, 1e-6);
	free(gp), gpu->free(dg), gpu->free(dm), gpu->free(dv), free(p), free(g), free(m), free(v);

	float *u = drop_malloc(N * sizeof *u), *du = dev_from(NULL, N);
	drop_rand_uniform_cpu(42, 3, 17, N, u);
	gpu->rand_uniform(42, 3, 17, N, du);
	float *gu = dev_back(du, N, "uniform");
	CHECK(!memcmp(gu, u, N * sizeof *u), "uniform: cuda draws the cpu's numbers");
	free(gu);
	drop_rand_normal_cpu(42, 4, 17, N, u);
	du = dev_from(NULL, N);
	gpu->rand_normal(42, 4, 17, N, du);
	gu = dev_back(du, N, "normal");
	compare_f("normal: cuda = cpu (last-bit libm differences)", gu, u, N, 1e-6, 1e-6);
	free(gu), free(u);
}

/* n device ints back to the host (caller frees). */
static int *ints_back(int *d, size_t n)
{
	int *h = drop_malloc((n ? n : 1) * sizeof *h);
	gpu->sync();
	gpu->to_host(h, d, n * sizeof *h);
	gpu->free(d);
	return h;
}

/* Values on a grid of 0.5 (many equal values): ties for the argmax rules. */
static float *quantised(size_t n, uint32_t stream)
{
	float *v = randv(n, stream);
	for (size_t i = 0; i < n; i++)
		v[i] = roundf(v[i] * 2.0f) / 2.0f;
	return v;
}

/* A device tensor of plain shape (n, c, h, w) from host data (the CUDA block is 1). */
static struct drop_tensor dev_tensor(const float *h, int n, int c, int hh, int w)
{
	struct drop_tensor t = drop_tensor_make(n, c, hh, w, DROP_BLOCKED);
	t.data = dev_from(h, (size_t)n * c * hh * w);
	return t;
}

/* Convolution: forward with bias, backward-data, backward-weights with the bias gradient,
 * against oneDNN (plain source, blocked output converted back). Sums of up to Cin k k = 45
 * products of N(0, 1) values (dw: N Ho Wo = 70), in another order: atol 2e-5, rtol 1e-5.
 * bf16: both round x, w and dy to bf16 and sum the exact products in float, so the same
 * tolerance (skipped where the CPU has no native bf16). */
static void test_conv2d(bool bf16)
{
	if (bf16 && !drop_cpu_bf16()) {
		CHECK(1, "# SKIP conv2d bf16: this CPU has no native bf16 (the reference)");
		return;
	}
	struct drop_conv2d_desc shapes[2] = {
		{ 2, 5, 9, 7, 6, 3, 2, 1, true, DROP_PLAIN, bf16, DROP_CONV_DIRECT, false, false, 0 },
		{ 3, 4, 6, 5, 3, 1, 1, 0, false, DROP_PLAIN, bf16, DROP_CONV_DIRECT, false, false, 0 },
	};
	for (int si = 0; si < 2; si++) {
		const struct drop_conv2d_desc *d = &shapes[si];
		int ho = drop_conv2d_out(d->h, d->k, d->stride, d->pad);
		int wo = drop_conv2d_out(d->w, d->k, d->stride, d->pad);
		size_t nx = (size_t)d->n * d->cin * d->h * d->w, ny = (size_t)d->n * d->cout * ho * wo;
		size_t nw = (size_t)d->cout * d->cin * d->k * d->k;
		float *x = randv(nx, 20), *w = randv(nw, 21), *b = randv(d->cout, 22), *dy = randv(ny, 23);
		struct drop_tensor cx = tensor_from(x, d->n, d->cin, d->h, d->w, DROP_PLAIN);
		struct drop_tensor cw = tensor_from(w, d->cout, d->cin, d->k, d->k, DROP_PLAIN);
		struct drop_tensor cy = tensor_from(NULL, d->n, d->cout, ho, wo, DROP_BLOCKED);
		struct drop_tensor cdy = tensor_from(dy, d->n, d->cout, ho, wo, DROP_BLOCKED);
		struct drop_tensor cdx = tensor_from(NULL, d->n, d->cin, d->h, d->w, DROP_PLAIN);
		float *cdw = drop_malloc(nw * sizeof *cdw), *cdb = drop_malloc(d->cout * sizeof *cdb);
		drop_conv2d_fwd_cpu(d, &cx, &cw, d->bias ? b : NULL, &cy);
		drop_conv2d_bwd_data_cpu(d, &cdy, &cw, &cdx);
		drop_conv2d_bwd_weights_cpu(d, &cx, &cdy, cdw, d->bias ? cdb : NULL);
		float *want_y = tensor_plain(&cy);

		struct drop_tensor gx = dev_tensor(x, d->n, d->cin, d->h, d->w);
		struct drop_tensor gw = dev_tensor(w, d->cout, d->cin, d->k, d->k);
		struct drop_tensor gy = dev_tensor(NULL, d->n, d->cout, ho, wo);
		struct drop_tensor gdy = dev_tensor(dy, d->n, d->cout, ho, wo);
		struct drop_tensor gdx = dev_tensor(NULL, d->n, d->cin, d->h, d->w);
		gw.layout = DROP_PLAIN;
		gx.layout = DROP_PLAIN;
		gdx.layout = DROP_PLAIN;
		float *gb = dev_from(b, d->cout), *gdw = dev_from(NULL, nw), *gdb = dev_from(NULL, d->cout);
		gpu->conv2d_fwd(d, &gx, &gw, d->bias ? gb : NULL, &gy);
		gpu->conv2d_bwd_data(d, &gdy, &gw, &gdx);
		gpu->conv2d_bwd_weights(d, &gx, &gdy, gdw, d->bias ? gdb : NULL);
		char what[96];
		const char *tag = bf16 ? "bf16" : "f32";
		snprintf(what, sizeof what, "conv2d %s k%d s%d fwd", tag, d->k, d->stride);
		float *got = dev_back(gy.data, ny, what);
		compare_f(what, got, want_y, ny, 2e-5, 1e-5);
		free(got);
		snprintf(what, sizeof what, "conv2d %s k%d s%d bwd data", tag, d->k, d->stride);
		got = dev_back(gdx.data, nx, what);
		compare_f(what, got, cdx.data, nx, 2e-5, 1e-5);
		free(got);
		snprintf(what, sizeof what, "conv2d %s k%d s%d bwd weights", tag, d->k, d->stride);
		got = dev_back(gdw, nw, what);
		compare_f(what, got, cdw, nw, 2e-5, 1e-5);
		free(got);
		got = dev_back(gdb, d->cout, "conv2d db");
		if (d->bias)
			compare_f("conv2d bias gradient (per-channel sums in double)", got, cdb,
			          d->cout, 1e-5, 1e-6);
		free(got);
		/* the same bits on a second call (one plan, one algorithm, deterministic) */
		float *again = dev_from(NULL, ny), *first = dev_from(NULL, ny);
		struct drop_tensor g2 = gy;
		g2.data = first;
		gpu->conv2d_fwd(d, &gx, &gw, d->bias ? gb : NULL, &g2);
		g2.data = again;
		gpu->conv2d_fwd(d, &gx, &gw, d->bias ? gb : NULL, &g2);
		float *h1 = dev_back(first, ny, "conv2d repeat"), *h2 = dev_back(again, ny, "conv2d repeat");
		CHECK(!memcmp(h1, h2, ny * sizeof *h1), "conv2d %s: a second call gives the same bits", tag);
		free(h1), free(h2);
		/* the epilogue of a folded batch norm (lib/model/graph.c): bias, ReLU fused and, in
		 * bf16, the output written as bfloat16; the CPU's fused op is the reference, the
		 * same tolerance (bf16 outputs: one bf16 step, 2^-8 relative) */
		struct drop_conv2d_desc dr = *d;
		dr.relu = true;
		dr.y_bf16 = bf16;
		struct drop_tensor cr = tensor_from(NULL, d->n, d->cout, ho, wo, DROP_BLOCKED);
		size_t ncr = drop_tensor_floats(&cr, drop_cpu_block());
		uint16_t *crb = bf16 ? drop_malloc(ncr * sizeof *crb) : NULL;
		if (bf16)
			cr.bf16 = crb;
		drop_conv2d_fwd_cpu(&dr, &cx, &cw, d->bias ? b : NULL, &cr);
		float *want_r = drop_malloc(ny * sizeof *want_r);
		for (int n = 0, i = 0; n < d->n; n++)
			for (int c = 0; c < d->cout; c++)
				for (int s = 0; s < ho * wo; s++, i++) {
					size_t k = drop_tensor_index(&cr, drop_cpu_block(), n, c, s / wo, s % wo);
					want_r[i] = bf16 ? drop_bf16_to_f(crb[k]) : cr.data[k];
				}
		struct drop_tensor gr = gy;
		uint16_t *grb = NULL;
		if (bf16) {
			grb = (uint16_t *)gpu->alloc(ny * sizeof *grb);
			gr.bf16 = grb;
			gr.data = NULL;
		}
		gpu->conv2d_fwd(&dr, &gx, &gw, d->bias ? gb : NULL, &gr);
		float *got_r = drop_malloc(ny * sizeof *got_r);
		if (bf16) {
			uint16_t *hb = drop_malloc(ny * sizeof *hb);
			gpu->to_host(hb, grb, ny * sizeof *hb);
			for (size_t i = 0; i < ny; i++)
				got_r[i] = drop_bf16_to_f(hb[i]);
			free(hb);
			gpu->free(grb);
		} else {
			gpu->to_host(got_r, gr.data, ny * sizeof *got_r);
		}
		snprintf(what, sizeof what, "conv2d %s k%d s%d fwd, ReLU fused%s", tag, d->k, d->stride,
		         bf16 ? ", bf16 output" : "");
		compare_f(what, got_r, want_r, ny, 2e-5, bf16 ? 8e-3 : 1e-5);
		free(got_r), free(want_r), free(crb), free(cr.data);
		gpu->free(gx.data), gpu->free(gw.data), gpu->free(gdy.data), gpu->free(gb);
		free(cx.data), free(cw.data), free(cy.data), free(cdy.data), free(cdx.data);
		free(cdw), free(cdb), free(want_y), free(x), free(w), free(b), free(dy);
	}
}

/* Linear: cuBLAS against oneDNN, sums of 37 (dx: 11; dw: 13) products: atol 1e-5, rtol
 * 1e-5; the bias gradient sums 13 rows in double: atol 1e-6. */
static void test_linear(void)
{
	struct drop_linear_desc d = { 13, 37, 11, true };
	size_t nx = (size_t)d.n * d.cin, ny = (size_t)d.n * d.cout, nw = (size_t)d.cout * d.cin;
	float *x = randv(nx, 30), *w = randv(nw, 31), *b = randv(d.cout, 32), *dy = randv(ny, 33);
	float *y = drop_malloc(ny * sizeof *y), *dx = drop_malloc(nx * sizeof *dx),
	      *dw = drop_malloc(nw * sizeof *dw), *db = drop_malloc(d.cout * sizeof *db);
	struct drop_tensor cw = drop_tensor_make(d.cout, d.cin, 1, 1, DROP_PLAIN);
	cw.data = w;
	drop_linear_fwd_cpu(&d, x, &cw, b, y);
	drop_linear_bwd_data_cpu(&d, dy, &cw, dx);
	drop_linear_bwd_weights_cpu(&d, x, dy, dw, db);
	struct drop_tensor gw = cw;
	gw.data = dev_from(w, nw);
	float *gx = dev_from(x, nx), *gb = dev_from(b, d.cout), *gdy = dev_from(dy, ny);
	float *gy = dev_from(NULL, ny), *gdx = dev_from(NULL, nx), *gdw = dev_from(NULL, nw),
	      *gdb = dev_from(NULL, d.cout);
	gpu->linear_fwd(&d, gx, &gw, gb, gy);
	gpu->linear_bwd_data(&d, gdy, &gw, gdx);
	gpu->linear_bwd_weights(&d, gx, gdy, gdw, gdb);
	float *g = dev_back(gy, ny, "linear fwd");
	compare_f("linear fwd: cuda = cpu", g, y, ny, 1e-5, 1e-5);
	free(g);
	g = dev_back(gdx, nx, "linear bwd data");
	compare_f("linear bwd data: cuda = cpu", g, dx, nx, 1e-5, 1e-5);
	free(g);
	g = dev_back(gdw, nw, "linear bwd weights");
	compare_f("linear bwd weights: cuda = cpu", g, dw, nw, 1e-5, 1e-5);
	free(g);
	g = dev_back(gdb, d.cout, "linear db");
	compare_f("linear bias gradient: cuda = cpu", g, db, d.cout, 1e-6, 1e-6);
	free(g), gpu->free(gw.data), gpu->free(gx), gpu->free(gb), gpu->free(gdy);
	free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
}

/* The batch norms of test_batchnorm and test_bn_sync: 2-D, 1-D (BNNeck's), and one of 884
 * values a channel. */
static const struct drop_bn_desc bn_shapes[3] = {
	{ 3, 5, 7, 6, DROP_PLAIN, 1e-5f, 0.1f, false, false, false },
	{ 17, 9, 1, 1, DROP_PLAIN, 1e-5f, 0.1f, false, false, false },
	{ 4, 3, 17, 13, DROP_PLAIN, 1e-5f, 0.1f, false, false, false },
};

/* Batch norm, 2-D and 1-D: the statistics are double sums in another order, so they and
 * everything after them agree to float rounding: atol 1e-5, rtol 1e-5 (the running
 * statistics and the saved ones 1e-6). The saved eval rebuilds the GPU's own forward bit
 * for bit; a frozen beta, fused ReLU and the bf16 output (within one bf16 step, 2^-7
 * relative) follow the CPU. The third shape has 884 values a channel, more than a
 * block's 256 threads (each thread sums several, the tree the rest), and trains with a
 * frozen beta (BNNeck: beta and dbeta NULL) where there is no ReLU. */
static void test_batchnorm(void)
{
	for (int si = 0; si < 3; si++)
		for (int relu = 0; relu < 2; relu++) {
			struct drop_bn_desc d = bn_shapes[si];
			d.relu = relu;
			int C = d.c;
			size_t n = (size_t)d.n * d.c * d.h * d.w;
			bool frozen = si == 2 && !relu; /* bn_relu_bwd needs beta */
			float *x = randv(n, 40), *dy = randv(n, 41), *ga = randv(C, 42), *be = randv(C, 43);
			float rm[16], rv[16], sm[16], si_[16], y[n], dx[n], dg[16], db[16];
			for (int c = 0; c < C; c++)
				rm[c] = 0.1f * c, rv[c] = 1.0f + 0.2f * c;
			float *grm = dev_from(rm, C), *grv = dev_from(rv, C);
			drop_bn_fwd_train_cpu(&d, x, ga, frozen ? NULL : be, rm, rv, y, sm, si_);
			float *gx = dev_from(x, n), *gga = dev_from(ga, C), *gbe = dev_from(be, C);
			float *gy = dev_from(NULL, n), *gsm = dev_from(NULL, C), *gsi = dev_from(NULL, C);
			const float *bep = frozen ? NULL : be, *gbep = frozen ? NULL : gbe;
			gpu->bn_fwd_train(&d, gx, gga, gbep, grm, grv, gy, gsm, gsi);
			char what[80];
			snprintf(what, sizeof what, "bn %s%s%s train y", si == 1 ? "1-D" : "2-D",
			         relu ? "+relu" : "", frozen ? " frozen beta" : "");
			float *hy = dev_back(gy, n, what);
			compare_f(what, hy, y, n, 1e-5, 1e-5);
			float *h = dev_back(grm, C, "bn running mean");
			compare_f("bn running mean", h, rm, C, 1e-6, 1e-6);
			free(h);
			h = dev_back(grv, C, "bn running var");
			compare_f("bn running var", h, rv, C, 1e-6, 1e-6);
			free(h);
			/* eval with the saved statistics: the training forward's bits */
			struct drop_bn_desc e = d;
			e.saved = true;
			float *ge = dev_from(NULL, n);
			gpu->bn_fwd_eval(&e, gx, gga, gbep, gsm, gsi, ge);
			float *he = dev_back(ge, n, "bn saved eval");
			CHECK(!memcmp(he, hy, n * sizeof *he), "bn saved eval: the training forward's bits");
			free(he);
			/* eval with running statistics, frozen beta */
			e.saved = false;
			float *ye = drop_malloc(n * sizeof *ye);
			drop_bn_fwd_eval_cpu(&e, x, ga, NULL, rm, rv, ye);
			float *grm2 = dev_from(rm, C), *grv2 = dev_from(rv, C);
			ge = dev_from(NULL, n);
			gpu->bn_fwd_eval(&e, gx, gga, NULL, grm2, grv2, ge);
			he = dev_back(ge, n, "bn eval");
			compare_f("bn eval (running statistics, frozen beta)", he, ye, n, 1e-6, 1e-6);
			free(he), free(ye), gpu->free(grm2), gpu->free(grv2);
			/* backward (with the fused ReLU when relu) */
			float *gdy = dev_from(dy, n), *gdx = dev_from(NULL, n), *gdg = dev_from(NULL, C),
			      *gdb = dev_from(NULL, C);
			float *gsm_h = dev_back(gsm, C, "bn save mean"), *gsi_h = dev_back(gsi, C, "bn save invstd");
			compare_f("bn save_mean", gsm_h, sm, C, 1e-6, 1e-6);
			compare_f("bn save_invstd", gsi_h, si_, C, 1e-6, 1e-5);
			float *csm = dev_from(sm, C), *csi = dev_from(si_, C); /* the CPU's statistics */
			if (relu) {
				drop_bn_relu_bwd_cpu(&d, x, dy, ga, be, sm, si_, dx, dg, db);
				gpu->bn_relu_bwd(&d, gx, gdy, gga, gbe, csm, csi, gdx, gdg, gdb);
			} else {
				drop_bn_bwd_cpu(&d, x, dy, ga, sm, si_, dx, dg, frozen ? NULL : db);
				gpu->bn_bwd(&d, gx, gdy, gga, csm, csi, gdx, gdg, frozen ? NULL : gdb);
			}
			snprintf(what, sizeof what, "bn %s%s%s bwd dx", si == 1 ? "1-D" : "2-D",
			         relu ? "+relu" : "", frozen ? " frozen beta" : "");
			h = dev_back(gdx, n, what);
			compare_f(what, h, dx, n, 1e-5, 1e-5);
			free(h);
			h = dev_back(gdg, C, "bn dgamma");
			compare_f("bn dgamma", h, dg, C, 1e-5, 1e-5);
			free(h);
			h = dev_back(gdb, C, "bn dbeta");
			if (!frozen)
				compare_f("bn dbeta", h, db, C, 1e-5, 1e-5);
			free(h);
			/* bf16 output */
			struct drop_bn_desc b16 = d;
			b16.y_bf16 = true;
			uint16_t *y16 = drop_malloc(n * sizeof *y16), *g16 = drop_malloc(n * sizeof *g16);
			drop_bn_fwd_eval_cpu(&(struct drop_bn_desc){ .n = d.n, .c = d.c, .h = d.h,
			                     .w = d.w, .eps = d.eps, .relu = d.relu, .saved = true,
			                     .y_bf16 = true }, x, ga, bep, sm, si_, (float *)y16);
			uint16_t *gy16 = gpu->alloc(n * sizeof *gy16);
			b16.saved = true;
			gpu->bn_fwd_eval(&b16, gx, gga, gbep, csm, csi, (float *)gy16);
			gpu->sync();
			gpu->to_host(g16, gy16, n * sizeof *g16);
			gpu->free(gy16);
			float *w16 = drop_malloc(n * sizeof *w16), *c16 = drop_malloc(n * sizeof *c16);
			for (size_t i = 0; i < n; i++)
				w16[i] = drop_bf16_to_f(g16[i]), c16[i] = drop_bf16_to_f(y16[i]);
			compare_f("bn bf16 output (the CPU's statistics): cuda = cpu", w16, c16, n, 0, 0);
			free(w16), free(c16), free(y16), free(g16), free(hy), free(gsm_h), free(gsi_h);
			gpu->free(csm), gpu->free(csi), gpu->free(gx), gpu->free(gga), gpu->free(gbe);
			gpu->free(gdy), free(x), free(dy), free(ga), free(be);
		}
}

/* The ops of --sync-bn (bn_sync.cu) against the CPU's (kernels/cpu/bn_sync.c) on
 * test_batchnorm's shapes, with and without the fused ReLU, and a frozen beta (BNNeck)
 * on the third. bn_stats and bn_bwd_stats sum in double in a tree, in another order than
 * the CPU's serial sums: within 1e-9 + 1e-12 |ref| (at most 884 terms under 30 in size:
 * the rounding bound n eps sum |terms| stays under 3e-9, the typical error near 1e-13);
 * their float dgamma and dbeta within 1e-6 + 1e-6 |ref| (a rounding of nearly equal
 * doubles). bn_fwd_sync and bn_bwd_sync given the CPU's sums compute the CPU's float
 * expressions: the same values (0 tolerance). The batch is then cut in two parts as two
 * processes hold it: the parts' sums added are the whole batch's (the tolerance above),
 * and the second part normalised and differentiated with the whole batch's sums and
 * count is the CPU's slice of the whole (0 tolerance). The sums are device memory (ops.h),
 * copied to and from the host here. */
static double *sums_up(double *dev, const double *h, int n)
{
	gpu->to_device(dev, h, (size_t)n * sizeof *h);
	return dev;
}

static void sums_down(double *h, const double *dev, int n)
{
	gpu->sync();
	gpu->to_host(h, dev, (size_t)n * sizeof *h);
}

static void test_bn_sync(void)
{
	for (int si = 0; si < 3; si++)
		for (int relu = 0; relu < 2; relu++) {
			struct drop_bn_desc d = bn_shapes[si], p0, p1;
			d.relu = relu;
			int C = d.c;
			size_t hw = (size_t)d.h * d.w, n = (size_t)d.n * C * hw;
			bool frozen = si == 2 && !relu;
			double count = (double)d.n * hw;
			p0 = d, p1 = d;
			p0.n = d.n / 2, p1.n = d.n - p0.n;
			size_t off = (size_t)p0.n * C * hw, n1 = n - off;
			float *x = randv(n, 50), *dy = randv(n, 51), *ga = randv(C, 52), *be = randv(C, 53);
			const float *bep = frozen ? NULL : be;
			char tag[40], what[120];
			snprintf(tag, sizeof tag, "%s%s%s", si == 1 ? "1-D" : "2-D", relu ? "+relu" : "",
			         frozen ? " frozen beta" : "");
			float *gx = dev_from(x, n), *gdy = dev_from(dy, n), *gga = dev_from(ga, C),
			      *gbe = dev_from(be, C);
			const float *gbep = frozen ? NULL : gbe;
			double cs[32], gs[32], s0[32], s1[32], *ds = gpu->alloc(32 * sizeof *ds);

			/* forward sums, whole and in two parts */
			drop_bn_stats_cpu(&d, x, cs);
			gpu->bn_stats(&d, gx, ds);
			sums_down(gs, ds, 2 * C);
			snprintf(what, sizeof what, "bn_stats %s: sums of x and x^2", tag);
			compare_d(what, gs, cs, 2 * C, 1e-9, 1e-12);
			gpu->bn_stats(&p0, gx, ds);
			sums_down(s0, ds, 2 * C);
			gpu->bn_stats(&p1, gx + off, ds);
			sums_down(s1, ds, 2 * C);
			for (int i = 0; i < 2 * C; i++)
				gs[i] = s0[i] + s1[i];
			snprintf(what, sizeof what, "bn_stats %s: two parts' sums added", tag);
			compare_d(what, gs, cs, 2 * C, 1e-9, 1e-12);

			/* forward from the CPU's sums */
			float rm[16], rv[16], sm[16], sd[16], *y = drop_malloc(n * sizeof *y);
			for (int c = 0; c < C; c++)
				rm[c] = 0.1f * c, rv[c] = 1.0f + 0.2f * c;
			float *grm = dev_from(rm, C), *grv = dev_from(rv, C);
			float *grm1 = dev_from(rm, C), *grv1 = dev_from(rv, C);
			drop_bn_fwd_sync_cpu(&d, x, cs, count, ga, bep, rm, rv, y, sm, sd);
			float *gy = dev_from(NULL, n), *gsm = dev_from(NULL, C), *gsd = dev_from(NULL, C);
			gpu->bn_fwd_sync(&d, gx, sums_up(ds, cs, 2 * C), count, gga, gbep, grm, grv, gy, gsm, gsd);
			float *gy1 = dev_from(NULL, n1), *gsm1 = dev_from(NULL, C),
			      *gsd1 = dev_from(NULL, C);
			gpu->bn_fwd_sync(&p1, gx + off, ds, count, gga, gbep, grm1, grv1, gy1, gsm1,
			                 gsd1);
			struct { float *dev, *ref; size_t n; const char *name; } fw[] = {
				{ gy, y, n, "y" },
				{ grm, rm, C, "running mean" },
				{ grv, rv, C, "running var" },
				{ gsm, sm, C, "save_mean" },
				{ gsd, sd, C, "save_invstd" },
				{ gy1, y + off, n1, "second part's y" },
				{ grm1, rm, C, "second part's running mean" },
				{ grv1, rv, C, "second part's running var" },
				{ gsm1, sm, C, "second part's save_mean" },
				{ gsd1, sd, C, "second part's save_invstd" },
			};
			for (size_t k = 0; k < sizeof fw / sizeof fw[0]; k++) {
				snprintf(what, sizeof what, "bn_fwd_sync %s: %s", tag, fw[k].name);
				float *h = dev_back(fw[k].dev, fw[k].n, what);
				compare_f(what, h, fw[k].ref, fw[k].n, 0, 0);
				free(h);
			}

			/* backward sums (the CPU's statistics), whole and in two parts */
			double cb[32], gb[32];
			float dg[16], db[16];
			drop_bn_bwd_stats_cpu(&d, x, dy, ga, bep, sm, sd, cb, dg, frozen ? NULL : db);
			float mark[16];
			for (int c = 0; c < C; c++)
				mark[c] = 7.5f;
			float *csm = dev_from(sm, C), *csd = dev_from(sd, C), *gdg = dev_from(NULL, C),
			      *gdb = dev_from(mark, C);
			gpu->bn_bwd_stats(&d, gx, gdy, gga, gbep, csm, csd, ds, gdg, frozen ? NULL : gdb);
			sums_down(gb, ds, 2 * C);
			snprintf(what, sizeof what, "bn_bwd_stats %s: sums of dy and dy xhat", tag);
			compare_d(what, gb, cb, 2 * C, 1e-9, 1e-12);
			snprintf(what, sizeof what, "bn_bwd_stats %s: dgamma", tag);
			float *h = dev_back(gdg, C, what);
			compare_f(what, h, dg, C, 1e-6, 1e-6);
			free(h);
			snprintf(what, sizeof what, "bn_bwd_stats %s: dbeta", tag);
			h = dev_back(gdb, C, what);
			if (frozen)
				snprintf(what, sizeof what, "bn_bwd_stats %s: dbeta left as it was", tag);
			compare_f(what, h, frozen ? mark : db, C, frozen ? 0 : 1e-6, frozen ? 0 : 1e-6);
			free(h);
			float *gdg1 = dev_from(NULL, C);
			gpu->bn_bwd_stats(&p0, gx, gdy, gga, gbep, csm, csd, ds, gdg1, NULL);
			sums_down(s0, ds, 2 * C);
			gpu->bn_bwd_stats(&p1, gx + off, gdy + off, gga, gbep, csm, csd, ds, gdg1, NULL);
			sums_down(s1, ds, 2 * C);
			gpu->free(gdg1);
			for (int i = 0; i < 2 * C; i++)
				gb[i] = s0[i] + s1[i];
			snprintf(what, sizeof what, "bn_bwd_stats %s: two parts' sums added", tag);
			compare_d(what, gb, cb, 2 * C, 1e-9, 1e-12);

			/* dx from the CPU's backward sums, whole and the second part */
			float *dx = drop_malloc(n * sizeof *dx);
			drop_bn_bwd_sync_cpu(&d, x, dy, ga, bep, sm, sd, cb, count, dx);
			float *gdx = dev_from(NULL, n), *gdx1 = dev_from(NULL, n1);
			gpu->bn_bwd_sync(&d, gx, gdy, gga, gbep, csm, csd, sums_up(ds, cb, 2 * C), count,
			                 gdx);
			gpu->bn_bwd_sync(&p1, gx + off, gdy + off, gga, gbep, csm, csd, ds, count, gdx1);
			snprintf(what, sizeof what, "bn_bwd_sync %s: dx", tag);
			h = dev_back(gdx, n, what);
			compare_f(what, h, dx, n, 0, 0);
			free(h);
			snprintf(what, sizeof what, "bn_bwd_sync %s: second part's dx", tag);
			h = dev_back(gdx1, n1, what);
			compare_f(what, h, dx + off, n1, 0, 0);
			free(h);

			gpu->free(gx), gpu->free(gdy), gpu->free(gga), gpu->free(gbe);
			gpu->free(csm), gpu->free(csd), gpu->free(ds);
			free(x), free(dy), free(ga), free(be), free(y), free(dx);
		}
}

/* Resampling: the CPU's taps and float expressions, and a gather in the scatter's order:
 * the same bits (0 tolerance), nearest x2 and bilinear up and down with both
 * align_corners, nearest and bilinear into a channel slice of a wider buffer (ctot: the
 * other channels stay zero, the backward reads the slice). */
static void test_resample(void)
{
	struct drop_resample_desc cases[6] = {
		{ 2, 3, 4, 5, 8, 10, DROP_PLAIN, DROP_NEAREST, false, 0 },
		{ 2, 3, 4, 5, 9, 13, DROP_PLAIN, DROP_BILINEAR, false, 0 },
		{ 2, 3, 4, 5, 9, 13, DROP_PLAIN, DROP_BILINEAR, true, 0 },
		{ 2, 3, 9, 11, 4, 5, DROP_PLAIN, DROP_BILINEAR, false, 0 },
		{ 2, 3, 4, 5, 16, 20, DROP_PLAIN, DROP_NEAREST, false, 7 },
		{ 2, 3, 4, 5, 9, 13, DROP_PLAIN, DROP_BILINEAR, true, 8 },
	};
	for (int ci = 0; ci < 6; ci++) {
		const struct drop_resample_desc *d = &cases[ci];
		int ct = d->ctot ? d->ctot : d->c;
		size_t nx = (size_t)d->n * d->c * d->h * d->w, ny = (size_t)d->n * ct * d->ho * d->wo;
		float *x = randv(nx, 50), *dy = randv(ny, 51);
		float *y = drop_calloc(ny, sizeof *y), *dx = drop_malloc(nx * sizeof *dx);
		drop_resample_fwd_cpu(d, x, y);
		drop_resample_bwd_cpu(d, dy, dx);
		float *gx = dev_from(x, nx), *gdy = dev_from(dy, ny), *gdx = dev_from(NULL, nx);
		float *zero = drop_calloc(ny, sizeof *zero), *gy = dev_from(zero, ny);
		gpu->resample_fwd(d, gx, gy);
		gpu->resample_bwd(d, gdy, gdx);
		char what[96];
		snprintf(what, sizeof what, "resample %s%s %dx%d -> %dx%d%s fwd",
		         d->mode == DROP_NEAREST ? "nearest" : "bilinear",
		         d->align_corners ? " align_corners" : "", d->h, d->w, d->ho, d->wo,
		         d->ctot ? " (slice)" : "");
		float *g = dev_back(gy, ny, what);
		compare_f(what, g, y, ny, 0, 0);
		free(g);
		snprintf(what + strlen(what) - 3, 4, "bwd");
		g = dev_back(gdx, nx, what);
		compare_f(what, g, dx, nx, 0, 0);
		free(g), free(zero), gpu->free(gx), gpu->free(gdy), free(x), free(dy), free(y), free(dx);
	}
}

/* Global pooling: the average is a double sum in another order (atol 1e-6, rtol 1e-6);
 * the maximum and its pixel exactly, on values with ties (the first pixel wins); the
 * backward overwrites and accumulates exactly as the CPU. */
static void test_pool(void)
{
	struct drop_pool_desc d = { 3, 5, 17, 19, DROP_PLAIN, 0, false };
	size_t hw = (size_t)d.h * d.w, nx = (size_t)d.n * d.c * hw, nv = (size_t)d.n * d.c;
	float *x = quantised(nx, 60), *davg = randv(nv, 61), *dmax = randv(nv, 62);
	float avg[15], mx[15];
	int am[15];
	drop_pool_global_fwd_cpu(&d, x, avg, mx, am);
	float *gx = dev_from(x, nx), *gavg = dev_from(NULL, nv), *gmx = dev_from(NULL, nv);
	int *gam = gpu->alloc(nv * sizeof *gam);
	gpu->pool_global_fwd(&d, gx, gavg, gmx, gam);
	float *g = dev_back(gavg, nv, "pool avg");
	compare_f("global avg pool: cuda = cpu", g, avg, nv, 1e-6, 1e-6);
	free(g);
	g = dev_back(gmx, nv, "pool max");
	compare_f("global max pool: cuda = cpu", g, mx, nv, 0, 0);
	free(g);
	int *ham = ints_back(gam, nv);
	CHECK(!memcmp(ham, am, nv * sizeof *am), "global max pool: the first pixel of the ties");
	free(ham);
	/* either output alone (the other NULL): the same values */
	gavg = dev_from(NULL, nv);
	gpu->pool_global_fwd(&d, gx, gavg, NULL, NULL);
	g = dev_back(gavg, nv, "pool avg alone");
	compare_f("global avg pool alone (max NULL)", g, avg, nv, 1e-6, 1e-6);
	free(g);
	gmx = dev_from(NULL, nv);
	gam = gpu->alloc(nv * sizeof *gam);
	gpu->pool_global_fwd(&d, gx, NULL, gmx, gam);
	g = dev_back(gmx, nv, "pool max alone");
	compare_f("global max pool alone (avg NULL)", g, mx, nv, 0, 0);
	free(g);
	ham = ints_back(gam, nv);
	CHECK(!memcmp(ham, am, nv * sizeof *am), "global max pool alone: the same pixels");
	float *dx = randv(nx, 63);
	float *gdx = dev_from(dx, nx), *gdavg = dev_from(davg, nv), *gdmax = dev_from(dmax, nv);
	int *gam2 = dev_copy(am, nv * sizeof *am);
	for (int acc = 0; acc < 2; acc++) {
		d.accumulate = acc;
		drop_pool_global_bwd_cpu(&d, davg, dmax, am, dx);
		gpu->pool_global_bwd(&d, gdavg, gdmax, gam2, gdx);
	}
	g = dev_back(gdx, nx, "pool bwd");
	compare_f("global pool bwd, overwrite then accumulate: cuda = cpu", g, dx, nx, 0, 0);
	free(g), free(ham), gpu->free(gx), gpu->free(gdavg), gpu->free(gdmax), gpu->free(gam2);
	free(x), free(davg), free(dmax), free(dx);
}

/* WAMP: the weighted sums and masses are double sums in another order: e, dx and dm within
 * atol 1e-5, rtol 1e-5; the maxima's pixels exactly (quantised features, ties). One map
 * is all zero (the 1e-6 floor). The second shape has 285 pixels, more than a block's 256
 * threads. The backward also runs for dx alone (x and dm NULL, as ops.h allows) and dm
 * alone (dx NULL). */
static void test_wamp_shape(struct drop_pool_desc d)
{
	size_t hw = (size_t)d.h * d.w, nx = (size_t)d.n * d.c * hw, nm = (size_t)d.n * d.k1 * hw;
	size_t ne = (size_t)d.n * d.k1 * d.c;
	float *x = quantised(nx, 70), *m = drop_malloc(nm * sizeof *m), *de = randv(ne, 72);
	drop_rand_uniform_cpu(1, 71, 0, nm, m);
	for (size_t i = 0; i < hw; i++)
		m[hw + i] = 0.0f; /* image 0, map 1 */
	float *e = drop_malloc(ne * sizeof *e), *dx = drop_malloc(nx * sizeof *dx),
	      *dm = drop_malloc(nm * sizeof *dm);
	int *am = drop_malloc(ne * sizeof *am);
	drop_wamp_fwd_cpu(&d, x, m, e, am);
	drop_wamp_bwd_cpu(&d, x, m, am, de, dx, dm);
	float *gx = dev_from(x, nx), *gm = dev_from(m, nm), *ge = dev_from(NULL, ne), *gde = dev_from(de, ne);
	int *gam = gpu->alloc(ne * sizeof *gam);
	gpu->wamp_fwd(&d, gx, gm, ge, gam);
	float *g = dev_back(ge, ne, "wamp e");
	compare_f("wamp fwd: cuda = cpu", g, e, ne, 1e-5, 1e-5);
	free(g);
	int *ham = ints_back(gam, ne);
	CHECK(!memcmp(ham, am, ne * sizeof *am), "wamp fwd: the same argmax (first pixel of ties)");
	int *gam2 = dev_copy(am, ne * sizeof *am);
	float *gdx = dev_from(NULL, nx), *gdm = dev_from(NULL, nm);
	gpu->wamp_bwd(&d, gx, gm, gam2, gde, gdx, gdm);
	g = dev_back(gdx, nx, "wamp dx");
	compare_f("wamp bwd dx: cuda = cpu", g, dx, nx, 1e-5, 1e-5);
	free(g);
	g = dev_back(gdm, nm, "wamp dm");
	compare_f("wamp bwd dm: cuda = cpu", g, dm, nm, 1e-5, 1e-5);
	free(g);
	gdx = dev_from(NULL, nx);
	gpu->wamp_bwd(&d, NULL, gm, gam2, gde, gdx, NULL);
	g = dev_back(gdx, nx, "wamp dx alone");
	compare_f("wamp bwd dx alone (x, dm NULL): cuda = cpu", g, dx, nx, 1e-5, 1e-5);
	free(g);
	gdm = dev_from(NULL, nm);
	gpu->wamp_bwd(&d, gx, gm, gam2, gde, NULL, gdm);
	g = dev_back(gdm, nm, "wamp dm alone");
	compare_f("wamp bwd dm alone (dx NULL): cuda = cpu", g, dm, nm, 1e-5, 1e-5);
	free(g), free(ham), gpu->free(gx), gpu->free(gm), gpu->free(gde), gpu->free(gam2);
	free(x), free(m), free(de), free(e), free(dx), free(dm), free(am);
}

static void test_wamp(void)
{
	test_wamp_shape((struct drop_pool_desc){ 2, 6, 9, 7, DROP_PLAIN, 4, false });
	test_wamp_shape((struct drop_pool_desc){ 2, 5, 19, 15, DROP_PLAIN, 3, false });
}

/* Softmax, channel max, L2 norm: the CPU's loop per pixel or row, in its order: the same
 * bits (0 tolerance); channel max on quantised values (ties: the first channel). */
static void test_softmax_family(void)
{
	enum { N = 3, K = 6, HW = 37, D = 33 };
	size_t n = (size_t)N * K * HW, np = (size_t)N * HW, nr = (size_t)N * D;
	float *x = randv(n, 80), *dy = randv(n, 81), *y = drop_malloc(n * sizeof *y),
	      *dx = drop_malloc(n * sizeof *dx);
	drop_softmax_fwd_cpu(N, K, HW, x, y);
	drop_softmax_bwd_cpu(N, K, HW, y, dy, dx);
	float *gx = dev_from(x, n), *gy = dev_from(NULL, n), *gdy = dev_from(dy, n);
	gpu->softmax_fwd(N, K, HW, gx, gy);
	float *gys = dev_from(y, n);
	gpu->softmax_bwd(N, K, HW, gys, gdy, gdy); /* dx aliasing dy, as ops.h allows */
	float *g = dev_back(gy, n, "softmax fwd");
	compare_f("softmax fwd: cuda = cpu", g, y, n, 0, 0);
	free(g);
	g = dev_back(gdy, n, "softmax bwd");
	compare_f("softmax bwd (dx aliasing dy): cuda = cpu", g, dx, n, 0, 0);
	free(g), gpu->free(gx), gpu->free(gys);

	float *q = quantised(n, 82), *cm = drop_malloc(np * sizeof *cm), *dq = randv(np, 83);
	int *am = drop_malloc(np * sizeof *am);
	drop_chanmax_fwd_cpu(N, K, HW, 1, q, cm, am);
	drop_chanmax_bwd_cpu(N, K, HW, am, dq, dx);
	float *gq = dev_from(q, n), *gcm = dev_from(NULL, np), *gdq = dev_from(dq, np), *gdx = dev_from(NULL, n);
	int *gam = gpu->alloc(np * sizeof *gam);
	gpu->chanmax_fwd(N, K, HW, 1, gq, gcm, gam);
	g = dev_back(gcm, np, "chanmax");
	compare_f("chanmax fwd: cuda = cpu", g, cm, np, 0, 0);
	free(g);
	int *gam2 = dev_copy(am, np * sizeof *am);
	gpu->chanmax_bwd(N, K, HW, gam2, gdq, gdx);
	int *ham = ints_back(gam, np);
	CHECK(!memcmp(ham, am, np * sizeof *am), "chanmax: the first channel of the ties");
	g = dev_back(gdx, n, "chanmax bwd");
	compare_f("chanmax bwd: cuda = cpu", g, dx, n, 0, 0);
	free(g), free(ham), gpu->free(gq), gpu->free(gdq), gpu->free(gam2), free(q), free(cm), free(dq), free(am);

	float *r = randv(nr, 84), *dr = randv(nr, 85), *ry = drop_malloc(nr * sizeof *ry),
	      *rdx = drop_malloc(nr * sizeof *rdx);
	for (int j = 0; j < D; j++)
		r[j] = 0.0f; /* a zero row: the 1e-12 floor */
	drop_l2norm_fwd_cpu(N, D, r, ry);
	drop_l2norm_bwd_cpu(N, D, r, dr, rdx);
	float *gr = dev_from(r, nr), *gdr = dev_from(dr, nr), *gry = dev_from(NULL, nr), *grdx = dev_from(NULL, nr);
	gpu->l2norm_fwd(N, D, gr, gry);
	gpu->l2norm_bwd(N, D, gr, gdr, grdx);
	g = dev_back(gry, nr, "l2norm fwd");
	compare_f("l2norm fwd (a zero row): cuda = cpu", g, ry, nr, 0, 0);
	free(g);
	g = dev_back(grdx, nr, "l2norm bwd");
	compare_f("l2norm bwd: cuda = cpu", g, rdx, nr, 0, 0);
	free(g), gpu->free(gr), gpu->free(gdr), free(r), free(dr), free(ry), free(rdx);
	free(x), free(dy), free(y), free(dx);
}

/* Pairwise distances: the CPU's 16-lane sums and its row order: the same bits; one pair
 * at distance 0 (gradient 0 there). */
static void test_pdist(void)
{
	enum { N = 7, M = 9, D = 37 };
	float *x = randv(N * D, 90), *y = randv(M * D, 91), *dd = randv(N * M, 92);
	memcpy(y + 2 * D, x + 3 * D, D * sizeof *x);
	float d[N * M], dx[N * D], dy[M * D];
	drop_pdist_fwd_cpu(N, M, D, x, y, d);
	drop_pdist_bwd_cpu(N, M, D, x, y, d, dd, dx, dy);
	float *gx = dev_from(x, N * D), *gy = dev_from(y, M * D), *gd = dev_from(NULL, N * M),
	      *gdd = dev_from(dd, N * M), *gdx = dev_from(NULL, N * D), *gdy = dev_from(NULL, M * D);
	gpu->pdist_fwd(N, M, D, gx, gy, gd);
	gpu->pdist_bwd(N, M, D, gx, gy, gd, gdd, gdx, gdy);
	float *g = dev_back(gd, N * M, "pdist");
	compare_f("pdist fwd: cuda = cpu", g, d, N * M, 0, 0);
	free(g);
	g = dev_back(gdx, N * D, "pdist dx");
	compare_f("pdist bwd dx: cuda = cpu", g, dx, N * D, 0, 0);
	free(g);
	g = dev_back(gdy, M * D, "pdist dy");
	compare_f("pdist bwd dy: cuda = cpu", g, dy, M * D, 0, 0);
	free(g);
	/* either gradient alone (the other NULL) */
	gd = dev_from(d, N * M), gdx = dev_from(NULL, N * D), gdy = dev_from(NULL, M * D);
	gpu->pdist_bwd(N, M, D, gx, gy, gd, gdd, gdx, NULL);
	gpu->pdist_bwd(N, M, D, gx, gy, gd, gdd, NULL, gdy);
	g = dev_back(gdx, N * D, "pdist dx alone");
	compare_f("pdist bwd dx alone (dy NULL): cuda = cpu", g, dx, N * D, 0, 0);
	free(g);
	g = dev_back(gdy, M * D, "pdist dy alone");
	compare_f("pdist bwd dy alone (dx NULL): cuda = cpu", g, dy, M * D, 0, 0);
	free(g), gpu->free(gd), gpu->free(gx), gpu->free(gy), gpu->free(gdd);
	free(x), free(y), free(dd);
}

/* Max pooling 3x3 stride 2 pad 1 (ResNet's stem) and 2x2 stride 2, on quantised values
 * (ties: the first in window order): the same values, pixels and gathered gradients. */
static void test_maxpool(void)
{
	struct drop_maxpool_desc cases[2] = { { 2, 3, 11, 9, 3, 2, 1, DROP_PLAIN },
	                                      { 2, 3, 8, 6, 2, 2, 0, DROP_PLAIN } };
	for (int ci = 0; ci < 2; ci++) {
		const struct drop_maxpool_desc *d = &cases[ci];
		int ho = drop_conv2d_out(d->h, d->k, d->stride, d->pad);
		int wo = drop_conv2d_out(d->w, d->k, d->stride, d->pad);
		size_t nx = (size_t)d->n * d->c * d->h * d->w, ny = (size_t)d->n * d->c * ho * wo;
		float *x = quantised(nx, 100), *dy = randv(ny, 101), *y = drop_malloc(ny * sizeof *y),
		      *dx = drop_malloc(nx * sizeof *dx);
		int *am = drop_malloc(ny * sizeof *am);
		drop_maxpool_fwd_cpu(d, x, y, am);
		drop_maxpool_bwd_cpu(d, dy, am, dx);
		float *gx = dev_from(x, nx), *gy = dev_from(NULL, ny), *gdy = dev_from(dy, ny),
		      *gdx = dev_from(NULL, nx);
		int *gam = gpu->alloc(ny * sizeof *gam);
		gpu->maxpool_fwd(d, gx, gy, gam);
		gpu->maxpool_bwd(d, gdy, gam, gdx);
		char what[64];
		snprintf(what, sizeof what, "maxpool %dx%d s%d fwd", d->k, d->k, d->stride);
		float *g = dev_back(gy, ny, what);
		compare_f(what, g, y, ny, 0, 0);
		free(g);
		int *ham = ints_back(gam, ny);
		CHECK(!memcmp(ham, am, ny * sizeof *am), "%s: the same argmax", what);
		snprintf(what, sizeof what, "maxpool %dx%d s%d bwd", d->k, d->k, d->stride);
		g = dev_back(gdx, nx, what);
		compare_f(what, g, dx, nx, 0, 0);
		free(g), free(ham), gpu->free(gx), gpu->free(gdy), free(x), free(dy), free(y), free(dx), free(am);
	}
}

/* set_tf32: with TF32 allowed a convolution stays within TF32's rounding of the strict
 * result: each operand rounded or truncated to a 10-bit mantissa (relative error at most
 * 2^-10 each, so 2^-9 a product) and float sums in another order, so per output
 * |tf32 - strict| <= 2.5e-3 S + 1e-6 with S = sum |x| |w| over its 45 terms (the
 * convolution of |x| and |w|, on the CPU); switched off again, the strict bits come
 * back. */
static void test_tf32(void)
{
	struct drop_conv2d_desc d = { 2, 5, 9, 7, 6, 3, 1, 1, false, DROP_PLAIN, false,
	                              DROP_CONV_DIRECT, false, false, 0 };
	size_t nx = (size_t)2 * 5 * 9 * 7, ny = (size_t)2 * 6 * 9 * 7, nw = (size_t)6 * 5 * 9;
	float *x = randv(nx, 110), *w = randv(nw, 111);
	float *ax = drop_malloc(nx * sizeof *ax), *aw = drop_malloc(nw * sizeof *aw);
	for (size_t i = 0; i < nx; i++)
		ax[i] = fabsf(x[i]);
	for (size_t i = 0; i < nw; i++)
		aw[i] = fabsf(w[i]);
	struct drop_tensor cx = tensor_from(ax, 2, 5, 9, 7, DROP_PLAIN);
	struct drop_tensor cw = tensor_from(aw, 6, 5, 3, 3, DROP_PLAIN);
	struct drop_tensor cs = tensor_from(NULL, 2, 6, 9, 7, DROP_BLOCKED);
	drop_conv2d_fwd_cpu(&d, &cx, &cw, NULL, &cs);
	float *sum_abs = tensor_plain(&cs);
	struct drop_tensor gx = dev_tensor(x, 2, 5, 9, 7), gw = dev_tensor(w, 6, 5, 3, 3);
	struct drop_tensor y0 = dev_tensor(NULL, 2, 6, 9, 7), y1 = y0, y2 = y0;
	y1.data = dev_from(NULL, ny), y2.data = dev_from(NULL, ny);
	gpu->conv2d_fwd(&d, &gx, &gw, NULL, &y0);
	gpu->set_tf32(true);
	gpu->conv2d_fwd(&d, &gx, &gw, NULL, &y1);
	gpu->set_tf32(false);
	gpu->conv2d_fwd(&d, &gx, &gw, NULL, &y2);
	float *h0 = dev_back(y0.data, ny, "tf32 off"), *h1 = dev_back(y1.data, ny, "tf32 on"),
	      *h2 = dev_back(y2.data, ny, "tf32 off again");
	size_t bad = 0;
	for (size_t i = 0; i < ny; i++)
		if (!(fabs((double)h1[i] - h0[i]) <= 2.5e-3 * sum_abs[i] + 1e-6) && bad++ < 3)
			printf("#   tf32[%zu]: %.9g, strict %.9g, sum |terms| %.9g\n", i, h1[i], h0[i],
			       sum_abs[i]);
	CHECK(bad == 0, "conv2d with TF32 allowed: within TF32 rounding of each output (%zu off)",
	      bad);
	CHECK(!memcmp(h0, h2, ny * sizeof *h0), "TF32 off again: the strict bits");
	free(h0), free(h1), free(h2), gpu->free(gx.data), gpu->free(gw.data), free(x), free(w);
	free(ax), free(aw), free(cx.data), free(cw.data), free(cs.data), free(sum_abs);
}

int main(void)
{
	const char *why;
	gpu = drop_backend_get("cuda", &why);
	if (!gpu) {
		const char *strict = getenv("DROP_TEST_STRICT");
		CHECK(!(strict && !strcmp(strict, "1")), "# SKIP %s", why);
		return tap_done();
	}
	test_eltwise();
	test_bf16();
	test_concat();
	test_losses();
	test_triplet();
	test_adam_rng();
	test_conv2d(false);
	test_conv2d(true);
	test_linear();
	test_batchnorm();
	test_bn_sync();
	test_resample();
	test_pool();
	test_wamp();
	test_softmax_family();
	test_pdist();
	test_maxpool();
	test_tf32();
	gpu->release();
	return tap_done();
}

#else

int main(void)
{
	const char *strict = getenv("DROP_TEST_STRICT");
	CHECK(!(strict && !strcmp(strict, "1")), "# SKIP this build has no CUDA backend");
	return tap_done();
}

#endif

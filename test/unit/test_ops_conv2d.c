/*
 * tests: kernels/cpu/conv2d.c - forward, backward-data and backward-weights of 1x1 and 3x3
 * convolutions, stride 1 and 2, with and without bias, input plain or blocked, against
 * PyTorch (fixtures of scripts/make-fixtures); zero padding lanes; bit-identical repeats;
 * the weights cache (version bump; the shared buffer and kept copies); finite differences
 * of L = sum(r * y); bf16 products within their rounding bound (on a CPU with bf16), and the
 * same bits from the tensors' bf16 copies as from rounding in the call; the fused ReLU
 * and bf16 output of inference, bit for bit.
 * also requires: test/fixtures/ops (committed)
 */
#include "test_ops_util.h"

/* Tolerances. References are float64 results rounded to float32; our float32 sums run over
 * Cin k k <= 81 products of values ~N(0, 1) x N(0, 0.3): errors ~1e-6 of the sum's scale.
 * 2e-5 + 2e-5 |ref| leaves a margin of ~10x over the worst seen, and fails on any indexing
 * or padding mistake (errors of order 1). */
#define ATOL 2e-5
#define RTOL 2e-5

struct conv_case {
	const char *name;
	int n, cin, h, w, cout, k, stride, pad;
	bool bias;
};

static const struct conv_case cases[] = {
	{ "conv2d_k3s1p1_bias", 2, 5, 7, 6, 11, 3, 1, 1, true },
	{ "conv2d_k3s2p1", 2, 5, 7, 6, 11, 3, 2, 1, false },
	{ "conv2d_k1s1p0_bias", 2, 9, 5, 4, 7, 1, 1, 0, true },
	{ "conv2d_k1s2p0", 2, 9, 5, 4, 7, 1, 2, 0, false },
	{ "conv2d_k3s2p1_stem", 2, 3, 9, 8, 17, 3, 2, 1, false },
};

/* L = sum r * y in double, y from a forward pass (r plain, like y's plain view). */
static double loss(const struct drop_conv2d_desc *d, const struct drop_tensor *x,
                   const struct drop_tensor *w, const float *b, struct drop_tensor *y,
                   const float *r)
{
	drop_conv2d_fwd_cpu(d, x, w, b, y);
	float *yp = tensor_plain(y);
	double l = 0;
	for (size_t i = 0; i < drop_tensor_floats(y, 1); i++)
		l += (double)r[i] * yp[i];
	free(yp);
	return l;
}

/* Central differences at a few elements of x and w. The loss is linear in each, so the
 * difference quotient is exact up to float rounding of y (~1e-6 |y|, summed over y):
 * tolerance 2e-3 + 1e-3 |grad|, with step 0.5 to keep rounding small against it. */
static void fd_check(const struct conv_case *c, const struct drop_conv2d_desc *d,
                     struct drop_tensor *x, struct drop_tensor *w, const float *b,
                     struct drop_tensor *y, const float *r, const float *dx, const float *dw)
{
	const double h = 0.5;
	size_t nx = (size_t)c->n * c->cin * c->h * c->w, nw = (size_t)c->cout * c->cin * c->k * c->k;
	int bad = 0;
	for (int t = 0; t < 6; t++) {
		size_t i = (size_t)t * 7919 % nx;
		int n = (int)(i / ((size_t)c->cin * c->h * c->w)), rest = (int)(i % ((size_t)c->cin * c->h * c->w));
		int ch = rest / (c->h * c->w), hh = rest / c->w % c->h, ww = rest % c->w;
		float *px = &x->data[drop_tensor_index(x, drop_cpu_block(), n, ch, hh, ww)];
		float keep = *px;
		*px = keep + (float)h;
		double lp = loss(d, x, w, b, y, r);
		*px = keep - (float)h;
		double lm = loss(d, x, w, b, y, r);
		*px = keep;
		double g = (lp - lm) / (2 * h);
		if (fabs(g - dx[i]) > 2e-3 + 1e-3 * fabs(dx[i])) {
			bad++;
			printf("#   dx[%zu]: finite difference %.7g, backward %.7g\n", i, g, dx[i]);
		}
	}
	for (int t = 0; t < 6; t++) {
		size_t i = (size_t)t * 104729 % nw;
		float keep = w->data[i];
		w->data[i] = keep + (float)h;
		double lp = loss(d, x, w, b, y, r);
		w->data[i] = keep - (float)h;
		double lm = loss(d, x, w, b, y, r);
		w->data[i] = keep;
		double g = (lp - lm) / (2 * h);
		if (fabs(g - dw[i]) > 2e-3 + 1e-3 * fabs(dw[i])) {
			bad++;
			printf("#   dw[%zu]: finite difference %.7g, backward %.7g\n", i, g, dw[i]);
		}
	}
	CHECK(bad == 0, "%s: backward agrees with finite differences at 12 points", c->name);
}

static void run_case(const struct conv_case *c, enum drop_layout layout)
{
	char what[128];
	struct fix fx = fix_load(c->name, "x"), fw = fix_load(c->name, "w"),
	           fy = fix_load(c->name, "y"), fdy = fix_load(c->name, "dy"),
	           fdx = fix_load(c->name, "dx"), fdw = fix_load(c->name, "dw");
	struct fix fb = { 0 }, fdb = { 0 };
	if (c->bias) {
		fb = fix_load(c->name, "b");
		fdb = fix_load(c->name, "db");
	}
	struct drop_conv2d_desc d = { c->n, c->cin, c->h, c->w, c->cout, c->k, c->stride, c->pad,
	                              c->bias, layout, false, DROP_CONV_DIRECT, false, false, 0 };
	int ho = drop_conv2d_out(c->h, c->k, c->stride, c->pad);
	int wo = drop_conv2d_out(c->w, c->k, c->stride, c->pad);
	CHECK(ho == fy.sh[2] && wo == fy.sh[3], "%s: output size %dx%d", c->name, ho, wo);

	struct drop_tensor x = tensor_from(fx.v, c->n, c->cin, c->h, c->w, layout);
	struct drop_tensor w = tensor_from(fw.v, c->cout, c->cin, c->k, c->k, DROP_PLAIN);
	struct drop_tensor y = tensor_from(NULL, c->n, c->cout, ho, wo, DROP_BLOCKED);
	struct drop_tensor dy = tensor_from(fdy.v, c->n, c->cout, ho, wo, DROP_BLOCKED);
	struct drop_tensor dx = tensor_from(NULL, c->n, c->cin, c->h, c->w, layout);
	float *dw = drop_malloc(fdw.n * sizeof *dw), *db = drop_malloc(c->cout * sizeof *db);

	/* Forward. */
	drop_conv2d_fwd_cpu(&d, &x, &w, fb.v, &y);
	float *yp = tensor_plain(&y);
	snprintf(what, sizeof what, "%s (%s input): y", c->name, layout_name(layout));
	compare_f(what, yp, fy.v, fy.n, ATOL, RTOL);
	CHECK(padding_zero(&y), "%s: padding lanes of y are zero", what);

	/* A second call reuses the plan and gives the same bits. */
	drop_conv2d_fwd_cpu(&d, &x, &w, fb.v, &y);
	float *yp2 = tensor_plain(&y);
	CHECK(!memcmp(yp, yp2, fy.n * sizeof *yp), "%s: repeat is bit-identical", what);

	/* Backward data and weights. */
	drop_conv2d_bwd_data_cpu(&d, &dy, &w, &dx);
	float *dxp = tensor_plain(&dx);
	snprintf(what, sizeof what, "%s (%s input): dx", c->name, layout_name(layout));
	compare_f(what, dxp, fdx.v, fdx.n, ATOL, RTOL);
	CHECK(padding_zero(&dx), "%s: padding lanes of dx are zero", what);
	drop_conv2d_bwd_weights_cpu(&d, &x, &dy, dw, c->bias ? db : NULL);
	snprintf(what, sizeof what, "%s (%s input): dw", c->name, layout_name(layout));
	/* dw sums over N Ho Wo <= 84 products more than y does: same tolerance holds. */
	compare_f(what, dw, fdw.v, fdw.n, ATOL, RTOL);
	if (c->bias) {
		snprintf(what, sizeof what, "%s (%s input): db", c->name, layout_name(layout));
		compare_f(what, db, fdb.v, fdb.n, ATOL, RTOL);
	}

	/* Weights cache: version 1 caches; new values with version 2 are seen. */
	d.bias = false;
	w.version = 1;
	drop_conv2d_fwd_cpu(&d, &x, &w, NULL, &y);
	for (size_t i = 0; i < fw.n; i++)
		w.data[i] *= 2.0f;
	w.version = 2;
	drop_conv2d_fwd_cpu(&d, &x, &w, NULL, &y);
	float *y2 = tensor_plain(&y);
	int doubled = 1;
	for (size_t i = 0; i < fy.n; i++) {
		double ref = 2.0 * (fy.v[i] - (c->bias ? fb.v[i / (ho * wo) % c->cout] : 0.0f));
		doubled &= fabs(y2[i] - ref) <= 2 * ATOL + RTOL * fabs(ref);
	}
	CHECK(doubled, "%s (%s input): a version bump refreshes the cached weights", c->name,
	      layout_name(layout));
	for (size_t i = 0; i < fw.n; i++)
		w.data[i] = fw.v[i];
	w.version = 0;
	d.bias = c->bias;

	if (layout == DROP_BLOCKED)
		fd_check(c, &d, &x, &w, fb.v, &y, fdy.v, fdx.v, fdw.v);

	free(yp), free(yp2), free(y2), free(dxp), free(dw), free(db);
	free(x.data), free(w.data), free(y.data), free(dy.data), free(dx.data);
	free(fx.v), free(fw.v), free(fy.v), free(fdy.v), free(fdx.v), free(fdw.v);
	free(fb.v), free(fdb.v);
}

/* |v| of n floats (caller frees). */
static float *absf(const float *v, size_t n)
{
	float *a = drop_malloc(n * sizeof *a);
	for (size_t i = 0; i < n; i++)
		a[i] = fabsf(v[i]);
	return a;
}

/* |got - ref| <= 2^-7 bound + 1e-5 per element: each bf16 operand is within 2^-9 of its
 * float value, so each product within ~2^-8 of its own size; bound is the same op on
 * |operands| (float), the sum of the products' sizes. An indexing error is of order 1. */
static void compare_bound(const char *what, const float *got, const float *ref,
                          const float *bound, size_t n)
{
	size_t bad = 0;
	double worst = 0;
	for (size_t i = 0; i < n; i++) {
		double lim = bound[i] / 128.0 + 1e-5, e = fabs((double)got[i] - ref[i]);
		worst = fmax(worst, e / lim);
		if (e > lim && bad++ < 3)
			printf("#   %s[%zu]: got %.7g, expected %.7g, limit %.3g\n", what, i, got[i],
			       ref[i], lim);
	}
	CHECK(bad == 0, "%s: %zu values within the bf16 bound (worst %.3g of it)", what, n, worst);
}

/* The fixture case with bf16 products: forward, backward-data, backward-weights against the
 * float references, each within compare_bound of the same op on absolute values. */
static void bf16_case(const struct conv_case *c, enum drop_layout layout)
{
	char what[128];
	if (!drop_cpu_bf16()) {
		printf("ok %d - # SKIP %s: no native bf16 on this CPU\n", ++tap_n, c->name);
		return;
	}
	struct fix fx = fix_load(c->name, "x"), fw = fix_load(c->name, "w"),
	           fy = fix_load(c->name, "y"), fdy = fix_load(c->name, "dy"),
	           fdx = fix_load(c->name, "dx"), fdw = fix_load(c->name, "dw");
	struct drop_conv2d_desc d = { c->n, c->cin, c->h, c->w, c->cout, c->k, c->stride, c->pad,
	                              false, layout, true, DROP_CONV_DIRECT, false, false, 0 };
	struct drop_conv2d_desc a = d;
	a.bf16 = false;
	int ho = drop_conv2d_out(c->h, c->k, c->stride, c->pad);
	int wo = drop_conv2d_out(c->w, c->k, c->stride, c->pad);
	float *ax = absf(fx.v, fx.n), *aw = absf(fw.v, fw.n), *ady = absf(fdy.v, fdy.n);
	struct drop_tensor x = tensor_from(fx.v, c->n, c->cin, c->h, c->w, layout),
	                   w = tensor_from(fw.v, c->cout, c->cin, c->k, c->k, DROP_PLAIN),
	                   y = tensor_from(NULL, c->n, c->cout, ho, wo, DROP_BLOCKED),
	                   dy = tensor_from(fdy.v, c->n, c->cout, ho, wo, DROP_BLOCKED),
	                   dx = tensor_from(NULL, c->n, c->cin, c->h, c->w, layout),
	                   tax = tensor_from(ax, c->n, c->cin, c->h, c->w, layout),
	                   taw = tensor_from(aw, c->cout, c->cin, c->k, c->k, DROP_PLAIN),
	                   tady = tensor_from(ady, c->n, c->cout, ho, wo, DROP_BLOCKED);
	float *dw = drop_malloc(fdw.n * sizeof *dw), *bw = drop_malloc(fdw.n * sizeof *bw);

	/* The fixture's y includes its bias: compare y - b with a bias-free forward. */
	drop_conv2d_fwd_cpu(&d, &x, &w, NULL, &y);
	float *got = tensor_plain(&y), *ref = drop_malloc(fy.n * sizeof *ref);
	if (c->bias) {
		struct fix fb = fix_load(c->name, "b");
		for (size_t i = 0; i < fy.n; i++)
			ref[i] = fy.v[i] - fb.v[i / ((size_t)ho * wo) % c->cout];
		free(fb.v);
	} else {
		memcpy(ref, fy.v, fy.n * sizeof *ref);
	}
	drop_conv2d_fwd_cpu(&a, &tax, &taw, NULL, &y);
	float *bound = tensor_plain(&y);
	snprintf(what, sizeof what, "%s (%s input, bf16): y", c->name, layout_name(layout));
	compare_bound(what, got, ref, bound, fy.n);
	free(got), free(bound);

	drop_conv2d_bwd_data_cpu(&d, &dy, &w, &dx);
	got = tensor_plain(&dx);
	drop_conv2d_bwd_data_cpu(&a, &tady, &taw, &dx);
	bound = tensor_plain(&dx);
	snprintf(what, sizeof what, "%s (%s input, bf16): dx", c->name, layout_name(layout));
	compare_bound(what, got, fdx.v, bound, fdx.n);
	CHECK(padding_zero(&dx), "%s: padding lanes of dx are zero", what);
	free(got), free(bound);

	drop_conv2d_bwd_weights_cpu(&d, &x, &dy, dw, NULL);
	drop_conv2d_bwd_weights_cpu(&a, &tax, &tady, bw, NULL);
	snprintf(what, sizeof what, "%s (%s input, bf16): dw", c->name, layout_name(layout));
	compare_bound(what, dw, fdw.v, bw, fdw.n);

	free(ax), free(aw), free(ady), free(dw), free(bw), free(ref);
	free(x.data), free(w.data), free(y.data), free(dy.data), free(dx.data);
	free(tax.data), free(taw.data), free(tady.data);
	free(fx.v), free(fw.v), free(fy.v), free(fdy.v), free(fdx.v), free(fdw.v);
}

/* y, dx (plain) and dw of conv d on x, dy and w (y, dx: scratch tensors of the shapes). */
static void three_passes(const struct drop_conv2d_desc *d, const struct drop_tensor *x,
                         const struct drop_tensor *dy, const struct drop_tensor *w,
                         struct drop_tensor *y, struct drop_tensor *dx, size_t nw, float *out[3])
{
	drop_conv2d_fwd_cpu(d, x, w, NULL, y);
	out[0] = tensor_plain(y);
	drop_conv2d_bwd_data_cpu(d, dy, w, dx);
	out[1] = tensor_plain(dx);
	out[2] = drop_malloc(nw * sizeof(float));
	drop_conv2d_bwd_weights_cpu(d, x, dy, out[2], NULL);
}

/* bf16 copies (drop_tensor.bf16 from drop_to_bf16_cpu): forward, backward-data and
 * backward-weights read them instead of rounding x and dy themselves, with the float data
 * gone, and give the same bits as the calls that round (oneDNN's reorder): to_bf16 rounds
 * as the reorder does. */
static void bf16_copies_case(const struct conv_case *c, enum drop_layout layout)
{
	char what[128];
	if (!drop_cpu_bf16())
		return;
	struct fix fx = fix_load(c->name, "x"), fw = fix_load(c->name, "w"),
	           fdy = fix_load(c->name, "dy");
	struct drop_conv2d_desc d = { c->n, c->cin, c->h, c->w, c->cout, c->k, c->stride, c->pad,
	                              false, layout, true, DROP_CONV_DIRECT, false, false, 0 };
	int ho = drop_conv2d_out(c->h, c->k, c->stride, c->pad);
	int wo = drop_conv2d_out(c->w, c->k, c->stride, c->pad);
	struct drop_tensor x = tensor_from(fx.v, c->n, c->cin, c->h, c->w, layout),
	                   w = tensor_from(fw.v, c->cout, c->cin, c->k, c->k, DROP_PLAIN),
	                   y = tensor_from(NULL, c->n, c->cout, ho, wo, DROP_BLOCKED),
	                   dy = tensor_from(fdy.v, c->n, c->cout, ho, wo, DROP_BLOCKED),
	                   dx = tensor_from(NULL, c->n, c->cin, c->h, c->w, layout);
	size_t nx = drop_tensor_floats(&x, drop_cpu_block());
	size_t ny = drop_tensor_floats(&y, drop_cpu_block());
	size_t nw = (size_t)c->cout * c->cin * c->k * c->k;
	float *r[3], *g[3];
	three_passes(&d, &x, &dy, &w, &y, &dx, nw, r);

	struct drop_tensor x16 = x, dy16 = dy;
	x16.bf16 = drop_malloc(nx * sizeof(uint16_t));
	dy16.bf16 = drop_malloc(ny * sizeof(uint16_t));
	drop_to_bf16_cpu(nx, x.data, x16.bf16);
	drop_to_bf16_cpu(ny, dy.data, dy16.bf16);
	x16.data = dy16.data = NULL;
	three_passes(&d, &x16, &dy16, &w, &y, &dx, nw, g);
	const char *name[3] = { "y", "dx", "dw" };
	size_t len[3] = { fdy.n, fx.n, nw };
	for (int i = 0; i < 3; i++) {
		snprintf(what, sizeof what, "%s (%s input, bf16 copies): %s", c->name,
		         layout_name(layout), name[i]);
		CHECK(!memcmp(r[i], g[i], len[i] * sizeof(float)), "%s: the bits of rounding in the call",
		      what);
		free(r[i]), free(g[i]);
	}
	free(x16.bf16), free(dy16.bf16);
	free(x.data), free(w.data), free(y.data), free(dy.data), free(dx.data);
	free(fx.v), free(fw.v), free(fdy.v);
}

/* The inference extras: a fused ReLU gives relu(y) bit for bit, and with bf16 products a
 * bf16 output gives to_bf16 of the float output bit for bit (oneDNN rounds its float sums
 * as VCVTNEPS2BF16 does), fused ReLU or not. */
static void fused_case(const struct conv_case *c, enum drop_layout layout)
{
	struct fix fx = fix_load(c->name, "x"), fw = fix_load(c->name, "w");
	int ho = drop_conv2d_out(c->h, c->k, c->stride, c->pad);
	int wo = drop_conv2d_out(c->w, c->k, c->stride, c->pad);
	struct drop_tensor x = tensor_from(fx.v, c->n, c->cin, c->h, c->w, layout),
	                   w = tensor_from(fw.v, c->cout, c->cin, c->k, c->k, DROP_PLAIN),
	                   y = tensor_from(NULL, c->n, c->cout, ho, wo, DROP_BLOCKED),
	                   z = tensor_from(NULL, c->n, c->cout, ho, wo, DROP_BLOCKED);
	size_t ny = drop_tensor_floats(&y, drop_cpu_block());
	for (int b16 = 0; b16 < 1 + drop_cpu_bf16(); b16++) {
		struct drop_conv2d_desc d = { c->n, c->cin, c->h, c->w, c->cout, c->k, c->stride,
		                              c->pad, false, layout, b16, DROP_CONV_DIRECT, false,
		                              false, 0 };
		drop_conv2d_fwd_cpu(&d, &x, &w, NULL, &y);
		drop_relu_cpu(ny, y.data, y.data);
		d.relu = true;
		drop_conv2d_fwd_cpu(&d, &x, &w, NULL, &z);
		CHECK(!memcmp(y.data, z.data, ny * sizeof(float)), "%s (%s input%s): fused ReLU: "
		      "relu(y) bit for bit", c->name, layout_name(layout), b16 ? ", bf16" : "");
		if (!b16)
			continue;
		uint16_t *ref = drop_malloc(ny * sizeof *ref);
		struct drop_tensor y16 = z;
		y16.data = NULL;
		y16.bf16 = drop_malloc(ny * sizeof(uint16_t));
		drop_to_bf16_cpu(ny, y.data, ref); /* y: relu(conv) */
		d.y_bf16 = true;
		drop_conv2d_fwd_cpu(&d, &x, &w, NULL, &y16);
		CHECK(!memcmp(ref, y16.bf16, ny * sizeof *ref), "%s (%s input): bf16 output with fused "
		      "ReLU: to_bf16 of the float one, bit for bit", c->name, layout_name(layout));
		free(ref), free(y16.bf16);
	}
	free(x.data), free(w.data), free(y.data), free(z.data), free(fx.v), free(fw.v);
}

/* Weight copies (kernels/cpu/dnnl_ctx.h): two layers take turns in the shared buffer, get
 * copies of their own the second time their weights come, and a weight gradient borrows the
 * shared buffer in between: every forward gives the bits of the first one. */
static void test_weight_copies(void)
{
	struct drop_conv2d_desc da = { 2, 16, 6, 5, 24, 3, 1, 1, false, DROP_BLOCKED, false,
	                               DROP_CONV_DIRECT, false, false, 0 },
	                        db = { 2, 24, 6, 5, 8, 3, 2, 1, false, DROP_BLOCKED, false,
	                               DROP_CONV_DIRECT, false, false, 0 };
	size_t nwa = 24 * 16 * 9, nwb = 8 * 24 * 9, nxa = 2 * 16 * 30, nxb = 2 * 24 * 30;
	float *wa = drop_malloc(nwa * sizeof *wa), *wb = drop_malloc(nwb * sizeof *wb);
	float *xa = drop_malloc(nxa * sizeof *xa), *xb = drop_malloc(nxb * sizeof *xb);
	for (size_t i = 0; i < nwa; i++)
		wa[i] = (float)((i * 2654435761u) % 201) / 100.0f - 1.0f;
	for (size_t i = 0; i < nwb; i++)
		wb[i] = (float)((i * 40503u) % 199) / 100.0f - 1.0f;
	for (size_t i = 0; i < nxa; i++)
		xa[i] = (float)((i * 69069u) % 101) / 50.0f - 1.0f;
	for (size_t i = 0; i < nxb; i++)
		xb[i] = (float)((i * 1103515245u) % 103) / 50.0f - 1.0f;
	struct drop_tensor x1 = tensor_from(xa, 2, 16, 6, 5, DROP_BLOCKED),
	                   x2 = tensor_from(xb, 2, 24, 6, 5, DROP_BLOCKED),
	                   y1 = tensor_from(NULL, 2, 24, 6, 5, DROP_BLOCKED),
	                   y2 = tensor_from(NULL, 2, 8, 3, 3, DROP_BLOCKED);
	struct drop_tensor w1 = drop_tensor_make(24, 16, 3, 3, DROP_PLAIN),
	                   w2 = drop_tensor_make(8, 24, 3, 3, DROP_PLAIN);
	w1.data = wa, w2.data = wb, w1.version = w2.version = 7;
	size_t n1 = drop_tensor_floats(&y1, drop_cpu_block()), n2 = drop_tensor_floats(&y2, drop_cpu_block());
	float *ref1 = drop_malloc(n1 * sizeof *ref1), *ref2 = drop_malloc(n2 * sizeof *ref2);
	float *dw = drop_malloc(nwa * sizeof *dw);
	int same = 1;
	for (int round = 0; round < 4; round++) {
		drop_conv2d_fwd_cpu(&da, &x1, &w1, NULL, &y1);
		drop_conv2d_fwd_cpu(&db, &x2, &w2, NULL, &y2);
		if (round == 0) {
			memcpy(ref1, y1.data, n1 * sizeof *ref1);
			memcpy(ref2, y2.data, n2 * sizeof *ref2);
		}
		same &= !memcmp(ref1, y1.data, n1 * sizeof *ref1) &&
		        !memcmp(ref2, y2.data, n2 * sizeof *ref2);
		if (round == 1) /* a weight gradient through the shared buffer */
			drop_conv2d_bwd_weights_cpu(&da, &x1, &y1, dw, NULL);
	}
	CHECK(same, "weight copies: shared, then kept, with a gradient in between: the same bits");
	free(wa), free(wb), free(xa), free(xb), free(ref1), free(ref2), free(dw);
	free(x1.data), free(x2.data), free(y1.data), free(y2.data);
}

int main(void)
{
	test_weight_copies();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		run_case(&cases[i], DROP_BLOCKED);
		run_case(&cases[i], DROP_PLAIN);
		bf16_case(&cases[i], DROP_BLOCKED);
		bf16_case(&cases[i], DROP_PLAIN);
		bf16_copies_case(&cases[i], DROP_BLOCKED);
		bf16_copies_case(&cases[i], DROP_PLAIN);
		fused_case(&cases[i], DROP_BLOCKED);
		fused_case(&cases[i], DROP_PLAIN);
	}
	drop_cpu_release();
	return tap_done();
}

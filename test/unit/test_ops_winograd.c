/*
 * tests: kernels/cpu/conv2d.c's Winograd convolutions (DROP_CONV_WINOGRAD, oneDNN's F(4x4,
 * 3x3) kernel) - forward, backward-data and backward-weights of 3x3 stride-1 shapes, each
 * against a float64 reference and within the same bound as the direct kernel's float sums
 * times a stated factor; that each pass really runs Winograd (else the test would compare
 * direct with direct); bit-identical repeats; AUTO's choice (by the global batch under
 * several ranks); what oneDNN's kernel does
 * not take (plain input, stride 2, bf16) falls back to the direct kernel's exact results.
 * Skips on a CPU without avx512_core.
 */
#include "test_ops_util.h"

/* The error bound. Let S be the same op on |x| and |w| (or |dy|): the sum of the sizes of
 * the products that make a result. A float32 sum of K products is within ~K 2^-24 S of the
 * exact value (direct); Winograd multiplies transformed tiles (sums of up to 16 inputs with
 * weights up to 8 in F(4x4, 3x3)'s matrices) and transforms the products back, so its
 * rounding errors are larger by the transforms' gain. Measured worst over these cases
 * (AMD EPYC Zen 5, 2026-12-06): direct 2^-21.9 S, Winograd 2^-20.2 S (2 bits fewer).
 * Bounds: 2^-20 S + 1e-6 for direct, 2^-17 S + 1e-6 for Winograd (8x margins); an
 * indexing or padding error is of order S. */
#define WINO_REL (1.0 / 131072.0)
#define DIRECT_REL (1.0 / 1048576.0)

struct wcase {
	int n, cin, h, w, cout;
	bool bias;
};

static const struct wcase cases[] = {
	{ 2, 16, 9, 7, 32, true },  /* sizes not multiples of the 4x4 tile */
	{ 3, 32, 8, 8, 16, false },
	{ 1, 64, 16, 8, 64, false }, /* HRNet-W32's branch-2 channels */
	{ 2, 8, 8, 6, 8, true },     /* 8 channels in a 16-channel block (hrnet-tiny) */
};

/* Uniform values in [-a, a) from a fixed linear congruential sequence. */
static float *randu(size_t n, float a, unsigned *seed)
{
	float *v = drop_malloc(n * sizeof *v);
	for (size_t i = 0; i < n; i++) {
		*seed = *seed * 1664525u + 1013904223u;
		v[i] = a * ((float)(*seed >> 8) / 8388608.0f - 1.0f);
	}
	return v;
}

/* Plain float64 references of the 3x3 stride-1 pad-1 convolution: y (N, Co, H, W) from x,
 * w (and bias), dx from dy and w, dw from x and dy; with abs, the same over |values|. */
static void ref_conv(const struct wcase *c, const float *x, const float *w, const float *b,
                     const float *dy, bool abs, double *y, double *dx, double *dw)
{
	int H = c->h, W = c->w, N = c->n, Ci = c->cin, Co = c->cout;
	size_t ny = (size_t)N * Co * H * W, nx = (size_t)N * Ci * H * W, nw = (size_t)Co * Ci * 9;
	for (size_t i = 0; i < ny; i++)
		y[i] = b && !abs ? b[i / ((size_t)H * W) % Co] : 0.0;
	for (size_t i = 0; i < nx; i++)
		dx[i] = 0;
	for (size_t i = 0; i < nw; i++)
		dw[i] = 0;
	for (int n = 0; n < N; n++)
		for (int o = 0; o < Co; o++)
			for (int i = 0; i < Ci; i++)
				for (int ky = 0; ky < 3; ky++)
					for (int kx = 0; kx < 3; kx++) {
						size_t wi = (((size_t)o * Ci + i) * 3 + ky) * 3 + kx;
						double wv = abs ? fabs(w[wi]) : w[wi];
						for (int r = 0; r < H; r++) {
							int sr = r + ky - 1;
							if (sr < 0 || sr >= H)
								continue;
							for (int s = 0; s < W; s++) {
								int ss = s + kx - 1;
								if (ss < 0 || ss >= W)
									continue;
								size_t xi = (((size_t)n * Ci + i) * H + sr) * W + ss;
								size_t yi = (((size_t)n * Co + o) * H + r) * W + s;
								double xv = abs ? fabs(x[xi]) : x[xi];
								double gv = abs ? fabs(dy[yi]) : dy[yi];
								y[yi] += wv * xv;
								dx[xi] += wv * gv;
								dw[wi] += xv * gv;
							}
						}
					}
}

/* |got - ref| <= rel S + 1e-6 for all n values; one TAP point. */
static void within(const char *what, const float *got, const double *ref, const double *s,
                   size_t n, double rel)
{
	size_t bad = 0;
	double worst = 0;
	for (size_t i = 0; i < n; i++) {
		double e = fabs((double)got[i] - ref[i]), lim = rel * s[i] + 1e-6;
		worst = fmax(worst, e / (s[i] + 1e-30));
		if (e > lim && bad++ < 3)
			printf("#   %s[%zu]: got %.9g, expected %.9g, limit %.3g\n", what, i, got[i],
			       ref[i], lim);
	}
	CHECK(bad == 0, "%s: %zu values within %.3g S + 1e-6 (worst error %.3g S = 2^%.1f S)",
	      what, n, rel, worst, worst > 0 ? log2(worst) : -INFINITY);
}

/* The three passes of d on the case's data: y, dx, dw (db when bias) as plain floats. */
static void run_passes(const struct drop_conv2d_desc *d, const struct wcase *c, const float *xv, const float *wv, const float *bv, const float *dyv,
                       float *y, float *dx, float *dw, float *db)
{
	struct drop_tensor x = tensor_from(xv, c->n, c->cin, c->h, c->w, d->src_layout);
	struct drop_tensor w = tensor_from(wv, c->cout, c->cin, 3, 3, DROP_PLAIN);
	struct drop_tensor yt = tensor_from(NULL, c->n, c->cout, c->h, c->w, DROP_BLOCKED);
	struct drop_tensor dyt = tensor_from(dyv, c->n, c->cout, c->h, c->w, DROP_BLOCKED);
	struct drop_tensor dxt = tensor_from(NULL, c->n, c->cin, c->h, c->w, d->src_layout);
	drop_conv2d_fwd_cpu(d, &x, &w, bv, &yt);
	drop_conv2d_bwd_data_cpu(d, &dyt, &w, &dxt);
	drop_conv2d_bwd_weights_cpu(d, &x, &dyt, dw, c->bias ? db : NULL);
	float *yp = tensor_plain(&yt), *dxp = tensor_plain(&dxt);
	memcpy(y, yp, drop_tensor_floats(&yt, 1) * sizeof *y);
	memcpy(dx, dxp, drop_tensor_floats(&dxt, 1) * sizeof *dx);
	CHECK(padding_zero(&yt) && padding_zero(&dxt), "padding lanes of y and dx are zero");
	free(yp), free(dxp);
	free(x.data), free(w.data), free(yt.data), free(dyt.data), free(dxt.data);
}

static void run_case(const struct wcase *c)
{
	unsigned seed = 12345u + (unsigned)c->cin;
	size_t nx = (size_t)c->n * c->cin * c->h * c->w, ny = (size_t)c->n * c->cout * c->h * c->w;
	size_t nw = (size_t)c->cout * c->cin * 9;
	float *x = randu(nx, 1.0f, &seed), *w = randu(nw, 0.3f, &seed);
	float *b = randu((size_t)c->cout, 0.5f, &seed), *dy = randu(ny, 1.0f, &seed);
	double *ry = drop_malloc(ny * sizeof *ry), *rdx = drop_malloc(nx * sizeof *rdx);
	double *rdw = drop_malloc(nw * sizeof *rdw), *sy = drop_malloc(ny * sizeof *sy);
	double *sdx = drop_malloc(nx * sizeof *sdx), *sdw = drop_malloc(nw * sizeof *sdw);
	ref_conv(c, x, w, c->bias ? b : NULL, dy, false, ry, rdx, rdw);
	ref_conv(c, x, w, NULL, dy, true, sy, sdx, sdw);
	double *rdb = drop_calloc((size_t)c->cout, sizeof *rdb);
	double *sdb = drop_calloc((size_t)c->cout, sizeof *sdb);
	for (size_t i = 0; i < ny; i++) {
		rdb[i / ((size_t)c->h * c->w) % c->cout] += dy[i];
		sdb[i / ((size_t)c->h * c->w) % c->cout] += fabs(dy[i]);
	}

	float *y[2], *dx[2], *dw[2], *db[2];
	char what[160];
	for (int wino = 0; wino < 2; wino++) {
		struct drop_conv2d_desc d = { c->n, c->cin, c->h, c->w, c->cout, 3, 1, 1, c->bias,
		                              DROP_BLOCKED, false,
		                              wino ? DROP_CONV_WINOGRAD : DROP_CONV_DIRECT, false, false, 0 };
		const char *name = wino ? "winograd" : "direct";
		if (wino)
			CHECK(drop_conv2d_winograd_cpu(&d, 0) && drop_conv2d_winograd_cpu(&d, 1) &&
			      drop_conv2d_winograd_cpu(&d, 2),
			      "%dx%dx%dx%d>%d: all three passes run oneDNN's Winograd kernel", c->n,
			      c->cin, c->h, c->w, c->cout);
		else
			CHECK(!drop_conv2d_winograd_cpu(&d, 0) && !drop_conv2d_winograd_cpu(&d, 2),
			      "%dx%dx%dx%d>%d: direct runs no Winograd kernel", c->n, c->cin, c->h,
			      c->w, c->cout);
		y[wino] = drop_malloc(ny * sizeof *y[0]), dx[wino] = drop_malloc(nx * sizeof *dx[0]);
		dw[wino] = drop_malloc(nw * sizeof *dw[0]);
		db[wino] = drop_malloc((size_t)c->cout * sizeof *db[0]);
		run_passes(&d, c, x, w, b, dy, y[wino], dx[wino], dw[wino], db[wino]);
		double rel = wino ? WINO_REL : DIRECT_REL;
		snprintf(what, sizeof what, "%s %dx%dx%dx%d>%d: y", name, c->n, c->cin, c->h, c->w,
		         c->cout);
		within(what, y[wino], ry, sy, ny, rel);
		what[strlen(what) - 1] = '\0';
		strcat(what, "dx");
		within(what, dx[wino], rdx, sdx, nx, rel);
		what[strlen(what) - 2] = '\0';
		strcat(what, "dw");
		within(what, dw[wino], rdw, sdw, nw, rel);
		if (c->bias) {
			what[strlen(what) - 2] = '\0';
			strcat(what, "db");
			within(what, db[wino], rdb, sdb, (size_t)c->cout, rel);
		}
	}
	/* Repeats give the same bits. */
	struct drop_conv2d_desc d = { c->n, c->cin, c->h, c->w, c->cout, 3, 1, 1, c->bias,
	                              DROP_BLOCKED, false, DROP_CONV_WINOGRAD, false, false, 0 };
	float *y2 = drop_malloc(ny * sizeof *y2), *dx2 = drop_malloc(nx * sizeof *dx2);
	float *dw2 = drop_malloc(nw * sizeof *dw2), *db2 = drop_malloc((size_t)c->cout * sizeof *db2);
	run_passes(&d, c, x, w, b, dy, y2, dx2, dw2, db2);
	CHECK(!memcmp(y2, y[1], ny * sizeof *y2) && !memcmp(dx2, dx[1], nx * sizeof *dx2) &&
	      !memcmp(dw2, dw[1], nw * sizeof *dw2),
	      "winograd %dx%dx%dx%d>%d: a repeat gives the same bits", c->n, c->cin, c->h, c->w,
	      c->cout);
	for (int i = 0; i < 2; i++)
		free(y[i]), free(dx[i]), free(dw[i]), free(db[i]);
	free(y2), free(dx2), free(dw2), free(db2);
	free(x), free(w), free(b), free(dy), free(ry), free(rdx), free(rdw), free(sy), free(sdx);
	free(sdw), free(rdb), free(sdb);
}

/* What oneDNN's Winograd kernel does not take runs the direct kernel: the same bits. */
static void fallback(void)
{
	const struct wcase c = { 2, 16, 8, 6, 16, false };
	size_t nx = 2 * 16 * 48, nw = 16 * 16 * 9;
	unsigned seed = 7;
	float *x = randu(nx, 1.0f, &seed), *w = randu(nw, 0.3f, &seed), *dy = randu(nx, 1.0f, &seed);
	float *out[2][3];
	for (int wino = 0; wino < 2; wino++) {
		struct drop_conv2d_desc d = { c.n, c.cin, c.h, c.w, c.cout, 3, 1, 1, false,
		                              DROP_PLAIN, false,
		                              wino ? DROP_CONV_WINOGRAD : DROP_CONV_DIRECT, false, false, 0 };
		for (int i = 0; i < 3; i++)
			out[wino][i] = drop_malloc((i == 2 ? nw : nx) * sizeof(float));
		run_passes(&d, &c, x, w, NULL, dy, out[wino][0], out[wino][1], out[wino][2], NULL);
		if (wino)
			CHECK(!drop_conv2d_winograd_cpu(&d, 0) && !drop_conv2d_winograd_cpu(&d, 1) &&
			      !drop_conv2d_winograd_cpu(&d, 2),
			      "plain input: winograd falls back to the direct kernel");
	}
	CHECK(!memcmp(out[0][0], out[1][0], nx * sizeof(float)) &&
	      !memcmp(out[0][1], out[1][1], nx * sizeof(float)) &&
	      !memcmp(out[0][2], out[1][2], nw * sizeof(float)),
	      "plain input: winograd gives the direct kernel's bits");
	struct drop_conv2d_desc s2 = { 2, 16, 8, 8, 16, 3, 2, 1, false, DROP_BLOCKED, false,
	                               DROP_CONV_WINOGRAD, false, false, 0 };
	CHECK(!drop_conv2d_winograd_cpu(&s2, 0), "stride 2: no Winograd");
	struct drop_conv2d_desc b16 = { 2, 16, 8, 8, 16, 3, 1, 1, false, DROP_BLOCKED,
	                                drop_cpu_bf16(), DROP_CONV_WINOGRAD, false, false, 0 };
	CHECK(!b16.bf16 || !drop_conv2d_winograd_cpu(&b16, 0), "bf16: no Winograd");
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++)
			free(out[i][j]);
	free(x), free(w), free(dy);
}

/* AUTO: Winograd for the 3x3 stride-1 shapes of at least 1024 pixels, 1x1 never. */
static void auto_rule(void)
{
	struct drop_conv2d_desc big = { 32, 32, 64, 32, 32, 3, 1, 1, false, DROP_BLOCKED, false,
	                                DROP_CONV_AUTO, false, false, 0 };
	struct drop_conv2d_desc k1 = big;
	k1.k = 1, k1.pad = 0;
	CHECK(drop_conv2d_winograd_cpu(&big, 0), "auto: branch 1 of HRNet-W32 at batch 32 is "
	      "Winograd");
	CHECK(!drop_conv2d_winograd_cpu(&k1, 0), "auto: a 1x1 convolution is direct");
	struct drop_conv2d_desc small = { 1, 256, 8, 4, 256, 3, 1, 1, false, DROP_BLOCKED, false,
	                                  DROP_CONV_AUTO, false, false, 0 };
	CHECK(!drop_conv2d_winograd_cpu(&small, 0), "auto: branch 4 at batch 1 (32 pixels) is "
	      "direct");
	/* A rank's slice weighs as the global batch (auto_n): 4 images of 16x8 are 512 pixels,
	 * 8 are 1024, so 2 ranks of 4 take the kernel one process of 8 takes. */
	struct drop_conv2d_desc slice = { 4, 128, 16, 8, 128, 3, 1, 1, false, DROP_BLOCKED, false,
	                                  DROP_CONV_AUTO, false, false, 0 };
	struct drop_conv2d_desc whole = slice, ranked = slice;
	whole.n = 8;
	ranked.auto_n = 8;
	CHECK(!drop_conv2d_winograd_cpu(&slice, 0) && drop_conv2d_winograd_cpu(&whole, 0) &&
	      drop_conv2d_winograd_cpu(&ranked, 0) && drop_conv2d_winograd_cpu(&ranked, 2),
	      "auto: 4 images of 16x8 alone direct, 8 Winograd, 4 of a global batch of 8 "
	      "Winograd");
}

int main(void)
{
	if (!drop_cpu_winograd()) {
		printf("ok 1 - # SKIP Winograd: this CPU lacks avx512_core\n");
		printf("1..1\n");
		return 0;
	}
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run_case(&cases[i]);
	fallback();
	auto_rule();
	drop_cpu_release();
	return tap_done();
}

/*
 * tests: kernels/cpu/eltwise.c and kernels/cpu/concat.c - ReLU forward and backward, add,
 * scale, axpy, channel concat and split (plain and blocked, block-aligned and not) against
 * PyTorch (fixtures of scripts/make-fixtures), in-place calls, and finite differences of
 * L = sum(r * y) for ReLU (split is checked as concat's exact backward); bfloat16 rounding
 * (to_bf16) against frexp/rint/ldexp and at its edges, and ReLU's backward from a bf16
 * output.
 * also requires: test/fixtures/ops (committed)
 */
#include "test_ops_util.h"
#include "../../kernels/maths/maths_ops.h"

/* One float rounding at most (add, scale, axpy) or none (ReLU, copies): 1e-6 + 1e-6 |ref|
 * (the references are float64 results rounded to float32). */
#define ATOL 1e-6
#define RTOL 1e-6

static void test_relu(void)
{
	struct fix x = fix_load("relu", "x"), y = fix_load("relu", "y"), dy = fix_load("relu", "dy"),
	           dx = fix_load("relu", "dx");
	float *got = drop_malloc(x.n * sizeof *got), *dgot = drop_malloc(x.n * sizeof *dgot);
	drop_relu_cpu(x.n, x.v, got);
	compare_f("relu: y", got, y.v, y.n, 0, 0);
	drop_relu_bwd_cpu(x.n, got, dy.v, dgot);
	compare_f("relu: dx", dgot, dx.v, dx.n, 0, 0);
	memcpy(dgot, dy.v, x.n * sizeof *dgot);
	drop_relu_bwd_cpu(x.n, got, dgot, dgot);
	compare_f("relu: dx in place", dgot, dx.v, dx.n, 0, 0);

	/* Finite differences in double around each x (none is within h of the kink). */
	const double h = 1e-3;
	double worst = 0;
	for (size_t i = 0; i < x.n; i++) {
		float xp = (float)(x.v[i] + h), xm = (float)(x.v[i] - h), yp, ym;
		drop_relu_cpu(1, &xp, &yp);
		drop_relu_cpu(1, &xm, &ym);
		double g = dy.v[i] * ((double)yp - ym) / ((double)xp - xm);
		if (fabs(x.v[i]) > h)
			worst = fmax(worst, fabs(g - dx.v[i]));
	}
	CHECK(worst <= 1e-6, "relu: dx = finite differences (worst %.3g)", worst);
	drop_relu_cpu(x.n, x.v, x.v);
	compare_f("relu: y in place", x.v, y.v, y.n, 0, 0);
	free(got), free(dgot), free(x.v), free(y.v), free(dy.v), free(dx.v);
}

static void test_add_scale(void)
{
	struct fix a = fix_load("add_scale", "a"), b = fix_load("add_scale", "b"),
	           sum = fix_load("add_scale", "sum"), sc = fix_load("add_scale", "scaled"),
	           ax = fix_load("add_scale", "axpy");
	float *y = drop_malloc(a.n * sizeof *y);
	drop_add_cpu(a.n, a.v, b.v, y);
	compare_f("add", y, sum.v, a.n, ATOL, RTOL);
	drop_scale_cpu(a.n, -0.75f, a.v, y);
	compare_f("scale", y, sc.v, a.n, ATOL, RTOL);
	memcpy(y, b.v, a.n * sizeof *y);
	drop_axpy_cpu(a.n, 0.25f, a.v, y);
	compare_f("axpy", y, ax.v, a.n, ATOL, RTOL);
	drop_add_cpu(a.n, a.v, b.v, a.v);
	compare_f("add in place", a.v, sum.v, a.n, ATOL, RTOL);
	free(y), free(a.v), free(b.v), free(sum.v), free(sc.v), free(ax.v);
}

/* Concat of parts (5, 8, 3 channels) and split of dy; `aligned` concatenates only the
 * parts (8, 5) instead, block-aligned on AVX2 (block 8), for the one-copy path. */
static void test_concat(enum drop_layout layout, int aligned)
{
	char what[96];
	static const char *pn[] = { "p0", "p1", "p2" }, *dn[] = { "dp0", "dp1", "dp2" };
	struct fix p[3], dp[3], y = fix_load("concat", "y"), dy = fix_load("concat", "dy");
	for (int i = 0; i < 3; i++)
		p[i] = fix_load("concat", pn[i]), dp[i] = fix_load("concat", dn[i]);
	int n = y.sh[0], h = y.sh[2], w = y.sh[3];
	int order[3] = { 0, 1, 2 }, np = 3, ctot = y.sh[1];
	if (aligned)
		order[0] = 1, order[1] = 0, np = 2, ctot = p[0].sh[1] + p[1].sh[1];
	struct drop_tensor t[3] = { 0 }, *tp[3];
	for (int i = 0; i < np; i++) {
		t[i] = tensor_from(p[order[i]].v, n, p[order[i]].sh[1], h, w, layout);
		tp[i] = &t[i];
	}
	struct drop_tensor ty = tensor_from(NULL, n, ctot, h, w, layout);
	drop_concat_cpu(np, (const struct drop_tensor *const *)tp, &ty);
	float *got = tensor_plain(&ty);
	/* The reference for the reordered parts: rebuild it from the parts' fixtures. */
	float *ref = drop_malloc(y.n * sizeof *ref);
	size_t hw = (size_t)h * w;
	for (int b = 0; b < n; b++) {
		int off = 0;
		for (int i = 0; i < np; i++) {
			const struct fix *f = &p[order[i]];
			memcpy(ref + ((size_t)b * ctot + off) * hw, f->v + (size_t)b * f->sh[1] * hw,
			       f->sh[1] * hw * sizeof *ref);
			off += f->sh[1];
		}
	}
	if (!aligned)
		CHECK(!memcmp(ref, y.v, y.n * sizeof *ref), "concat: fixture is torch.cat");
	snprintf(what, sizeof what, "concat (%s, %s): y", layout_name(layout),
	         aligned ? "block-aligned" : "unaligned");
	compare_f(what, got, ref, (size_t)n * ctot * hw, 0, 0);
	CHECK(padding_zero(&ty), "%s: padding lanes zero", what);

	/* Split is concat's backward: dy into the parts' gradients. */
	if (!aligned) {
		struct drop_tensor tdy = tensor_from(dy.v, n, y.sh[1], h, w, layout);
		drop_split_cpu(&tdy, 3, tp);
		for (int i = 0; i < 3; i++) {
			float *g = tensor_plain(&t[i]);
			snprintf(what, sizeof what, "split (%s): d%s", layout_name(layout), pn[i]);
			compare_f(what, g, dp[i].v, dp[i].n, 0, 0);
			free(g);
		}
		free(tdy.data);
	}
	free(got), free(ref), free(ty.data), free(y.v), free(dy.v);
	for (int i = 0; i < 3; i++)
		free(t[i].data), free(p[i].v), free(dp[i].v);
}

static uint32_t bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

static float from_bits(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

/* to_bf16: normal floats rounded to 8 significant bits, ties to even (rint in the default
 * rounding mode); the edges by hand (VCVTNEPS2BF16's rules); relu_bwd_bf16's mask. */
static void test_bf16(void)
{
	enum { N = 100000 };
	float *x = drop_malloc(N * sizeof *x), *dy = drop_malloc(N * sizeof *dy), *d1 = drop_malloc(N * sizeof *d1),
	      *d2 = drop_malloc(N * sizeof *d2);
	uint16_t *h = drop_malloc(N * sizeof *h);
	uint64_t s = 12345;
	for (int i = 0; i < N; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t u = (uint32_t)(s >> 32);
		/* exponents spread over normal floats; every 8th a tie below 16 bits */
		u = (u & 0x807fffffu) | ((uint32_t)(1 + (s >> 8) % 253) << 23);
		if (i % 8 == 0)
			u = (u & 0xffff0000u) | 0x8000u;
		x[i] = from_bits(u);
		dy[i] = (float)i;
	}
	drop_to_bf16_cpu(N, x, h);
	int bad = 0;
	for (int i = 0; i < N; i++) {
		int e;
		double m = frexp(x[i], &e), want = ldexp(rint(ldexp(m, 8)), e - 8);
		bad += (double)drop_bf16_to_f(h[i]) != want;
	}
	CHECK(bad == 0, "to_bf16: %d normal floats rounded to nearest even (%d wrong)", N, bad);
	struct { uint32_t in; uint16_t out; } edge[] = {
		{ 0x3f800000u, 0x3f80 }, { 0x3f808000u, 0x3f80 }, { 0x3f818000u, 0x3f82 },
		{ 0x3f808001u, 0x3f81 }, { 0xbfc00000u, 0xbfc0 }, { 0x00000001u, 0x0000 },
		{ 0x807fffffu, 0x8000 }, { 0x7f800000u, 0x7f80 }, { 0x7f7fffffu, 0x7f80 },
		{ 0xff800000u, 0xff80 }, { 0x7f800001u, 0x7fc0 }, { 0x00800000u, 0x0080 },
	};
	int nedge = (int)(sizeof edge / sizeof edge[0]), ebad = 0;
	for (int i = 0; i < nedge; i++) {
		uint16_t o;
		float f = from_bits(edge[i].in);
		drop_to_bf16_cpu(1, &f, &o);
		ebad += o != edge[i].out;
	}
	CHECK(ebad == 0, "to_bf16: ties, denormals to zero, infinities, NaN (%d of %d wrong)", ebad,
	      nedge);
	for (int i = 0; i < N; i++)
		x[i] = i % 3 == 0 ? -x[i] : i % 7 == 0 ? 0.0f : x[i];
	x[1] = from_bits(0x00000005u); /* a positive denormal: 0 in bf16, so masked */
	drop_to_bf16_cpu(N, x, h);
	drop_relu_bwd_cpu(N, x, dy, d1);
	d1[1] = 0.0f;
	drop_relu_bwd_bf16_cpu(N, h, dy, d2);
	CHECK(!memcmp(d1, d2, N * sizeof *d1), "relu_bwd_bf16: the mask of the float output");
	CHECK(bits(d2[1]) == 0, "relu_bwd_bf16: a denormal output is masked");
	free(x), free(dy), free(d1), free(d2), free(h);
}

int main(void)
{
	test_relu();
	test_bf16();
	test_add_scale();
	test_concat(DROP_PLAIN, 0);
	test_concat(DROP_BLOCKED, 0);
	test_concat(DROP_PLAIN, 1);
	test_concat(DROP_BLOCKED, 1);
	return tap_done();
}

/*
 * tests: kernels/cpu/eltwise.c and kernels/cpu/concat.c - ReLU forward and backward, add,
 * scale, axpy, channel concat and split (plain and blocked, block-aligned and not) against
 * PyTorch (fixtures of scripts/make-fixtures), in-place calls, and finite differences of
 * L = sum(r * y) for ReLU (split is checked as concat's exact backward).
 * also requires: test/fixtures/ops (committed)
 */
#include "test_ops_util.h"

/* One float rounding at most (add, scale, axpy) or none (ReLU, copies): 1e-6 + 1e-6 |ref|
 * (the references are float64 results rounded to float32). */
#define ATOL 1e-6
#define RTOL 1e-6

static void test_relu(void)
{
	struct fix x = fix_load("relu", "x"), y = fix_load("relu", "y"), dy = fix_load("relu", "dy"),
	           dx = fix_load("relu", "dx");
	float *got = xmalloc(x.n * sizeof *got), *dgot = xmalloc(x.n * sizeof *dgot);
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
	float *y = xmalloc(a.n * sizeof *y);
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
	float *ref = xmalloc(y.n * sizeof *ref);
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

int main(void)
{
	test_relu();
	test_add_scale();
	test_concat(DROP_PLAIN, 0);
	test_concat(DROP_BLOCKED, 0);
	test_concat(DROP_PLAIN, 1);
	test_concat(DROP_BLOCKED, 1);
	return tap_done();
}

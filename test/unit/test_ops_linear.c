/*
 * tests: kernels/cpu/linear.c - Linear forward, backward-data and backward-weights with
 * and without bias against PyTorch (fixtures of scripts/make-fixtures); bit-identical
 * repeats; finite differences of L = sum(r * y) (linear in x and W: exact up to rounding).
 * also requires: test/fixtures/ops (committed)
 */
#include "test_ops_util.h"

/* Sums of <= 24 products (forward, dx) or <= 6 (dw): float error ~1e-6 of the scale;
 * 2e-5 + 2e-5 |ref| leaves a 10x margin. */
#define ATOL 2e-5
#define RTOL 2e-5

static double loss(const struct drop_linear_desc *d, const float *x,
                   const struct drop_tensor *w, const float *b, float *y, const float *r)
{
	drop_linear_fwd_cpu(d, x, w, b, y);
	double l = 0;
	for (int i = 0; i < d->n * d->cout; i++)
		l += (double)r[i] * y[i];
	return l;
}

static void run(const char *name, bool bias)
{
	char what[96];
	struct fix x = fix_load(name, "x"), w = fix_load(name, "w"), y = fix_load(name, "y"),
	           dy = fix_load(name, "dy"), dx = fix_load(name, "dx"), dw = fix_load(name, "dw");
	struct fix b = { 0 }, db = { 0 };
	if (bias)
		b = fix_load(name, "b"), db = fix_load(name, "db");
	struct drop_linear_desc d = { x.sh[0], x.sh[1], w.sh[0], bias };
	struct drop_tensor tw = drop_tensor_make(d.cout, d.cin, 1, 1, DROP_PLAIN);
	tw.data = w.v;
	float *gy = drop_malloc(y.n * sizeof *gy), *gy2 = drop_malloc(y.n * sizeof *gy2),
	      *gdx = drop_malloc(x.n * sizeof *gdx), *gdw = drop_malloc(w.n * sizeof *gdw),
	      *gdb = drop_malloc(d.cout * sizeof *gdb);
	drop_linear_fwd_cpu(&d, x.v, &tw, b.v, gy);
	snprintf(what, sizeof what, "%s: y", name);
	compare_f(what, gy, y.v, y.n, ATOL, RTOL);
	drop_linear_fwd_cpu(&d, x.v, &tw, b.v, gy2);
	CHECK(!memcmp(gy, gy2, y.n * sizeof *gy), "%s: repeat is bit-identical", name);
	drop_linear_bwd_data_cpu(&d, dy.v, &tw, gdx);
	snprintf(what, sizeof what, "%s: dx", name);
	compare_f(what, gdx, dx.v, dx.n, ATOL, RTOL);
	drop_linear_bwd_weights_cpu(&d, x.v, dy.v, gdw, bias ? gdb : NULL);
	snprintf(what, sizeof what, "%s: dw", name);
	compare_f(what, gdw, dw.v, dw.n, ATOL, RTOL);
	if (bias) {
		snprintf(what, sizeof what, "%s: db", name);
		compare_f(what, gdb, db.v, db.n, ATOL, RTOL);
	}
	int bad = 0;
	for (size_t t = 0; t < 8; t++) {
		float *v = t % 2 ? &x.v[t * 31 % x.n] : &w.v[t * 37 % w.n];
		float ref = t % 2 ? dx.v[t * 31 % x.n] : dw.v[t * 37 % w.n], keep = *v;
		*v = keep + 0.5f;
		double lp = loss(&d, x.v, &tw, b.v, gy, dy.v);
		*v = keep - 0.5f;
		double lm = loss(&d, x.v, &tw, b.v, gy, dy.v);
		*v = keep;
		if (fabs(lp - lm - ref) > 1e-4 + 1e-4 * fabs(ref))
			bad++, printf("#   point %zu: finite difference %.7g, backward %.7g\n", t,
			              lp - lm, ref);
	}
	CHECK(bad == 0, "%s: backward agrees with finite differences at 8 points", name);
	free(gy), free(gy2), free(gdx), free(gdw), free(gdb);
	free(x.v), free(w.v), free(y.v), free(dy.v), free(dx.v), free(dw.v), free(b.v), free(db.v);
}

int main(void)
{
	run("linear_bias", true);
	run("linear", false);
	drop_cpu_release();
	return tap_done();
}

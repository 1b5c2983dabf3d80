/*
 * tests: kernels/cpu/softmax.c - softmax over channels, the channel maximum (foreground
 * map) and L2 normalisation (with a zero row at the 1e-12 floor), forward and backward,
 * float and double paths, against PyTorch (fixtures of scripts/make-fixtures); the double
 * path against central finite differences of L = sum(r * y); the float exp of
 * kernels/maths/maths_ops.h against libm's double exp.
 * also requires: test/fixtures/ops (committed)
 */
#include "test_ops_util.h"
#include "../../kernels/maths/maths_ops.h"

#include <omp.h>

/* Float path: drop_expf within 1 ulp, K-term sums in float: 1e-6 + 1e-5 |ref|. Double path
 * against float32-rounded references: 1e-6 + 1e-6 |ref|. The floored zero row's dx is
 * dy / 1e-12 (~1e12): relative tolerance covers it. */
static double *to_f64(const float *v, size_t n)
{
	double *d = drop_malloc(n * sizeof *d);
	for (size_t i = 0; i < n; i++)
		d[i] = v[i];
	return d;
}

/* Central differences of L = sum r f(x) in double: h = 1e-6; truncation h^2 f''' and
 * rounding 1e-16 |L| / h are both below 1e-9; tolerance 1e-7 + 1e-6 |grad|. Points whose
 * gradient is huge (the floored row) are skipped: f is not differentiable there. */
static void fd(const char *what, int n, int k, int hw, const double *x, const double *r,
               const double *grad, void (*f)(int, int, int, const double *, double *),
               size_t count)
{
	double *xx = drop_malloc(count * sizeof *xx), *y = drop_malloc(count * sizeof *y);
	double *g = drop_malloc(count * sizeof *g), *ref = drop_malloc(count * sizeof *ref);
	memcpy(xx, x, count * sizeof *xx);
	size_t m = 0;
	for (size_t i = 0; i < count; i++) {
		if (fabs(grad[i]) > 1e6)
			continue;
		double keep = xx[i], lp = 0, lm = 0;
		xx[i] = keep + 1e-6;
		f(n, k, hw, xx, y);
		for (size_t j = 0; j < count; j++)
			lp += r[j] * y[j];
		xx[i] = keep - 1e-6;
		f(n, k, hw, xx, y);
		for (size_t j = 0; j < count; j++)
			lm += r[j] * y[j];
		xx[i] = keep;
		g[m] = (lp - lm) / 2e-6;
		ref[m++] = grad[i];
	}
	compare_d(what, ref, g, m, 1e-7, 1e-6);
	free(xx), free(y), free(g), free(ref);
}

static void softmax64(int n, int k, int hw, const double *x, double *y)
{
	drop_softmax_fwd_cpu_f64(n, k, hw, x, y);
}

static void l2norm64(int n, int k, int hw, const double *x, double *y)
{
	(void)hw;
	drop_l2norm_fwd_cpu_f64(n, k, x, y);
}

static void test_softmax(void)
{
	struct fix x = fix_load("softmax", "x"), y = fix_load("softmax", "y"),
	           dy = fix_load("softmax", "dy"), dx = fix_load("softmax", "dx");
	int n = x.sh[0], k = x.sh[1], hw = x.sh[2] * x.sh[3];
	float *gy = drop_malloc(x.n * sizeof *gy), *gdx = drop_malloc(x.n * sizeof *gdx);
	drop_softmax_fwd_cpu(n, k, hw, x.v, gy);
	compare_f("softmax: y", gy, y.v, y.n, 1e-6, 1e-5);
	drop_softmax_bwd_cpu(n, k, hw, gy, dy.v, gdx);
	compare_f("softmax: dx", gdx, dx.v, dx.n, 1e-6, 1e-5);

	double *xd = to_f64(x.v, x.n), *yd = drop_malloc(x.n * sizeof *yd), *rd = to_f64(dy.v, x.n),
	       *dxd = drop_malloc(x.n * sizeof *dxd), *yr = to_f64(y.v, x.n), *dxr = to_f64(dx.v, x.n);
	drop_softmax_fwd_cpu_f64(n, k, hw, xd, yd);
	compare_d("softmax (double path): y", yd, yr, x.n, 1e-6, 1e-6);
	drop_softmax_bwd_cpu_f64(n, k, hw, yd, rd, dxd);
	compare_d("softmax (double path): dx", dxd, dxr, x.n, 1e-6, 1e-6);
	fd("softmax: dx = finite differences", n, k, hw, xd, rd, dxd, softmax64, x.n);
	free(gy), free(gdx), free(xd), free(yd), free(rd), free(dxd), free(yr), free(dxr);
	free(x.v), free(y.v), free(dy.v), free(dx.v);
}

static void test_l2norm(void)
{
	struct fix x = fix_load("l2norm", "x"), y = fix_load("l2norm", "y"),
	           dy = fix_load("l2norm", "dy"), dx = fix_load("l2norm", "dx");
	int n = x.sh[0], dim = x.sh[1];
	float *gy = drop_malloc(x.n * sizeof *gy), *gdx = drop_malloc(x.n * sizeof *gdx);
	drop_l2norm_fwd_cpu(n, dim, x.v, gy);
	compare_f("l2norm: y", gy, y.v, y.n, 1e-6, 1e-5);
	drop_l2norm_bwd_cpu(n, dim, x.v, dy.v, gdx);
	compare_f("l2norm: dx (a zero row at the floor)", gdx, dx.v, dx.n, 1e-6, 1e-5);

	double *xd = to_f64(x.v, x.n), *yd = drop_malloc(x.n * sizeof *yd), *rd = to_f64(dy.v, x.n),
	       *dxd = drop_malloc(x.n * sizeof *dxd), *dxr = to_f64(dx.v, x.n);
	drop_l2norm_fwd_cpu_f64(n, dim, xd, yd);
	drop_l2norm_bwd_cpu_f64(n, dim, xd, rd, dxd);
	compare_d("l2norm (double path): dx", dxd, dxr, x.n, 1e-6, 1e-6);
	fd("l2norm: dx = finite differences", n, dim, 1, xd, rd, dxd, l2norm64, x.n);
	free(gy), free(gdx), free(xd), free(yd), free(rd), free(dxd), free(dxr);
	free(x.v), free(y.v), free(dy.v), free(dx.v);
}

/* drop_expf against exp in double, in units of the float spacing at exp(x), on a 1e-3 grid
 * of [-87.3, 88.3] plus the ends: measured worst 0.99 ulp, limit 1.5; 0 below -87.3. */
static void test_expf(void)
{
	double worst = 0, at = 0;
	for (int i = 0; i <= 175600; i++) {
		float x = i == 175600 ? 88.3f : -87.3f + 1e-3f * (float)i;
		double r = exp((double)x);
		float rf = (float)r;
		double ulp = (double)nextafterf(rf, INFINITY) - rf, e = fabs(drop_expf(x) - r) / ulp;
		if (e > worst)
			worst = e, at = x;
	}
	CHECK(worst <= 1.5, "drop_expf: within 1.5 ulp of exp on [-87.3, 88.3] (worst %.3f at %g)",
	      worst, at);
	CHECK(drop_expf(-87.31f) == 0 && drop_expf(-1e30f) == 0 && drop_expf(-INFINITY) == 0,
	      "drop_expf: 0 below -87.3");
	CHECK(drop_expf(0) == 1 && drop_expf(1e30f) == drop_expf(88.3f),
	      "drop_expf: exp(0) = 1, clamped above 88.3");
}

/* The softmax of a map big enough to run on several threads: the same bits on 1 and 2. */
static void test_softmax_threads(void)
{
	int n = 4, k = 9, hw = 64 * 32;
	size_t m = (size_t)n * k * hw;
	float *x = drop_malloc(m * sizeof *x), *y1 = drop_malloc(m * sizeof *y1), *y2 = drop_malloc(m * sizeof *y2);
	for (size_t i = 0; i < m; i++)
		x[i] = (float)((i * 2654435761u) % 2001) / 100.0f - 10.0f;
	omp_set_num_threads(1);
	drop_softmax_fwd_cpu(n, k, hw, x, y1);
	omp_set_num_threads(2);
	drop_softmax_fwd_cpu(n, k, hw, x, y2);
	CHECK(memcmp(y1, y2, m * sizeof *y1) == 0, "softmax: 1 and 2 threads give the same bits");
	free(x), free(y1), free(y2);
}

/* Piecewise linear: the fixture is exact (copies only). */
static void test_chanmax(void)
{
	struct fix x = fix_load("chanmax", "x"), y = fix_load("chanmax", "y"),
	           dy = fix_load("chanmax", "dy"), dx = fix_load("chanmax", "dx");
	int n = x.sh[0], k = x.sh[1], hw = x.sh[2] * x.sh[3];
	float *gy = drop_malloc(y.n * sizeof *gy), *gdx = drop_malloc(x.n * sizeof *gdx);
	int *am = drop_malloc(y.n * sizeof *am);
	drop_chanmax_fwd_cpu(n, k, hw, 1, x.v, gy, am);
	compare_f("chanmax (channels 1..K-1): y", gy, y.v, y.n, 0, 0);
	drop_chanmax_bwd_cpu(n, k, hw, am, dy.v, gdx);
	compare_f("chanmax: dx", gdx, dx.v, dx.n, 0, 0);
	free(gy), free(gdx), free(am), free(x.v), free(y.v), free(dy.v), free(dx.v);
}

int main(void)
{
	test_expf();
	test_chanmax();
	test_softmax();
	test_softmax_threads();
	test_l2norm();
	return tap_done();
}

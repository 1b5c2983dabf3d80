/*
 * tests: kernels/cpu/pdist.c - pairwise Euclidean distances (torch.cdist, p = 2), forward
 * and backward, float and double paths, against PyTorch (fixtures of scripts/make-fixtures,
 * with one pair at distance 0); the double path against central finite differences of
 * L = sum(dd * d); 1 and 2 threads bit for bit.
 * also requires: test/fixtures/ops (committed)
 */
#include "test_ops_util.h"

#include <omp.h>

/* Float path: sums in double, one rounding per output: 1e-6 + 1e-5 |ref|. Double path
 * against float32-rounded references: 1e-6 + 1e-6 |ref|. */
static double *to_f64(const float *v, size_t n)
{
	double *d = drop_malloc(n * sizeof *d);
	for (size_t i = 0; i < n; i++)
		d[i] = v[i];
	return d;
}

/* L = sum dd * d(x, y) in double. */
static double loss(int n, int m, int dim, const double *x, const double *y, const double *dd)
{
	double *d = drop_malloc((size_t)n * m * sizeof *d), l = 0;
	drop_pdist_fwd_cpu_f64(n, m, dim, x, y, d);
	for (size_t i = 0; i < (size_t)n * m; i++)
		l += dd[i] * d[i];
	free(d);
	return l;
}

/* Central differences with h = 1e-6 over every entry of v (x or y): truncation h^2 and
 * rounding 1e-16 |L| / h are below 1e-9; tolerance 1e-7 + 1e-6 |grad|. At the pair at
 * distance 0 the difference is (|h| - |-h|) / 2h = 0, PyTorch's subgradient. */
static void fd(const char *what, int n, int m, int dim, double *x, double *y, double *v,
               size_t count, const double *dd, const double *grad)
{
	double *g = drop_malloc(count * sizeof *g);
	for (size_t i = 0; i < count; i++) {
		double keep = v[i];
		v[i] = keep + 1e-6;
		double lp = loss(n, m, dim, x, y, dd);
		v[i] = keep - 1e-6;
		double lm = loss(n, m, dim, x, y, dd);
		v[i] = keep;
		g[i] = (lp - lm) / 2e-6;
	}
	compare_d(what, grad, g, count, 1e-7, 1e-6);
	free(g);
}

static void test_fixture(void)
{
	struct fix x = fix_load("pdist", "x"), y = fix_load("pdist", "y"), d = fix_load("pdist", "d"),
	           dd = fix_load("pdist", "dd"), dx = fix_load("pdist", "dx"),
	           dy = fix_load("pdist", "dy");
	int n = x.sh[0], m = y.sh[0], dim = x.sh[1];
	CHECK(d.sh[0] == n && d.sh[1] == m && y.sh[1] == dim, "pdist fixture: shapes agree");
	float *gd = drop_malloc(d.n * sizeof *gd), *gdx = drop_malloc(x.n * sizeof *gdx),
	      *gdy = drop_malloc(y.n * sizeof *gdy);
	drop_pdist_fwd_cpu(n, m, dim, x.v, y.v, gd);
	compare_f("pdist: d", gd, d.v, d.n, 1e-6, 1e-5);
	CHECK(gd[1 * m + 3] == 0, "pdist: the duplicated row is at distance 0");
	drop_pdist_bwd_cpu(n, m, dim, x.v, y.v, gd, dd.v, gdx, gdy);
	compare_f("pdist: dx (a pair at distance 0)", gdx, dx.v, dx.n, 1e-6, 1e-5);
	compare_f("pdist: dy", gdy, dy.v, dy.n, 1e-6, 1e-5);
	float *only = drop_malloc(x.n * sizeof *only);
	drop_pdist_bwd_cpu(n, m, dim, x.v, y.v, gd, dd.v, only, NULL);
	CHECK(memcmp(only, gdx, x.n * sizeof *only) == 0, "pdist: dx alone (dy NULL) is the same");

	double *xd = to_f64(x.v, x.n), *yd = to_f64(y.v, y.n), *ddd = to_f64(dd.v, dd.n);
	double *d64 = drop_malloc(d.n * sizeof *d64), *dx64 = drop_malloc(x.n * sizeof *dx64),
	       *dy64 = drop_malloc(y.n * sizeof *dy64);
	double *dref = to_f64(d.v, d.n), *dxref = to_f64(dx.v, dx.n), *dyref = to_f64(dy.v, dy.n);
	drop_pdist_fwd_cpu_f64(n, m, dim, xd, yd, d64);
	compare_d("pdist (double path): d", d64, dref, d.n, 1e-6, 1e-6);
	drop_pdist_bwd_cpu_f64(n, m, dim, xd, yd, d64, ddd, dx64, dy64);
	compare_d("pdist (double path): dx", dx64, dxref, x.n, 1e-6, 1e-6);
	compare_d("pdist (double path): dy", dy64, dyref, y.n, 1e-6, 1e-6);
	fd("pdist: dx = finite differences", n, m, dim, xd, yd, xd, x.n, ddd, dx64);
	fd("pdist: dy = finite differences", n, m, dim, xd, yd, yd, y.n, ddd, dy64);

	free(gd), free(gdx), free(gdy), free(only), free(xd), free(yd), free(ddd), free(d64);
	free(dx64), free(dy64), free(dref), free(dxref), free(dyref);
	free(x.v), free(y.v), free(d.v), free(dd.v), free(dx.v), free(dy.v);
}

/* Big enough to run on several threads: 1 and 2 threads give the same bits. */
static void test_threads(void)
{
	int n = 64, m = 200, dim = 64;
	size_t nx = (size_t)n * dim, ny = (size_t)m * dim, nd = (size_t)n * m;
	float *x = drop_malloc(nx * sizeof *x), *y = drop_malloc(ny * sizeof *y), *dd = drop_malloc(nd * 4);
	float *out[2][3];
	for (size_t i = 0; i < nx; i++)
		x[i] = (float)((i * 2654435761u) % 1001) / 500.0f - 1.0f;
	for (size_t i = 0; i < ny; i++)
		y[i] = (float)((i * 40503u + 7) % 999) / 500.0f - 1.0f;
	for (size_t i = 0; i < nd; i++)
		dd[i] = (float)((i * 69069u) % 97) / 48.0f - 1.0f;
	for (int t = 0; t < 2; t++) {
		out[t][0] = drop_malloc(nd * sizeof(float));
		out[t][1] = drop_malloc(nx * sizeof(float));
		out[t][2] = drop_malloc(ny * sizeof(float));
		omp_set_num_threads(t + 1);
		drop_pdist_fwd_cpu(n, m, dim, x, y, out[t][0]);
		drop_pdist_bwd_cpu(n, m, dim, x, y, out[t][0], dd, out[t][1], out[t][2]);
	}
	CHECK(memcmp(out[0][0], out[1][0], nd * sizeof(float)) == 0 &&
	              memcmp(out[0][1], out[1][1], nx * sizeof(float)) == 0 &&
	              memcmp(out[0][2], out[1][2], ny * sizeof(float)) == 0,
	      "pdist: 1 and 2 threads give the same bits (d, dx, dy)");
	for (int t = 0; t < 2; t++)
		for (int k = 0; k < 3; k++)
			free(out[t][k]);
	free(x), free(y), free(dd);
}

int main(void)
{
	test_fixture();
	test_threads();
	return tap_done();
}

/*
 * tests: kernels/cpu/pool.c - global average and max pooling and WAMP (doc/model.md §4, with
 * a map below the 1e-6 mass floor), forward and backward, plain and blocked features,
 * against PyTorch (fixtures of scripts/make-fixtures); finite differences of
 * L = sum(r * out) for WAMP's features and maps; the global backward added to dx, and
 * WAMP's backward in two calls (dm, then dx without x).
 * also requires: test/fixtures/ops (committed)
 */
#include "test_ops_util.h"

/* Sums of at most 15 pixels and 11 channels in double, one float rounding: 1e-5 + 1e-5
 * |ref| (values ~1). The floored map divides by 1e-6, so its dm entries are ~1e6 and
 * carry the same relative tolerance. */
#define ATOL 1e-5
#define RTOL 1e-5

static void test_global(enum drop_layout layout)
{
	char what[96];
	struct fix x = fix_load("pool_global", "x"), avg = fix_load("pool_global", "avg"),
	           mx = fix_load("pool_global", "max"), davg = fix_load("pool_global", "davg"),
	           dmax = fix_load("pool_global", "dmax"), dx = fix_load("pool_global", "dx");
	struct drop_pool_desc d = { x.sh[0], x.sh[1], x.sh[2], x.sh[3], layout, 0, false };
	struct drop_tensor tx = tensor_from(x.v, d.n, d.c, d.h, d.w, layout),
	                   tdx = tensor_from(NULL, d.n, d.c, d.h, d.w, layout);
	float *a = drop_malloc(avg.n * sizeof *a), *m = drop_malloc(avg.n * sizeof *m);
	int *am = drop_malloc(avg.n * sizeof *am);
	drop_pool_global_fwd_cpu(&d, tx.data, a, m, am);
	snprintf(what, sizeof what, "global pool (%s): avg", layout_name(layout));
	compare_f(what, a, avg.v, avg.n, ATOL, RTOL);
	snprintf(what, sizeof what, "global pool (%s): max", layout_name(layout));
	compare_f(what, m, mx.v, mx.n, 0, 0);
	drop_pool_global_bwd_cpu(&d, davg.v, dmax.v, am, tdx.data);
	float *g = tensor_plain(&tdx);
	snprintf(what, sizeof what, "global pool (%s): dx", layout_name(layout));
	compare_f(what, g, dx.v, dx.n, ATOL, RTOL);
	CHECK(padding_zero(&tdx), "%s: padding lanes zero", what);

	/* accumulate (the average's gradient, as the heads use it): added to what dx held (x
	 * here), one rounding each */
	struct drop_pool_desc da = d;
	da.accumulate = true;
	size_t nf = drop_tensor_floats(&tdx, drop_cpu_block());
	float *sum = drop_malloc(nf * sizeof *sum);
	drop_pool_global_bwd_cpu(&d, davg.v, NULL, NULL, tdx.data);
	for (size_t i = 0; i < nf; i++)
		sum[i] = tx.data[i] + tdx.data[i];
	drop_pool_global_bwd_cpu(&da, davg.v, NULL, NULL, tx.data);
	snprintf(what, sizeof what, "global pool (%s): dx accumulated", layout_name(layout));
	CHECK(!memcmp(sum, tx.data, nf * sizeof *sum), "%s: x + dx, bit for bit", what);
	free(sum);
	free(g), free(a), free(m), free(am), free(tx.data), free(tdx.data);
	free(x.v), free(avg.v), free(mx.v), free(davg.v), free(dmax.v), free(dx.v);
}

static double wamp_loss(const struct drop_pool_desc *d, const float *x, const float *m,
                        const float *r, float *e, int *am, size_t ne)
{
	drop_wamp_fwd_cpu(d, x, m, e, am);
	double l = 0;
	for (size_t i = 0; i < ne; i++)
		l += (double)r[i] * e[i];
	return l;
}

static void test_wamp(enum drop_layout layout)
{
	char what[96];
	struct fix x = fix_load("wamp", "x"), m = fix_load("wamp", "m"), e = fix_load("wamp", "e"),
	           de = fix_load("wamp", "de"), dx = fix_load("wamp", "dx"),
	           dm = fix_load("wamp", "dm");
	struct drop_pool_desc d = { x.sh[0], x.sh[1], x.sh[2], x.sh[3], layout, m.sh[1], false };
	struct drop_tensor tx = tensor_from(x.v, d.n, d.c, d.h, d.w, layout),
	                   tdx = tensor_from(NULL, d.n, d.c, d.h, d.w, layout);
	float *got = drop_malloc(e.n * sizeof *got), *gm = drop_malloc(m.n * sizeof *gm);
	int *am = drop_malloc(e.n * sizeof *am);
	drop_wamp_fwd_cpu(&d, tx.data, m.v, got, am);
	snprintf(what, sizeof what, "wamp (%s): e", layout_name(layout));
	compare_f(what, got, e.v, e.n, ATOL, RTOL);
	drop_wamp_bwd_cpu(&d, tx.data, m.v, am, de.v, tdx.data, gm);
	float *g = tensor_plain(&tdx);
	snprintf(what, sizeof what, "wamp (%s): dx", layout_name(layout));
	compare_f(what, g, dx.v, dx.n, ATOL, RTOL);
	CHECK(padding_zero(&tdx), "%s: padding lanes zero", what);
	snprintf(what, sizeof what, "wamp (%s): dm", layout_name(layout));
	compare_f(what, gm, dm.v, dm.n, ATOL, RTOL);

	/* dm alone, then dx alone without x (the heads' two phases): the same bits */
	{
		size_t nf = drop_tensor_floats(&tdx, drop_cpu_block());
		float *dx2 = drop_malloc(nf * sizeof *dx2), *gm2 = drop_malloc(m.n * sizeof *gm2);
		drop_wamp_bwd_cpu(&d, tx.data, m.v, am, de.v, NULL, gm2);
		drop_wamp_bwd_cpu(&d, NULL, m.v, am, de.v, dx2, NULL);
		snprintf(what, sizeof what, "wamp (%s): dm, then dx without x", layout_name(layout));
		CHECK(!memcmp(dx2, tdx.data, nf * sizeof *dx2) && !memcmp(gm2, gm, m.n * sizeof *gm),
		      "%s: the bits of both at once", what);
		free(dx2), free(gm2);
	}

	/* Finite differences (plain only): the loss is piecewise linear in x and in m (the max
	 * switches pixel only beyond the step), so h = 1e-3 on well-separated points is
	 * exact up to rounding; the floored map's dm (~1e6) is checked by the fixture only. */
	if (layout == DROP_PLAIN) {
		int bad = 0;
		const double h = 1e-3;
		for (size_t t = 0; t < 10; t++) {
			size_t i = t * 7919 % x.n;
			float keep = tx.data[i];
			tx.data[i] = keep + (float)h;
			double lp = wamp_loss(&d, tx.data, m.v, de.v, got, am, e.n);
			tx.data[i] = keep - (float)h;
			double lm = wamp_loss(&d, tx.data, m.v, de.v, got, am, e.n);
			tx.data[i] = keep;
			double fd = (lp - lm) / (2 * h);
			if (fabs(fd - dx.v[i]) > 2e-2 + 1e-2 * fabs(dx.v[i]))
				bad++, printf("#   dx[%zu]: %.6g vs %.6g\n", i, fd, dx.v[i]);
		}
		size_t hw = (size_t)d.h * d.w;
		for (size_t t = 0; t < 10; t++) {
			size_t i = t * 104729 % m.n;
			if (i / hw == 2) /* image 0, map 2: floored */
				continue;
			float keep = m.v[i];
			m.v[i] = keep + (float)h;
			double lp = wamp_loss(&d, tx.data, m.v, de.v, got, am, e.n);
			m.v[i] = keep - (float)h;
			double lm = wamp_loss(&d, tx.data, m.v, de.v, got, am, e.n);
			m.v[i] = keep;
			double fd = (lp - lm) / (2 * h);
			if (fabs(fd - dm.v[i]) > 2e-2 + 1e-2 * fabs(dm.v[i]))
				bad++, printf("#   dm[%zu]: %.6g vs %.6g\n", i, fd, dm.v[i]);
		}
		CHECK(bad == 0, "wamp: backward agrees with finite differences");
	}
	free(g), free(got), free(gm), free(am), free(tx.data), free(tdx.data);
	free(x.v), free(m.v), free(e.v), free(de.v), free(dx.v), free(dm.v);
}

int main(void)
{
	test_global(DROP_PLAIN);
	test_global(DROP_BLOCKED);
	test_wamp(DROP_PLAIN);
	test_wamp(DROP_BLOCKED);
	return tap_done();
}

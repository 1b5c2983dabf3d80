/*
 * tests: kernels/cpu/resample.c - nearest up x2 and x8, bilinear up, odd and down sizes
 * with align_corners true and false, forward and backward, plain and blocked layouts,
 * against PyTorch's F.interpolate (fixtures of scripts/make-fixtures); bit-identical
 * layouts; finite differences of L = sum(r * y).
 * also requires: test/fixtures/ops (committed)
 */
#include "test_ops_util.h"

/* At most 4 products summed per output (forward) or per scatter target (backward, up to
 * (in/out + 1)^2 taps when shrinking): 1e-6 + 1e-5 |ref| is ~10x the float error. */
#define ATOL 1e-6
#define RTOL 1e-5

struct rcase {
	const char *name;
	enum drop_resample_mode mode;
	bool ac;
};

static const struct rcase cases[] = {
	{ "up_nearest_x2", DROP_NEAREST, false },  { "up_nearest_x8", DROP_NEAREST, false },
	{ "bilinear_ac_x4", DROP_BILINEAR, true }, { "bilinear_ac_odd", DROP_BILINEAR, true },
	{ "bilinear_x2", DROP_BILINEAR, false },   { "bilinear_odd", DROP_BILINEAR, false },
	{ "bilinear_down", DROP_BILINEAR, false }, { "bilinear_ac_down", DROP_BILINEAR, true },
};

static double loss(const struct drop_resample_desc *d, const struct drop_tensor *x,
                   struct drop_tensor *y, const float *r)
{
	drop_resample_fwd_cpu(d, x->data, y->data);
	float *yp = tensor_plain(y);
	double l = 0;
	for (size_t i = 0; i < drop_tensor_floats(y, 1); i++)
		l += (double)r[i] * yp[i];
	free(yp);
	return l;
}

static void run(const struct rcase *c, enum drop_layout layout, float **yout, float **dxout)
{
	char what[128];
	struct fix x = fix_load(c->name, "x"), y = fix_load(c->name, "y"),
	           dy = fix_load(c->name, "dy"), dx = fix_load(c->name, "dx");
	struct drop_resample_desc d = { x.sh[0], x.sh[1], x.sh[2], x.sh[3], y.sh[2], y.sh[3],
	                                layout, c->mode, c->ac, 0 };
	struct drop_tensor tx = tensor_from(x.v, d.n, d.c, d.h, d.w, layout),
	                   ty = tensor_from(NULL, d.n, d.c, d.ho, d.wo, layout),
	                   tdy = tensor_from(dy.v, d.n, d.c, d.ho, d.wo, layout),
	                   tdx = tensor_from(NULL, d.n, d.c, d.h, d.w, layout);
	drop_resample_fwd_cpu(&d, tx.data, ty.data);
	float *yp = tensor_plain(&ty);
	snprintf(what, sizeof what, "%s (%s): y", c->name, layout_name(layout));
	compare_f(what, yp, y.v, y.n, ATOL, RTOL);
	CHECK(padding_zero(&ty), "%s: padding lanes zero", what);
	drop_resample_bwd_cpu(&d, tdy.data, tdx.data);
	float *dxp = tensor_plain(&tdx);
	snprintf(what, sizeof what, "%s (%s): dx", c->name, layout_name(layout));
	compare_f(what, dxp, dx.v, dx.n, ATOL, RTOL);
	CHECK(padding_zero(&tdx), "%s: padding lanes zero", what);

	/* Linear in x: central differences with h = 0.5 are exact up to float rounding. */
	if (layout == DROP_BLOCKED) {
		int bad = 0;
		for (size_t t = 0; t < 8; t++) {
			size_t i = t * 7919 % x.n;
			int n = (int)(i / ((size_t)d.c * d.h * d.w)), ch = (int)(i / ((size_t)d.h * d.w) % d.c);
			int hh = (int)(i / d.w % d.h), ww = (int)(i % d.w);
			float *p = &tx.data[drop_tensor_index(&tx, drop_cpu_block(), n, ch, hh, ww)];
			float keep = *p;
			*p = keep + 0.5f;
			double lp = loss(&d, &tx, &ty, dy.v);
			*p = keep - 0.5f;
			double lm = loss(&d, &tx, &ty, dy.v);
			*p = keep;
			double g = lp - lm;
			if (fabs(g - dx.v[i]) > 1e-4 + 1e-4 * fabs(dx.v[i])) {
				bad++;
				printf("#   dx[%zu]: finite difference %.7g, backward %.7g\n", i, g,
				       dx.v[i]);
			}
		}
		CHECK(bad == 0, "%s: backward agrees with finite differences at 8 points", c->name);
	}
	*yout = yp;
	*dxout = dxp;
	free(tx.data), free(ty.data), free(tdy.data), free(tdx.data);
	free(x.v), free(y.v), free(dy.v), free(dx.v);
}

int main(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		float *yp, *dxp, *yb, *dxb;
		run(&cases[i], DROP_PLAIN, &yp, &dxp);
		run(&cases[i], DROP_BLOCKED, &yb, &dxb);
		struct fix x = fix_load(cases[i].name, "x"), y = fix_load(cases[i].name, "y");
		CHECK(!memcmp(yp, yb, y.n * sizeof *yp) && !memcmp(dxp, dxb, x.n * sizeof *dxp),
		      "%s: plain and blocked layouts give the same bits", cases[i].name);
		free(yp), free(dxp), free(yb), free(dxb), free(x.v), free(y.v);
	}
	return tap_done();
}

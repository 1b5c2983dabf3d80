/*
 * tests: kernels/cpu/batchnorm.c - batch norm 2-D and 1-D against PyTorch (fixtures of
 * scripts/make-fixtures): training forward (output, running mean and unbiased running
 * variance with momentum 0.1, eps 1e-5), eval forward, training backward, the frozen bias
 * (beta NULL), plain and blocked layouts agreeing bit for bit, the double-precision
 * path against central finite differences of L = sum(r * y), and the forward's fused ReLU
 * and bf16 output against the separate ops, bit for bit.
 * also requires: test/fixtures/ops (committed)
 */
#include <omp.h>

#include "test_ops_util.h"

/* Float path: per-channel sums in double, one float rounding per output, so errors are a
 * few float ulps of the values (|y| ~ 3, |dx| ~ 1): 1e-5 + 1e-5 |ref|. The double path
 * against the same float32-rounded references: the references' own rounding, 1e-6
 * relative plus 1e-6. */
#define ATOL 1e-5
#define RTOL 1e-5
#define ATOL64 1e-6
#define RTOL64 1e-6

static double *to_f64(const float *v, size_t n)
{
	double *d = drop_malloc(n * sizeof *d);
	for (size_t i = 0; i < n; i++)
		d[i] = v[i];
	return d;
}

static struct drop_bn_desc desc(const struct fix *x, enum drop_layout layout)
{
	struct drop_bn_desc d = { .n = x->sh[0], .c = x->sh[1], .h = x->ndim == 4 ? x->sh[2] : 1,
	                          .w = x->ndim == 4 ? x->sh[3] : 1, .layout = layout,
	                          .eps = 1e-5f, .momentum = 0.1f };
	return d;
}

/* The bn2d_train fixture's x, gamma, beta and dy, with x and dy as tensors in a layout. */
struct train_case {
	struct fix x, g, b, dy;
	struct drop_bn_desc d;
	struct drop_tensor tx, tdy;
	size_t nf; /* floats of tx (padding included) */
};

static struct train_case train_case_load(enum drop_layout layout)
{
	struct train_case c = { .x = fix_load("bn2d_train", "x"), .g = fix_load("bn2d_train", "gamma"),
	                        .b = fix_load("bn2d_train", "beta"),
	                        .dy = fix_load("bn2d_train", "dy") };
	c.d = desc(&c.x, layout);
	c.tx = tensor_from(c.x.v, c.d.n, c.d.c, c.d.h, c.d.w, layout);
	c.tdy = tensor_from(c.dy.v, c.d.n, c.d.c, c.d.h, c.d.w, layout);
	c.nf = drop_tensor_floats(&c.tx, drop_cpu_block());
	return c;
}

static void train_case_free(struct train_case *c)
{
	free(c->tx.data), free(c->tdy.data), free(c->x.v), free(c->g.v), free(c->b.v), free(c->dy.v);
}

/* Training forward + backward of fixture `name` in `layout`; frozen: beta NULL. Returns the
 * plain y and dx (for the layout comparison). */
static void train_case(const char *name, enum drop_layout layout, bool frozen, float **yout,
                       float **dxout)
{
	char what[128];
	struct fix x = fix_load(name, "x"), g = fix_load(name, "gamma"), b = fix_load(name, "beta"),
	           rm = fix_load(name, "rm_in"), rv = fix_load(name, "rv_in"),
	           y = fix_load(name, "y"), dy = fix_load(name, "dy"), dx = fix_load(name, "dx"),
	           dg = fix_load(name, "dgamma"), rmo = fix_load(name, "rm_out"),
	           rvo = fix_load(name, "rv_out");
	struct fix db = { 0 };
	if (!frozen)
		db = fix_load(name, "dbeta");
	struct drop_bn_desc d = desc(&x, layout);
	/* 1-D batch norm is plain by definition (ops.h). */
	if (x.ndim == 2 && layout == DROP_BLOCKED)
		d.layout = DROP_PLAIN;
	struct drop_tensor tx = tensor_from(x.v, d.n, d.c, d.h, d.w, d.layout),
	                   ty = tensor_from(NULL, d.n, d.c, d.h, d.w, d.layout),
	                   tdy = tensor_from(dy.v, d.n, d.c, d.h, d.w, d.layout),
	                   tdx = tensor_from(NULL, d.n, d.c, d.h, d.w, d.layout);
	float *smean = drop_malloc(d.c * sizeof(float)), *sinv = drop_malloc(d.c * sizeof(float));
	float *dgam = drop_malloc(d.c * sizeof(float)), *dbet = drop_malloc(d.c * sizeof(float));

	drop_bn_fwd_train_cpu(&d, tx.data, g.v, frozen ? NULL : b.v, rm.v, rv.v, ty.data, smean,
	                      sinv);
	float *yp = tensor_plain(&ty);
	snprintf(what, sizeof what, "%s (%s): y", name, layout_name(d.layout));
	compare_f(what, yp, y.v, y.n, ATOL, RTOL);
	CHECK(padding_zero(&ty), "%s: padding lanes zero", what);
	snprintf(what, sizeof what, "%s (%s): running mean", name, layout_name(d.layout));
	compare_f(what, rm.v, rmo.v, rmo.n, ATOL, RTOL);
	snprintf(what, sizeof what, "%s (%s): running var", name, layout_name(d.layout));
	compare_f(what, rv.v, rvo.v, rvo.n, ATOL, RTOL);

	drop_bn_bwd_cpu(&d, tx.data, tdy.data, g.v, smean, sinv, tdx.data, dgam,
	                frozen ? NULL : dbet);
	float *dxp = tensor_plain(&tdx);
	snprintf(what, sizeof what, "%s (%s): dx", name, layout_name(d.layout));
	compare_f(what, dxp, dx.v, dx.n, ATOL, RTOL);
	CHECK(padding_zero(&tdx), "%s: padding lanes zero", what);
	snprintf(what, sizeof what, "%s (%s): dgamma", name, layout_name(d.layout));
	compare_f(what, dgam, dg.v, dg.n, ATOL, RTOL);
	if (!frozen) {
		snprintf(what, sizeof what, "%s (%s): dbeta", name, layout_name(d.layout));
		compare_f(what, dbet, db.v, db.n, ATOL, RTOL);
	}
	*yout = yp;
	*dxout = dxp;
	free(tx.data), free(ty.data), free(tdy.data), free(tdx.data);
	free(smean), free(sinv), free(dgam), free(dbet);
	free(x.v), free(g.v), free(b.v), free(rm.v), free(rv.v), free(y.v), free(dy.v), free(dx.v);
	free(dg.v), free(rmo.v), free(rvo.v), free(db.v);
}

static void eval_case(const char *name, enum drop_layout layout)
{
	char what[128];
	struct fix x = fix_load(name, "x"), g = fix_load(name, "gamma"), b = fix_load(name, "beta"),
	           rm = fix_load(name, "rm_in"), rv = fix_load(name, "rv_in"),
	           y = fix_load(name, "y");
	struct drop_bn_desc d = desc(&x, x.ndim == 2 ? DROP_PLAIN : layout);
	struct drop_tensor tx = tensor_from(x.v, d.n, d.c, d.h, d.w, d.layout),
	                   ty = tensor_from(NULL, d.n, d.c, d.h, d.w, d.layout);
	drop_bn_fwd_eval_cpu(&d, tx.data, g.v, b.v, rm.v, rv.v, ty.data);
	float *yp = tensor_plain(&ty);
	snprintf(what, sizeof what, "%s (%s): y", name, layout_name(d.layout));
	compare_f(what, yp, y.v, y.n, ATOL, RTOL);
	free(yp), free(tx.data), free(ty.data);
	free(x.v), free(g.v), free(b.v), free(rm.v), free(rv.v), free(y.v);
}

/* L = sum r y of the double path's training forward. */
static double loss64(const struct drop_bn_desc *d, const double *x, const double *g,
                     const double *b, const double *r, double *y, double *scratch)
{
	double *rm = scratch, *rv = rm + d->c, *sm = rv + d->c, *si = sm + d->c;
	for (int c = 0; c < d->c; c++)
		rm[c] = 0, rv[c] = 1;
	drop_bn_fwd_train_cpu_f64(d, x, g, b, rm, rv, y, sm, si);
	double l = 0;
	for (size_t i = 0; i < (size_t)d->n * d->c * d->h * d->w; i++)
		l += r[i] * y[i];
	return l;
}

/* Double path: fixtures, then every gradient element by central differences (h 1e-5:
 * truncation ~h^2 |f'''| ~ 1e-10, rounding ~1e-16 |L| / h ~ 1e-10; tolerance 1e-7 +
 * 1e-6 |grad|). */
static void f64_case(const char *name, bool frozen)
{
	char what[128];
	struct fix x = fix_load(name, "x"), g = fix_load(name, "gamma"), b = fix_load(name, "beta"),
	           y = fix_load(name, "y"), dy = fix_load(name, "dy"), dx = fix_load(name, "dx"),
	           dg = fix_load(name, "dgamma");
	struct drop_bn_desc d = desc(&x, DROP_PLAIN);
	size_t n = x.n;
	double *xd = to_f64(x.v, n), *gd = to_f64(g.v, d.c), *bd = to_f64(b.v, d.c),
	       *r = to_f64(dy.v, n), *yd = drop_malloc(n * sizeof *yd), *dxd = drop_malloc(n * sizeof *dxd),
	       *dgd = drop_malloc(d.c * sizeof *dgd), *dbd = drop_malloc(d.c * sizeof *dbd),
	       *scr = drop_malloc(4 * (size_t)d.c * sizeof *scr);
	double *bn = frozen ? NULL : bd;

	loss64(&d, xd, gd, bn, r, yd, scr);
	double *yref = to_f64(y.v, n), *dxref = to_f64(dx.v, n), *dgref = to_f64(dg.v, d.c);
	snprintf(what, sizeof what, "%s (double path): y", name);
	compare_d(what, yd, yref, n, ATOL64, RTOL64);
	drop_bn_bwd_cpu_f64(&d, xd, r, gd, scr + 2 * d.c, scr + 3 * d.c, dxd, dgd,
	                    frozen ? NULL : dbd);
	snprintf(what, sizeof what, "%s (double path): dx", name);
	compare_d(what, dxd, dxref, n, ATOL64, RTOL64);
	snprintf(what, sizeof what, "%s (double path): dgamma", name);
	compare_d(what, dgd, dgref, d.c, ATOL64, RTOL64);

	const double h = 1e-5;
	double *fd = drop_malloc(n * sizeof *fd);
	for (size_t i = 0; i < n; i++) {
		double keep = xd[i];
		xd[i] = keep + h;
		double lp = loss64(&d, xd, gd, bn, r, yd, scr);
		xd[i] = keep - h;
		double lm = loss64(&d, xd, gd, bn, r, yd, scr);
		xd[i] = keep;
		fd[i] = (lp - lm) / (2 * h);
	}
	snprintf(what, sizeof what, "%s: dx = finite differences", name);
	compare_d(what, dxd, fd, n, 1e-7, 1e-6);
	double *params[2] = { gd, bd }, *grads[2] = { dgd, dbd };
	for (int p = 0; p < (frozen ? 1 : 2); p++) {
		for (int c = 0; c < d.c; c++) {
			double keep = params[p][c];
			params[p][c] = keep + h;
			double lp = loss64(&d, xd, gd, bn, r, yd, scr);
			params[p][c] = keep - h;
			double lm = loss64(&d, xd, gd, bn, r, yd, scr);
			params[p][c] = keep;
			fd[c] = (lp - lm) / (2 * h);
		}
		snprintf(what, sizeof what, "%s: %s = finite differences", name,
		         p ? "dbeta" : "dgamma");
		compare_d(what, grads[p], fd, d.c, 1e-7, 1e-6);
	}
	free(fd), free(xd), free(gd), free(bd), free(r), free(yd), free(dxd), free(dgd), free(dbd);
	free(scr), free(yref), free(dxref), free(dgref);
	free(x.v), free(g.v), free(b.v), free(y.v), free(dy.v), free(dx.v), free(dg.v);
}

/* The statistics are summed per channel in one order whatever the threads: 1 and 2
 * threads give the same bits (blocked layout, forward and backward). */
static void test_threads(void)
{
	struct train_case c = train_case_load(DROP_BLOCKED);
	struct drop_bn_desc d = c.d;
	size_t nf = c.nf;
	float *out[2];
	int threads = omp_get_max_threads();
	for (int t = 0; t < 2; t++) {
		float *o = out[t] = drop_calloc(2 * nf + 6 * d.c, sizeof(float));
		float *rm = o + 2 * nf, *rv = rm + d.c, *sm = rv + d.c, *si = sm + d.c,
		      *dg = si + d.c, *db = dg + d.c;
		for (int ch = 0; ch < d.c; ch++)
			rv[ch] = 1;
		omp_set_num_threads(t + 1);
		drop_bn_fwd_train_cpu(&d, c.tx.data, c.g.v, c.b.v, rm, rv, o, sm, si);
		drop_bn_bwd_cpu(&d, c.tx.data, c.tdy.data, c.g.v, sm, si, o + nf, dg, db);
	}
	omp_set_num_threads(threads);
	CHECK(!memcmp(out[0], out[1], (2 * nf + 6 * d.c) * sizeof(float)),
	      "batch norm: 1 and 2 threads give the same bits");
	free(out[0]), free(out[1]);
	train_case_free(&c);
}

/* ReLU(BN(x))'s fused backward against the composition the graph used before: the output
 * rebuilt, relu_bwd, bn_bwd (both layouts). The mask can differ only
 * where y is within rounding of 0; none is here: 1e-6 + 1e-6 |ref|. */
static void test_relu_bwd(enum drop_layout layout)
{
	char what[96];
	struct train_case c = train_case_load(layout);
	struct drop_bn_desc d = c.d;
	size_t nf = c.nf;
	float *y = drop_calloc(nf, sizeof *y), *dyr = drop_calloc(nf, sizeof *dyr);
	float *dx[2] = { drop_calloc(nf, sizeof(float)), drop_calloc(nf, sizeof(float)) };
	float *rm = drop_calloc(d.c, sizeof *rm), *rv = drop_calloc(d.c, sizeof *rv), *sm = drop_malloc(d.c * 4),
	      *si = drop_malloc(d.c * 4), *dg[2] = { drop_malloc(d.c * 4), drop_malloc(d.c * 4) },
	      *db[2] = { drop_malloc(d.c * 4), drop_malloc(d.c * 4) };
	drop_bn_fwd_train_cpu(&d, c.tx.data, c.g.v, c.b.v, rm, rv, y, sm, si);
	size_t pos = 0;
	for (size_t i = 0; i < nf; i++) {
		pos += y[i] > 0;
		y[i] = y[i] > 0 ? y[i] : 0;
		dyr[i] = y[i] > 0 ? c.tdy.data[i] : 0;
	}
	drop_bn_bwd_cpu(&d, c.tx.data, dyr, c.g.v, sm, si, dx[0], dg[0], db[0]);
	drop_bn_relu_bwd_cpu(&d, c.tx.data, c.tdy.data, c.g.v, c.b.v, sm, si, dx[1], dg[1], db[1]);
	CHECK(pos > nf / 4 && pos < nf * 3 / 4, "bn + relu (%s): the ReLU cuts (%zu of %zu pass)",
	      layout_name(layout), pos, nf);
	snprintf(what, sizeof what, "bn + relu fused (%s): dx", layout_name(layout));
	compare_f(what, dx[1], dx[0], nf, 1e-6, 1e-6);
	snprintf(what, sizeof what, "bn + relu fused (%s): dgamma", layout_name(layout));
	compare_f(what, dg[1], dg[0], d.c, 1e-6, 1e-6);
	snprintf(what, sizeof what, "bn + relu fused (%s): dbeta", layout_name(layout));
	compare_f(what, db[1], db[0], d.c, 1e-6, 1e-6);
	free(y), free(dyr), free(dx[0]), free(dx[1]), free(rm), free(rv), free(sm), free(si);
	free(dg[0]), free(dg[1]), free(db[0]), free(db[1]);
	train_case_free(&c);
}

/* The forward's fused ReLU (desc.relu) and bf16 output (desc.y_bf16), training and eval:
 * the bits of relu after the float forward, and of to_bf16 of those. */
static void test_fused_forward(enum drop_layout layout)
{
	struct train_case c = train_case_load(layout);
	size_t nf = c.nf;
	float *y = drop_calloc(nf, sizeof *y), *yr = drop_calloc(nf, sizeof *yr);
	uint16_t *h = drop_calloc(nf, sizeof *h), *hr = drop_calloc(nf, sizeof *hr);
	float *rm = drop_calloc(c.d.c, sizeof *rm), *rv = drop_calloc(c.d.c, sizeof *rv),
	      *sm = drop_malloc(c.d.c * 4), *si = drop_malloc(c.d.c * 4);
	int same = 1;
	for (int train = 0; train < 2; train++)
		for (int relu = 0; relu < 2; relu++) {
			struct drop_bn_desc d = c.d, dr = c.d, dh = c.d;
			dr.relu = dh.relu = relu;
			dh.y_bf16 = true;
			for (size_t i = 0; i < (size_t)c.d.c; i++)
				rm[i] = 0.1f * (float)i, rv[i] = 1.0f + 0.5f * (float)i;
			if (train) {
				drop_bn_fwd_train_cpu(&d, c.tx.data, c.g.v, c.b.v, rm, rv, y, sm, si);
				drop_bn_fwd_train_cpu(&dr, c.tx.data, c.g.v, c.b.v, rm, rv, yr, sm, si);
				drop_bn_fwd_train_cpu(&dh, c.tx.data, c.g.v, c.b.v, rm, rv, (float *)h, sm,
				                      si);
			} else {
				drop_bn_fwd_eval_cpu(&d, c.tx.data, c.g.v, c.b.v, rm, rv, y);
				drop_bn_fwd_eval_cpu(&dr, c.tx.data, c.g.v, c.b.v, rm, rv, yr);
				drop_bn_fwd_eval_cpu(&dh, c.tx.data, c.g.v, c.b.v, rm, rv, (float *)h);
			}
			if (train) { /* the rebuild from the saved statistics */
				struct drop_bn_desc ds = dr;
				ds.saved = true;
				float *yb = drop_calloc(nf, sizeof *yb);
				drop_bn_fwd_eval_cpu(&ds, c.tx.data, c.g.v, c.b.v, sm, si, yb);
				same &= !memcmp(yb, yr, nf * sizeof *yb);
				free(yb);
			}
			if (relu)
				drop_relu_cpu(nf, y, y);
			drop_to_bf16_cpu(nf, y, hr);
			same &= !memcmp(y, yr, nf * sizeof *y) && !memcmp(h, hr, nf * sizeof *h);
		}
	CHECK(same, "bn forward (%s): fused ReLU, bf16 output and the rebuild from the saved "
	      "statistics, the bits of the separate ops", layout_name(layout));
	free(y), free(yr), free(h), free(hr), free(rm), free(rv), free(sm), free(si);
	train_case_free(&c);
}

/* The ops of --sync-bn (kernels/cpu/bn_sync.c) with the bn2d_train batch cut in two parts
 * (its first N/2 images and the rest) as two processes would hold it: the parts' sums
 * added, then each part normalised and its dx computed from the added sums. Against bn_fwd_train and bn_bwd (bn_relu_bwd with
 * relu) over the whole batch: the same maths in another summation order (E[x^2] - mean^2
 * in double for the variance), so 1e-5 + 1e-5 |ref| as the float path against PyTorch;
 * dgamma and dbeta as the sum of the two parts'. */
static void test_sync(enum drop_layout layout, bool relu)
{
	char what[96];
	struct train_case c = train_case_load(layout);
	struct drop_bn_desc d = c.d, dp[2] = { c.d, c.d };
	d.relu = dp[0].relu = dp[1].relu = relu;
	dp[0].n = d.n / 2;
	dp[1].n = d.n - dp[0].n;
	size_t nf = c.nf, at[2] = { 0, nf / d.n * dp[0].n }, C = (size_t)d.c;
	CHECK(dp[0].n >= 1, "bn sync (%s): the fixture has two parts", layout_name(layout));
	float *y = drop_calloc(nf, 4), *ys = drop_calloc(nf, 4), *dx = drop_calloc(nf, 4),
	      *dxs = drop_calloc(nf, 4);
	float *rm = drop_calloc(C, 4), *rv = drop_calloc(C, 4), *rms = drop_calloc(C, 4),
	      *rvs = drop_calloc(C, 4), *sm = drop_malloc(C * 4), *si = drop_malloc(C * 4),
	      *sms = drop_malloc(C * 4), *sis = drop_malloc(C * 4), *dg = drop_malloc(C * 4),
	      *db = drop_malloc(C * 4), *dgs[2] = { drop_malloc(C * 4), drop_malloc(C * 4) },
	      *dbs[2] = { drop_malloc(C * 4), drop_malloc(C * 4) };
	double *sums = drop_calloc(2 * C, sizeof *sums), *part = drop_malloc(2 * C * sizeof *part);
	for (size_t i = 0; i < C; i++)
		rv[i] = rvs[i] = 1.0f;
	drop_bn_fwd_train_cpu(&d, c.tx.data, c.g.v, c.b.v, rm, rv, y, sm, si);
	for (int h = 0; h < 2; h++) {
		drop_bn_stats_cpu(&dp[h], c.tx.data + at[h], part);
		for (size_t i = 0; i < 2 * C; i++)
			sums[i] += part[i];
	}
	double count = (double)d.n * d.h * d.w;
	for (int h = 0; h < 2; h++) /* each part updates a running copy */
		drop_bn_fwd_sync_cpu(&dp[h], c.tx.data + at[h], sums, count, c.g.v, c.b.v,
		                     h ? rms : rm, h ? rvs : rv, ys + at[h],
		                     sms, sis);
	snprintf(what, sizeof what, "bn sync%s (%s): y", relu ? " + relu" : "", layout_name(layout));
	compare_f(what, ys, y, nf, ATOL, RTOL);
	snprintf(what, sizeof what, "bn sync (%s): saved mean and invstd", layout_name(layout));
	compare_f(what, sms, sm, C, ATOL, RTOL);
	compare_f(what, sis, si, C, ATOL, RTOL);
	/* rm, rv were updated twice (whole pass, then the first part): compare the second
	 * part's single update against one fresh update. */
	float *rm1 = drop_calloc(C, 4), *rv1 = drop_calloc(C, 4);
	for (size_t i = 0; i < C; i++)
		rv1[i] = 1.0f;
	drop_bn_fwd_train_cpu(&d, c.tx.data, c.g.v, c.b.v, rm1, rv1, y, sm, si);
	snprintf(what, sizeof what, "bn sync (%s): running mean and var", layout_name(layout));
	compare_f(what, rms, rm1, C, ATOL, RTOL);
	compare_f(what, rvs, rv1, C, ATOL, RTOL);

	if (relu)
		drop_bn_relu_bwd_cpu(&d, c.tx.data, c.tdy.data, c.g.v, c.b.v, sm, si, dx, dg, db);
	else
		drop_bn_bwd_cpu(&d, c.tx.data, c.tdy.data, c.g.v, sm, si, dx, dg, db);
	memset(sums, 0, 2 * C * sizeof *sums);
	for (int h = 0; h < 2; h++) {
		drop_bn_bwd_stats_cpu(&dp[h], c.tx.data + at[h], c.tdy.data + at[h], c.g.v, c.b.v,
		                      sms, sis, part, dgs[h], dbs[h]);
		for (size_t i = 0; i < 2 * C; i++)
			sums[i] += part[i];
	}
	for (int h = 0; h < 2; h++)
		drop_bn_bwd_sync_cpu(&dp[h], c.tx.data + at[h], c.tdy.data + at[h], c.g.v, c.b.v,
		                     sms, sis, sums, count, dxs + at[h]);
	for (size_t i = 0; i < C; i++)
		dgs[0][i] += dgs[1][i], dbs[0][i] += dbs[1][i];
	snprintf(what, sizeof what, "bn sync%s (%s): dx", relu ? " + relu" : "", layout_name(layout));
	compare_f(what, dxs, dx, nf, ATOL, RTOL);
	CHECK(padding_zero(&(struct drop_tensor){ .n = d.n, .c = d.c, .h = d.h, .w = d.w,
	                                          .layout = layout, .data = dxs }),
	      "%s: padding lanes zero", what);
	snprintf(what, sizeof what, "bn sync%s (%s): dgamma, dbeta", relu ? " + relu" : "",
	         layout_name(layout));
	compare_f(what, dgs[0], dg, C, ATOL, RTOL);
	compare_f(what, dbs[0], db, C, ATOL, RTOL);
	free(y), free(ys), free(dx), free(dxs), free(rm), free(rv), free(rms), free(rvs);
	free(sm), free(si), free(sms), free(sis), free(dg), free(db), free(dgs[0]), free(dgs[1]);
	free(dbs[0]), free(dbs[1]), free(sums), free(part), free(rm1), free(rv1);
	train_case_free(&c);
}

int main(void)
{
	for (int relu = 0; relu < 2; relu++) {
		test_sync(DROP_PLAIN, relu);
		test_sync(DROP_BLOCKED, relu);
	}
	test_fused_forward(DROP_PLAIN);
	test_fused_forward(DROP_BLOCKED);
	test_relu_bwd(DROP_PLAIN);
	test_relu_bwd(DROP_BLOCKED);
	test_threads();
	static const struct { const char *name; bool frozen; } train[] = {
		{ "bn2d_train", false }, { "bn2d_frozen", true }, { "bn1d_train", false } };
	for (size_t i = 0; i < sizeof train / sizeof train[0]; i++) {
		float *yp, *dxp, *yb, *dxb;
		train_case(train[i].name, DROP_PLAIN, train[i].frozen, &yp, &dxp);
		train_case(train[i].name, DROP_BLOCKED, train[i].frozen, &yb, &dxb);
		size_t n = 1;
		struct fix x = fix_load(train[i].name, "x");
		n = x.n;
		CHECK(!memcmp(yp, yb, n * sizeof *yp) && !memcmp(dxp, dxb, n * sizeof *dxp),
		      "%s: plain and blocked layouts give the same bits", train[i].name);
		free(yp), free(dxp), free(yb), free(dxb), free(x.v);
		f64_case(train[i].name, train[i].frozen);
	}
	eval_case("bn2d_eval", DROP_PLAIN);
	eval_case("bn2d_eval", DROP_BLOCKED);
	eval_case("bn1d_eval", DROP_PLAIN);
	return tap_done();
}

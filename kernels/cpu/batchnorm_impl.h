/*
 * batchnorm_impl.h - the body of batch norm, included by batchnorm.c twice: once with
 * REAL = float (the backend ops) and once with REAL = double (the reference path of the
 * finite-difference tests), so both come from one source. Define REAL and BN_NAME(x) before
 * including. The arithmetic per element is in kernels/maths/maths_ops.h, in double.
 *
 * Data view: G groups of L lanes - plain (N, C, H, W) is G = C, L = 1; blocked is
 * G = ceil(C/B), L = B - so element (n, g, s, l) of channel c = g L + l sits at
 * ((n G + g) HW + s) L + l. One thread owns a group and sums each channel over (n, s) in
 * that order, in double: the results depend neither on the layout nor on the thread count.
 */

static void BN_NAME(moments)(const struct drop_bn_desc *d, const REAL *x, double *mean,
                           double *var)
{
	int L = bn_lanes(d), G = bn_groups(d);
	size_t hw = (size_t)d->h * d->w;
	double m = (double)d->n * hw;
#pragma omp parallel for schedule(static) if (DROP_PAR((size_t)d->n * G * hw * L))
	for (int g = 0; g < G; g++) {
		double s1[BN_MAXL] = { 0 }, s2[BN_MAXL] = { 0 };
		for (int n = 0; n < d->n; n++) {
			const REAL *p = x + ((size_t)n * G + g) * hw * L;
			for (size_t s = 0; s < hw; s++)
				for (int l = 0; l < L; l++)
					s1[l] += p[s * L + l];
		}
		for (int l = 0; l < L; l++)
			s1[l] /= m;
		for (int n = 0; n < d->n; n++) {
			const REAL *p = x + ((size_t)n * G + g) * hw * L;
			for (size_t s = 0; s < hw; s++)
				for (int l = 0; l < L; l++) {
					double t = p[s * L + l] - s1[l];
					s2[l] += t * t;
				}
		}
		for (int l = 0; l < L && g * L + l < d->c; l++) {
			mean[g * L + l] = s1[l];
			var[g * L + l] = s2[l] / m;
		}
	}
}

/* One (n, g) block of apply: y = a (x - mu) + beta per lane with a = gamma invstd, in
 * REAL so that the lane loop vectorises (L, relu and y16 literals at the call sites); then
 * ReLU (relu), and stored as REAL (q) or as bfloat16 (q16, y16); padding lanes 0. */
static inline __attribute__((always_inline)) void
BN_NAME(apply_block)(int L, int relu, int y16, int live, size_t hw, const REAL *p,
                     const REAL *a, const REAL *mr, const REAL *be, REAL *q, uint16_t *q16)
{
	for (size_t s = 0; s < hw; s++)
		for (int l = 0; l < L; l++) {
			REAL v = a[l] * (p[s * L + l] - mr[l]) + be[l];
			v = relu && v < 0 ? 0 : v; /* drop_relu_f, in REAL */
			if (y16)
				q16[s * L + l] = drop_bf16_from_f((float)v);
			else
				q[s * L + l] = v;
		}
	for (int l = live; l < L; l++)
		for (size_t s = 0; s < hw; s++) {
			if (y16)
				q16[s * L + l] = 0;
			else
				q[s * L + l] = 0;
		}
}

/* apply_block with literal L (8, 16), relu and y16 (1 or the descriptor's, 4 bits). */
#define BN_APPLY_CASE(L_, R_, Y_)                                                          \
	BN_NAME(apply_block)(L_, R_, Y_, live, hw, p, a, mr, be, q, q16)
#define BN_APPLY_L(L_)                                                                     \
	do {                                                                               \
		if (d->relu && d->y_bf16)                                                  \
			BN_APPLY_CASE(L_, 1, 1);                                           \
		else if (d->relu)                                                          \
			BN_APPLY_CASE(L_, 1, 0);                                           \
		else if (d->y_bf16)                                                        \
			BN_APPLY_CASE(L_, 0, 1);                                           \
		else                                                                       \
			BN_APPLY_CASE(L_, 0, 0);                                           \
	} while (0)

/* y = gamma (x - mean) invstd + beta per channel; padding lanes get 0. */
static void BN_NAME(apply)(const struct drop_bn_desc *d, const REAL *x, const double *mean,
                           const double *invstd, const REAL *gamma, const REAL *beta, REAL *y)
{
	int L = bn_lanes(d), G = bn_groups(d);
	size_t hw = (size_t)d->h * d->w;
	if (d->y_bf16 && sizeof(REAL) != sizeof(float))
		DROP_BUG("batch norm: a bf16 output only on the float path");
#pragma omp parallel for collapse(2) schedule(static) if (DROP_PAR((size_t)d->n * G * hw * L))
	for (int n = 0; n < d->n; n++) {
		for (int g = 0; g < G; g++) {
			const REAL *p = x + ((size_t)n * G + g) * hw * L;
			size_t o = ((size_t)n * G + g) * hw * L;
			REAL *q = y + o;
			uint16_t *q16 = (uint16_t *)y + o;
			REAL a[BN_MAXL] = { 0 }, mr[BN_MAXL] = { 0 }, be[BN_MAXL] = { 0 };
			int live = d->c - g * L < L ? d->c - g * L : L;
			for (int l = 0; l < live; l++) {
				int c = g * L + l;
				a[l] = (REAL)(gamma[c] * invstd[c]);
				mr[l] = (REAL)mean[c];
				be[l] = beta ? beta[c] : 0;
			}
			if (L == 8)
				BN_APPLY_L(8);
			else if (L == 16)
				BN_APPLY_L(16);
			else
				BN_APPLY_L(L);
#undef BN_APPLY_L
#undef BN_APPLY_CASE
		}
	}
}

void BN_NAME(fwd_train)(const struct drop_bn_desc *d, const REAL *x, const REAL *gamma,
                        const REAL *beta, REAL *running_mean, REAL *running_var, REAL *y,
                        REAL *save_mean, REAL *save_invstd)
{
	double m = (double)d->n * d->h * d->w;
	if (m < 2)
		DROP_BUG("batch norm: training needs more than one value per channel");
	double *mean = drop_malloc(2 * (size_t)d->c * sizeof *mean), *var = mean + d->c;
	BN_NAME(moments)(d, x, mean, var);
	for (int c = 0; c < d->c; c++) {
		running_mean[c] = (REAL)drop_bn_running(running_mean[c], mean[c], d->momentum);
		running_var[c] = (REAL)drop_bn_running(running_var[c], var[c] * m / (m - 1),
		                                       d->momentum);
		save_mean[c] = (REAL)mean[c];
		save_invstd[c] = (REAL)drop_bn_invstd(var[c], d->eps);
		/* normalise with the saved (REAL) statistics, as the backward and a rebuild do */
		mean[c] = save_mean[c];
		var[c] = save_invstd[c];
	}
	BN_NAME(apply)(d, x, mean, var, gamma, beta, y);
	free(mean);
}

void BN_NAME(fwd_eval)(const struct drop_bn_desc *d, const REAL *x, const REAL *gamma,
                       const REAL *beta, const REAL *running_mean, const REAL *running_var,
                       REAL *y)
{
	double *mean = drop_malloc(2 * (size_t)d->c * sizeof *mean), *invstd = mean + d->c;
	for (int c = 0; c < d->c; c++) {
		mean[c] = running_mean[c];
		invstd[c] = d->saved ? running_var[c] : drop_bn_invstd(running_var[c], d->eps);
	}
	BN_NAME(apply)(d, x, mean, invstd, gamma, beta, y);
	free(mean);
}

/* One group of the backward pass. Sums per lane in double, in (n, s) order, over the
 * m = N H W elements; then dx = gamma invstd (dy - sum_dy/m - xhat sum_dy_xhat/m), with
 * xhat = (x - mu) invstd, rewritten as a dy + b (x - mu) + c with per-lane coefficients,
 * in REAL, so that the element loop vectorises. Called with a literal L (8, 16) where it
 * can be, for the same reason. With relu (a BN + ReLU; a literal too), dy counts only
 * where the output y = ga (x - mu) + beta is positive, ga = gamma invstd in REAL as in
 * apply: the ReLU's backward without rebuilding y.
 * Cut at its sums for batch norm over several processes (bn_sync.c): sums_in (2C: sum dy,
 * then sum dy xhat) replaces the sums of this process's elements, m is then the count over
 * all of them; sums_out (2C) receives the sums; dgamma and dx may be NULL (skipped). */
static inline __attribute__((always_inline)) void
BN_NAME(bwd_group)(const struct drop_bn_desc *d, int L, int relu, int g, int G, size_t hw,
                   double m, const REAL *x, const REAL *dy, const REAL *gamma,
                   const REAL *beta, const REAL *save_mean, const REAL *save_invstd,
                   const double *sums_in, double *sums_out, REAL *dx, REAL *dgamma,
                   REAL *dbeta)
{
	double sdy[BN_MAXL] = { 0 }, sdyx[BN_MAXL] = { 0 }, mu[BN_MAXL] = { 0 },
	       is[BN_MAXL] = { 0 };
	REAL a[BN_MAXL] = { 0 }, b[BN_MAXL] = { 0 }, c0[BN_MAXL] = { 0 }, mr[BN_MAXL] = { 0 };
	REAL ga[BN_MAXL] = { 0 }, be[BN_MAXL] = { 0 };
	int live = d->c - g * L < L ? d->c - g * L : L; /* lanes that hold channels */
	for (int l = 0; l < live; l++) {
		mu[l] = save_mean[g * L + l];
		is[l] = save_invstd[g * L + l];
		mr[l] = (REAL)mu[l];
		ga[l] = (REAL)(gamma[g * L + l] * is[l]);
		be[l] = relu ? beta[g * L + l] : 0;
	}
	for (int n = 0; !sums_in && n < d->n; n++) {
		size_t o = ((size_t)n * G + g) * hw * L;
		for (size_t s = 0; s < hw; s++)
			for (int l = 0; l < L; l++) {
				REAL xv = x[o + s * L + l], dyv = dy[o + s * L + l];
				if (relu) /* a product with 0 or 1, not a branch: it vectorises */
					dyv *= (REAL)(ga[l] * (xv - mr[l]) + be[l] > 0);
				double t = dyv;
				sdy[l] += t;
				sdyx[l] += t * (xv - mu[l]) * is[l];
			}
	}
	for (int l = 0; l < live; l++) {
		if (sums_in) {
			sdy[l] = sums_in[g * L + l];
			sdyx[l] = sums_in[d->c + g * L + l];
		}
		if (sums_out) {
			sums_out[g * L + l] = sdy[l];
			sums_out[d->c + g * L + l] = sdyx[l];
		}
		if (dgamma)
			dgamma[g * L + l] = (REAL)sdyx[l];
		if (dbeta)
			dbeta[g * L + l] = (REAL)sdy[l];
		double gi = gamma[g * L + l] * is[l];
		a[l] = (REAL)gi;
		b[l] = (REAL)(-gi * is[l] * sdyx[l] / m);
		c0[l] = (REAL)(-gi * sdy[l] / m);
	}
	for (int n = 0; dx && n < d->n; n++) {
		size_t o = ((size_t)n * G + g) * hw * L;
		for (size_t s = 0; s < hw; s++)
			for (int l = 0; l < L; l++) {
				size_t i = o + s * L + l;
				REAL dyv = dy[i];
				if (relu)
					dyv *= (REAL)(ga[l] * (x[i] - mr[l]) + be[l] > 0);
				dx[i] = a[l] * dyv + b[l] * (x[i] - mr[l]) + c0[l];
			}
		for (int l = live; l < L; l++) /* padding lanes: exactly 0 */
			for (size_t s = 0; s < hw; s++)
				dx[o + s * L + l] = 0;
	}
}

/* bwd, or with beta the backward of ReLU(BN(x)), or either cut at its sums (see
 * bwd_group; m = 0: this process's N H W elements). */
static void BN_NAME(bwd_any)(const struct drop_bn_desc *d, const REAL *x, const REAL *dy,
                             const REAL *gamma, const REAL *beta, const REAL *save_mean,
                             const REAL *save_invstd, const double *sums_in, double m,
                             double *sums_out, REAL *dx, REAL *dgamma, REAL *dbeta)
{
	int L = bn_lanes(d), G = bn_groups(d);
	size_t hw = (size_t)d->h * d->w;
	if (m == 0)
		m = (double)d->n * hw;
#define BN_BWD_GROUP(LL, RELU)                                                          \
	BN_NAME(bwd_group)(d, LL, RELU, g, G, hw, m, x, dy, gamma, beta, save_mean,        \
	                   save_invstd, sums_in, sums_out, dx, dgamma, dbeta)
#pragma omp parallel for schedule(static) if (DROP_PAR((size_t)d->n * G * hw * L))
	for (int g = 0; g < G; g++) {
		if (L == 8)
			beta ? BN_BWD_GROUP(8, 1) : BN_BWD_GROUP(8, 0);
		else if (L == 16)
			beta ? BN_BWD_GROUP(16, 1) : BN_BWD_GROUP(16, 0);
		else
			beta ? BN_BWD_GROUP(L, 1) : BN_BWD_GROUP(L, 0);
	}
#undef BN_BWD_GROUP
}

void BN_NAME(bwd)(const struct drop_bn_desc *d, const REAL *x, const REAL *dy,
                  const REAL *gamma, const REAL *save_mean, const REAL *save_invstd, REAL *dx,
                  REAL *dgamma, REAL *dbeta)
{
	BN_NAME(bwd_any)(d, x, dy, gamma, NULL, save_mean, save_invstd, NULL, 0, NULL, dx, dgamma,
	                 dbeta);
}

void BN_NAME(relu_bwd)(const struct drop_bn_desc *d, const REAL *x, const REAL *dy,
                       const REAL *gamma, const REAL *beta, const REAL *save_mean,
                       const REAL *save_invstd, REAL *dx, REAL *dgamma, REAL *dbeta)
{
	if (!beta)
		DROP_BUG("batch norm + ReLU backward: beta is required");
	BN_NAME(bwd_any)(d, x, dy, gamma, beta, save_mean, save_invstd, NULL, 0, NULL, dx, dgamma,
	                 dbeta);
}

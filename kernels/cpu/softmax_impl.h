/*
 * softmax_impl.h - the bodies of the channel softmax and the L2 normalisation, included by
 * softmax.c for REAL = float and REAL = double (the finite-difference reference), with
 * SM_NAME(x) naming the functions. Sums are in double, in channel order, per pixel or row:
 * independent of the thread count.
 */

/* y(n, :, p) = exp(x - max) / sum exp(x - max) over the K channels of pixel p. The first
 * SM_KEEP exponentials are kept rather than computed twice (exp in double dominates). */
#ifndef SM_KEEP
#define SM_KEEP 32
#endif
void SM_NAME(softmax_fwd)(int n, int k, int hw, const REAL *x, REAL *y)
{
#pragma omp parallel for collapse(2) schedule(static) if (DROP_PAR((size_t)n * k * hw))
	for (int i = 0; i < n; i++) {
		for (int p = 0; p < hw; p++) {
			const REAL *xp = x + (size_t)i * k * hw + p;
			REAL *yp = y + (size_t)i * k * hw + p;
			double mx = xp[0], s = 0, e[SM_KEEP];
			for (int c = 1; c < k; c++)
				mx = xp[(size_t)c * hw] > mx ? xp[(size_t)c * hw] : mx;
			for (int c = 0; c < k; c++) {
				double t = exp((double)xp[(size_t)c * hw] - mx);
				if (c < SM_KEEP)
					e[c] = t;
				s += t;
			}
			for (int c = 0; c < k; c++) {
				double t = c < SM_KEEP ? e[c] : exp((double)xp[(size_t)c * hw] - mx);
				yp[(size_t)c * hw] = (REAL)(t / s);
			}
		}
	}
}

/* dx = y (dy - sum_c y dy) per pixel. Blocks of SM_PIX pixels with the pixel loop inside,
 * so it vectorises; each pixel's sum is still in double and in channel order. */
#ifndef SM_PIX
#define SM_PIX 256
#endif
void SM_NAME(softmax_bwd)(int n, int k, int hw, const REAL *y, const REAL *dy, REAL *dx)
{
	int nb = (hw + SM_PIX - 1) / SM_PIX;
#pragma omp parallel for collapse(2) schedule(static) if (DROP_PAR((size_t)n * k * hw))
	for (int i = 0; i < n; i++) {
		for (int b = 0; b < nb; b++) {
			int p0 = b * SM_PIX, np = hw - p0 < SM_PIX ? hw - p0 : SM_PIX;
			size_t o = (size_t)i * k * hw + p0;
			double s[SM_PIX] = { 0 };
			for (int c = 0; c < k; c++) {
				const REAL *yc = y + o + (size_t)c * hw, *gc = dy + o + (size_t)c * hw;
				for (int p = 0; p < np; p++)
					s[p] += (double)yc[p] * gc[p];
			}
			for (int c = 0; c < k; c++) {
				size_t j = o + (size_t)c * hw;
				for (int p = 0; p < np; p++)
					dx[j + p] = (REAL)(y[j + p] * (dy[j + p] - s[p]));
			}
		}
	}
}

void SM_NAME(l2norm_fwd)(int n, int dim, const REAL *x, REAL *y)
{
#pragma omp parallel for schedule(static) if (DROP_PAR((size_t)n * dim))
	for (int i = 0; i < n; i++) {
		const REAL *xr = x + (size_t)i * dim;
		double s = 0;
		for (int j = 0; j < dim; j++)
			s += (double)xr[j] * xr[j];
		double den = drop_l2norm_den(s);
		for (int j = 0; j < dim; j++)
			y[(size_t)i * dim + j] = (REAL)(xr[j] / den);
	}
}

/* Above the floor: dx = (dy - y (y . dy)) / |x| with y = x / |x|; at the floor the
 * denominator is a constant: dx = dy / 1e-12. */
void SM_NAME(l2norm_bwd)(int n, int dim, const REAL *x, const REAL *dy, REAL *dx)
{
#pragma omp parallel for schedule(static) if (DROP_PAR((size_t)n * dim))
	for (int i = 0; i < n; i++) {
		const REAL *xr = x + (size_t)i * dim, *gr = dy + (size_t)i * dim;
		double s = 0, dot = 0;
		for (int j = 0; j < dim; j++) {
			s += (double)xr[j] * xr[j];
			dot += (double)xr[j] * gr[j];
		}
		double den = drop_l2norm_den(s);
		int floored = !(sqrt(s) > 1e-12);
		for (int j = 0; j < dim; j++) {
			double g = floored ? gr[j] / den : (gr[j] - xr[j] * dot / (den * den)) / den;
			dx[(size_t)i * dim + j] = (REAL)g;
		}
	}
}

/*
 * l2norm_row.h - one row of the L2 normalisation (F.normalize, doc/model.md §8), forward
 * and backward: the per-row maths both backends run, one row a thread. A body header,
 * included once per element type with REAL (float, or double for the CPU's reference
 * path) and L2_ROW(x) naming the two functions; no include guard. The sums run in double
 * over the row in order, so both backends give the same bits.
 */
#include "maths_ops.h"

/* y = x / max(|x|, 1e-12). */
static inline DROP_HD void L2_ROW(fwd)(int dim, const REAL *xr, REAL *yr)
{
	double s = 0;
	for (int j = 0; j < dim; j++)
		s += (double)xr[j] * xr[j];
	double den = drop_l2norm_den(s);
	for (int j = 0; j < dim; j++)
		yr[j] = (REAL)(xr[j] / den);
}

/* Above the floor: dx = (dy - y (y . dy)) / |x| with y = x / |x|; at the floor the
 * denominator is a constant: dx = dy / 1e-12. */
static inline DROP_HD void L2_ROW(bwd)(int dim, const REAL *xr, const REAL *gr, REAL *dxr)
{
	double s = 0, dot = 0;
	for (int j = 0; j < dim; j++) {
		s += (double)xr[j] * xr[j];
		dot += (double)xr[j] * gr[j];
	}
	double den = drop_l2norm_den(s);
	int floored = !(sqrt(s) > 1e-12);
	for (int j = 0; j < dim; j++) {
		double g = floored ? gr[j] / den : (gr[j] - xr[j] * dot / (den * den)) / den;
		dxr[j] = (REAL)g;
	}
}

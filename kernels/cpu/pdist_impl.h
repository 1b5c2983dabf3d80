/*
 * pdist_impl.h - the body of the pairwise Euclidean distances, included by pdist.c for
 * REAL = float (the backend op) and REAL = double (the finite-difference reference), with
 * PD_NAME(x) naming the functions. Every sum runs in REAL (as PyTorch's float kernels) in
 * one fixed order: the same bits whatever the thread count.
 */

/* |a - b|^2: PD_LANES partial sums (feature c goes to sum c % PD_LANES, so the loop
 * vectorises without reassociating), then folded in halves (lane l + w into lane l). */
#define PD_LANES 16
static double PD_NAME(sq)(int dim, const REAL *a, const REAL *b)
{
	REAL s[PD_LANES] = { 0 };
	int c = 0;
	for (; c + PD_LANES <= dim; c += PD_LANES)
		for (int l = 0; l < PD_LANES; l++) {
			REAL u = a[c + l] - b[c + l];
			s[l] += u * u;
		}
	for (; c < dim; c++) {
		REAL u = a[c] - b[c];
		s[c % PD_LANES] += u * u;
	}
	for (int w = PD_LANES / 2; w > 0; w /= 2)
		for (int l = 0; l < w; l++)
			s[l] += s[l + w];
	return s[0];
}

/* d(i, j) = |x_i - y_j|, from the differences (not |x|^2 + |y|^2 - 2 x.y, which cancels
 * near 0). */
void PD_NAME(pdist_fwd)(int n, int m, int dim, const REAL *x, const REAL *y, REAL *d)
{
#pragma omp parallel for collapse(2) schedule(static) if (DROP_PAR((size_t)n * m * dim))
	for (int i = 0; i < n; i++)
		for (int j = 0; j < m; j++)
			d[(size_t)i * m + j] =
				(REAL)sqrt(PD_NAME(sq)(dim, x + (size_t)i * dim, y + (size_t)j * dim));
}

/* out_r = sum_s f(r, s) (u_r - v_s) over the rows s of v in order, for each row r of u,
 * with f(r, s) = f[r * fr + s * fs]: dx (u = x, v = y) and dy (u = y, v = x, f
 * transposed), summed in place in out. PD_ROWS rows of u at a time, so that each row of
 * v is read once for all of them. Called inside a parallel region (its loop is shared
 * among the threads). */
#define PD_ROWS 4
static void PD_NAME(grad)(int nu, int nv, int dim, const REAL *u, const REAL *v,
                          const REAL *f, size_t fr, size_t fs, REAL *out)
{
	int blocks = (nu + PD_ROWS - 1) / PD_ROWS;
#pragma omp for schedule(static) nowait
	for (int b = 0; b < blocks; b++) {
		int r0 = b * PD_ROWS, nr = nu - r0 < PD_ROWS ? nu - r0 : PD_ROWS;
		REAL *acc = out + (size_t)r0 * dim;
		for (size_t c = 0; c < (size_t)nr * dim; c++)
			acc[c] = 0;
		for (int s = 0; s < nv; s++) {
			const REAL *vs = v + (size_t)s * dim;
			for (int k = 0; k < nr; k++) {
				REAL w = f[(r0 + k) * fr + s * fs];
				const REAL *ur = u + (size_t)(r0 + k) * dim;
				REAL *ak = acc + (size_t)k * dim;
				for (int c = 0; c < dim; c++)
					ak[c] += w * (ur[c] - vs[c]);
			}
		}
	}
}

/* dx_i = sum_j f_ij (x_i - y_j) and dy_j = sum_i f_ij (y_j - x_i), f_ij = dd_ij / d_ij from
 * the forward's d (drop_pdist_coef: 0 at a zero distance); one parallel region. */
void PD_NAME(pdist_bwd)(int n, int m, int dim, const REAL *x, const REAL *y, const REAL *d,
                        const REAL *dd, REAL *dx, REAL *dy)
{
	REAL *f = drop_malloc((size_t)n * m * sizeof *f);
#pragma omp parallel if (DROP_PAR((size_t)n * m * dim))
	{
#pragma omp for schedule(static)
		for (size_t i = 0; i < (size_t)n * m; i++)
			f[i] = (REAL)drop_pdist_coef(dd[i], d[i]);
		if (dx)
			PD_NAME(grad)(n, m, dim, x, y, f, (size_t)m, 1, dx);
		if (dy)
			PD_NAME(grad)(m, n, dim, y, x, f, 1, (size_t)m, dy);
	}
	free(f);
}

/*
 * pool.cu - global average and max pooling and WAMP (mask-weighted average + max pooling
 * of the features under K1 maps, doc/model.md §4) on CUDA, forward and backward. The
 * translation of kernels/cpu/pool.c, with its floors (drop_wamp_den, maths_ops.h) and its
 * float expressions (no FMA contraction: -fmad=false).
 *
 * Features are plain (the CUDA block is 1): plane (n, c) is x + (n C + c) HW. Sums over a
 * plane's pixels: one block per plane (per plane and map for WAMP), each thread summing the
 * pixels t, t + 256, ... in double, then a fixed tree (launch.h); maxima likewise, the first
 * pixel winning ties as in the CPU's serial scan. Deterministic, in another order than the
 * CPU's serial sums (the tests allow for it). The backward passes gather: one thread per
 * element of dx or dm adds its terms in the CPU's order (the maps in order, then the
 * maxima's term), so those additions give the CPU's bits from the same inputs.
 */
#include "cuda.h"
#include "../maths/maths_ops.h"
#include "check.h"
#include "launch.h"
#include "scratch.h"

#include <float.h>

#define NO_PIXEL 0x7fffffff

__global__ static void global_fwd_kernel(int c, size_t hw, const float *x, float *avg,
                                         float *max, int *argmax)
{
	__shared__ double sh[DROP_CUDA_THREADS];
	__shared__ float shv[DROP_CUDA_THREADS];
	__shared__ int shi[DROP_CUDA_THREADS];
	size_t plane = blockIdx.x; /* n C + c */
	const float *p = x + plane * hw;
	double s = 0;
	float mx = 0.0f;
	int am = NO_PIXEL;
	for (size_t i = threadIdx.x; i < hw; i += DROP_CUDA_THREADS) {
		float v = p[i];
		s += v;
		if (am == NO_PIXEL || v > mx)
			mx = v, am = (int)i;
	}
	s = drop_block_sum(s, sh);
	if (max)
		drop_block_argmax(&mx, &am, shv, shi);
	if (threadIdx.x == 0) {
		if (avg)
			avg[plane] = (float)(s / (double)hw);
		if (max) {
			max[plane] = mx;
			argmax[plane] = am;
		}
	}
}

__global__ static void global_bwd_kernel(size_t n, size_t hw, bool accumulate,
                                         const float *davg, const float *dmax,
                                         const int *argmax, float *dx)
{
	DROP_GRID_STRIDE(i, n) {
		size_t o = i / hw; /* the plane: n C + c, also the pooled vector's index */
		float v = davg ? davg[o] / (float)hw : 0.0f;
		float r = accumulate ? dx[i] + v : v;
		if (dmax && (size_t)argmax[o] == i % hw)
			r += dmax[o];
		dx[i] = r;
	}
}

extern "C" void drop_pool_global_fwd_cuda(const struct drop_pool_desc *d, const float *x,
                                          float *avg, float *max, int *argmax)
{
	size_t hw = (size_t)d->h * d->w;
	if (max && !argmax)
		DROP_BUG("global pooling: max without argmax");
	global_fwd_kernel<<<(unsigned)((size_t)d->n * d->c), DROP_CUDA_THREADS>>>(d->c, hw, x, avg,
	                                                                         max, argmax);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_pool_global_bwd_cuda(const struct drop_pool_desc *d, const float *davg,
                                          const float *dmax, const int *argmax, float *dx)
{
	size_t hw = (size_t)d->h * d->w, n = (size_t)d->n * d->c * hw;
	global_bwd_kernel<<<drop_cuda_grid(n), DROP_CUDA_THREADS>>>(n, hw, d->accumulate, davg,
	                                                            dmax, argmax, dx);
	CUDA_CHECK_LAUNCH();
}

/* ---- WAMP --------------------------------------------------------------------------- */

/* Per (n, k): the map's mass floored (den) and whether the floor applied (floored). */
__global__ static void wamp_den_kernel(size_t hw, const float *m, double *den, int *floored)
{
	__shared__ double sh[DROP_CUDA_THREADS];
	const float *mk = m + blockIdx.x * hw; /* map n K1 + k */
	double s = 0;
	for (size_t i = threadIdx.x; i < hw; i += DROP_CUDA_THREADS)
		s += mk[i];
	s = drop_block_sum(s, sh);
	if (threadIdx.x == 0) {
		den[blockIdx.x] = drop_wamp_den(s);
		floored[blockIdx.x] = !(s > 1e-6);
	}
}

/* One block per (n, k, c): ws = sum_i m_k(i) x_c(i), summed in double, and the weighted
 * maximum with its pixel. mode 0: e = ws / den + max and argmax (the forward: the products
 * rounded to float, as pool.c's wamp_plane); mode 1: ws alone into out (the backward's
 * weighted sums: the products exact in double, as pool.c's wamp_dm_tile). */
__global__ static void wamp_sums_kernel(int c, int k1, size_t hw, const float *x,
                                        const float *m, const double *den, int mode, float *e,
                                        int *argmax, double *ws)
{
	__shared__ double sh[DROP_CUDA_THREADS];
	__shared__ float shv[DROP_CUDA_THREADS];
	__shared__ int shi[DROP_CUDA_THREADS];
	size_t o = blockIdx.x; /* (n K1 + k) C + c */
	size_t nk = o / c;
	int ch = (int)(o % c), n = (int)(nk / k1);
	const float *p = x + ((size_t)n * c + ch) * hw, *mk = m + nk * hw;
	double s = 0;
	float mx = -FLT_MAX;
	int am = NO_PIXEL;
	if (mode == 1) {
		for (size_t i = threadIdx.x; i < hw; i += DROP_CUDA_THREADS)
			s += (double)mk[i] * p[i];
	} else {
		for (size_t i = threadIdx.x; i < hw; i += DROP_CUDA_THREADS) {
			float v = mk[i] * p[i];
			s += v;
			if (v > mx)
				mx = v, am = (int)i;
		}
	}
	s = drop_block_sum(s, sh);
	if (mode == 1) {
		if (threadIdx.x == 0)
			ws[o] = s;
		return;
	}
	drop_block_argmax(&mx, &am, shv, shi);
	if (threadIdx.x == 0) {
		e[o] = (float)(s / den[nk] + mx);
		argmax[o] = am == NO_PIXEL ? 0 : am; /* nothing above -FLT_MAX: pixel 0 (the CPU) */
	}
}

/* Per (n, k): corr = sum_c de_c ws_c / den^2, 0 when the floor applied (the floor is a
 * constant). */
__global__ static void wamp_corr_kernel(int c, const float *de, const double *ws,
                                        const double *den, const int *floored, double *corr)
{
	__shared__ double sh[DROP_CUDA_THREADS];
	size_t nk = blockIdx.x;
	double s = 0;
	for (int ch = threadIdx.x; ch < c; ch += DROP_CUDA_THREADS)
		s += (double)de[nk * c + ch] * ws[nk * c + ch];
	s = drop_block_sum(s, sh);
	if (threadIdx.x == 0)
		corr[nk] = floored[nk] ? 0.0 : s / (den[nk] * den[nk]);
}

/* dm(n, k, i) = sum_c de_c x_c(i) / den - corr, then each channel whose maximum is at i
 * adds de_c x_c(i), in channel order (pool.c's order). */
__global__ static void wamp_dm_kernel(int n, int c, int k1, size_t hw, const float *x,
                                      const int *argmax, const float *de, const double *den,
                                      const double *corr, float *dm)
{
	size_t total = (size_t)n * k1 * hw;
	DROP_GRID_STRIDE(j, total) {
		size_t nk = j / hw, i = j % hw;
		const float *xn = x + (nk / k1) * c * hw + i, *dek = de + nk * c;
		const int *amk = argmax + nk * c;
		double s = 0;
		for (int ch = 0; ch < c; ch++)
			s += (double)dek[ch] * xn[(size_t)ch * hw];
		float v = (float)(s / den[nk] - corr[nk]);
		for (int ch = 0; ch < c; ch++)
			if ((size_t)amk[ch] == i)
				v += dek[ch] * xn[(size_t)ch * hw];
		dm[j] = v;
	}
}

/* dx(n, c, i) = sum_k [(de_kc / den_k) m_k(i), and de_kc m_k(i) where k's maximum is at i],
 * the maps in order. */
__global__ static void wamp_dx_kernel(int n, int c, int k1, size_t hw, const float *m,
                                      const int *argmax, const float *de, const double *den,
                                      float *dx)
{
	size_t total = (size_t)n * c * hw;
	DROP_GRID_STRIDE(j, total) {
		size_t plane = j / hw, i = j % hw;
		int nn = (int)(plane / c), ch = (int)(plane % c);
		float q = 0.0f;
		for (int k = 0; k < k1; k++) {
			size_t nk = (size_t)nn * k1 + k;
			float a = (float)(de[nk * c + ch] / den[nk]);
			float mi = m[nk * hw + i];
			q += a * mi;
			if ((size_t)argmax[nk * c + ch] == i)
				q += de[nk * c + ch] * mi;
		}
		dx[j] = q;
	}
}

extern "C" void drop_wamp_fwd_cuda(const struct drop_pool_desc *d, const float *x,
                                   const float *m, float *e, int *argmax)
{
	size_t hw = (size_t)d->h * d->w, maps = (size_t)d->n * d->k1;
	char *s = (char *)drop_cuda_scratch(maps * (sizeof(double) + sizeof(int)));
	double *den = (double *)s;
	int *floored = (int *)(den + maps);
	wamp_den_kernel<<<(unsigned)maps, DROP_CUDA_THREADS>>>(hw, m, den, floored);
	CUDA_CHECK_LAUNCH();
	wamp_sums_kernel<<<(unsigned)(maps * d->c), DROP_CUDA_THREADS>>>(
		d->c, d->k1, hw, x, m, den, 0, e, argmax, NULL);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_wamp_bwd_cuda(const struct drop_pool_desc *d, const float *x,
                                   const float *m, const int *argmax, const float *de,
                                   float *dx, float *dm)
{
	size_t hw = (size_t)d->h * d->w, maps = (size_t)d->n * d->k1;
	size_t ne = maps * d->c;
	/* den, corr (maps doubles each), ws (ne doubles), floored (maps ints) */
	char *s = (char *)drop_cuda_scratch((2 * maps + ne) * sizeof(double) +
	                                    maps * sizeof(int));
	double *den = (double *)s, *corr = den + maps, *ws = corr + maps;
	int *floored = (int *)(ws + ne);
	wamp_den_kernel<<<(unsigned)maps, DROP_CUDA_THREADS>>>(hw, m, den, floored);
	CUDA_CHECK_LAUNCH();
	if (dm) {
		wamp_sums_kernel<<<(unsigned)ne, DROP_CUDA_THREADS>>>(d->c, d->k1, hw, x, m, den, 1,
		                                                     NULL, NULL, ws);
		CUDA_CHECK_LAUNCH();
		wamp_corr_kernel<<<(unsigned)maps, DROP_CUDA_THREADS>>>(d->c, de, ws, den, floored,
		                                                       corr);
		CUDA_CHECK_LAUNCH();
		size_t n = maps * hw;
		wamp_dm_kernel<<<drop_cuda_grid(n), DROP_CUDA_THREADS>>>(d->n, d->c, d->k1, hw, x,
		                                                         argmax, de, den, corr, dm);
		CUDA_CHECK_LAUNCH();
	}
	if (dx) {
		size_t n = (size_t)d->n * d->c * hw;
		wamp_dx_kernel<<<drop_cuda_grid(n), DROP_CUDA_THREADS>>>(d->n, d->c, d->k1, hw, m,
		                                                         argmax, de, den, dx);
		CUDA_CHECK_LAUNCH();
	}
}

/*
 * pdist.cu - pairwise Euclidean distances between two sets of rows (torch.cdist, p = 2) on
 * CUDA, forward and backward. The translation of kernels/cpu/pdist_impl.h: one thread per
 * distance running the CPU's 16-lane sum (then folded in halves), and in the backward one
 * thread per element of dx or dy summing over the other set's rows in order, from the
 * coefficients dd / d (drop_pdist_coef, maths_ops.h) - the CPU's orders, no FMA
 * contraction (-fmad=false): the CPU's bits, and no atomics.
 */
#include "cuda.h"
#include "../maths/maths_ops.h"
#include "check.h"
#include "launch.h"
#include "scratch.h"

#include <math.h>

#define PD_LANES 16

__device__ static double sq(int dim, const float *a, const float *b)
{
	float s[PD_LANES];
	for (int l = 0; l < PD_LANES; l++)
		s[l] = 0.0f;
	int c = 0;
	for (; c + PD_LANES <= dim; c += PD_LANES)
		for (int l = 0; l < PD_LANES; l++) {
			float u = a[c + l] - b[c + l];
			s[l] += u * u;
		}
	for (; c < dim; c++) {
		float u = a[c] - b[c];
		s[c % PD_LANES] += u * u;
	}
	for (int w = PD_LANES / 2; w > 0; w /= 2)
		for (int l = 0; l < w; l++)
			s[l] += s[l + w];
	return s[0];
}

__global__ static void pdist_fwd_kernel(int n, int m, int dim, const float *x, const float *y,
                                        float *d)
{
	DROP_GRID_STRIDE(q, (size_t)n * m) {
		size_t i = q / m, j = q % m;
		d[q] = (float)sqrt(sq(dim, x + i * dim, y + j * dim));
	}
}

__global__ static void coef_kernel(size_t n, const float *dd, const float *d, float *f)
{
	DROP_GRID_STRIDE(i, n)
		f[i] = (float)drop_pdist_coef(dd[i], d[i]);
}

/* out(r, c) = sum_s f(r, s) (u(r, c) - v(s, c)) over the rows s of v in order, with
 * f(r, s) = f[r fr + s fs]. */
__global__ static void grad_kernel(int nu, int nv, int dim, const float *u, const float *v,
                                   const float *f, size_t fr, size_t fs, float *out)
{
	DROP_GRID_STRIDE(q, (size_t)nu * dim) {
		size_t r = q / dim, c = q % dim;
		float acc = 0.0f, ur = u[q];
		for (int s = 0; s < nv; s++)
			acc += f[r * fr + s * fs] * (ur - v[(size_t)s * dim + c]);
		out[q] = acc;
	}
}

extern "C" void drop_pdist_fwd_cuda(int n, int m, int dim, const float *x, const float *y,
                                    float *d)
{
	pdist_fwd_kernel<<<drop_cuda_grid((size_t)n * m), DROP_CUDA_THREADS>>>(n, m, dim, x, y, d);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_pdist_bwd_cuda(int n, int m, int dim, const float *x, const float *y,
                                    const float *d, const float *dd, float *dx, float *dy)
{
	size_t nm = (size_t)n * m;
	float *f = (float *)drop_cuda_scratch(nm * sizeof(float));
	coef_kernel<<<drop_cuda_grid(nm), DROP_CUDA_THREADS>>>(nm, dd, d, f);
	CUDA_CHECK_LAUNCH();
	if (dx) {
		grad_kernel<<<drop_cuda_grid((size_t)n * dim), DROP_CUDA_THREADS>>>(
			n, m, dim, x, y, f, (size_t)m, 1, dx);
		CUDA_CHECK_LAUNCH();
	}
	if (dy) {
		grad_kernel<<<drop_cuda_grid((size_t)m * dim), DROP_CUDA_THREADS>>>(
			m, n, dim, y, x, f, 1, (size_t)m, dy);
		CUDA_CHECK_LAUNCH();
	}
}

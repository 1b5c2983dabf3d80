/*
 * softmax.cu - softmax over the channels of each pixel, the maximum over channels, and L2
 * normalisation of rows on CUDA, forward and backward. The translation of
 * kernels/cpu/softmax.c and softmax_impl.h: one thread per pixel (softmax, channel max) or
 * per row (L2 norm) running the CPU's loop for it in the CPU's order, with drop_expf and
 * drop_l2norm_den (kernels/maths/maths_ops.h) and no FMA contraction (-fmad=false): the
 * CPU's bits. Plain layout only.
 */
#include "cuda.h"
#include "../maths/maths_ops.h"
#include "check.h"
#include "launch.h"

#include <math.h>

__global__ static void softmax_fwd_kernel(int n, int k, size_t hw, const float *x, float *y)
{
	DROP_GRID_STRIDE(q, (size_t)n * hw) {
		size_t o = q / hw * k * hw + q % hw;
		float mx = x[o], s = 0.0f;
		for (int c = 1; c < k; c++)
			mx = x[o + c * hw] > mx ? x[o + c * hw] : mx;
		for (int c = 0; c < k; c++) {
			float e = drop_expf(x[o + c * hw] - mx);
			y[o + c * hw] = e;
			s += e;
		}
		for (int c = 0; c < k; c++)
			y[o + c * hw] /= s;
	}
}

/* dx = y (dy - sum_c y dy); dx may alias dy (each pixel reads its dy before writing). */
__global__ static void softmax_bwd_kernel(int n, int k, size_t hw, const float *y,
                                          const float *dy, float *dx)
{
	DROP_GRID_STRIDE(q, (size_t)n * hw) {
		size_t o = q / hw * k * hw + q % hw;
		float s = 0.0f;
		for (int c = 0; c < k; c++)
			s += y[o + c * hw] * dy[o + c * hw];
		for (int c = 0; c < k; c++)
			dx[o + c * hw] = y[o + c * hw] * (dy[o + c * hw] - s);
	}
}

__global__ static void chanmax_fwd_kernel(int n, int k, size_t hw, int first, const float *x,
                                          float *y, int *argmax)
{
	DROP_GRID_STRIDE(q, (size_t)n * hw) {
		const float *xp = x + q / hw * k * hw + q % hw;
		int best = first;
		for (int c = first + 1; c < k; c++)
			if (xp[c * hw] > xp[best * hw])
				best = c;
		y[q] = xp[best * hw];
		argmax[q] = best;
	}
}

__global__ static void chanmax_bwd_kernel(int n, int k, size_t hw, const int *argmax,
                                          const float *dy, float *dx)
{
	DROP_GRID_STRIDE(q, (size_t)n * hw) {
		float *dp = dx + q / hw * k * hw + q % hw;
		for (int c = 0; c < k; c++)
			dp[c * hw] = c == argmax[q] ? dy[q] : 0.0f;
	}
}

#define REAL float
#define L2_ROW(x) l2norm_row_##x
#include "../maths/l2norm_row.h"
#undef REAL

__global__ static void l2norm_fwd_kernel(int n, int dim, const float *x, float *y)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		L2_ROW(fwd)(dim, x + (size_t)i * dim, y + (size_t)i * dim);
}

__global__ static void l2norm_bwd_kernel(int n, int dim, const float *x, const float *dy,
                                         float *dx)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		L2_ROW(bwd)(dim, x + (size_t)i * dim, dy + (size_t)i * dim, dx + (size_t)i * dim);
}
#undef L2_ROW

extern "C" void drop_softmax_fwd_cuda(int n, int k, int hw, const float *x, float *y)
{
	softmax_fwd_kernel<<<drop_cuda_grid((size_t)n * hw), DROP_CUDA_THREADS>>>(n, k, hw, x, y);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_softmax_bwd_cuda(int n, int k, int hw, const float *y, const float *dy,
                                      float *dx)
{
	softmax_bwd_kernel<<<drop_cuda_grid((size_t)n * hw), DROP_CUDA_THREADS>>>(n, k, hw, y, dy,
	                                                                         dx);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_chanmax_fwd_cuda(int n, int k, int hw, int first, const float *x,
                                      float *y, int *argmax)
{
	chanmax_fwd_kernel<<<drop_cuda_grid((size_t)n * hw), DROP_CUDA_THREADS>>>(n, k, hw, first,
	                                                                         x, y, argmax);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_chanmax_bwd_cuda(int n, int k, int hw, const int *argmax, const float *dy,
                                      float *dx)
{
	chanmax_bwd_kernel<<<drop_cuda_grid((size_t)n * hw), DROP_CUDA_THREADS>>>(n, k, hw, argmax,
	                                                                         dy, dx);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_l2norm_fwd_cuda(int n, int dim, const float *x, float *y)
{
	l2norm_fwd_kernel<<<(n + 127) / 128, 128>>>(n, dim, x, y);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_l2norm_bwd_cuda(int n, int dim, const float *x, const float *dy, float *dx)
{
	l2norm_bwd_kernel<<<(n + 127) / 128, 128>>>(n, dim, x, dy, dx);
	CUDA_CHECK_LAUNCH();
}

/*
 * maxpool.cu - k x k max pooling on CUDA (ops.h, struct drop_maxpool_desc), forward and
 * backward: ResNet's stem. The translation of kernels/cpu/maxpool.c; features plain (the
 * CUDA block is 1). Forward: one thread per output, the window scanned in the CPU's order
 * (first maximum wins, a NaN wins, padding never does). Backward gathers: one thread per
 * input pixel adds the gradients of the outputs whose argmax is that pixel, in output
 * order - the order of the CPU's serial scatter, so the CPU's bits, and no atomics.
 */
#include "cuda.h"
#include "check.h"
#include "launch.h"

__global__ static void maxpool_fwd_kernel(struct drop_maxpool_desc d, int ho, int wo,
                                          const float *x, float *y, int *argmax)
{
	size_t ohw = (size_t)ho * wo, total = (size_t)d.n * d.c * ohw;
	DROP_GRID_STRIDE(i, total) {
		const float *p = x + i / ohw * d.h * d.w;
		int oy = (int)(i % ohw / wo), ox = (int)(i % wo);
		float best = 0.0f;
		int at = -1;
		for (int ky = 0; ky < d.k; ky++) {
			int iy = oy * d.stride - d.pad + ky;
			if (iy < 0 || iy >= d.h)
				continue;
			for (int kx = 0; kx < d.k; kx++) {
				int ix = ox * d.stride - d.pad + kx;
				if (ix < 0 || ix >= d.w)
					continue;
				float v = p[(size_t)iy * d.w + ix];
				if (at < 0 || v > best || v != v)
					best = v, at = iy * d.w + ix;
			}
		}
		y[i] = best;
		argmax[i] = at;
	}
}

/* The outputs along one axis whose window covers input index i: o with
 * o stride - pad <= i <= o stride - pad + k - 1, within [0, out). */
__device__ static void covering(int i, int k, int stride, int pad, int out, int *lo, int *hi)
{
	int a = i + pad - k + 1; /* o stride >= a */
	*lo = a <= 0 ? 0 : (a + stride - 1) / stride;
	int b = (i + pad) / stride; /* o stride <= i + pad */
	*hi = b < out - 1 ? b : out - 1;
}

__global__ static void maxpool_bwd_kernel(struct drop_maxpool_desc d, int ho, int wo,
                                          const float *dy, const int *argmax, float *dx)
{
	size_t hw = (size_t)d.h * d.w, ohw = (size_t)ho * wo, total = (size_t)d.n * d.c * hw;
	DROP_GRID_STRIDE(i, total) {
		size_t plane = i / hw;
		int pix = (int)(i % hw), iy = pix / d.w, ix = pix % d.w;
		const float *q = dy + plane * ohw;
		const int *a = argmax + plane * ohw;
		int y0, y1, x0, x1;
		covering(iy, d.k, d.stride, d.pad, ho, &y0, &y1);
		covering(ix, d.k, d.stride, d.pad, wo, &x0, &x1);
		float s = 0.0f;
		for (int oy = y0; oy <= y1; oy++)
			for (int ox = x0; ox <= x1; ox++) {
				size_t o = (size_t)oy * wo + ox;
				if (a[o] == pix)
					s += q[o];
			}
		dx[i] = s;
	}
}

extern "C" void drop_maxpool_fwd_cuda(const struct drop_maxpool_desc *d, const float *x,
                                      float *y, int *argmax)
{
	int ho = drop_conv2d_out(d->h, d->k, d->stride, d->pad);
	int wo = drop_conv2d_out(d->w, d->k, d->stride, d->pad);
	size_t total = (size_t)d->n * d->c * ho * wo;
	maxpool_fwd_kernel<<<drop_cuda_grid(total), DROP_CUDA_THREADS>>>(*d, ho, wo, x, y, argmax);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_maxpool_bwd_cuda(const struct drop_maxpool_desc *d, const float *dy,
                                      const int *argmax, float *dx)
{
	int ho = drop_conv2d_out(d->h, d->k, d->stride, d->pad);
	int wo = drop_conv2d_out(d->w, d->k, d->stride, d->pad);
	size_t total = (size_t)d->n * d->c * d->h * d->w;
	maxpool_bwd_kernel<<<drop_cuda_grid(total), DROP_CUDA_THREADS>>>(*d, ho, wo, dy, argmax,
	                                                                 dx);
	CUDA_CHECK_LAUNCH();
}

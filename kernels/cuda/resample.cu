/*
 * resample.cu - nearest (integer factor) and bilinear (any size, align_corners true or
 * false) resampling on CUDA, forward and backward: PyTorch's F.interpolate. The
 * translation of kernels/cpu/resample.c, with its tap positions and weights
 * (drop_bilinear_taps, kernels/maths/maths_ops.h) and its float expressions (no FMA
 * contraction: -fmad=false), so the forward gives the CPU's bits.
 *
 * The backward gathers instead of scattering: one thread per input pixel adds the
 * gradients of the outputs that read it, in the order the CPU's serial scatter adds them
 * (outputs row by row, and for one output its taps in the order r0c0, r0c1, r1c0, r1c1),
 * starting from zero: the CPU's bits, and no atomics. The outputs that read input row iy
 * are a contiguous range (the taps' i0 never decreases along the output), found per input
 * row and column by binary search in a small kernel first.
 * y and dy may be a channel slice of a wider buffer (d->ctot): only the image stride changes.
 */
#include "cuda.h"
#include "../maths/maths_ops.h"
#include "check.h"
#include "launch.h"
#include "scratch.h"

/* The taps of output index o: sources i0, i1 and their float weights, as the CPU's
 * taps_make rounds them. */
__device__ static void taps(int o, int in, int out, int align, int *i0, int *i1, float *l0,
                            float *l1)
{
	double w1;
	drop_bilinear_taps(o, in, out, align, i0, i1, &w1);
	*l1 = (float)w1;
	*l0 = (float)(1.0 - w1);
}

/* Offset of the output plane of (image n, channel c): a slice of ctot channels an image. */
__device__ static size_t out_plane(int c, int ctot, int n, int ch, size_t ohw)
{
	return ((size_t)n * (ctot ? ctot : c) + ch) * ohw;
}

__global__ static void fwd_kernel(struct drop_resample_desc d, const float *x, float *y)
{
	size_t ohw = (size_t)d.ho * d.wo, total = (size_t)d.n * d.c * ohw;
	DROP_GRID_STRIDE(i, total) {
		size_t p = i / ohw; /* n C + c */
		int oy = (int)(i % ohw / d.wo), ox = (int)(i % d.wo);
		const float *xp = x + p * d.h * d.w;
		float v;
		if (d.mode == DROP_NEAREST) {
			int f = d.ho / d.h;
			v = xp[(size_t)(oy / f) * d.w + ox / f];
		} else {
			int y0, y1, x0, x1;
			float a0, a1, b0, b1;
			taps(oy, d.h, d.ho, d.align_corners, &y0, &y1, &a0, &a1);
			taps(ox, d.w, d.wo, d.align_corners, &x0, &x1, &b0, &b1);
			const float *r0 = xp + (size_t)y0 * d.w, *r1 = xp + (size_t)y1 * d.w;
			v = a0 * (b0 * r0[x0] + b1 * r0[x1]) + a1 * (b0 * r1[x0] + b1 * r1[x1]);
		}
		y[out_plane(d.c, d.ctot, (int)(p / d.c), (int)(p % d.c), ohw) + (size_t)oy * d.wo +
		  ox] = v;
	}
}

/* For each input index i of an axis (in -> out samples): the outputs whose taps reach it,
 * [lo[i], hi[i]): those with i0 in {i - 1, i} (i1 is i0 + 1, or i0 at the last sample). */
__global__ static void ranges_kernel(int in, int out, int align, int *lo, int *hi)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= in)
		return;
	int bounds[2];
	for (int b = 0; b < 2; b++) { /* the first output with i0 >= i - 1 + b */
		int want = i - 1 + b, a = 0, z = out;
		while (a < z) {
			int mid = (a + z) / 2, t0, t1;
			double l;
			drop_bilinear_taps(mid, in, out, align, &t0, &t1, &l);
			if (t0 >= want)
				z = mid;
			else
				a = mid + 1;
		}
		bounds[b] = a;
	}
	/* i0 <= i: the first output with i0 >= i + 1 ends the range */
	int a = bounds[1], z = out;
	while (a < z) {
		int mid = (a + z) / 2, t0, t1;
		double l;
		drop_bilinear_taps(mid, in, out, align, &t0, &t1, &l);
		if (t0 >= i + 1)
			z = mid;
		else
			a = mid + 1;
	}
	lo[i] = bounds[0];
	hi[i] = a;
}

__global__ static void bwd_nearest_kernel(struct drop_resample_desc d, const float *dy,
                                          float *dx)
{
	size_t hw = (size_t)d.h * d.w, ohw = (size_t)d.ho * d.wo, total = (size_t)d.n * d.c * hw;
	int f = d.ho / d.h;
	DROP_GRID_STRIDE(i, total) {
		size_t p = i / hw;
		int iy = (int)(i % hw / d.w), ix = (int)(i % d.w);
		const float *g = dy + out_plane(d.c, d.ctot, (int)(p / d.c), (int)(p % d.c), ohw);
		float s = 0.0f;
		for (int oy = iy * f; oy < iy * f + f; oy++)
			for (int ox = ix * f; ox < ix * f + f; ox++)
				s += g[(size_t)oy * d.wo + ox];
		dx[i] = s;
	}
}

__global__ static void bwd_bilinear_kernel(struct drop_resample_desc d, const int *ylo,
                                           const int *yhi, const int *xlo, const int *xhi,
                                           const float *dy, float *dx)
{
	size_t hw = (size_t)d.h * d.w, ohw = (size_t)d.ho * d.wo, total = (size_t)d.n * d.c * hw;
	DROP_GRID_STRIDE(i, total) {
		size_t p = i / hw;
		int iy = (int)(i % hw / d.w), ix = (int)(i % d.w);
		const float *g = dy + out_plane(d.c, d.ctot, (int)(p / d.c), (int)(p % d.c), ohw);
		float s = 0.0f;
		for (int oy = ylo[iy]; oy < yhi[iy]; oy++) {
			int y0, y1;
			float a0, a1;
			taps(oy, d.h, d.ho, d.align_corners, &y0, &y1, &a0, &a1);
			for (int ox = xlo[ix]; ox < xhi[ix]; ox++) {
				int x0, x1;
				float b0, b1;
				taps(ox, d.w, d.wo, d.align_corners, &x0, &x1, &b0, &b1);
				float v = g[(size_t)oy * d.wo + ox];
				if (y0 == iy && x0 == ix)
					s += a0 * b0 * v;
				if (y0 == iy && x1 == ix)
					s += a0 * b1 * v;
				if (y1 == iy && x0 == ix)
					s += a1 * b0 * v;
				if (y1 == iy && x1 == ix)
					s += a1 * b1 * v;
			}
		}
		dx[i] = s;
	}
}

extern "C" void drop_resample_fwd_cuda(const struct drop_resample_desc *d, const float *x,
                                       float *y)
{
	drop_resample_check(d);
	size_t total = (size_t)d->n * d->c * d->ho * d->wo;
	fwd_kernel<<<drop_cuda_grid(total), DROP_CUDA_THREADS>>>(*d, x, y);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_resample_bwd_cuda(const struct drop_resample_desc *d, const float *dy,
                                       float *dx)
{
	drop_resample_check(d);
	size_t total = (size_t)d->n * d->c * d->h * d->w;
	if (d->mode == DROP_NEAREST) {
		bwd_nearest_kernel<<<drop_cuda_grid(total), DROP_CUDA_THREADS>>>(*d, dy, dx);
		CUDA_CHECK_LAUNCH();
		return;
	}
	int *r = (int *)drop_cuda_scratch(2 * ((size_t)d->h + d->w) * sizeof(int));
	int *ylo = r, *yhi = r + d->h, *xlo = r + 2 * d->h, *xhi = xlo + d->w;
	ranges_kernel<<<(d->h + 127) / 128, 128>>>(d->h, d->ho, d->align_corners, ylo, yhi);
	CUDA_CHECK_LAUNCH();
	ranges_kernel<<<(d->w + 127) / 128, 128>>>(d->w, d->wo, d->align_corners, xlo, xhi);
	CUDA_CHECK_LAUNCH();
	bwd_bilinear_kernel<<<drop_cuda_grid(total), DROP_CUDA_THREADS>>>(*d, ylo, yhi, xlo, xhi,
	                                                                  dy, dx);
	CUDA_CHECK_LAUNCH();
}

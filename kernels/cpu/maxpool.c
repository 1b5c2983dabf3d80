/*
 * maxpool.c - k x k max pooling on the CPU (ops.h, struct drop_maxpool_desc), forward and
 * backward, plain or blocked: ResNet's stem (3 x 3, stride 2, pad 1). Features are seen as
 * planes of L lanes (one channel, or one channel block); one thread owns an (image, plane)
 * and, in backward, adds the gradients of its outputs in output order: the same bits
 * whatever the thread count. Padding lanes of blocked tensors are zero in and out.
 */
#include "cpu.h"

#include <string.h>

static int lanes(const struct drop_maxpool_desc *d)
{
	return d->layout == DROP_BLOCKED ? drop_cpu_block() : 1;
}

void drop_maxpool_fwd_cpu(const struct drop_maxpool_desc *d, const float *x, float *y,
                          int *argmax)
{
	int L = lanes(d), G = (d->c + L - 1) / L;
	int ho = drop_conv2d_out(d->h, d->k, d->stride, d->pad);
	int wo = drop_conv2d_out(d->w, d->k, d->stride, d->pad);
	size_t hw = (size_t)d->h * d->w, ohw = (size_t)ho * wo;
#pragma omp parallel for collapse(2) schedule(static)
	for (int n = 0; n < d->n; n++) {
		for (int g = 0; g < G; g++) {
			const float *p = x + ((size_t)n * G + g) * hw * L;
			float *q = y + ((size_t)n * G + g) * ohw * L;
			int *a = argmax + ((size_t)n * G + g) * ohw * L;
			for (int oy = 0; oy < ho; oy++)
				for (int ox = 0; ox < wo; ox++)
					for (int l = 0; l < L; l++) {
						float best = 0;
						int at = -1;
						for (int ky = 0; ky < d->k; ky++) {
							int iy = oy * d->stride - d->pad + ky;
							if (iy < 0 || iy >= d->h)
								continue;
							for (int kx = 0; kx < d->k; kx++) {
								int ix = ox * d->stride - d->pad + kx;
								if (ix < 0 || ix >= d->w)
									continue;
								float v = p[((size_t)iy * d->w + ix) * L + l];
								if (at < 0 || v > best || v != v)
									best = v, at = iy * d->w + ix;
							}
						}
						size_t o = ((size_t)oy * wo + ox) * L + l;
						q[o] = best;
						a[o] = at;
					}
		}
	}
}

void drop_maxpool_bwd_cpu(const struct drop_maxpool_desc *d, const float *dy, const int *argmax,
                          float *dx)
{
	int L = lanes(d), G = (d->c + L - 1) / L;
	int ho = drop_conv2d_out(d->h, d->k, d->stride, d->pad);
	int wo = drop_conv2d_out(d->w, d->k, d->stride, d->pad);
	size_t hw = (size_t)d->h * d->w, ohw = (size_t)ho * wo;
#pragma omp parallel for collapse(2) schedule(static)
	for (int n = 0; n < d->n; n++) {
		for (int g = 0; g < G; g++) {
			float *p = dx + ((size_t)n * G + g) * hw * L;
			const float *q = dy + ((size_t)n * G + g) * ohw * L;
			const int *a = argmax + ((size_t)n * G + g) * ohw * L;
			memset(p, 0, hw * L * sizeof *p);
			for (size_t o = 0; o < ohw; o++)
				for (int l = 0; l < L; l++)
					p[(size_t)a[o * L + l] * L + l] += q[o * L + l];
		}
	}
}

/*
 * resample.c - nearest (integer factor) and bilinear (any size, align_corners true/false)
 * resampling on the CPU, forward and backward, plain or blocked: PyTorch's F.interpolate.
 *
 * Both layouts are seen as planes of L lanes (plain: one channel, L = 1; blocked: one
 * channel block, L = B), so the inner loop runs over the lanes and vectorises; padding
 * lanes resample zeros to zeros. One thread owns whole (image, plane) pairs, so the
 * backward's scatter-adds happen in one fixed order: bit-identical whatever the threads.
 * y and dy may be a channel slice of a wider buffer (d->ctot): only their plane stride
 * changes.
 * The tap positions and weights come from kernels/maths/maths_ops.h (drop_bilinear_taps).
 * Not here: bicubic, area, scale factors that are not whole for nearest.
 */
#include "cpu.h"
#include "../maths/maths_ops.h"
#include "par.h"

#include <stdlib.h>
#include <string.h>

#include "../fail.h"

struct taps {
	int *i0, *i1;     /* (out) source indices */
	float *l0, *l1;   /* (out) their weights */
};

static struct taps taps_make(int in, int out, int align_corners)
{
	struct taps t = { drop_malloc(2 * (size_t)out * sizeof(int)), NULL,
	                  drop_malloc(2 * (size_t)out * sizeof(float)), NULL };
	t.i1 = t.i0 + out;
	t.l1 = t.l0 + out;
	for (int o = 0; o < out; o++) {
		double l1;
		drop_bilinear_taps(o, in, out, align_corners, &t.i0[o], &t.i1[o], &l1);
		t.l1[o] = (float)l1;
		t.l0[o] = (float)(1.0 - l1);
	}
	return t;
}

static void taps_free(struct taps *t)
{
	free(t->i0);
	free(t->l0);
}

static int lanes(const struct drop_resample_desc *d)
{
	return d->layout == DROP_BLOCKED ? drop_cpu_block() : 1;
}

/* Offset of output plane p (image p / G, plane p % G of its own G) in y or dy: planes of a
 * slice of ctot channels lie ceil(ctot / L) apart from one image to the next. */
static size_t out_plane(const struct drop_resample_desc *d, int L, int p)
{
	int G = (d->c + L - 1) / L, Gtot = d->ctot ? (d->ctot + L - 1) / L : G;
	return ((size_t)(p / G) * Gtot + p % G) * d->ho * d->wo * L;
}

void drop_resample_fwd_cpu(const struct drop_resample_desc *d, const float *x, float *y)
{
	drop_resample_check(d);
	int L = lanes(d), planes = d->n * ((d->c + L - 1) / L);
	size_t in = (size_t)d->h * d->w * L, out = (size_t)d->ho * d->wo * L;
	if (d->mode == DROP_NEAREST) {
		int f = d->ho / d->h;
#pragma omp parallel for schedule(static) if (DROP_PAR((size_t)planes * out))
		for (int p = 0; p < planes; p++)
			for (int oy = 0; oy < d->ho; oy++) {
				const float *xr = x + p * in + (size_t)(oy / f) * d->w * L;
				float *yr = y + out_plane(d, L, p) + (size_t)oy * d->wo * L;
				for (int ox = 0; ox < d->wo; ox++)
					for (int l = 0; l < L; l++) /* not memcpy: L is 1, 8 or 16 */
						yr[(size_t)ox * L + l] = xr[(size_t)(ox / f) * L + l];
			}
		return;
	}
	struct taps ty = taps_make(d->h, d->ho, d->align_corners);
	struct taps tx = taps_make(d->w, d->wo, d->align_corners);
#pragma omp parallel for schedule(static) if (DROP_PAR((size_t)planes * out))
	for (int p = 0; p < planes; p++) {
		const float *xp = x + p * in;
		for (int oy = 0; oy < d->ho; oy++) {
			const float *r0 = xp + (size_t)ty.i0[oy] * d->w * L;
			const float *r1 = xp + (size_t)ty.i1[oy] * d->w * L;
			float a0 = ty.l0[oy], a1 = ty.l1[oy];
			float *yr = y + out_plane(d, L, p) + (size_t)oy * d->wo * L;
			for (int ox = 0; ox < d->wo; ox++) {
				size_t c0 = (size_t)tx.i0[ox] * L, c1 = (size_t)tx.i1[ox] * L;
				float b0 = tx.l0[ox], b1 = tx.l1[ox];
				for (int l = 0; l < L; l++)
					yr[ox * L + l] = a0 * (b0 * r0[c0 + l] + b1 * r0[c1 + l]) +
					                 a1 * (b0 * r1[c0 + l] + b1 * r1[c1 + l]);
			}
		}
	}
	taps_free(&ty);
	taps_free(&tx);
}

void drop_resample_bwd_cpu(const struct drop_resample_desc *d, const float *dy, float *dx)
{
	drop_resample_check(d);
	int L = lanes(d), planes = d->n * ((d->c + L - 1) / L);
	size_t in = (size_t)d->h * d->w * L, out = (size_t)d->ho * d->wo * L;
	if (d->mode == DROP_NEAREST) {
		int f = d->ho / d->h;
#pragma omp parallel for schedule(static) if (DROP_PAR((size_t)planes * out))
		for (int p = 0; p < planes; p++) {
			float *dp = dx + p * in;
			memset(dp, 0, in * sizeof *dp);
			for (int oy = 0; oy < d->ho; oy++)
				for (int ox = 0; ox < d->wo; ox++) {
					const float *g = dy + out_plane(d, L, p) + ((size_t)oy * d->wo + ox) * L;
					float *t = dp + ((size_t)(oy / f) * d->w + ox / f) * L;
					for (int l = 0; l < L; l++)
						t[l] += g[l];
				}
		}
		return;
	}
	struct taps ty = taps_make(d->h, d->ho, d->align_corners);
	struct taps tx = taps_make(d->w, d->wo, d->align_corners);
#pragma omp parallel for schedule(static) if (DROP_PAR((size_t)planes * out))
	for (int p = 0; p < planes; p++) {
		float *dp = dx + p * in;
		memset(dp, 0, in * sizeof *dp);
		for (int oy = 0; oy < d->ho; oy++) {
			float *r0 = dp + (size_t)ty.i0[oy] * d->w * L;
			float *r1 = dp + (size_t)ty.i1[oy] * d->w * L;
			float a0 = ty.l0[oy], a1 = ty.l1[oy];
			const float *g = dy + out_plane(d, L, p) + (size_t)oy * d->wo * L;
			for (int ox = 0; ox < d->wo; ox++) {
				size_t c0 = (size_t)tx.i0[ox] * L, c1 = (size_t)tx.i1[ox] * L;
				float b0 = tx.l0[ox], b1 = tx.l1[ox];
				for (int l = 0; l < L; l++) {
					float v = g[ox * L + l];
					r0[c0 + l] += a0 * b0 * v;
					r0[c1 + l] += a0 * b1 * v;
					r1[c0 + l] += a1 * b0 * v;
					r1[c1 + l] += a1 * b1 * v;
				}
			}
		}
	}
	taps_free(&ty);
	taps_free(&tx);
}

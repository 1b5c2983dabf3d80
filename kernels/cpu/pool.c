/*
 * pool.c - global average and max pooling and WAMP (mask-weighted average + max pooling of
 * the features under K1 maps, doc/model.md §4) on the CPU, forward and backward.
 *
 * Features are plain or blocked, seen as planes of L lanes (one channel, or one channel
 * block); the maps and the pooled vectors are plain. One thread owns an (image, plane) -
 * or for WAMP an (image, plane) for all K1 maps - and sums the pixels in order: the same
 * bits whatever the thread count. The WAMP weighted sums are C loops (K1 (N, HW) x (HW, C)
 * products, ~2 GFLOP at batch 64 for HRNet-W32: a batched GEMM is a later speed-up).
 * Max ties go to the first pixel, and the gradient of a max only to that pixel.
 */
#include "cpu.h"
#include "../maths/maths_ops.h"
#include "par.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "../fail.h"

static int lanes(const struct drop_pool_desc *d)
{
	return d->layout == DROP_BLOCKED ? drop_cpu_block() : 1;
}

#define POOL_MAXL 16

/* The sums of one plane, L a literal at the call sites so that the lane loop vectorises. */
static inline __attribute__((always_inline)) void plane_sums(int L, size_t hw, const float *p,
                                                              double *s)
{
	for (size_t i = 0; i < hw; i++)
		for (int l = 0; l < L; l++)
			s[l] += p[i * L + l];
}

void drop_pool_global_fwd_cpu(const struct drop_pool_desc *d, const float *x, float *avg,
                              float *max, int *argmax)
{
	int L = lanes(d), G = (d->c + L - 1) / L;
	size_t hw = (size_t)d->h * d->w;
#pragma omp parallel for collapse(2) schedule(static) if (DROP_PAR((size_t)d->n * G * hw * L))
	for (int n = 0; n < d->n; n++) {
		for (int g = 0; g < G; g++) {
			const float *p = x + ((size_t)n * G + g) * hw * L;
			double s[POOL_MAXL] = { 0 };
			float mx[POOL_MAXL];
			int am[POOL_MAXL] = { 0 };
			for (int l = 0; l < L; l++)
				mx[l] = p[l];
			if (max) {
				for (size_t i = 0; i < hw; i++)
					for (int l = 0; l < L; l++) {
						float v = p[i * L + l];
						s[l] += v;
						if (v > mx[l])
							mx[l] = v, am[l] = (int)i;
					}
			} else if (L == 8) {
				plane_sums(8, hw, p, s);
			} else if (L == 16) {
				plane_sums(16, hw, p, s);
			} else {
				plane_sums(L, hw, p, s);
			}
			for (int l = 0; l < L && g * L + l < d->c; l++) {
				size_t o = (size_t)n * d->c + g * L + l;
				if (avg)
					avg[o] = (float)(s[l] / hw);
				if (max) {
					max[o] = mx[l];
					argmax[o] = am[l];
				}
			}
		}
	}
}

void drop_pool_global_bwd_cpu(const struct drop_pool_desc *d, const float *davg,
                              const float *dmax, const int *argmax, float *dx)
{
	int L = lanes(d), G = (d->c + L - 1) / L;
	size_t hw = (size_t)d->h * d->w;
#pragma omp parallel for collapse(2) schedule(static) if (DROP_PAR((size_t)d->n * G * hw * L))
	for (int n = 0; n < d->n; n++) {
		for (int g = 0; g < G; g++) {
			float *p = dx + ((size_t)n * G + g) * hw * L;
			for (int l = 0; l < L; l++) {
				int c = g * L + l;
				size_t o = (size_t)n * d->c + c;
				float v = c < d->c && davg ? davg[o] / (float)hw : 0.0f;
				if (d->accumulate)
					for (size_t i = 0; i < hw; i++)
						p[i * L + l] += v;
				else
					for (size_t i = 0; i < hw; i++)
						p[i * L + l] = v;
				if (c < d->c && dmax)
					p[(size_t)argmax[o] * L + l] += dmax[o];
			}
		}
	}
}

/* WAMP forward of one plane under KB maps at once (mk[b]: map b's pixels): per map and
 * lane the weighted sum s[b] and the weighted maximum mx[b] (first pixel on ties), each
 * over the pixels in order. Every (map, lane) sum and maximum is its own chain in pixel
 * order, as with one map at a time, so the results are the same bits; KB chains at once
 * keep the floating-point units busy where one chain waits on its last add. L and KB are
 * literals at the call sites, so that it vectorises. */
static inline __attribute__((always_inline)) void
wamp_planes(int L, int KB, size_t hw, const float *p, const float *const *mk,
            double (*s)[POOL_MAXL], float (*mx)[POOL_MAXL], int (*am)[POOL_MAXL])
{
	for (int b = 0; b < KB; b++)
		for (int l = 0; l < L; l++)
			mx[b][l] = -FLT_MAX;
	for (size_t i = 0; i < hw; i++)
		for (int b = 0; b < KB; b++)
			for (int l = 0; l < L; l++) {
				float v = mk[b][i] * p[i * L + l];
				s[b][l] += v;
				am[b][l] = v > mx[b][l] ? (int)i : am[b][l]; /* selects: they vectorise */
				mx[b][l] = v > mx[b][l] ? v : mx[b][l];
			}
}

/* WAMP backward to the maps, one pixel tile of one plane under one map: acc(t, l) +=
 * a_l x_l(t) (the pixels' dot products with de, by lanes, summed over the planes in order)
 * and ws_l += m(t) x_l(t) (the weighted sums, over the pixels in order), in double; L a
 * literal at the call sites so that it vectorises. */
static inline __attribute__((always_inline)) void
wamp_dm_tile(int L, size_t T, const float *restrict p, const float *restrict mk,
             const double *restrict a, double *restrict acc, double *restrict ws)
{
	double w[POOL_MAXL];
	for (int l = 0; l < L; l++)
		w[l] = ws[l];
	for (size_t t = 0; t < T; t++)
		for (int l = 0; l < L; l++) {
			double v = p[t * L + l];
			acc[t * L + l] += a[l] * v;
			w[l] += mk[t] * v;
		}
	for (int l = 0; l < L; l++)
		ws[l] = w[l];
}

/* Maps taken together by wamp_planes: 3 of K1 = 9 (K = 8 parts). */
#define WAMP_KB 3

void drop_wamp_fwd_cpu(const struct drop_pool_desc *d, const float *x, const float *m, float *e,
                       int *argmax)
{
	int L = lanes(d), G = (d->c + L - 1) / L, K = d->k1;
	size_t hw = (size_t)d->h * d->w;
	/* Each map's mass, once (not once per channel group): the pixels in order. */
	double *den = drop_malloc(((size_t)d->n * K + 1) * sizeof *den);
#pragma omp parallel for schedule(static) if (DROP_PAR((size_t)d->n * K * hw))
	for (int nk = 0; nk < d->n * K; nk++) {
		double mass = 0;
		for (size_t i = 0; i < hw; i++)
			mass += m[(size_t)nk * hw + i];
		den[nk] = drop_wamp_den(mass);
	}
	/* The maps innermost: a plane (hw L floats, 128 KiB at 64x32) stays in cache for all K1. */
#pragma omp parallel for collapse(2) schedule(static) if (DROP_PAR((size_t)d->n * G * hw * L * K))
	for (int n = 0; n < d->n; n++) {
		for (int g = 0; g < G; g++) {
			const float *p = x + ((size_t)n * G + g) * hw * L;
			for (int k0 = 0; k0 < K;) {
				int kb = K - k0 >= WAMP_KB ? WAMP_KB : 1; /* 3 at a time, then singly */
				const float *mk[WAMP_KB];
				double s[WAMP_KB][POOL_MAXL] = { { 0 } };
				float mx[WAMP_KB][POOL_MAXL];
				int am[WAMP_KB][POOL_MAXL] = { { 0 } };
				for (int b = 0; b < kb; b++)
					mk[b] = m + ((size_t)n * K + k0 + b) * hw;
				if (L == 16 && kb == WAMP_KB)
					wamp_planes(16, WAMP_KB, hw, p, mk, s, mx, am);
				else if (L == 8 && kb == WAMP_KB)
					wamp_planes(8, WAMP_KB, hw, p, mk, s, mx, am);
				else if (L == 16)
					wamp_planes(16, 1, hw, p, mk, s, mx, am);
				else
					wamp_planes(L, kb, hw, p, mk, s, mx, am);
				for (int b = 0; b < kb; b++)
					for (int l = 0; l < L && g * L + l < d->c; l++) {
						size_t o = ((size_t)n * K + k0 + b) * d->c + g * L + l;
						e[o] = (float)(s[b][l] / den[(size_t)n * K + k0 + b] + mx[b][l]);
						argmax[o] = am[b][l];
					}
				k0 += kb;
			}
		}
	}
	free(den);
}

void drop_wamp_bwd_cpu(const struct drop_pool_desc *d, const float *x, const float *m,
                       const int *argmax, const float *de, float *dx, float *dm)
{
	int L = lanes(d), G = (d->c + L - 1) / L, K = d->k1;
	size_t hw = (size_t)d->h * d->w;
	/* Per (n, k): the mass, its floor and the weighted sums again (wsum / den = wavg). */
	double *den = drop_malloc((size_t)d->n * K * sizeof *den);
	int *floored = drop_malloc((size_t)d->n * K * sizeof *floored);
	for (int n = 0; n < d->n; n++)
		for (int k = 0; k < K; k++) {
			const float *mk = m + ((size_t)n * K + k) * hw;
			double mass = 0;
			for (size_t i = 0; i < hw; i++)
				mass += mk[i];
			den[n * K + k] = drop_wamp_den(mass);
			floored[n * K + k] = !(mass > 1e-6);
		}
	/* dm: one thread per image, one pass over its features in tiles of DM_TILE pixels, all
	 * K1 maps at each tile (wamp_dm_tile), then per map
	 * d wavg_c / d m(p) = x_c(p) / den - [not floored] wsum_c / den^2:
	 * dm(p) = sum_l acc(p, l) / den - sum_c de_c wsum_c / den^2 (+ the maxima's terms). */
#define DM_TILE 64
#pragma omp parallel if (dm && DROP_PAR((size_t)d->n * G * hw * L))
	if (dm) {
		double *acc = drop_malloc((size_t)K * DM_TILE * L * sizeof *acc);
		double *a = drop_malloc(2 * (size_t)K * G * L * sizeof *a), *ws = a + (size_t)K * G * L;
		double *sum = drop_malloc((size_t)K * hw * sizeof *sum);
#pragma omp for schedule(static)
		for (int n = 0; n < d->n; n++) {
			const float *xn = x + (size_t)n * G * hw * L;
			for (int k = 0; k < K; k++)
				for (int c = 0; c < G * L; c++)
					a[(size_t)k * G * L + c] =
						c < d->c ? de[((size_t)n * K + k) * d->c + c] : 0.0;
			memset(ws, 0, (size_t)K * G * L * sizeof *ws);
			for (size_t i0 = 0; i0 < hw; i0 += DM_TILE) {
				size_t T = hw - i0 < DM_TILE ? hw - i0 : DM_TILE;
				memset(acc, 0, (size_t)K * DM_TILE * L * sizeof *acc);
				for (int g = 0; g < G; g++) {
					const float *p = xn + ((size_t)g * hw + i0) * L;
					for (int k = 0; k < K; k++) {
						const float *mk = m + ((size_t)n * K + k) * hw + i0;
						const double *ak = a + ((size_t)k * G + g) * L;
						double *acck = acc + (size_t)k * DM_TILE * L;
						double *wsk = ws + ((size_t)k * G + g) * L;
						if (L == 16)
							wamp_dm_tile(16, T, p, mk, ak, acck, wsk);
						else if (L == 8)
							wamp_dm_tile(8, T, p, mk, ak, acck, wsk);
						else
							wamp_dm_tile(L, T, p, mk, ak, acck, wsk);
					}
				}
				for (int k = 0; k < K; k++)
					for (size_t t = 0; t < T; t++) {
						double s = 0;
						for (int l = 0; l < L; l++)
							s += acc[((size_t)k * DM_TILE + t) * L + l];
						sum[(size_t)k * hw + i0 + t] = s;
					}
			}
			for (int k = 0; k < K; k++) {
				float *dmk = dm + ((size_t)n * K + k) * hw;
				const float *dek = de + ((size_t)n * K + k) * d->c;
				const int *amk = argmax + ((size_t)n * K + k) * d->c;
				double dn = den[n * K + k], corr = 0;
				for (int c = 0; c < G * L; c++)
					corr += a[(size_t)k * G * L + c] * ws[(size_t)k * G * L + c];
				corr = floored[n * K + k] ? 0 : corr / (dn * dn);
				for (size_t i = 0; i < hw; i++)
					dmk[i] = (float)(sum[(size_t)k * hw + i] / dn - corr);
				for (int c = 0; c < d->c; c++) {
					size_t i = (size_t)amk[c];
					dmk[i] += dek[c] * xn[((size_t)(c / L) * hw + i) * L + c % L];
				}
			}
		}
		free(acc);
		free(a);
		free(sum);
	}
#undef DM_TILE
	/* dx: one thread per (n, plane), maps in order. */
#pragma omp parallel for collapse(2) schedule(static) if (DROP_PAR((size_t)d->n * G * hw * L))
	for (int n = 0; n < (dx ? d->n : 0); n++) {
		for (int g = 0; g < G; g++) {
			float *q = dx + ((size_t)n * G + g) * hw * L;
			memset(q, 0, hw * L * sizeof *q);
			for (int k = 0; k < K; k++) {
				const float *mk = m + ((size_t)n * K + k) * hw;
				const float *dek = de + ((size_t)n * K + k) * d->c;
				const int *amk = argmax + ((size_t)n * K + k) * d->c;
				float a[POOL_MAXL] = { 0 };
				for (int l = 0; l < L && g * L + l < d->c; l++)
					a[l] = (float)(dek[g * L + l] / den[n * K + k]);
				for (size_t i = 0; i < hw; i++)
					for (int l = 0; l < L; l++)
						q[i * L + l] += a[l] * mk[i];
				for (int l = 0; l < L && g * L + l < d->c; l++) {
					size_t i = (size_t)amk[g * L + l];
					q[i * L + l] += dek[g * L + l] * mk[i];
				}
			}
		}
	}
	free(den);
	free(floored);
}

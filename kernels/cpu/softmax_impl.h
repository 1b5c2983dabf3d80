/*
 * softmax_impl.h - the bodies of the channel softmax and the L2 normalisation, included by
 * softmax.c for REAL = float and REAL = double (the finite-difference reference), with
 * SM_NAME(x) naming the functions and SM_EXP the exponential. Each pixel's or row's sums
 * run in one fixed order (channels, elements): independent of the thread count. The
 * softmax sums in REAL (as PyTorch's float kernel); the L2 norm's in double.
 */

/* Blocks of SM_PIX pixels with the pixel loop inside, so that every loop vectorises; a
 * pixel's max and sums run over its channels in channel order, in REAL: the same bits
 * whatever the thread count. */
#ifndef SM_PIX
#define SM_PIX 256
#endif

/* y(n, :, p) = exp(x - max) / sum exp(x - max) over the K channels of pixel p; SM_EXP is
 * drop_expf for float and exp for the double reference path (softmax.c). */
void SM_NAME(softmax_fwd)(int n, int k, int hw, const REAL *x, REAL *y)
{
	int nb = (hw + SM_PIX - 1) / SM_PIX;
#pragma omp parallel for collapse(2) schedule(static) if (DROP_PAR((size_t)n * k * hw))
	for (int i = 0; i < n; i++) {
		for (int b = 0; b < nb; b++) {
			int p0 = b * SM_PIX, np = hw - p0 < SM_PIX ? hw - p0 : SM_PIX;
			size_t o = (size_t)i * k * hw + p0;
			REAL mx[SM_PIX], s[SM_PIX];
			for (int p = 0; p < np; p++) {
				mx[p] = x[o + p];
				s[p] = 0;
			}
			for (int c = 1; c < k; c++) {
				const REAL *xc = x + o + (size_t)c * hw;
				for (int p = 0; p < np; p++)
					mx[p] = xc[p] > mx[p] ? xc[p] : mx[p];
			}
			for (int c = 0; c < k; c++) {
				const REAL *xc = x + o + (size_t)c * hw;
				REAL *yc = y + o + (size_t)c * hw;
				for (int p = 0; p < np; p++) {
					yc[p] = SM_EXP(xc[p] - mx[p]);
					s[p] += yc[p];
				}
			}
			for (int c = 0; c < k; c++) {
				REAL *yc = y + o + (size_t)c * hw;
				for (int p = 0; p < np; p++)
					yc[p] /= s[p];
			}
		}
	}
}

/* dx = y (dy - sum_c y dy) per pixel. */
void SM_NAME(softmax_bwd)(int n, int k, int hw, const REAL *y, const REAL *dy, REAL *dx)
{
	int nb = (hw + SM_PIX - 1) / SM_PIX;
#pragma omp parallel for collapse(2) schedule(static) if (DROP_PAR((size_t)n * k * hw))
	for (int i = 0; i < n; i++) {
		for (int b = 0; b < nb; b++) {
			int p0 = b * SM_PIX, np = hw - p0 < SM_PIX ? hw - p0 : SM_PIX;
			size_t o = (size_t)i * k * hw + p0;
			REAL s[SM_PIX] = { 0 };
			for (int c = 0; c < k; c++) {
				const REAL *yc = y + o + (size_t)c * hw, *gc = dy + o + (size_t)c * hw;
				for (int p = 0; p < np; p++)
					s[p] += yc[p] * gc[p];
			}
			for (int c = 0; c < k; c++) {
				size_t j = o + (size_t)c * hw;
				for (int p = 0; p < np; p++)
					dx[j + p] = y[j + p] * (dy[j + p] - s[p]);
			}
		}
	}
}

#define L2_ROW(x) SM_NAME(l2norm_row_##x)
#include "../maths/l2norm_row.h"

void SM_NAME(l2norm_fwd)(int n, int dim, const REAL *x, REAL *y)
{
#pragma omp parallel for schedule(static) if (DROP_PAR((size_t)n * dim))
	for (int i = 0; i < n; i++)
		L2_ROW(fwd)(dim, x + (size_t)i * dim, y + (size_t)i * dim);
}

void SM_NAME(l2norm_bwd)(int n, int dim, const REAL *x, const REAL *dy, REAL *dx)
{
#pragma omp parallel for schedule(static) if (DROP_PAR((size_t)n * dim))
	for (int i = 0; i < n; i++)
		L2_ROW(bwd)(dim, x + (size_t)i * dim, dy + (size_t)i * dim, dx + (size_t)i * dim);
}
#undef L2_ROW

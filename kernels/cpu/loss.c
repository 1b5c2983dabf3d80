/*
 * loss.c - the pixel and identity losses on the CPU (doc/model.md §5): cross-entropy with label
 * smoothing over rows of logits, and the parsing loss L_hp (smoothed pixel cross-entropy
 * plus the spatial smoothness of the probabilities). The per-row and per-pixel arithmetic
 * (drop_ce_row, drop_smooth_plane) is kernels/maths/loss_maths.h; here are the loops. Partial
 * sums are kept per row / per plane and added in index order, so the value does not
 * depend on the thread count.
 * Not here: the triplet losses (triplet.c).
 */
#include "cpu.h"
#include "../maths/loss_maths.h"

#include <stdlib.h>

#include "../fail.h"

static void check_labels(const int *labels, size_t n, int k)
{
	for (size_t i = 0; i < n; i++)
		if (labels[i] < 0 || labels[i] >= k)
			DROP_BUG("loss: label %d out of range 0..%d", labels[i], k - 1);
}

double drop_ce_smooth_cpu(int n, int c, const float *logits, const int *labels, float eps,
                          float scale, float *dlogits)
{
	check_labels(labels, n, c);
	double *row = drop_malloc((size_t)n * sizeof *row), total = 0;
#pragma omp parallel for schedule(static)
	for (int i = 0; i < n; i++)
		row[i] = drop_ce_row(logits + (size_t)i * c, c, 1, labels[i], eps, (double)scale / n,
		                dlogits + (size_t)i * c);
	for (int i = 0; i < n; i++)
		total += row[i];
	free(row);
	return total / n;
}

double drop_parsing_loss_cpu(int n, int k1, int h, int w, const float *logits,
                             const float *prob, const int *labels, float eps, float gamma,
                             float scale, float *dlogits, float *dprob, double out[2])
{
	size_t hw = (size_t)h * w, npix = (size_t)n * hw;
	check_labels(labels, npix, k1);
	double *pix = drop_malloc(npix * sizeof *pix);
#pragma omp parallel for collapse(2) schedule(static)
	for (int i = 0; i < n; i++)
		for (size_t p = 0; p < hw; p++)
			pix[i * hw + p] = drop_ce_row(logits + (size_t)i * k1 * hw + p, k1, hw,
			                         labels[i * hw + p], eps, (double)scale / npix,
			                         dlogits + (size_t)i * k1 * hw + p);
	double ce = 0;
	for (size_t i = 0; i < npix; i++)
		ce += pix[i];
	ce /= npix;
	free(pix);

	/* Empty terms (H or W of 1) count 0. */
	double nv = (double)n * (h - 1) * w, nh = (double)n * h * (w - 1);
	double sv = nv > 0 ? (double)scale * gamma / nv : 0;
	double sh = nh > 0 ? (double)scale * gamma / nh : 0;
	int planes = n * k1;
	double *vert = drop_malloc(2 * (size_t)planes * sizeof *vert), *horiz = vert + planes;
#pragma omp parallel for schedule(static)
	for (int q = 0; q < planes; q++)
		drop_smooth_plane(prob + (size_t)q * hw, h, w, sv, sh, dprob + (size_t)q * hw, &vert[q],
		             &horiz[q]);
	double v = 0, hz = 0;
	for (int q = 0; q < planes; q++)
		v += vert[q], hz += horiz[q];
	free(vert);
	out[0] = ce;
	out[1] = (nv > 0 ? v / nv : 0) + (nh > 0 ? hz / nh : 0);
	return out[0] + gamma * out[1];
}

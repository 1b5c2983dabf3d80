/*
 * loss.cu - the pixel and identity losses on CUDA: label-smoothed cross-entropy and the
 * parsing loss L_hp. The translation of kernels/cpu/loss.c: the same per-row / per-pixel /
 * per-plane functions of kernels/maths/loss_maths.h, one thread each, partial sums copied to the
 * host and added there in index order (so the value matches the CPU's summation order).
 * Labels are checked on the host side by the caller's data path, not here.
 */
#include "cuda.h"
#include "../maths/loss_maths.h"
#include "check.h"
#include "scratch.h"

#include <stdlib.h>

static const int block_size = 128;

__global__ static void ce_kernel(int n, int c, const float *logits, const int *labels,
                                 double eps, double g, float *dlogits, double *row)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		row[i] = drop_ce_row(logits + (size_t)i * c, c, 1, labels[i], eps, g,
		                     dlogits + (size_t)i * c);
}

__global__ static void pixel_ce_kernel(int n, int k1, size_t hw, const float *logits,
                                       const int *labels, double eps, double g,
                                       float *dlogits, double *pix)
{
	size_t q = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
	if (q >= (size_t)n * hw)
		return;
	size_t i = q / hw, p = q % hw;
	pix[q] = drop_ce_row(logits + i * k1 * hw + p, k1, hw, labels[q], eps, g,
	                     dlogits + i * k1 * hw + p);
}

__global__ static void smooth_kernel(int planes, int h, int w, const float *prob, double sv,
                                     double sh, float *dprob, double *sums)
{
	int q = blockIdx.x * blockDim.x + threadIdx.x;
	if (q < planes)
		drop_smooth_plane(prob + (size_t)q * h * w, h, w, sv, sh, dprob + (size_t)q * h * w,
		                  &sums[q], &sums[planes + q]);
}

/* Sum n device doubles on the host, in index order. */
static double host_sum(const double *dev, size_t n, size_t stride_from)
{
	double *h = (double *)malloc(n * sizeof *h), s = 0;
	CUDA_CHECK(cudaMemcpy(h, dev + stride_from, n * sizeof *h, cudaMemcpyDeviceToHost));
	for (size_t i = 0; i < n; i++)
		s += h[i];
	free(h);
	return s;
}

extern "C" double drop_ce_smooth_cuda(int n, int c, const float *logits, const int *labels,
                                      float eps, float scale, float *dlogits)
{
	double *row = (double *)drop_cuda_scratch((size_t)n * sizeof(double));
	ce_kernel<<<(n + block_size - 1) / block_size, block_size>>>(
		n, c, logits, labels, eps, (double)scale / n, dlogits, row);
	CUDA_CHECK_LAUNCH();
	return host_sum(row, n, 0) / n;
}

extern "C" double drop_parsing_loss_cuda(int n, int k1, int h, int w, const float *logits,
                                         const float *prob, const int *labels, float eps,
                                         float gamma, float scale, float *dlogits,
                                         float *dprob, double out[2])
{
	size_t hw = (size_t)h * w, npix = (size_t)n * hw;
	int planes = n * k1;
	size_t need = (npix > 2 * (size_t)planes ? npix : 2 * (size_t)planes) * sizeof(double);
	double *buf = (double *)drop_cuda_scratch(need);
	pixel_ce_kernel<<<(unsigned)((npix + block_size - 1) / block_size), block_size>>>(
		n, k1, hw, logits, labels, eps, (double)scale / npix, dlogits, buf);
	CUDA_CHECK_LAUNCH();
	double ce = host_sum(buf, npix, 0) / npix;

	double nv = (double)n * (h - 1) * w, nh = (double)n * h * (w - 1);
	double sv = nv > 0 ? (double)scale * gamma / nv : 0;
	double sh = nh > 0 ? (double)scale * gamma / nh : 0;
	smooth_kernel<<<(planes + block_size - 1) / block_size, block_size>>>(
		planes, h, w, prob, sv, sh, dprob, buf);
	CUDA_CHECK_LAUNCH();
	double v = host_sum(buf, planes, 0), hz = host_sum(buf, planes, planes);
	out[0] = ce;
	out[1] = (nv > 0 ? v / nv : 0) + (nh > 0 ? hz / nh : 0);
	return out[0] + gamma * out[1];
}

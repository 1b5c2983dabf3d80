/*
 * bn_sync.cu - batch norm in training mode cut at its reductions, on CUDA (ops.h, "Batch
 * norm over several processes"; drop-train --sync-bn, doc/scale-out.md): the translation
 * of kernels/cpu/bn_sync.c with batchnorm.cu's kernels (bn_impl.h).
 *
 * The sums are device memory (ops.h), which the caller adds over the processes on the
 * device (allreduce_f64, NCCL): no copy to the host, no synchronisation. Reductions: one block per channel, each thread summing j = t, t + 256, ... in
 * double, then launch.h's fixed tree (no atomics): the same bits on every run, in another
 * order than the CPU's serial sum. From the same sums, the statistics, coefficients and
 * element-wise passes are the CPU's expressions, so fwd_sync and bwd_sync give the CPU's
 * bits.
 */
#include "cuda.h"
#include "bn_impl.h"
#include "check.h"
#include "launch.h"
#include "scratch.h"

/* Per channel: sums[ch] = the sum of x over (n, s), sums[c + ch] = the sum of x^2. */
__global__ static void stats_kernel(int n, int c, size_t hw, const float *x, double *sums)
{
	__shared__ double sh[DROP_CUDA_THREADS];
	int ch = blockIdx.x;
	size_t m = (size_t)n * hw;
	double s1 = 0, s2 = 0;
	for (size_t j = threadIdx.x; j < m; j += DROP_CUDA_THREADS) {
		double v = x[bn_at(j, c, ch, hw)];
		s1 += v;
		s2 += v * v;
	}
	s1 = drop_block_sum(s1, sh);
	s2 = drop_block_sum(s2, sh);
	if (threadIdx.x == 0) {
		sums[ch] = s1;
		sums[c + ch] = s2;
	}
}

/* The sums over count values turned in place into the mean and the biased variance
 * (bn_sync.c: E[x^2] - mean^2, clamped at 0 against rounding). */
__global__ static void moments_kernel(int c, double count, double *sums)
{
	int ch = blockIdx.x * blockDim.x + threadIdx.x;
	if (ch >= c)
		return;
	double mu = sums[ch] / count, var = sums[c + ch] / count - mu * mu;
	sums[ch] = mu;
	sums[c + ch] = var > 0 ? var : 0;
}

/* Backward sums per channel (bn_impl.h) into sums, and this process's dgamma, dbeta. */
__global__ static void bwd_stats_kernel(int n, int c, size_t hw, const float *x,
                                        const float *dy, const float *gamma,
                                        const float *mask_beta, const float *save_mean,
                                        const float *save_invstd, double *sums, float *dgamma,
                                        float *dbeta)
{
	__shared__ double sh[DROP_CUDA_THREADS];
	int ch = blockIdx.x;
	double sdy, sdyx;
	bn_bwd_block_sums(n, c, hw, x, dy, gamma, mask_beta, save_mean, save_invstd, sh, &sdy,
	                  &sdyx);
	if (threadIdx.x == 0) {
		sums[ch] = sdy;
		sums[c + ch] = sdyx;
		dgamma[ch] = (float)sdyx;
		if (dbeta)
			dbeta[ch] = (float)sdy;
	}
}

/* The coefficients of dx from the summed backward sums over count values. */
__global__ static void bwd_sync_coef_kernel(int c, double count, const double *sums,
                                            const float *gamma, const float *mask_beta,
                                            const float *save_mean, const float *save_invstd,
                                            float *coef)
{
	int ch = blockIdx.x * blockDim.x + threadIdx.x;
	if (ch >= c)
		return;
	bn_bwd_coef(c, ch, count, sums[ch], sums[c + ch], gamma, mask_beta, save_mean,
	            save_invstd, coef);
}

static size_t elements(const struct drop_bn_desc *d)
{
	return (size_t)d->n * d->c * d->h * d->w;
}

static size_t sums_bytes(const struct drop_bn_desc *d)
{
	return 2 * (size_t)d->c * sizeof(double);
}

extern "C" void drop_bn_stats_cuda(const struct drop_bn_desc *d, const float *x, double *sums)
{
	stats_kernel<<<d->c, DROP_CUDA_THREADS>>>(d->n, d->c, (size_t)d->h * d->w, x, sums);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_bn_fwd_sync_cuda(const struct drop_bn_desc *d, const float *x,
                                      const double *sums, double count, const float *gamma,
                                      const float *beta, float *running_mean,
                                      float *running_var, float *y, float *save_mean,
                                      float *save_invstd)
{
	if (count < 2)
		DROP_BUG("batch norm: training needs more than one value per channel");
	size_t hw = (size_t)d->h * d->w, n = elements(d);
	double *stats = (double *)drop_cuda_scratch(sums_bytes(d) +
	                                            3 * (size_t)d->c * sizeof(float));
	float *coef = (float *)(stats + 2 * d->c);
	/* the moments are made in place: in the scratch, the caller's sums left as given */
	CUDA_CHECK(cudaMemcpyAsync(stats, sums, sums_bytes(d), cudaMemcpyDeviceToDevice, 0));
	moments_kernel<<<(d->c + 127) / 128, 128>>>(d->c, count, stats);
	CUDA_CHECK_LAUNCH();
	bn_train_coef_kernel<<<(d->c + 127) / 128, 128>>>(d->c, count, d->eps, d->momentum,
	                                                  stats, stats + d->c, gamma, beta,
	                                                  running_mean, running_var, save_mean,
	                                                  save_invstd, coef);
	CUDA_CHECK_LAUNCH();
	bn_apply_kernel<<<drop_cuda_grid(n), DROP_CUDA_THREADS>>>(n, d->c, hw, d->relu,
	                                                          d->y_bf16, x, coef, y);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_bn_bwd_stats_cuda(const struct drop_bn_desc *d, const float *x,
                                       const float *dy, const float *gamma, const float *beta,
                                       const float *save_mean, const float *save_invstd,
                                       double *sums, float *dgamma, float *dbeta)
{
	if (d->relu && !beta)
		DROP_BUG("batch norm + ReLU backward: beta is required");
	bwd_stats_kernel<<<d->c, DROP_CUDA_THREADS>>>(d->n, d->c, (size_t)d->h * d->w, x, dy,
	                                              gamma, d->relu ? beta : NULL, save_mean,
	                                              save_invstd, sums, dgamma, dbeta);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_bn_bwd_sync_cuda(const struct drop_bn_desc *d, const float *x,
                                      const float *dy, const float *gamma, const float *beta,
                                      const float *save_mean, const float *save_invstd,
                                      const double *sums, double count, float *dx)
{
	if (d->relu && !beta)
		DROP_BUG("batch norm + ReLU backward: beta is required");
	size_t hw = (size_t)d->h * d->w, n = elements(d);
	float *coef = (float *)drop_cuda_scratch(6 * (size_t)d->c * sizeof(float));
	bwd_sync_coef_kernel<<<(d->c + 127) / 128, 128>>>(d->c, count, sums, gamma,
	                                                  d->relu ? beta : NULL, save_mean,
	                                                  save_invstd, coef);
	CUDA_CHECK_LAUNCH();
	bn_bwd_apply_kernel<<<drop_cuda_grid(n), DROP_CUDA_THREADS>>>(n, d->c, hw, d->relu, x,
	                                                              dy, coef, dx);
	CUDA_CHECK_LAUNCH();
}

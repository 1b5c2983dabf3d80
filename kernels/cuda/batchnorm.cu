/*
 * batchnorm.cu - batch norm 2-D and 1-D on CUDA: training (batch statistics, running
 * statistics with momentum), eval (running statistics, or a training pass's saved ones),
 * backward, the backward of a fused ReLU, a frozen bias (beta NULL: BNNeck) and a bf16
 * output. The translation of kernels/cpu/batchnorm_impl.h, with the same per-element maths
 * (kernels/maths/maths_ops.h) and the same float expressions (nvcc builds without FMA
 * contraction, -fmad=false, as the CPU's -std=c11 does: so an element's value depends only
 * on its channel's coefficients).
 *
 * Layout: the CUDA block is 1, so blocked is plain (N, C, HW); no padding lanes.
 * Statistics: one block per channel, each thread summing the elements j = t, t + 256, ...
 * of the channel's m = N HW values (j = n HW + s) in double, then a fixed tree
 * (launch.h): the same bits on every run, whatever the GPU's timing, but a different order
 * from the CPU's serial sum (the tests allow for it). The per-channel coefficients are
 * computed as the CPU computes them, in a second small kernel, then one element-wise pass.
 * The coefficient and element-wise kernels are bn_impl.h's, shared with bn_sync.cu (the
 * same batch norm cut at its sums for several processes).
 */
#include "cuda.h"
#include "../maths/maths_ops.h"
#include "bn_impl.h"
#include "check.h"
#include "launch.h"
#include "scratch.h"

/* Per channel: mean and biased variance of x over (n, s), two passes, in double. */
__global__ static void stats_kernel(int n, int c, size_t hw, const float *x, double *mean,
                                    double *var)
{
	__shared__ double sh[DROP_CUDA_THREADS];
	int ch = blockIdx.x;
	size_t m = (size_t)n * hw;
	double s1 = 0;
	for (size_t j = threadIdx.x; j < m; j += DROP_CUDA_THREADS)
		s1 += x[bn_at(j, c, ch, hw)];
	double mu = drop_block_sum(s1, sh) / (double)m;
	double s2 = 0;
	for (size_t j = threadIdx.x; j < m; j += DROP_CUDA_THREADS) {
		double t = x[bn_at(j, c, ch, hw)] - mu;
		s2 += t * t;
	}
	s2 = drop_block_sum(s2, sh);
	if (threadIdx.x == 0) {
		mean[ch] = mu;
		var[ch] = s2 / (double)m;
	}
}

/* Eval's coefficients: the running statistics, or (saved) a training pass's saved ones. */
__global__ static void eval_coef_kernel(int c, float eps, bool saved, const float *gamma,
                                        const float *beta, const float *running_mean,
                                        const float *running_var, float *coef)
{
	int ch = blockIdx.x * blockDim.x + threadIdx.x;
	if (ch >= c)
		return;
	double mu = running_mean[ch];
	double is = saved ? (double)running_var[ch] : drop_bn_invstd(running_var[ch], eps);
	coef[ch] = (float)(gamma[ch] * is);
	coef[c + ch] = (float)mu;
	coef[2 * c + ch] = beta ? beta[ch] : 0.0f;
}

/* Backward sums per channel (bn_impl.h), then dgamma, dbeta and the coefficients of dx
 * over the batch's m values. */
__global__ static void bwd_sums_kernel(int n, int c, size_t hw, const float *x,
                                       const float *dy, const float *gamma, const float *beta,
                                       const float *save_mean, const float *save_invstd,
                                       float *dgamma, float *dbeta, float *coef)
{
	__shared__ double sh[DROP_CUDA_THREADS];
	int ch = blockIdx.x;
	double sdy, sdyx;
	bn_bwd_block_sums(n, c, hw, x, dy, gamma, beta, save_mean, save_invstd, sh, &sdy, &sdyx);
	if (threadIdx.x == 0) {
		dgamma[ch] = (float)sdyx;
		if (dbeta)
			dbeta[ch] = (float)sdy;
		bn_bwd_coef(c, ch, (double)n * hw, sdy, sdyx, gamma, beta, save_mean, save_invstd,
		            coef);
	}
}

static size_t elements(const struct drop_bn_desc *d)
{
	return (size_t)d->n * d->c * d->h * d->w;
}

extern "C" void drop_bn_fwd_train_cuda(const struct drop_bn_desc *d, const float *x,
                                       const float *gamma, const float *beta,
                                       float *running_mean, float *running_var, float *y,
                                       float *save_mean, float *save_invstd)
{
	double m = (double)d->n * d->h * d->w;
	if (m < 2)
		DROP_BUG("batch norm: training needs more than one value per channel");
	size_t hw = (size_t)d->h * d->w, n = elements(d);
	double *stats = (double *)drop_cuda_scratch(2 * (size_t)d->c * sizeof(double) +
	                                            3 * (size_t)d->c * sizeof(float));
	float *coef = (float *)(stats + 2 * d->c);
	stats_kernel<<<d->c, DROP_CUDA_THREADS>>>(d->n, d->c, hw, x, stats, stats + d->c);
	CUDA_CHECK_LAUNCH();
	bn_train_coef_kernel<<<(d->c + 127) / 128, 128>>>(d->c, m, d->eps, d->momentum, stats,
	                                                  stats + d->c, gamma, beta, running_mean,
	                                                  running_var, save_mean, save_invstd,
	                                                  coef);
	CUDA_CHECK_LAUNCH();
	bn_apply_kernel<<<drop_cuda_grid(n), DROP_CUDA_THREADS>>>(n, d->c, hw, d->relu,
	                                                          d->y_bf16, x, coef, y);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_bn_fwd_eval_cuda(const struct drop_bn_desc *d, const float *x,
                                      const float *gamma, const float *beta,
                                      const float *running_mean, const float *running_var,
                                      float *y)
{
	size_t hw = (size_t)d->h * d->w, n = elements(d);
	float *coef = (float *)drop_cuda_scratch(3 * (size_t)d->c * sizeof(float));
	eval_coef_kernel<<<(d->c + 127) / 128, 128>>>(d->c, d->eps, d->saved, gamma, beta,
	                                              running_mean, running_var, coef);
	CUDA_CHECK_LAUNCH();
	bn_apply_kernel<<<drop_cuda_grid(n), DROP_CUDA_THREADS>>>(n, d->c, hw, d->relu,
	                                                          d->y_bf16, x, coef, y);
	CUDA_CHECK_LAUNCH();
}

static void bwd_any(const struct drop_bn_desc *d, const float *x, const float *dy,
                    const float *gamma, const float *beta, const float *save_mean,
                    const float *save_invstd, float *dx, float *dgamma, float *dbeta)
{
	size_t hw = (size_t)d->h * d->w, n = elements(d);
	float *coef = (float *)drop_cuda_scratch(6 * (size_t)d->c * sizeof(float));
	bwd_sums_kernel<<<d->c, DROP_CUDA_THREADS>>>(d->n, d->c, hw, x, dy, gamma, beta,
	                                             save_mean, save_invstd, dgamma, dbeta, coef);
	CUDA_CHECK_LAUNCH();
	bn_bwd_apply_kernel<<<drop_cuda_grid(n), DROP_CUDA_THREADS>>>(n, d->c, hw, beta != NULL,
	                                                              x, dy, coef, dx);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_bn_bwd_cuda(const struct drop_bn_desc *d, const float *x, const float *dy,
                                 const float *gamma, const float *save_mean,
                                 const float *save_invstd, float *dx, float *dgamma,
                                 float *dbeta)
{
	bwd_any(d, x, dy, gamma, NULL, save_mean, save_invstd, dx, dgamma, dbeta);
}

extern "C" void drop_bn_relu_bwd_cuda(const struct drop_bn_desc *d, const float *x,
                                      const float *dy, const float *gamma, const float *beta,
                                      const float *save_mean, const float *save_invstd,
                                      float *dx, float *dgamma, float *dbeta)
{
	if (!beta)
		DROP_BUG("batch norm + ReLU backward: beta is required");
	bwd_any(d, x, dy, gamma, beta, save_mean, save_invstd, dx, dgamma, dbeta);
}

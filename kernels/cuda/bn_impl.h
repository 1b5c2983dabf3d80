/*
 * bn_impl.h - the batch norm pieces that batchnorm.cu (one process) and bn_sync.cu (sums
 * added over processes) share: the training forward's per-channel bookkeeping and
 * element-wise apply, the backward's per-channel sums, coefficients and element-wise dx.
 * Private to those two files; each gets its own copy of the kernels (static).
 *
 * Layout: plain (N, C, HW) (the CUDA block is 1). Coefficients, per channel ch of C:
 * forward coef[3C] = { gamma invstd, mean, beta (0 when frozen) }; backward coef[6C] =
 * { a, b, c0, mean, gamma invstd (mask), beta (mask) } for dx = a dy' + b (x - mean) + c0,
 * the CPU's float expressions (kernels/cpu/batchnorm_impl.h, kernels/cpu/bn_sync.c).
 */
#ifndef DROP_CUDA_BN_IMPL_H
#define DROP_CUDA_BN_IMPL_H

#include "../maths/maths_ops.h"
#include "launch.h"

/* The index of the j-th value (j = n HW + s) of channel ch. */
__device__ static inline size_t bn_at(size_t j, int c, int ch, size_t hw)
{
	return ((size_t)(j / hw) * c + ch) * hw + j % hw;
}

/* Training's per-channel bookkeeping (batchnorm_impl.h fwd_train) from the batch mean and
 * biased variance over m values: running statistics, the saved mean and invstd, and the
 * apply coefficients from the saved (float) values. */
__global__ static void bn_train_coef_kernel(int c, double m, float eps, float momentum,
                                            const double *mean, const double *var,
                                            const float *gamma, const float *beta,
                                            float *running_mean, float *running_var,
                                            float *save_mean, float *save_invstd, float *coef)
{
	int ch = blockIdx.x * blockDim.x + threadIdx.x;
	if (ch >= c)
		return;
	running_mean[ch] = (float)drop_bn_running(running_mean[ch], mean[ch], momentum);
	running_var[ch] = (float)drop_bn_running(running_var[ch], var[ch] * m / (m - 1), momentum);
	save_mean[ch] = (float)mean[ch];
	save_invstd[ch] = (float)drop_bn_invstd(var[ch], eps);
	double mu = save_mean[ch], is = save_invstd[ch];
	coef[ch] = (float)(gamma[ch] * is);
	coef[c + ch] = (float)mu;
	coef[2 * c + ch] = beta ? beta[ch] : 0.0f;
}

/* y = a (x - mu) + beta, ReLU'd with relu, stored as float or bfloat16 (y16). */
__global__ static void bn_apply_kernel(size_t n, int c, size_t hw, bool relu, bool y16,
                                       const float *x, const float *coef, void *y)
{
	DROP_GRID_STRIDE(i, n) {
		int ch = (int)(i / hw % c);
		float v = coef[ch] * (x[i] - coef[c + ch]) + coef[2 * c + ch];
		v = relu ? drop_relu_f(v) : v;
		if (y16)
			((uint16_t *)y)[i] = drop_bf16_from_f(v);
		else
			((float *)y)[i] = v;
	}
}

/* The backward sums of channel blockIdx.x over the block (batchnorm_impl.h bwd_group):
 * *sdy = sum dy', *sdyx = sum dy' (x - mu) invstd, dy' = dy masked by the ReLU's output
 * > 0 when mask_beta is given. Each thread sums j = t, t + 256, ... in double, then the
 * fixed tree; every thread gets both. sh: DROP_CUDA_THREADS doubles. */
__device__ static inline void bn_bwd_block_sums(int n, int c, size_t hw, const float *x,
                                                const float *dy, const float *gamma,
                                                const float *mask_beta,
                                                const float *save_mean,
                                                const float *save_invstd, double *sh,
                                                double *sdy, double *sdyx)
{
	int ch = blockIdx.x;
	size_t m = (size_t)n * hw;
	double mu = save_mean[ch], is = save_invstd[ch];
	float mr = (float)mu, ga = (float)(gamma[ch] * is);
	float be = mask_beta ? mask_beta[ch] : 0.0f;
	double s1 = 0, s2 = 0;
	for (size_t j = threadIdx.x; j < m; j += DROP_CUDA_THREADS) {
		size_t i = bn_at(j, c, ch, hw);
		float xv = x[i], dyv = dy[i];
		if (mask_beta)
			dyv *= (float)(ga * (xv - mr) + be > 0);
		double t = dyv;
		s1 += t;
		s2 += t * (xv - mu) * is;
	}
	*sdy = drop_block_sum(s1, sh);
	*sdyx = drop_block_sum(s2, sh);
}

/* Channel ch's backward coefficients from its sums over count values. */
__device__ static inline void bn_bwd_coef(int c, int ch, double count, double sdy,
                                          double sdyx, const float *gamma,
                                          const float *mask_beta, const float *save_mean,
                                          const float *save_invstd, float *coef)
{
	double is = save_invstd[ch], gi = gamma[ch] * is;
	coef[ch] = (float)gi;
	coef[c + ch] = (float)(-gi * is * sdyx / count);
	coef[2 * c + ch] = (float)(-gi * sdy / count);
	coef[3 * c + ch] = save_mean[ch];
	coef[4 * c + ch] = (float)gi;
	coef[5 * c + ch] = mask_beta ? mask_beta[ch] : 0.0f;
}

/* dx = a dy' + b (x - mu) + c0, dy' masked as bn_bwd_block_sums has it when relu. */
__global__ static void bn_bwd_apply_kernel(size_t n, int c, size_t hw, bool relu,
                                           const float *x, const float *dy, const float *coef,
                                           float *dx)
{
	DROP_GRID_STRIDE(i, n) {
		int ch = (int)(i / hw % c);
		float xv = x[i], dyv = dy[i], mr = coef[3 * c + ch];
		if (relu)
			dyv *= (float)(coef[4 * c + ch] * (xv - mr) + coef[5 * c + ch] > 0);
		dx[i] = coef[ch] * dyv + coef[c + ch] * (xv - mr) + coef[2 * c + ch];
	}
}

#endif

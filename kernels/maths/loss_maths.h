/*
 * loss_maths.h - the arithmetic of the losses, the optimiser and the random generator,
 * written once for both backends (kernels/README.md, Backends; the same DROP_HD convention as
 * kernels/maths/maths.h): label-smoothed cross-entropy of one row or pixel, the
 * smoothness term of one probability plane, the safe square root of the triplet
 * distances, PyTorch's Adam step with coupled L2 weight decay, the warm-up + multi-step
 * learning-rate schedule (lib/run/train_run.c), and Philox4x32-10 (Salmon et al., SC'11)
 * with its conversions to uniform and normal floats (lib/data/'s random draws too).
 * Not here: reductions over a batch (each backend's loop, in a fixed order).
 */
#ifndef DROP_LOSS_MATHS_H
#define DROP_LOSS_MATHS_H

#include "hd.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* Label-smoothed cross-entropy of one row from its log-softmax value at the label, the
 * sum of its log-softmax values, and the class count: -((1 - eps) lp[y] + eps/C sum lp)
 * (PyTorch's label_smoothing, BPBreID's CrossEntropyLoss). */
static inline DROP_HD double drop_ce_smooth(double lp_label, double lp_sum, int c, double eps)
{
	return -((1.0 - eps) * lp_label + eps / c * lp_sum);
}

/* Its gradient with respect to logit j: p_j - q_j, q = (1 - eps) onehot + eps / C. */
static inline DROP_HD double drop_ce_smooth_grad(double p, int is_label, int c, double eps)
{
	return p - ((is_label ? 1.0 - eps : 0.0) + eps / c);
}

/* Sign of a - b for the gradient of |a - b| (0 at a tie, as PyTorch). */
static inline DROP_HD double drop_sign(double v)
{
	return (v > 0) - (v < 0);
}

/* Log-sum-exp of k values x[0], x[stride], ... */
static inline DROP_HD double drop_lse(const float *x, int k, size_t stride)
{
	double mx = x[0], s = 0;
	for (int j = 1; j < k; j++)
		mx = x[j * stride] > mx ? x[j * stride] : mx;
	for (int j = 0; j < k; j++)
		s += exp(x[j * stride] - mx);
	return mx + log(s);
}

/* One row (stride 1) or pixel (stride H W) of k logits with its label: the smoothed
 * cross-entropy, and its gradient scaled by `g` written to d (same stride). */
static inline DROP_HD double drop_ce_row(const float *x, int k, size_t stride, int label,
                                         double eps, double g, float *d)
{
	double l = drop_lse(x, k, stride), sum = 0;
	for (int j = 0; j < k; j++) {
		sum += x[j * stride] - l;
		d[j * stride] = (float)(g * drop_ce_smooth_grad(exp(x[j * stride] - l),
		                                                j == label, k, eps));
	}
	return drop_ce_smooth(x[label * stride] - l, sum, k, eps);
}

/* The smoothness term of one (image, class) plane: its two sums, and its gradient
 * (sv, sh the weights of the vertical and horizontal terms) written to dp. */
static inline DROP_HD void drop_smooth_plane(const float *p, int h, int w, double sv,
                                             double sh, float *dp, double *vert,
                                             double *horiz)
{
	double v = 0, hz = 0;
	for (int i = 0; i < h * w; i++)
		dp[i] = 0;
	for (int y = 0; y + 1 < h; y++)
		for (int x = 0; x < w; x++) {
			double dlt = (double)p[(y + 1) * w + x] - p[y * w + x], s = drop_sign(dlt);
			v += fabs(dlt);
			dp[(y + 1) * w + x] += (float)(sv * s);
			dp[y * w + x] -= (float)(sv * s);
		}
	for (int y = 0; y < h; y++)
		for (int x = 0; x + 1 < w; x++) {
			double dlt = (double)p[y * w + x + 1] - p[y * w + x], s = drop_sign(dlt);
			hz += fabs(dlt);
			dp[y * w + x + 1] += (float)(sh * s);
			dp[y * w + x] -= (float)(sh * s);
		}
	*vert = v;
	*horiz = hz;
}

/* The triplet distances' square root with a safe gradient at 0 (BPBreID:
 * clamp(min=1e-12).sqrt()): the distance and whether its gradient flows. */
static inline DROP_HD double drop_safe_sqrt(double sq, int *flows)
{
	*flows = sq >= 1e-12;
	return sqrt(sq >= 1e-12 ? sq : 1e-12);
}

/* The per-step scalars of Adam's update (below), computed once per step rather than per
 * parameter: step_size = lr / (1 - beta1^t) and bc2_sqrt = sqrt(1 - beta2^t), rounded to
 * float as PyTorch 1.13 passes them. */
static inline DROP_HD void drop_adam_scalars(double lr, double beta1, double beta2, int t,
                                             float *step_size, float *bc2_sqrt)
{
	double bc1 = 1.0 - pow(beta1, t), bc2 = 1.0 - pow(beta2, t);
	*step_size = (float)(lr / bc1);
	*bc2_sqrt = (float)sqrt(bc2);
}

/* One Adam step on one parameter, PyTorch 1.13's torch.optim.Adam (amsgrad off) with
 * coupled L2 weight decay (the decay is added to the gradient), in PyTorch's order of
 * float operations: the hyper-parameters and bias corrections are doubles (Python floats)
 * rounded to float where PyTorch passes them to a float kernel as scalars; step_size and
 * bc2_sqrt from drop_adam_scalars. Updates *p, *m, *v. */
static inline DROP_HD void drop_adam_update(float *p, float *m, float *v, float g,
                                            double beta1, double beta2, double eps, double wd,
                                            float step_size, float bc2_sqrt)
{
	float gw = g + (float)wd * *p;
	*m = *m * (float)beta1 + gw * (float)(1.0 - beta1);
	*v = *v * (float)beta2 + gw * gw * (float)(1.0 - beta2);
	float denom = sqrtf(*v) / bc2_sqrt + (float)eps;
	*p += -step_size * (*m / denom);
}

/* drop_adam_update with the scalars of step t (from 1) computed here. */
static inline DROP_HD void drop_adam_step(float *p, float *m, float *v, float g, double lr,
                                          double beta1, double beta2, double eps, double wd,
                                          int t)
{
	float step_size, bc2_sqrt;
	drop_adam_scalars(lr, beta1, beta2, t, &step_size, &bc2_sqrt);
	drop_adam_update(p, m, v, g, beta1, beta2, eps, wd, step_size, bc2_sqrt);
}

/* The learning rate of epoch `epoch` (from 0; doc/model.md §6): BPBreID's WarmupMultiStepLR
 * with linear warm-up, base * (f0 (1 - a) + a) for a = epoch / warmup while epoch <
 * warmup, times gamma for every milestone <= epoch (milestones: nmilestones epochs, any
 * order). A pure function: the same on every backend, and on the host for the training
 * loop. */
static inline DROP_HD double drop_lr_schedule(int epoch, double base, int warmup, double f0,
                                              const int *milestones, int nmilestones,
                                              double gamma)
{
	double f = 1.0;
	if (epoch < warmup) {
		double a = (double)epoch / warmup;
		f = f0 * (1.0 - a) + a;
	}
	for (int i = 0; i < nmilestones; i++)
		if (milestones[i] <= epoch)
			f *= gamma;
	return base * f;
}

/* ---- Philox4x32-10 ----------------------------------------------------------------------- */

static inline DROP_HD uint32_t drop_mulhilo32(uint32_t a, uint32_t b, uint32_t *hi)
{
	uint64_t p = (uint64_t)a * b;
	*hi = (uint32_t)(p >> 32);
	return (uint32_t)p;
}

/* The four 32-bit words of counter ctr under key: pure function, so any element of a
 * stream can be computed by any thread, on either backend. */
static inline DROP_HD void drop_philox4x32(const uint32_t ctr[4], const uint32_t key[2],
                                           uint32_t out[4])
{
	uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3], k0 = key[0], k1 = key[1];
	for (int r = 0; r < 10; r++) {
		uint32_t hi0, hi1;
		uint32_t lo0 = drop_mulhilo32(0xD2511F53u, c0, &hi0);
		uint32_t lo1 = drop_mulhilo32(0xCD9E8D57u, c2, &hi1);
		c0 = hi1 ^ c1 ^ k0;
		c1 = lo1;
		c2 = hi0 ^ c3 ^ k1;
		c3 = lo0;
		k0 += 0x9E3779B9u;
		k1 += 0xBB67AE85u;
	}
	out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

/* A uniform float in [0, 1) from 24 random bits. */
static inline DROP_HD float drop_u01(uint32_t x)
{
	return (float)(x >> 8) * (1.0f / 16777216.0f);
}

/* Two standard normal floats from two words (Box-Muller in double; the backends' log, cos
 * and sin may differ in the last double bit, so rarely in the last float bit). */
static inline DROP_HD void drop_normal2(uint32_t a, uint32_t b, float *z0, float *z1)
{
	double u1 = ((double)(a >> 8) + 1.0) / 16777217.0; /* (0, 1]: log is finite */
	double u2 = (double)(b >> 8) / 16777216.0;
	double r = sqrt(-2.0 * log(u1));
	*z0 = (float)(r * cos(6.283185307179586 * u2));
	*z1 = (float)(r * sin(6.283185307179586 * u2));
}

/* The four words of block blk of stream (seed, stream): Philox's counter (blk, stream, 0)
 * under the key seed. */
static inline DROP_HD void drop_rand_block(uint64_t seed, uint32_t stream, uint64_t blk,
                                           uint32_t w[4])
{
	uint32_t ctr[4] = { (uint32_t)blk, (uint32_t)(blk >> 32), stream, 0 };
	uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };
	drop_philox4x32(ctr, key, w);
}

/* Element j of the uniform stream (seed, stream) (ops.h, rand_uniform): word j mod 4 of
 * block j / 4. */
static inline DROP_HD float drop_rand_uniform_at(uint64_t seed, uint32_t stream, uint64_t j)
{
	uint32_t w[4];
	drop_rand_block(seed, stream, j / 4, w);
	return drop_u01(w[j % 4]);
}

/* Element j of the normal stream (seed, stream) (ops.h, rand_normal): of block j / 4,
 * words 0 and 1 make elements 0 and 1, words 2 and 3 elements 2 and 3. */
static inline DROP_HD float drop_rand_normal_at(uint64_t seed, uint32_t stream, uint64_t j)
{
	uint32_t w[4];
	float z[2];
	drop_rand_block(seed, stream, j / 4, w);
	int pair = (int)(j % 4) / 2;
	drop_normal2(w[2 * pair], w[2 * pair + 1], &z[0], &z[1]);
	return z[j % 2];
}

#endif

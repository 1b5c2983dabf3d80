/*
 * triplet.cu - the triplet losses (PCT over the memory bank, BPBreID's part-averaged) on
 * CUDA. The translation of kernels/cpu/triplet.c with kernels/maths/triplet_maths.h: mining with
 * one thread per anchor, then the gradient in one thread in anchor order (the CPU's order
 * of additions; ~0.5 M operations at the paper's sizes, a later kernel can parallelise it
 * per (part, channel) without changing that order).
 */
#include "cuda.h"
#include "../maths/loss_maths.h"
#include "../maths/triplet_maths.h"
#include "check.h"
#include "scratch.h"

__global__ static void mine_kernel(struct drop_triplet_desc d, const float *emb,
                                   const int *pid, const unsigned char *vis,
                                   const float *bank, const int *bank_pid,
                                   const unsigned char *bank_vis, struct drop_mined *mn)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < d.b)
		mn[i] = drop_trip_mine(&d, emb, pid, vis, bank, bank_pid, bank_vis, i);
}

/* One thread: count the valid anchors, add the hinge terms and the gradients in order.
 * out[0] = loss sum, out[1] = valid anchors. */
__global__ static void grad_kernel(struct drop_triplet_desc d, const float *emb,
                                   const unsigned char *vis, const float *bank,
                                   const unsigned char *bank_vis,
                                   const struct drop_mined *mn, float scale, float *demb,
                                   double *out)
{
	int valid = 0;
	for (int i = 0; i < d.b; i++)
		valid += mn[i].pos >= 0 && mn[i].neg >= 0;
	for (size_t i = 0; i < (size_t)d.b * d.k * d.dim; i++)
		demb[i] = 0.0f;
	double loss = 0;
	for (int i = 0; i < d.b; i++) {
		if (mn[i].pos < 0 || mn[i].neg < 0)
			continue;
		double l = mn[i].dpos - mn[i].dneg + d.margin;
		if (l <= 0)
			continue;
		loss += l;
		double g = (double)scale / valid;
		drop_pair_grad(&d, emb, vis, bank, bank_vis, i, mn[i].pos, g, demb);
		drop_pair_grad(&d, emb, vis, bank, bank_vis, i, mn[i].neg, -g, demb);
	}
	out[0] = loss;
	out[1] = valid;
}

extern "C" double drop_triplet_cuda(const struct drop_triplet_desc *d, const float *emb,
                                    const int *pid, const unsigned char *vis,
                                    const float *bank, const int *bank_pid,
                                    const unsigned char *bank_vis, float scale, float *demb,
                                    int *nvalid)
{
	size_t mbytes = ((size_t)d->b * sizeof(struct drop_mined) + 15) / 16 * 16;
	char *buf = (char *)drop_cuda_scratch(mbytes + 2 * sizeof(double));
	struct drop_mined *mn = (struct drop_mined *)buf;
	double *out = (double *)(buf + mbytes), host[2];
	mine_kernel<<<(d->b + 63) / 64, 64>>>(*d, emb, pid, vis, bank, bank_pid, bank_vis, mn);
	CUDA_CHECK_LAUNCH();
	grad_kernel<<<1, 1>>>(*d, emb, vis, bank, bank_vis, mn, scale, demb, out);
	CUDA_CHECK_LAUNCH();
	CUDA_CHECK(cudaMemcpy(host, out, sizeof host, cudaMemcpyDeviceToHost));
	*nvalid = (int)host[1];
	return *nvalid ? host[0] / *nvalid : 0.0;
}

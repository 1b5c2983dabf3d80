/*
 * adam.cu - the Adam step on CUDA: the translation of kernels/cpu/adam.c, one thread per
 * parameter running drop_adam_step of kernels/maths/loss_maths.h.
 */
#include "cuda.h"
#include "../maths/loss_maths.h"
#include "check.h"

__global__ static void adam_kernel(size_t n, struct drop_adam a, float *p, const float *g,
                                   float *m, float *v)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
	     i += (size_t)blockDim.x * gridDim.x)
		drop_adam_step(&p[i], &m[i], &v[i], g[i], a.lr, a.beta1, a.beta2, a.eps,
		               a.weight_decay, a.step);
}

extern "C" void drop_adam_cuda(size_t n, const struct drop_adam *a, float *p, const float *g,
                               float *m, float *v)
{
	size_t blocks = (n + 255) / 256;
	adam_kernel<<<(unsigned)(blocks < 65535 ? (blocks ? blocks : 1) : 65535), 256>>>(
		n, *a, p, g, m, v);
	CUDA_CHECK_LAUNCH();
}

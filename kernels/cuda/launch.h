/*
 * launch.h - what the CUDA kernels share: the launch shape of an element-wise kernel (one
 * thread per element, a grid-stride loop, at most 65535 blocks) and the deterministic block
 * reductions (a fixed-shape tree in shared memory, so a sum's order depends only on the
 * block size, never on timing: no atomics anywhere).
 * Every launch goes to the legacy default stream, as cuBLAS and cuDNN calls do (their
 * handles keep stream 0): one stream, so ops run one after another as ops.h says.
 */
#ifndef DROP_CUDA_LAUNCH_H
#define DROP_CUDA_LAUNCH_H

#include <stddef.h>

/* Threads a block of the element-wise and the reduction kernels (a power of two). */
#define DROP_CUDA_THREADS 256

static inline unsigned drop_cuda_grid(size_t n)
{
	size_t g = (n + DROP_CUDA_THREADS - 1) / DROP_CUDA_THREADS;
	return (unsigned)(g < 65535 ? (g ? g : 1) : 65535);
}

#define DROP_GRID_STRIDE(i, n)                                                              \
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (size_t)(n);     \
	     i += (size_t)blockDim.x * gridDim.x)

/* The sum of v over the block's DROP_CUDA_THREADS threads, in a fixed tree (thread t adds
 * t + s for s = 128, 64, ..., 1); every thread gets it. sh: DROP_CUDA_THREADS doubles. */
__device__ static inline double drop_block_sum(double v, double *sh)
{
	int t = threadIdx.x;
	sh[t] = v;
	__syncthreads();
	for (int s = DROP_CUDA_THREADS / 2; s > 0; s >>= 1) {
		if (t < s)
			sh[t] += sh[t + s];
		__syncthreads();
	}
	double r = sh[0];
	__syncthreads();
	return r;
}

/* The largest v over the block and its index i, the smallest index among equals (the first
 * pixel, as the CPU's serial scan); every thread gets both. A thread with nothing passes
 * i = INT_MAX. */
__device__ static inline void drop_block_argmax(float *v, int *i, float *shv, int *shi)
{
	int t = threadIdx.x;
	shv[t] = *v, shi[t] = *i;
	__syncthreads();
	for (int s = DROP_CUDA_THREADS / 2; s > 0; s >>= 1) {
		if (t < s) {
			float a = shv[t], b = shv[t + s];
			int ia = shi[t], ib = shi[t + s];
			if (ib != 0x7fffffff && (ia == 0x7fffffff || b > a || (b == a && ib < ia)))
				shv[t] = b, shi[t] = ib;
		}
		__syncthreads();
	}
	*v = shv[0], *i = shi[0];
	__syncthreads();
}

#endif

/*
 * rng.cu - counter-based random numbers on CUDA: the translation of kernels/cpu/rng.c.
 * Element j of (seed, stream) is the same pure function of kernels/maths/loss_maths.h, so the
 * GPU draws the CPU's numbers.
 */
#include "cuda.h"
#include "../maths/loss_maths.h"
#include "check.h"

__device__ static void block_words(uint64_t seed, uint32_t stream, uint64_t blk, uint32_t w[4])
{
	uint32_t ctr[4] = { (uint32_t)blk, (uint32_t)(blk >> 32), stream, 0 };
	uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };
	drop_philox4x32(ctr, key, w);
}

__global__ static void uniform_kernel(uint64_t seed, uint32_t stream, uint64_t offset,
                                      size_t n, float *out)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
	     i += (size_t)blockDim.x * gridDim.x) {
		uint64_t j = offset + i;
		uint32_t w[4];
		block_words(seed, stream, j / 4, w);
		out[i] = drop_u01(w[j % 4]);
	}
}

__global__ static void normal_kernel(uint64_t seed, uint32_t stream, uint64_t offset, size_t n,
                                     float *out)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
	     i += (size_t)blockDim.x * gridDim.x) {
		uint64_t j = offset + i;
		uint32_t w[4];
		float z[2];
		block_words(seed, stream, j / 4, w);
		int pair = (int)(j % 4) / 2;
		drop_normal2(w[2 * pair], w[2 * pair + 1], &z[0], &z[1]);
		out[i] = z[j % 2];
	}
}

static unsigned grid_for(size_t n)
{
	size_t g = (n + 255) / 256;
	return (unsigned)(g < 65535 ? (g ? g : 1) : 65535);
}

extern "C" void drop_rand_uniform_cuda(uint64_t seed, uint32_t stream, uint64_t offset,
                                       size_t n, float *out)
{
	uniform_kernel<<<grid_for(n), 256>>>(seed, stream, offset, n, out);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_rand_normal_cuda(uint64_t seed, uint32_t stream, uint64_t offset,
                                      size_t n, float *out)
{
	normal_kernel<<<grid_for(n), 256>>>(seed, stream, offset, n, out);
	CUDA_CHECK_LAUNCH();
}

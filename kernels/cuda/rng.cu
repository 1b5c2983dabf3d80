/*
 * rng.cu - counter-based random numbers on CUDA: the translation of kernels/cpu/rng.c.
 * Element j of (seed, stream) is the same pure function of kernels/maths/loss_maths.h
 * (drop_rand_uniform_at, drop_rand_normal_at), so the GPU draws the CPU's numbers.
 */
#include "cuda.h"
#include "../maths/loss_maths.h"
#include "check.h"

__global__ static void uniform_kernel(uint64_t seed, uint32_t stream, uint64_t offset,
                                      size_t n, float *out)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
	     i += (size_t)blockDim.x * gridDim.x)
		out[i] = drop_rand_uniform_at(seed, stream, offset + i);
}

__global__ static void normal_kernel(uint64_t seed, uint32_t stream, uint64_t offset, size_t n,
                                     float *out)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
	     i += (size_t)blockDim.x * gridDim.x)
		out[i] = drop_rand_normal_at(seed, stream, offset + i);
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

/*
 * rng.c - counter-based random numbers on the CPU (ops.h, "Random numbers"): element j of
 * a stream is a pure function of (seed, stream, j), computed by kernels/maths/loss_maths.h's
 * Philox4x32-10, so any thread count, any split of the range and the CUDA backend give
 * the same numbers.
 */
#include "cpu.h"
#include "../maths/loss_maths.h"

void drop_rand_uniform_cpu(uint64_t seed, uint32_t stream, uint64_t offset, size_t n,
                           float *out)
{
#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++)
		out[i] = drop_rand_uniform_at(seed, stream, offset + i);
}

void drop_rand_normal_cpu(uint64_t seed, uint32_t stream, uint64_t offset, size_t n,
                          float *out)
{
#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++)
		out[i] = drop_rand_normal_at(seed, stream, offset + i);
}

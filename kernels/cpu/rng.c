/*
 * rng.c - counter-based random numbers on the CPU (ops.h, "Random numbers"): element j of
 * a stream is a pure function of (seed, stream, j), computed by kernels/maths/loss_maths.h's
 * Philox4x32-10, so any thread count, any split of the range and the CUDA backend give
 * the same numbers.
 */
#include "cpu.h"
#include "../maths/loss_maths.h"

static void block_words(uint64_t seed, uint32_t stream, uint64_t blk, uint32_t w[4])
{
	uint32_t ctr[4] = { (uint32_t)blk, (uint32_t)(blk >> 32), stream, 0 };
	uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };
	drop_philox4x32(ctr, key, w);
}

void drop_rand_uniform_cpu(uint64_t seed, uint32_t stream, uint64_t offset, size_t n,
                           float *out)
{
#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++) {
		uint64_t j = offset + i;
		uint32_t w[4];
		block_words(seed, stream, j / 4, w);
		out[i] = drop_u01(w[j % 4]);
	}
}

void drop_rand_normal_cpu(uint64_t seed, uint32_t stream, uint64_t offset, size_t n,
                          float *out)
{
#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++) {
		uint64_t j = offset + i;
		uint32_t w[4];
		float z[2];
		block_words(seed, stream, j / 4, w);
		int pair = (int)(j % 4) / 2;
		drop_normal2(w[2 * pair], w[2 * pair + 1], &z[0], &z[1]);
		out[i] = z[j % 2];
	}
}

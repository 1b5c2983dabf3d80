/*
 * convert.c - copy a tensor into another layout (plain <-> blocked) on the CPU. Used where
 * the model leaves or enters the blocked activations (input image, heads, dumps) and by the
 * tests; never between two layers. Plain loops with OpenMP over (n, channel block); the
 * padding channels of a blocked destination are written as zeros.
 */
#include "cpu.h"

#include <string.h>

#include "../fail.h"

void drop_convert_cpu(const struct drop_tensor *src, struct drop_tensor *dst)
{
	int block = drop_cpu_block();
	if (src->n != dst->n || src->c != dst->c || src->h != dst->h || src->w != dst->w)
		DROP_BUG("convert: shapes differ");
	if (src->layout == dst->layout) {
		memmove(dst->data, src->data, drop_tensor_bytes(src, block));
		return;
	}
	/* One side plain, the other blocked: walk the blocked side's (n, cb) slabs. */
	const struct drop_tensor *b = src->layout == DROP_BLOCKED ? src : dst;
	int nb = drop_tensor_cpad(b, block) / block, c = b->c, n = b->n;
	size_t hw = (size_t)b->h * b->w;
	int to_blocked = dst->layout == DROP_BLOCKED;
#pragma omp parallel for collapse(2) schedule(static)
	for (int i = 0; i < n; i++) {
		for (int cb = 0; cb < nb; cb++) {
			float *blk = (to_blocked ? dst->data : src->data) +
			             ((size_t)i * nb + cb) * hw * block;
			for (int l = 0; l < block; l++) {
				int ch = cb * block + l;
				if (ch >= c) {
					if (to_blocked)
						for (size_t s = 0; s < hw; s++)
							blk[s * block + l] = 0.0f;
					continue;
				}
				float *pl = (to_blocked ? src->data : dst->data) +
				            ((size_t)i * c + ch) * hw;
				if (to_blocked)
					for (size_t s = 0; s < hw; s++)
						blk[s * block + l] = pl[s];
				else
					for (size_t s = 0; s < hw; s++)
						pl[s] = blk[s * block + l];
			}
		}
	}
}

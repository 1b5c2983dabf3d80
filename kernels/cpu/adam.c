/*
 * adam.c - the optimiser step on the CPU (doc/model.md §6): the per-parameter update of
 * kernels/maths/loss_maths.h over a flat parameter buffer.
 * Not here: the learning-rate schedule (drop_lr_schedule, kernels/maths/loss_maths.h).
 */
#include "cpu.h"
#include "../maths/loss_maths.h"

void drop_adam_cpu(size_t n, const struct drop_adam *a, float *p, const float *g, float *m,
                   float *v)
{
	float step_size, bc2_sqrt; /* once per step: pow() per parameter cost 10x the update */
	drop_adam_scalars(a->lr, a->beta1, a->beta2, a->step, &step_size, &bc2_sqrt);
#pragma omp parallel for simd schedule(static)
	for (size_t i = 0; i < n; i++)
		drop_adam_update(&p[i], &m[i], &v[i], g[i], a->beta1, a->beta2, a->eps,
		                 a->weight_decay, step_size, bc2_sqrt);
}

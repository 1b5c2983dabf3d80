/*
 * adam.c - the optimiser step and the learning-rate schedule on the CPU (model.md §6):
 * the per-parameter update of kernels/loss_maths.h over a flat parameter buffer.
 */
#include "../ops.h"
#include "../loss_maths.h"

void drop_adam_cpu(size_t n, const struct drop_adam *a, float *p, const float *g, float *m,
                   float *v)
{
#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++)
		drop_adam_step(&p[i], &m[i], &v[i], g[i], a->lr, a->beta1, a->beta2, a->eps,
		               a->weight_decay, a->step);
}

double drop_lr_schedule(int epoch, double base, int warmup, double f0, const int *milestones,
                        int nmilestones, double gamma)
{
	return drop_lr_at(epoch, base, warmup, f0, milestones, nmilestones, gamma);
}

/*
 * params.c - the model's parameter registry (lib/model/model.h): named entries in creation
 * order, their buffers (trained values, gradients and Adam moments in flat parallel
 * buffers; frozen values and running statistics in another), the initialisation of
 * doc/model.md §6 from Philox streams, and the Adam step.
 * Not here: reading or writing checkpoints (lib/model/checkpoint.c) or building layers.
 */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/drop.h"

int drop_params_add(struct drop_params *ps, const char *name, enum drop_param_kind kind,
                    int ndim, const int *shape, enum drop_init init, double std)
{
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? 2 * ps->cap : 256;
		ps->p = drop_realloc(ps->p, (size_t)ps->cap * sizeof *ps->p);
	}
	struct drop_param *p = &ps->p[ps->n];
	memset(p, 0, sizeof *p);
	DROP_ASSERT(strlen(name) < sizeof p->name, "parameter name too long: %s", name);
	strcpy(p->name, name);
	p->kind = kind;
	p->ndim = ndim;
	p->numel = 1;
	int dims[4] = { 1, 1, 1, 1 };
	for (int i = 0; i < ndim; i++) {
		p->shape[i] = shape[i];
		dims[i] = shape[i];
		p->numel *= (size_t)shape[i];
	}
	p->init = init;
	p->std = std;
	p->t = drop_tensor_make(dims[0], dims[1], dims[2], dims[3], DROP_PLAIN);
	if (kind == DROP_PARAM_TRAINED) {
		p->off = ps->ntrained;
		ps->ntrained += p->numel;
	} else if (kind != DROP_PARAM_COUNT) {
		p->off = ps->nother;
		ps->nother += p->numel;
	}
	return ps->n++;
}

static float *alloc_zero(const struct drop_backend *be, size_t n)
{
	size_t bytes = (n ? n : 1) * sizeof(float);
	float *d = be->alloc(bytes);
	float *z = drop_calloc(n ? n : 1, sizeof(float));
	be->to_device(d, z, bytes);
	free(z);
	return d;
}

void drop_params_alloc(struct drop_params *ps, const struct drop_backend *be)
{
	ps->be = be;
	ps->trained = alloc_zero(be, ps->ntrained);
	ps->grad = alloc_zero(be, ps->ntrained);
	ps->adam_m = alloc_zero(be, ps->ntrained);
	ps->adam_v = alloc_zero(be, ps->ntrained);
	ps->other = alloc_zero(be, ps->nother);
	for (int i = 0; i < ps->n; i++) {
		struct drop_param *p = &ps->p[i];
		switch (p->kind) {
		case DROP_PARAM_TRAINED:
			p->t.data = ps->trained + p->off;
			p->grad = ps->grad + p->off;
			break;
		case DROP_PARAM_FROZEN:
		case DROP_PARAM_RUNNING:
			p->t.data = ps->other + p->off;
			break;
		case DROP_PARAM_COUNT:
			break;
		}
	}
	drop_params_touch(ps);
}

void drop_params_init(struct drop_params *ps, uint64_t seed)
{
	for (int i = 0; i < ps->n; i++) {
		struct drop_param *p = &ps->p[i];
		if (p->kind == DROP_PARAM_COUNT) {
			p->count = 0;
			continue;
		}
		float *h = drop_malloc(p->numel * sizeof *h);
		switch (p->init) {
		case DROP_INIT_ZERO:
		case DROP_INIT_ONE:
			for (size_t j = 0; j < p->numel; j++)
				h[j] = p->init == DROP_INIT_ONE ? 1.0f : 0.0f;
			break;
		case DROP_INIT_KAIMING:
		case DROP_INIT_NORMAL: {
			/* Kaiming normal, mode fan_out, ReLU gain: std = sqrt(2 / (Cout k k)). */
			double std = p->std;
			if (p->init == DROP_INIT_KAIMING) {
				double fan_out = (double)p->numel / (p->ndim > 1 ? p->shape[1] : 1);
				std = sqrt(2.0 / fan_out);
			}
			/* h is host memory: drawn by a backend whose memory is the host's (the
			 * model's own, else the CPU's), so every backend starts from the same bits. */
			const struct drop_backend *host = ps->be;
			if (!host->host_memory || !host->rand_normal)
				host = drop_backend_get("cpu", NULL);
			host->rand_normal(seed, DROP_STREAM_INIT + (uint32_t)i, 0, p->numel, h);
			for (size_t j = 0; j < p->numel; j++)
				h[j] = (float)(h[j] * std);
			break;
		}
		}
		ps->be->to_device(p->t.data, h, p->numel * sizeof *h);
		free(h);
	}
	drop_params_touch(ps);
}

int drop_params_find(const struct drop_params *ps, const char *name)
{
	for (int i = 0; i < ps->n; i++)
		if (!strcmp(ps->p[i].name, name))
			return i;
	return -1;
}

void drop_params_fuse(struct drop_params *ps, size_t scratch, size_t tail)
{
	ps->be->free(ps->grad);
	ps->grad = alloc_zero(ps->be, scratch + ps->ntrained - tail);
	ps->fused = true;
	ps->fused_scratch = scratch;
	ps->fused_tail = tail;
	for (int i = 0; i < ps->n; i++) {
		struct drop_param *p = &ps->p[i];
		if (p->kind == DROP_PARAM_TRAINED)
			p->grad = p->off >= tail ? ps->grad + scratch + (p->off - tail) : NULL;
	}
}

void drop_params_zero_grad(struct drop_params *ps)
{
	size_t skip = ps->fused ? ps->fused_scratch : 0, n = ps->ntrained - ps->fused_tail;
	if (n)
		ps->be->scale(n, 0.0f, ps->grad + skip, ps->grad + skip);
}

void drop_params_adam(struct drop_params *ps, double lr, double beta1, double beta2,
                      double eps, double weight_decay)
{
	struct drop_adam a = { lr, beta1, beta2, eps, weight_decay, ++ps->adam_step };
	size_t t = ps->fused_tail, n = ps->ntrained - t; /* fused_tail is 0 unless fused */
	if (n)
		ps->be->adam(n, &a, ps->trained + t, ps->grad + (ps->fused ? ps->fused_scratch : 0),
		             ps->adam_m + t, ps->adam_v + t);
	drop_params_touch(ps);
}

/* Versions come from one process-wide counter, so a new model allocated where a freed one
 * was never meets the kernels' cached copy of the old weights. */
static unsigned version_counter;

void drop_params_touch(struct drop_params *ps)
{
	unsigned v = ++version_counter;
	for (int i = 0; i < ps->n; i++)
		ps->p[i].t.version = v;
}

void drop_params_free(struct drop_params *ps)
{
	if (ps->be) {
		ps->be->free(ps->trained);
		ps->be->free(ps->grad);
		ps->be->free(ps->adam_m);
		ps->be->free(ps->adam_v);
		ps->be->free(ps->other);
	}
	free(ps->p);
	memset(ps, 0, sizeof *ps);
}

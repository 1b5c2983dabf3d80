/*
 * net.c - the DROP model put together (doc/model.md §1-5): the configuration and its
 * defaults, the graph from the image to Preid and the parsing logits S - backbone,
 * Preid concat (bilinear, align_corners=True), DPU, PPE and the parsing classifier f_hp, or
 * f_hp on Preid for the coupled baseline - and the training / evaluation passes through
 * the graph, the heads and the losses.
 *
 * DPU (doc/model.md §3): CR_i = 1x1 conv + BN + ReLU to C_hp channels, named dpu.reduce.{i}.0/1;
 * up_s is bilinear with align_corners=False to the target's size (x s when the sizes
 * divide). PPE: ppe.0 conv 1x1 1->C_hp (no bias, a BN follows), ppe.1 BN + ReLU, ppe.3
 * conv 1x1, ppe.4 BN (the indices of an nn.Sequential with the ReLU at 2).
 * f_hp: parsing.bn (BN2d) and parsing.classifier (1x1 conv with bias, N(0, 0.001)).
 * Not here: the backbones (hrnet.c, resnet.c), the heads (heads.c), the losses (losses.c).
 */
#include "model.h"
#include "graph.h"
#include "heads.h"
#include "grad_buckets.h"
#include "sync_bn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/drop.h"
#include "../core/ranks.h"

void drop_model_config_default(struct drop_model_config *c)
{
	memset(c, 0, sizeof *c);
	c->backbone = DROP_HRNET_W32;
	c->height = 256;
	c->width = 128;
	c->parts = 8;
	c->dim = 512;
	c->hp_channels = 128;
	c->decouple = true;
	c->ppe = true;
	c->triplet = DROP_TRIPLET_PCT;
	c->pemb = 4;
	c->margin = 0.3f;
	c->ss_gamma = 0.5f;
	c->hp_weight = 0.4f;
	c->label_smooth = 0.1f;
	c->vis_threshold = 0.4f;
}

static const char *const backbone_names[] = { "hrnet-w32", "hrnet-tiny", "resnet50",
                                              "resnet50-ibn" };

const char *const drop_triplet_names[] = { "pct", "part-avg", "none", NULL };

int drop_backbone_parse(const char *name, enum drop_backbone *out)
{
	char list[128] = "";
	for (int i = 0; i < 4; i++) {
		if (!strcmp(name, backbone_names[i])) {
			*out = (enum drop_backbone)i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
		         backbone_names[i]);
	}
	return drop_fail("unknown backbone '%s' (%s)", name, list);
}

const char *drop_backbone_name(enum drop_backbone b)
{
	return (unsigned)b < 4 ? backbone_names[b] : "?";
}

static int check_config(const struct drop_model_config *c)
{
	if ((unsigned)c->backbone > DROP_RESNET50_IBN)
		return drop_fail("unknown backbone %d", (int)c->backbone);
	if (c->height < 32 || c->width < 32 || c->height % 32 || c->width % 32)
		return drop_fail("input size %dx%d: both sides must be multiples of 32", c->height,
		                 c->width);
	if (c->parts < 1 || c->parts > 64)
		return drop_fail("parts %d: must be in 1..64", c->parts);
	if (c->dim < 1 || c->hp_channels < 1 || c->classes < 0)
		return drop_fail("embedding size, parsing channels and classes must be positive");
	if (c->pemb < 1 || c->pemb > DROP_PEMB_MAX)
		return drop_fail("memory bank of %d batches: must be in 1..%d", c->pemb, DROP_PEMB_MAX);
	return 0;
}

static int up(struct drop_graph *g, int x, int like, bool align_corners)
{
	int ho = g->v[like].t.h, wo = g->v[like].t.w;
	if (g->v[x].t.h == ho && g->v[x].t.w == wo)
		return x;
	return drop_graph_resample(g, x, ho, wo, DROP_BILINEAR, align_corners);
}

/* The parsing branch input Php (DPU, then + PPE): a value of C_hp channels at Hf x Wf. */
static int parsing_branch(struct drop_model *m)
{
	struct drop_graph *g = m->graph;
	int chp = m->cfg.hp_channels, cr[4];
	char a[64], b[64];
	for (int i = 0; i < 4; i++) {
		snprintf(a, sizeof a, "dpu.reduce.%d.0", i);
		snprintf(b, sizeof b, "dpu.reduce.%d.1", i);
		cr[i] = drop_graph_cbr(g, m->v_p[i], a, b, chp, 1, 1, 0, true);
	}
	int t4 = cr[3];
	int x3[2] = { cr[2], up(g, t4, cr[2], false) };
	int t3 = drop_graph_add(g, 2, x3, false);
	int x2[2] = { cr[1], up(g, t3, cr[1], false) };
	int t2 = drop_graph_add(g, 2, x2, false);
	int x1[4] = { cr[0], up(g, t2, cr[0], false), up(g, t3, cr[0], false),
	              up(g, t4, cr[0], false) };
	int php = drop_graph_add(g, 4, x1, false);
	if (m->cfg.ppe) {
		m->v_pos = drop_graph_input(g, 1, m->hf, m->wf, DROP_PLAIN);
		int q = drop_graph_cbr(g, m->v_pos, "ppe.0", "ppe.1", chp, 1, 1, 0, true);
		q = drop_graph_cbr(g, q, "ppe.3", "ppe.4", chp, 1, 1, 0, false);
		int xs[2] = { php, q };
		php = drop_graph_add(g, 2, xs, false);
	}
	return php;
}

/* The parsing head on x: BN, then the 1x1 classifier to the K + 1 logits S. */
static void parsing_head(struct drop_model *m, int x)
{
	struct drop_graph *g = m->graph;
	x = drop_graph_bn(g, x, "parsing.bn", false);
	m->v_s = drop_graph_conv(g, x, "parsing.classifier", m->cfg.parts + 1, 1, 1, 0, true,
	                         DROP_INIT_NORMAL, 0.001);
	drop_graph_output(g, m->v_s);
}

int drop_model_backend_check(const struct drop_backend *be, bool train)
{
#define NEED(op)                                                                            \
	if (!drop_backend_supports(be, op))                                                 \
		return drop_fail("the %s backend has no " #op " yet, which the model needs; " \
		                 "use --device cpu", be->name);
	NEED(convert) NEED(conv2d_fwd) NEED(linear_fwd) NEED(bn_fwd_train) NEED(bn_fwd_eval)
	NEED(resample_fwd) NEED(pool_global_fwd) NEED(wamp_fwd) NEED(softmax_fwd)
	NEED(l2norm_fwd) NEED(chanmax_fwd) NEED(maxpool_fwd) NEED(relu) NEED(add) NEED(scale)
	NEED(axpy) NEED(concat) NEED(split) NEED(rand_uniform) NEED(rand_normal)
	if (train) {
		NEED(conv2d_bwd_data) NEED(conv2d_bwd_weights) NEED(linear_bwd_data)
		NEED(linear_bwd_weights) NEED(bn_bwd) NEED(resample_bwd) NEED(pool_global_bwd)
		NEED(wamp_bwd) NEED(softmax_bwd) NEED(l2norm_bwd) NEED(chanmax_bwd)
		NEED(maxpool_bwd) NEED(relu_bwd) NEED(ce_smooth) NEED(parsing_loss)
		NEED(triplet) NEED(adam)
	}
#undef NEED
	return 0;
}

int drop_model_create(struct drop_model *m, const struct drop_model_config *cfg,
                      const struct drop_backend *be)
{
	memset(m, 0, sizeof *m);
	if (check_config(cfg) || drop_model_backend_check(be, false))
		return -1;
	m->cfg = *cfg;
	m->be = be;
	struct drop_graph *g = m->graph = drop_calloc(1, sizeof *m->graph);
	g->be = be;
	g->params = &m->params;
	m->v_pos = -1;
	m->v_image = drop_graph_input(g, 3, cfg->height, cfg->width, DROP_PLAIN);
	if (cfg->backbone == DROP_RESNET50 || cfg->backbone == DROP_RESNET50_IBN)
		drop_resnet_build(g, m->v_image, cfg->backbone, m->v_p);
	else
		drop_hrnet_build(g, m->v_image, cfg->backbone, m->v_p);
	m->hf = g->v[m->v_p[0]].t.h;
	m->wf = g->v[m->v_p[0]].t.w;
	/* Decoupled, the parsing head comes first and Preid last: Preid (480 MiB for HRNet-W32
	 * at batch 32) is then made right before the heads read it, not kept through the
	 * parsing branch's forward (nor its gradient through that branch's backward). */
	int x = cfg->decouple ? parsing_branch(m) : -1;
	if (cfg->decouple)
		parsing_head(m, x);
	int cat[4];
	m->creid = 0;
	for (int i = 0; i < 4; i++) {
		cat[i] = up(g, m->v_p[i], m->v_p[0], true);
		m->creid += g->v[m->v_p[i]].t.c;
	}
	m->v_preid = drop_graph_concat(g, 4, cat);
	drop_graph_output(g, m->v_preid);
	if (!cfg->decouple)
		parsing_head(m, m->v_preid);
	m->heads_param0 = m->params.n;
	drop_heads_build(m);
	drop_params_alloc(&m->params, be);
	return 0;
}

/* Undo drop_model_data_parallel's state: one process again. */
static void free_data_parallel(struct drop_model *m)
{
	if (m->buckets)
		drop_grad_buckets_free(m->buckets);
	free(m->buckets);
	m->buckets = NULL;
	if (m->sync_bn)
		drop_sync_bn_free(m->sync_bn);
	free(m->sync_bn);
	m->sync_bn = NULL;
	if (m->graph)
		m->graph->sync_bn = NULL;
}

void drop_model_free(struct drop_model *m)
{
	free_data_parallel(m);
	drop_heads_free(m);
	if (m->graph) {
		drop_graph_free(m->graph);
		free(m->graph);
	}
	drop_params_free(&m->params);
	free(m->bank_pid_h);
	free(m->bank_vis_h);
	memset(m, 0, sizeof *m);
}

const struct drop_model_out *drop_model_forward(struct drop_model *m, const float *images,
                                                int n, bool train)
{
	struct drop_graph *g = m->graph;
	const struct drop_backend *be = m->be;
	drop_graph_plan(g, n, train);
	drop_model_reserve(m, n);
	struct drop_tensor *img = drop_graph_data(g, m->v_image);
	be->scale(drop_tensor_floats(img, 1), 1.0f, images, img->data);
	if (m->v_pos >= 0) {
		/* The 1-D position map: row h holds h / (Hf - 1). */
		struct drop_tensor *pos = drop_graph_data(g, m->v_pos);
		size_t hw = (size_t)m->hf * m->wf;
		float *h = drop_malloc((size_t)n * hw * sizeof *h);
		for (int i = 0; i < n; i++)
			for (int y = 0; y < m->hf; y++)
				for (int x = 0; x < m->wf; x++)
					h[i * hw + (size_t)y * m->wf + x] =
						m->hf > 1 ? (float)y / (float)(m->hf - 1) : 0.0f;
		be->to_device(pos->data, h, (size_t)n * hw * sizeof *h);
		free(h);
	}
	drop_graph_forward(g, train);
	drop_heads_forward(m, n, train);
	return &m->heads->out;
}

struct drop_model_loss drop_model_backward(struct drop_model *m, const int *pids,
                                           const int *labels)
{
	int n = m->graph->plan_n;
	DROP_ASSERT(m->graph->plan_train && m->cfg.classes >= 1,
	            "model: backward needs a training forward pass and classes");
	for (int i = 0; i < n; i++)
		DROP_ASSERT(pids[i] >= 0 && pids[i] < m->cfg.classes,
		            "model: identity %d outside 0..%d", pids[i], m->cfg.classes - 1);
	drop_params_zero_grad(&m->params);
	struct drop_model_loss L = drop_model_losses(m, n, pids, labels);
	drop_heads_backward(m, n);
	drop_graph_backward(m->graph);
	return L;
}

/* Data-parallel on a device backend that cannot sum its own memory between processes
 * (cpu-strict): the gradient copied to the host, summed over MPI and copied back, after
 * backward, with no overlap. */
static void allreduce_grad_copied(struct drop_model *m)
{
	struct drop_params *ps = &m->params;
	const struct drop_backend *be = m->be;
	float *h = drop_malloc((ps->ntrained ? ps->ntrained : 1) * sizeof *h);
	be->to_host(h, ps->grad, ps->ntrained * sizeof *h);
	drop_ranks_allreduce_f32(h, ps->ntrained);
	be->to_device(ps->grad, h, ps->ntrained * sizeof *h);
	free(h);
}

/* The graph's hook (graph.h, grads_final) in a data-parallel backward: start summing the
 * bucket the final gradients make, if any (on the device: NCCL on its own stream; on the
 * host: MPI), else let the sums started move on. */
static void grads_final(void *ctx, int i)
{
	struct drop_model *m = ctx;
	size_t off, n = drop_grad_buckets_ready(m->buckets, i, &off);
	if (n && m->device_sums)
		m->be->allreduce_sum(m->params.grad + off, n);
	else if (n)
		drop_ranks_iallreduce_f32(m->params.grad + off, n);
	else if (!m->device_sums)
		drop_ranks_progress();
}

struct drop_model_loss drop_model_backward_adam(struct drop_model *m, const int *pids,
                                                const int *labels, double lr, double beta1,
                                                double beta2, double eps,
                                                double weight_decay)
{
	struct drop_adam a = { lr, beta1, beta2, eps, weight_decay, m->params.adam_step + 1 };
	DROP_ASSERT(m->ranks <= 1 || !m->params.fused, "model: fused Adam under several ranks");
	m->graph->adam = m->params.fused ? &a : NULL;
	if (m->buckets) { /* gradient sums overlapped with backward (grad_buckets.h) */
		drop_grad_buckets_reset(m->buckets);
		m->graph->grads_final = grads_final;
		m->graph->grads_ctx = m;
	}
	struct drop_model_loss L = drop_model_backward(m, pids, labels);
	m->graph->adam = NULL;
	m->graph->grads_final = NULL;
	if (m->buckets) {
		DROP_ASSERT(m->buckets->lo == 0, "model: gradients from %zu on not summed",
		            m->buckets->lo);
		if (m->device_sums)
			m->be->allreduce_wait();
		else
			drop_ranks_wait();
	} else if (m->ranks > 1) {
		allreduce_grad_copied(m);
	}
	drop_params_adam(&m->params, lr, beta1, beta2, eps, weight_decay);
	return L;
}

/* GPU ranks (doc/scale-out.md, GPU ranks): the backend's group for sums of device memory
 * (ops.h, comm_init: NCCL on CUDA) meets over MPI: rank 0 makes its id, which every rank
 * receives and joins with. Collective. */
static int join_device_group(struct drop_model *m)
{
	const struct drop_backend *be = m->be;
	unsigned char id[DROP_COMM_ID_BYTES] = { 0 };
	DROP_ASSERT(m->ranks == drop_nranks(), "model: %d ranks in a job of %d", m->ranks,
	            drop_nranks());
	if (m->rank == 0)
		be->comm_id(id);
	drop_ranks_bcast(id, sizeof id, 0);
	const char *why = be->comm_init(id, m->rank, m->ranks);
	if (why)
		return drop_fail("device %s: %s", be->name, why);
	m->device_sums = true;
	return 0;
}

int drop_model_data_parallel(struct drop_model *m, int ranks, int rank, bool sync_bn,
                             size_t bucket_bytes)
{
	DROP_ASSERT(ranks >= 1 && rank >= 0 && rank < ranks, "model: rank %d of %d", rank, ranks);
	DROP_ASSERT(ranks == 1 || !m->params.fused, "model: fused Adam under several ranks");
	const struct drop_backend *be = m->be;
	free_data_parallel(m);
	m->ranks = ranks;
	m->rank = rank;
	m->graph->ranks = ranks;
	m->device_sums = false;
	bool group = be->comm_id && be->comm_init && be->allreduce_f64 && be->allreduce_sum &&
	             be->allreduce_wait; /* all or none */
	if (ranks > 1 && !be->host_memory && group && join_device_group(m))
		return -1;
	if (ranks > 1 && sync_bn) {
		m->sync_bn = drop_malloc(sizeof *m->sync_bn);
		drop_sync_bn_init(m->sync_bn, be, ranks, m->device_sums);
		m->graph->sync_bn = m->sync_bn;
	}
	if (ranks > 1 && (be->host_memory || m->device_sums)) {
		m->buckets = drop_malloc(sizeof *m->buckets);
		size_t f = sizeof *m->params.grad;
		drop_grad_buckets_init(m->buckets, m->graph, &m->params, (bucket_bytes + f - 1) / f);
	}
	return 0;
}

void drop_model_fuse_adam(struct drop_model *m)
{
	struct drop_params *ps = &m->params;
	struct drop_graph *g = m->graph;
	if (ps->fused)
		return;
	size_t scratch = 0, tail = ps->ntrained;
	for (int i = m->heads_param0; i < ps->n; i++)
		if (ps->p[i].kind == DROP_PARAM_TRAINED && ps->p[i].off < tail)
			tail = ps->p[i].off;
	for (int i = 0; i < g->nn; i++) {
		int e[4], ne = drop_graph_node_params(&g->nd[i], e);
		size_t sum = 0;
		for (int j = 0; j < ne; j++)
			sum += ps->p[e[j]].kind == DROP_PARAM_TRAINED ? ps->p[e[j]].numel : 0;
		scratch = sum > scratch ? sum : scratch;
	}
	drop_params_fuse(ps, scratch, tail);
	for (int i = 0; i < g->nn; i++) {
		int e[4], ne = drop_graph_node_params(&g->nd[i], e);
		size_t off = 0;
		for (int j = 0; j < ne; j++)
			if (ps->p[e[j]].kind == DROP_PARAM_TRAINED) {
				ps->p[e[j]].grad = ps->grad + off;
				off += ps->p[e[j]].numel;
			}
	}
	for (int i = 0; i < ps->n; i++)
		DROP_ASSERT(ps->p[i].kind != DROP_PARAM_TRAINED || ps->p[i].grad,
		            "model: entry %s belongs to no layer", ps->p[i].name);
}

void drop_model_keep_stages(struct drop_model *m)
{
	for (int i = 0; i < 4; i++)
		drop_graph_keep(m->graph, m->v_p[i]);
}

void drop_model_bank_reset(struct drop_model *m)
{
	m->bank_n = 0;
	m->bank_nslots = 0;
}

/*
 * graph.h - the network's internals, private to the files of lib/model (and white-box
 * tests): the graph of layers over values, building it, planning its memory, running it,
 * and the backbones built on it. The runners see only model.h's few graph calls.
 *
 * Design.
 *  - The network (graph.c). A list of nodes in execution order - convolution,
 *    batch norm (+ ReLU), add (+ ReLU), resample, concat, max pooling, IBN - over values
 *    (activations). The backbone, the DPU, the PPE and the parsing classifier are nodes;
 *    the graph's outputs are Preid and the parsing logits S. Forward runs the nodes in
 *    order, backward in reverse; a value read by several nodes gets the sum of their
 *    gradients.
 *  - Memory (graph.c, plan). Activations, gradients and backward temporaries are
 *    intervals on one time line (forward nodes, heads forward, heads backward, backward
 *    nodes in reverse); a plan made once per (batch size, mode) places them in one arena
 *    (greedy first fit, largest first, 64-byte aligned), reused by every step of that
 *    shape. Only what a backward pass reads is kept: convolution inputs and batch-norm
 *    inputs; batch-norm outputs (+ ReLU) are not kept but recomputed from their kept
 *    input and saved statistics when a backward pass needs them (be->bn_fwd_eval);
 *    a gradient lives from its first consumer's backward to its producer's. The outputs of
 *    cheap convolutions (1x1) read only by a batch norm are not kept either: backward runs
 *    them again; drop_graph_set_recompute does so for all of them (less memory, a sixth
 *    more time; the same gradients, bit for bit).
 *  - Backbones (hrnet.c, resnet.c, ibn.c): the layers from the image to P1..P4.
 *
 * Not here: the heads after Preid and S and the losses (heads.h), the model put together
 * (net.c).
 */
#ifndef DROP_GRAPH_H
#define DROP_GRAPH_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

/* ---- Nodes, values, plan buffers --------------------------------------------------------- */

enum drop_node_op {
	DROP_NODE_INPUT,    /* a value set from outside (the image, the position map) */
	DROP_NODE_CONV,     /* conv2d, optional bias */
	DROP_NODE_BN,       /* BatchNorm2d, optional fused ReLU */
	DROP_NODE_ADD,      /* sum of 2..4 inputs, optional fused ReLU */
	DROP_NODE_RESAMPLE, /* nearest x f or bilinear to the output size */
	DROP_NODE_CONCAT,   /* channel concat of 2..4 inputs */
	DROP_NODE_MAXPOOL,  /* k x k max pooling (ResNet's stem) */
	DROP_NODE_IBN,      /* IBN-a: instance norm on the first half, BN on the rest, ReLU */
};
#define DROP_NODE_MAXIN 4

/* One activation. Shapes are per graph, n set by the plan; data/grad point into the arena
 * while the plan says they are live. */
struct drop_val {
	struct drop_tensor t;    /* data (t.data) */
	struct drop_tensor g;    /* gradient (g.data) */
	int producer;            /* node index */
	bool needs_grad;         /* some parameter lies upstream */
	bool recompute;          /* BN output: dropped after forward, rebuilt in backward */
	bool rebuilt;            /* plan: this value is rebuilt in backward (a BN output, or
	                          * a conv output read only by a BN, drop_recompute) */
	bool output;             /* read by the heads */
	bool keep;               /* data valid until the end of the forward pass (dumps) */
	void (*grad_fn)(void *); /* output: writes g (drop_graph_grad_writer), or NULL: the heads
	                          * write it before backward */
	void *grad_ctx;
	bool grad_late;          /* plan: grad_fn runs at the producer's backward, not first */
	int slice_of, slice_c0;  /* plan: a resampling's output that lives, with its gradient,
	                          * as channels c0.. of the one concat reading it (-1: its own
	                          * buffers); t and g then have that concat's image stride */
	int buf_fwd, buf_bwd, buf_grad; /* plan buffers (-1: none) */
	int buf_bf16;            /* plan, --bf16 training: the bfloat16 copy (t.bf16) that backward
	                          * reads instead of data, which then dies after forward (-1: none) */
	bool bf16_only;          /* plan, --bf16: a batch norm's output that only convolutions read,
	                          * written as bfloat16 alone (t.bf16; t.data NULL), half the size */
	int first_writer;        /* node whose backward writes g first (-1: the heads) */
	bool folded;             /* plan, eval: a conv output read only by a BN folded into the
	                          * conv, which writes the BN's output itself: no buffer */
};

/* One layer: its inputs and output (value indices), its registry entries, its settings and
 * (plan) its buffers. */
struct drop_node {
	enum drop_node_op op;
	int in[DROP_NODE_MAXIN], nin;
	int out;
	bool relu;               /* BN, ADD */
	int w, b;                /* CONV: weight, bias (-1); BN: gamma, beta */
	int rm, rv, nbt;         /* BN: running mean, running var, num_batches_tracked */
	enum drop_resample_mode mode; /* RESAMPLE */
	bool align_corners;
	int factor;              /* RESAMPLE nearest */
	int k, stride, pad;      /* CONV, MAXPOOL */
	int aux;                 /* MAXPOOL: argmax; IBN: instance statistics (plan buffers,
	                          * forward to backward) */
	int w2, b2;              /* IBN: the BN half's gamma, beta (w, b: the IN half's) */
	int half;                /* IBN: channels of the instance-norm half */
	int tmp_f;               /* IBN: forward temporary */
	float *save_mean, *save_invstd; /* BN: backend memory, C floats each */
	int tmp_dx[DROP_NODE_MAXIN]; /* plan buffers of backward temporaries (-1: none) */
	int tmp_y;               /* BN + ReLU backward: recomputed output */
	int tmp_dy16;            /* bf16 CONV backward: dy rounded once for both passes (-1: none) */
	int fold_bn;             /* plan, eval, CONV: the BN folded into it (-1: none) */
	bool folded;             /* plan, eval, BN: done by the conv before it */
	struct drop_tensor fold_w; /* CONV: the folded weights (backend memory, own version) */
	float *fold_b;           /* CONV: the folded bias (backend memory) */
	unsigned fold_src;       /* the weights' version they were folded from */
	unsigned fold_passes;    /* g->train_passes when they were */
};

/* A plan buffer: size and live interval on the time line; offset in the arena. */
struct drop_buf {
	size_t bytes, off;
	int first, last;
};

/* The network: nodes in execution order, the values between them, its switches and the
 * current plan (buffers on the time line, placed in one arena of backend memory). */
struct drop_graph {
	const struct drop_backend *be;
	struct drop_params *params;
	struct drop_val *v;
	int nv, capv;
	struct drop_node *nd;
	int nn, capn;
	enum drop_recompute recompute; /* drop_graph_set_recompute */
	const struct drop_adam *adam;  /* fused Adam: each node's step after its backward */
	/* When set, told in backward that the gradients of nodes i..nn-1 are final: with
	 * i = nn before the first node's backward, then after each node's (grad_buckets.h) */
	void (*grads_final)(void *ctx, int i);
	void *grads_ctx;
	bool bf16;               /* drop_graph_set_bf16 */
	struct drop_sync_bn *sync_bn; /* training batch norms over all ranks (sync_bn.h;
	                         * the model's), or NULL */
	int ranks;               /* data-parallel: the ranks whose slices make the global batch
	                          * that AUTO convolutions weigh (drop_conv2d_desc.auto_n) */
	enum drop_conv_algo conv_algo; /* drop_graph_set_conv_algo */
	bool no_fold;            /* drop_graph_set_fold(false) */
	unsigned train_passes;   /* training forwards run (they change running statistics) */
	/* the plan */
	int plan_n;              /* batch of the plan (0: none) */
	bool plan_train;
	struct drop_buf *buf;
	int nbuf, capbuf;
	char *arena;
	size_t arena_bytes;
};

/* Time line of a plan with n nodes: forward node i at i, heads forward at n, heads
 * backward at n + 1 (n + 2 spare), backward node i at 2 n + 2 - i. */

/* Build. Each returns the new value's index. Names are registry prefixes:
 * conv "X" registers X.weight (and X.bias); bn "X" registers X.weight, X.bias,
 * X.running_mean, X.running_var, X.num_batches_tracked. */
int drop_graph_input(struct drop_graph *g, int c, int h, int w, enum drop_layout layout);
int drop_graph_conv(struct drop_graph *g, int x, const char *name, int cout, int k,
                    int stride, int pad, bool bias, enum drop_init init, double std);
int drop_graph_bn(struct drop_graph *g, int x, const char *name, bool relu);
int drop_graph_add(struct drop_graph *g, int n, const int *xs, bool relu);
int drop_graph_resample(struct drop_graph *g, int x, int ho, int wo,
                        enum drop_resample_mode mode, bool align_corners);
int drop_graph_concat(struct drop_graph *g, int n, const int *xs);
int drop_graph_maxpool(struct drop_graph *g, int x, int k, int stride, int pad);
/* IBN-a (Pan et al.): InstanceNorm2d(affine) on the first C/2 channels ("X.IN"), BN on the
 * rest ("X.BN"), then ReLU. */
int drop_graph_ibn(struct drop_graph *g, int x, const char *name);
/* conv + BN (+ ReLU), the common triple. */
int drop_graph_cbr(struct drop_graph *g, int x, const char *conv, const char *bn, int cout,
                   int k, int stride, int pad, bool relu);
/* The registry entries of node nd (weights, biases; IBN's two halves) into e: how many. */
int drop_graph_node_params(const struct drop_node *nd, int *e);
/* Output v's gradient is written by fn(ctx), which backward calls when the gradient is
 * first needed: at v's producer when only the heads read v (so neither v's data nor its
 * gradient lives in between: Preid during the parsing branch's backward), else before the
 * first node. Without one, the heads write it before backward. */
void drop_graph_grad_writer(struct drop_graph *g, int v, void (*fn)(void *), void *ctx);

/* ---- Planning and running (graph.c) ------------------------------------------------------ */

/* Plan memory for batch n in training (forward + backward) or evaluation mode; a no-op
 * when the current plan already matches. */
void drop_graph_plan(struct drop_graph *g, int n, bool train);
/* Forward pass: the INPUT values must hold their data (drop_graph_data). Training mode
 * uses batch statistics and updates the running ones. */
void drop_graph_forward(struct drop_graph *g, bool train);
/* Backward pass: the outputs' gradients must be set (by the heads). Each parameter
 * belongs to one layer, whose backward pass writes (overwrites) its gradient. */
void drop_graph_backward(struct drop_graph *g);
/* A value's gradient tensor under the current plan (NULL data when not live). */
struct drop_tensor *drop_graph_grad(struct drop_graph *g, int v);
void drop_graph_free(struct drop_graph *g);

/* ---- Backbones --------------------------------------------------------------------------- */

/* hrnet.c: the HRNet backbone from `image`; P1..P4 in p[]. */
int drop_hrnet_build(struct drop_graph *g, int image, enum drop_backbone which, int p[4]);
/* A torchvision/HRNet Bottleneck (expansion 4; stride on the 3x3 conv and the downsample)
 * named `pre`. */
int drop_bottleneck(struct drop_graph *g, int x, const char *pre, int planes, int stride);
/* The same with IBN-a in place of bn1 when ibn (ResNet-50-IBN-a, layers 1-3). */
int drop_bottleneck_ibn(struct drop_graph *g, int x, const char *pre, int planes, int stride,
                        bool ibn);
/* ibn.c: the IBN node's temporaries (bytes) and passes; tmp is a forward or backward
 * temporary, aux the instance statistics kept from forward to backward. */
size_t drop_ibn_tmp_bytes(struct drop_graph *g, const struct drop_node *nd, bool bwd);
size_t drop_ibn_aux_bytes(struct drop_graph *g, const struct drop_node *nd);
void drop_ibn_forward(struct drop_graph *g, struct drop_node *nd, bool train, char *tmp,
                      float *aux);
void drop_ibn_backward(struct drop_graph *g, struct drop_node *nd, char *tmp, const float *aux,
                       struct drop_tensor *dx);
/* resnet.c: ResNet-50 or ResNet-50-IBN-a (last stride 1) from `image`; layer1..layer4
 * in p[]. */
int drop_resnet_build(struct drop_graph *g, int image, enum drop_backbone which, int p[4]);

#endif

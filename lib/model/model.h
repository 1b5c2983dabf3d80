/*
 * model.h - the DROP model (../shared/spec/model.md) on the compute core (kernels/ops.h):
 * its configuration, its parameters, the network as a graph of layers, the heads and the
 * losses, training and evaluation passes.
 *
 * Design.
 *  - Parameters (model_params.c). A registry of named entries, in the order they were
 *    created: trained tensors (weights, biases, BN gamma/beta), frozen ones (BNNeck bias,
 *    no gradient), BN running statistics and num_batches_tracked counters (int64), with
 *    the names of the official HRNet-W32-C ImageNet checkpoint for the backbone (and
 *    torchvision's for ResNet) so pretrained weights load by name. The trained values
 *    live in one flat buffer (their gradients, Adam's moments in parallel ones), so a
 *    step is one be->adam call. Init (model.md §6) draws from the Philox streams
 *    (seed, DROP_STREAM_INIT + entry index): the same weights for any thread count.
 *  - The network (model_graph.c). A list of nodes in execution order - convolution,
 *    batch norm (+ ReLU), add (+ ReLU), resample, concat - over values (activations).
 *    The backbone, the DPU, the PPE and the parsing classifier are nodes; the graph's
 *    outputs are Preid and the parsing logits S. Forward runs the nodes in order,
 *    backward in reverse; a value read by several nodes gets the sum of their gradients.
 *  - Memory (model_graph.c, plan). Activations, gradients and backward temporaries are
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
 *  - Heads (model_heads.c): softmax, foreground map, WAMP, global pooling, embeddings,
 *    BNNeck, classifiers, visibility; small buffers of their own. They write Preid's
 *    gradient when the graph's backward reaches Preid (drop_graph_grad_writer).
 *  - Losses (model_loss.c): L_reid, L_pct with the PEMB memory bank, L_hp.
 *
 * Not here: data loading, augmentation, checkpoints (lib/model/checkpoint.c), the tools.
 */
#ifndef DROP_MODEL_H
#define DROP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../kernels/ops.h"

/* The most batches the memory bank may hold (--pemb). */
#define DROP_PEMB_MAX 64

/* Philox stream of the initial value of registry entry i: DROP_STREAM_INIT + i. */
#define DROP_STREAM_INIT 0x10000000u

enum drop_backbone { DROP_HRNET_W32, DROP_HRNET_TINY, DROP_RESNET50, DROP_RESNET50_IBN };
enum drop_triplet_mode {
	DROP_TRIPLET_PCT,      /* PCT with the PEMB memory bank (model.md §5) */
	DROP_TRIPLET_PART_AVG, /* BPBreID's part-averaged triplet within the batch, all parts */
	DROP_TRIPLET_NONE,
};

/* Everything that fixes the model's structure and its losses (issue 5's switches). */
struct drop_model_config {
	enum drop_backbone backbone;
	int height, width;        /* input size (multiple of 32), 256 x 128 */
	int parts;                /* K, 8 (--parts) */
	int dim;                  /* D, 512 */
	int classes;              /* C, training identities (0: no classifiers, inference) */
	int hp_channels;          /* C_hp, 128 (--hp-channels) */
	bool decouple;            /* DPU + PPE parsing branch (false: --no-decouple) */
	bool ppe;                 /* the position encoder (false: --no-ppe) */
	enum drop_triplet_mode triplet; /* --triplet pct|part-avg|none */
	bool triplet_all_parts;   /* PCT over all K parts instead of the shared visible ones */
	int pemb;                 /* M, batches in the memory bank incl. the current one, 4 */
	float margin;             /* 0.3 */
	float ss_gamma;           /* gamma of L_hp's smoothness term, 0.5 (--ss-gamma) */
	float hp_weight;          /* lambda, 0.4 (--hp-weight) */
	float label_smooth;       /* eps, 0.1 */
	float vis_threshold;      /* 0.4 (--vis-threshold) */
};

/* The defaults of model.md (HRNet-W32, 256 x 128, K 8, D 512, C_hp 128, ...). */
void drop_model_config_default(struct drop_model_config *cfg);
/* The backbone called `name` ("hrnet-w32", "hrnet-tiny", "resnet50", "resnet50-ibn"):
 * 0, or -1 with a message. */
int drop_backbone_parse(const char *name, enum drop_backbone *out);
const char *drop_backbone_name(enum drop_backbone b);

/* ---- Parameters (model_params.c) --------------------------------------------------------- */

enum drop_param_kind {
	DROP_PARAM_TRAINED, /* in the flat buffer, has a gradient */
	DROP_PARAM_FROZEN,  /* saved, never trained (the BNNeck biases, fixed at 0) */
	DROP_PARAM_RUNNING, /* BN running mean / var */
	DROP_PARAM_COUNT,   /* BN num_batches_tracked, int64, one value */
};
/* How an entry is initialised (model.md §6). */
enum drop_init {
	DROP_INIT_ZERO, DROP_INIT_ONE,
	DROP_INIT_KAIMING,       /* normal, std sqrt(2 / fan_out), fan_out = shape[0] kh kw */
	DROP_INIT_NORMAL,        /* normal, std `std` */
};

#define DROP_PARAM_NAMELEN 96
struct drop_param {
	char name[DROP_PARAM_NAMELEN];
	enum drop_param_kind kind;
	int ndim, shape[4];
	size_t numel;
	enum drop_init init;
	double std;              /* DROP_INIT_NORMAL */
	size_t off;              /* into the trained buffer (TRAINED) or the other buffer */
	/* Backend tensor over the values (conv (Cout, Cin, k, k), linear (Cout, Cin, 1, 1),
	 * vectors (C, 1, 1, 1)); its version keys the kernels' weight caches. NULL data for
	 * COUNT entries. */
	struct drop_tensor t;
	float *grad;             /* TRAINED: backend memory, numel floats */
	int64_t count;           /* COUNT: the host value */
};

struct drop_params {
	struct drop_param *p;
	int n, cap;
	size_t ntrained;         /* floats in the trained buffer */
	size_t nother;           /* floats of FROZEN and RUNNING entries */
	float *trained, *grad, *adam_m, *adam_v; /* backend memory, ntrained floats each (grad:
	                          * fused, fused_scratch + ntrained - fused_tail) */
	float *other;            /* backend memory, nother floats */
	int adam_step;           /* Adam steps taken */
	const struct drop_backend *be;
	/* Fused Adam (drop_model_fuse_adam): the entries before trained offset fused_tail keep
	 * their gradients in the first fused_scratch floats of grad, one layer at a time */
	bool fused;
	size_t fused_scratch, fused_tail;
};

/* Register an entry (before drop_params_alloc); returns its index. Shapes up to 4 dims. */
int drop_params_add(struct drop_params *ps, const char *name, enum drop_param_kind kind,
                    int ndim, const int *shape, enum drop_init init, double std);
/* Allocate the buffers (zeroed) and point every entry's tensor into them. */
void drop_params_alloc(struct drop_params *ps, const struct drop_backend *be);
/* Initialise every entry from `seed` (model.md §6; counts 0). */
void drop_params_init(struct drop_params *ps, uint64_t seed);
/* The entry called `name`, or -1. */
int drop_params_find(const struct drop_params *ps, const char *name);
/* Fused Adam (drop_model_fuse_adam): a gradient buffer of `scratch` floats for one layer at a
 * time, then the entries from trained offset `tail` on (the heads'), zeroed; the tail's
 * grad pointers are set, the others NULL for the caller to point into the scratch. */
void drop_params_fuse(struct drop_params *ps, size_t scratch, size_t tail);
/* Set the gradients to 0 (fused: those of the tail; the layers overwrite theirs). */
void drop_params_zero_grad(struct drop_params *ps);
/* One Adam step over the trained entries (PyTorch's Adam, L2 weight decay added to the
 * gradient, model.md §6; fused: over the tail, the layers took theirs in backward), then
 * bump every trained entry's version. */
void drop_params_adam(struct drop_params *ps, double lr, double beta1, double beta2,
                      double eps, double weight_decay);
/* Tell the kernels that entry values changed (after a load): bump every version. */
void drop_params_touch(struct drop_params *ps);
void drop_params_free(struct drop_params *ps);

/* ---- Graph (model_graph.c) -------------------------------------------------------------- */

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
/* Recompute levels (drop_graph_set_recompute). */
enum drop_recompute { DROP_RECOMPUTE_CHEAP = 0, DROP_RECOMPUTE_NONE, DROP_RECOMPUTE_ALL };

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
};

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
};

/* A plan buffer: size and live interval on the time line; offset in the arena. */
struct drop_buf {
	size_t bytes, off;
	int first, last;
};

struct drop_graph {
	const struct drop_backend *be;
	struct drop_params *params;
	struct drop_val *v;
	int nv, capv;
	struct drop_node *nd;
	int nn, capn;
	enum drop_recompute recompute; /* drop_graph_set_recompute */
	const struct drop_adam *adam;  /* fused Adam: each node's step after its backward */
	bool bf16;               /* drop_graph_set_bf16 */
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
/* Mark a value as read by the heads. */
void drop_graph_output(struct drop_graph *g, int v);
/* Output v's gradient is written by fn(ctx), which backward calls when the gradient is
 * first needed: at v's producer when only the heads read v (so neither v's data nor its
 * gradient lives in between: Preid during the parsing branch's backward), else before the
 * first node. Without one, the heads write it before backward. */
void drop_graph_grad_writer(struct drop_graph *g, int v, void (*fn)(void *), void *ctx);
/* Keep a value's data valid after the forward pass (for --dump); replans on the next pass. */
void drop_graph_keep(struct drop_graph *g, int v);

/* Whether the convolutions multiply in bfloat16 (drop_conv2d_desc.bf16): about twice as
 * fast where the backend has native bf16, at bf16's 8-bit mantissa for the products (sums
 * and every stored tensor stay float). 0, or -1 with a message when the backend lacks it. */
int drop_graph_set_bf16(struct drop_graph *g, bool on);
/* Whether backend be can: 0, or -1 with the message. */
int drop_graph_bf16_check(const struct drop_backend *be);
/* Which outputs of convolutions read only by a batch norm training plans drop after forward
 * and backward computes again (less memory, more compute); replans. The default, CHEAP:
 * those at most 512 FLOPs an element (model_graph.c; 1x1 convolutions of up to 256
 * channels, the stem's first). The results are the same bits at every level. */
void drop_graph_set_recompute(struct drop_graph *g, enum drop_recompute level);
/* Plan memory for batch n in training (forward + backward) or evaluation mode; a no-op
 * when the current plan already matches. */
void drop_graph_plan(struct drop_graph *g, int n, bool train);
/* Forward pass: the INPUT values must hold their data (drop_graph_data). Training mode
 * uses batch statistics and updates the running ones. */
void drop_graph_forward(struct drop_graph *g, bool train);
/* Backward pass: the outputs' gradients must be set (by the heads). Each parameter
 * belongs to one layer, whose backward pass writes (overwrites) its gradient. */
void drop_graph_backward(struct drop_graph *g);
/* A value's data / gradient tensor under the current plan (NULL data when not live). */
struct drop_tensor *drop_graph_data(struct drop_graph *g, int v);
struct drop_tensor *drop_graph_grad(struct drop_graph *g, int v);
void drop_graph_free(struct drop_graph *g);

/* ---- The model (model_net.c) ------------------------------------------------------------ */

/* Outputs of one forward pass, backend memory, plain, valid until the next pass. */
struct drop_model_out {
	int n;
	float *global, *global_bn;   /* (N, D) */
	float *fore, *fore_bn;       /* (N, D) */
	float *parts;                /* (N, K, D), before BN (post-ReLU) */
	float *concat_bn;            /* (N, K D) */
	float *logits_g, *logits_f, *logits_c; /* (N, C), when classes > 0 */
	float *parsing;              /* S (N, K+1, Hf, Wf) */
	float *prob;                 /* softmax of S */
	float *vis;                  /* (N, K) visibility scores max_p P_k(p) */
};

/* Loss terms of one training step. */
struct drop_model_loss {
	double total;
	double id_global, id_fore, id_concat; /* the three CEs of L_reid */
	double pct;                  /* L_pct (0 with --triplet none) */
	int pct_valid;               /* anchors used */
	double hp_ce, hp_smooth;     /* L_hp = hp_ce + gamma hp_smooth (weighted by lambda) */
};

struct drop_model {
	struct drop_model_config cfg;
	const struct drop_backend *be;
	struct drop_params params;
	struct drop_graph graph;
	int v_image, v_pos;          /* graph inputs */
	int v_p[4];                  /* backbone stage outputs P1..P4 */
	int v_preid, v_s;            /* graph outputs */
	int hf, wf;                  /* feature size */
	int creid;                   /* channels of Preid */
	int heads_param0;            /* the heads' first registry entry (the graph's come first) */
	struct drop_heads *heads;
	/* PEMB (model.md §5): up to pemb - 1 previous batches, oldest first, detached; the
	 * embeddings in heads->bank, identities and visibility also kept on the host here */
	int bank_n;                  /* entries */
	int bank_nslots;             /* batches */
	int bank_slot[DROP_PEMB_MAX];/* entries of each batch, oldest first */
	int *bank_pid_h;
	unsigned char *bank_vis_h;
};

/* 0 when backend be has every op the model runs (the backward ones too when train), else
 * -1 with a message naming the first missing op (ops.h: optional members). The tools call
 * it first, to stop with "device unavailable" rather than fail later. */
int drop_model_backend_check(const struct drop_backend *be, bool train);

/* Build the model (parameters registered and allocated, not initialised): 0, or -1 with
 * a message (bad configuration, or a backend without the model's ops). */
int drop_model_create(struct drop_model *m, const struct drop_model_config *cfg,
                      const struct drop_backend *be);
void drop_model_free(struct drop_model *m);
/* Forward pass over n images (N, 3, H, W) plain backend memory (ImageNet-normalised).
 * Training mode also keeps what the backward pass needs. */
const struct drop_model_out *drop_model_forward(struct drop_model *m, const float *images,
                                                int n, bool train);
/* After a training forward pass: the losses (model.md §5) against pids (N) (0..C-1) and
 * labels (N, Hf, Wf) (0..K), host arrays; the gradient of every trained entry written to
 * the registry (all of them: entries no loss reaches get 0); the PEMB advanced. Returns
 * the loss terms. */
struct drop_model_loss drop_model_backward(struct drop_model *m, const int *pids,
                                           const int *labels);
/* drop_model_backward, then drop_params_adam with these arguments. After
 * drop_model_fuse_adam, each graph layer takes its Adam step as soon as its backward has
 * written its gradients, which share one layer-sized buffer instead of a whole
 * gradient-sized one (131 MiB less for HRNet-W32): the same bits as the two calls, but
 * the graph's gradients cannot be read afterwards (drop-train fuses; the tests read them). */
struct drop_model_loss drop_model_backward_adam(struct drop_model *m, const int *pids,
                                                const int *labels, double lr, double beta1,
                                                double beta2, double eps,
                                                double weight_decay);
void drop_model_fuse_adam(struct drop_model *m);
/* Keep P1..P4 (the backbone's stage outputs) readable after the forward pass, through
 * drop_graph_data(&m->graph, m->v_p[i]) (blocked: convert to plain). Preid and S always are. */
void drop_model_keep_stages(struct drop_model *m);
/* Forget the memory bank (new training run). */
void drop_model_bank_reset(struct drop_model *m);

/* ---- Internals shared by the model_*.c files ------------------------------------------- */

/* A 1-D batch norm's entries and saved statistics. */
struct drop_bn1d {
	int w, b, rm, rv, nbt;       /* registry entries (b frozen for BNNeck) */
	int c;
	float *save_mean, *save_invstd; /* backend memory, c floats */
};

/* Linear + BN1d + ReLU (the embedding reductions) and BN1d + bias-free Linear (BNNeck). */
struct drop_reduce {
	int w, b;                    /* Linear (D, Cin) and bias */
	struct drop_bn1d bn;
};
struct drop_neck {
	struct drop_bn1d bn;         /* frozen bias */
	int fc;                      /* Linear (C, dim), no bias */
};

/* The heads' buffers (backend memory), sized for `cap` images; shapes per image. */
struct drop_heads {
	int cap;
	struct drop_reduce red_g, red_f, red_p;
	struct drop_neck neck_g, neck_f, neck_c;
	/* forward */
	float *s, *prob;             /* (N, K1, HW) */
	float *fg;                   /* (N, HW) */
	int *fg_arg;
	float *maps;                 /* (N, K2, HW): foreground, background, K parts */
	float *e;                    /* (N, K2, Creid) WAMP */
	int *e_arg;
	float *gap;                  /* (N, Creid) */
	float *e_fg, *e_bg, *e_parts; /* (N, Creid), (N, Creid), (N K, Creid) */
	float *zg, *zf, *zp;         /* linear outputs (N, D), (N, D), (N K, D) */
	float *g1, *f1, *p1;         /* embeddings after BN + ReLU */
	float *bg, *bf, *bc;         /* BNNeck outputs (N, D), (N, D), (N, K D) */
	float *lg, *lf, *lc;         /* logits (N, C) */
	float *vmax, *vis_bg, *vis;  /* (N, K1) max of prob, its split (N, 1), (N, K) */
	int *vmax_arg;
	/* backward */
	float *dlg, *dlf, *dlc, *dbg, *dbf, *dbc, *dg1, *df1, *dp1, *dtrip, *dzg, *dzf, *dzp;
	float *de_fg, *de_bg, *de_parts, *de, *dmaps, *dfg, *dprob_w, *dprob, *dprob_s, *ds;
	float *dgap;
	int *pid, *labels;           /* (N), (N, HW) */
	unsigned char *visb;         /* (N, K) visible parts (triplet) */
	float *bank;                 /* PEMB (bank_cap, K, D) */
	int *bank_pid;
	unsigned char *bank_vis;
	int bank_cap;
	struct drop_model_out out;
};

/* model_hrnet.c: the HRNet backbone from `image`; P1..P4 in p[]. */
int drop_hrnet_build(struct drop_graph *g, int image, enum drop_backbone which, int p[4]);
/* A torchvision/HRNet Bottleneck (expansion 4; stride on the 3x3 conv and the downsample)
 * named `pre`. */
int drop_bottleneck(struct drop_graph *g, int x, const char *pre, int planes, int stride);
/* The same with IBN-a in place of bn1 when ibn (ResNet-50-IBN-a, layers 1-3). */
int drop_bottleneck_ibn(struct drop_graph *g, int x, const char *pre, int planes, int stride,
                        bool ibn);
/* model_ibn.c: the IBN node's temporaries (bytes) and passes; tmp is a forward or backward
 * temporary, aux the instance statistics kept from forward to backward. */
size_t drop_ibn_tmp_bytes(struct drop_graph *g, const struct drop_node *nd, bool bwd);
size_t drop_ibn_aux_bytes(struct drop_graph *g, const struct drop_node *nd);
void drop_ibn_forward(struct drop_graph *g, struct drop_node *nd, bool train, char *tmp,
                      float *aux);
void drop_ibn_backward(struct drop_graph *g, struct drop_node *nd, char *tmp, const float *aux,
                       struct drop_tensor *dx);
/* model_resnet.c: ResNet-50 or ResNet-50-IBN-a (last stride 1) from `image`; layer1..layer4
 * in p[]. */
int drop_resnet_build(struct drop_graph *g, int image, enum drop_backbone which, int p[4]);
/* model_heads.c: register the heads' entries; size their buffers for n images; forward;
 * backward from the losses' gradients into the graph outputs' gradients. */
void drop_heads_build(struct drop_model *m);
void drop_heads_reserve(struct drop_model *m, int n);
/* Size the PEMB for batches of n (entries kept when it grows; drop_heads_reserve calls
 * it too, so after drop_heads_reserve(m, n) the bank holds pemb - 1 batches of n). */
void drop_heads_reserve_bank(struct drop_model *m, int n);
void drop_heads_forward(struct drop_model *m, int n, bool train);
void drop_heads_backward(struct drop_model *m, int n);
void drop_heads_free(struct drop_model *m);
/* model_loss.c: the losses of one batch; writes the heads' logit, embedding and parsing
 * gradients and advances the PEMB. */
struct drop_model_loss drop_model_losses(struct drop_model *m, int n, const int *pids,
                                         const int *labels);

#endif

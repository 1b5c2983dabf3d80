/*
 * model.h - the DROP model (doc/model.md) on the compute core (kernels/ops.h), as
 * the runners, the tools and the tests see it: its configuration, its parameters, the
 * model built from them, and its training and evaluation passes.
 *
 * Design.
 *  - Parameters (params.c). A registry of named entries, in the order they were
 *    created: trained tensors (weights, biases, BN gamma/beta), frozen ones (BNNeck bias,
 *    no gradient), BN running statistics and num_batches_tracked counters (int64), with
 *    the names of the official HRNet-W32-C ImageNet checkpoint for the backbone (and
 *    torchvision's for ResNet) so pretrained weights load by name. The trained values
 *    live in one flat buffer (their gradients, Adam's moments in parallel ones), so a
 *    step is one be->adam call. Init (doc/model.md §6) draws from the Philox streams
 *    (seed, DROP_STREAM_INIT + entry index): the same weights for any thread count.
 *  - The network (graph.c, private: graph.h). The backbone, the DPU, the PPE and the
 *    parsing classifier as a graph of layers whose outputs are Preid and the parsing
 *    logits S, its memory planned once per (batch size, mode). A value of it (an
 *    activation) is named by its index: drop_model's v_* fields.
 *  - Heads and losses (heads.c, losses.c, private: heads.h): the embeddings, BNNeck,
 *    classifiers and visibility scores after Preid and S; L_reid, L_pct with the PEMB
 *    memory bank, L_hp.
 *
 * Not here: data loading, augmentation, checkpoints (lib/model/checkpoint.h,
 * lib/model/model_file.h), the tools.
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
	DROP_TRIPLET_PCT,      /* PCT with the PEMB memory bank (doc/model.md §5) */
	DROP_TRIPLET_PART_AVG, /* BPBreID's part-averaged triplet within the batch, all parts */
	DROP_TRIPLET_NONE,
};
/* The modes' names, in enum order, NULL-terminated: "pct", "part-avg", "none" (--triplet,
 * and "triplet" in a checkpoint's model configuration). */
extern const char *const drop_triplet_names[];

/* Everything that fixes the model's structure and its losses. */
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

/* The defaults of doc/model.md (HRNet-W32, 256 x 128, K 8, D 512, C_hp 128, ...). */
void drop_model_config_default(struct drop_model_config *cfg);
/* The backbone called `name` ("hrnet-w32", "hrnet-tiny", "resnet50", "resnet50-ibn"):
 * 0, or -1 with a message. */
int drop_backbone_parse(const char *name, enum drop_backbone *out);
const char *drop_backbone_name(enum drop_backbone b);

/* ---- Parameters (params.c) --------------------------------------------------------------- */

enum drop_param_kind {
	DROP_PARAM_TRAINED, /* in the flat buffer, has a gradient */
	DROP_PARAM_FROZEN,  /* saved, never trained (the BNNeck biases, fixed at 0) */
	DROP_PARAM_RUNNING, /* BN running mean / var */
	DROP_PARAM_COUNT,   /* BN num_batches_tracked, int64, one value */
};
/* How an entry is initialised (doc/model.md §6). */
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
/* Initialise every entry from `seed` (doc/model.md §6; counts 0). */
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
 * gradient, doc/model.md §6; fused: over the tail, the layers took theirs in backward), then
 * bump every trained entry's version. */
void drop_params_adam(struct drop_params *ps, double lr, double beta1, double beta2,
                      double eps, double weight_decay);
/* Tell the kernels that entry values changed (after a load): bump every version. */
void drop_params_touch(struct drop_params *ps);
void drop_params_free(struct drop_params *ps);

/* ---- The network (graph.c; its internals: graph.h) --------------------------------------- */

/* The layers from the image to Preid and S, built by drop_model_create. */
struct drop_graph;

/* Recompute levels (drop_graph_set_recompute). */
enum drop_recompute { DROP_RECOMPUTE_CHEAP = 0, DROP_RECOMPUTE_NONE, DROP_RECOMPUTE_ALL };

/* Whether the convolutions multiply in bfloat16 (drop_conv2d_desc.bf16): about twice as
 * fast where the backend has native bf16, at bf16's 8-bit mantissa for the products (sums
 * and every stored tensor stay float). 0, or -1 with a message when the backend lacks it. */
int drop_graph_set_bf16(struct drop_graph *g, bool on);
/* Whether backend be can: 0, or -1 with the message. */
int drop_graph_bf16_check(const struct drop_backend *be);
/* How the convolutions are computed (drop_conv2d_desc.algo; DROP_CONV_DIRECT until set):
 * AUTO, Winograd where the backend finds it pays, is what the tools use by default.
 * Winograd results differ from direct ones in the last bits (kernels/README.md,
 * "Winograd"). 0, or -1 with a message when the backend lacks WINOGRAD. */
int drop_graph_set_conv_algo(struct drop_graph *g, enum drop_conv_algo algo);
/* Whether eval passes fold each batch norm into the convolution before it where nothing
 * else reads the convolution's output (graph.c, mark_folded): on by default; the results
 * then differ from unfolded ones by float rounding. Training passes never fold. */
void drop_graph_set_fold(struct drop_graph *g, bool on);
/* The option values, in enum drop_conv_algo's order: "direct", "auto", "winograd", NULL. */
extern const char *const drop_conv_algo_names[];
/* Whether backend be can: 0, or -1 with the message. */
int drop_graph_conv_algo_check(const struct drop_backend *be, enum drop_conv_algo algo);
/* Which outputs of convolutions read only by a batch norm training plans drop after forward
 * and backward computes again (less memory, more compute); replans. The default, CHEAP:
 * those at most 512 FLOPs an element (graph.c; 1x1 convolutions of up to 256
 * channels, the stem's first). The results are the same bits at every level. */
void drop_graph_set_recompute(struct drop_graph *g, enum drop_recompute level);
/* Mark a value as an output of the network, read after the forward pass (by the heads,
 * or a dump of it); before the first pass. */
void drop_graph_output(struct drop_graph *g, int v);
/* Keep a value's data valid after the forward pass (for --dump); replans on the next pass. */
void drop_graph_keep(struct drop_graph *g, int v);
/* A value's data tensor under the current plan (NULL data when not live). */
struct drop_tensor *drop_graph_data(struct drop_graph *g, int v);
/* Floating-point operations of one image's forward pass through the graph's convolutions,
 * 2 Cin k^2 a output element (multiply-adds x 2; taps on the padding counted): nearly all
 * of the model's work. A training step does about 3 times as many (the two backward
 * passes), more with recomputation. The benchmarks' fraction of a machine's peak. */
double drop_graph_flops(const struct drop_graph *g);

/* ---- The model (net.c) ------------------------------------------------------------------- */

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
	struct drop_graph *graph;    /* the network up to Preid and S */
	int v_image, v_pos;          /* graph inputs */
	int v_p[4];                  /* backbone stage outputs P1..P4 */
	int v_preid, v_s;            /* graph outputs */
	int hf, wf;                  /* feature size */
	int creid;                   /* channels of Preid */
	int heads_param0;            /* the heads' first registry entry (the graph's come first) */
	struct drop_heads *heads;    /* the heads' buffers (heads.h) */
	/* PEMB (doc/model.md §5): up to pemb - 1 previous batches, oldest first, detached; the
	 * embeddings in the heads' buffers (drop_model_bank_get), identities and visibility
	 * also kept on the host here */
	int bank_n;                  /* entries */
	int bank_nslots;             /* batches */
	int bank_slot[DROP_PEMB_MAX];/* entries of each batch, oldest first */
	int *bank_pid_h;
	unsigned char *bank_vis_h;
	/* Data-parallel training (drop_model_data_parallel): this rank's slice of a global
	 * batch of ranks x the local one */
	int ranks, rank;             /* 1 and 0 alone */
	struct drop_sync_bn *sync_bn; /* batch norms over the global batch (sync_bn.h), or
	                             * NULL */
	bool device_sums;            /* gradients summed on the device (allreduce_sum) */
	struct drop_grad_buckets *buckets; /* sums overlapped with backward (grad_buckets.h),
	                             * where they need no copy through the host, else NULL */
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
/* After a training forward pass: the losses (doc/model.md §5) against pids (N) (0..C-1) and
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
/* Train as rank `rank` of `ranks` processes that each hold an equal slice of the global
 * batch (doc/scale-out.md): the losses that need the whole batch (the batch-hard triplet,
 * the PEMB) see the embeddings, identities and visibility of every rank and backpropagate
 * into this rank's rows; the others are scaled so that the gradients summed over the
 * ranks are one process's for the global batch; drop_model_backward_adam sums them
 * before the step, so fused Adam is off. The sums run in buckets of bucket_bytes (0: one,
 * after backward) started as backward makes their gradients final, beside the backward
 * of earlier layers (grad_buckets.h): on the device when the backend sums device memory
 * between processes (ops.h, comm_init: NCCL on CUDA; the group joined here, its id sent
 * over MPI), else on the host (drop_ranks_iallreduce_f32); a device backend without
 * those members copies the whole gradient to the host and back after backward. With
 * sync_bn the training batch norms use the global batch's statistics (sync_bn.h: their
 * sums summed where the gradients are), else each rank's own. Reported loss
 * terms are the global batch's on every rank. Collective: every rank calls this, then
 * forward and backward in step. ranks 1: one process, as without the call. 0, or -1
 * with a message when the device's group cannot form. */
int drop_model_data_parallel(struct drop_model *m, int ranks, int rank, bool sync_bn,
                             size_t bucket_bytes);
/* Keep P1..P4 (the backbone's stage outputs) readable after the forward pass, through
 * drop_graph_data(m->graph, m->v_p[i]) (blocked: convert to plain). Preid and S always are. */
void drop_model_keep_stages(struct drop_model *m);
/* Forget the memory bank (new training run). */
void drop_model_bank_reset(struct drop_model *m);

/* ---- The heads' buffers and the PEMB (heads.c) ------------------------------------------- */

/* Size the heads' buffers for batches of up to n images and the PEMB for pemb - 1 of them
 * (the entries it holds are kept). A forward pass does so for its own batch; a run that
 * restores a PEMB calls it first. */
void drop_model_reserve(struct drop_model *m, int n);
/* What drop_model_reserve made room for: the largest batch, the most PEMB entries. */
int drop_model_batch_cap(const struct drop_model *m);
int drop_model_bank_cap(const struct drop_model *m);
/* The embeddings of the PEMB's first n entries, (n, K, D) floats of host memory, read out
 * or written in (n <= drop_model_bank_cap; bank_n and the host arrays are the caller's). */
void drop_model_bank_get(const struct drop_model *m, float *dst, int n);
void drop_model_bank_set(struct drop_model *m, const float *src, int n);

#endif

/*
 * ops.h - the compute backends behind one interface (ggml's backend table, llm.c's pairs):
 * the tensor description, the ops' descriptors, the backend table, the registry that hands
 * out a table, and the tensor arithmetic every layer shares. The interface alone: no
 * backend's entry point is declared here.
 *
 * A struct drop_backend holds one function pointer per operation plus memory handling.
 * The CPU backend (kernels/cpu/) is the reference every test runs; the CUDA backend
 * (kernels/cuda/, built with `make CUDA=1`) implements the same entry points with the
 * same names and a _cuda suffix, steps in the same order. Those entry points are private
 * to their backend (kernels/cpu/cpu.h, kernels/cuda/cuda.h): lib/ and cmd/ reach an op
 * only through a table. A tool picks its backend once (drop_backend_get from --device);
 * model code never asks which one it has.
 * No CUDA header is included here: the CPU build never sees one.
 *
 * kernels/ is the lowest layer and includes nothing from lib/: ops.h with kernels/backend.c
 * (the registry) and kernels/tensor.c (tensor arithmetic); kernels/fail.h (bugs abort, out
 * of memory exits); kernels/maths/ (the per-element maths both backends compile, which
 * lib/ may include too); kernels/cpu/ and kernels/cuda/ (the backends) and
 * kernels/backends.h (what they hand the registry).
 *
 * Tensors. A struct drop_tensor is a plain description - logical shape (N, C, H, W), a
 * layout, a pointer into the backend's memory and a version - and owns nothing; the model
 * allocates the memory with be->alloc(drop_tensor_bytes(&t, be->block())). Two layouts:
 *   DROP_PLAIN    (N, C, H, W) row-major, what PyTorch, .npy and safetensors use.
 *   DROP_BLOCKED  the backend's preferred activation layout (be->block() channels a block):
 *                 on the CPU oneDNN's nChw8c (AVX2) or nChw16c (AVX-512), i.e.
 *                 (N, ceil(C/B), H, W, B), the channels past C in the last block are padding
 *                 and hold zeros. Every op that writes a blocked tensor keeps them zero, so
 *                 element-wise ops may run over the whole padded buffer.
 * Convolutions write blocked tensors, and every op that follows (batch norm, ReLU, add,
 * resampling, concat, pooling, WAMP's features) reads and writes them without reordering:
 * activations stay blocked from the stem to the heads. The model converts to plain only
 * where it must (the input image, the parsing/softmax head, dumps) with be->convert.
 * Vectors (N, C) - linear layers, 1-D batch norm, embeddings, losses - are plain with
 * h = w = 1. On CUDA the block is 1 for now: blocked is plain.
 *
 * Parameters (convolution weights (Cout, Cin, kh, kw), linear weights (Cout, Cin),
 * batch-norm and bias vectors) are always plain, the layout of checkpoints and of the
 * optimiser. A convolution or linear layer reorders its weights to the library's
 * preferred layout itself and caches the copy, keyed by the tensor's data pointer and
 * `version`: whoever changes a parameter's values bumps its version (Adam's step, a
 * checkpoint load), so a training step reorders each weight once per direction and
 * inference reorders it once. Version 0 means "never cache" (tests).
 *
 * Plans. Heavy ops take a small descriptor (struct drop_conv2d_desc, ...); the backend
 * keeps one plan per distinct descriptor - the oneDNN primitives of the forward, backward-
 * data and backward-weights passes, created on first use and reused on every later call.
 * A new batch size (the last, short batch) is a new descriptor and so a new plan. Plans live
 * until be->release(). Scratch memory: all primitives use oneDNN's user-managed scratchpad,
 * one buffer per backend grown to the largest need (ops run one after another).
 *
 * Threads and determinism. Ops are called from one thread (sgemm aside: see it below);
 * they parallelise inside (OpenMP on the CPU, the stream on CUDA). The same inputs and thread count give bit-identical
 * outputs: oneDNN's primitives are deterministic for a fixed thread count, and the C loops
 * reduce every sum (batch-norm statistics, pooling, resampling backward, losses) per
 * channel, plane or row in one fixed serial order (in double), so those results do not
 * depend on the thread count at all. Random numbers are counter-based (Philox): the same
 * whatever the threads, and the same on CUDA.
 *
 * Gradients. Backward ops overwrite their outputs (dx, dw, ...); where a tensor feeds
 * several consumers the model adds the gradients with be->add. Losses return their value
 * on the host and write the gradient of scale * loss.
 *
 * kernels/README.md maps the files and says what each backend covers.
 *
 * Optional members. A member left NULL is an op that backend does not implement yet;
 * drop_backend_supports() tells the caller, which must then stop with a clear error or log
 * an explicit CPU fallback - never fall back silently.
 */
#ifndef DROP_OPS_H
#define DROP_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum drop_layout {
	DROP_PLAIN = 0, /* (N, C, H, W) */
	DROP_BLOCKED,   /* (N, ceil(C/B), H, W, B), B = be->block(), zero padding */
};

/* Describes backend memory; owns nothing. */
struct drop_tensor {
	float *data;             /* backend memory (device memory on CUDA) */
	int n, c, h, w;          /* logical shape (N, C, H, W); vectors: h = w = 1 */
	enum drop_layout layout;
	unsigned version;        /* parameters: bumped on every change; 0 = never cache */
	uint16_t *bf16;          /* NULL, or the same values as bfloat16 (to_bf16) in the same
	                          * layout: a bf16 convolution reads them instead of rounding
	                          * data itself, and data may then be NULL */
};

/* How a convolution is computed (drop_conv2d_desc.algo). The zero value is DIRECT. */
enum drop_conv_algo {
	DROP_CONV_DIRECT = 0, /* the direct algorithm (a product per weight and output) */
	DROP_CONV_AUTO,       /* the backend's choice per shape: Winograd where it pays */
	DROP_CONV_WINOGRAD,   /* Winograd wherever the backend has it for the shape (float 3x3
	                       * stride-1 convolutions; fewer products, a few bits less
	                       * accurate), direct elsewhere; only where be->winograd() says so */
};

/* A 2-D convolution, PyTorch's Conv2d (groups 1, dilation 1, square kernel). */
struct drop_conv2d_desc {
	int n, cin, h, w;        /* input (N, Cin, H, W) */
	int cout, k, stride, pad;
	bool bias;
	enum drop_layout src_layout; /* layout of x and dx; y and dy are always DROP_BLOCKED */
	bool bf16;               /* multiply in bfloat16: x, w and dy rounded to bf16 (8-bit
	                          * mantissa), sums in float, every tensor still float; only
	                          * where be->bf16() says so */
	enum drop_conv_algo algo; /* bf16 convolutions are direct whatever it says */
	bool relu;               /* forward only: y = max(conv, 0), ReLU fused */
	bool y_bf16;             /* forward only, with bf16: y is written as bfloat16 into
	                          * y->bf16 (y->data unused), rounded as to_bf16 does */
	int auto_n;              /* the batch DROP_CONV_AUTO weighs where it is not n (0: n):
	                          * the global batch of data-parallel training, so that every
	                          * rank count picks the kernels one process picks */
};

/* A linear layer y = x W^T + b, PyTorch's Linear: x (N, Cin), W (Cout, Cin), y (N, Cout). */
struct drop_linear_desc {
	int n, cin, cout;
	bool bias;
};

/* Batch norm over (N, C, H, W) (2-D) or (N, C) (1-D, h = w = 1). */
struct drop_bn_desc {
	int n, c, h, w;
	enum drop_layout layout; /* of x, y, dx, dy */
	float eps;               /* 1e-5 */
	float momentum;          /* 0.1: running = (1 - m) running + m batch (unbiased var) */
	bool relu;               /* forward: y = max(BN(x), 0), the same bits as relu after */
	bool saved;              /* eval: running_mean and running_var are a training pass's
	                          * save_mean and save_invstd: its output again, the same bits */
	bool y_bf16;             /* forward: y is uint16_t bfloat16, rounded as to_bf16 (what a
	                          * bf16 convolution reading it takes); where be->bf16 says so */
};

/* Resampling (N, C, H, W) -> (N, C, Ho, Wo), one layout for x and y. Nearest: Ho = f H,
 * Wo = f W for an integer f >= 1 (HRNet's fuse layers use f = 2^n); PyTorch's mode
 * "nearest" (source index dst / f). Bilinear: any sizes, PyTorch's "bilinear" with an output
 * size and align_corners true or false. */
enum drop_resample_mode { DROP_NEAREST, DROP_BILINEAR };
struct drop_resample_desc {
	int n, c, h, w, ho, wo;
	enum drop_layout layout;
	enum drop_resample_mode mode;
	bool align_corners;      /* bilinear only */
	int ctot;                /* 0, or y (forward) and dy (backward) are a channel slice of a
	                          * buffer of ctot channels an image (a concat's output and its
	                          * gradient), starting at a whole channel block */
};

/* Pooling over the H W pixels of (N, C, H, W) features in `layout`. WAMP (doc/model.md §4)
 * pools the same features under K1 maps (N, K1, H, W), plain: for map k,
 *   wavg = sum_p m_k(p) x(p) / max(sum_p m_k(p), 1e-6),  wmax = max_p m_k(p) x(p),
 * and its output is e (N, K1, C) plain = wavg + wmax. Max ties go to the first pixel. */
struct drop_pool_desc {
	int n, c, h, w;
	enum drop_layout layout;
	int k1;                  /* WAMP: maps per image (K + 1: foreground and K parts) */
	bool accumulate;         /* global pooling backward: add to dx instead of overwriting */
};

/* Triplet losses over parts embeddings (doc/model.md §5). The current batch emb (B, K, D) is
 * live; the bank (M, K, D) holds older batches, detached (M = 0: BPBreID's part-averaged
 * triplet within the batch). Pair distance: the mean over the parts visible in both (all K
 * when all_parts) of the per-part Euclidean distances (safe square root); pairs sharing no
 * visible part are left out. Batch-hard mining per anchor of the current batch over the
 * batch and the bank (ties: the first entry, batch before bank); the loss is the mean over
 * the anchors with both a positive and a negative of [d+ - d- + margin]+. */
struct drop_triplet_desc {
	int b, m, k, dim;
	float margin;            /* 0.3 */
	bool all_parts;          /* average over all K parts (BPBreID) instead of the shared */
};

/* Adam (doc/model.md §6): PyTorch's update with L2 weight decay added to the gradient. */
struct drop_adam {
	double lr, beta1, beta2, eps, weight_decay;
	int step;                /* the step being taken, from 1 */
};

/* Max pooling k x k: PyTorch's MaxPool2d(k, stride, pad) over (N, C, H, W) in `layout`
 * (plain or blocked; y in the same layout), Ho = (H + 2 pad - k) / stride + 1 (floor),
 * padding never wins. argmax (N, Cpad, Ho, Wo) in y's layout holds the input pixel
 * (h W + w) of each maximum, the first in window order on ties (PyTorch's CPU rule). bwd:
 * dx (overwritten) from dy, each output's gradient added to its argmax pixel in a fixed
 * order. */
struct drop_maxpool_desc {
	int n, c, h, w;
	int k, stride, pad;
	enum drop_layout layout;
};

struct drop_backend {
	const char *name; /* "cpu", "cuda" or "cpu-strict" */
	int (*block)(void); /* channels per block of DROP_BLOCKED (fixed for a process) */
	bool (*bf16)(void); /* whether convolutions may ask for bf16 (fast here); optional */
	bool (*winograd)(void); /* whether convolutions may ask for DROP_CONV_WINOGRAD (this
	                         * backend and CPU have it); optional: NULL = never, AUTO means
	                         * direct */

	/* Memory the backend's ops read and write (host memory for the CPU: then host_memory
	 * is true, and a reader may use backend pointers directly instead of to_host copies). */
	bool host_memory;
	void *(*alloc)(size_t bytes);
	void (*free)(void *p);
	void (*to_device)(void *dst, const void *src, size_t bytes);   /* host -> backend */
	void (*to_host)(void *dst, const void *src, size_t bytes);     /* backend -> host */
	void (*sync)(void);
	/* Host memory for buffers the backend copies from: page-locked on CUDA
	 * (cudaMallocHost), which DMA reads at full speed with no staging copy, and which
	 * to_device_async needs; the CPU's own allocation elsewhere (optional, both or neither:
	 * else malloc). The loader's batches (lib/run/stage.h). */
	void *(*alloc_host)(size_t bytes);
	void (*free_host)(void *p);
	/* host -> backend without waiting (optional: else to_device): ordered before every
	 * later op and copy, so the ops that read dst see its bytes; src comes from
	 * alloc_host and must stay unchanged until the next sync. */
	void (*to_device_async)(void *dst, const void *src, size_t bytes);
	/* Free every cached plan and the scratch memory (optional). */
	void (*release)(void);
	/* Allow TF32 tensor-core math (10-bit mantissa products, float32 sums) in the
	 * convolutions and products from now on; off, the default, keeps them strict float32
	 * (optional: GPUs only; drop-train and drop-embed --tf32). */
	void (*set_tf32)(bool on);

	/* C (m, n) = alpha * op(A) op(B) + beta * C, row-major; op transposes when trans_*.
	 * A is (m, k) or (k, m) with leading dimension lda; B is (k, n) or (n, k). The one op
	 * several threads may call at once: on the CPU, while drop_blas_set_threads(1) is in
	 * force, each call runs whole in its caller's thread. */
	void (*sgemm)(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
	              const float *a, int lda, const float *b, int ldb, float beta, float *c,
	              int ldc);

	/* Copy src into dst, which has src's shape and its own layout (optional). */
	void (*convert)(const struct drop_tensor *src, struct drop_tensor *dst);

	/* ---- Convolution (optional). x (N, Cin, H, W) in d->src_layout, w (Cout, Cin, k, k)
	 * plain, b (Cout) or NULL, y (N, Cout, Ho, Wo) blocked, Ho = (H + 2 pad - k)/stride + 1.
	 * bwd_data: dx from dy and w. bwd_weights: dw (Cout, Cin, k, k) plain and db (Cout)
	 * (when d->bias) from x and dy. */
	void (*conv2d_fwd)(const struct drop_conv2d_desc *d, const struct drop_tensor *x,
	                   const struct drop_tensor *w, const float *b, struct drop_tensor *y);
	void (*conv2d_bwd_data)(const struct drop_conv2d_desc *d, const struct drop_tensor *dy,
	                        const struct drop_tensor *w, struct drop_tensor *dx);
	void (*conv2d_bwd_weights)(const struct drop_conv2d_desc *d,
	                           const struct drop_tensor *x, const struct drop_tensor *dy,
	                           float *dw, float *db);

	/* ---- Linear (optional). x, y, dx, dy plain; w (Cout, Cin) a plain parameter tensor
	 * (n = Cout, c = Cin, h = w = 1: its version keys the cached copy); b, db (Cout) or NULL;
	 * dw (Cout, Cin). */
	void (*linear_fwd)(const struct drop_linear_desc *d, const float *x,
	                   const struct drop_tensor *w, const float *b, float *y);
	void (*linear_bwd_data)(const struct drop_linear_desc *d, const float *dy,
	                        const struct drop_tensor *w, float *dx);
	void (*linear_bwd_weights)(const struct drop_linear_desc *d, const float *x,
	                           const float *dy, float *dw, float *db);

	/* ---- Batch norm (optional). gamma, beta (C); beta NULL = frozen at 0 (BNNeck).
	 * Training: batch statistics normalise x, running_mean/var (C) are updated, and
	 * save_mean/save_invstd (C) keep 1/sqrt(var_biased + eps) for the backward pass.
	 * Eval: the running statistics normalise x. Backward: dx, dgamma (C), dbeta (C; NULL
	 * when frozen) from the training-mode forward. */
	void (*bn_fwd_train)(const struct drop_bn_desc *d, const float *x, const float *gamma,
	                     const float *beta, float *running_mean, float *running_var,
	                     float *y, float *save_mean, float *save_invstd);
	void (*bn_fwd_eval)(const struct drop_bn_desc *d, const float *x, const float *gamma,
	                    const float *beta, const float *running_mean,
	                    const float *running_var, float *y);
	void (*bn_bwd)(const struct drop_bn_desc *d, const float *x, const float *dy,
	               const float *gamma, const float *save_mean, const float *save_invstd,
	               float *dx, float *dgamma, float *dbeta);
	/* The backward of ReLU(BN(x)) from the forward's x: bn_bwd with dy taken only where
	 * gamma invstd (x - mean) + beta > 0; beta is required (optional; else the caller
	 * rebuilds the output and runs relu_bwd, then bn_bwd). */
	void (*bn_relu_bwd)(const struct drop_bn_desc *d, const float *x, const float *dy,
	                    const float *gamma, const float *beta, const float *save_mean,
	                    const float *save_invstd, float *dx, float *dgamma, float *dbeta);

	/* ---- Batch norm over several processes (optional; drop-train --sync-bn,
	 * doc/scale-out.md). A training pass cut at its reductions, so that the caller can sum
	 * them over the processes in between (allreduce_f64 on the device, or MPI where backend
	 * memory is host memory); sums: backend memory, 2C doubles, count: the values per
	 * channel over all processes (N H W summed). bn_stats: sums[c] = the sum of x over
	 * (n, h, w) of channel c, sums[C + c] = the sum of x^2. bn_fwd_sync: bn_fwd_train with
	 * the statistics of the summed sums (mean s / count, biased variance s2 / count -
	 * mean^2), d->relu and d->y_bf16 as there. bn_bwd_stats: sums[c] = the sum of dy,
	 * sums[C + c] = the sum of dy (x - mean) invstd, with dy taken only where the output is
	 * positive when d->relu (beta required then); dgamma and dbeta (NULL: frozen) get this
	 * process's part (the gradient sum adds the others'). bn_bwd_sync: dx from the summed
	 * backward sums. One process with its own sums computes what bn_fwd_train and bn_bwd
	 * do, up to the order of the sums. */
	void (*bn_stats)(const struct drop_bn_desc *d, const float *x, double *sums);
	void (*bn_fwd_sync)(const struct drop_bn_desc *d, const float *x, const double *sums,
	                    double count, const float *gamma, const float *beta,
	                    float *running_mean, float *running_var, float *y, float *save_mean,
	                    float *save_invstd);
	void (*bn_bwd_stats)(const struct drop_bn_desc *d, const float *x, const float *dy,
	                     const float *gamma, const float *beta, const float *save_mean,
	                     const float *save_invstd, double *sums, float *dgamma,
	                     float *dbeta);
	void (*bn_bwd_sync)(const struct drop_bn_desc *d, const float *x, const float *dy,
	                    const float *gamma, const float *beta, const float *save_mean,
	                    const float *save_invstd, const double *sums, double count,
	                    float *dx);

	/* ---- Resampling (optional). fwd: y from x; bwd: dx (overwritten) from dy. */
	void (*resample_fwd)(const struct drop_resample_desc *d, const float *x, float *y);
	void (*resample_bwd)(const struct drop_resample_desc *d, const float *dy, float *dx);

	/* ---- Pooling (optional). Global: avg and/or max (N, C) plain (either may be NULL);
	 * argmax (N, C) pixel indices kept for the backward pass (needed when max is given).
	 * Backward: dx (overwritten, or added to with d->accumulate) from davg and/or dmax
	 * (NULL = no gradient).
	 * WAMP: e (N, K1, C) from x and maps m; argmax (N, K1, C) for the backward pass, which
	 * writes dx (overwritten, x's layout) and dm (N, K1, H, W) (overwritten); either may be
	 * NULL and is then skipped, and only dm reads x (NULL is fine without it). */
	void (*pool_global_fwd)(const struct drop_pool_desc *d, const float *x, float *avg,
	                        float *max, int *argmax);
	void (*pool_global_bwd)(const struct drop_pool_desc *d, const float *davg,
	                        const float *dmax, const int *argmax, float *dx);
	void (*wamp_fwd)(const struct drop_pool_desc *d, const float *x, const float *m, float *e,
	                 int *argmax);
	void (*wamp_bwd)(const struct drop_pool_desc *d, const float *x, const float *m,
	                 const int *argmax, const float *de, float *dx, float *dm);

	/* ---- Softmax over the K channels of each pixel of (N, K, H, W), plain (optional);
	 * bwd: dx (may alias dy) from y and dy. L2 normalisation of the rows of (N, D), plain:
	 * y = x / max(|x|, 1e-12) (F.normalize); bwd: dx from x and dy (optional). */
	void (*softmax_fwd)(int n, int k, int hw, const float *x, float *y);
	void (*softmax_bwd)(int n, int k, int hw, const float *y, const float *dy, float *dx);
	void (*l2norm_fwd)(int n, int dim, const float *x, float *y);
	void (*l2norm_bwd)(int n, int dim, const float *x, const float *dy, float *dx);
	/* Pairwise Euclidean distances (torch.cdist, p = 2) between the rows of x (n, dim) and
	 * y (m, dim), plain: d (n, m). bwd: dx (n, dim) and dy (m, dim) from the forward's d and
	 * dd (n, m), either may be NULL; 0 through a zero distance, as PyTorch (optional). */
	void (*pdist_fwd)(int n, int m, int dim, const float *x, const float *y, float *d);
	void (*pdist_bwd)(int n, int m, int dim, const float *x, const float *y, const float *d,
	                  const float *dd, float *dx, float *dy);
	/* The maximum over channels first..K-1 of each pixel of (N, K, H, W) plain (the
	 * foreground map P_fore = max_{k>=1} P_k, doc/model.md §3): y and argmax (N, H, W); the
	 * first channel wins ties. bwd: dx (N, K, H, W) (overwritten) from dy. */
	void (*chanmax_fwd)(int n, int k, int hw, int first, const float *x, float *y,
	                    int *argmax);
	void (*chanmax_bwd)(int n, int k, int hw, const int *argmax, const float *dy, float *dx);

	/* ---- Losses (optional). Each returns its value (a scalar on the host: the CUDA
	 * backend synchronises) and writes the gradient of scale * loss (overwritten).
	 * ce_smooth: cross-entropy with label smoothing eps of logits (N, C) against labels
	 * (N), mean over N. parsing: the pixel part of L_hp (doc/model.md §5) from the logits and
	 * their softmax prob (N, K1, H, W) plain and labels (N, H, W): out[0] = the smoothed
	 * pixel cross-entropy (mean over N H W), out[1] = the smoothness term
	 * sum_k |P_k(h+1,w) - P_k(h,w)| averaged over N (H-1) W plus sum_k |P_k(h,w+1) -
	 * P_k(h,w)| averaged over N H (W-1); returns out[0] + gamma out[1]; dlogits gets the
	 * cross-entropy's gradient and dprob the smoothness term's (scale gamma included), the
	 * model adds dprob to the other gradients of prob before the softmax backward.
	 * triplet: see struct drop_triplet_desc; vis (B, K) and bank_vis (M, K) are 0/1 bytes;
	 * *nvalid gets the anchors used. */
	double (*ce_smooth)(int n, int c, const float *logits, const int *labels, float eps,
	                    float scale, float *dlogits);
	double (*parsing_loss)(int n, int k1, int h, int w, const float *logits,
	                       const float *prob, const int *labels, float eps, float gamma,
	                       float scale, float *dlogits, float *dprob, double out[2]);
	double (*triplet)(const struct drop_triplet_desc *d, const float *emb, const int *pid,
	                  const unsigned char *vis, const float *bank, const int *bank_pid,
	                  const unsigned char *bank_vis, float scale, float *demb, int *nvalid);

	/* ---- Optimiser (optional): one Adam step over n parameters p with gradients g and
	 * moments m, v (all n floats, updated in place). */
	void (*adam)(size_t n, const struct drop_adam *a, float *p, const float *g, float *m,
	             float *v);

	/* ---- Random numbers (optional): out[i] for i < n is element `offset + i` of the
	 * stream (seed, stream): uniform in [0, 1) or standard normal. Element j comes from
	 * word j % 4 of Philox4x32-10 with counter (j/4 low, j/4 high, stream, 0) and key (seed
	 * low, seed high) (normal: Box-Muller on words 0-1 or 2-3 of that block), so the same
	 * numbers come out on either backend, for any thread count and any split of the range.
	 * Uniform and normal draws of one stream share words: use distinct streams. */
	void (*rand_uniform)(uint64_t seed, uint32_t stream, uint64_t offset, size_t n,
	                     float *out);
	void (*rand_normal)(uint64_t seed, uint32_t stream, uint64_t offset, size_t n,
	                    float *out);

	/* ---- Element-wise, over n floats (a whole padded buffer; optional).
	 * relu: y = max(x, 0) (y may alias x); relu_bwd: dx = dy where y > 0, else 0 (dx may
	 * alias dy). add: y = a + b (y may alias a or b).
	 * scale: y = alpha x (y may alias x). axpy: y += alpha x. */
	void (*relu)(size_t n, const float *x, float *y);
	void (*relu_bwd)(size_t n, const float *y, const float *dy, float *dx);
	void (*add)(size_t n, const float *a, const float *b, float *y);
	void (*scale)(size_t n, float alpha, const float *x, float *y);
	void (*axpy)(size_t n, float alpha, const float *x, float *y);
	/* to_bf16: y = x rounded to bfloat16 as VCVTNEPS2BF16 does (maths_ops.h); relu_bwd_bf16:
	 * relu_bwd from the output kept as bf16 (optional, both or neither). */
	void (*to_bf16)(size_t n, const float *x, uint16_t *y);
	void (*relu_bwd_bf16)(size_t n, const uint16_t *y, const float *dy, float *dx);

	/* ---- Channel concat and split (optional). parts[i] (N, C_i, H, W) and y
	 * (N, sum C_i, H, W), all in one layout; split is the inverse copy (the backward of
	 * concat, and concat is the backward of split). A part whose data is NULL is skipped
	 * (it lives in y already: drop_resample_desc.ctot). */
	void (*concat)(int nparts, const struct drop_tensor *const *parts, struct drop_tensor *y);
	void (*split)(const struct drop_tensor *y, int nparts, struct drop_tensor *const *parts);

	/* ---- Max pooling k x k (optional; ResNet's stem): see struct drop_maxpool_desc. */
	void (*maxpool_fwd)(const struct drop_maxpool_desc *d, const float *x, float *y,
	                    int *argmax);
	void (*maxpool_bwd)(const struct drop_maxpool_desc *d, const float *dy, const int *argmax,
	                    float *dx);

	/* ---- Sums over several processes on device memory (optional, all five or none;
	 * CUDA only, through NCCL: the gradients and batch-norm sums of GPU ranks,
	 * doc/scale-out.md). The processes meet by an opaque id of DROP_COMM_ID_BYTES that
	 * the caller carries between them (lib/ bootstraps over MPI; kernels/ knows no
	 * transport):
	 * comm_id: make a fresh id (on one process); comm_init: join the group of n
	 * processes as `rank` (0..n-1) with that id, the same on each; collective (every
	 * process calls it, and it returns when all have joined); it replaces an earlier
	 * group; NULL on success, else why it failed (the library's words: a network or a
	 * peer, no bug).
	 * The sums are collective, in the same order on each process, in place, the same
	 * result on every process. allreduce_f64: v[0..n) (backend memory) summed over the
	 * group in order like every op (batch norm's sums under --sync-bn, read by the next
	 * op). allreduce_sum: start summing v[0..n) (backend memory) over the group. The sum
	 * follows the ops before it but runs beside those after it (drop-train's gradient
	 * buckets overlap the backward pass), which must leave v[0..n) alone until
	 * allreduce_wait: the ops after allreduce_wait see every sum started before it
	 * done. None waits on the host. The sums share one group, so they run in the order
	 * they were asked for on every process whatever their streams (NCCL cannot promise
	 * progress to two groups' sums at once). be->release leaves the group. */
	void (*comm_id)(void *id);
	const char *(*comm_init)(const void *id, int rank, int n);
	void (*allreduce_f64)(double *v, size_t n);
	void (*allreduce_sum)(float *v, size_t n);
	void (*allreduce_wait)(void);
};

/* The size of the id of comm_id and comm_init (NCCL_UNIQUE_ID_BYTES). */
#define DROP_COMM_ID_BYTES 128

/* Whether backend `be` implements optional member `op` (a member name). */
#define drop_backend_supports(be, op) ((be)->op != NULL)

/* ---- The registry (kernels/backend.c) --------------------------------------------------- */

/* The CPU backend's table: always built, the reference every test runs (tests name it).
 * Code that chooses a backend asks drop_backend_get (the tools: drop_common_backend). */
extern const struct drop_backend drop_backend_cpu;

/* The backend called `name` ("cpu"; "cuda", GPU 0, or "cuda:N", GPU N, one GPU a process;
 * or "cpu-strict": the CPU's ops behind a device's discipline, kernels/README.md), ready to
 * use; or NULL, and then, unless why is NULL, *why is a one-line reason: "this build has no
 * CUDA support (rebuild with 'make CUDA=1')", "no usable GPU (CUDA: REASON)", "no GPU N:
 * ..." or "unknown device 'NAME'" (valid until the calling thread's next call). The first call that finds a GPU creates its handles; later
 * calls return the same table. */
const struct drop_backend *drop_backend_get(const char *name, const char **why);
/* The GPU a device name asks for: "cuda" the first (0), "cuda:N" the one numbered N
 * (CUDA's numbering, up to 4 digits); -1 for any other name. */
int drop_device_gpu(const char *name);
/* Whether drop_backend_get(name, why) succeeds (it is that call), *why as there. */
bool drop_backend_available(const char *name, const char **why);
/* Set the threads of the CPU BLAS behind the CPU table's sgemm (OpenBLAS keeps its own
 * pool, apart from OpenMP's) and return the count it had. The tools set --threads once
 * (drop_common_finish); code that calls sgemm from its own parallel workers sets 1 for
 * that region and puts back the count it got (lib/reid/match.c). */
int drop_blas_set_threads(int n);
/* One line describing the build: CUDA/cuDNN versions and architectures, BLAS, OpenMP, the
 * C loops' vector width, the compiler (a static buffer). */
const char *drop_build_config(void);

/* ---- Tensor helpers (kernels/tensor.c, any backend; no memory access) ------------------ */

/* Channels of t as stored: C, or C rounded up to a multiple of `block` when blocked. */
int drop_tensor_cpad(const struct drop_tensor *t, int block);
/* Floats of t's buffer (padding included), and bytes. */
size_t drop_tensor_floats(const struct drop_tensor *t, int block);
size_t drop_tensor_bytes(const struct drop_tensor *t, int block);
/* Index into t's buffer of element (n, c, h, w). */
size_t drop_tensor_index(const struct drop_tensor *t, int block, int n, int c, int h, int w);
/* A tensor description (data NULL, version 0). */
struct drop_tensor drop_tensor_make(int n, int c, int h, int w, enum drop_layout layout);
/* Output size of a convolution (or max pooling) along one axis of `in` pixels:
 * (in + 2 pad - k) / stride + 1 in integer division, PyTorch's and oneDNN's size when the
 * window fits (in + 2 pad >= k: the caller checks that). */
int drop_conv2d_out(int in, int k, int stride, int pad);
/* Abort (DROP_BUG) unless d is a resampling every backend implements: positive sizes, a
 * channel slice within ctot, and for nearest one integer factor on both axes. */
void drop_resample_check(const struct drop_resample_desc *d);

#ifdef __cplusplus
}
#endif
#endif

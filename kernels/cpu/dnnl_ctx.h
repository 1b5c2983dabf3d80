/*
 * dnnl_ctx.h - the CPU backend's oneDNN context: one engine and stream, the shared
 * scratchpad, a cache of plans keyed by op descriptors, and the DNNL_CHECK macro.
 * Private to kernels/cpu/. Not thread-safe: ops are called from one thread and
 * parallelise inside (ops.h, "Threads and determinism").
 */
#ifndef DROP_DNNL_CTX_H
#define DROP_DNNL_CTX_H

#include <oneapi/dnnl/dnnl.h>
#include <stdbool.h>
#include <stddef.h>

#include "../fail.h"

/* A failing oneDNN call is a bug or an unsupported shape: abort (drop_bug) naming the
 * statement, its status and the function, at the caller's file and line. */
#define DNNL_CHECK(stmt)                                                                  \
	do {                                                                              \
		dnnl_status_t dnnl_check_status_ = (stmt);                                \
		if (dnnl_check_status_ != dnnl_success)                                   \
			DROP_BUG("%s failed: oneDNN status %d (in %s)", #stmt,            \
			         (int)dnnl_check_status_, __func__);                      \
	} while (0)

dnnl_engine_t drop_dnnl_engine(void);
dnnl_stream_t drop_dnnl_stream(void);

/* Primitive attributes every plan uses: user-managed scratchpad (caller destroys). */
dnnl_primitive_attr_t drop_dnnl_attr(void);

/* A memory object for `md` with no buffer yet (the plan sets it on every call). */
dnnl_memory_t drop_dnnl_mem(const dnnl_memory_desc_t *md);
/* Plain (N, C, H, W) or blocked md of f32 activations. */
void drop_dnnl_md_act(dnnl_memory_desc_t *md, int n, int c, int h, int w, int blocked);
/* The scratchpad memory of primitive descriptor pd, pointed at the shared buffer (grown
 * to its size). Call right before executing; valid until the next call. */
void drop_dnnl_scratch_bind(const_dnnl_primitive_desc_t pd, dnnl_memory_t scratch);
/* Execute and wait. */
void drop_dnnl_run(dnnl_primitive_t p, int nargs, const dnnl_exec_arg_t *args);

/* The primitive descriptor of op_desc with drop_dnnl_attr() (hint: the forward one for a
 * backward primitive, or NULL). */
dnnl_primitive_desc_t drop_dnnl_pd(const void *op_desc, const_dnnl_primitive_desc_t hint);
/* A reorder between two mds of the CPU engine (caller destroys the primitive). */
dnnl_primitive_t drop_dnnl_reorder(const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to);

/* The memory object of pd's scratchpad (bound to the shared buffer by scratch_bind). */
dnnl_memory_t drop_dnnl_scratch_mem(const_dnnl_primitive_desc_t pd);
/* md number 0 of kind `what` of pd. */
const dnnl_memory_desc_t *drop_dnnl_pd_md(const_dnnl_primitive_desc_t pd, dnnl_query_t what);

/* A reorder between two layouts or types, reused by every call: weight copies, the
 * activations of bf16 (or fallback) convolutions, a weight gradient back to plain. */
struct drop_cvt {
	dnnl_primitive_t reorder; /* NULL: no conversion */
	dnnl_memory_t from, to;
	size_t bytes;             /* of the result */
};
void drop_cvt_init(struct drop_cvt *c, const dnnl_memory_desc_t *from,
                   const dnnl_memory_desc_t *to);
/* src converted into dst; returns dst. */
void *drop_cvt_into(struct drop_cvt *c, const void *src, void *dst);
/* src converted into conversion buffer `slot` (0 or 1, one per operand of a call), valid
 * until the next use of that slot. */
void *drop_cvt_run(struct drop_cvt *c, const void *src, int slot);
void drop_cvt_free(struct drop_cvt *c);

/* Plain parameters (weights) copied to the layout a primitive prefers (ops.h,
 * "Parameters"); no copy at all when the primitive takes the plain layout. A copy goes to
 * the one buffer all weights share; only when the same weights (data pointer and version,
 * not 0) come back a second time does the copy get a buffer of its own and stay until they
 * change. Inference, which runs the same weights batch after batch, so keeps one copy per
 * layer, and training, whose weights change every step, none (38 MB less for HRNet-W32's
 * two directions), with no extra reorders. */
struct drop_tensor;
struct drop_wcopy {
	dnnl_memory_desc_t md;   /* the primitive's layout */
	int plain;               /* md is the plain layout: use the tensor itself */
	float *buf;              /* own copy (md size), NULL until the weights come back */
	const float *key;        /* data pointer and version the copy was made from */
	unsigned version;
	struct drop_cvt cvt;     /* plain -> md */
};
void drop_wcopy_init(struct drop_wcopy *c, const dnnl_memory_desc_t *md,
                     const dnnl_memory_desc_t *plain);
/* The weights w in c's layout (w->data itself, a kept copy, or a fresh copy), valid until
 * the next drop_wcopy_get or drop_dnnl_wshared. */
void *drop_wcopy_get(struct drop_wcopy *c, const struct drop_tensor *w);
void drop_wcopy_free(struct drop_wcopy *c);
/* The shared weights buffer, at least `bytes` long, for a transient use (a weight gradient
 * in the primitive's layout before its reorder to plain); it holds no copy afterwards. */
void *drop_dnnl_wshared(size_t bytes);


/* Plan cache: `key` (nkey ints) -> plan of kind `kind`. find returns NULL when absent;
 * add takes ownership and calls destroy(plan) from drop_cpu_release(). */
void *drop_plan_find(int kind, const int *key, int nkey);
void drop_plan_add(int kind, const int *key, int nkey, void *plan, void (*destroy)(void *));
enum { DROP_PLAN_CONV2D = 1, DROP_PLAN_LINEAR };

/* The oneDNN plan of a layer with weights (convolution, linear): forward, backward-data and
 * backward-weights primitives, created on first use, and the memory objects whose data
 * handles each call sets. drop_wplan_destroy frees one (the plan cache's destructor). */
struct drop_wplan {
	dnnl_memory_desc_t src_md, dst_md, wplain_md, bias_md;
	dnnl_primitive_desc_t fwd_pd, bd_pd, bw_pd;
	dnnl_primitive_t fwd, bd, bw;
	bool fwd_wino, bd_wino, bw_wino; /* the pass runs oneDNN's Winograd kernel */
	/* forward: x, w, b, y, scratch */
	dnnl_memory_t f_src, f_w, f_b, f_dst, f_scr;
	struct drop_wcopy wf;
	/* backward data: dx, w, dy, scratch */
	dnnl_memory_t d_dsrc, d_w, d_ddst, d_scr;
	struct drop_wcopy wd;
	/* backward weights: x, dy, dw (preferred layout, in the shared weights buffer), db,
	 * scratch; dw's conversion to plain */
	dnnl_memory_t w_src, w_ddst, w_dw, w_db, w_scr;
	size_t dw_bytes;
	struct drop_cvt w_dw_plain;
	/* bf16 convolutions: x for forward and backward-weights, dy for both backwards, from
	 * the float data or (the *16 ones) from the tensor's bf16 copy in our layout */
	struct drop_cvt f_x, d_dy, w_x, w_dy;
	struct drop_cvt f_x16, d_dy16, w_x16, w_dy16;
	dnnl_memory_desc_t src16_md, dst16_md; /* src_md, dst_md as bf16 */
};

void drop_wplan_destroy(void *plan);

#endif

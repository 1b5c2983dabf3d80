/*
 * heads.h - the heads' internals, private to the files of lib/model (and white-box
 * tests): their registry entries and buffers, their passes after the network's outputs
 * Preid and S, and the losses over them.
 *
 *  - Heads (heads.c): softmax, foreground map, WAMP, global pooling, embeddings,
 *    BNNeck, classifiers, visibility; small buffers of their own. They write Preid's
 *    gradient when the graph's backward reaches Preid (drop_graph_grad_writer).
 *  - Losses (losses.c): L_reid, L_pct with the PEMB memory bank, L_hp.
 *
 * Not here: the layers before Preid and S (graph.h).
 */
#ifndef DROP_HEADS_H
#define DROP_HEADS_H

#include <stdbool.h>

#include "model.h"

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
	/* Data-parallel (drop_model_data_parallel): the global batch's part embeddings,
	 * identities and visibility, and the triplet's gradient of them, gcap images */
	float *gp1, *gdtrip;
	int *gpid;
	unsigned char *gvis;
	int gcap;
	struct drop_model_out out;
};

/* heads.c: register the heads' entries; forward; backward from the losses' gradients into
 * the graph outputs' gradients. Their buffers are sized by drop_model_reserve (model.h). */
void drop_heads_build(struct drop_model *m);
/* Size the PEMB for batches of n (entries kept when it grows; drop_model_reserve calls
 * it too, so after drop_model_reserve(m, n) the bank holds pemb - 1 batches of n). */
void drop_heads_reserve_bank(struct drop_model *m, int n);
/* Size the global-batch buffers (gp1 ...) for n images. */
void drop_heads_reserve_global(struct drop_model *m, int n);
void drop_heads_forward(struct drop_model *m, int n, bool train);
void drop_heads_backward(struct drop_model *m, int n);
void drop_heads_free(struct drop_model *m);
/* losses.c: the losses of one batch; writes the heads' logit, embedding and parsing
 * gradients and advances the PEMB. */
struct drop_model_loss drop_model_losses(struct drop_model *m, int n, const int *pids,
                                         const int *labels);

#endif

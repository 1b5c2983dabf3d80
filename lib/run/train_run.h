/*
 * train_run.h - drop-train's training run (doc/model.md §5-6, doc/bpbreid.md §3, §10): the
 * epoch loop over identity-sampled, augmented batches, the learning-rate schedule, Adam,
 * checkpoints that resume exactly, the JSON log, the progress line and the in-process
 * evaluation.
 *
 * A run. The model is initialised from the seed (and --init weights by name) or taken
 * from a checkpoint (--resume). Epoch e (from 0) trains at lr(e) = drop_lr_schedule(e, ...)
 * over the batches of drop_sampler_epoch(seed, e), each augmented with the draws of
 * (seed, e, position) by lib/data/loader.h; one step = forward, the losses, backward, one Adam
 * step. Everything that decides a step is a pure function of (seed, epoch, position) and
 * the state a checkpoint holds, so a resumed run computes the same steps, bit for bit, as
 * an uninterrupted one with the same seed and thread count.
 *
 * Checkpoints (lib/model/checkpoint.h, written whole or not at all): the model
 * (drop_model_checkpoint_add: parameters, BN statistics, "model" configuration) plus
 *   optim.m.NAME, optim.v.NAME    Adam's moments of every trained entry, its shape
 *   train.bank                    (B, K, D) the PEMB's entries (B = 0: none stored)
 *   train.bank_pid, train.bank_vis (B), (B, K) their classes and visibility (0/1), float32
 *   metadata "train"   JSON: every option that decides the steps (batch, instances, seed,
 *                      lr, weight_decay, warmup, warmup_factor, steps, gamma, flip, pad, erase,
 *                      classes, init); a resumed run must ask for the same values
 *            "epoch"   epochs finished; "batch" batches of the next epoch done (non-zero
 *                      only after an interrupt); "step" Adam steps taken;
 *            "bank_slots" JSON array: entries per batch in the bank, oldest first;
 *            "seed"    the seed (decimal; the draws are counter-based: no other RNG state).
 *
 * Not here: option parsing (cmd/drop-train.c), the model (lib/model/model.h), the image
 * pipeline (lib/data/loader.h).
 */
#ifndef DROP_TRAIN_H
#define DROP_TRAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "../core/drop.h"
#include "../model/checkpoint.h"
#include "../data/dataset.h"
#include "../model/model.h"

#define DROP_TRAIN_MAXSTEPS 16

/* drop_train()'s result when a signal stopped it after saving a checkpoint. */
#define DROP_TRAIN_INTERRUPTED 1

struct drop_train_opts {
	struct drop_model_config model; /* classes: set by the run from the dataset */
	struct drop_dataset_source data; /* the training split or list (labels required) */
	int batch, instances;           /* 64, 4 */
	int epochs;                     /* 120 */
	double lr, weight_decay;        /* 3.5e-4, 5e-4 */
	int warmup;                     /* epochs of linear warm-up, 10 */
	double warmup_factor;           /* 0.01 */
	int steps[DROP_TRAIN_MAXSTEPS], nsteps; /* milestones 40, 70 */
	double gamma;                   /* 0.1 */
	uint64_t seed;                  /* 1 */
	float flip_p;                   /* horizontal flip probability, 0.5 */
	int pad;                        /* pixels of zero padding before the random crop, 10 */
	float erase_p;                  /* random erasing probability, 0.5 */
	int threads;                    /* loader threads, >= 1 */
	bool bf16;                      /* convolutions multiply in bf16 (drop_graph_set_bf16);
	                                 * recorded in the checkpoint */
	bool tf32;                      /* TF32 products on the GPU (the tool applies it:
	                                 * drop_common_tf32); recorded in the checkpoint */
	enum drop_conv_algo conv_algo;  /* AUTO (drop_graph_set_conv_algo); recorded in the
	                                 * checkpoint when not AUTO */
	bool recompute;                 /* run convolutions again in backward rather than keep
	                                 * their outputs (drop_graph_set_recompute); like
	                                 * --threads, not part of the checkpoint */
	bool sync_bn;                   /* over several ranks: batch norms with the global
	                                 * batch's statistics (drop_model_data_parallel) */
	double grad_bucket_mib;         /* over several ranks: gradient sums started in
	                                 * buckets of this many MiB during backward (0: one
	                                 * sum after it), 25 */
	const char *out;                /* the checkpoint written */
	const char *init;               /* ImageNet weights by name, or NULL */
	const char *resume;             /* checkpoint to continue, or NULL */
	int save_every;                 /* epochs between checkpoints, 1 */
	const char *log;                /* JSON lines, or NULL */
	int log_every;                  /* steps per log line, 10 */
	bool eval;                      /* evaluate at the end (and every eval_every epochs) */
	int eval_every;                 /* 0: only at the end */
	bool progress;                  /* the per-epoch progress line on stderr */
	FILE *report;                   /* evaluation results (stdout) */
};

/* The recipe's values (doc/model.md §6) and doc/model.md's model defaults. */
void drop_train_defaults(struct drop_train_opts *o);

/* Parse a comma-separated list of milestone epochs ("40,70"; "" or "none" = no
 * milestones), ascending, each >= 1, at most DROP_TRAIN_MAXSTEPS: 0 or -1 with a message. */
int drop_train_parse_steps(const char *s, int *steps, int *nsteps);

/* 0 when backend be runs what o asks (the model's training ops, bf16 when o->bf16,
 * Winograd when o->conv_algo is WINOGRAD), else
 * -1 with the message; the tool then exits with DROP_EXIT_NODEVICE. */
int drop_train_backend_check(const struct drop_train_opts *o, const struct drop_backend *be);

/* Train. Returns 0 when done, DROP_TRAIN_INTERRUPTED when SIGINT/SIGTERM/SIGHUP arrived
 * (the current step finished and a checkpoint was saved), or -1 with drop_errmsg() naming
 * the file at fault. */
int drop_train(const struct drop_train_opts *o, const struct drop_backend *be);

/* ---- Pieces, public for the tests ---------------------------------------------------- */

/* The training state beside the model. */
struct drop_train_state {
	int epoch;                      /* epochs finished */
	int batch;                      /* batches of epoch `epoch` done */
	int64_t step;                   /* Adam steps taken */
};

/* The "train" metadata of a run: JSON text (caller frees). */
char *drop_train_meta(const struct drop_train_opts *o);

/* Write model m, its Adam moments and PEMB and state st (training options o) to path,
 * atomically. -1 with a message. */
int drop_train_save(const char *path, const struct drop_model *m,
                    const struct drop_train_state *st, const struct drop_train_opts *o);

/* Create *m from the checkpoint at path and restore its optimiser, PEMB and *st, checking
 * that it fits the run o (same model configuration and "train" metadata; a larger
 * --epochs is allowed): -1 with "PATH: ..." otherwise. */
int drop_train_load(const char *path, const struct drop_backend *be,
                    const struct drop_train_opts *o, struct drop_model *m,
                    struct drop_train_state *st);

#endif

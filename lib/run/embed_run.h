/*
 * embed_run.h - drop-embed's work: loading the model, which images the INPUTs name, and
 * running the model over them in batches to write the embedding stream
 * (lib/reid/embedding.h), an intermediate map (--dump) and the predicted parsing as label
 * PNGs (--masks).
 *
 * Inputs, in operand order:
 *   a folder    its image files (.jpg .jpeg .png .tif .tiff, any case), recursively, in
 *               strcmp order of their path under the folder (lib/io/walk.h);
 *   a list      a TSV list file (lib/io/list.h: path, pid, camid[, label]): an operand ending
 *               in .tsv or .txt, or any operand with `lists`;
 *   "-"         stdin: one image path per line, or TSV rows (a line holding a TAB is
 *               "path<TAB>pid<TAB>camid[<TAB>...]"); '#' lines and blank lines are skipped;
 *   anything else   one image.
 * pid and camid come from the list, else from the file-name rule (drop_name_ids in
 * lib/data/dataset.h), else -1. The decoder tells the format from the file's first bytes.
 *
 * Output order is input order, whatever the threads: batches are decoded by the loader's
 * threads (lib/data/loader.h, test mode: resize + normalise) and come back in order, and an
 * evaluation-mode forward pass treats every image of a batch on its own (batch norm uses
 * running statistics), so the batch size does not change the values either beyond float
 * rounding of the library's kernels.
 *
 * Per image (doc/model.md §8): global = the global embedding after its BNNeck BN, fg = the
 * foreground embedding after its BN, parts = the K part embeddings before BN, vis = the K
 * visibility scores (max over pixels of each part's probability).
 *
 * Masks: the argmax over the K + 1 parsing logits at feature resolution (Hf x Wf, lowest
 * class on ties), 0 = background, 1..K = parts, optionally stretched (nearest neighbour)
 * to a fixed size or to each image's own size, written as palette PNGs with drop-labels'
 * colours (lib/data/labels.h) at DIR/<name>.png: <name> is the image's path under its INPUT
 * folder, or its base name, without the image extension.
 *
 * Several ranks (lib/core/ranks.h, mpirun or srun): rank 0 alone reads the operands and
 * shares the list; global batch g (images [g batch, (g + 1) batch)) runs on rank
 * g % nranks, so every image meets the same batch as in one process; rank 0 receives the
 * others' records (or maps) and writes the stream in input order, byte for byte what one
 * process writes. Each rank writes the masks of its own batches.
 *
 * Not here: option parsing (cmd/drop-embed.c), the model (lib/model/model.h), checkpoints
 * (lib/model/model_file.h).
 */
#ifndef DROP_EMBED_H
#define DROP_EMBED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli.h"
#include "../core/drop.h"
#include "../data/dataset.h"
#include "../model/model.h"

/* The images of a run. Zero it before drop_embed_collect. */
struct drop_embed_inputs {
	struct drop_dataset ds;   /* the images in output order (label NULL, cls -1) */
	char **name;              /* (ds.n) mask name: path under its INPUT folder, or base name */
	size_t cap;
};

/* Append the images of inputs[0..n) (see above; `lists`: every operand that is not a
 * folder or "-" is a list). Returns 0, or -1 with drop_errmsg() naming the operand or the
 * line ("q.tsv: line 3: pid 'x' is not an integer", "nothing: No such file or directory",
 * "-: line 2: expected path<TAB>pid<TAB>camid"). A folder without images is a warning. */
int drop_embed_collect(struct drop_embed_inputs *in, char *const *inputs, int n, bool lists);
void drop_embed_inputs_free(struct drop_embed_inputs *in);

/* What --dump writes instead of embeddings: the map [N, C, h, w] float32. */
enum drop_embed_dump {
	DROP_DUMP_NONE,
	DROP_DUMP_PREID,    /* Preid, the concatenated backbone maps (N, Creid, Hf, Wf) */
	DROP_DUMP_PARSING,  /* S, the parsing logits (N, K+1, Hf, Wf) */
	DROP_DUMP_P1, DROP_DUMP_P2, DROP_DUMP_P3, DROP_DUMP_P4, /* backbone stage outputs */
};
/* "preid", "parsing", "p1".."p4", NULL: the names of DROP_DUMP_PREID.. in order. */
extern const char *const drop_embed_dump_names[];

/* Mask sizes. */
#define DROP_MASKS_FEATURE 0   /* masks_h = masks_w = 0: Hf x Wf */
#define DROP_MASKS_IMAGE (-1)  /* masks_h = masks_w = -1: each image's own size */

struct drop_embed_opts {
	int batch;                /* images per forward pass, >= 1; 0: the default for the
	                           * model's backend (drop_embed_run) */
	int threads;              /* decoding threads, >= 1 */
	enum drop_embed_dump dump;
	const char *masks;        /* folder for the parsing PNGs, or NULL */
	int masks_h, masks_w;     /* a size, or DROP_MASKS_FEATURE / DROP_MASKS_IMAGE */
	bool progress;            /* progress line on stderr */
	const char *output;       /* the output's name in messages ("stdout"), or NULL */
};

/* drop-embed's whole request: the model, the inputs, the output and how to run. */
struct drop_embed_job {
	const char *model;        /* the checkpoint (lib/model/model_file.h) */
	int size_h, size_w;       /* the input size asked for, 0: the model's */
	bool bf16;                /* convolutions multiply in bf16 (drop_graph_set_bf16) */
	bool tf32;                /* TF32 products on the GPU (the tool applies it:
	                           * drop_common_tf32) */
	enum drop_conv_algo conv_algo; /* drop_graph_set_conv_algo; the tool's default AUTO */
	char *const *inputs;      /* the INPUT operands, as drop_embed_collect takes them */
	int ninputs;
	bool lists;
	const char *output;       /* written whole or not at all (lib/io/outfile.h); "-" = stdout */
	struct drop_embed_opts run;
};

/* 0 when backend be runs what j asks (the model's evaluation ops, bf16 when j->bf16,
 * Winograd when j->conv_algo is WINOGRAD), else
 * -1 with the message; the tool then exits with DROP_EXIT_NODEVICE. */
int drop_embed_backend_check(const struct drop_embed_job *j, const struct drop_backend *be);

/* All of drop-embed after its options: load j->model on be, check j's size against it,
 * collect the inputs and run over them (drop_embed_run) into j->output. Returns 0, or -1
 * with drop_errmsg() the whole message, nothing of the output left: "M: <why the model does
 * not load>", "--size 64x32: M takes 256x128 images", an input's problem (as
 * drop_embed_collect), "OUT: <why it cannot be written>", a run's (as drop_embed_run). */
int drop_embed(const struct drop_embed_job *j, const struct drop_backend *be);

/* Run the evaluation-mode model m over in's images and write to out: the embedding
 * stream, or with o->dump that map as a float32 .npy stream (one document on a regular
 * file, one per batch on a pipe); with o->masks also the PNGs (folders created as
 * needed, each file written whole). Under several ranks every rank calls it with the
 * same inputs, and out is rank 0's (NULL elsewhere). m must not have run a forward pass yet (a dump of
 * P1..P4 keeps those maps alive in its plan). Returns 0, or -1 with drop_errmsg() naming
 * the file: "a/x.jpg: JPEG: Premature end of JPEG file", "masks: M/a.png would be written
 * for both a/a.jpg and b/a.png", a write error. */
int drop_embed_run(struct drop_model *m, const struct drop_embed_inputs *in,
                   const struct drop_embed_opts *o, FILE *out);

#endif

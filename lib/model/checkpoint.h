/*
 * checkpoint.h - drop's checkpoints, and importing weights by name from any safetensors.
 *
 * A checkpoint is a .safetensors file (lib/io/safetensors.h) holding a set of named float32
 * tensors - parameters, batch-norm running statistics, optimiser moments under a prefix of
 * the caller's choosing (e.g. "optim.m." and "optim.v.") - and a few int64 scalars if the
 * caller wants them, plus string metadata:
 *   "format": "drop-checkpoint"   always, written by this module
 *   "version": "1"                always, written by this module (CKPT_VERSION)
 *   anything else the caller sets: "model" (the model configuration as JSON, written by
 *   lib/model/model_file.c), and drop-train's "train" (its options as JSON), "epoch", "batch",
 *   "step", "seed" (decimal strings).
 * This module knows no model: it stores what it is given and checks, on reading, that each
 * tensor asked for exists with the shape the caller expects. It is written atomically
 * (temporary file, fsync, rename), so a crash never leaves a broken checkpoint and a
 * failed write leaves the previous checkpoint in place.
 *
 * Importing (drop_ckpt_import) reads weights from any safetensors file - an ImageNet backbone
 * converted by scripts/pth-to-safetensors, or another tool's checkpoint - by name: the
 * file's names are mapped by a rule (prefixes stripped, one prefix added) onto the names
 * the model expects, and the result says which were loaded, which the file lacks and which
 * of its tensors were not used; the caller decides which of those are errors.
 *
 * Not here: which tensors a model has (the model supplies the names and shapes), device
 * memory (the caller copies to and from host buffers), training logic.
 */
#ifndef DROP_CHECKPOINT_H
#define DROP_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../io/safetensors.h"

#define CKPT_FORMAT "drop-checkpoint"
/* The checkpoint layout version this drop writes and the newest it reads. Bump it when a
 * checkpoint written by a new drop would be misread by an older one, and say why here:
 *   1  first version: named float32 tensors, int64 scalars, string metadata. */
#define CKPT_VERSION 1

/* ---- Writing ------------------------------------------------------------------------- */

struct drop_ckpt_writer {
	struct drop_sft_writer st;
};

/* Start an empty checkpoint (format and version metadata already set). */
void drop_ckpt_writer_init(struct drop_ckpt_writer *w);
/* Add the float32 tensor `name` of shape (shape[0], ..., shape[ndim-1]) at `data`. The
 * memory is borrowed: it must stay valid and unchanged until drop_ckpt_commit returns (use
 * drop_ckpt_add_copy to reuse a buffer at once). -1 on a bad name, ndim or shape
 * (drop_sft_writer_add); a duplicate name is reported by drop_ckpt_commit. */
int drop_ckpt_add(struct drop_ckpt_writer *w, const char *name, int ndim, const int64_t *shape,
             const float *data);
int drop_ckpt_add_copy(struct drop_ckpt_writer *w, const char *name, int ndim, const int64_t *shape,
                  const float *data);
/* Add an int64 scalar (a 0-d I64 tensor), e.g. a step counter. */
int drop_ckpt_add_i64(struct drop_ckpt_writer *w, const char *name, int64_t value);
/* Set metadata `key` (replacing an earlier value). "format" and "version" are this
 * module's: -1 "metadata key \"format\" is reserved". */
int drop_ckpt_set_meta(struct drop_ckpt_writer *w, const char *key, const char *value);
/* Write the checkpoint at `path` whole or not at all (drop_sft_writer_commit). */
int drop_ckpt_commit(const struct drop_ckpt_writer *w, const char *path);
void drop_ckpt_writer_free(struct drop_ckpt_writer *w);

/* ---- Reading ------------------------------------------------------------------------- */

struct drop_ckpt_reader {
	struct drop_sft_file st;
};

/* Open a drop checkpoint. -1 (drop_errmsg without the path) if the file is not a valid
 * safetensors file, has no "format": "drop-checkpoint" ("not a drop checkpoint (no
 * \"format\": \"drop-checkpoint\" in its metadata)"), or a version this drop cannot read
 * ("checkpoint version 2 is newer than this drop reads (1): use a newer drop"). */
int drop_ckpt_open(struct drop_ckpt_reader *r, const char *path);
void drop_ckpt_close(struct drop_ckpt_reader *r);
/* The metadata value for `key`, or NULL. */
const char *drop_ckpt_meta(const struct drop_ckpt_reader *r, const char *key);
/* The stored version (1..CKPT_VERSION). */
int drop_ckpt_version(const struct drop_ckpt_reader *r);
/* Tensors, sorted by name: drop_ckpt_count() of them, i-th name (for listing, "did you mean"). */
size_t drop_ckpt_count(const struct drop_ckpt_reader *r);
const char *drop_ckpt_name(const struct drop_ckpt_reader *r, size_t i);
/* Whether the checkpoint has a tensor `name`. */
bool drop_ckpt_has(const struct drop_ckpt_reader *r, const char *name);
/* Read tensor `name`, which must have exactly the shape (shape[0], ..., shape[ndim-1]),
 * as float32 into dst (product of shape floats). -1 with "NAME: not in the checkpoint" or
 * "NAME: expected shape (64, 3, 3, 3), file has (32, 3, 3, 3)" (or a conversion error). */
int drop_ckpt_read(const struct drop_ckpt_reader *r, const char *name, int ndim, const int64_t *shape,
              float *dst);
/* Read the int64 scalar `name` (any integer tensor of one element). */
int drop_ckpt_read_i64(const struct drop_ckpt_reader *r, const char *name, int64_t *value);

/* ---- Importing weights by name ------------------------------------------------------ */

/* One tensor the model wants: its name, shape and where its float32 values go. */
struct drop_ckpt_want {
	const char *name;
	int ndim;
	int64_t shape[SFT_MAXDIM];
	float *dst;                 /* (product of shape) floats, written when loaded */
};

/* How file names become model names: the prefixes in `strip` (NULL-terminated list) are
 * removed from the front as long as one matches, in any order and any number of times
 * ("module.backbone.conv1.weight" -> "conv1.weight"), then `add` (NULL for none) is put in
 * front. */
struct drop_ckpt_rename {
	const char *const *strip;
	const char *add;
};

/* The prefixes of PyTorch wrappers and BPBreID models: "module." (DataParallel),
 * "backbone_appearance_feature_extractor." (BPBreID's HRNet), "backbone." and "model.". */
extern const char *const drop_ckpt_common_prefixes[];

/* The model name of file tensor `file_name` under `rule`, into buf (NUL-terminated).
 * -1 if it does not fit in cap bytes. */
int drop_ckpt_map_name(const char *file_name, const struct drop_ckpt_rename *rule, char *buf,
                  size_t cap);

/* What an import did. */
struct drop_ckpt_import_report {
	size_t nloaded;            /* wanted tensors loaded */
	size_t nmissing;
	size_t *missing;           /* (nmissing) indices into want[] the file lacks, ascending */
	size_t nunused;
	const char **unused;       /* (nunused) file tensor names mapped to nothing wanted,
	                              sorted; they point into the open file */
};

/* Load every tensor of want[] (nwant of them, distinct names) that some tensor of f maps
 * to under `rule`, converting it to float32 into want[i].dst. Returns 0 and fills *rep, or
 * -1 (nothing to free in *rep; some dst may already be written) when a mapped tensor has
 * another shape ("conv1.weight (file: module.conv1.weight): expected shape (64, 3, 3, 3),
 * file has (32, 3, 3, 3)"), when two file tensors map to one name ("conv1.weight: the file
 * has both \"conv1.weight\" and \"module.conv1.weight\""), or a value cannot be converted. */
int drop_ckpt_import(const struct drop_sft_file *f, const struct drop_ckpt_want *want, size_t nwant,
                const struct drop_ckpt_rename *rule, struct drop_ckpt_import_report *rep);
void drop_ckpt_import_report_free(struct drop_ckpt_import_report *rep);

#endif

/*
 * model_file.h - the DROP model (lib/model/model.h) in checkpoints (lib/model/checkpoint.h): its
 * configuration as JSON, its tensors under their registry names, and back.
 *
 * What a model puts in a checkpoint:
 *   metadata "model"   the configuration as one JSON object (drop_model_config_json):
 *                      {"backbone": "hrnet-w32", "height": 256, "width": 128, "parts": 8,
 *                       "dim": 512, "classes": 702, "hp_channels": 128, "decouple": true,
 *                       "ppe": true, "triplet": "pct", "triplet_all_parts": false,
 *                       "pemb": 4, "margin": 0.3, "ss_gamma": 0.5, "hp_weight": 0.4,
 *                       "label_smooth": 0.1, "vis_threshold": 0.4}
 *   tensors            every registry entry under its name (the official HRNet-W32-C
 *                      names for the backbone): trained, frozen and BN running values as
 *                      float32 of the entry's shape, num_batches_tracked as int64 scalars.
 * Nothing else: optimiser moments, epoch, step and RNG state are the trainer's, which adds
 * them to the same writer (drop_model_checkpoint_add composes with other drop_ckpt_add calls)
 * and reads them from the same reader. Extra tensors in a file are therefore ignored.
 *
 * Reading builds the model the file describes (structure from "model"), then loads every
 * entry; a missing tensor or one of another shape is an error naming it, so a file whose
 * configuration and tensors disagree (another K, D, backbone) cannot load half-way.
 *
 * Not here: importing ImageNet backbones by name (drop_ckpt_import in lib/model/checkpoint.h), the
 * training state, the safetensors format.
 */
#ifndef DROP_MODEL_IO_H
#define DROP_MODEL_IO_H

#include "checkpoint.h"
#include "model.h"

/* The metadata key holding the configuration. */
#define DROP_MODEL_META "model"

/* The configuration as a JSON object (malloc'd, NUL-terminated); every field written. */
char *drop_model_config_json(const struct drop_model_config *c);
/* Parse a configuration written by drop_model_config_json. The structural fields
 * (backbone, height, width, parts, dim, classes, hp_channels, decouple, ppe) are required;
 * the loss settings default to drop_model_config_default's when absent; unknown keys are
 * ignored (a newer drop may add some). -1 with "model configuration: ..." on error. */
int drop_model_config_parse(const char *json, struct drop_model_config *c);
/* Whether a model of configuration `have` can stand where `want` is expected: the same
 * structure (backbone, size, parts, dim, classes, hp_channels, decouple, ppe). -1 naming
 * the first difference: "parts: the checkpoint has 8, expected 6". */
int drop_model_config_match(const struct drop_model_config *want,
                            const struct drop_model_config *have);

/* Add m's configuration (metadata "model") and every registry entry to w, copying the
 * values to host memory (w owns the copies). 0, or -1 with a message. */
int drop_model_checkpoint_add(struct drop_ckpt_writer *w, const struct drop_model *m);
/* Create *m (drop_model_create) from r's "model" metadata on backend `be` and load every
 * entry from r. 0, or -1 with a message and *m left freed: "no model configuration
 * (metadata \"model\"): not a model checkpoint", "layer1.0.conv1.weight: not in the
 * checkpoint", "parsing.classifier.weight: expected shape (9, 128, 1, 1), file has
 * (7, 128, 1, 1)". */
int drop_model_from_checkpoint(const struct drop_ckpt_reader *r, const struct drop_backend *be,
                               struct drop_model *m);
/* Load every entry of an existing model *m from r (same messages); m's versions are
 * bumped. Used by drop_model_from_checkpoint; also for resuming into a built model. */
int drop_model_read_entries(const struct drop_ckpt_reader *r, struct drop_model *m);

/* A weights-only checkpoint of m at path, written atomically. 0, or -1 with a message. */
int drop_model_save(const struct drop_model *m, const char *path);
/* Open path (drop_ckpt_open) and drop_model_from_checkpoint. Messages do not name the path. */
int drop_model_load(const char *path, const struct drop_backend *be, struct drop_model *m);

#endif

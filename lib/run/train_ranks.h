/*
 * train_ranks.h - drop-train over the ranks of an MPI job (doc/scale-out.md, drop(7)
 * MULTIPLE PROCESSES): what the run needs beside the model's data-parallel mode
 * (drop_model_data_parallel). --batch stays the global batch; every rank draws the
 * epoch's whole order and keeps its slice of each batch; rank 0 alone writes the
 * checkpoints, the log and the evaluation. Private to lib/run (train_run.c).
 */
#ifndef DROP_TRAIN_RANKS_H
#define DROP_TRAIN_RANKS_H

#include <stdbool.h>
#include <stddef.h>

#include "train_run.h"
#include "../reid/parsing_iou.h"

/* 0 when o can run over drop_nranks() ranks on backend be (the batch splits evenly into
 * slices of at least 2, --sync-bn's ops exist and the backbone allows it), else -1 with
 * the message. Alone: 0. */
int drop_train_ranks_check(const struct drop_train_opts *o, const struct drop_backend *be);
/* This rank's slices of the global order (norder positions in batches of `batch`): the
 * batch / ranks places from rank x batch / ranks of each batch, in order; *nlocal of them
 * (malloc'd). */
size_t *drop_train_ranks_slice(const size_t *order, size_t norder, int batch, size_t *nlocal);
/* Whether flag is set on any rank (flag alone). */
bool drop_train_ranks_any(bool flag);
/* Sum parsing counts c over the ranks, in place (c alone). */
void drop_train_ranks_counts(struct drop_parsing_counts *c);

#endif

/*
 * sync_bn.h - batch norm in training mode with the statistics of the whole global batch of
 * a data-parallel run (drop-train --sync-bn, doc/scale-out.md): the backend's per-channel
 * sums (ops.h, "Batch norm over several processes"), summed over the ranks, then the
 * normalisation or the backward's dx from the sums. The sums stay in backend memory: on
 * GPU ranks they are summed there (ops.h, allreduce_f64: NCCL), with no copy to the host
 * and no wait; where backend memory is host memory, over MPI (lib/core/ranks.h); on any
 * other backend (cpu-strict), copied to the host and back. One call per batch norm and
 * pass, in the same order on every rank (the sums are collective). Every rank holds an
 * equal slice of the global batch (drop_model_data_parallel), so the global count is the
 * rank count times this rank's. Private to lib/model (graph.c, heads.c, net.c).
 */
#ifndef DROP_SYNC_BN_H
#define DROP_SYNC_BN_H

#include <stdbool.h>
#include <stddef.h>

#include "../../kernels/ops.h"

/* A model's --sync-bn: the backend, the ranks, the sums' buffer. */
struct drop_sync_bn {
	const struct drop_backend *be;
	int ranks;
	bool device_sums;        /* be sums its own memory over the ranks (allreduce_f64) */
	double *sums;            /* backend memory, cap doubles (grown as needed) */
	size_t cap;
};

/* Over `ranks` ranks on backend be, the sums on the device when device_sums. */
void drop_sync_bn_init(struct drop_sync_bn *s, const struct drop_backend *be, int ranks,
                       bool device_sums);
void drop_sync_bn_free(struct drop_sync_bn *s);
/* bn_fwd_train over the global batch (this rank's x, y). */
void drop_sync_bn_fwd(struct drop_sync_bn *s, const struct drop_bn_desc *d, const float *x,
                      const float *gamma, const float *beta, float *running_mean,
                      float *running_var, float *y, float *save_mean, float *save_invstd);
/* bn_bwd (d->relu: bn_relu_bwd, beta required) over the global batch: dx for this rank's
 * rows, dgamma and dbeta (NULL: frozen) this rank's part of the sum. */
void drop_sync_bn_bwd(struct drop_sync_bn *s, const struct drop_bn_desc *d, const float *x,
                      const float *dy, const float *gamma, const float *beta,
                      const float *save_mean, const float *save_invstd, float *dx,
                      float *dgamma, float *dbeta);

#endif

/*
 * sync_bn.h - batch norm in training mode with the statistics of the whole global batch of
 * a data-parallel run (drop-train --sync-bn, doc/scale-out.md): the backend's per-channel
 * sums (ops.h, "Batch norm over several processes"), summed over the ranks
 * (lib/core/ranks.h), then the normalisation or the backward's dx from the sums. One call
 * per batch norm and pass, in the same order on every rank (the sums are collective).
 * Private to lib/model (graph.c, heads.c).
 */
#ifndef DROP_SYNC_BN_H
#define DROP_SYNC_BN_H

#include "../../kernels/ops.h"

/* bn_fwd_train over the global batch (this rank's x, y). */
void drop_sync_bn_fwd(const struct drop_backend *be, const struct drop_bn_desc *d,
                      const float *x, const float *gamma, const float *beta,
                      float *running_mean, float *running_var, float *y, float *save_mean,
                      float *save_invstd);
/* bn_bwd (d->relu: bn_relu_bwd, beta required) over the global batch: dx for this rank's
 * rows, dgamma and dbeta (NULL: frozen) this rank's part of the sum. */
void drop_sync_bn_bwd(const struct drop_backend *be, const struct drop_bn_desc *d,
                      const float *x, const float *dy, const float *gamma, const float *beta,
                      const float *save_mean, const float *save_invstd, float *dx,
                      float *dgamma, float *dbeta);

#endif

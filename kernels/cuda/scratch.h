/*
 * scratch.h - a growing device buffer for the CUDA ops' per-call partial results (row
 * losses, mining results), owned by the backend context, never by shared structs.
 */
#ifndef DROP_CUDA_SCRATCH_H
#define DROP_CUDA_SCRATCH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* At least `bytes` of device memory, valid until the next call (ops run one at a time). */
void *drop_cuda_scratch(size_t bytes);

#ifdef __cplusplus
}
#endif
#endif

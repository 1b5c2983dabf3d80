/*
 * cuda.h - the CUDA backend's entry points: one function per member of its table
 * (kernels/cuda/backend.cu), named after the member with a _cuda suffix, each the
 * translation of its _cpu twin (kernels/cpu/cpu.h) step for step. Private to kernels/cuda/:
 * lib/ and cmd/ reach them only through the table, and test/unit/test_ops_cuda.c compares
 * the table's ops with the CPU's.
 * The CUDA backend's blocked layout is plain for now (block 1): cuDNN takes NCHW, and an
 * NHWC or tensor-core layout is still to come (kernels/README.md). The members without an
 * entry point here (convolution, linear, batch norm, resampling, pooling, softmax, ...)
 * are NULL in its table: ops it does not have yet (drop_backend_supports).
 * Not here: error checks (check.h), the scratch buffer (scratch.h), the registry's hooks
 * (kernels/backends.h).
 */
#ifndef DROP_CUDA_H
#define DROP_CUDA_H

#include "../ops.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void drop_sgemm_cuda(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                     const float *a, int lda, const float *b, int ldb, float beta, float *c,
                     int ldc);
void drop_convert_cuda(const struct drop_tensor *src, struct drop_tensor *dst);

void drop_relu_cuda(size_t n, const float *x, float *y);
void drop_relu_bwd_cuda(size_t n, const float *y, const float *dy, float *dx);
void drop_add_cuda(size_t n, const float *a, const float *b, float *y);
void drop_scale_cuda(size_t n, float alpha, const float *x, float *y);
void drop_axpy_cuda(size_t n, float alpha, const float *x, float *y);
void drop_to_bf16_cuda(size_t n, const float *x, uint16_t *y);
void drop_relu_bwd_bf16_cuda(size_t n, const uint16_t *y, const float *dy, float *dx);

double drop_ce_smooth_cuda(int n, int c, const float *logits, const int *labels, float eps,
                           float scale, float *dlogits);
double drop_parsing_loss_cuda(int n, int k1, int h, int w, const float *logits,
                              const float *prob, const int *labels, float eps, float gamma,
                              float scale, float *dlogits, float *dprob, double out[2]);
double drop_triplet_cuda(const struct drop_triplet_desc *d, const float *emb, const int *pid,
                         const unsigned char *vis, const float *bank, const int *bank_pid,
                         const unsigned char *bank_vis, float scale, float *demb,
                         int *nvalid);
void drop_adam_cuda(size_t n, const struct drop_adam *a, float *p, const float *g, float *m,
                    float *v);
void drop_rand_uniform_cuda(uint64_t seed, uint32_t stream, uint64_t offset, size_t n,
                            float *out);
void drop_rand_normal_cuda(uint64_t seed, uint32_t stream, uint64_t offset, size_t n,
                           float *out);

void drop_concat_cuda(int nparts, const struct drop_tensor *const *parts,
                      struct drop_tensor *y);
void drop_split_cuda(const struct drop_tensor *y, int nparts,
                     struct drop_tensor *const *parts);

#ifdef __cplusplus
}
#endif
#endif

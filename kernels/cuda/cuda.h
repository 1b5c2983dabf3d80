/*
 * cuda.h - the CUDA backend's entry points: one function per member of its table
 * (kernels/cuda/backend.cu), named after the member with a _cuda suffix, each the
 * translation of its _cpu twin (kernels/cpu/cpu.h) step for step. Private to kernels/cuda/:
 * lib/ and cmd/ reach them only through the table, and test/unit/test_ops_cuda.c compares
 * the table's ops with the CPU's.
 * The CUDA backend's blocked layout is plain for now (block 1): cuDNN takes NCHW, and an
 * NHWC or tensor-core layout is still to come (kernels/README.md).
 * Not here: error checks (check.h), the scratch buffer (scratch.h), launch shapes and
 * reductions (launch.h), the library handles (handles.h), the registry's hooks
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

void drop_conv2d_fwd_cuda(const struct drop_conv2d_desc *d, const struct drop_tensor *x,
                          const struct drop_tensor *w, const float *b, struct drop_tensor *y);
void drop_conv2d_bwd_data_cuda(const struct drop_conv2d_desc *d, const struct drop_tensor *dy,
                               const struct drop_tensor *w, struct drop_tensor *dx);
void drop_conv2d_bwd_weights_cuda(const struct drop_conv2d_desc *d,
                                  const struct drop_tensor *x, const struct drop_tensor *dy,
                                  float *dw, float *db);
/* Free the convolution plans (be->release). */
void drop_conv2d_cuda_release(void);

void drop_linear_fwd_cuda(const struct drop_linear_desc *d, const float *x,
                          const struct drop_tensor *w, const float *b, float *y);
void drop_linear_bwd_data_cuda(const struct drop_linear_desc *d, const float *dy,
                               const struct drop_tensor *w, float *dx);
void drop_linear_bwd_weights_cuda(const struct drop_linear_desc *d, const float *x,
                                  const float *dy, float *dw, float *db);

void drop_bn_fwd_train_cuda(const struct drop_bn_desc *d, const float *x, const float *gamma,
                            const float *beta, float *running_mean, float *running_var,
                            float *y, float *save_mean, float *save_invstd);
void drop_bn_fwd_eval_cuda(const struct drop_bn_desc *d, const float *x, const float *gamma,
                           const float *beta, const float *running_mean,
                           const float *running_var, float *y);
void drop_bn_bwd_cuda(const struct drop_bn_desc *d, const float *x, const float *dy,
                      const float *gamma, const float *save_mean, const float *save_invstd,
                      float *dx, float *dgamma, float *dbeta);
void drop_bn_relu_bwd_cuda(const struct drop_bn_desc *d, const float *x, const float *dy,
                           const float *gamma, const float *beta, const float *save_mean,
                           const float *save_invstd, float *dx, float *dgamma, float *dbeta);
/* bn_sync.cu: batch norm over several processes (ops.h); sums in host memory. */
void drop_bn_stats_cuda(const struct drop_bn_desc *d, const float *x, double *sums);
void drop_bn_fwd_sync_cuda(const struct drop_bn_desc *d, const float *x, const double *sums,
                           double count, const float *gamma, const float *beta,
                           float *running_mean, float *running_var, float *y,
                           float *save_mean, float *save_invstd);
void drop_bn_bwd_stats_cuda(const struct drop_bn_desc *d, const float *x, const float *dy,
                            const float *gamma, const float *beta, const float *save_mean,
                            const float *save_invstd, double *sums, float *dgamma,
                            float *dbeta);
void drop_bn_bwd_sync_cuda(const struct drop_bn_desc *d, const float *x, const float *dy,
                           const float *gamma, const float *beta, const float *save_mean,
                           const float *save_invstd, const double *sums, double count,
                           float *dx);

void drop_resample_fwd_cuda(const struct drop_resample_desc *d, const float *x, float *y);
void drop_resample_bwd_cuda(const struct drop_resample_desc *d, const float *dy, float *dx);

void drop_pool_global_fwd_cuda(const struct drop_pool_desc *d, const float *x, float *avg,
                               float *max, int *argmax);
void drop_pool_global_bwd_cuda(const struct drop_pool_desc *d, const float *davg,
                               const float *dmax, const int *argmax, float *dx);
void drop_wamp_fwd_cuda(const struct drop_pool_desc *d, const float *x, const float *m,
                        float *e, int *argmax);
void drop_wamp_bwd_cuda(const struct drop_pool_desc *d, const float *x, const float *m,
                        const int *argmax, const float *de, float *dx, float *dm);

void drop_softmax_fwd_cuda(int n, int k, int hw, const float *x, float *y);
void drop_softmax_bwd_cuda(int n, int k, int hw, const float *y, const float *dy, float *dx);
void drop_l2norm_fwd_cuda(int n, int dim, const float *x, float *y);
void drop_l2norm_bwd_cuda(int n, int dim, const float *x, const float *dy, float *dx);
void drop_pdist_fwd_cuda(int n, int m, int dim, const float *x, const float *y, float *d);
void drop_pdist_bwd_cuda(int n, int m, int dim, const float *x, const float *y,
                         const float *d, const float *dd, float *dx, float *dy);
void drop_chanmax_fwd_cuda(int n, int k, int hw, int first, const float *x, float *y,
                           int *argmax);
void drop_chanmax_bwd_cuda(int n, int k, int hw, const int *argmax, const float *dy,
                           float *dx);

void drop_maxpool_fwd_cuda(const struct drop_maxpool_desc *d, const float *x, float *y,
                           int *argmax);
void drop_maxpool_bwd_cuda(const struct drop_maxpool_desc *d, const float *dy,
                           const int *argmax, float *dx);

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

/* nccl.cu: sums over several processes (ops.h); the group left by be->release. */
void drop_comm_id_cuda(void *id);
const char *drop_comm_init_cuda(const void *id, int rank, int n);
void drop_allreduce_f64_cuda(double *v, size_t n);
void drop_allreduce_sum_cuda(float *v, size_t n);
void drop_allreduce_wait_cuda(void);
void drop_nccl_cuda_release(void);
/* The NCCL this backend was built with, "2.28.3" (the build line). */
const char *drop_nccl_cuda_version(void);

#ifdef __cplusplus
}
#endif
#endif

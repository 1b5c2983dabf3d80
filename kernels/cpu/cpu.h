/*
 * cpu.h - the CPU backend's entry points: one function per member of its table
 * (drop_backend_cpu, kernels/cpu/backend.c), named after the member with a _cpu suffix,
 * plus the double-precision twins of some ops that the gradient checks use as reference.
 * Private to kernels/cpu/. The only others that include it are the CPU ops' unit tests
 * (test/unit/test_ops_*.c through test_ops_util.h) and the kernel benchmark
 * (kernels/bench/bench_ops.c), which run these implementations directly; lib/ and cmd/
 * reach them only through the table.
 * Not here: what each op computes (ops.h, struct drop_backend), the oneDNN context
 * (dnnl_ctx.h), the per-element maths (kernels/maths/).
 */
#ifndef DROP_CPU_H
#define DROP_CPU_H

#include "../ops.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- The backend's own: be->block, be->bf16, be->release, be->alloc -------------------- */

/* The CPU block size: 16 with AVX-512, 8 otherwise (what oneDNN prefers; dnnl_ctx.c). */
int drop_cpu_block(void);
/* Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX, as oneDNN sees it). */
bool drop_cpu_bf16(void);
/* Whether this CPU has oneDNN's Winograd convolution (avx512_core; conv2d.c). */
bool drop_cpu_winograd(void);
/* Free every cached plan, the scratchpad, the engine and the stream (dnnl_ctx.c). */
void drop_cpu_release(void);
/* be->alloc of the CPU: 64-byte aligned, huge pages for large buffers (memory.c); free(). */
void *drop_cpu_alloc(size_t bytes);

/* ---- The ops, one per member of struct drop_backend (ops.h says what each does) --------- */

void drop_sgemm_cpu(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                    const float *a, int lda, const float *b, int ldb, float beta, float *c,
                    int ldc);
void drop_convert_cpu(const struct drop_tensor *src, struct drop_tensor *dst);

void drop_conv2d_fwd_cpu(const struct drop_conv2d_desc *d, const struct drop_tensor *x,
                         const struct drop_tensor *w, const float *b, struct drop_tensor *y);
void drop_conv2d_bwd_data_cpu(const struct drop_conv2d_desc *d, const struct drop_tensor *dy,
                              const struct drop_tensor *w, struct drop_tensor *dx);
void drop_conv2d_bwd_weights_cpu(const struct drop_conv2d_desc *d,
                                 const struct drop_tensor *x, const struct drop_tensor *dy,
                                 float *dw, float *db);
/* Whether pass 0 (forward), 1 (backward data) or 2 (backward weights) of d runs oneDNN's
 * Winograd kernel (plans it if need be); for tests and benchmarks. */
bool drop_conv2d_winograd_cpu(const struct drop_conv2d_desc *d, int pass);

void drop_linear_fwd_cpu(const struct drop_linear_desc *d, const float *x,
                         const struct drop_tensor *w, const float *b, float *y);
void drop_linear_bwd_data_cpu(const struct drop_linear_desc *d, const float *dy,
                              const struct drop_tensor *w, float *dx);
void drop_linear_bwd_weights_cpu(const struct drop_linear_desc *d, const float *x,
                                 const float *dy, float *dw, float *db);

void drop_bn_fwd_train_cpu(const struct drop_bn_desc *d, const float *x, const float *gamma,
                           const float *beta, float *running_mean, float *running_var,
                           float *y, float *save_mean, float *save_invstd);
void drop_bn_fwd_eval_cpu(const struct drop_bn_desc *d, const float *x, const float *gamma,
                          const float *beta, const float *running_mean,
                          const float *running_var, float *y);
void drop_bn_bwd_cpu(const struct drop_bn_desc *d, const float *x, const float *dy,
                     const float *gamma, const float *save_mean, const float *save_invstd,
                     float *dx, float *dgamma, float *dbeta);
void drop_bn_relu_bwd_cpu(const struct drop_bn_desc *d, const float *x, const float *dy,
                          const float *gamma, const float *beta, const float *save_mean,
                          const float *save_invstd, float *dx, float *dgamma, float *dbeta);
/* y = gamma (x - mean) invstd + beta (d->relu, d->y_bf16 as in bn_fwd_train) with the given
 * per-channel statistics: the apply loop of bn_fwd_train, for bn_sync.c. */
void drop_bn_normalise_cpu(const struct drop_bn_desc *d, const float *x, const double *mean,
                           const double *invstd, const float *gamma, const float *beta,
                           float *y);
/* bn_bwd (with beta: bn_relu_bwd) cut at its sums, for bn_sync.c: sums_in (2C: sum dy, sum
 * dy xhat; NULL: this process's) over count elements (0: this process's N H W), sums_out
 * (2C) gets the sums; sums_out, dx, dgamma, dbeta may be NULL (skipped). */
void drop_bn_bwd_cut_cpu(const struct drop_bn_desc *d, const float *x, const float *dy,
                         const float *gamma, const float *beta, const float *save_mean,
                         const float *save_invstd, const double *sums_in, double count,
                         double *sums_out, float *dx, float *dgamma, float *dbeta);
/* bn_sync.c: batch norm over several processes (ops.h). */
void drop_bn_stats_cpu(const struct drop_bn_desc *d, const float *x, double *sums);
void drop_bn_fwd_sync_cpu(const struct drop_bn_desc *d, const float *x, const double *sums,
                          double count, const float *gamma, const float *beta,
                          float *running_mean, float *running_var, float *y, float *save_mean,
                          float *save_invstd);
void drop_bn_bwd_stats_cpu(const struct drop_bn_desc *d, const float *x, const float *dy,
                           const float *gamma, const float *beta, const float *save_mean,
                           const float *save_invstd, double *sums, float *dgamma,
                           float *dbeta);
void drop_bn_bwd_sync_cpu(const struct drop_bn_desc *d, const float *x, const float *dy,
                          const float *gamma, const float *beta, const float *save_mean,
                          const float *save_invstd, const double *sums, double count,
                          float *dx);
/* The same three in double precision, from the same source: the reference path of the
 * finite-difference tests (all arrays double). */
void drop_bn_fwd_train_cpu_f64(const struct drop_bn_desc *d, const double *x,
                               const double *gamma, const double *beta,
                               double *running_mean, double *running_var, double *y,
                               double *save_mean, double *save_invstd);
void drop_bn_fwd_eval_cpu_f64(const struct drop_bn_desc *d, const double *x,
                              const double *gamma, const double *beta,
                              const double *running_mean, const double *running_var,
                              double *y);
void drop_bn_bwd_cpu_f64(const struct drop_bn_desc *d, const double *x, const double *dy,
                         const double *gamma, const double *save_mean,
                         const double *save_invstd, double *dx, double *dgamma,
                         double *dbeta);
void drop_bn_relu_bwd_cpu_f64(const struct drop_bn_desc *d, const double *x, const double *dy,
                              const double *gamma, const double *beta,
                              const double *save_mean, const double *save_invstd, double *dx,
                              double *dgamma, double *dbeta);

void drop_resample_fwd_cpu(const struct drop_resample_desc *d, const float *x, float *y);
void drop_resample_bwd_cpu(const struct drop_resample_desc *d, const float *dy, float *dx);

void drop_pool_global_fwd_cpu(const struct drop_pool_desc *d, const float *x, float *avg,
                              float *max, int *argmax);
void drop_pool_global_bwd_cpu(const struct drop_pool_desc *d, const float *davg,
                              const float *dmax, const int *argmax, float *dx);
void drop_wamp_fwd_cpu(const struct drop_pool_desc *d, const float *x, const float *m, float *e,
                       int *argmax);
void drop_wamp_bwd_cpu(const struct drop_pool_desc *d, const float *x, const float *m,
                       const int *argmax, const float *de, float *dx, float *dm);

void drop_softmax_fwd_cpu(int n, int k, int hw, const float *x, float *y);
void drop_softmax_bwd_cpu(int n, int k, int hw, const float *y, const float *dy, float *dx);
void drop_l2norm_fwd_cpu(int n, int dim, const float *x, float *y);
void drop_l2norm_bwd_cpu(int n, int dim, const float *x, const float *dy, float *dx);
void drop_pdist_fwd_cpu(int n, int m, int dim, const float *x, const float *y, float *d);
void drop_pdist_bwd_cpu(int n, int m, int dim, const float *x, const float *y, const float *d,
                        const float *dd, float *dx, float *dy);
void drop_chanmax_fwd_cpu(int n, int k, int hw, int first, const float *x, float *y,
                          int *argmax);
void drop_chanmax_bwd_cpu(int n, int k, int hw, const int *argmax, const float *dy, float *dx);
/* Double-precision twins from the same source (finite-difference reference path). */
void drop_softmax_fwd_cpu_f64(int n, int k, int hw, const double *x, double *y);
void drop_softmax_bwd_cpu_f64(int n, int k, int hw, const double *y, const double *dy,
                              double *dx);
void drop_l2norm_fwd_cpu_f64(int n, int dim, const double *x, double *y);
void drop_l2norm_bwd_cpu_f64(int n, int dim, const double *x, const double *dy, double *dx);
void drop_pdist_fwd_cpu_f64(int n, int m, int dim, const double *x, const double *y, double *d);
void drop_pdist_bwd_cpu_f64(int n, int m, int dim, const double *x, const double *y,
                            const double *d, const double *dd, double *dx, double *dy);

double drop_ce_smooth_cpu(int n, int c, const float *logits, const int *labels, float eps,
                          float scale, float *dlogits);
double drop_parsing_loss_cpu(int n, int k1, int h, int w, const float *logits,
                             const float *prob, const int *labels, float eps, float gamma,
                             float scale, float *dlogits, float *dprob, double out[2]);
double drop_triplet_cpu(const struct drop_triplet_desc *d, const float *emb, const int *pid,
                        const unsigned char *vis, const float *bank, const int *bank_pid,
                        const unsigned char *bank_vis, float scale, float *demb, int *nvalid);
void drop_adam_cpu(size_t n, const struct drop_adam *a, float *p, const float *g, float *m,
                   float *v);
void drop_rand_uniform_cpu(uint64_t seed, uint32_t stream, uint64_t offset, size_t n,
                           float *out);
void drop_rand_normal_cpu(uint64_t seed, uint32_t stream, uint64_t offset, size_t n,
                          float *out);

void drop_relu_cpu(size_t n, const float *x, float *y);
void drop_relu_bwd_cpu(size_t n, const float *y, const float *dy, float *dx);
void drop_add_cpu(size_t n, const float *a, const float *b, float *y);
void drop_scale_cpu(size_t n, float alpha, const float *x, float *y);
void drop_axpy_cpu(size_t n, float alpha, const float *x, float *y);
void drop_to_bf16_cpu(size_t n, const float *x, uint16_t *y);
void drop_relu_bwd_bf16_cpu(size_t n, const uint16_t *y, const float *dy, float *dx);

void drop_concat_cpu(int nparts, const struct drop_tensor *const *parts,
                     struct drop_tensor *y);
void drop_split_cpu(const struct drop_tensor *y, int nparts,
                    struct drop_tensor *const *parts);

void drop_maxpool_fwd_cpu(const struct drop_maxpool_desc *d, const float *x, float *y,
                          int *argmax);
void drop_maxpool_bwd_cpu(const struct drop_maxpool_desc *d, const float *dy, const int *argmax,
                          float *dx);

#endif

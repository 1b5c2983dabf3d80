/*
 * backend.c - the CPU backend table: host memory, OpenBLAS products, and what the registry
 * (kernels/backend.c) asks of the CPU's BLAS. Each op lives in its own file of
 * kernels/cpu/ (conv2d.c, batchnorm.c, ...); this file only gathers them.
 * Not here: choosing a backend by name or describing the build (kernels/backend.c).
 */
#include "cpu.h"
#include "../backends.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* OpenBLAS's own threading control (Debian's libopenblas0-pthread). */
extern void openblas_set_num_threads(int n);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);

static void cpu_free(void *p) { free(p); }
static void cpu_copy(void *dst, const void *src, size_t bytes) { memcpy(dst, src, bytes); }
static void cpu_sync(void) {}

void drop_sgemm_cpu(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                    const float *a, int lda, const float *b, int ldb, float beta, float *c,
                    int ldc)
{
	cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
	            trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
	            ldc);
}

const struct drop_backend drop_backend_cpu = {
	.name = "cpu",
	.host_memory = true,
	.alloc = drop_cpu_alloc,
	.free = cpu_free,
	.to_device = cpu_copy,
	.to_host = cpu_copy,
	.sync = cpu_sync,
	.alloc_host = drop_cpu_alloc,
	.free_host = cpu_free,
	.to_device_async = cpu_copy, /* nothing runs behind the caller's back */
	.sgemm = drop_sgemm_cpu,
	.block = drop_cpu_block,
	.bf16 = drop_cpu_bf16,
	.winograd = drop_cpu_winograd,
	.release = drop_cpu_release,
	.convert = drop_convert_cpu,
	.conv2d_fwd = drop_conv2d_fwd_cpu,
	.conv2d_bwd_data = drop_conv2d_bwd_data_cpu,
	.conv2d_bwd_weights = drop_conv2d_bwd_weights_cpu,
	.linear_fwd = drop_linear_fwd_cpu,
	.linear_bwd_data = drop_linear_bwd_data_cpu,
	.linear_bwd_weights = drop_linear_bwd_weights_cpu,
	.bn_fwd_train = drop_bn_fwd_train_cpu,
	.bn_fwd_eval = drop_bn_fwd_eval_cpu,
	.bn_bwd = drop_bn_bwd_cpu,
	.bn_relu_bwd = drop_bn_relu_bwd_cpu,
	.bn_stats = drop_bn_stats_cpu,
	.bn_fwd_sync = drop_bn_fwd_sync_cpu,
	.bn_bwd_stats = drop_bn_bwd_stats_cpu,
	.bn_bwd_sync = drop_bn_bwd_sync_cpu,
	.resample_fwd = drop_resample_fwd_cpu,
	.resample_bwd = drop_resample_bwd_cpu,
	.pool_global_fwd = drop_pool_global_fwd_cpu,
	.pool_global_bwd = drop_pool_global_bwd_cpu,
	.wamp_fwd = drop_wamp_fwd_cpu,
	.wamp_bwd = drop_wamp_bwd_cpu,
	.softmax_fwd = drop_softmax_fwd_cpu,
	.softmax_bwd = drop_softmax_bwd_cpu,
	.l2norm_fwd = drop_l2norm_fwd_cpu,
	.l2norm_bwd = drop_l2norm_bwd_cpu,
	.pdist_fwd = drop_pdist_fwd_cpu,
	.pdist_bwd = drop_pdist_bwd_cpu,
	.chanmax_fwd = drop_chanmax_fwd_cpu,
	.chanmax_bwd = drop_chanmax_bwd_cpu,
	.ce_smooth = drop_ce_smooth_cpu,
	.parsing_loss = drop_parsing_loss_cpu,
	.triplet = drop_triplet_cpu,
	.adam = drop_adam_cpu,
	.rand_uniform = drop_rand_uniform_cpu,
	.rand_normal = drop_rand_normal_cpu,
	.relu = drop_relu_cpu,
	.relu_bwd = drop_relu_bwd_cpu,
	.add = drop_add_cpu,
	.scale = drop_scale_cpu,
	.maxpool_fwd = drop_maxpool_fwd_cpu,
	.maxpool_bwd = drop_maxpool_bwd_cpu,
	.axpy = drop_axpy_cpu,
	.to_bf16 = drop_to_bf16_cpu,
	.relu_bwd_bf16 = drop_relu_bwd_bf16_cpu,
	.concat = drop_concat_cpu,
	.split = drop_split_cpu,
};

const char *drop_cpu_blas_config(void)
{
	return openblas_get_config();
}

int drop_cpu_blas_set_threads(int n)
{
	int was = openblas_get_num_threads();
	openblas_set_num_threads(n);
	return was;
}

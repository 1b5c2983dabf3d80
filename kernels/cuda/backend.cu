/*
 * backend.cu - the CUDA backend table: device memory, cuBLAS products, and what the
 * registry (kernels/backend.c, through kernels/backends.h) asks of CUDA: the table once a
 * device is found, the CUDA half of the build line. Mirrors kernels/cpu/backend.c step for
 * step. The device, cuBLAS and cuDNN handles live here, in the backend's own context,
 * never in shared structs.
 * Not here: choosing a backend by name (kernels/backend.c), the ops (the other .cu files).
 */
#include "cuda.h"
#include "../backends.h"
#include "config.h"
#include "check.h"
#include "handles.h"
#include "scratch.h"

#include <stdio.h>

static cublasHandle_t cublas;
static cudnnHandle_t cudnn;
static bool tf32; /* be->set_tf32: off (strict float32) unless asked for */

/* cuBLAS's math mode, set explicitly: CUBLAS_DEFAULT_MATH multiplies float32 in float32
 * (no tensor cores, no TF32); CUBLAS_TF32_TENSOR_OP_MATH lets sgemm round its inputs to
 * TF32 (10-bit mantissa) on Ampere and later. Convolutions read the flag when they plan
 * (conv2d.cu: a plan per descriptor and mode). */
static void set_cublas_math(void)
{
	CUBLAS_CHECK(cublasSetMathMode(cublas, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH
	                                            : CUBLAS_DEFAULT_MATH));
}

/* The handles, created on first use: by drop_backend_cuda_get, or by the first op after
 * be->release gave them back (the table stays valid, as the CPU's does after its release). */
cublasHandle_t drop_cuda_cublas(void)
{
	if (!cublas) {
		CUBLAS_CHECK(cublasCreate(&cublas));
		set_cublas_math();
	}
	return cublas;
}

cudnnHandle_t drop_cuda_cudnn(void)
{
	if (!cudnn)
		CUDNN_CHECK(cudnnCreate(&cudnn));
	return cudnn;
}

bool drop_cuda_tf32(void) { return tf32; }

static void cuda_set_tf32(bool on)
{
	tf32 = on;
	drop_cuda_cublas();
	set_cublas_math();
}

/* bf16 convolutions are offered on every GPU: conv2d.cu rounds their operands to bf16 and
 * multiplies in float32 (the CPU's numbers; not yet tensor-core speed). */
static bool cuda_bf16(void) { return true; }

/* Device memory; not enough of it is no bug (a batch too large for this GPU): exit through
 * drop_oom as the CPU's allocations do. Any other failure is one (CUDA_CHECK). */
static void *device_alloc(size_t bytes)
{
	void *p = NULL;
	cudaError_t err = cudaMalloc(&p, bytes ? bytes : 1);
	if (err == cudaErrorMemoryAllocation)
		drop_oom(bytes);
	CUDA_CHECK(err);
	return p;
}

static void *cuda_alloc(size_t bytes) { return device_alloc(bytes); }
static void cuda_free(void *p) { CUDA_CHECK(cudaFree(p)); }
static void cuda_to_device(void *dst, const void *src, size_t bytes)
{
	CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
static void cuda_to_host(void *dst, const void *src, size_t bytes)
{
	CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}
static void cuda_sync(void) { CUDA_CHECK(cudaDeviceSynchronize()); }

/* Page-locked host memory: DMA reads it directly (about twice pageable memory's rate) and
 * cudaMemcpyAsync from it returns at once. Not enough of it exits as device memory does. */
static void *cuda_alloc_host(size_t bytes)
{
	void *p = NULL;
	cudaError_t err = cudaMallocHost(&p, bytes ? bytes : 1);
	if (err == cudaErrorMemoryAllocation)
		drop_oom(bytes);
	CUDA_CHECK(err);
	return p;
}
static void cuda_free_host(void *p) { CUDA_CHECK(cudaFreeHost(p)); }
/* On the default stream, as every op: ordered before the ops that follow. */
static void cuda_to_device_async(void *dst, const void *src, size_t bytes)
{
	CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, 0));
}

/* Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands. */
extern "C" void drop_sgemm_cuda(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                                const float *a, int lda, const float *b, int ldb, float beta,
                                float *c, int ldc)
{
	CUBLAS_CHECK(cublasSgemm(drop_cuda_cublas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
	                         trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b, ldb, a,
	                         lda, &beta, c, ldc));
}

static int cuda_block(void) { return 1; }

static void *scratch;
static size_t scratch_cap;

void *drop_cuda_scratch(size_t bytes)
{
	if (bytes > scratch_cap) {
		if (scratch)
			CUDA_CHECK(cudaFree(scratch));
		scratch = device_alloc(bytes);
		scratch_cap = bytes;
	}
	return scratch;
}

/* Layouts are one on CUDA (block 1): a conversion is a copy. */
extern "C" void drop_convert_cuda(const struct drop_tensor *src, struct drop_tensor *dst)
{
	if (src->n != dst->n || src->c != dst->c || src->h != dst->h || src->w != dst->w)
		DROP_BUG("convert: shapes differ");
	CUDA_CHECK(cudaMemcpyAsync(dst->data, src->data, drop_tensor_bytes(src, 1),
	                           cudaMemcpyDeviceToDevice));
}

/* Give back the plans, the scratch buffer, the handles (ops.h: until be->release()) and
 * the NCCL group; the next op creates the handles again (drop_cuda_cublas,
 * drop_cuda_cudnn), the group only a new comm_init. */
static void cuda_release(void)
{
	drop_nccl_cuda_release();
	drop_conv2d_cuda_release();
	if (scratch)
		CUDA_CHECK(cudaFree(scratch));
	scratch = NULL, scratch_cap = 0;
	if (cudnn)
		CUDNN_CHECK(cudnnDestroy(cudnn));
	if (cublas)
		CUBLAS_CHECK(cublasDestroy(cublas));
	cudnn = NULL, cublas = NULL;
}

/* Filled once by drop_backend_cuda_get (C++17 has no designated initialisers); a member
 * left NULL would be an op the CUDA backend does not have (ops.h, drop_backend_supports):
 * test_cuda_table checks that none the CPU has is. */
static struct drop_backend backend_cuda;

/* Touches no device: test_cuda_table calls it on a machine without a GPU. */
extern "C" void drop_backend_cuda_fill(struct drop_backend *b)
{
	*b = drop_backend{};
	b->name = "cuda";
	b->host_memory = false;
	b->block = cuda_block;
	b->bf16 = cuda_bf16;
	b->set_tf32 = cuda_set_tf32;
	b->alloc = cuda_alloc;
	b->free = cuda_free;
	b->to_device = cuda_to_device;
	b->to_host = cuda_to_host;
	b->sync = cuda_sync;
	b->alloc_host = cuda_alloc_host;
	b->free_host = cuda_free_host;
	b->to_device_async = cuda_to_device_async;
	b->release = cuda_release;
	b->sgemm = drop_sgemm_cuda;
	b->convert = drop_convert_cuda;
	b->conv2d_fwd = drop_conv2d_fwd_cuda;
	b->conv2d_bwd_data = drop_conv2d_bwd_data_cuda;
	b->conv2d_bwd_weights = drop_conv2d_bwd_weights_cuda;
	b->linear_fwd = drop_linear_fwd_cuda;
	b->linear_bwd_data = drop_linear_bwd_data_cuda;
	b->linear_bwd_weights = drop_linear_bwd_weights_cuda;
	b->bn_fwd_train = drop_bn_fwd_train_cuda;
	b->bn_fwd_eval = drop_bn_fwd_eval_cuda;
	b->bn_bwd = drop_bn_bwd_cuda;
	b->bn_relu_bwd = drop_bn_relu_bwd_cuda;
	b->bn_stats = drop_bn_stats_cuda;
	b->bn_fwd_sync = drop_bn_fwd_sync_cuda;
	b->bn_bwd_stats = drop_bn_bwd_stats_cuda;
	b->bn_bwd_sync = drop_bn_bwd_sync_cuda;
	b->resample_fwd = drop_resample_fwd_cuda;
	b->resample_bwd = drop_resample_bwd_cuda;
	b->pool_global_fwd = drop_pool_global_fwd_cuda;
	b->pool_global_bwd = drop_pool_global_bwd_cuda;
	b->wamp_fwd = drop_wamp_fwd_cuda;
	b->wamp_bwd = drop_wamp_bwd_cuda;
	b->softmax_fwd = drop_softmax_fwd_cuda;
	b->softmax_bwd = drop_softmax_bwd_cuda;
	b->l2norm_fwd = drop_l2norm_fwd_cuda;
	b->l2norm_bwd = drop_l2norm_bwd_cuda;
	b->pdist_fwd = drop_pdist_fwd_cuda;
	b->pdist_bwd = drop_pdist_bwd_cuda;
	b->chanmax_fwd = drop_chanmax_fwd_cuda;
	b->chanmax_bwd = drop_chanmax_bwd_cuda;
	b->ce_smooth = drop_ce_smooth_cuda;
	b->parsing_loss = drop_parsing_loss_cuda;
	b->triplet = drop_triplet_cuda;
	b->adam = drop_adam_cuda;
	b->rand_uniform = drop_rand_uniform_cuda;
	b->rand_normal = drop_rand_normal_cuda;
	b->relu = drop_relu_cuda;
	b->relu_bwd = drop_relu_bwd_cuda;
	b->add = drop_add_cuda;
	b->scale = drop_scale_cuda;
	b->axpy = drop_axpy_cuda;
	b->to_bf16 = drop_to_bf16_cuda;
	b->relu_bwd_bf16 = drop_relu_bwd_bf16_cuda;
	b->concat = drop_concat_cuda;
	b->split = drop_split_cuda;
	b->maxpool_fwd = drop_maxpool_fwd_cuda;
	b->maxpool_bwd = drop_maxpool_bwd_cuda;
	b->comm_id = drop_comm_id_cuda;
	b->comm_init = drop_comm_init_cuda;
	b->allreduce_f64 = drop_allreduce_f64_cuda;
	b->allreduce_sum = drop_allreduce_sum_cuda;
	b->allreduce_wait = drop_allreduce_wait_cuda;
}

extern "C" const struct drop_backend *drop_backend_cuda_get(int gpu, const char **why)
{
	static char buf[160];
	static int current = -1; /* the GPU this process uses, once chosen */
	int n = 0;
	cudaError_t err = cudaGetDeviceCount(&n);
	if (err != cudaSuccess || n == 0) {
		/* the runtime's own words say why (no device, no driver, a driver too old) */
		snprintf(buf, sizeof buf, "no usable GPU (CUDA: %s)",
		         err != cudaSuccess ? cudaGetErrorString(err) : "no CUDA device found");
		cudaGetLastError(); /* clear the sticky error for a later try */
		*why = buf;
		return NULL;
	}
	if (gpu >= n) {
		snprintf(buf, sizeof buf, "no GPU %d: this machine has %d (numbered from 0)", gpu, n);
		*why = buf;
		return NULL;
	}
	if (current >= 0 && current != gpu) {
		snprintf(buf, sizeof buf, "GPU %d is in use by this process; one GPU a process",
		         current);
		*why = buf;
		return NULL;
	}
	if (!backend_cuda.name) {
		CUDA_CHECK(cudaSetDevice(gpu)); /* before any handle or allocation */
		current = gpu;
		drop_cuda_cublas();
		drop_cuda_cudnn();
		drop_backend_cuda_fill(&backend_cuda);
		cuda_set_tf32(false);
	}
	return &backend_cuda;
}

extern "C" const char *drop_cuda_build_config(void)
{
	static char buf[256];
	snprintf(buf, sizeof buf,
	         "CUDA yes (%d.%d); cuDNN %d.%d.%d; NCCL %s; architectures %s",
	         CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10, CUDNN_MAJOR, CUDNN_MINOR,
	         CUDNN_PATCHLEVEL, drop_nccl_cuda_version(), DROP_CUDA_ARCH);
	return buf;
}

/*
 * backend.cu - the CUDA backend table: device memory, cuBLAS products, build description.
 * Mirrors kernels/cpu/backend.c step for step. The device, cuBLAS and cuDNN handles live
 * here, in the backend's own context, never in shared structs.
 */
extern "C" {
#include "../ops.h"
#include "config.h"
}
#include "check.h"

#include <stdio.h>

static cublasHandle_t cublas;
static cudnnHandle_t cudnn;

static void *cuda_alloc(size_t bytes)
{
	void *p = NULL;
	CUDA_CHECK(cudaMalloc(&p, bytes ? bytes : 1));
	return p;
}
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

/* Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands. */
extern "C" void drop_sgemm_cuda(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                                const float *a, int lda, const float *b, int ldb, float beta,
                                float *c, int ldc)
{
	CUBLAS_CHECK(cublasSgemm(cublas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
	                         trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b, ldb, a,
	                         lda, &beta, c, ldc));
}

static const struct drop_backend backend_cuda = {
	"cuda", cuda_alloc, cuda_free, cuda_to_device, cuda_to_host, cuda_sync, drop_sgemm_cuda,
};

extern "C" const struct drop_backend *drop_backend_cuda_get(void)
{
	int n = 0;
	if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
		drop_fail("no CUDA device found");
		return NULL;
	}
	if (!cublas) {
		CUBLAS_CHECK(cublasCreate(&cublas));
		CUDNN_CHECK(cudnnCreate(&cudnn));
	}
	return &backend_cuda;
}

extern "C" const char *drop_cuda_build_config(void)
{
	static char buf[256];
	snprintf(buf, sizeof buf, "CUDA yes (%d.%d); cuDNN %d.%d.%d; architectures %s",
	         CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10, CUDNN_MAJOR, CUDNN_MINOR,
	         CUDNN_PATCHLEVEL, DROP_CUDA_ARCH);
	return buf;
}

/*
 * check.h - one error-check macro family for CUDA, cuBLAS and cuDNN calls (ggml style): a
 * failing call is a bug (kernels/fail.h), so it aborts with the statement, its status and
 * the function, at the caller's file:line, on stderr with the program name.
 * Not here: running out of device memory, which is no bug (backend.cu's allocations exit
 * through drop_oom); NCCL's check (nccl.cu, the one file that includes <nccl.h>).
 */
#ifndef DROP_CUDA_CHECK_H
#define DROP_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "../fail.h"

#define DROP_CHECK_GEN(stmt, ok, strfn)                                                     \
	do {                                                                                \
		auto drop_check_status_ = (stmt);                                           \
		if (drop_check_status_ != (ok))                                             \
			DROP_BUG("%s failed: %s (in %s)", #stmt, strfn(drop_check_status_), \
			         __func__);                                                 \
	} while (0)

#define CUDA_CHECK(stmt) DROP_CHECK_GEN(stmt, cudaSuccess, cudaGetErrorString)
#define CUBLAS_CHECK(stmt) DROP_CHECK_GEN(stmt, CUBLAS_STATUS_SUCCESS, cublasGetStatusString)
#define CUDNN_CHECK(stmt) DROP_CHECK_GEN(stmt, CUDNN_STATUS_SUCCESS, cudnnGetErrorString)
/* After every kernel launch (llm.c launchers). */
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

#endif

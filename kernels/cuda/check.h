/*
 * check.h - one error-check macro family for CUDA, cuBLAS and cuDNN calls (ggml style):
 * the failing statement, function and file:line go to stderr with the program name.
 */
#ifndef DROP_CUDA_CHECK_H
#define DROP_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "../../lib/core/drop.h"

#define DROP_CHECK_GEN(stmt, ok, strfn)                                                     \
	do {                                                                                \
		auto drop_check_status_ = (stmt);                                           \
		if (drop_check_status_ != (ok))                                             \
			drop_die(DROP_EXIT_DATA, "%s failed: %s (in %s at %s:%d)", #stmt,  \
			         strfn(drop_check_status_), __func__, __FILE__, __LINE__);  \
	} while (0)

#define CUDA_CHECK(stmt) DROP_CHECK_GEN(stmt, cudaSuccess, cudaGetErrorString)
#define CUBLAS_CHECK(stmt) DROP_CHECK_GEN(stmt, CUBLAS_STATUS_SUCCESS, cublasGetStatusString)
#define CUDNN_CHECK(stmt) DROP_CHECK_GEN(stmt, CUDNN_STATUS_SUCCESS, cudnnGetErrorString)
/* After every kernel launch (llm.c launchers). */
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

#endif

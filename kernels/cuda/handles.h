/*
 * handles.h - the CUDA backend's library handles and modes, owned by backend.cu (the
 * backend's context; never in shared structs): the cuBLAS and cuDNN handles, both on the
 * default stream, and whether TF32 is allowed (be->set_tf32).
 */
#ifndef DROP_CUDA_HANDLES_H
#define DROP_CUDA_HANDLES_H

#include <cublas_v2.h>
#include <cudnn.h>

#ifdef __cplusplus
extern "C" {
#endif

cublasHandle_t drop_cuda_cublas(void);
cudnnHandle_t drop_cuda_cudnn(void);
/* Whether convolutions and products may use TF32 tensor cores (off unless --tf32). */
bool drop_cuda_tf32(void);

#ifdef __cplusplus
}
#endif
#endif

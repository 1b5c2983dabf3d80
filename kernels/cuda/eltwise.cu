/*
 * eltwise.cu - element-wise ops on CUDA: ReLU and its backward, add, scale, axpy, and the
 * bfloat16 copies (to_bf16, relu_bwd_bf16).
 * The translation of kernels/cpu/eltwise.c: the same arithmetic from kernels/maths/maths_ops.h,
 * one thread per element (grid-stride loop), launched on the default stream.
 */
#include "cuda.h"
#include "../maths/maths_ops.h"
#include "check.h"

static const int block_size = 256;

static unsigned grid_for(size_t n)
{
	size_t g = (n + block_size - 1) / block_size;
	return (unsigned)(g < 65535 ? (g ? g : 1) : 65535);
}

#define GRID_STRIDE(i, n) \
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); \
	     i += (size_t)blockDim.x * gridDim.x)

__global__ static void relu_kernel(size_t n, const float *x, float *y)
{
	GRID_STRIDE(i, n)
		y[i] = drop_relu_f(x[i]);
}

__global__ static void relu_bwd_kernel(size_t n, const float *y, const float *dy, float *dx)
{
	GRID_STRIDE(i, n)
		dx[i] = drop_relu_bwd_f(y[i], dy[i]);
}

__global__ static void add_kernel(size_t n, const float *a, const float *b, float *y)
{
	GRID_STRIDE(i, n)
		y[i] = a[i] + b[i];
}

__global__ static void scale_kernel(size_t n, float alpha, const float *x, float *y)
{
	GRID_STRIDE(i, n)
		y[i] = alpha * x[i];
}

__global__ static void axpy_kernel(size_t n, float alpha, const float *x, float *y)
{
	GRID_STRIDE(i, n)
		y[i] = drop_axpy_f(alpha, x[i], y[i]);
}

__global__ static void to_bf16_kernel(size_t n, const float *x, uint16_t *y)
{
	GRID_STRIDE(i, n)
		y[i] = drop_bf16_from_f(x[i]);
}

__global__ static void relu_bwd_bf16_kernel(size_t n, const uint16_t *y, const float *dy,
                                            float *dx)
{
	GRID_STRIDE(i, n)
		dx[i] = drop_relu_bwd_bf16(y[i], dy[i]);
}

extern "C" void drop_relu_cuda(size_t n, const float *x, float *y)
{
	relu_kernel<<<grid_for(n), block_size>>>(n, x, y);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_relu_bwd_cuda(size_t n, const float *y, const float *dy, float *dx)
{
	relu_bwd_kernel<<<grid_for(n), block_size>>>(n, y, dy, dx);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_add_cuda(size_t n, const float *a, const float *b, float *y)
{
	add_kernel<<<grid_for(n), block_size>>>(n, a, b, y);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_scale_cuda(size_t n, float alpha, const float *x, float *y)
{
	scale_kernel<<<grid_for(n), block_size>>>(n, alpha, x, y);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_axpy_cuda(size_t n, float alpha, const float *x, float *y)
{
	axpy_kernel<<<grid_for(n), block_size>>>(n, alpha, x, y);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_to_bf16_cuda(size_t n, const float *x, uint16_t *y)
{
	to_bf16_kernel<<<grid_for(n), block_size>>>(n, x, y);
	CUDA_CHECK_LAUNCH();
}

extern "C" void drop_relu_bwd_bf16_cuda(size_t n, const uint16_t *y, const float *dy, float *dx)
{
	relu_bwd_bf16_kernel<<<grid_for(n), block_size>>>(n, y, dy, dx);
	CUDA_CHECK_LAUNCH();
}

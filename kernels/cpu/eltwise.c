/*
 * eltwise.c - element-wise ops on the CPU: ReLU and its backward, add, scale, axpy, and the
 * bfloat16 copies of --bf16 (to_bf16, relu_bwd_bf16).
 * The arithmetic is in kernels/maths/maths_ops.h (shared with kernels/cuda/eltwise.cu); these are
 * the OpenMP loops around it. They run over whole buffers, padding included (ops.h).
 */
#include "cpu.h"
#include "../maths/maths_ops.h"
#include "par.h"

void drop_relu_cpu(size_t n, const float *x, float *y)
{
#pragma omp parallel for simd schedule(static) if (DROP_PAR(n))
	for (size_t i = 0; i < n; i++)
		y[i] = drop_relu_f(x[i]);
}

void drop_relu_bwd_cpu(size_t n, const float *y, const float *dy, float *dx)
{
#pragma omp parallel for simd schedule(static) if (DROP_PAR(n))
	for (size_t i = 0; i < n; i++)
		dx[i] = drop_relu_bwd_f(y[i], dy[i]);
}

void drop_add_cpu(size_t n, const float *a, const float *b, float *y)
{
#pragma omp parallel for simd schedule(static) if (DROP_PAR(n))
	for (size_t i = 0; i < n; i++)
		y[i] = a[i] + b[i];
}

void drop_scale_cpu(size_t n, float alpha, const float *x, float *y)
{
#pragma omp parallel for simd schedule(static) if (DROP_PAR(n))
	for (size_t i = 0; i < n; i++)
		y[i] = alpha * x[i];
}

void drop_axpy_cpu(size_t n, float alpha, const float *x, float *y)
{
#pragma omp parallel for simd schedule(static) if (DROP_PAR(n))
	for (size_t i = 0; i < n; i++)
		y[i] = drop_axpy_f(alpha, x[i], y[i]);
}

void drop_to_bf16_cpu(size_t n, const float *x, uint16_t *y)
{
#pragma omp parallel for simd schedule(static) if (DROP_PAR(n))
	for (size_t i = 0; i < n; i++)
		y[i] = drop_bf16_from_f(x[i]);
}

void drop_relu_bwd_bf16_cpu(size_t n, const uint16_t *y, const float *dy, float *dx)
{
#pragma omp parallel for simd schedule(static) if (DROP_PAR(n))
	for (size_t i = 0; i < n; i++)
		dx[i] = drop_relu_bwd_bf16(y[i], dy[i]);
}

/*
 * linear.cu - fully connected layers on CUDA: forward, backward-data and backward-weights,
 * PyTorch's Linear (y = x W^T + b). The translation of kernels/cpu/linear.c with cuBLAS
 * products (drop_sgemm_cuda: row-major, the handle's math mode strict float32 unless TF32
 * is allowed, backend.cu) and two small kernels: the bias added per row, and its gradient
 * summed per column in double in row order, one thread a column (deterministic: no
 * atomics). Weights are plain (Cout, Cin) and read in place: nothing to cache on CUDA.
 */
#include "cuda.h"
#include "check.h"
#include "launch.h"

/* y (N, Cout) += b per column. */
__global__ static void bias_rows_kernel(size_t n, int cout, const float *b, float *y)
{
	DROP_GRID_STRIDE(i, n)
		y[i] += b[i % cout];
}

/* db[j] = sum_i dy(i, j) over the N rows in order, in double. */
__global__ static void bias_cols_kernel(int n, int cout, const float *dy, float *db)
{
	int j = blockIdx.x * blockDim.x + threadIdx.x;
	if (j >= cout)
		return;
	double s = 0;
	for (int i = 0; i < n; i++)
		s += dy[(size_t)i * cout + j];
	db[j] = (float)s;
}

static void check_w(const struct drop_linear_desc *d, const struct drop_tensor *w)
{
	if (d->n < 1 || d->cin < 1 || d->cout < 1)
		DROP_BUG("linear: bad descriptor");
	if (w->n != d->cout || w->c != d->cin || w->h != 1 || w->w != 1)
		DROP_BUG("linear: weights are (%d, %d, %d, %d), expected (%d, %d)",
		         w->n, w->c, w->h, w->w, d->cout, d->cin);
}

extern "C" void drop_linear_fwd_cuda(const struct drop_linear_desc *d, const float *x,
                                     const struct drop_tensor *w, const float *b, float *y)
{
	check_w(d, w);
	if (d->bias && !b)
		DROP_BUG("linear: the descriptor has a bias but none is given");
	/* y (N, Cout) = x (N, Cin) W^T */
	drop_sgemm_cuda(false, true, d->n, d->cout, d->cin, 1.0f, x, d->cin, w->data, d->cin,
	                0.0f, y, d->cout);
	if (d->bias) {
		size_t n = (size_t)d->n * d->cout;
		bias_rows_kernel<<<drop_cuda_grid(n), DROP_CUDA_THREADS>>>(n, d->cout, b, y);
		CUDA_CHECK_LAUNCH();
	}
}

extern "C" void drop_linear_bwd_data_cuda(const struct drop_linear_desc *d, const float *dy,
                                          const struct drop_tensor *w, float *dx)
{
	check_w(d, w);
	/* dx (N, Cin) = dy (N, Cout) W */
	drop_sgemm_cuda(false, false, d->n, d->cin, d->cout, 1.0f, dy, d->cout, w->data, d->cin,
	                0.0f, dx, d->cin);
}

extern "C" void drop_linear_bwd_weights_cuda(const struct drop_linear_desc *d, const float *x,
                                             const float *dy, float *dw, float *db)
{
	if (d->n < 1 || d->cin < 1 || d->cout < 1)
		DROP_BUG("linear: bad descriptor");
	if (d->bias && !db)
		DROP_BUG("linear: the descriptor has a bias but no gradient for it");
	/* dw (Cout, Cin) = dy^T (Cout, N) x (N, Cin) */
	drop_sgemm_cuda(true, false, d->cout, d->cin, d->n, 1.0f, dy, d->cout, x, d->cin, 0.0f,
	                dw, d->cin);
	if (d->bias) {
		bias_cols_kernel<<<(d->cout + 127) / 128, 128>>>(d->n, d->cout, dy, db);
		CUDA_CHECK_LAUNCH();
	}
}

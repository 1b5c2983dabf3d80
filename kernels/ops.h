/*
 * ops.h - the compute backends behind one interface (ggml's backend table, llm.c's pairs).
 *
 * A struct drop_backend holds one function pointer per operation plus memory handling.
 * The CPU backend (kernels/cpu/) is the reference every test runs; the CUDA backend
 * (kernels/cuda/, built with `make CUDA=1`) implements the same entry points with the
 * same names and a _cuda suffix, steps in the same order. A tool picks its backend once
 * (drop_backend_get from --device); model code never asks which one it has.
 * No CUDA header is included here: the CPU build never sees one.
 *
 * This file holds what the retrieval tools need today (matrix products); the compute
 * core (convolutions, batch norm, pooling, losses, Adam) joins it member by member.
 */
#ifndef DROP_OPS_H
#define DROP_OPS_H

#include <stdbool.h>
#include <stddef.h>

struct drop_backend {
	const char *name; /* "cpu" or "cuda" */

	/* Memory the backend's ops read and write (host memory for the CPU). */
	void *(*alloc)(size_t bytes);
	void (*free)(void *p);
	void (*to_device)(void *dst, const void *src, size_t bytes);   /* host -> backend */
	void (*to_host)(void *dst, const void *src, size_t bytes);     /* backend -> host */
	void (*sync)(void);

	/* C (m, n) = alpha * op(A) op(B) + beta * C, row-major; op transposes when trans_*.
	 * A is (m, k) or (k, m) with leading dimension lda; B is (k, n) or (n, k). */
	void (*sgemm)(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
	              const float *a, int lda, const float *b, int ldb, float beta, float *c,
	              int ldc);
};

extern const struct drop_backend drop_backend_cpu;

/* The backend called `name`, or NULL with drop_errmsg() saying why (not built, no GPU). */
const struct drop_backend *drop_backend_get(const char *name);
/* Whether drop_backend_get(name) would succeed. */
bool drop_backend_available(const char *name);
/* Limit the threads of the CPU BLAS (OpenBLAS keeps its own pool, apart from OpenMP). */
void drop_blas_set_threads(int n);
/* One line describing the build: CUDA/cuDNN versions and architectures, BLAS, OpenMP. */
const char *drop_build_config(void);

/* CPU entry points (kernels/cpu/). */
void drop_sgemm_cpu(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                    const float *a, int lda, const float *b, int ldb, float beta, float *c,
                    int ldc);

/* CUDA entry points (kernels/cuda/), present when DROP_WITH_CUDA. */
struct drop_backend;
const struct drop_backend *drop_backend_cuda_get(void); /* NULL + message if no GPU */
const char *drop_cuda_build_config(void);

#endif

/*
 * backend.c - the CPU backend table: host memory, OpenBLAS products, build description.
 */
#include "../ops.h"
#include "config.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/drop.h"

/* OpenBLAS's own threading control (Debian's libopenblas0-pthread). */
extern void openblas_set_num_threads(int n);
extern char *openblas_get_config(void);

static void *cpu_alloc(size_t bytes) { return xmalloc(bytes); }
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
	.alloc = cpu_alloc,
	.free = cpu_free,
	.to_device = cpu_copy,
	.to_host = cpu_copy,
	.sync = cpu_sync,
	.sgemm = drop_sgemm_cpu,
};

const struct drop_backend *drop_backend_get(const char *name)
{
	if (!strcmp(name, "cpu"))
		return &drop_backend_cpu;
	if (!strcmp(name, "cuda")) {
#if DROP_WITH_CUDA
		return drop_backend_cuda_get();
#else
		drop_fail("this build has no CUDA support (rebuild with 'make CUDA=1')");
		return NULL;
#endif
	}
	drop_fail("unknown device '%s'", name);
	return NULL;
}

bool drop_backend_available(const char *name)
{
	return drop_backend_get(name) != NULL;
}

void drop_blas_set_threads(int n)
{
	openblas_set_num_threads(n);
}

const char *drop_build_config(void)
{
	static char buf[512];
	const char *cuda = "CUDA no";
#if DROP_WITH_CUDA
	cuda = drop_cuda_build_config();
#endif
	snprintf(buf, sizeof buf, "%s; BLAS %s; OpenMP %s; compiler %s", cuda,
	         openblas_get_config(),
#ifdef _OPENMP
	         "yes",
#else
	         "no",
#endif
	         __VERSION__);
	return buf;
}

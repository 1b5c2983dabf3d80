/*
 * backend.c - the registry (ops.h, "The registry"): which backends this build has, the one
 * a name asks for and why it cannot be had, the CPU BLAS's thread count, and the line that
 * describes the build. Backend-neutral: it knows each backend only by what it hands over
 * in kernels/backends.h.
 * Not here: any backend's table or op (kernels/cpu/backend.c, kernels/strict/ops.c,
 * kernels/cuda/backend.cu), or what a tool does when a device is missing (lib/run/cli.c
 * prints the reason and exits 3).
 */
#include "backends.h"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int drop_device_gpu(const char *name)
{
	if (!strcmp(name, "cuda"))
		return 0;
	const char *n = name + 5;
	if (strncmp(name, "cuda:", 5) || !*n || strlen(n) > 4 || strspn(n, "0123456789") != strlen(n))
		return -1;
	return atoi(n);
}

const struct drop_backend *drop_backend_get(const char *name, const char **why)
{
	const char *reason;
	if (!strcmp(name, "cpu"))
		return &drop_backend_cpu;
	if (!strcmp(name, "cpu-strict"))
		return drop_backend_strict_get();
	int gpu = drop_device_gpu(name);
	if (gpu >= 0) {
#if DROP_WITH_CUDA
		const struct drop_backend *be = drop_backend_cuda_get(gpu, &reason);
		if (be)
			return be;
#else
		reason = "this build has no CUDA support (rebuild with 'make CUDA=1')";
#endif
	} else {
		/* Per thread, as lib/'s error messages: valid until this thread's next call. */
		static _Thread_local char unknown[96];
		snprintf(unknown, sizeof unknown, "unknown device '%s'", name);
		reason = unknown;
	}
	if (why)
		*why = reason;
	return NULL;
}

bool drop_backend_available(const char *name, const char **why)
{
	return drop_backend_get(name, why) != NULL;
}

int drop_blas_set_threads(int n)
{
	return drop_cpu_blas_set_threads(n);
}

const char *drop_build_config(void)
{
	static char buf[512];
	const char *cuda = "CUDA no";
#if DROP_WITH_CUDA
	cuda = drop_cuda_build_config();
#endif
	/* The vector width the C loops were compiled for (the Makefile's ARCH). */
	const char *loops =
#if defined(__AVX512F__)
	        "AVX-512";
#elif defined(__AVX2__)
	        "AVX2";
#elif defined(__AVX__)
	        "AVX";
#else
	        "SSE2";
#endif
	snprintf(buf, sizeof buf, "%s; BLAS %s; OpenMP %s; C loops %s; compiler %s", cuda,
	         drop_cpu_blas_config(),
#ifdef _OPENMP
	         "yes",
#else
	         "no",
#endif
	         loops, __VERSION__);
	return buf;
}

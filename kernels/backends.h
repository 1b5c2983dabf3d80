/*
 * backends.h - what each backend hands the registry (kernels/backend.c): internal to
 * kernels/. lib/ and cmd/ never include it; they reach a backend through drop_backend_get
 * (ops.h) and its table alone.
 * Not here: any op (a backend's ops are its table's members, declared in its private header,
 * kernels/cpu/cpu.h or kernels/cuda/cuda.h).
 */
#ifndef DROP_BACKENDS_H
#define DROP_BACKENDS_H

#include "ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- The CPU backend (kernels/cpu/backend.c; its table is drop_backend_cpu, ops.h) ---- */

/* The CPU BLAS as it describes its own build (OpenBLAS: version, kernel, threading). */
const char *drop_cpu_blas_config(void);
/* Set the threads of the CPU BLAS's own pool (OpenBLAS keeps one apart from OpenMP's);
 * returns the count it had. */
int drop_cpu_blas_set_threads(int n);

/* ---- The checked CPU backend (kernels/strict/), always built ------------------------- */

/* The "cpu-strict" table: the CPU ops behind a device's discipline (kernels/strict/ops.c);
 * its memory and fault handler are set up on the first call. */
const struct drop_backend *drop_backend_strict_get(void);

/* ---- The CUDA backend (kernels/cuda/backend.cu), linked only when DROP_WITH_CUDA ------ */

/* The CUDA table on GPU `gpu` (CUDA's numbering), its handles created on the first call
 * that finds the device; or NULL with *why (never NULL itself) set to a static one-line
 * reason ("no usable GPU (CUDA: ...)", "no GPU N: ...", "GPU M is in use ..."). A process
 * uses one GPU: the first successful call fixes it. */
const struct drop_backend *drop_backend_cuda_get(int gpu, const char **why);
/* Fill *b with the CUDA table without touching a device (test_cuda_table compares it with
 * the CPU's on a machine without a GPU); drop_backend_cuda_get hands out the table filled
 * so, once it has its handles. */
void drop_backend_cuda_fill(struct drop_backend *b);
/* "CUDA yes (VERSION); cuDNN VERSION; architectures LIST": the CUDA half of the build line. */
const char *drop_cuda_build_config(void);

#ifdef __cplusplus
}
#endif
#endif

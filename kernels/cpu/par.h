/*
 * par.h - when the CPU loops fork threads. An OpenMP fork/join costs microseconds on an
 * idle machine but a scheduler slice (4-8 ms) when another process holds a core
 * (measured with scripts/bench-ops on a shared 2-core machine), which made the small ops of HRNet's low-resolution
 * branches (batch norm at 8x4, softmax over 9 channels, nearest x2 of 32 channels) many
 * times slower than their arithmetic. A loop with less than DROP_PAR_MIN elements of work
 * runs on the calling thread: `#pragma omp parallel for ... if (DROP_PAR(work))`. The
 * loops' results do not depend on the thread count (ops.h, "Threads and determinism"), so
 * this changes only their timing.
 */
#ifndef DROP_CPU_PAR_H
#define DROP_CPU_PAR_H

#include <stddef.h>

#define DROP_PAR_MIN ((size_t)1 << 16)
#define DROP_PAR(work) ((size_t)(work) >= DROP_PAR_MIN)

#endif

/*
 * pdist.c - pairwise Euclidean distances between two sets of rows (torch.cdist with p = 2),
 * forward and backward, on the CPU. The loops are in pdist_impl.h, compiled here for float
 * (the backend op) and double (drop_pdist_*_cpu_f64, the finite-difference reference).
 * drop-match has its own blocked GEMM form for 10^4 x 10^4 galleries (lib/reid/match.c); the
 * triplet losses their own visibility-masked one (kernels/maths/triplet_maths.h).
 */
#include "cpu.h"
#include "../maths/maths_ops.h"
#include "par.h"

#include <math.h>
#include <stdlib.h>

#include "../fail.h"

#define REAL float
#define PD_NAME(x) drop_##x##_cpu
#include "pdist_impl.h"
#undef REAL
#undef PD_NAME
#undef PD_LANES
#undef PD_ROWS

#define REAL double
#define PD_NAME(x) drop_##x##_cpu_f64
#include "pdist_impl.h"
#undef REAL
#undef PD_NAME
#undef PD_LANES
#undef PD_ROWS

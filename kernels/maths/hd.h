/*
 * hd.h - DROP_HD, the one mark of the per-element maths both backends compile
 * (kernels/maths/: maths.h, maths_ops.h, loss_maths.h, triplet_maths.h, l2norm_row.h):
 * __host__ __device__ under nvcc, nothing under gcc.
 */
#ifndef DROP_HD_H
#define DROP_HD_H

#ifdef __CUDACC__
#define DROP_HD __host__ __device__
#else
#define DROP_HD
#endif

#endif

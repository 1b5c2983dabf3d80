/*
 * backend_members.h - the function-pointer members of struct drop_backend (ops.h), in
 * declaration order, as one X-macro list: the one place the tests that compare tables
 * member by member take the names from. backend_members_complete() checks that the list
 * still covers the struct, so a member added to ops.h and not here fails those tests.
 * Left out: winograd, a capability query before alloc that only the CPU answers (oneDNN's
 * Winograd kernels; CUDA leaves it NULL, so DROP_CONV_AUTO is cuDNN's choice there).
 * CUDA only: comm_id, comm_init, allreduce_f64, allreduce_sum, allreduce_wait (NCCL
 * sums of device memory between GPU ranks); the CPU leaves them NULL, as its ranks sum host memory over MPI
 * (lib/core/ranks.h), so a test that checks the members the CPU fills does not ask for
 * them.
 */
#ifndef DROP_TEST_BACKEND_MEMBERS_H
#define DROP_TEST_BACKEND_MEMBERS_H

#include <stddef.h>

#include "../../kernels/ops.h"

#define DROP_BACKEND_MEMBERS(X)                                                             \
	X(block) X(bf16) X(alloc) X(free) X(to_device) X(to_host) X(sync) X(alloc_host)      \
	X(free_host) X(to_device_async) X(release)                                           \
	X(set_tf32) X(sgemm) X(convert) X(conv2d_fwd) X(conv2d_bwd_data)                     \
	X(conv2d_bwd_weights) X(linear_fwd) X(linear_bwd_data) X(linear_bwd_weights)         \
	X(bn_fwd_train) X(bn_fwd_eval) X(bn_bwd) X(bn_relu_bwd) X(bn_stats) X(bn_fwd_sync)   \
	X(bn_bwd_stats) X(bn_bwd_sync) X(resample_fwd) X(resample_bwd) X(pool_global_fwd)    \
	X(pool_global_bwd) X(wamp_fwd) X(wamp_bwd)                                          \
	X(softmax_fwd) X(softmax_bwd) X(l2norm_fwd) X(l2norm_bwd) X(pdist_fwd) X(pdist_bwd)  \
	X(chanmax_fwd) X(chanmax_bwd) X(ce_smooth) X(parsing_loss) X(triplet) X(adam)        \
	X(rand_uniform) X(rand_normal) X(relu) X(relu_bwd) X(add) X(scale) X(axpy)           \
	X(to_bf16) X(relu_bwd_bf16) X(concat) X(split) X(maxpool_fwd) X(maxpool_bwd)       \
	X(comm_id) X(comm_init) X(allreduce_f64) X(allreduce_sum) X(allreduce_wait)

/* Whether the list names every function pointer from alloc to the struct's end (the
 * members there are all function pointers, each the size of a data pointer) and block
 * and bf16 before them. */
static inline int backend_members_complete(void)
{
	size_t listed = 0;
#define DROP_COUNT_MEMBER(m) listed += offsetof(struct drop_backend, m) >= \
	offsetof(struct drop_backend, alloc);
	DROP_BACKEND_MEMBERS(DROP_COUNT_MEMBER)
#undef DROP_COUNT_MEMBER
	size_t slots = (sizeof(struct drop_backend) - offsetof(struct drop_backend, alloc)) /
	               sizeof(void (*)(void));
	return listed == slots;
}

#endif

/*
 * test_cuda_table.c - the CUDA backend's table has every member the CPU's has: each
 * function-pointer member of struct drop_backend (test/unit/backend_members.h, checked to
 * cover the struct), compared by name between drop_backend_cpu and the table
 * drop_backend_cuda_fill builds. The fill touches no device, so this runs on any machine
 * with a CUDA build (CI compiles one without a GPU); a CPU-only build skips it.
 * also requires: a build with CUDA=1 for anything but the skip
 */
#include "config.h"
#include "backend_members.h"
#include "tap.h"

#include <string.h>

#include "../../kernels/backends.h"

#if DROP_WITH_CUDA

int main(void)
{
	struct drop_backend cuda;
	memset(&cuda, 0xa5, sizeof cuda); /* the fill must set every member, NULL included */
	drop_backend_cuda_fill(&cuda);
	const struct drop_backend *cpu = &drop_backend_cpu;
	CHECK(backend_members_complete(), "the member list covers struct drop_backend");
	CHECK(!strcmp(cuda.name, "cuda") && !cuda.host_memory, "cuda: its name, device memory");
	int members = 0, missing = 0;
#define CMP(m)                                                                              \
	do {                                                                                \
		members++;                                                                  \
		if (cpu->m && !cuda.m) {                                                    \
			missing++;                                                          \
			printf("#   %s: the CPU has it, CUDA does not\n", #m);                  \
		}                                                                           \
	} while (0);
	DROP_BACKEND_MEMBERS(CMP)
#undef CMP
	CHECK(missing == 0, "cuda fills each of the %d members the CPU fills (%d missing)",
	      members, missing);
	CHECK(cuda.set_tf32 != NULL && cpu->set_tf32 == NULL,
	      "set_tf32: on CUDA only (--tf32 is a GPU option)");
	CHECK(cuda.comm_id && cuda.comm_init && cuda.allreduce_f64 && cuda.allreduce_sum &&
	      cuda.allreduce_wait && !cpu->comm_id && !cpu->comm_init && !cpu->allreduce_f64 &&
	      !cpu->allreduce_sum && !cpu->allreduce_wait,
	      "comm_id, comm_init, allreduce_f64, allreduce_sum, allreduce_wait: on CUDA only "
	      "(NCCL; CPU ranks use MPI)");
	return tap_done();
}

#else

int main(void)
{
	CHECK(1, "# SKIP this build has no CUDA backend (make CUDA=1)");
	return tap_done();
}

#endif

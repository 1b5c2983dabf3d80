/*
 * nccl.cu - sums over several processes on device memory (ops.h: comm_id, comm_init,
 * allreduce_f64, allreduce_sum, allreduce_wait), through NCCL: the batch-norm sums
 * (--sync-bn) and the gradients of drop-train's GPU ranks (doc/scale-out.md, GPU
 * ranks). One communicator a process, in this file's own context like backend.cu's
 * handles; all sums go through it, on one stream of their own, so they run one after
 * another in the order asked for on every process (NCCL promises no progress to two of a
 * communicator's operations running at once). The stream is non-blocking: it does not
 * take part in the legacy default stream's implicit synchronisation, which would
 * serialise it with the ops. Each sum waits on an event recorded on the default stream,
 * where every op runs, when it is asked for (it follows the kernels that wrote its
 * values). Batch norm's sums (allreduce_f64) make the default stream wait for them, since
 * the next op reads them; the gradients' (allreduce_sum) run beside the backward kernels
 * of earlier layers, and allreduce_wait makes the default stream wait for all of them
 * (the Adam step follows). None blocks the host.
 * The one file that includes <nccl.h> (test/01-layers.bats).
 * Not here: how the id travels between processes (lib/ sends it over MPI: kernels/ knows
 * no transport), the group's release (backend.cu's cuda_release calls
 * drop_nccl_cuda_release).
 */
#include "cuda.h"
#include "check.h"

#include <nccl.h>
#include <stdio.h>
#include <string.h>

/* check.h's family for NCCL: a failing call is a bug. */
#define NCCL_CHECK(stmt) DROP_CHECK_GEN(stmt, ncclSuccess, ncclGetErrorString)

static_assert(DROP_COMM_ID_BYTES == NCCL_UNIQUE_ID_BYTES, "ops.h's id is NCCL's");

static ncclComm_t comm;           /* NULL until comm_init */
static cudaStream_t sums;         /* the sums' stream, with the group */
static cudaEvent_t written, summed; /* on the default stream / on sums */

extern "C" void drop_comm_id_cuda(void *id)
{
	ncclUniqueId u;
	NCCL_CHECK(ncclGetUniqueId(&u));
	memcpy(id, &u, sizeof u);
}

/* A group that cannot form is no bug (no route between the machines, a peer gone): say
 * why, and the caller ends the job. */
extern "C" const char *drop_comm_init_cuda(const void *id, int rank, int n)
{
	static char why[200];
	DROP_ASSERT(n >= 1 && rank >= 0 && rank < n, "comm_init: rank %d of %d", rank, n);
	drop_nccl_cuda_release();
	ncclUniqueId u;
	memcpy(&u, id, sizeof u);
	ncclResult_t r = ncclCommInitRank(&comm, n, u, rank);
	if (r != ncclSuccess) {
		comm = NULL;
		snprintf(why, sizeof why, "NCCL cannot join rank %d of %d: %s", rank, n,
		         ncclGetErrorString(r));
		return why;
	}
	CUDA_CHECK(cudaStreamCreateWithFlags(&sums, cudaStreamNonBlocking));
	CUDA_CHECK(cudaEventCreateWithFlags(&written, cudaEventDisableTiming));
	CUDA_CHECK(cudaEventCreateWithFlags(&summed, cudaEventDisableTiming));
	return NULL;
}

/* Start summing v[0..n) of type t in place (NCCL allows send == receive buffer) on the
 * sums' stream, once the default stream's work so far is done. */
static void start_sum(void *v, size_t n, ncclDataType_t t, const char *op)
{
	DROP_ASSERT(comm, "%s: no group (comm_init first)", op);
	CUDA_CHECK(cudaEventRecord(written, 0));
	CUDA_CHECK(cudaStreamWaitEvent(sums, written, 0));
	NCCL_CHECK(ncclAllReduce(v, v, n, t, ncclSum, comm, sums));
}

/* The default stream waits for the sums started so far. */
static void wait_sums(void)
{
	CUDA_CHECK(cudaEventRecord(summed, sums));
	CUDA_CHECK(cudaStreamWaitEvent(0, summed, 0));
}

/* After the gradient buckets started before it; the next op reads the sums. */
extern "C" void drop_allreduce_f64_cuda(double *v, size_t n)
{
	if (!n)
		return;
	start_sum(v, n, ncclFloat64, "allreduce_f64");
	wait_sums();
}

extern "C" void drop_allreduce_sum_cuda(float *v, size_t n)
{
	if (n)
		start_sum(v, n, ncclFloat, "allreduce_sum");
}

extern "C" void drop_allreduce_wait_cuda(void)
{
	DROP_ASSERT(comm, "allreduce_wait: no group (comm_init first)");
	wait_sums();
}

extern "C" void drop_nccl_cuda_release(void)
{
	if (!comm)
		return;
	CUDA_CHECK(cudaStreamSynchronize(sums));
	NCCL_CHECK(ncclCommDestroy(comm));
	CUDA_CHECK(cudaEventDestroy(written));
	CUDA_CHECK(cudaEventDestroy(summed));
	CUDA_CHECK(cudaStreamDestroy(sums));
	comm = NULL;
}

extern "C" const char *drop_nccl_cuda_version(void)
{
	static char buf[32];
	snprintf(buf, sizeof buf, "%d.%d.%d", NCCL_MAJOR, NCCL_MINOR, NCCL_PATCH);
	return buf;
}

/*
 * ranks.c - the processes of one job over MPI (see ranks.h). The only file that includes
 * <mpi.h>. Collectives work on MPI_COMM_WORLD; sizes above INT_MAX go in pieces.
 */
#include "ranks.h"
#include "drop.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

static bool started, mpi_on;
static int me = 0, size = 1, local = 0;
static const char *launcher;
/* The sums started by drop_ranks_iallreduce_f32 and not yet waited for. */
static MPI_Request *pending;
static int npending, cappending;

/* The pieces big transfers are cut into (bytes, or elements for the reductions). */
#define PIECE ((size_t)1 << 30)

/* The variable that says a launcher started us, or NULL. */
static const char *detect(void)
{
	static const char *const vars[] = { "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE",
	                                    NULL };
	for (int i = 0; vars[i]; i++)
		if (getenv(vars[i]))
			return vars[i];
	/* srun: a step of several tasks (an sbatch script alone is one task, no launcher). */
	const char *n = getenv("SLURM_STEP_NUM_TASKS");
	if (n && atoi(n) > 1 && getenv("SLURM_PROCID"))
		return "SLURM_STEP_NUM_TASKS";
	return NULL;
}

static void finalize(void)
{
	free(pending);
	pending = NULL;
	int done = 0;
	MPI_Finalized(&done);
	if (!done)
		MPI_Finalize();
}

/* drop_die's hook: the whole job ends with the failing rank's status. */
static void abort_job(int status)
{
	MPI_Abort(MPI_COMM_WORLD, status);
}

void drop_ranks_init(void)
{
	if (started)
		return;
	started = true;
	launcher = detect();
	if (!launcher)
		return;
	int provided;
	MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
	mpi_on = true;
	MPI_Comm_rank(MPI_COMM_WORLD, &me);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Comm node; /* the ranks that share this machine: this one's place among them */
	MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, me, MPI_INFO_NULL, &node);
	MPI_Comm_rank(node, &local);
	MPI_Comm_free(&node);
	atexit(finalize);
	if (size > 1) {
		static char name[256];
		snprintf(name, sizeof name, "%s: rank %d", drop_progname, me);
		drop_progname = name;
		drop_die_hook = abort_job;
	}
	drop_debug("MPI: rank %d of %d (launcher: %s)", me, size, launcher);
}

int drop_rank(void)
{
	return me;
}

int drop_nranks(void)
{
	return size;
}

int drop_local_rank(void)
{
	return local;
}

bool drop_ranks_mpi(void)
{
	return mpi_on;
}

const char *drop_ranks_launcher(void)
{
	return launcher;
}

static void allreduce(void *v, size_t n, size_t elem, MPI_Datatype t)
{
	if (size == 1)
		return;
	for (size_t i = 0; i < n; i += PIECE / elem) {
		size_t k = n - i < PIECE / elem ? n - i : PIECE / elem;
		MPI_Allreduce(MPI_IN_PLACE, (char *)v + i * elem, (int)k, t, MPI_SUM, MPI_COMM_WORLD);
	}
}

void drop_ranks_allreduce_f32(float *v, size_t n)
{
	allreduce(v, n, sizeof *v, MPI_FLOAT);
}

void drop_ranks_allreduce_f64(double *v, size_t n)
{
	allreduce(v, n, sizeof *v, MPI_DOUBLE);
}

void drop_ranks_iallreduce_f32(float *v, size_t n)
{
	if (size == 1)
		return;
	for (size_t i = 0; i < n; i += PIECE / sizeof *v) {
		size_t k = n - i < PIECE / sizeof *v ? n - i : PIECE / sizeof *v;
		if (npending == cappending) {
			cappending = cappending ? 2 * cappending : 16;
			pending = drop_realloc(pending, (size_t)cappending * sizeof *pending);
		}
		MPI_Iallreduce(MPI_IN_PLACE, v + i, (int)k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
		               &pending[npending++]);
	}
}

void drop_ranks_progress(void)
{
	int done;
	if (npending)
		MPI_Testall(npending, pending, &done, MPI_STATUSES_IGNORE);
}

void drop_ranks_wait(void)
{
	if (npending)
		MPI_Waitall(npending, pending, MPI_STATUSES_IGNORE);
	npending = 0;
}

/* A contiguous type of `bytes` bytes, so counts stay 1 whatever the size. */
static MPI_Datatype block_type(size_t bytes)
{
	MPI_Datatype piece, t;
	size_t whole = bytes / PIECE, rest = bytes % PIECE;
	DROP_ASSERT(whole < INT_MAX, "%zu bytes in one transfer", bytes);
	if (!whole) {
		MPI_Type_contiguous((int)rest, MPI_BYTE, &t);
	} else {
		/* whole pieces, then the rest, as one struct type */
		MPI_Type_contiguous((int)PIECE, MPI_BYTE, &piece);
		int len[2] = { (int)whole, (int)rest };
		MPI_Aint at[2] = { 0, (MPI_Aint)(whole * PIECE) };
		MPI_Datatype ty[2] = { piece, MPI_BYTE };
		MPI_Type_create_struct(rest ? 2 : 1, len, at, ty, &t);
		MPI_Type_free(&piece);
	}
	MPI_Type_commit(&t);
	return t;
}

void drop_ranks_allgather(const void *mine, void *all, size_t bytes)
{
	if (size == 1 || !bytes) {
		if (bytes && all != mine)
			memmove(all, mine, bytes);
		return;
	}
	MPI_Datatype t = block_type(bytes);
	MPI_Allgather(mine, 1, t, all, 1, t, MPI_COMM_WORLD);
	MPI_Type_free(&t);
}

void drop_ranks_gather0(const void *mine, void *all, size_t bytes)
{
	if (size == 1 || !bytes) {
		if (bytes && all != mine)
			memmove(all, mine, bytes);
		return;
	}
	MPI_Datatype t = block_type(bytes);
	MPI_Gather(mine, 1, t, all, 1, t, 0, MPI_COMM_WORLD);
	MPI_Type_free(&t);
}

void drop_ranks_bcast(void *buf, size_t bytes, int root)
{
	if (size == 1 || !bytes)
		return;
	MPI_Datatype t = block_type(bytes);
	MPI_Bcast(buf, 1, t, root, MPI_COMM_WORLD);
	MPI_Type_free(&t);
}

void drop_ranks_send(int to, const void *buf, size_t bytes)
{
	DROP_ASSERT(to >= 0 && to < size && to != me, "send to rank %d of %d from %d", to, size, me);
	for (size_t i = 0; i < bytes; i += PIECE) {
		size_t k = bytes - i < PIECE ? bytes - i : PIECE;
		MPI_Send((const char *)buf + i, (int)k, MPI_BYTE, to, 0, MPI_COMM_WORLD);
	}
}

void drop_ranks_recv(int from, void *buf, size_t bytes)
{
	DROP_ASSERT(from >= 0 && from < size && from != me, "receive from rank %d of %d on %d", from, size, me);
	for (size_t i = 0; i < bytes; i += PIECE) {
		size_t k = bytes - i < PIECE ? bytes - i : PIECE;
		MPI_Recv((char *)buf + i, (int)k, MPI_BYTE, from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
	}
}

void drop_ranks_barrier(void)
{
	if (size > 1)
		MPI_Barrier(MPI_COMM_WORLD);
}

void drop_ranks_abort(int status)
{
	if (mpi_on && size > 1)
		MPI_Abort(MPI_COMM_WORLD, status);
	exit(status);
}

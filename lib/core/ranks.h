/*
 * ranks.h - the processes of one job: which one this is, how many there are, and the few
 * collective operations the tools need between them (drop(7), MULTIPLE PROCESSES).
 *
 * A tool started by an MPI launcher (mpirun, or srun under Slurm) is one rank of a job; a
 * tool started alone is rank 0 of 1. drop_ranks_init tells the two apart from the
 * environment before it touches MPI, so a lone tool never initialises MPI (no start-up
 * cost, no MPI messages) and every operation below is then a local copy or nothing. The
 * launcher variables, any of which means "launched":
 *   OMPI_COMM_WORLD_SIZE (Open MPI's mpirun), PMIX_RANK (any PMIx launcher), PMI_SIZE
 *   (MPICH's Hydra, srun --mpi=pmi2), SLURM_STEP_NUM_TASKS > 1 with SLURM_PROCID (srun).
 *
 * Every operation is collective over all ranks (each calls it in the same order) except
 * send and recv. They are blocking, on the calling thread (the tools call them from their
 * main thread only), with MPI's fatal error handler: a failed transfer ends the job.
 * Messages of more than 2^31 - 1 bytes are split.
 *
 * Under a launcher with more than one rank, drop_progname becomes "drop-x: rank R", so each
 * message names its rank, and drop_die ends the whole job (MPI_Abort with its status), so
 * a rank that fails never leaves the others waiting.
 *
 * Only ranks.c includes <mpi.h>; nothing of kernels/ knows of ranks.
 */
#ifndef DROP_RANKS_H
#define DROP_RANKS_H

#include <stdbool.h>
#include <stddef.h>

/* Detect a launcher, and under one initialise MPI (finalised at exit). Idempotent. */
void drop_ranks_init(void);
/* This process's rank, 0..drop_nranks() - 1 (0 when alone or before init). */
int drop_rank(void);
/* The number of ranks (1 when alone or before init). */
int drop_nranks(void);
/* This rank's place among the ranks on its machine, from 0 (0 when alone or before init):
 * the GPU a rank takes by default (lib/run/cli.c). */
int drop_local_rank(void);
/* Whether MPI was initialised (a launcher was detected). */
bool drop_ranks_mpi(void);
/* The environment variable the launcher was detected by, or NULL when alone. */
const char *drop_ranks_launcher(void);

/* Sum v[0..n) over the ranks, in place, the same result on every rank. */
void drop_ranks_allreduce_f32(float *v, size_t n);
void drop_ranks_allreduce_f64(double *v, size_t n);
/* The same started now and finished by drop_ranks_wait, which must come before v is read
 * or written again: the caller computes meanwhile (drop-train's gradient buckets,
 * doc/scale-out.md). MPI moves a started sum on only inside MPI calls: drop_ranks_progress,
 * between pieces of the caller's work, lets it. Collective, in the same order on every
 * rank with the other collectives. */
void drop_ranks_iallreduce_f32(float *v, size_t n);
void drop_ranks_progress(void);
void drop_ranks_wait(void);
/* all[r * bytes ..] = rank r's mine[0..bytes) on every rank (all: nranks * bytes). */
void drop_ranks_allgather(const void *mine, void *all, size_t bytes);
/* The same on rank 0 only; all is unused elsewhere (may be NULL). */
void drop_ranks_gather0(const void *mine, void *all, size_t bytes);
/* root's buf[0..bytes) to every rank. */
void drop_ranks_bcast(void *buf, size_t bytes, int root);
/* Point to point: bytes from this rank to rank `to`, received in order. */
void drop_ranks_send(int to, const void *buf, size_t bytes);
void drop_ranks_recv(int from, void *buf, size_t bytes);
void drop_ranks_barrier(void);
/* End the whole job with `status` (exit(status) when alone). */
_Noreturn void drop_ranks_abort(int status);

#endif

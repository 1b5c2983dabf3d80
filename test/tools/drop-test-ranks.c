/*
 * drop-test-ranks - the ranks layer (lib/core/ranks.h) under a launcher or alone, for
 * test/15-ranks.bats (not installed).
 *
 *   drop-test-ranks            one line per rank, in rank order, from rank 0:
 *                              "rank R size S local L mpi yes|no launcher VAR|-"
 *                              then each collective checked against its known result
 *                              ("allreduce_f32 ok", ...); exit 1 naming the first wrong one
 *   drop-test-ranks die R      rank R dies (drop_die, status 1) after one barrier; the
 *                              others wait in a second barrier, to be ended by the job
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/core/drop.h"
#include "../../lib/core/ranks.h"

static int bad(const char *what)
{
	fprintf(stderr, "drop-test-ranks: rank %d: %s wrong\n", drop_rank(), what);
	return 1;
}

int main(int argc, char **argv)
{
	drop_progname = "drop-test-ranks";
	drop_ranks_init();
	int me = drop_rank(), n = drop_nranks();
	if (argc == 3 && !strcmp(argv[1], "die")) {
		drop_ranks_barrier();
		if (me == atoi(argv[2]))
			drop_die(1, "dying on purpose");
		drop_ranks_barrier();
		return 0;
	}

	/* who is who, printed by rank 0 in rank order */
	char line[128];
	memset(line, 0, sizeof line);
	snprintf(line, sizeof line, "rank %d size %d local %d mpi %s launcher %s", me, n,
	         drop_local_rank(), drop_ranks_mpi() ? "yes" : "no",
	         drop_ranks_launcher() ? drop_ranks_launcher() : "-");
	char *all = malloc(sizeof line * (size_t)n);
	drop_ranks_gather0(line, all, sizeof line);
	if (me == 0)
		for (int r = 0; r < n; r++)
			printf("%s\n", all + r * sizeof line);

	/* sums: rank r holds r + 1 + i / 4 at i; the sum is n (n + 1) / 2 + n i / 4 */
	enum { N = 1000 };
	float f[N];
	double d[N];
	for (int i = 0; i < N; i++) {
		f[i] = (float)(me + 1) + (float)i / 4;
		d[i] = (double)(me + 1) + (double)i / 4;
	}
	drop_ranks_allreduce_f32(f, N);
	drop_ranks_allreduce_f64(d, N);
	for (int i = 0; i < N; i++) {
		double want = n * (n + 1) / 2.0 + n * (double)i / 4;
		if (f[i] != (float)want)
			return bad("allreduce_f32");
		if (d[i] != want)
			return bad("allreduce_f64");
	}
	/* started sums: three pieces of g started one by one, a blocking collective between
	 * (the order every rank keeps), progressed, then waited for */
	float g[N];
	for (int i = 0; i < N; i++)
		g[i] = (float)(me + 1) * (float)(i % 7);
	drop_ranks_iallreduce_f32(g + 600, N - 600);
	drop_ranks_progress();
	drop_ranks_iallreduce_f32(g + 100, 500);
	double one = 1;
	drop_ranks_allreduce_f64(&one, 1);
	drop_ranks_iallreduce_f32(g, 100);
	drop_ranks_progress();
	drop_ranks_wait();
	for (int i = 0; i < N; i++)
		if (g[i] != (float)(n * (n + 1) / 2 * (i % 7)) || one != n)
			return bad("iallreduce_f32");
	/* allgather: every rank gets every rank's 3 ints */
	int mine[3] = { me, 10 * me, 100 * me }, *got = malloc(sizeof mine * (size_t)n);
	drop_ranks_allgather(mine, got, sizeof mine);
	for (int r = 0; r < n; r++)
		if (got[3 * r] != r || got[3 * r + 1] != 10 * r || got[3 * r + 2] != 100 * r)
			return bad("allgather");
	/* bcast from the last rank */
	int b = me == n - 1 ? 4242 : -1;
	drop_ranks_bcast(&b, sizeof b, n - 1);
	if (b != 4242)
		return bad("bcast");
	/* a ring of sends: each rank sends its rank to the next, receives the previous */
	if (n > 1) {
		int to = (me + 1) % n, from = (me + n - 1) % n, v = -1;
		if (me % 2 == 0) {
			drop_ranks_send(to, &me, sizeof me);
			drop_ranks_recv(from, &v, sizeof v);
		} else {
			drop_ranks_recv(from, &v, sizeof v);
			drop_ranks_send(to, &me, sizeof me);
		}
		if (v != from)
			return bad("send/recv");
	}
	drop_ranks_barrier();
	if (me == 0)
		printf("allreduce_f32 ok\nallreduce_f64 ok\niallreduce_f32 ok\nallgather ok\n"
		       "bcast ok\nsend/recv ok\n");
	free(got);
	free(all);
	return 0;
}

/*
 * drop-test-ranklist - test helper: write the ranked-list stream (lib/reid/ranklist.h) of a
 * distance matrix, so the bats tests can check that drop-score scores a stream exactly as
 * it scores the matrix (--dist).
 *
 * Usage: drop-test-ranklist [--top K] [--bad-index I] [--dup] [--nan-dist] D Q G > r.npy
 * Rows are ranked by ascending distance, ties by gallery index (lib/reid/metrics.c); --top K
 * keeps the first K of each list, as drop-match --top does. --bad-index I writes I as the
 * first index of the last query, --dup repeats its second index first, and --nan-dist
 * writes a NaN as its first distance (bad inputs for drop-score). Not a user tool: no man page.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/core/drop.h"
#include "../../lib/io/list.h"
#include "../../lib/reid/metrics.h"
#include "../../lib/io/npy.h"
#include "../../lib/reid/ranklist.h"

int main(int argc, char **argv)
{
	drop_progname = "drop-test-ranklist";
	size_t top = 0;
	long bad_index = -1;
	bool nan_dist = false, dup = false;
	int a = 1;
	for (;; a++) {
		if (a + 1 < argc && !strcmp(argv[a], "--top"))
			top = strtoul(argv[++a], NULL, 10);
		else if (a + 1 < argc && !strcmp(argv[a], "--bad-index"))
			bad_index = strtol(argv[++a], NULL, 10);
		else if (a < argc && !strcmp(argv[a], "--nan-dist"))
			nan_dist = true;
		else if (a < argc && !strcmp(argv[a], "--dup"))
			dup = true;
		else
			break;
	}
	if (argc - a != 3)
		drop_die(DROP_EXIT_USAGE, "usage: drop-test-ranklist [--top K] [--bad-index I] "
		         "[--dup] [--nan-dist] D.npy Q.tsv G.tsv");
	struct drop_npy_array d;
	struct drop_list ql, gl;
	if (drop_npy_load(argv[a], &d))
		drop_die(1, "%s: %s", argv[a], drop_errmsg());
	if (drop_list_read(argv[a + 1], &ql) || drop_list_read(argv[a + 2], &gl))
		drop_die(1, "lists: %s", drop_errmsg());
	size_t nq = ql.n, ng = gl.n;
	if (d.h.nfields || d.h.ndim != 2 || d.h.shape[0] != nq || d.h.shape[1] != ng)
		drop_die(1, "%s: not a (%zu, %zu) matrix", argv[a], nq, ng);
	size_t k = top && top < ng ? top : ng;

	struct drop_ranklist_gallery g = { ng, drop_calloc(ng + 1, sizeof(char *)),
	                              drop_calloc(ng + 1, sizeof(int32_t)),
	                              drop_calloc(ng + 1, sizeof(int32_t)) };
	size_t pathlen = 1;
	for (size_t j = 0; j < ng; j++) {
		g.path[j] = drop_strdup(gl.items[j].path);
		g.pid[j] = gl.items[j].pid;
		g.camid[j] = gl.items[j].camid;
	}
	for (size_t i = 0; i < nq; i++)
		if (strlen(ql.items[i].path) > pathlen)
			pathlen = strlen(ql.items[i].path);

	int32_t *order = drop_malloc((nq * ng + 1) * sizeof *order);
	double *row = drop_malloc((ng + 1) * sizeof *row);
	float *dist = drop_malloc((k + 1) * sizeof *dist);
	if (drop_metrics_rank_rows(&d.h, d.data, nq, ng, 0, order))
		drop_die(1, "%s: %s", argv[a], drop_errmsg());
	struct drop_ranklist_writer w;
	if (drop_ranklist_write_gallery(stdout, &g) || drop_ranklist_writer_open(&w, stdout, k, pathlen))
		drop_die(1, "write: %s", drop_errmsg());
	for (size_t i = 0; i < nq; i++) {
		struct drop_npy_field f = d.h.base;
		f.count = ng;
		drop_npy_get_f64(&f, (const char *)d.data + i * ng * d.h.base.size, row);
		for (size_t j = 0; j < k; j++)
			dist[j] = (float)row[order[i * ng + j]];
		if (i + 1 == nq && bad_index >= 0 && k)
			order[i * ng] = (int32_t)bad_index;
		if (i + 1 == nq && dup && k > 1)
			order[i * ng] = order[i * ng + 1];
		if (i + 1 == nq && nan_dist && k)
			dist[0] = NAN;
		struct drop_ranklist_query q = { ql.items[i].path, ql.items[i].pid, ql.items[i].camid, k,
		                            order + i * ng, dist };
		if (drop_ranklist_writer_add(&w, &q))
			drop_die(1, "write: %s", drop_errmsg());
	}
	if (drop_ranklist_writer_close(&w) || fflush(stdout))
		drop_die(1, "write: %s", drop_errmsg());
	free(order);
	free(row);
	free(dist);
	drop_ranklist_gallery_free(&g);
	drop_list_free(&ql);
	drop_list_free(&gl);
	drop_npy_array_free(&d);
	return 0;
}

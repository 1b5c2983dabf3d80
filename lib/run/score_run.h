/*
 * score_run.h - running drop-score: queries stream one at a time through the protocol
 * accumulator (lib/reid/metrics.h), taken from drop-match's ranked-list stream or from a
 * distance matrix ranked row by row with its query and gallery lists; each query's AP,
 * first hit and INP can go to a per-query TSV file; the totals print as a table or one
 * JSON object.
 *
 * Memory is O(gallery + max_rank) plus one block of matrix rows, whatever the number of
 * queries. The per-query file is written whole or not at all (lib/io/outfile.h).
 * With a ROC curve asked for, every kept query-gallery pair's distance is also collected
 * (4 bytes a pair: lib/reid/roc.h), and the curve's TSV and PNG files are written, whole
 * or not at all, once every query is scored.
 * Not here: option parsing (cmd/drop-score.c), the protocol maths (lib/reid/metrics.h), the file
 * formats (lib/reid/ranklist.h, lib/io/npy.h, lib/io/list.h).
 */
#ifndef DROP_SCORERUN_H
#define DROP_SCORERUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "../core/drop.h"
#include "../reid/metrics.h"
#include "../reid/roc.h"

/* What to score and how. */
struct drop_scorerun_opts {
	const char *input;             /* ranked-list stream ("-" = stdin), used when dist is NULL */
	const char *dist;              /* distance matrix .npy (nq, ng), or NULL */
	const char *query, *gallery;   /* with dist: the lists of its nq rows and ng columns */
	enum drop_metrics_protocol protocol;
	size_t max_rank;               /* longest CMC rank kept (>= 1) */
	uint64_t seed;                 /* of the CUHK03 single-shot sampling */
	const char *per_query;         /* per-query TSV file to write, or NULL */
	const char *roc;               /* ROC curve TSV file to write (lib/reid/roc.h), or NULL */
	const char *roc_plot;          /* ROC curve PNG file to write, or NULL */
};

/* The totals of a run. */
struct drop_scores {
	struct drop_metrics_acc acc;        /* nquery, nvalid; drop_metrics_map/minp/cmc(&acc) */
	int32_t *gpid, *gcam;          /* (ng,) the gallery identities that acc borrows */
	bool has_roc;                  /* o->roc or o->roc_plot: roc holds the curve */
	struct drop_roc pairs;         /* the kept pairs while scoring */
	struct drop_roc_curve roc;
};

/* Score every query of o->input, or of the matrix o->dist with its lists, into s: the
 * per-query file is created first, filled as queries stream by, and kept only if the run
 * succeeds; a ranked-list stream holding only the top k of the gallery gets a warning on
 * stderr (mAP and mINP are then lower bounds). Returns 0, or -1 with *file naming the file
 * at fault ("stdin" for "-") and drop_errmsg() the reason, s then empty and no per-query
 * file left behind: a bad input, a bad ranked list ("query 3 (a.jpg): ..."), a NaN
 * distance, rows and list lengths that differ, no query at all ("no queries"), or no query
 * with a true match in the gallery ("no valid query: ..."). */
int drop_scorerun(const struct drop_scorerun_opts *o, struct drop_scores *s, const char **file);

/* Print s on f: with `json` one line {"queries": N, "mAP": f, "mINP": f, "cmc": {"R": f,
 * ...}} of fractions (with a ROC curve also "roc": {"positives": N, "negatives": N,
 * "tpr_at_fpr": {"1e-4": f, "1e-3": f, "1e-2": f}, "eer": f}), else a table in percent
 * (protocol and query counts, mAP, mINP, Rank-R, and TPR@FPR and EER with a curve), CMC
 * at ranks (nranks,), each in 1..max_rank. Write errors are left in f's error flag. */
void drop_scores_print(FILE *f, const struct drop_scores *s, const size_t *ranks,
                       size_t nranks, bool json);

/* Free what s holds and zero it. */
void drop_scores_free(struct drop_scores *s);

#endif

/*
 * metrics.h - the re-identification evaluation protocols behind drop-score.
 *
 * Market-1501 (torchreid's eval_market1501, doc/model.md section 9): for each query, walk its
 * ranked gallery list, leaving out the items of the same identity AND the same camera and
 * the junk items (gallery pid -1); what remains is a 0/1 list r (r_i = 1 for a true
 * match). A query without any true match (and so every query of pid -1) is skipped: it
 * counts neither in CMC nor in mAP/mINP. For a valid query, with R hits, 1-based positions:
 *   CMC_q(k) = 1 if some r_i = 1 with i <= k          (cumulative, clipped at 1)
 *   AP_q     = (1/R) sum_{i: r_i = 1} (sum_{j<=i} r_j) / i   (non-interpolated)
 *   INP_q    = R / (position of the last hit)          (fast-reid / torchreid mINP)
 * CMC(k), mAP and mINP are the means over valid queries. CMC at a rank beyond the end of a
 * list is that of its last position, so CMC(k) is the fraction of valid queries whose
 * first hit is at a position <= k, for every k.
 *
 * CUHK03 single-shot (torchreid's eval_cuhk03): AP and INP as above; the CMC of a query is
 * the mean over 10 repeats of the CMC of a sampled list holding one randomly chosen item of
 * each identity left in its list. The sampling uses drop's own generator (splitmix64),
 * seeded from (seed, query number), so results do not depend on anything but the seed
 * and the input.
 *
 * The caller ranks (drop-match, or drop_metrics_rank_rows for a distance matrix) and streams
 * the queries through an accumulator one at a time: memory is O(gallery + max_rank),
 * whatever the number of queries. Everything is computed in double.
 *
 * Lists truncated to their top k (k < gallery size, drop-match --top k): the gallery
 * table still says how many true matches R each query has, so validity is exact; the true
 * matches missing from the top k are counted as ranked last (at the end of the query's
 * filtered gallery), the worst order consistent with the top k. AP and INP are then lower
 * bounds, exact when every true match is within the top k. CUHK03 needs complete lists.
 *
 * Not here: reading files, printing, re-ranking.
 */
#ifndef DROP_METRICS_H
#define DROP_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../io/npy.h"

enum drop_metrics_protocol {
	METRICS_MARKET,   /* Market-1501: deterministic CMC */
	METRICS_CUHK03,   /* CUHK03 single-shot: CMC over 10 samplings of one item per id */
};

/* Repeats of the CUHK03 single-shot sampling (torchreid's num_repeats). */
#define METRICS_CUHK03_REPEATS 10

/* What one query scored. */
struct drop_metrics_query {
	bool valid;       /* false: skipped (no true match once same-camera and junk are out) */
	size_t nmatch;    /* R: true matches in the gallery */
	size_t first_hit; /* 1-based position of the first true match in the filtered list */
	double ap;        /* average precision (0 when skipped) */
	double inp;       /* inverse negative penalty (0 when skipped) */
};

/* One gallery item of the filtered list of a query, for the CUHK03 sampling. */
struct drop_metrics_kept {
	int32_t pid;
	uint32_t pos; /* 0-based position in the filtered list */
};

/* The accumulator. Fields are read-only for callers. */
struct drop_metrics_acc {
	enum drop_metrics_protocol protocol;
	size_t max_rank;
	uint64_t seed;
	size_t ng;                  /* gallery size */
	const int32_t *gpid;        /* (ng,) borrowed: must outlive the accumulator */
	const int32_t *gcam;        /* (ng,) borrowed */
	uint64_t *hist;             /* (max_rank,) first-hit positions, 1 per query (market)
	                               or 1 per sampled repeat (cuhk03) */
	double ap_sum, inp_sum;
	size_t nquery;              /* queries added */
	size_t nvalid;              /* of which valid */
	size_t min_k;               /* shortest list seen (ng when none was truncated) */
	unsigned char *seen;        /* (ng,) duplicate check, all 0 between queries */
	struct drop_metrics_kept *kept;  /* (ng,) cuhk03 scratch */
};

/* Start an accumulator over a gallery of ng items (ng >= 1) with identities gpid and
 * cameras gcam (borrowed), keeping CMC at ranks 1..max_rank (max_rank >= 1).
 * seed drives the CUHK03 sampling (unused by Market). Returns -1 on an empty gallery or a
 * gallery larger than INT32_MAX. */
int drop_metrics_init(struct drop_metrics_acc *a, enum drop_metrics_protocol protocol, size_t max_rank,
                 uint64_t seed, size_t ng, const int32_t *gpid, const int32_t *gcam);

/* Score one query of identity qpid and camera qcam from its ranked list rank (k,)
 * (0-based gallery indices, best first, k <= ng) and add it to the totals; out (may be
 * NULL) receives what it scored. Returns -1 without adding anything on a bad list: an
 * index out of range, an index listed twice, k > ng, or a truncated list for CUHK03. */
int drop_metrics_add(struct drop_metrics_acc *a, int32_t qpid, int32_t qcam, const int32_t *rank,
                size_t k, struct drop_metrics_query *out);

/* The results so far. CMC at rank r (1 <= r <= max_rank) is a fraction in [0, 1]. They
 * are NaN while there is no valid query. */
double drop_metrics_cmc(const struct drop_metrics_acc *a, size_t r);
double drop_metrics_map(const struct drop_metrics_acc *a);
double drop_metrics_minp(const struct drop_metrics_acc *a);

void drop_metrics_free(struct drop_metrics_acc *a);

/* Rank n rows of a distance matrix: rows (n, ng) of the numeric element type of h (the
 * header of a plain array; only h->base is used) -> order (n, ng), each row's gallery
 * indices by ascending distance, ties by gallery index. Rows are ranked in parallel
 * (OpenMP); the result does not depend on the thread count. Returns -1 if a distance is
 * NaN ("row I, column J: distance is NaN", I counted from first_row) or ng > INT32_MAX. */
int drop_metrics_rank_rows(const struct drop_npy_header *h, const void *rows, size_t n, size_t ng,
                      size_t first_row, int32_t *order);

#endif

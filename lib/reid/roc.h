/*
 * roc.h - verification: the ROC curve of the query-gallery pairs that the evaluation
 * protocol keeps, for choosing a distance threshold ("same person below t").
 *
 * The pairs: every gallery item of every valid query (lib/reid/metrics.h: a query with
 * a true match), junk items (pid -1) and items of the query's identity seen by its own
 * camera left out, as in the Market-1501 protocol. A pair is positive when both have the
 * same identity. Accepting the pairs whose distance is at most t gives
 *   TPR(t) = accepted positives / positives,  FPR(t) = accepted negatives / negatives.
 * The curve holds a point at every distinct distance, from (0, 0) (t = -inf) to (1, 1)
 * (the largest distance, or t = +inf where some pairs are not listed); points on a straight segment between two others are left out (what
 * scikit-learn's roc_curve does with drop_intermediate), which changes neither the curve
 * nor the figures below. Pairs whose distance the input does not give (lists truncated by
 * drop-match --top) count as accepted only at t = +inf.
 *
 * Figures: TPR at FPR 1e-4, 1e-3, 1e-2 (the largest TPR of a threshold whose FPR does not
 * exceed it) and the equal error rate (where FPR = 1 - TPR, linear between the two points
 * around it). Distances are kept as float32 and sorted once: memory is 4 bytes a pair.
 *
 * Not here: reading ranked lists (lib/reid/ranklist.h), the protocol's other figures.
 */
#ifndef DROP_ROC_H
#define DROP_ROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The FPRs of the TPR figures. */
#define DROP_ROC_NFPR 3
extern const double drop_roc_fpr_at[DROP_ROC_NFPR]; /* 1e-4, 1e-3, 1e-2 */
extern const char *const drop_roc_fpr_names[DROP_ROC_NFPR]; /* "1e-4", ... */

/* The pairs collected so far. */
struct drop_roc {
	float *pos, *neg;           /* (npos,), (nneg,) distances of the listed pairs */
	size_t npos, nneg, cpos, cneg;
	size_t upos, uneg;          /* pairs kept but not listed, positive and negative */
	unsigned char *listed;      /* (ng,) scratch of drop_roc_add */
	size_t ng;
};

/* The curve and its figures. */
struct drop_roc_curve {
	size_t n;                   /* points */
	double *thr, *fpr, *tpr;    /* (n,) thresholds ascending (-inf first, +inf last) */
	size_t npos, nneg;          /* positive and negative pairs */
	double tpr_at[DROP_ROC_NFPR];
	double eer;
};

/* Add a valid query of identity qpid and camera qcam: its ranked list index (k,) with the
 * distances dist (k,) over a gallery of ng items with identities gpid and cameras gcam.
 * The list is one the protocol has accepted (indices in range, none twice). */
void drop_roc_add(struct drop_roc *r, int32_t qpid, int32_t qcam, const int32_t *gpid,
                  const int32_t *gcam, size_t ng, const int32_t *index, const float *dist,
                  size_t k);

/* The curve of the pairs added (sorting r's distances in place). Returns -1 with a message
 * when there is no positive or no negative pair. */
int drop_roc_curve(struct drop_roc *r, struct drop_roc_curve *c);

/* The curve as TSV: a header line "threshold<TAB>fpr<TAB>tpr", then one line a point
 * (%.9g; the thresholds -inf and inf). Write errors are left in f's error flag. */
void drop_roc_write_tsv(FILE *f, const struct drop_roc_curve *c);

/* The curve drawn as an RGB PNG (TPR against FPR on a log scale from 1e-5 to 1, the
 * figures written on it). Returns -1 with a message on a write error. */
int drop_roc_write_png(FILE *f, const struct drop_roc_curve *c);

void drop_roc_free(struct drop_roc *r);
void drop_roc_curve_free(struct drop_roc_curve *c);

#endif

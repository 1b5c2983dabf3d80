/*
 * drop.h - the things every part of drop shares: exit statuses, diagnostics and the
 * per-thread error message that lib/ functions leave for their caller.
 *
 * Map of the code base:
 *   cmd/drop-*.c     one tool each: options (getopt_long) and calls into its runner, whose
 *                    header (lib/run/NAME_run.h) is the only one it includes
 *   lib/run/cli.*        the prologue every tool shares (--help, --version, -q/-v, --threads)
 *   lib/core/diag.c       diagnostics, the per-thread error message, allocation
 *   lib/io/npy.*        NumPy .npy reading and writing, records, streams of documents
 *   lib/io/outfile.*    outputs written to a temporary file and renamed (nothing half-written)
 *   lib/io/list.*       TSV list files (path, pid, camid[, label])
 *   lib/io/walk.*       sorted recursive file listing, folder creation
 *   lib/core/progress.*   the progress line on stderr
 *   lib/core/clock.*      drop_now(): seconds on the monotonic clock, for every duration
 *   lib/io/image.*      JPEG / PNG / TIFF decoding; lib/io/png.* PNG writing (indexed, RGB)
 *   lib/data/groupings.*  BPBreID's PifPaf part groupings; lib/data/labels.* fields to labels
 *   lib/run/labels_plan.*   drop-labels' inputs and output names; lib/run/labels_run.* its parallel run
 *   lib/reid/embedding.*  the embedding stream (drop-embed writes, drop-match reads)
 *   lib/reid/match.*      query-gallery distances and ranking; lib/run/match_run.* drop-match's run
 *   lib/reid/sheet.*      contact sheets of ranked lists drawn as RGB PNGs (drop-match --sheet)
 *   lib/reid/ranklist.*   the ranked-list stream (drop-match writes, drop-score reads)
 *   lib/reid/metrics.*    the Market-1501 / CUHK03 evaluation protocols
 *   lib/run/score_run.*   drop-score's run: ranked lists or a matrix in, results out
 *   lib/io/json.*       strict JSON reader and writer (safetensors headers, metadata)
 *   lib/io/safetensors.* safetensors files; lib/model/checkpoint.* drop checkpoints, weights by name
 *   lib/data/dataset.*    the five datasets' layouts, id rules, label paths, TSV lists
 *   lib/data/augment.*    resize, pad+crop, flip, erasing, normalisation; labels follow
 *   lib/data/sampler.*    BPBreID's random identity sampler (P identities x K images)
 *   lib/data/loader.*     threads that decode and augment batches ahead of the compute
 *   lib/model/model.h  the DROP model: parameters, graph, HRNet, heads, losses; graph.h and
 *                    heads.h hold its internals, private to lib/model
 *   lib/model/model_file.*   the model in checkpoints (drop-train and drop-embed)
 *   lib/run/embed_run.*      drop-embed's inputs and run; lib/run/train_run.* drop-train's loop
 *   kernels/ops.h    the compute backends (CPU reference, CUDA); kernels/STATUS.md
 *
 * Convention: a lib/ function that can fail returns -1 (or NULL) and leaves a one-line
 * reason in drop_errmsg() (thread-local, so parallel workers do not clobber each other);
 * the tool prints it as "drop-x: FILE: reason". lib/ never exits and never prints data.
 * A broken invariant - something the code itself should have made impossible, whatever the
 * input - is a bug, not an error: DROP_ASSERT / DROP_BUG (kernels/fail.h) abort with
 * "PROG: bug at FILE:LINE". drop_die is the tools' (cmd/, lib/run/cli.c's option handling).
 */
#ifndef DROP_H
#define DROP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../../kernels/fail.h" /* DROP_BUG, DROP_ASSERT, drop_malloc & co. */

#ifdef __cplusplus
extern "C" {
#define DROP_NORETURN [[noreturn]]
#else
#define DROP_NORETURN _Noreturn
#endif

#define DROP_VERSION "0.1.0"

/* The exit-status contract of every tool (documented in each man page, EXIT STATUS). */
enum drop_exit {
	DROP_EXIT_OK = 0,       /* success */
	DROP_EXIT_DATA = 1,     /* runtime or data error: bad file, shape mismatch, I/O error */
	DROP_EXIT_USAGE = 2,    /* bad option or argument */
	DROP_EXIT_NODEVICE = 3, /* the requested device (--device cuda) is not available */
};

/* Program name used by every diagnostic ("drop-match"); set by drop_proginit(). */
extern const char *drop_progname;
/* Verbosity: 0 = quiet (-q), 1 = normal, 2 = verbose (-v). */
extern int drop_verbosity;

/* Diagnostics on stderr, prefixed "PROG: ". drop_die exits with `status`. */
void drop_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void drop_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void drop_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));    /* unless -q */
void drop_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));   /* only -v */
DROP_NORETURN void drop_die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set the calling thread's error message; always returns -1 so `return drop_fail(...)`. */
int drop_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The calling thread's last error message ("" if none). */
const char *drop_errmsg(void);

/* Overflow-checked size arithmetic: returns -1 with a message on overflow. */
int drop_mul_size(size_t a, size_t b, size_t *out);

#ifdef __cplusplus
}
#endif
#endif

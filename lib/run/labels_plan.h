/*
 * labels_plan.h - the plan of a drop-labels run: which field files the INPUTs name, and which
 * files each of them becomes.
 *
 * An INPUT folder stands for its *.npy files, listed recursively in strcmp order
 * (lib/io/walk.h); any other INPUT ("-" = stdin included) is one job. Jobs keep input order.
 * Output names mirror the input tree: a field file at REL (its path relative to its INPUT
 * folder, or its base name) becomes DIR/<folder of REL>/<stem><suffix>, the stem as
 * drop_labels_stem() makes it (lib/data/labels.h):
 *   query/0001_c2_f0046182.jpg.confidence_fields.npy -> DIR/query/0001_c2_f0046182.png
 * A name that two jobs would write, or that is the job's own input, fails the later job in
 * input order; the first keeps it.
 *
 * A job's problem is left in its `err` for the run (lib/run/labels_run.h) to report in input
 * order; problems met while listing folders are printed at once on stderr (drop_error),
 * as they are met, the way the tool reports them.
 * Not here: converting a field (lib/run/labels_run.h), the label maths (lib/data/labels.h).
 */
#ifndef DROP_LABELJOB_H
#define DROP_LABELJOB_H

#include <stdbool.h>
#include <stddef.h>

/* One input file and what it becomes. */
struct drop_labeljob {
	char *in;            /* the field file ("-" = stdin) */
	char *rel;           /* its path relative to its INPUT folder, or its base name */
	char *out;           /* the label file, NULL for stdout */
	char *overlay_out;   /* the overlay PNG, or NULL */
	char *err;           /* why it failed, or NULL */
	bool done;           /* converted or failed (set by the run as it reports) */
};

/* The jobs of a run, in input order. Zero it before the first use. */
struct drop_labeljobs {
	struct drop_labeljob *v;     /* (n) */
	size_t n, cap;
	size_t problems;             /* problems met while listing the INPUT folders */
};

/* Append the jobs of inputs[0..n): a folder (stat'ed, links followed) becomes one job per
 * *.npy file under it, with a warning on stderr if it has none; anything else is one job.
 * Every listing problem is printed on stderr ("PROG: PATH: reason") and counted in
 * js->problems. */
void drop_labeljobs_collect(struct drop_labeljobs *js, char *const *inputs, int n);

/* The path DIR/<folder of rel>/<stem of rel><suffix> (malloc'd), or NULL with drop_errmsg()
 * set when rel leaves no stem or the stem is too long:
 *   ("out", "query/a.jpg.confidence_fields.npy", ".png") -> "out/query/a.png" */
char *drop_labeljob_path(const char *dir, const char *rel, const char *suffix);

/* Name every job's output under the folder `dir`: <stem><suffix> (".png" or ".npy") and, with
 * `overlay`, <stem>.overlay.png. A job whose names cannot be made, whose output is its own
 * input (same device and inode), or whose output an earlier job also writes gets `err` set
 * ("output D/a.png is also written for IN"). */
void drop_labeljobs_name(struct drop_labeljobs *js, const char *dir, const char *suffix,
                         bool overlay);

/* Create the folder of every named output that has no `err` yet (mkdir -p, once per run of
 * jobs sharing a folder); a job whose folder cannot be created gets the reason in `err`. */
void drop_labeljobs_make_folders(struct drop_labeljobs *js);

/* Free every job and zero js. */
void drop_labeljobs_free(struct drop_labeljobs *js);

#endif

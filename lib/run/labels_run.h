/*
 * labels_run.h - running drop-labels: every field file the INPUTs name (lib/run/labels_plan.h) is
 * read, grouped into K-part labels (lib/data/labels.h), resized if asked, and written as an
 * 8-bit indexed PNG or, for soft targets, a (K+1, h, w) float32 .npy, with an optional
 * overlay PNG: the labels blended over the matching image.
 *
 * Files are converted in parallel (OpenMP, --threads), each written whole or not at all
 * (lib/io/outfile.h); the output does not depend on the thread count. A file that fails is
 * reported on stderr as "PROG: FILE: reason" in input order, as soon as every file before
 * it is done, without holding the workers back, and the others are still converted. A
 * progress line (lib/core/progress.h) counts the files.
 * Not here: option parsing (cmd/drop-labels.c), the output names (lib/run/labels_plan.h), the
 * label maths (lib/data/labels.h), the file formats (lib/io/npy.h, lib/io/png.h, lib/io/image.h).
 */
#ifndef DROP_LABELRUN_H
#define DROP_LABELRUN_H

#include <stdbool.h>
#include <stdio.h>

#include "cli.h"
#include "../core/drop.h"
#include "../data/groupings.h"
#include "../data/labels.h"

/* What each field file becomes. */
struct drop_labelrun_opts {
	const struct drop_grouping *grouping;
	float threshold;             /* background where every part is below it
	                              * (DROP_LABELS_THRESHOLD, lib/data/labels.h) */
	bool soft;                   /* soft targets (.npy) instead of label PNGs */
	int size_h, size_w;          /* resize the labels to (size_h, size_w); 0 = as the field */
	const char *overlay;         /* folder of the images to blend the labels over, or NULL */
};

/* Convert every field file that inputs[0..n) name (files, "-" for stdin, or folders searched
 * for *.npy). With `output` NULL the one input (not a folder) goes to stdout; else into the
 * folder `output`, created if missing, mirroring the input tree (lib/run/labels_plan.h), with
 * <stem>.overlay.png beside each label when o->overlay is set. `progress` shows the progress
 * line. Every problem is reported on stderr as it is met (see above).
 * Returns 0 when every file was converted, 1 when some file or folder failed, or -1 with
 * drop_errmsg() set, nothing converted, when the folder `output` cannot be created. */
int drop_labelrun(char *const *inputs, int n, const char *output,
                  const struct drop_labelrun_opts *o, bool progress);

/* Whether INPUT... fit the output: stdout (`*output` NULL or "-") takes one input that is
 * not a folder and no overlay, and input "-" (stdin) goes only to stdout. 0 with *output
 * set to NULL for stdout, or -1 with the message, for the tool to report as a usage
 * error: "no input (give .npy field files or folders of them)", "several outputs need -o
 * DIR (stdout takes one input file)", "--overlay needs -o DIR", "input '-' (stdin) needs
 * -o - (stdout)". */
int drop_labelrun_check_inputs(char *const *inputs, int n, const char **output, bool overlay);

/* The groupings on f, one line each, "NAME<TAB>K<TAB>part,part,..."; with `channels`,
 * each part's PifPaf channels on a line of its own after it ("<TAB>p<TAB>name<TAB>c,c,..."). */
void drop_labelrun_list_groupings(FILE *f, bool channels);

#endif

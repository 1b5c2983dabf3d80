/*
 * parsing_run.h - drop-score --parsing: a folder of predicted part maps (drop-embed --masks)
 * against the folder of their part labels (drop-labels), as IoU per class, of the
 * foreground and averaged over the parts (lib/reid/parsing_iou.h).
 *
 * Every .png under the predicted folder is paired with the file of the same relative path
 * under the labels folder. Both are indexed PNGs of the label palette: K + 1 entries, 0 the
 * background. The labels are resized to the predicted map's size by nearest neighbour, as
 * drop-train resizes them to the feature map (lib/data/labels.h), so a map written at the
 * feature size (drop-embed's default --masks-size) is scored as training sees it.
 * Not here: option parsing (cmd/drop-score.c), the IoU maths (lib/reid/parsing_iou.c).
 */
#ifndef DROP_PARSINGRUN_H
#define DROP_PARSINGRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../reid/parsing_iou.h"

/* The totals of a run. */
struct drop_parsing_scores {
	size_t maps;                      /* predicted maps scored */
	struct drop_parsing_counts c;     /* summed over every map */
};

/* Score every predicted map under pred_dir against labels_dir into s. Returns 0, or -1
 * with *file naming the file (or folder) at fault and drop_errmsg() the reason: a folder
 * with no .png, a missing or unreadable label file, a PNG that is not indexed, a number
 * of parts (palette entries - 1) that differs between files or exceeds the palette's 14,
 * a label past K. */
int drop_parsingrun(const char *pred_dir, const char *labels_dir, struct drop_parsing_scores *s,
                    char **file);

/* The grouping whose part names name the K parts of s: `name` (NULL: the one drop-labels
 * -k K uses, 8 'eight', 5 'five_v', else none). Returns 0 with *g set (NULL: no names), or
 * -1 with a reason: an unknown name, or a grouping of another number of parts. */
int drop_parsing_grouping(const struct drop_parsing_scores *s, const char *name,
                          const struct drop_grouping **g);

/* Print s on f: with `json` one line {"maps": N, "parts": K, "pixels": N, "background": f,
 * "foreground": f, "parts_iou": [f, ...], "mean_part_iou": f} of fractions (null where a
 * class has an empty union), else a table in percent, the parts named after grouping g
 * (without BPBreID's "_mask"), or "part N" where g is NULL. Write errors are left in f's
 * error flag. */
void drop_parsing_scores_print(FILE *f, const struct drop_parsing_scores *s,
                               const struct drop_grouping *g, bool json);

#endif

/*
 * parsing_iou.h - how well a predicted human parsing matches the part labels: the
 * intersection over union (IoU) of each class, of the foreground (every part together) and
 * the mean over the parts, from counts summed over any number of label maps.
 *
 * Labels are 0 = background and 1..K = parts, as drop-labels writes them (lib/data/labels.h)
 * and drop-embed --masks predicts them. For a class c, over every pixel counted:
 *   IoU(c) = |pred = c and truth = c| / |pred = c or truth = c|
 * the foreground IoU treats every part as one class (label != 0), and the mean part IoU
 * averages IoU(1..K) over the parts whose union is not empty (a part neither predicted nor
 * labelled anywhere says nothing). A class with an empty union has no IoU: NaN.
 * Unlike the pixel accuracy, none of these figures rises by predicting the background that
 * fills most of an image.
 * Not here: reading the label files (lib/run/score_run.c), the argmax of the logits
 * (drop_parsing_argmax below is the one rule: the lowest class on ties).
 */
#ifndef DROP_PARSING_IOU_H
#define DROP_PARSING_IOU_H

#include <stddef.h>
#include <stdint.h>

#include "../data/groupings.h"

/* Pixel counts of one comparison; class DROP_MAX_PARTS + 1 holds the foreground. */
struct drop_parsing_counts {
	int k;                                   /* parts: labels 0..k */
	uint64_t pixels;                         /* pixels counted */
	uint64_t inter[DROP_MAX_PARTS + 2];      /* (k + 1) classes, then the foreground */
	uint64_t uni[DROP_MAX_PARTS + 2];
};

/* Zero counts for k parts (1..DROP_MAX_PARTS). */
void drop_parsing_counts_init(struct drop_parsing_counts *c, int k);

/* Count n pixels of a predicted and a true label map of the same size. Returns -1 (with a
 * reason) if a label exceeds k; the counts are then left unchanged. */
int drop_parsing_counts_add(struct drop_parsing_counts *c, const uint8_t *pred,
                            const uint8_t *truth, size_t n);

/* Add the counts of src (the same k) to dst. */
void drop_parsing_counts_merge(struct drop_parsing_counts *dst,
                               const struct drop_parsing_counts *src);

/* The fraction of the pixels counted whose class is right (background included: the
 * training log's "parsing_acc"); NaN when none was counted. */
double drop_parsing_pixel_accuracy(const struct drop_parsing_counts *c);

/* IoU of class cls (0 background, 1..k a part); NaN when its union is empty. */
double drop_parsing_iou(const struct drop_parsing_counts *c, int cls);

/* IoU of the foreground (any part against any part); NaN when the union is empty. */
double drop_parsing_fg_iou(const struct drop_parsing_counts *c);

/* Mean of IoU(1..k) over the parts with a non-empty union; NaN if there is none. */
double drop_parsing_mean_part_iou(const struct drop_parsing_counts *c);

/* Labels from logits (n maps of k1 channels, hw pixels each): the argmax over the channels,
 * the lowest channel on ties. logits (n, k1, hw), labels (n, hw). */
void drop_parsing_argmax(const float *logits, int n, int k1, size_t hw, uint8_t *labels);

#endif

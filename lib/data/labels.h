/*
 * labels.h - K-part human-parsing labels from PifPaf confidence fields, as BPBreID makes
 * them (doc/bpbreid.md §2.3, doc/model.md §7).
 *
 * Per pixel p of a field c (36, h, w) and a grouping of K parts (lib/data/groupings.h):
 *   G_g(p) = clamp(max over the channels i of part g of c_i(p), 0, 1)      g = 1..K
 *   B(p)   = 1 if max_g G_g(p) < threshold (0.5) else 0                   background
 *   soft   = softmax over the K+1 channels of 15 * [B, G_1, ..., G_K]    (K+1, h, w)
 *   hard   = argmax of soft = 0 if max_g G_g(p) < threshold, else 1 + argmax_g G_g(p),
 *            the lowest g on exact ties (torch's argmax). With threshold 0, a pixel where
 *            every G_g is 0 ties with the background channel and is background too.
 * Everything is computed in float32 from the float32 field (drop_npy_load_f32 converts f2/f8);
 * the softmax is evaluated in double and rounded once.
 *
 * Also here: nearest-neighbour resizing (source index floor(dst * src / dst_size), as
 * PyTorch's and OpenCV's 'nearest'), the fixed colour palette of label PNGs, overlays of
 * labels on images, and the rule that names a label file after its field file.
 * Not here: reading and writing files (lib/io/npy.h, lib/io/png.h, lib/io/image.h), augmentation.
 */
#ifndef DROP_LABELS_H
#define DROP_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "groupings.h"
#include "../io/npy.h"

#define DROP_LABELS_THRESHOLD 0.5f    /* BPBreID's mask_filtering_threshold */
#define DROP_LABELS_SOFTMAX_WEIGHT 15 /* BPBreID's masks.softmax_weight */

/* Check that a loaded array is a PifPaf field: 3-D, 36 channels first, h and w >= 1, every
 * value finite (float32 data, as drop_npy_load_f32 gives). Returns -1 with a reason ("expected a
 * [36, h, w] field, got shape (35, 4, 3)", "NaN at channel 3, row 2, column 1"). */
int drop_field_check(const struct drop_npy_array *a);

/* The K group maps: groups[g][p] = clamp(max of the part's channels, 0, 1).
 * field (36, hw), groups (k, hw). */
void drop_labels_group(const struct drop_grouping *g, const float *field, size_t hw,
                       float *groups);

/* Hard labels (0 = background, 1..K parts). field (36, hw), labels (hw). */
void drop_labels_hard(const struct drop_grouping *g, const float *field, size_t hw,
                      float threshold, uint8_t *labels);

/* Soft targets: softmax of 15 * [B, G_1..G_K] over the channels.
 * field (36, hw), soft (k + 1, hw). */
void drop_labels_soft(const struct drop_grouping *g, const float *field, size_t hw,
                      float threshold, float *soft);

/* Nearest-neighbour resize: dst[y][x] = src[floor(y * sh / dh)][floor(x * sw / dw)].
 * src (sh, sw), dst (dh, dw); the _f32 form resizes c planes: (c, sh, sw) -> (c, dh, dw). */
void drop_resize_nearest_u8(const uint8_t *src, int sh, int sw, uint8_t *dst, int dh, int dw);
void drop_resize_nearest_f32(const float *src, int c, int sh, int sw, float *dst, int dh,
                             int dw);

/* The fixed palette of label PNGs: entry 0 (background) black, entries 1..14 distinct
 * colours (man/drop-labels.1 lists them). (DROP_MAX_PARTS + 1, 3) RGB. */
extern const uint8_t drop_label_palette[DROP_MAX_PARTS + 1][3];

/* Blend labels over an image in place: a part pixel becomes the mean of the image pixel and
 * its palette colour (rounded half up), background pixels are kept. The labels are
 * stretched onto the image by nearest neighbour. rgb (h, w, 3), labels (lh, lw). */
void drop_labels_overlay(uint8_t *rgb, int h, int w, const uint8_t *labels, int lh, int lw);

/* The output stem of a field file name: its base name without ".npy", then without
 * ".confidence_fields", then without one image extension (.jpg .jpeg .png .tif .tiff .bmp,
 * any case): "0001_c2_f0046182.jpg.confidence_fields.npy" -> "0001_c2_f0046182".
 * `name` may include folders (they are dropped). Returns -1 if the stem would be empty or
 * does not fit in cap bytes. */
int drop_labels_stem(const char *name, char *stem, size_t cap);

#endif

/*
 * augment.h - the image pipeline of training and embedding (doc/model.md §6, doc/bpbreid.md
 * §2.4, §3): one RGB8 image and its label map in, a normalised float image and the label
 * map at stride 4 out.
 *
 * Training (BPBreID's order, doc/model.md §6):
 *   1. resize the image to H x W, bilinear with OpenCV's INTER_LINEAR arithmetic
 *      (drop_resize_linear_u8), and the label map to H x W by nearest neighbour
 *      (source index floor(dst * src / dst_size), lib/data/labels.h; cv2's INTER_NEAREST,
 *      which albumentations uses, scales in double and differs for a few sizes: none
 *      from sources up to 128 x 64 to 256 x 128, source heights 68 and 118 to 384);
 *   2. horizontal flip with probability flip_p (0.5); label values are not swapped;
 *   3. pad `pad` (10) pixels of 0 on every side and crop H x W at offset (crop_y, crop_x),
 *      each uniform in {0, ..., 2 pad}; padded label pixels are background (0);
 *   4. normalise with ImageNet's mean and std in albumentations' float32 arithmetic:
 *      (v - mean * 255) * (1 / (std * 255)), v the 0-255 value;
 *   5. random erasing with probability erase_p (0.5): one box of height uniform in
 *      [int(0.15 H), int(0.65 H)] and width in [int(0.15 W), int(0.65 W)], placed uniformly
 *      inside the image, set to the constants 0.485, 0.456, 0.406 (per channel) in the
 *      normalised image (BPBreID's quirk), its label pixels set to background;
 *   6. the label map sampled at stride 4: label (i, j) of the (H/4, W/4) map is pixel
 *      (floor(i H / (H/4)), floor(j W / (W/4))) of the H x W map (doc/model.md §7).
 * Test mode (train false): steps 1, 4 and 6 only.
 *
 * Random draws. Every draw is a word of Philox4x32-10 (kernels/maths/loss_maths.h) keyed by the
 * seed, with counter (sample index low, high, epoch, purpose), so a sample's augmentation is
 * a pure function of (seed, epoch, index): the same whatever the thread count or order.
 * The purposes here are the words "AUG0" and "AUG1" (0x41554730, 0x41554731); the
 * kernels' RNG streams use counter word 3 = 0 and cannot collide with them.
 * Not here: decoding files (lib/data/loader.h), colour jitter (not in the recipe).
 */
#ifndef DROP_AUGMENT_H
#define DROP_AUGMENT_H

#include <stdbool.h>
#include <stdint.h>

#define DROP_AUG_LABEL_STRIDE 4

/* ImageNet statistics and the erasing fill (in normalised space, per channel). */
extern const float drop_aug_mean[3], drop_aug_std[3], drop_aug_erase_fill[3];

struct drop_aug_config {
	int h, w;                     /* output size H x W (>= 4 each) */
	bool train;                   /* random geometry and erasing; false: resize + normalise */
	int pad;                      /* pixels of padding before the random crop (10) */
	float flip_p;                 /* probability of a horizontal flip (0.5) */
	float erase_p;                /* probability of random erasing (0.5) */
	float erase_min, erase_max;   /* box sides as fractions of H and W (0.15, 0.65) */
};

/* The recipe's values for an H x W output. */
void drop_aug_defaults(struct drop_aug_config *c, int h, int w, bool train);

/* The geometry of one sample. The identity (test mode) is flip false, crop = (pad, pad),
 * erase false. */
struct drop_aug_params {
	bool flip;
	int crop_y, crop_x;                         /* in {0..2 pad} */
	bool erase;
	int erase_y, erase_x, erase_h, erase_w;     /* the box, in output coordinates */
};

/* Draw the geometry of sample `index` of `epoch` (the identity in test mode). */
void drop_aug_draw(const struct drop_aug_config *c, uint64_t seed, uint32_t epoch,
                   uint64_t index, struct drop_aug_params *p);

/* Resize an 8-bit image with cv2.resize(INTER_LINEAR)'s arithmetic, bit for bit with
 * OpenCV 4.6 on x86: half-pixel centres (src = (dst + 0.5) * scale - 0.5, clamped at the
 * borders), 11-bit fixed-point weights, the rounding of OpenCV's SIMD vertical pass, and
 * the rounded 2 x 2 mean when both sides shrink by exactly 2 (OpenCV's INTER_AREA path).
 * src (sh, sw, cn), dst (dh, dw, cn); all sides >= 1. */
void drop_resize_linear_u8(const uint8_t *src, int sh, int sw, uint8_t *dst, int dh, int dw,
                           int cn);

/* Augment one sample. rgb (sh, sw, 3); label (lh, lw) or NULL; scratch (H, W, 3) bytes;
 * x (3, H, W) out; lab (H/4, W/4) out, untouched when label is NULL. */
void drop_aug_apply(const struct drop_aug_config *c, const struct drop_aug_params *p,
                    const uint8_t *rgb, int sh, int sw, const uint8_t *label, int lh, int lw,
                    uint8_t *scratch, float *x, uint8_t *lab);

#endif

/*
 * augment.c - resize, flip, pad-crop, normalise, erase, label sampling (see augment.h).
 *
 * The bilinear resize follows OpenCV 4's hal::resize for 8-bit images step by step
 * (modules/imgproc/src/resize.cpp): coefficient tables computed in float and rounded to
 * 11-bit shorts, a horizontal pass into int rows (exact), and a vertical pass with the
 * rounding of its SIMD code (VResizeLinearVec_32s8u): ((S0>>4)*b0>>16 + (S1>>4)*b1>>16 + 2)>>2,
 * not the scalar (S0*b0 + S1*b1 + 2^21)>>22, which differs by one in some pixels. Checked
 * bit for bit against Debian's cv2 4.6 on 400 random sizes, 1, 3 and 4 channels, row
 * widths below and above the vector width included (scripts/make-augment-fixtures keeps a
 * few of them as fixtures).
 * The rest of the pipeline works from output pixels back to source pixels, so no padded or
 * flipped copy is ever made.
 */
#include "augment.h"
#include "../core/drop.h"
#include "../../kernels/maths/loss_maths.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const float drop_aug_mean[3] = { 0.485f, 0.456f, 0.406f };
const float drop_aug_std[3] = { 0.229f, 0.224f, 0.225f };
const float drop_aug_erase_fill[3] = { 0.485f, 0.456f, 0.406f };

#define PURPOSE_AUG0 0x41554730u        /* "AUG0": flip, crop, erase decision */
#define PURPOSE_AUG1 0x41554731u        /* "AUG1": erase box */

void drop_aug_defaults(struct drop_aug_config *c, int h, int w, bool train)
{
	c->h = h;
	c->w = w;
	c->train = train;
	c->pad = 10;
	c->flip_p = 0.5f;
	c->erase_p = 0.5f;
	c->erase_min = 0.15f;
	c->erase_max = 0.65f;
}

/* ---- Random geometry --------------------------------------------------------------------- */

static void draw_words(uint64_t seed, uint32_t epoch, uint64_t index, uint32_t purpose,
                       uint32_t out[4])
{
	const uint32_t ctr[4] = { (uint32_t)index, (uint32_t)(index >> 32), epoch, purpose };
	const uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };
	drop_philox4x32(ctr, key, out);
}

/* A uniform integer in {0..n-1} from one word (multiply-shift). */
static int below(uint32_t word, int n)
{
	return (int)(((uint64_t)word * (uint32_t)n) >> 32);
}

void drop_aug_draw(const struct drop_aug_config *c, uint64_t seed, uint32_t epoch,
                   uint64_t index, struct drop_aug_params *p)
{
	memset(p, 0, sizeof *p);
	p->crop_y = p->crop_x = c->pad;
	if (!c->train)
		return;
	uint32_t a[4], b[4];
	draw_words(seed, epoch, index, PURPOSE_AUG0, a);
	draw_words(seed, epoch, index, PURPOSE_AUG1, b);
	p->flip = drop_u01(a[0]) < c->flip_p;
	p->crop_y = below(a[1], 2 * c->pad + 1);
	p->crop_x = below(a[2], 2 * c->pad + 1);
	p->erase = drop_u01(a[3]) < c->erase_p;
	if (p->erase) {
		int hmin = (int)(c->erase_min * (double)c->h);
		int hmax = (int)(c->erase_max * (double)c->h);
		int wmin = (int)(c->erase_min * (double)c->w);
		int wmax = (int)(c->erase_max * (double)c->w);
		p->erase_h = hmin + below(b[0], hmax - hmin + 1);
		p->erase_w = wmin + below(b[1], wmax - wmin + 1);
		p->erase_y = below(b[2], c->h - p->erase_h + 1);
		p->erase_x = below(b[3], c->w - p->erase_w + 1);
	}
}

/* ---- OpenCV's bilinear resize ------------------------------------------------------------ */

#define COEF_BITS 11
#define COEF_SCALE (1 << COEF_BITS)

/* saturate_cast<short>(float): round half to even, then clamp. */
static short round_short(float v)
{
	long r = lrintf(v);
	return (short)(r < -32768 ? -32768 : r > 32767 ? 32767 : r);
}

/* One row of the vertical pass with the rounding of OpenCV's SIMD code (v_pack of S >> 4,
 * v_mul_hi, v_rshr_pack_u<2>). Its saturations never act: S <= 255 * 2048, so S >> 4 fits
 * in int16, and b0 + b1 = 2048 keeps the sum within 0..1020. */
static void vpass(const int *S0, const int *S1, int b0, int b1, uint8_t *d, int width)
{
	for (int x = 0; x < width; x++)
		d[x] = (uint8_t)((((S0[x] >> 4) * b0 >> 16) + ((S1[x] >> 4) * b1 >> 16) + 2) >> 2);
}

/* The horizontal pass of source row s (sw, cn) into d (dw * cn): two taps before xmax, the
 * clamped border pixel from there on. */
static void hpass(const uint8_t *s, int cn, int dw, const int *xofs, const short *alpha,
                  int xmax, int *d)
{
	int dx = 0;
	for (; dx < xmax; dx++) {
		const uint8_t *p = s + (size_t)xofs[dx] * cn;
		int a0 = alpha[2 * dx], a1 = alpha[2 * dx + 1];
		for (int k = 0; k < cn; k++)
			d[dx * cn + k] = p[k] * a0 + p[cn + k] * a1;
	}
	for (; dx < dw; dx++) {
		const uint8_t *p = s + (size_t)xofs[dx] * cn;
		for (int k = 0; k < cn; k++)
			d[dx * cn + k] = p[k] * COEF_SCALE;
	}
}

/* INTER_AREA's fast path, which INTER_LINEAR takes for an exact 2x shrink: the rounded mean
 * of each 2 x 2 block. */
static void shrink2(const uint8_t *src, int sw, uint8_t *dst, int dh, int dw, int cn)
{
	for (int y = 0; y < dh; y++) {
		const uint8_t *a = src + (size_t)(2 * y) * sw * cn, *b = a + (size_t)sw * cn;
		uint8_t *d = dst + (size_t)y * dw * cn;
		for (int x = 0; x < dw; x++)
			for (int k = 0; k < cn; k++) {
				int i = 2 * x * cn + k;
				int sum = a[i] + a[i + cn] + b[i] + b[i + cn];
				d[x * cn + k] = (uint8_t)((sum + 2) >> 2);
			}
	}
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void drop_resize_linear_u8(const uint8_t *src, int sh, int sw, uint8_t *dst, int dh, int dw,
                           int cn)
{
	if (sh == dh && sw == dw) {
		memcpy(dst, src, (size_t)sh * sw * cn);
		return;
	}
	double scale_x = 1.0 / ((double)dw / sw), scale_y = 1.0 / ((double)dh / sh);
	int iscale_x = (int)lrint(scale_x), iscale_y = (int)lrint(scale_y);
	if (fabs(scale_x - iscale_x) < DBL_EPSILON && fabs(scale_y - iscale_y) < DBL_EPSILON &&
	    iscale_x == 2 && iscale_y == 2) {
		shrink2(src, sw, dst, dh, dw, cn);
		return;
	}
	int *xofs = drop_malloc((size_t)dw * sizeof *xofs);
	short *alpha = drop_malloc((size_t)dw * 2 * sizeof *alpha);
	int xmax = dw;
	for (int dx = 0; dx < dw; dx++) {
		float fx = (float)((dx + 0.5) * scale_x - 0.5);
		int sx = (int)floorf(fx);
		fx -= (float)sx;
		if (sx < 0)
			fx = 0, sx = 0;
		if (sx + 1 >= sw) {
			if (xmax > dx)
				xmax = dx;
			fx = 0, sx = sw - 1;
		}
		xofs[dx] = sx;
		alpha[2 * dx] = round_short((1.f - fx) * COEF_SCALE);
		alpha[2 * dx + 1] = round_short(fx * COEF_SCALE);
	}
	const int width = dw * cn;
	int *rows = drop_malloc((size_t)2 * width * sizeof *rows);
	int have[2] = { -1, -1 };           /* the source row each half of `rows` holds */
	for (int dy = 0; dy < dh; dy++) {
		float fy = (float)((dy + 0.5) * scale_y - 0.5);
		int sy = (int)floorf(fy);
		fy -= (float)sy;
		int b0 = round_short((1.f - fy) * COEF_SCALE), b1 = round_short(fy * COEF_SCALE);
		int r0 = clampi(sy, 0, sh - 1), r1 = clampi(sy + 1, 0, sh - 1);
		int s0 = have[0] == r0 ? 0 : have[1] == r0 ? 1 : -1;
		if (s0 < 0) {
			s0 = have[0] == r1 ? 1 : 0;     /* keep the row the second tap needs */
			hpass(src + (size_t)r0 * sw * cn, cn, dw, xofs, alpha, xmax,
			      rows + (size_t)s0 * width);
			have[s0] = r0;
		}
		int s1 = have[0] == r1 ? 0 : have[1] == r1 ? 1 : -1;
		if (s1 < 0) {
			s1 = 1 - s0;
			hpass(src + (size_t)r1 * sw * cn, cn, dw, xofs, alpha, xmax,
			      rows + (size_t)s1 * width);
			have[s1] = r1;
		}
		vpass(rows + (size_t)s0 * width, rows + (size_t)s1 * width, b0, b1,
		      dst + (size_t)dy * width, width);
	}
	free(rows);
	free(alpha);
	free(xofs);
}

/* ---- One sample -------------------------------------------------------------------------- */

void drop_aug_apply(const struct drop_aug_config *c, const struct drop_aug_params *p,
                    const uint8_t *rgb, int sh, int sw, const uint8_t *label, int lh, int lw,
                    uint8_t *scratch, float *x, uint8_t *lab)
{
	const int H = c->h, W = c->w, pad = c->pad;
	const size_t plane = (size_t)H * W;
	drop_resize_linear_u8(rgb, sh, sw, scratch, H, W, 3);

	/* albumentations' Normalize: (v - mean*255) * (1 / (std*255)), all float32. */
	float lut[3][256];
	for (int k = 0; k < 3; k++) {
		float m = drop_aug_mean[k] * 255.0f, inv = 1.0f / (drop_aug_std[k] * 255.0f);
		for (int v = 0; v < 256; v++)
			lut[k][v] = ((float)v - m) * inv;
	}
	/* Output columns [xlo, xhi) come from the image, the others from the padding. */
	const int dx = p->crop_x - pad;
	const int xlo = dx < 0 ? -dx : 0, xhi = W - dx < W ? W - dx : W;
	for (int y = 0; y < H; y++) {
		const int ys = y + p->crop_y - pad;
		float *o[3] = { x + (size_t)y * W, x + plane + (size_t)y * W,
		                x + 2 * plane + (size_t)y * W };
		if (ys < 0 || ys >= H || xlo >= xhi) {
			for (int k = 0; k < 3; k++)
				for (int xo = 0; xo < W; xo++)
					o[k][xo] = lut[k][0];
			continue;
		}
		for (int k = 0; k < 3; k++) {
			for (int xo = 0; xo < xlo; xo++)
				o[k][xo] = lut[k][0];
			for (int xo = xhi; xo < W; xo++)
				o[k][xo] = lut[k][0];
		}
		const uint8_t *row = scratch + (size_t)ys * W * 3;
		if (p->flip) {
			for (int xo = xlo; xo < xhi; xo++) {
				const uint8_t *s = row + (size_t)(W - 1 - (xo + dx)) * 3;
				o[0][xo] = lut[0][s[0]];
				o[1][xo] = lut[1][s[1]];
				o[2][xo] = lut[2][s[2]];
			}
		} else {
			for (int xo = xlo; xo < xhi; xo++) {
				const uint8_t *s = row + (size_t)(xo + dx) * 3;
				o[0][xo] = lut[0][s[0]];
				o[1][xo] = lut[1][s[1]];
				o[2][xo] = lut[2][s[2]];
			}
		}
	}
	if (p->erase)
		for (int k = 0; k < 3; k++)
			for (int y = p->erase_y; y < p->erase_y + p->erase_h; y++)
				for (int xo = p->erase_x; xo < p->erase_x + p->erase_w; xo++)
					x[k * plane + (size_t)y * W + xo] = drop_aug_erase_fill[k];
	if (!label)
		return;

	const int ho = H / DROP_AUG_LABEL_STRIDE, wo = W / DROP_AUG_LABEL_STRIDE;
	for (int i = 0; i < ho; i++) {
		int y = (int)((long)i * H / ho), ys = y + p->crop_y - pad;
		bool yerased = p->erase && y >= p->erase_y && y < p->erase_y + p->erase_h;
		for (int j = 0; j < wo; j++) {
			int xo = (int)((long)j * W / wo), xs = xo + p->crop_x - pad;
			bool erased = yerased && xo >= p->erase_x && xo < p->erase_x + p->erase_w;
			uint8_t v = 0;
			if (!erased && ys >= 0 && ys < H && xs >= 0 && xs < W) {
				long xf = p->flip ? W - 1 - xs : xs;
				v = label[(size_t)(ys * (long)lh / H) * lw + (size_t)(xf * lw / W)];
			}
			lab[(size_t)i * wo + j] = v;
		}
	}
}

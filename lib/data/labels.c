/*
 * labels.c - PifPaf fields to part labels and soft targets, nearest resizing, the label
 * palette, overlays and output names (see labels.h). Plain C loops; no I/O.
 */
#include "labels.h"
#include "../core/drop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Sasha Trubetskoy's "20 simple, distinct colours", the first fourteen. */
const uint8_t drop_label_palette[DROP_MAX_PARTS + 1][3] = {
	{ 0, 0, 0 },       /* 0 background: black */
	{ 230, 25, 75 },   /* 1 red */
	{ 60, 180, 75 },   /* 2 green */
	{ 255, 225, 25 },  /* 3 yellow */
	{ 0, 130, 200 },   /* 4 blue */
	{ 245, 130, 48 },  /* 5 orange */
	{ 145, 30, 180 },  /* 6 purple */
	{ 70, 240, 240 },  /* 7 cyan */
	{ 240, 50, 230 },  /* 8 magenta */
	{ 210, 245, 60 },  /* 9 lime */
	{ 250, 190, 212 }, /* 10 pink */
	{ 0, 128, 128 },   /* 11 teal */
	{ 220, 190, 255 }, /* 12 lavender */
	{ 170, 110, 40 },  /* 13 brown */
	{ 255, 250, 200 }, /* 14 beige */
};

int drop_field_check(const struct drop_npy_array *a)
{
	const struct drop_npy_header *h = &a->h;
	if (h->nfields || h->base.type != NPY_F4)
		return drop_fail("expected a float array");
	if (h->ndim != 3 || h->shape[0] != DROP_PIFPAF_CHANNELS) {
		char shape[128] = "(";
		for (int i = 0; i < h->ndim; i++) {
			size_t n = strlen(shape);
			snprintf(shape + n, sizeof shape - n, "%s%zu", i ? ", " : "", h->shape[i]);
		}
		size_t n = strlen(shape);
		snprintf(shape + n, sizeof shape - n, h->ndim == 1 ? ",)" : ")");
		return drop_fail("expected a [%d, h, w] PifPaf field, got shape %s",
		                 DROP_PIFPAF_CHANNELS, shape);
	}
	if (h->shape[1] == 0 || h->shape[2] == 0)
		return drop_fail("empty field (%zu x %zu)", h->shape[1], h->shape[2]);
	if (h->shape[1] > 65535 || h->shape[2] > 65535)
		return drop_fail("field too large (%zu x %zu, at most 65535 x 65535)",
		                 h->shape[1], h->shape[2]);
	const float *v = a->data;
	size_t hw = h->shape[1] * h->shape[2];
	for (size_t i = 0; i < h->count; i++)
		if (!isfinite(v[i]))
			return drop_fail("%s at channel %zu, row %zu, column %zu",
			                 isnan(v[i]) ? "NaN" : "infinite value", i / hw,
			                 i % hw / h->shape[2], i % h->shape[2]);
	return 0;
}

void drop_labels_group(const struct drop_grouping *g, const float *field, size_t hw,
                       float *groups)
{
	for (int k = 0; k < g->k; k++) {
		const struct drop_part *part = &g->parts[k];
		float *out = groups + (size_t)k * hw;
		const float *first = field + (size_t)part->ch[0] * hw;
		for (size_t p = 0; p < hw; p++)
			out[p] = first[p];
		for (int i = 1; i < part->n; i++) {
			const float *c = field + (size_t)part->ch[i] * hw;
			for (size_t p = 0; p < hw; p++)
				out[p] = c[p] > out[p] ? c[p] : out[p];
		}
		for (size_t p = 0; p < hw; p++)
			out[p] = out[p] < 0.0f ? 0.0f : out[p] > 1.0f ? 1.0f : out[p];
	}
}

void drop_labels_hard(const struct drop_grouping *g, const float *field, size_t hw,
                      float threshold, uint8_t *labels)
{
	float *groups = drop_malloc((size_t)g->k * hw * sizeof *groups);   /* (k, hw) */
	drop_labels_group(g, field, hw, groups);
	for (size_t p = 0; p < hw; p++) {
		int best = 0;
		float max = groups[p];
		for (int k = 1; k < g->k; k++)
			if (groups[(size_t)k * hw + p] > max) {
				max = groups[(size_t)k * hw + p];
				best = k;
			}
		/* max <= 0 only matters with threshold 0: every channel of the target ties at
		 * 0 there, and BPBreID's argmax picks the background. */
		labels[p] = max < threshold || max <= 0.0f ? 0 : (uint8_t)(1 + best);
	}
	free(groups);
}

void drop_labels_soft(const struct drop_grouping *g, const float *field, size_t hw,
                      float threshold, float *soft)
{
	/* soft[0] holds the background, soft[1..k] the groups, then the softmax in place. */
	drop_labels_group(g, field, hw, soft + hw);
	int c = g->k + 1;
	for (size_t p = 0; p < hw; p++) {
		float max = 0.0f;
		for (int k = 1; k < c; k++)
			max = soft[(size_t)k * hw + p] > max ? soft[(size_t)k * hw + p] : max;
		soft[p] = max < threshold ? 1.0f : 0.0f;
		/* Every value is in [0, 1] and 1 is the largest possible, so exp(15 (v - 1))
		 * cannot overflow and the sum is at least exp(-15) per channel. */
		double e[DROP_MAX_PARTS + 1], sum = 0;
		for (int k = 0; k < c; k++) {
			e[k] = exp(DROP_LABELS_SOFTMAX_WEIGHT * ((double)soft[(size_t)k * hw + p] - 1));
			sum += e[k];
		}
		for (int k = 0; k < c; k++)
			soft[(size_t)k * hw + p] = (float)(e[k] / sum);
	}
}

void drop_resize_nearest_u8(const uint8_t *src, int sh, int sw, uint8_t *dst, int dh, int dw)
{
	for (int y = 0; y < dh; y++) {
		const uint8_t *row = src + (size_t)((int64_t)y * sh / dh) * (size_t)sw;
		for (int x = 0; x < dw; x++)
			dst[(size_t)y * (size_t)dw + (size_t)x] = row[(int64_t)x * sw / dw];
	}
}

void drop_resize_nearest_f32(const float *src, int c, int sh, int sw, float *dst, int dh,
                             int dw)
{
	size_t splane = (size_t)sh * (size_t)sw, dplane = (size_t)dh * (size_t)dw;
	for (int k = 0; k < c; k++)
		for (int y = 0; y < dh; y++) {
			const float *row = src + (size_t)k * splane +
			                   (size_t)((int64_t)y * sh / dh) * (size_t)sw;
			float *out = dst + (size_t)k * dplane + (size_t)y * (size_t)dw;
			for (int x = 0; x < dw; x++)
				out[x] = row[(int64_t)x * sw / dw];
		}
}

void drop_labels_overlay(uint8_t *rgb, int h, int w, const uint8_t *labels, int lh, int lw)
{
	for (int y = 0; y < h; y++) {
		const uint8_t *row = labels + (size_t)((int64_t)y * lh / h) * (size_t)lw;
		for (int x = 0; x < w; x++) {
			int l = row[(int64_t)x * lw / w];
			if (l == 0)
				continue;
			if (l > DROP_MAX_PARTS)
				l = DROP_MAX_PARTS;
			uint8_t *px = rgb + ((size_t)y * (size_t)w + (size_t)x) * 3;
			for (int i = 0; i < 3; i++)
				px[i] = (uint8_t)((px[i] + drop_label_palette[l][i] + 1) / 2);
		}
	}
}

/* The length of s[0..n) without `suffix` if it ends with it and something is left before it
 * (compared case-insensitively with `nocase`), else n. */
static size_t strip(const char *s, size_t n, const char *suffix, int nocase)
{
	size_t m = strlen(suffix);
	if (n <= m)
		return n;
	if (nocase ? strncasecmp(s + n - m, suffix, m) : strncmp(s + n - m, suffix, m))
		return n;
	return n - m;
}

int drop_labels_stem(const char *name, char *stem, size_t cap)
{
	static const char *const image_ext[] = { ".jpg", ".jpeg", ".png", ".tif", ".tiff",
	                                         ".bmp" };
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	size_t n = strlen(base);
	n = strip(base, n, ".npy", 0);
	n = strip(base, n, ".confidence_fields", 0);
	for (size_t i = 0; i < sizeof image_ext / sizeof image_ext[0]; i++) {
		size_t m = strip(base, n, image_ext[i], 1);
		if (m != n) {
			n = m;
			break;
		}
	}
	if (n == 0)
		return drop_fail("no file name left after removing the extensions");
	if (n >= cap)
		return drop_fail("file name too long");
	memcpy(stem, base, n);
	stem[n] = '\0';
	return 0;
}

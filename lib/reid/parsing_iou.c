/*
 * parsing_iou.c - IoU of a predicted parsing against part labels (see parsing_iou.h).
 */
#include "parsing_iou.h"

#include <math.h>
#include <string.h>

#include "../core/drop.h"

#define FG (DROP_MAX_PARTS + 1)

void drop_parsing_counts_init(struct drop_parsing_counts *c, int k)
{
	DROP_ASSERT(k >= 1 && k <= DROP_MAX_PARTS, "%d parts", k);
	memset(c, 0, sizeof *c);
	c->k = k;
}

int drop_parsing_counts_add(struct drop_parsing_counts *c, const uint8_t *pred,
                            const uint8_t *truth, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pred[i] > c->k || truth[i] > c->k)
			return drop_fail("label %d at pixel %zu, expected 0..%d",
			                 pred[i] > c->k ? pred[i] : truth[i], i, c->k);
	for (size_t i = 0; i < n; i++) {
		int p = pred[i], t = truth[i];
		c->uni[p]++;
		if (p == t)
			c->inter[p]++;
		else
			c->uni[t]++;
		if (p || t) {
			c->uni[FG]++;
			c->inter[FG] += p && t;
		}
	}
	c->pixels += n;
	return 0;
}

void drop_parsing_counts_merge(struct drop_parsing_counts *dst,
                               const struct drop_parsing_counts *src)
{
	DROP_ASSERT(dst->k == src->k, "parsing counts of %d and %d parts", dst->k, src->k);
	for (int i = 0; i < DROP_MAX_PARTS + 2; i++) {
		dst->inter[i] += src->inter[i];
		dst->uni[i] += src->uni[i];
	}
	dst->pixels += src->pixels;
}

double drop_parsing_pixel_accuracy(const struct drop_parsing_counts *c)
{
	uint64_t right = 0;
	for (int cls = 0; cls <= c->k; cls++)
		right += c->inter[cls];
	return c->pixels ? (double)right / (double)c->pixels : NAN;
}

static double ratio(uint64_t inter, uint64_t uni)
{
	return uni ? (double)inter / (double)uni : NAN;
}

double drop_parsing_iou(const struct drop_parsing_counts *c, int cls)
{
	DROP_ASSERT(cls >= 0 && cls <= c->k, "class %d of %d parts", cls, c->k);
	return ratio(c->inter[cls], c->uni[cls]);
}

double drop_parsing_fg_iou(const struct drop_parsing_counts *c)
{
	return ratio(c->inter[FG], c->uni[FG]);
}

double drop_parsing_mean_part_iou(const struct drop_parsing_counts *c)
{
	double sum = 0;
	int n = 0;
	for (int k = 1; k <= c->k; k++)
		if (c->uni[k]) {
			sum += ratio(c->inter[k], c->uni[k]);
			n++;
		}
	return n ? sum / n : NAN;
}

void drop_parsing_argmax(const float *logits, int n, int k1, size_t hw, uint8_t *labels)
{
	for (int i = 0; i < n; i++)
		for (size_t p = 0; p < hw; p++) {
			const float *l = logits + (size_t)i * k1 * hw + p;
			int best = 0;
			for (int k = 1; k < k1; k++)
				if (l[(size_t)k * hw] > l[(size_t)best * hw])
					best = k;
			labels[(size_t)i * hw + p] = (uint8_t)best;
		}
}

/*
 * roc.c - the ROC curve of the kept query-gallery pairs, its figures, TSV and PNG (see
 * roc.h). The distances are sorted with a radix sort on their bits; one sweep over both
 * sorted lists makes the points, keeps those where the curve bends and the figures.
 */
#include "roc.h"
#include "../core/drop.h"
#include "../io/canvas.h"
#include "../io/png.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const double drop_roc_fpr_at[DROP_ROC_NFPR] = { 1e-4, 1e-3, 1e-2 };
const char *const drop_roc_fpr_names[DROP_ROC_NFPR] = { "1e-4", "1e-3", "1e-2" };

/* ---- Collecting pairs -------------------------------------------------------------------- */

static void push(float **a, size_t *n, size_t *cap, float v)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 4096;
		*a = drop_realloc(*a, *cap * sizeof **a);
	}
	(*a)[(*n)++] = v;
}

/* Whether the protocol keeps gallery item (pid, cam) for a query (qpid, qcam). */
static bool kept(int32_t qpid, int32_t qcam, int32_t pid, int32_t cam)
{
	return pid != -1 && !(pid == qpid && cam == qcam);
}

void drop_roc_add(struct drop_roc *r, int32_t qpid, int32_t qcam, const int32_t *gpid,
                  const int32_t *gcam, size_t ng, const int32_t *index, const float *dist,
                  size_t k)
{
	if (r->ng != ng) {
		free(r->listed);
		r->listed = drop_calloc(ng ? ng : 1, 1);
		r->ng = ng;
	}
	for (size_t i = 0; i < k; i++) {
		int32_t j = index[i];
		r->listed[j] = 1;
		if (!kept(qpid, qcam, gpid[j], gcam[j]))
			continue;
		if (gpid[j] == qpid)
			push(&r->pos, &r->npos, &r->cpos, dist[i]);
		else
			push(&r->neg, &r->nneg, &r->cneg, dist[i]);
	}
	for (size_t j = 0; k < ng && j < ng; j++)
		if (!r->listed[j] && kept(qpid, qcam, gpid[j], gcam[j])) {
			if (gpid[j] == qpid)
				r->upos++;
			else
				r->uneg++;
		}
	for (size_t i = 0; i < k; i++)
		r->listed[index[i]] = 0;
}

/* ---- Sorting ----------------------------------------------------------------------------- */

/* The float's bits as an unsigned key in the float's order (negative values reversed). */
static uint32_t key(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u & 0x80000000u ? ~u : u | 0x80000000u;
}

/* Sort x (n,) ascending: LSD radix sort, four passes of 8 bits. */
static void sort_floats(float *x, size_t n)
{
	float *tmp = drop_malloc((n ? n : 1) * sizeof *tmp);
	float *src = x, *dst = tmp;
	for (int shift = 0; shift < 32; shift += 8) {
		size_t count[257] = { 0 };
		for (size_t i = 0; i < n; i++)
			count[(key(src[i]) >> shift & 0xff) + 1]++;
		for (int b = 0; b < 256; b++)
			count[b + 1] += count[b];
		for (size_t i = 0; i < n; i++)
			dst[count[key(src[i]) >> shift & 0xff]++] = src[i];
		float *t = src;
		src = dst;
		dst = t;
	}
	/* four passes: the result is back in x */
	free(tmp);
}

/* ---- The curve --------------------------------------------------------------------------- */

/* A raw point: its threshold and the accepted counts. */
struct point {
	double thr;
	size_t fp, tp;
};

struct sweep {
	struct drop_roc_curve *c;
	size_t cap;
	double P, N;
	struct point prev2, prev; /* the last two raw points */
	size_t nraw;
};

static void keep(struct sweep *s, struct point p)
{
	struct drop_roc_curve *c = s->c;
	if (c->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		c->thr = drop_realloc(c->thr, s->cap * sizeof *c->thr);
		c->fpr = drop_realloc(c->fpr, s->cap * sizeof *c->fpr);
		c->tpr = drop_realloc(c->tpr, s->cap * sizeof *c->tpr);
	}
	c->thr[c->n] = p.thr;
	c->fpr[c->n] = (double)p.fp / s->N;
	c->tpr[c->n] = (double)p.tp / s->P;
	c->n++;
}

/* The next raw point: the previous one is kept unless it lies halfway between its two
 * neighbours (scikit-learn's drop_intermediate rule: second differences of zero); the
 * figures are updated from the raw points. */
static void next(struct sweep *s, struct point p)
{
	struct drop_roc_curve *c = s->c;
	double f = (double)p.fp / s->N, t = (double)p.tp / s->P;
	for (int i = 0; i < DROP_ROC_NFPR; i++)
		if (f <= drop_roc_fpr_at[i])
			c->tpr_at[i] = t;
	if (s->nraw > 0 && isnan(c->eer) && f >= 1 - t) {
		double f0 = (double)s->prev.fp / s->N, t0 = (double)s->prev.tp / s->P;
		double a = (1 - t0 - f0) / ((f - f0) + (t - t0));
		c->eer = f0 + a * (f - f0);
	}
	if (s->nraw >= 2) {
		struct point a = s->prev2, b = s->prev;
		bool bend = p.fp + a.fp != 2 * b.fp || p.tp + a.tp != 2 * b.tp;
		if (bend)
			keep(s, b);
	}
	if (s->nraw == 0)
		keep(s, p);
	s->prev2 = s->prev;
	s->prev = p;
	s->nraw++;
}

int drop_roc_curve(struct drop_roc *r, struct drop_roc_curve *c)
{
	memset(c, 0, sizeof *c);
	c->npos = r->npos + r->upos;
	c->nneg = r->nneg + r->uneg;
	if (c->npos == 0 || c->nneg == 0)
		return drop_fail("no %s query-gallery pair to draw a ROC curve from",
		                 c->npos == 0 ? "positive" : "negative");
	sort_floats(r->pos, r->npos);
	sort_floats(r->neg, r->nneg);
	struct sweep s = { .c = c, .P = (double)c->npos, .N = (double)c->nneg };
	for (int i = 0; i < DROP_ROC_NFPR; i++)
		c->tpr_at[i] = 0;
	c->eer = NAN;
	next(&s, (struct point){ -INFINITY, 0, 0 });
	size_t i = 0, j = 0;
	while (i < r->npos || j < r->nneg) {
		float t = i < r->npos && (j == r->nneg || r->pos[i] <= r->neg[j]) ? r->pos[i]
		                                                                   : r->neg[j];
		while (i < r->npos && r->pos[i] == t)
			i++;
		while (j < r->nneg && r->neg[j] == t)
			j++;
		next(&s, (struct point){ t, j, i });
	}
	if (r->upos || r->uneg)
		next(&s, (struct point){ INFINITY, c->nneg, c->npos });
	keep(&s, s.prev); /* the last point */
	return 0;
}

/* ---- Writing ----------------------------------------------------------------------------- */

void drop_roc_write_tsv(FILE *f, const struct drop_roc_curve *c)
{
	fputs("threshold\tfpr\ttpr\n", f);
	for (size_t i = 0; i < c->n; i++) {
		if (isinf(c->thr[i]))
			fputs(c->thr[i] < 0 ? "-inf" : "inf", f);
		else
			fprintf(f, "%.9g", c->thr[i]);
		fprintf(f, "\t%.9g\t%.9g\n", c->fpr[i], c->tpr[i]);
	}
}

/* The plot's geometry: a 640 x 480 canvas, the axes' box inside margins. */
enum { PLOT_W = 640, PLOT_H = 480, LEFT = 64, RIGHT = 24, TOP = 40, BOTTOM = 56 };
#define LOG_FPR_MIN (-5.0)

static int plot_x(double fpr)
{
	double l = fpr > 0 ? log10(fpr) : LOG_FPR_MIN;
	l = l < LOG_FPR_MIN ? LOG_FPR_MIN : l;
	return LEFT + (int)lround((l - LOG_FPR_MIN) / -LOG_FPR_MIN * (PLOT_W - LEFT - RIGHT));
}

static int plot_y(double tpr)
{
	return PLOT_H - BOTTOM - (int)lround(tpr * (PLOT_H - TOP - BOTTOM));
}

int drop_roc_write_png(FILE *f, const struct drop_roc_curve *c)
{
	static const uint8_t white[3] = { 255, 255, 255 }, ink[3] = { 40, 40, 40 },
	                     grid[3] = { 225, 225, 225 }, curve[3] = { 31, 119, 180 };
	struct drop_canvas cv = { PLOT_W, PLOT_H, drop_malloc((size_t)PLOT_W * PLOT_H * 3) };
	drop_canvas_fill(&cv, 0, 0, PLOT_W, PLOT_H, white);
	int x0 = plot_x(0), x1 = plot_x(1), y0 = plot_y(0), y1 = plot_y(1);
	char label[64];
	for (int e = (int)LOG_FPR_MIN; e <= 0; e++) {
		int x = plot_x(pow(10, e));
		drop_canvas_fill(&cv, x, y1, 1, y0 - y1, grid);
		snprintf(label, sizeof label, "1e%d", e);
		drop_canvas_text(&cv, x - drop_canvas_text_width((int)strlen(label), 1) / 2, y0 + 6,
		                 1, label, ink);
	}
	for (int k = 0; k <= 10; k++) {
		int y = plot_y(k / 10.0);
		drop_canvas_fill(&cv, x0, y, x1 - x0, 1, grid);
		snprintf(label, sizeof label, "%.1f", k / 10.0);
		drop_canvas_text(&cv, x0 - 6 - drop_canvas_text_width((int)strlen(label), 1),
		                 y - DROP_GLYPH_H / 2, 1, label, ink);
	}
	drop_canvas_fill(&cv, x0, y0, x1 - x0 + 1, 1, ink);
	drop_canvas_fill(&cv, x0, y1, x1 - x0 + 1, 1, ink);
	drop_canvas_fill(&cv, x0, y1, 1, y0 - y1, ink);
	drop_canvas_fill(&cv, x1, y1, 1, y0 - y1, ink);
	/* the curve: straight segments between its points */
	for (size_t i = 1; i < c->n; i++) {
		int xa = plot_x(c->fpr[i - 1]), xb = plot_x(c->fpr[i]);
		int ya = plot_y(c->tpr[i - 1]), yb = plot_y(c->tpr[i]);
		drop_canvas_line(&cv, xa, ya, xb, yb, 2, curve);
	}
	const char *xlabel = "false positive rate (FPR), log scale";
	drop_canvas_text(&cv, x0 + (x1 - x0 - drop_canvas_text_width((int)strlen(xlabel), 1)) / 2,
	                 PLOT_H - 22, 1, xlabel, ink);
	drop_canvas_text(&cv, 8, 8, 2, "ROC", ink);
	snprintf(label, sizeof label, "TPR at FPR 1e-4: %.3f, 1e-3: %.3f, 1e-2: %.3f; EER %.4f",
	         c->tpr_at[0], c->tpr_at[1], c->tpr_at[2], c->eer);
	drop_canvas_text(&cv, 64, 14, 1, label, ink);
	snprintf(label, sizeof label, "%zu positive, %zu negative pairs", c->npos, c->nneg);
	drop_canvas_text(&cv, x1 - drop_canvas_text_width((int)strlen(label), 1) - 6, y0 - 16,
	                 1, label, ink);
	drop_canvas_text(&cv, x0 + 6, y1 + 6, 1, "TPR", ink);
	int rc = drop_png_write_rgb(f, cv.rgb, PLOT_W, PLOT_H);
	free(cv.rgb);
	return rc;
}

void drop_roc_free(struct drop_roc *r)
{
	free(r->pos);
	free(r->neg);
	free(r->listed);
	memset(r, 0, sizeof *r);
}

void drop_roc_curve_free(struct drop_roc_curve *c)
{
	free(c->thr);
	free(c->fpr);
	free(c->tpr);
	memset(c, 0, sizeof *c);
}

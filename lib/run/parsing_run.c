/*
 * parsing_run.c - predicted part maps against their labels (see parsing_run.h).
 */
#include "parsing_run.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/drop.h"
#include "../data/groupings.h"
#include "../data/labels.h"
#include "../io/png.h"
#include "../io/walk.h"

/* Read the indexed PNG at path into im; its parts (palette entries - 1) into *k. */
static int read_map(const char *path, struct drop_png_image *im, int *k)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return drop_fail("%s", strerror(errno));
	int rc = drop_png_read_indexed(f, im);
	fclose(f);
	if (rc)
		return -1;
	if (im->npalette < 2 || im->npalette > DROP_MAX_PARTS + 1) {
		drop_png_image_free(im);
		return drop_fail("expected an indexed PNG of the label palette (2 to %d entries), "
		                 "got %d entries", DROP_MAX_PARTS + 1, im->npalette);
	}
	*k = im->npalette - 1;
	return 0;
}

/* Count one pair of files; the first pair sets the run's number of parts. */
static int score_pair(const char *pred_path, const char *label_path,
                      struct drop_parsing_scores *s, char **file)
{
	struct drop_png_image p = { 0 }, l = { 0 };
	int kp, kl, rc = -1;
	if (read_map(pred_path, &p, &kp)) {
		*file = drop_strdup(pred_path);
		return -1;
	}
	if (read_map(label_path, &l, &kl)) {
		*file = drop_strdup(label_path);
		goto done;
	}
	if (!s->maps)
		drop_parsing_counts_init(&s->c, kl);
	if (kl != s->c.k || kp != s->c.k) {
		*file = drop_strdup(kl != s->c.k ? label_path : pred_path);
		drop_fail("%d parts, the first files had %d", kl != s->c.k ? kl : kp, s->c.k);
		goto done;
	}
	size_t n = (size_t)p.w * p.h;
	uint8_t *truth = l.pix;
	if (l.w != p.w || l.h != p.h) {
		truth = drop_malloc(n);
		drop_resize_nearest_u8(l.pix, l.h, l.w, truth, p.h, p.w);
	}
	rc = drop_parsing_counts_add(&s->c, p.pix, truth, n);
	if (rc)
		*file = drop_strdup(pred_path);
	else
		s->maps++;
	if (truth != l.pix)
		free(truth);
done:
	drop_png_image_free(&p);
	drop_png_image_free(&l);
	return rc;
}

static void walk_error(const char *path, const char *reason, void *ctx)
{
	char **first = ctx;
	if (!*first) {
		*first = drop_strdup(path);
		drop_fail("%s", reason);
	}
}

int drop_parsingrun(const char *pred_dir, const char *labels_dir, struct drop_parsing_scores *s,
                    char **file)
{
	memset(s, 0, sizeof *s);
	*file = NULL;
	if (!drop_is_dir(pred_dir) || !drop_is_dir(labels_dir)) {
		*file = drop_strdup(drop_is_dir(pred_dir) ? labels_dir : pred_dir);
		return drop_fail("not a folder");
	}
	struct drop_walk w = { 0 };
	if (drop_walk(pred_dir, ".png", &w, walk_error, file)) {
		drop_walk_free(&w);
		return -1;
	}
	int rc = 0;
	if (!w.n) {
		*file = drop_strdup(pred_dir);
		rc = drop_fail("no .png file in the folder");
	}
	for (size_t i = 0; i < w.n && !rc; i++) {
		char *pp = drop_path_join(pred_dir, w.rel[i]), *lp = drop_path_join(labels_dir, w.rel[i]);
		rc = score_pair(pp, lp, s, file);
		free(pp);
		free(lp);
	}
	drop_walk_free(&w);
	if (rc)
		memset(s, 0, sizeof *s);
	return rc;
}

int drop_parsing_grouping(const struct drop_parsing_scores *s, const char *name,
                          const struct drop_grouping **g)
{
	int k = s->c.k;
	*g = NULL;
	if (!name) {
		*g = drop_grouping_find(k == 8 ? "eight" : k == 5 ? "five_v" : "");
		return 0;
	}
	const struct drop_grouping *found = drop_grouping_find(name);
	if (!found)
		return drop_fail("no grouping called '%s' (drop-labels --list-groupings)", name);
	if (found->k != k)
		return drop_fail("grouping '%s' has %d parts, the maps %d", name, found->k, k);
	*g = found;
	return 0;
}

/* Part i's name without BPBreID's "_mask" suffix into buf. */
static const char *part_name(const struct drop_grouping *g, int i, char *buf, size_t cap)
{
	if (!g) {
		snprintf(buf, cap, "part %d", i + 1);
		return buf;
	}
	const char *nm = g->parts[i].name, *suf = strstr(nm, "_mask");
	snprintf(buf, cap, "%.*s", suf ? (int)(suf - nm) : (int)strlen(nm), nm);
	return buf;
}

static void json_number(FILE *f, double v)
{
	if (isnan(v))
		fprintf(f, "null");
	else
		fprintf(f, "%.10g", v);
}

static void table_row(FILE *f, const char *name, double v)
{
	if (isnan(v))
		fprintf(f, "%-16s %6s\n", name, "-");
	else
		fprintf(f, "%-16s %6.2f%%\n", name, 100 * v);
}

void drop_parsing_scores_print(FILE *f, const struct drop_parsing_scores *s,
                               const struct drop_grouping *g, bool json)
{
	const struct drop_parsing_counts *c = &s->c;
	char buf[64];
	if (json) {
		fprintf(f, "{\"maps\": %zu, \"parts\": %d, \"pixels\": %llu, \"background\": ",
		        s->maps, c->k, (unsigned long long)c->pixels);
		json_number(f, drop_parsing_iou(c, 0));
		fprintf(f, ", \"foreground\": ");
		json_number(f, drop_parsing_fg_iou(c));
		fprintf(f, ", \"parts_iou\": [");
		for (int i = 1; i <= c->k; i++) {
			fprintf(f, i > 1 ? ", " : "");
			json_number(f, drop_parsing_iou(c, i));
		}
		fprintf(f, "], \"mean_part_iou\": ");
		json_number(f, drop_parsing_mean_part_iou(c));
		fprintf(f, "}\n");
		return;
	}
	fprintf(f, "Parsing IoU: %zu maps, %d parts, %llu pixels\n", s->maps, c->k,
	        (unsigned long long)c->pixels);
	table_row(f, "background", drop_parsing_iou(c, 0));
	table_row(f, "foreground", drop_parsing_fg_iou(c));
	for (int i = 0; i < c->k; i++)
		table_row(f, part_name(g, i, buf, sizeof buf), drop_parsing_iou(c, i + 1));
	table_row(f, "mean part IoU", drop_parsing_mean_part_iou(c));
}

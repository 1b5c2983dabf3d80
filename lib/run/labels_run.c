/*
 * labels_run.c - converting field files to labels, one at a time and in parallel (see
 * labels_run.h); the checks of the inputs against the output, the list of groupings.
 */
#include "labels_run.h"
#include "../core/drop.h"
#include "../io/image.h"
#include "labels_plan.h"
#include "../data/labels.h"
#include "../io/npy.h"
#include "../io/outfile.h"
#include "../io/png.h"
#include "../core/progress.h"
#include "../io/walk.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- Converting one file ----------------------------------------------------------------- */

/* The labels of one field, as they are written. */
struct label_map {
	const struct drop_labelrun_opts *o;
	int h, w;
	uint8_t *labels;             /* (h, w) */
	float *soft;                 /* (K + 1, h, w), or NULL */
};

static int write_png(FILE *f, void *ctx)
{
	const struct label_map *m = ctx;
	const struct drop_grouping *g = m->o->grouping;
	char text[64];
	snprintf(text, sizeof text, "grouping=%s K=%d threshold=%g", g->name, g->k,
	         (double)m->o->threshold);
	return drop_png_write_indexed(f, m->labels, m->w, m->h, drop_label_palette, g->k + 1,
	                              "drop-labels", text);
}

static int write_npy(FILE *f, void *ctx)
{
	const struct label_map *m = ctx;
	struct drop_npy_header h;
	size_t shape[3] = { (size_t)m->o->grouping->k + 1, (size_t)m->h, (size_t)m->w };
	if (drop_npy_header_plain(&h, NPY_F4, 3, shape) || drop_npy_write(f, &h, m->soft))
		return drop_fail("write error: %s", strerror(errno));
	return 0;
}

static int write_overlay(FILE *f, void *ctx)
{
	const struct drop_image *im = ctx;
	return drop_png_write_rgb(f, im->rgb, im->w, im->h);
}

/* The image IMAGES/<folder of rel>/<stem>.{jpg,jpeg,png,tif} blended with m's labels, written to
 * j->overlay_out. */
static int overlay(const struct drop_labelrun_opts *o, const struct drop_labeljob *j,
                   const struct label_map *m)
{
	static const char *const ext[] = { ".jpg", ".jpeg", ".png", ".tif", ".tiff",
	                                   ".JPG", ".JPEG", ".PNG", ".TIF", ".TIFF" };
	char *base = NULL;
	for (size_t i = 0; i < sizeof ext / sizeof ext[0] && !base; i++) {
		char *p = drop_labeljob_path(o->overlay, j->rel, ext[i]);
		if (!p)
			return -1;
		if (access(p, F_OK) == 0)
			base = p;
		else
			free(p);
	}
	if (!base) {
		char *p = drop_labeljob_path(o->overlay, j->rel, ".{jpg,jpeg,png,tif}");
		drop_fail("no image %s for the overlay", p ? p : "?");
		free(p);
		return -1;
	}
	struct drop_image im;
	int rc = drop_image_read(base, &im);
	if (rc) {
		drop_fail("%s: %s", base, drop_errmsg());
	} else {
		drop_labels_overlay(im.rgb, im.h, im.w, m->labels, m->h, m->w);
		rc = drop_write_file(j->overlay_out, write_overlay, &im);
		drop_image_free(&im);
	}
	free(base);
	return rc;
}

/* Resize m's maps to (h, w) by nearest neighbour, replacing them. */
static void resize(struct label_map *m, int h, int w)
{
	uint8_t *l = drop_malloc((size_t)h * (size_t)w);
	drop_resize_nearest_u8(m->labels, m->h, m->w, l, h, w);
	free(m->labels);
	m->labels = l;
	if (m->soft) {
		int c = m->o->grouping->k + 1;
		float *s = drop_malloc((size_t)c * (size_t)h * (size_t)w * sizeof *s);
		drop_resize_nearest_f32(m->soft, c, m->h, m->w, s, h, w);
		free(m->soft);
		m->soft = s;
	}
	m->h = h;
	m->w = w;
}

/* Read j->in, make its labels and write them to j->out (stdout when NULL), then the
 * overlay. Returns -1 with drop_errmsg() set (without the input's name). */
static int convert(const struct drop_labelrun_opts *o, const struct drop_labeljob *j)
{
	struct drop_npy_array a;
	if (drop_npy_load_f32(j->in, &a))
		return -1;
	if (drop_field_check(&a)) {
		drop_npy_array_free(&a);
		return -1;
	}
	const struct drop_grouping *g = o->grouping;
	struct label_map m = { .o = o, .h = (int)a.h.shape[1], .w = (int)a.h.shape[2] };
	size_t hw = (size_t)m.h * (size_t)m.w;
	m.labels = drop_malloc(hw);
	drop_labels_hard(g, a.data, hw, o->threshold, m.labels);
	if (o->soft) {
		m.soft = drop_malloc((size_t)(g->k + 1) * hw * sizeof *m.soft);
		drop_labels_soft(g, a.data, hw, o->threshold, m.soft);
	}
	drop_npy_array_free(&a);
	if (o->size_h)
		resize(&m, o->size_h, o->size_w);

	int (*fill)(FILE *, void *) = o->soft ? write_npy : write_png;
	int rc;
	if (j->out) {
		rc = drop_write_file(j->out, fill, &m);
	} else {
		struct drop_out out;
		rc = drop_out_open(&out, "-", true);
		if (rc == 0) {
			rc = fill(out.f, &m);
			if (rc)
				drop_out_abort(&out);
			else
				rc = drop_out_commit(&out);
		}
		if (rc)
			drop_fail("stdout: %s", drop_errmsg());
	}
	if (rc == 0 && j->overlay_out)
		rc = overlay(o, j, &m);
	free(m.labels);
	free(m.soft);
	return rc;
}

/* ---- The parallel run -------------------------------------------------------------------- */

/* Convert every job without an `err` yet, in parallel, and report every failed job in input
 * order. Returns the number of failed jobs. */
static size_t run_jobs(struct drop_labeljobs *js, const struct drop_labelrun_opts *o,
                       bool progress)
{
	struct drop_progress *p = drop_progress_start("files", js->n, progress);
	/* Errors are printed in input order without holding workers back: a finished job is
	 * marked done, and whoever finishes reports every done job from the first unreported
	 * one on. */
	size_t failed = 0, next = 0;
	#pragma omp parallel for schedule(dynamic, 4)
	for (size_t i = 0; i < js->n; i++) {
		struct drop_labeljob *j = &js->v[i];
		if (!j->err && convert(o, j))
			j->err = drop_strdup(drop_errmsg());
		#pragma omp critical(drop_labels_report)
		{
			j->done = true;
			for (; next < js->n && js->v[next].done; next++)
				if (js->v[next].err) {
					drop_progress_error(p, "%s: %s", js->v[next].in, js->v[next].err);
					failed++;
				}
		}
		drop_progress_add(p, 1);
	}
	drop_progress_end(p);
	return failed;
}

int drop_labelrun(char *const *inputs, int n, const char *output,
                  const struct drop_labelrun_opts *o, bool progress)
{
	struct drop_labeljobs js = { 0 };
	drop_labeljobs_collect(&js, inputs, n);
	if (output) {
		if (drop_mkdirs(output)) {
			drop_labeljobs_free(&js);
			return -1;
		}
		drop_labeljobs_name(&js, output, o->soft ? ".npy" : ".png", o->overlay != NULL);
		drop_labeljobs_make_folders(&js);
	}
	size_t failed = run_jobs(&js, o, progress);
	drop_debug("%zu of %zu files converted ('%s', K=%d)", js.n - failed, js.n,
	           o->grouping->name, o->grouping->k);
	int rc = failed || js.problems ? 1 : 0;
	drop_labeljobs_free(&js);
	return rc;
}

/* ---- Before the run ---------------------------------------------------------------------- */

int drop_labelrun_check_inputs(char *const *inputs, int n, const char **output, bool overlay)
{
	if (n == 0)
		return drop_fail("no input (give .npy field files or folders of them)");
	if (!*output || !strcmp(*output, "-")) {
		if (n > 1 || (strcmp(inputs[0], "-") && drop_is_dir(inputs[0])))
			return drop_fail("several outputs need -o DIR (stdout takes one input file)");
		if (overlay)
			return drop_fail("--overlay needs -o DIR");
		*output = NULL;
	} else {
		for (int i = 0; i < n; i++)
			if (!strcmp(inputs[i], "-"))
				return drop_fail("input '-' (stdin) needs -o - (stdout)");
	}
	return 0;
}

void drop_labelrun_list_groupings(FILE *f, bool channels)
{
	for (int i = 0; drop_grouping_at(i); i++) {
		const struct drop_grouping *g = drop_grouping_at(i);
		fprintf(f, "%s\t%d\t", g->name, g->k);
		for (int p = 0; p < g->k; p++)
			fprintf(f, "%s%s", p ? "," : "", g->parts[p].name);
		fputc('\n', f);
		if (!channels)
			continue;
		for (int p = 0; p < g->k; p++) {
			fprintf(f, "\t%d\t%s\t", p + 1, g->parts[p].name);
			for (int j = 0; j < g->parts[p].n; j++)
				fprintf(f, "%s%d", j ? "," : "", g->parts[p].ch[j]);
			fputc('\n', f);
		}
	}
}

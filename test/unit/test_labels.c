/*
 * tests: lib/data/labels.c and lib/data/groupings.c against the independent NumPy/PyTorch reference
 * of scripts/make-label-fixtures (every grouping, hard and soft, f2/f4/f8 fields, several
 * thresholds), hand-worked cases from doc/bpbreid.md §2.2, the output-name rule,
 * nearest resizing, overlays, the field checks; lib/io/png.c and lib/io/image.c round trips and
 * corrupt files; lib/io/walk.c listings and folders, lib/io/outfile.c whole-file writes;
 * lib/run/labels_plan.c: the jobs of a tree, output names, name collisions, output folders.
 * also requires: test/fixtures/labels (committed)
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/core/drop.h"
#include "../../lib/data/groupings.h"
#include "../../lib/io/image.h"
#include "../../lib/run/labels_plan.h"
#include "../../lib/data/labels.h"
#include "../../lib/io/npy.h"
#include "../../lib/io/outfile.h"
#include "../../lib/io/png.h"
#include "../../lib/io/walk.h"
#include "tap.h"

#define FIX "test/fixtures/labels/"

static char tmpdir[64];

static char *tmp_path(const char *name)
{
	return drop_path_join(tmpdir, name);
}

/* One line of cases.tsv: hard labels and soft targets of a grouping on a field. */
static void test_case(const char *grouping, const char *field, float thr, const char *hard,
                      const char *soft)
{
	const struct drop_grouping *g = drop_grouping_find(grouping);
	CHECK(g != NULL, "grouping %s exists", grouping);
	if (!g)
		return;
	char path[256];
	struct drop_npy_array f, eh, es;
	snprintf(path, sizeof path, FIX "%s", field);
	int rc = drop_npy_load_f32(path, &f);
	CHECK(rc == 0 && drop_field_check(&f) == 0, "load %s (%s)", field,
	      rc ? drop_errmsg() : "ok");
	if (rc)
		return;
	size_t h = f.h.shape[1], w = f.h.shape[2], hw = h * w;
	snprintf(path, sizeof path, FIX "%s", hard);
	rc = drop_npy_load_f32(path, &eh);
	snprintf(path, sizeof path, FIX "%s", soft);
	rc |= drop_npy_load_f32(path, &es);
	CHECK(rc == 0, "load expected %s, %s", hard, soft);
	if (rc) {
		drop_npy_array_free(&f);
		return;
	}
	CHECK(eh.h.count == hw && es.h.count == (size_t)(g->k + 1) * hw, "%s: expected sizes",
	      hard);

	uint8_t *labels = drop_malloc(hw);
	float *s = drop_malloc((size_t)(g->k + 1) * hw * sizeof *s);
	drop_labels_hard(g, f.data, hw, thr, labels);
	drop_labels_soft(g, f.data, hw, thr, s);
	size_t bad = 0, first = 0;
	for (size_t p = 0; p < hw; p++)
		if (labels[p] != ((float *)eh.data)[p] && bad++ == 0)
			first = p;
	CHECK(bad == 0, "%s %s t=%g: hard labels equal the reference", grouping, field,
	      (double)thr);
	if (bad)
		printf("#   %zu differ, first at pixel %zu: %d, expected %g\n", bad, first,
		       labels[first], (double)((float *)eh.data)[first]);
	double maxerr = 0;
	for (size_t i = 0; i < (size_t)(g->k + 1) * hw; i++) {
		double d = fabs((double)s[i] - ((float *)es.data)[i]);
		maxerr = d > maxerr ? d : maxerr;
	}
	/* Both sides evaluate the softmax in double and round once to float32. */
	CHECK(maxerr <= 1e-7, "%s %s t=%g: soft targets equal the reference (max |d| %.3g)",
	      grouping, field, (double)thr, maxerr);
	free(labels);
	free(s);
	drop_npy_array_free(&f);
	drop_npy_array_free(&eh);
	drop_npy_array_free(&es);
}

static void test_reference_cases(void)
{
	FILE *f = fopen(FIX "cases.tsv", "r");
	CHECK(f != NULL, "open cases.tsv");
	if (!f)
		return;
	char line[512];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		char g[64], field[128], hard[128], soft[128];
		float thr;
		if (line[0] == '#')
			continue;
		if (sscanf(line, "%63s %127s %f %127s %127s", g, field, &thr, hard, soft) == 5) {
			test_case(g, field, thr, hard, soft);
			n++;
		}
	}
	fclose(f);
	CHECK(n >= 28, "%d reference cases", n);
}

/* Pixels of the one-hot rows of field_f4 (channel p at 0.9, the rest 0.2): hand-worked
 * labels from the tables of doc/bpbreid.md §2.2. */
static void test_hand_cases(void)
{
	struct drop_npy_array f;
	if (drop_npy_load_f32(FIX "field_f4.npy", &f)) {
		CHECK(0, "load field_f4 (%s)", drop_errmsg());
		return;
	}
	size_t hw = f.h.shape[1] * f.h.shape[2];
	uint8_t *l = drop_malloc(hw);
	drop_labels_hard(drop_grouping_find("eight"), f.data, hw, 0.5f, l);
	CHECK(l[0] == 1 && l[35] == 1, "eight: nose and ear-to-shoulder limb are head");
	CHECK(l[5] == 2 && l[27] == 2, "eight: left shoulder, left elbow-wrist are left arm");
	CHECK(l[21] == 4, "eight: hip-hip limb is torso (4), not left leg (5), on the tie");
	CHECK(l[17] == 5 && l[19] == 6, "eight: ankle-knee limbs are legs");
	CHECK(l[15] == 7 && l[16] == 8, "eight: ankles are feet");
	CHECK(l[36] == 2, "eight: max exactly at the threshold is a part");
	CHECK(l[37] == 0, "eight: just below the threshold is background");
	CHECK(l[38] == 1, "eight: a tie of every part gives the first");
	CHECK(l[39] == 1, "eight: 1.3 (ear) and 1.7 (ankle) clamp to a tie: the lower part");
	CHECK(l[40] == 0, "eight: negative everywhere is background");
	drop_labels_hard(drop_grouping_find("five_v"), f.data, hw, 0.5f, l);
	CHECK(l[21] == 0 && l[22] == 0, "five_v: channels 21 and 22 belong to no part");
	CHECK(l[23] == 3 && l[24] == 2, "five_v: r_shoulder-hip lower, shoulders upper");
	CHECK(l[11] == 3, "five_v: left hip in lower arms torso (3) and legs (4): 3");
	drop_labels_hard(drop_grouping_find("eight"), f.data, hw, 0.0f, l);
	CHECK(l[40] == 0, "threshold 0: a pixel where every part is 0 stays background");
	free(l);
	drop_npy_array_free(&f);
}

static void test_groupings(void)
{
	int n = 0, ok = 1;
	for (; drop_grouping_at(n); n++) {
		const struct drop_grouping *g = drop_grouping_at(n);
		ok &= g->k >= 1 && g->k <= DROP_MAX_PARTS && drop_grouping_find(g->name) == g;
		for (int p = 0; p < g->k; p++) {
			const struct drop_part *part = &g->parts[p];
			ok &= part->name && part->n >= 1;
			for (int i = 0; i < part->n; i++)
				ok &= part->ch[i] < DROP_PIFPAF_CHANNELS &&
				      (i == 0 || part->ch[i] > part->ch[i - 1]);
		}
	}
	CHECK(n == 20, "20 working groupings (%d)", n);
	CHECK(ok, "every part has ascending, distinct channels in [0, 36)");
	CHECK(drop_grouping_find("eight")->k == 8 && drop_grouping_find("five_v")->k == 5,
	      "eight has K = 8, five_v K = 5");
	CHECK(!drop_grouping_find("bs_fu") && !drop_grouping_find("six_no") &&
	      !drop_grouping_find("mu_sc") && !drop_grouping_find("bs_fu_bb"),
	      "the broken groupings are left out");
	CHECK(!strcmp(drop_pifpaf_channel_name(21), "left_hip_to_right_hip") &&
	      !drop_pifpaf_channel_name(36), "channel names");
	int used[DROP_PIFPAF_CHANNELS] = { 0 };
	const struct drop_grouping *e = drop_grouping_find("eight");
	for (int p = 0; p < e->k; p++)
		for (int i = 0; i < e->parts[p].n; i++)
			used[e->parts[p].ch[i]]++;
	int all = 1;
	for (int c = 0; c < DROP_PIFPAF_CHANNELS; c++)
		all &= used[c] == (c == 21 ? 2 : 1);
	CHECK(all, "eight uses every channel once, 21 twice");
}

static void test_stem(void)
{
	static const char *const cases[][2] = {
		{ "query/0001_c2_f0046182.jpg.confidence_fields.npy", "0001_c2_f0046182" },
		{ "bounding_box_train/0002_c1s1_000451_03.npy", "0002_c1s1_000451_03" },
		{ "001_01.tif.confidence_fields.npy", "001_01" },
		{ "x.JPEG.npy", "x" },
		{ "x.tiff.npy", "x" },
		{ "x.bmp.confidence_fields.npy", "x" },
		{ "a.b.npy", "a.b" },
		{ "x.npy.npy", "x.npy" },
		{ "noext", "noext" },
		{ ".npy", ".npy" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char stem[64];
		int rc = drop_labels_stem(cases[i][0], stem, sizeof stem);
		CHECK(rc == 0 && !strcmp(stem, cases[i][1]), "stem of %s is %s (%s)", cases[i][0],
		      cases[i][1], rc ? drop_errmsg() : stem);
	}
	char small[4];
	CHECK(drop_labels_stem("dir/", small, sizeof small) == -1, "an empty name is an error");
	CHECK(drop_labels_stem("abcdef.npy", small, sizeof small) == -1, "too long is an error");
}

static void test_resize(void)
{
	const uint8_t src[6] = { 0, 1, 2, 3, 4, 5 };                /* (2, 3) */
	const uint8_t up[16] = { 0, 0, 1, 2, 0, 0, 1, 2, 3, 3, 4, 5, 3, 3, 4, 5 };
	uint8_t dst[16];
	drop_resize_nearest_u8(src, 2, 3, dst, 4, 4);
	CHECK(!memcmp(dst, up, 16), "2x3 -> 4x4: source index floor(dst * src / dst_size)");
	drop_resize_nearest_u8(up, 4, 4, dst, 2, 2);
	CHECK(dst[0] == 0 && dst[1] == 1 && dst[2] == 3 && dst[3] == 4, "4x4 -> 2x2");
	const float fs[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };               /* (2, 2, 2) */
	float fd[18];
	drop_resize_nearest_f32(fs, 2, 2, 2, fd, 3, 3);
	CHECK(fd[0] == 1 && fd[2] == 2 && fd[4] == 1 && fd[8] == 4 && fd[9] == 5 &&
	      fd[17] == 8, "f32 planes resized each");
}

static void test_overlay(void)
{
	uint8_t rgb[2 * 2 * 3];
	memset(rgb, 100, sizeof rgb);
	const uint8_t labels[2] = { 0, 1 };                            /* (1, 2) */
	drop_labels_overlay(rgb, 2, 2, labels, 1, 2);
	CHECK(rgb[0] == 100 && rgb[6] == 100, "background pixels are kept");
	CHECK(rgb[3] == (100 + 230 + 1) / 2 && rgb[4] == (100 + 25 + 1) / 2 &&
	      rgb[11] == (100 + 75 + 1) / 2, "parts: mean of image and palette colour");
	int distinct = 1;
	for (int i = 0; i <= DROP_MAX_PARTS; i++)
		for (int j = 0; j < i; j++)
			distinct &= memcmp(drop_label_palette[i], drop_label_palette[j], 3) != 0;
	CHECK(distinct, "palette colours are distinct");
}

static void test_field_check(void)
{
	static const char *const cases[][2] = {
		{ "bad_channels.npy", "expected a [36, h, w] PifPaf field, got shape (35, 4, 3)" },
		{ "bad_2d.npy", "expected a [36, h, w] PifPaf field, got shape (36, 12)" },
		{ "bad_nan.npy", "NaN at channel 3, row 2, column 1" },
	};
	for (size_t i = 0; i < 3; i++) {
		char path[128];
		struct drop_npy_array a;
		snprintf(path, sizeof path, FIX "%s", cases[i][0]);
		int rc = drop_npy_load_f32(path, &a);
		CHECK(rc == 0, "load %s", cases[i][0]);
		if (rc)
			continue;
		rc = drop_field_check(&a);
		CHECK(rc == -1 && !strcmp(drop_errmsg(), cases[i][1]), "%s: %s", cases[i][0],
		      drop_errmsg());
		drop_npy_array_free(&a);
	}
	struct drop_npy_array a;
	CHECK(drop_npy_load_f32(FIX "bad_truncated.npy", &a) == -1 && strstr(drop_errmsg(), "trunc"),
	      "a truncated file fails to load: %s", drop_errmsg());
}

static int fill_indexed(FILE *f, void *ctx)
{
	const uint8_t *pix = ctx;                                      /* (3, 5) */
	return drop_png_write_indexed(f, pix, 5, 3, drop_label_palette, 9, "drop-labels",
	                              "grouping=eight");
}

static int fill_rgb(FILE *f, void *ctx)
{
	return drop_png_write_rgb(f, ctx, 2, 3);
}

static int fill_fail(FILE *f, void *ctx)
{
	fputs("partial", f);
	return drop_fail("refused");
}

static void test_png(void)
{
	uint8_t pix[15];
	for (int i = 0; i < 15; i++)
		pix[i] = (uint8_t)(i % 9);
	char *p = tmp_path("l.png"), *q = tmp_path("rgb.png"), *t = tmp_path("trunc.png");
	CHECK(drop_write_file(p, fill_indexed, pix) == 0, "write an indexed PNG");
	FILE *f = fopen(p, "rb");
	struct drop_png_image im;
	int rc = f ? drop_png_read_indexed(f, &im) : -1;
	CHECK(rc == 0 && im.w == 5 && im.h == 3 && im.channels == 1 && im.npalette == 9 &&
	      !memcmp(im.pix, pix, 15), "indices and palette size read back (%s)",
	      rc ? drop_errmsg() : "ok");
	if (rc == 0)
		drop_png_image_free(&im);
	if (f)
		fclose(f);
	struct drop_image img;
	rc = drop_image_read(p, &img);
	CHECK(rc == 0 && img.rgb[3] == 230 && img.rgb[4] == 25 && img.rgb[5] == 75,
	      "an indexed PNG reads as RGB through its palette");
	if (rc == 0)
		drop_image_free(&img);
	pix[4] = 9;
	CHECK(drop_png_write_indexed(stdout, pix, 5, 3, drop_label_palette, 9, NULL, NULL) ==
	      -1, "an index past the palette is refused: %s", drop_errmsg());

	uint8_t rgb[18];
	for (int i = 0; i < 18; i++)
		rgb[i] = (uint8_t)(i * 13);
	CHECK(drop_write_file(q, fill_rgb, rgb) == 0, "write an RGB PNG");
	rc = drop_image_read(q, &img);
	CHECK(rc == 0 && img.w == 2 && img.h == 3 && !memcmp(img.rgb, rgb, 18),
	      "RGB pixels read back");
	if (rc == 0)
		drop_image_free(&img);
	f = fopen(q, "rb");
	CHECK(f && drop_png_read_indexed(f, &im) == -1 && strstr(drop_errmsg(), "not an indexed"),
	      "an RGB PNG is not a label map: %s", drop_errmsg());
	if (f)
		fclose(f);

	/* Truncated copies of the RGB file: every cut is an error, never an image. */
	f = fopen(q, "rb");
	char buf[4096];
	size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
	if (f)
		fclose(f);
	int all = 1;
	for (size_t cut = 1; cut < n; cut += 7) {
		FILE *o = fopen(t, "wb");
		fwrite(buf, 1, cut, o);
		fclose(o);
		if (drop_image_read(t, &img) == 0) {
			all = 0;
			drop_image_free(&img);
		}
	}
	CHECK(n > 0 && all, "every truncation of a PNG is an error (last: %s)", drop_errmsg());
	FILE *o = fopen(t, "wb");
	fputs("GIF89a", o);
	fclose(o);
	CHECK(drop_image_read(t, &img) == -1 && !strcmp(drop_errmsg(), "not a JPEG, PNG or TIFF image"),
	      "another format: %s", drop_errmsg());
	o = fopen(t, "wb");
	fwrite("\xff\xd8\xff\xe0\0\x10JFIF", 1, 10, o);
	fclose(o);
	CHECK(drop_image_read(t, &img) == -1 && strstr(drop_errmsg(), "JPEG"),
	      "a truncated JPEG header: %s", drop_errmsg());
	CHECK(drop_image_read(FIX "no-such.png", &img) == -1 &&
	      strstr(drop_errmsg(), "cannot open"), "a missing file: %s", drop_errmsg());
	free(p);
	free(q);
	free(t);
}

static void touch(const char *rel)
{
	char *p = tmp_path(rel);
	FILE *f = fopen(p, "w");
	if (f)
		fclose(f);
	free(p);
}

struct errors { int n; char last[512]; };

static void on_walk_error(const char *path, const char *reason, void *ctx)
{
	struct errors *e = ctx;
	e->n++;
	snprintf(e->last, sizeof e->last, "%s: %s", path, reason);
}

static void test_walk(void)
{
	char *d = tmp_path("tree/b/c");
	CHECK(drop_mkdirs(d) == 0 && drop_mkdirs(d) == 0, "mkdir -p, twice");
	free(d);
	d = tmp_path("tree/a-b");
	drop_mkdirs(d);
	free(d);
	touch("tree/z.npy");
	touch("tree/b/c/2.npy");
	touch("tree/b/c/1.npy");
	touch("tree/b/skip.txt");
	touch("tree/a-b/x.npy");
	touch("tree/a.npy");
	char *root = tmp_path("tree"), *loop = tmp_path("tree/b/c/up");
	CHECK(symlink("../..", loop) == 0, "make a link loop");
	struct drop_walk w = { 0 };
	struct errors e = { 0 };
	size_t problems = drop_walk(root, ".npy", &w, on_walk_error, &e);
	const char *want[] = { "a-b/x.npy", "a.npy", "b/c/1.npy", "b/c/2.npy", "z.npy" };
	int same = w.n == 5;
	for (size_t i = 0; same && i < 5; i++)
		same = !strcmp(w.rel[i], want[i]);
	CHECK(same, "sorted listing of the .npy files, whatever the creation order");
	CHECK(problems == 1 && e.n == 1 && strstr(e.last, "tree/b/c/up: symbolic link loop"),
	      "a link loop is one problem naming the folder: %s", e.last);
	drop_walk_free(&w);

	char *dangling = tmp_path("tree/gone.npy");
	symlink("nowhere.npy", dangling);
	unlink(loop);
	e.n = 0;
	problems = drop_walk(root, ".npy", &w, on_walk_error, &e);
	CHECK(problems == 1 && w.n == 5 && strstr(e.last, "gone.npy: cannot stat"),
	      "a dangling link is reported: %s", e.last);
	drop_walk_free(&w);
	unlink(dangling);

	if (geteuid() != 0) {
		char *locked = tmp_path("tree/b");
		chmod(locked, 0);
		e.n = 0;
		problems = drop_walk(root, ".npy", &w, on_walk_error, &e);
		CHECK(problems == 1 && w.n == 3 && strstr(e.last, "tree/b: cannot open folder"),
		      "an unreadable folder is reported, the rest listed: %s", e.last);
		drop_walk_free(&w);
		chmod(locked, 0755);
		free(locked);
	} else {
		printf("ok %d - # SKIP unreadable folders (running as root)\n", ++tap_n);
	}
	free(root);
	free(loop);
	free(dangling);

	char *out = tmp_path("w.txt");
	char reason[4200];
	snprintf(reason, sizeof reason, "%s: refused", out);
	CHECK(drop_write_file(out, fill_fail, NULL) == -1 && !strcmp(drop_errmsg(), reason),
	      "a failing writer reports its reason after the file's name: %s", drop_errmsg());
	CHECK(access(out, F_OK) != 0, "and leaves nothing");
	char *nodir = tmp_path("none/w.txt");
	CHECK(drop_write_file(nodir, fill_fail, NULL) == -1 && strstr(drop_errmsg(),
	      "cannot create"), "a missing folder: %s", drop_errmsg());
	free(nodir);
	free(out);
	char *j = drop_path_join("a/", "b"), *k = drop_path_join("", "b");
	CHECK(!strcmp(j, "a/b") && !strcmp(k, "b"), "path joins");
	free(j);
	free(k);
}

/* The output-name rule and the plan of a run over a small tree. */
static void test_labeljob(void)
{
	static const char *const cases[][4] = {
		{ "out", "query/0001_c2_f0046182.jpg.confidence_fields.npy", ".png",
		  "out/query/0001_c2_f0046182.png" },
		{ "out/", "bounding_box_train/0002_c1s1_000451_03.npy", ".npy",
		  "out/bounding_box_train/0002_c1s1_000451_03.npy" },
		{ "d", "a/b/c.jpg.npy", ".overlay.png", "d/a/b/c.overlay.png" },
		{ "d", "x.PNG.confidence_fields.npy", ".png", "d/x.png" },
		{ "", "x.npy", ".png", "x.png" },
		{ "/", "x.npy", ".png", "/x.png" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *p = drop_labeljob_path(cases[i][0], cases[i][1], cases[i][2]);
		CHECK(p && !strcmp(p, cases[i][3]), "output of %s in '%s' is %s (%s)", cases[i][1],
		      cases[i][0], cases[i][3], p ? p : drop_errmsg());
		free(p);
	}
	CHECK(drop_labeljob_path("d", "sub/", ".png") == NULL &&
	      !strcmp(drop_errmsg(), "no file name left after removing the extensions"),
	      "no stem, no name: %s", drop_errmsg());

	/* in/a.jpg.confidence_fields.npy and in/a.npy both make a.png; in/sub/b.npy is listed
	 * with its folder, and named again on its own (rel b.npy). */
	char *insub = tmp_path("jobs/in/sub");
	drop_mkdirs(insub);
	free(insub);
	touch("jobs/in/sub/b.npy");
	touch("jobs/in/a.npy");
	touch("jobs/in/a.jpg.confidence_fields.npy");
	touch("jobs/in/c.txt");
	char *in = tmp_path("jobs/in"), *b = tmp_path("jobs/in/sub/b.npy");
	char *out = tmp_path("jobs/out"), *ina = tmp_path("jobs/in/a.npy");
	char *inputs[] = { in, b };
	struct drop_labeljobs js = { 0 };
	drop_labeljobs_collect(&js, inputs, 2);
	static const char *const rel[] = { "a.jpg.confidence_fields.npy", "a.npy", "sub/b.npy",
	                                   "b.npy" };
	int same = js.n == 4 && js.problems == 0;
	for (size_t i = 0; same && i < 4; i++)
		same = !strcmp(js.v[i].rel, rel[i]) && !strncmp(js.v[i].in, in, strlen(in));
	CHECK(same, "a folder's .npy files in order, then a file on its own");

	drop_labeljobs_name(&js, out, ".png", true);
	char want[4][2][256], msg[1024];
	snprintf(want[0][0], 256, "%s/a.png", out);
	snprintf(want[0][1], 256, "%s/a.overlay.png", out);
	snprintf(want[2][0], 256, "%s/sub/b.png", out);
	snprintf(want[2][1], 256, "%s/sub/b.overlay.png", out);
	snprintf(want[3][0], 256, "%s/b.png", out);
	snprintf(want[3][1], 256, "%s/b.overlay.png", out);
	snprintf(msg, sizeof msg, "output %s is also written for %s", want[0][1], js.v[0].in);
	same = 1;
	for (size_t i = 0; i < 4; i++)
		if (i != 1)
			same = same && !js.v[i].err && js.v[i].out && js.v[i].overlay_out &&
			       !strcmp(js.v[i].out, want[i][0]) &&
			       !strcmp(js.v[i].overlay_out, want[i][1]);
	CHECK(same, "labels and overlays named into the mirrored tree");
	CHECK(js.v[1].err && !strcmp(js.v[1].err, msg),
	      "the later of two inputs with one output name fails: %s", js.v[1].err);

	drop_labeljobs_make_folders(&js);
	char *sub = tmp_path("jobs/out/sub");
	CHECK(drop_is_dir(out) && drop_is_dir(sub), "the output folders are made");
	drop_labeljobs_free(&js);
	CHECK(js.n == 0 && js.v == NULL, "freed and zeroed");

	/* An output over its own input. */
	drop_labeljobs_collect(&js, &ina, 1);
	drop_labeljobs_name(&js, in, ".npy", false);
	snprintf(msg, sizeof msg, "the output %s would overwrite the input", ina);
	CHECK(js.n == 1 && js.v[0].err && !strcmp(js.v[0].err, msg) && !js.v[0].overlay_out,
	      "an output over its input fails: %s", js.v[0].err);
	drop_labeljobs_free(&js);
	free(in);
	free(b);
	free(out);
	free(ina);
	free(sub);
}

int main(void)
{
	strcpy(tmpdir, "/tmp/test_labels.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_groupings();
	test_reference_cases();
	test_hand_cases();
	test_stem();
	test_resize();
	test_overlay();
	test_field_check();
	test_png();
	test_walk();
	test_labeljob();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return tap_done();
}

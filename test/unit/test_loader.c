/*
 * tests: lib/data/loader.c - batches from a tiny dataset of JPEG, PNG and TIFF images with label
 * PNGs, all written here: the same bytes for 1, 2 and 3 threads and any look-ahead; each
 * sample equal to decoding + drop_aug_apply with the draws of its position; TIFF pixels as
 * written; errors (a truncated JPEG, a label value above K, a missing label) name the file,
 * the earliest failing position wins whatever the threads; bad arguments; closing early;
 * image buffers from the caller's allocator (alloc_x, free_x).
 *
 * Bench mode: test_loader --bench [IMAGES [THREADS...]] writes IMAGES (256) 128x64 JPEGs
 * with 32x16 labels under /tmp and prints the images/s decoded and augmented at 256x128
 * (training mode, batch 64, 2048 samples) for each thread count (default 1 and 2).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <jpeglib.h>
#include <tiffio.h>

#include "../../lib/data/dataset.h"
#include "../../lib/core/drop.h"
#include "../../lib/data/labels.h"
#include "../../lib/data/loader.h"
#include "../../lib/io/png.h"
#include "../../lib/io/walk.h"
#include "tap.h"

#define K 8             /* parts: label values 0..8 */

static char tmp[64];

/* A smooth test picture with some texture; `seed` varies it. rgb (h, w, 3). */
static uint8_t *picture(int h, int w, int seed)
{
	uint8_t *p = drop_malloc((size_t)h * w * 3);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			for (int k = 0; k < 3; k++)
				p[((size_t)y * w + x) * 3 + k] =
					(uint8_t)((y * 255 / h + x * 97 / w + k * 60 + seed * 31 +
					           ((x * 7 + y * 13 + seed) % 11) * 3) % 256);
	return p;
}

static void write_jpeg(const char *path, const uint8_t *rgb, int h, int w)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		drop_die(1, "%s: cannot create", path);
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_stdio_dest(&c, f);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 90, TRUE);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * w * 3);
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	fclose(f);
}

static void write_png(const char *path, const uint8_t *rgb, int h, int w)
{
	FILE *f = fopen(path, "wb");
	if (!f || drop_png_write_rgb(f, rgb, w, h))
		drop_die(1, "%s: cannot write", path);
	fclose(f);
}

static void write_tiff(const char *path, const uint8_t *rgb, int h, int w)
{
	TIFF *t = TIFFOpen(path, "w");
	if (!t)
		drop_die(1, "%s: cannot create", path);
	TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)w);
	TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)h);
	TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
	TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
	TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
	TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
	TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
	TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 4);
	for (int y = 0; y < h; y++)
		if (TIFFWriteScanline(t, (void *)(rgb + (size_t)y * w * 3), (uint32_t)y, 0) < 0)
			drop_die(1, "%s: cannot write", path);
	TIFFClose(t);
}

/* A label PNG of h x w values 0..max (max may exceed K to make a bad one). */
static void write_label(const char *path, int h, int w, int seed, int max)
{
	uint8_t *v = drop_malloc((size_t)h * w);
	for (int i = 0; i < h * w; i++)
		v[i] = (uint8_t)((i * 5 + seed) % (max + 1));
	FILE *f = fopen(path, "wb");
	if (!f || drop_png_write_indexed(f, v, w, h, drop_label_palette, DROP_MAX_PARTS + 1,
	                                 NULL, NULL))
		drop_die(1, "%s: cannot write", path);
	fclose(f);
	free(v);
}

static char *tpath(const char *fmt, int i)
{
	char name[64];
	snprintf(name, sizeof name, fmt, i);
	return drop_path_join(tmp, name);
}

static void add(struct drop_dataset *ds, char *path, char *label, int cls)
{
	if (ds->n == ds->cap) {
		ds->cap = ds->cap ? 2 * ds->cap : 16;
		ds->v = drop_realloc(ds->v, ds->cap * sizeof *ds->v);
	}
	ds->v[ds->n++] = (struct drop_sample){ .path = path, .label = label, .pid = cls,
	                                       .camid = 0, .cls = cls };
}

/* 9 images: JPEG, PNG and TIFF of assorted sizes, each with a label of assorted size. */
static void make_dataset(struct drop_dataset *ds)
{
	memset(ds, 0, sizeof *ds);
	static const int size[9][2] = { { 40, 20 }, { 33, 17 }, { 64, 32 }, { 20, 12 }, { 50, 31 },
	                                { 32, 16 }, { 7, 5 }, { 128, 64 }, { 45, 27 } };
	for (int i = 0; i < 9; i++) {
		int h = size[i][0], w = size[i][1];
		uint8_t *rgb = picture(h, w, i);
		static const char *const name[3] = { "img%d.jpg", "img%d.png", "img%d.tif" };
		char *p = tpath(name[i % 3], i);
		if (i % 3 == 0)
			write_jpeg(p, rgb, h, w);
		else if (i % 3 == 1)
			write_png(p, rgb, h, w);
		else
			write_tiff(p, rgb, h, w);
		char *l = tpath("lab%d.png", i);
		write_label(l, 8 + i % 3, 4 + i % 2, i, K);
		add(ds, p, l, i % 4);
		free(rgb);
	}
	ds->nclass = 4;
}

/* The image buffers' allocator a backend hands the loader (lib/run/stage.h), counted: run()
 * uses it while hooks_on, and checks that every batch lies in one of its buffers. */
static bool hooks_on, hooks_stray;
static void *hook_buf[8];
static int hook_allocs, hook_frees;

static void *hook_alloc(size_t bytes)
{
	void *p = drop_malloc(bytes);
	if (hook_allocs < 8)
		hook_buf[hook_allocs] = p;
	hook_allocs++;
	return p;
}

static void hook_free(void *p)
{
	hook_frees++;
	free(p);
}

static bool from_hook(const void *p)
{
	for (int i = 0; i < hook_allocs && i < 8; i++)
		if (hook_buf[i] == p)
			return true;
	return false;
}

/* All batches of one run, concatenated; returns the number of samples or -1. */
static long run(const struct drop_dataset *ds, const size_t *order, size_t n, int batch,
                int threads, int ahead, bool labels, float **x, uint8_t **lab, char *err,
                size_t errcap)
{
	struct drop_loader_config c = { .seed = 7, .epoch = 2, .threads = threads,
	                                .ahead = ahead, .labels = labels, .max_label = K };
	drop_aug_defaults(&c.aug, 32, 16, true);
	if (hooks_on) {
		c.alloc_x = hook_alloc;
		c.free_x = hook_free;
	}
	size_t xs = (size_t)3 * 32 * 16, ls = 8 * 4;
	*x = drop_malloc(n * xs * sizeof **x);
	*lab = drop_calloc(n, ls);
	struct drop_loader *L = drop_loader_open(ds, order, n, batch, &c);
	if (!L) {
		snprintf(err, errcap, "%s", drop_errmsg());
		return -1;
	}
	const struct drop_batch *b;
	long got = 0;
	int rc;
	while ((rc = drop_loader_next(L, &b)) == 1) {
		if (b->first != (size_t)got ||
		    memcmp(b->index, order + got, (size_t)b->n * sizeof *order)) {
			snprintf(err, errcap, "batch at %zu, expected %ld", b->first, got);
			drop_loader_close(L);
			return -3;
		}
		memcpy(*x + (size_t)got * xs, b->x, (size_t)b->n * xs * sizeof **x);
		hooks_stray |= hooks_on && !from_hook(b->x);
		if (b->labels)
			memcpy(*lab + (size_t)got * ls, b->labels, (size_t)b->n * ls);
		got += b->n;
	}
	if (rc < 0) {
		snprintf(err, errcap, "%s", drop_errmsg());
		const struct drop_batch *again;
		if (drop_loader_next(L, &again) != -1 || strcmp(drop_errmsg(), err))
			got = -2;       /* a failed loader keeps failing with the same error */
		else
			got = -1;
	}
	drop_loader_close(L);
	return got;
}

static void test_batches(struct drop_dataset *ds)
{
	static const size_t order[] = { 3, 1, 4, 1, 5, 8, 2, 6, 5, 3, 5, 8, 7, 0 };
	const size_t n = sizeof order / sizeof order[0];
	const size_t xs = (size_t)3 * 32 * 16, ls = 8 * 4;
	float *x1, *x2, *x3;
	uint8_t *l1, *l2, *l3;
	char err[1024];
	long g1 = run(ds, order, n, 5, 1, 1, true, &x1, &l1, err, sizeof err);
	CHECK(g1 == (long)n, "1 thread: %zu samples in batches of 5 (%s)", n,
	      g1 < 0 ? err : "ok");
	long g2 = run(ds, order, n, 5, 2, 2, true, &x2, &l2, err, sizeof err);
	long g3 = run(ds, order, n, 5, 3, 1, true, &x3, &l3, err, sizeof err);
	CHECK(g2 == (long)n && !memcmp(x1, x2, n * xs * sizeof *x1) && !memcmp(l1, l2, n * ls),
	      "2 threads, 2 ahead: the same bytes as 1 thread");
	CHECK(g3 == (long)n && !memcmp(x1, x3, n * xs * sizeof *x1) && !memcmp(l1, l3, n * ls),
	      "3 threads, 1 ahead: the same bytes as 1 thread");
	free(x3);
	free(l3);
	hooks_on = true;
	g3 = run(ds, order, n, 5, 2, 2, true, &x3, &l3, err, sizeof err);
	hooks_on = false;
	CHECK(g3 == (long)n && !memcmp(x1, x3, n * xs * sizeof *x1) && !memcmp(l1, l3, n * ls),
	      "buffers from alloc_x: the same bytes");
	CHECK(hook_allocs == 3 && hook_frees == 3 && !hooks_stray,
	      "  one buffer from alloc_x per slot (%d), each batch in one, all given to free_x (%d)",
	      hook_allocs, hook_frees);

	/* Each sample is the decoded image augmented with the draws of its position. */
	struct drop_aug_config c;
	drop_aug_defaults(&c, 32, 16, true);
	uint8_t *scratch = drop_malloc((size_t)32 * 16 * 3), lab[8 * 4];
	float *want = drop_malloc(xs * sizeof *want);
	int same = 1, flips = 0, erases = 0;
	for (size_t j = 0; j < n; j++) {
		const struct drop_sample *s = &ds->v[order[j]];
		struct drop_image im;
		struct drop_png_image lp;
		FILE *f = fopen(s->label, "rb");
		if (drop_image_read(s->path, &im) || !f || drop_png_read_indexed(f, &lp))
			drop_die(1, "%s: %s", s->path, drop_errmsg());
		fclose(f);
		struct drop_aug_params p;
		drop_aug_draw(&c, 7, 2, j, &p);
		flips += p.flip;
		erases += p.erase;
		drop_aug_apply(&c, &p, im.rgb, im.h, im.w, lp.pix, lp.h, lp.w, scratch, want, lab);
		same &= !memcmp(want, x1 + j * xs, xs * sizeof *want);
		same &= !memcmp(lab, l1 + j * ls, ls);
		drop_image_free(&im);
		drop_png_image_free(&lp);
	}
	CHECK(same, "sample j = drop_aug_apply with the draws of (seed, epoch, j)");
	CHECK(flips > 0 && flips < (int)n && erases > 0 && erases < (int)n,
	      "the run saw flips and erasing (%d, %d of %zu)", flips, erases, n);
	CHECK(memcmp(x1 + 1 * xs, x1 + 3 * xs, xs * sizeof *x1) != 0,
	      "the same image twice in an epoch is augmented differently");
	free(want);
	free(scratch);
	free(x1);
	free(x2);
	free(x3);
	free(l1);
	free(l2);
	free(l3);

	/* Test mode without labels, order NULL = 0..n-1, a last partial batch. */
	struct drop_loader_config t = { .threads = 2, .ahead = 1 };
	drop_aug_defaults(&t.aug, 32, 16, false);
	struct drop_loader *L = drop_loader_open(ds, NULL, ds->n, 4, &t);
	const struct drop_batch *b;
	int sizes[4] = { 0 }, nb = 0, nolabels = 1, idx = 1;
	while (L && drop_loader_next(L, &b) == 1 && nb < 4) {
		sizes[nb++] = b->n;
		nolabels &= b->labels == NULL;
		for (int i = 0; i < b->n; i++)
			idx &= b->index[i] == b->first + (size_t)i;
	}
	CHECK(L && nb == 3 && sizes[0] == 4 && sizes[1] == 4 && sizes[2] == 1 && nolabels && idx,
	      "test mode: batches 4, 4, 1 in dataset order, no labels");
	drop_loader_close(L);
}

static void test_tiff(void)
{
	uint8_t *rgb = picture(13, 9, 5);
	char *p = tpath("t%d.tif", 0);
	write_tiff(p, rgb, 13, 9);
	struct drop_image im;
	int rc = drop_image_read(p, &im);
	CHECK(rc == 0 && im.h == 13 && im.w == 9 && !memcmp(im.rgb, rgb, (size_t)13 * 9 * 3),
	      "TIFF (LZW, RGB) reads back as written (%s)", rc ? drop_errmsg() : "ok");
	if (!rc)
		drop_image_free(&im);
	if (truncate(p, 40))
		drop_die(1, "%s: cannot truncate", p);
	rc = drop_image_read(p, &im);
	CHECK(rc == -1 && strstr(drop_errmsg(), "TIFF"), "a truncated TIFF fails: %s",
	      drop_errmsg());
	rc = drop_image_read("/nonexistent/x.jpg", &im);
	CHECK(rc == -1 && strstr(drop_errmsg(), "No such file"), "a missing file: %s",
	      drop_errmsg());
	free(p);
	free(rgb);
}

static void test_errors(struct drop_dataset *ds)
{
	/* Corrupt copies: a truncated JPEG, a label above K, a missing label. */
	uint8_t *rgb = picture(64, 32, 1);
	char *bad_jpeg = tpath("bad%d.jpg", 0), *bad_jpeg2 = tpath("bad%d.jpg", 1);
	write_jpeg(bad_jpeg, rgb, 64, 32);
	if (truncate(bad_jpeg, 300))
		drop_die(1, "cannot truncate");
	write_jpeg(bad_jpeg2, rgb, 64, 32);
	if (truncate(bad_jpeg2, 200))
		drop_die(1, "cannot truncate");
	char *bad_label = tpath("badlab%d.png", 0), *no_label = tpath("nolab%d.png", 0);
	write_label(bad_label, 8, 4, 0, 12);
	free(rgb);
	size_t first = ds->n;
	add(ds, bad_jpeg, drop_strdup(ds->v[0].label), 0);                 /* first + 0 */
	add(ds, bad_jpeg2, drop_strdup(ds->v[0].label), 0);                /* first + 1 */
	add(ds, drop_strdup(ds->v[1].path), bad_label, 1);                 /* first + 2 */
	add(ds, drop_strdup(ds->v[1].path), no_label, 1);                  /* first + 3 */

	float *x;
	uint8_t *l;
	char e1[1024], e2[1024];
	/* Batch 1 (positions 4..7) holds the second bad JPEG at 6 and the first at 7. */
	size_t order[] = { 0, 1, 2, 3, 4, 5, first + 1, first, 2, 1 };
	long g1 = run(ds, order, 10, 4, 1, 1, true, &x, &l, e1, sizeof e1);
	free(x);
	free(l);
	long g2 = run(ds, order, 10, 4, 2, 2, true, &x, &l, e2, sizeof e2);
	free(x);
	free(l);
	CHECK(g1 == -1 && strstr(e1, "bad1.jpg: JPEG: "),
	      "a truncated JPEG fails its batch, named, the earliest position first: %s", e1);
	CHECK(g2 == -1 && !strcmp(e1, e2), "the same error with 2 threads");

	size_t o2[] = { 0, first + 2 };
	long g = run(ds, o2, 2, 2, 2, 1, true, &x, &l, e1, sizeof e1);
	free(x);
	free(l);
	CHECK(g == -1 && strstr(e1, "badlab0.png: label value") && strstr(e1, "above 8"),
	      "a label value above K: %s", e1);
	size_t o3[] = { first + 3 };
	g = run(ds, o3, 1, 1, 1, 1, true, &x, &l, e1, sizeof e1);
	free(x);
	free(l);
	CHECK(g == -1 && strstr(e1, "nolab0.png: No such file"), "a missing label: %s", e1);

	/* Open errors. */
	struct drop_loader_config c = { .threads = 1, .ahead = 1, .labels = true, .max_label = K };
	drop_aug_defaults(&c.aug, 32, 16, true);
	CHECK(drop_loader_open(ds, NULL, ds->n, 0, &c) == NULL, "batch 0: %s", drop_errmsg());
	size_t out_of_range = ds->n;
	CHECK(drop_loader_open(ds, &out_of_range, 1, 1, &c) == NULL, "index out of range: %s",
	      drop_errmsg());
	char *keep = ds->v[0].label;
	ds->v[0].label = NULL;
	CHECK(drop_loader_open(ds, NULL, 1, 1, &c) == NULL && strstr(drop_errmsg(), "no label"),
	      "labels asked, sample without one: %s", drop_errmsg());
	ds->v[0].label = keep;

	/* Closing early, with batches still being prepared. */
	c.threads = 2;
	c.ahead = 3;
	struct drop_loader *L = drop_loader_open(ds, NULL, first, 2, &c);
	const struct drop_batch *b;
	CHECK(L && drop_loader_next(L, &b) == 1 && b->n == 2, "first batch, then close early");
	drop_loader_close(L);
}

static double now(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec * 1e-6;
}

static int bench(int nimages, int argc, char **argv)
{
	struct drop_dataset ds = { 0 };
	for (int i = 0; i < nimages; i++) {
		uint8_t *rgb = picture(128, 64, i);
		char *p = tpath("b%d.jpg", i), *l = tpath("b%d.png", i);
		write_jpeg(p, rgb, 128, 64);
		write_label(l, 32, 16, i, K);
		add(&ds, p, l, i % 16);
		free(rgb);
	}
	const size_t n = 2048;
	size_t *order = drop_malloc(n * sizeof *order);
	for (size_t j = 0; j < n; j++)
		order[j] = (j * 7919) % (size_t)nimages;
	int deflt[] = { 1, 2 }, nt = argc > 0 ? argc : 2;
	for (int t = 0; t < nt; t++) {
		int threads = argc > 0 ? atoi(argv[t]) : deflt[t];
		struct drop_loader_config c = { .seed = 1, .threads = threads, .ahead = 2,
		                                .labels = true, .max_label = K };
		drop_aug_defaults(&c.aug, 256, 128, true);
		double t0 = now();
		struct drop_loader *L = drop_loader_open(&ds, order, n, 64, &c);
		const struct drop_batch *b;
		size_t got = 0;
		while (L && drop_loader_next(L, &b) == 1)
			got += (size_t)b->n;
		drop_loader_close(L);
		double dt = now() - t0;
		printf("threads %d: %zu images 128x64 JPEG -> 256x128 (train, labels) in %.2f s: "
		       "%.0f images/s\n", threads, got, dt, got / dt);
	}
	free(order);
	drop_dataset_free(&ds);
	return 0;
}

/* A rank's slices (place_batch, place_offset): batches of 2 out of global batches of 4, the
 * rank's images those of one loader over the global order, bit for bit. */
static void test_slices(struct drop_dataset *ds)
{
	static const size_t order[] = { 3, 1, 4, 1, 5, 8, 2, 6, 5, 3, 5, 8 };
	const size_t n = sizeof order / sizeof order[0], xs = (size_t)3 * 32 * 16, ls = 8 * 4;
	float *xg;
	uint8_t *lg;
	char err[1024];
	long g = run(ds, order, n, 4, 2, 1, true, &xg, &lg, err, sizeof err);
	int same = g == (long)n;
	for (int r = 0; r < 2 && same; r++) {
		size_t mine[6];
		for (size_t b = 0; b < 3; b++)
			for (size_t i = 0; i < 2; i++)
				mine[b * 2 + i] = order[b * 4 + (size_t)r * 2 + i];
		struct drop_loader_config c = { .seed = 7, .epoch = 2, .threads = 2, .ahead = 1,
		                                .labels = true, .max_label = K, .place_batch = 4,
		                                .place_offset = 2 * r };
		drop_aug_defaults(&c.aug, 32, 16, true);
		struct drop_loader *L = drop_loader_open(ds, mine, 6, 2, &c);
		const struct drop_batch *b;
		size_t j = 0;
		while (L && drop_loader_next(L, &b) == 1)
			for (int i = 0; i < b->n; i++, j++) {
				size_t at = j / 2 * 4 + (size_t)r * 2 + j % 2; /* its global place */
				same &= !memcmp(b->x + i * xs, xg + at * xs, xs * sizeof *xg);
				same &= !memcmp(b->labels + i * ls, lg + at * ls, ls);
			}
		same &= L && j == 6;
		drop_loader_close(L);
	}
	CHECK(same, "2 ranks' slices of batches of 4 (place_batch, place_offset): the bytes of "
	      "one loader at those places");
	free(xg);
	free(lg);
}

int main(int argc, char **argv)
{
	snprintf(tmp, sizeof tmp, "/tmp/drop-test-loader-XXXXXX");
	if (!mkdtemp(tmp))
		drop_die(1, "mkdtemp failed");
	int rc;
	if (argc > 1 && !strcmp(argv[1], "--bench")) {
		rc = bench(argc > 2 ? atoi(argv[2]) : 256, argc > 3 ? argc - 3 : 0, argv + 3);
	} else {
		struct drop_dataset ds;
		make_dataset(&ds);
		test_batches(&ds);
		test_slices(&ds);
		test_tiff();
		test_errors(&ds);
		drop_dataset_free(&ds);
		rc = tap_done();
	}
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (system(cmd))
		printf("# could not remove %s\n", tmp);
	return rc;
}

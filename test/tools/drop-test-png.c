/*
 * drop-test-png - image helper for the bats tests of drop-labels and drop-match (not
 * installed).
 *
 *   drop-test-png info FILE.png           "indexed W H NPALETTE" or "rgb W H"
 *   drop-test-png pixel FILE.png X Y      "R G B" of the pixel at column X, row Y (from 0)
 *                                         after palette lookup; exit 1 outside the image
 *   drop-test-png cmp FILE.png WANT.npy   the PNG's indices equal the integer array WANT
 *                                         [h, w]; exit 1 naming the first difference
 *   drop-test-png npycmp A.npy B.npy TOL  same shape, |a - b| <= TOL everywhere
 *   drop-test-png jpeg W H OUT.jpg        write a W x H colour gradient (JPEG, quality 90)
 *   drop-test-png png W H OUT.png         the same gradient as an RGB PNG
 *
 * Built on lib/io/png.c and lib/io/npy.c; JPEG writing uses libjpeg directly (only tests need it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "../../lib/core/drop.h"
#include "../../lib/io/npy.h"
#include "../../lib/io/png.h"

static int die(const char *what, const char *why)
{
	fprintf(stderr, "drop-test-png: %s: %s\n", what, why);
	return 1;
}

static int info(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return die(path, "cannot open");
	struct drop_png_image im;
	if (drop_png_read_indexed(f, &im) == 0) {
		printf("indexed %d %d %d\n", im.w, im.h, im.npalette);
	} else {
		rewind(f);
		if (drop_png_read_rgb(f, &im)) {
			fclose(f);
			return die(path, drop_errmsg());
		}
		printf("rgb %d %d\n", im.w, im.h);
	}
	drop_png_image_free(&im);
	fclose(f);
	return 0;
}

static int pixel(const char *path, const char *xs, const char *ys)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return die(path, "cannot open");
	struct drop_png_image im;
	int rc = drop_png_read_rgb(f, &im);
	fclose(f);
	if (rc)
		return die(path, drop_errmsg());
	char *e1, *e2;
	long x = strtol(xs, &e1, 10), y = strtol(ys, &e2, 10);
	if (*e1 || *e2 || x < 0 || y < 0 || x >= im.w || y >= im.h) {
		fprintf(stderr, "drop-test-png: %s: no pixel (%s, %s) in %d x %d\n", path, xs, ys,
		        im.w, im.h);
		rc = 1;
	} else {
		const uint8_t *p = im.pix + ((size_t)y * (size_t)im.w + (size_t)x) * 3;
		printf("%d %d %d\n", p[0], p[1], p[2]);
	}
	drop_png_image_free(&im);
	return rc;
}

static int cmp(const char *png, const char *npy)
{
	FILE *f = fopen(png, "rb");
	struct drop_png_image im;
	if (!f || drop_png_read_indexed(f, &im)) {
		if (f)
			fclose(f);
		return die(png, f ? drop_errmsg() : "cannot open");
	}
	fclose(f);
	struct drop_npy_array a;
	int rc = 1;
	if (drop_npy_load_f32(npy, &a)) {
		die(npy, drop_errmsg());
	} else if (a.h.ndim != 2 || a.h.shape[0] != (size_t)im.h ||
	           a.h.shape[1] != (size_t)im.w) {
		fprintf(stderr, "drop-test-png: %s is %d x %d, %s is not\n", png, im.h, im.w, npy);
	} else {
		rc = 0;
		for (size_t i = 0; i < a.h.count && rc == 0; i++)
			if (im.pix[i] != ((float *)a.data)[i]) {
				fprintf(stderr, "drop-test-png: %s: pixel (%zu, %zu) is %d, %s has %g\n",
				        png, i / (size_t)im.w, i % (size_t)im.w, im.pix[i], npy,
				        (double)((float *)a.data)[i]);
				rc = 1;
			}
		drop_npy_array_free(&a);
	}
	drop_png_image_free(&im);
	return rc;
}

static int npycmp(const char *pa, const char *pb, double tol)
{
	struct drop_npy_array a, b;
	if (drop_npy_load_f32(pa, &a))
		return die(pa, drop_errmsg());
	if (drop_npy_load_f32(pb, &b)) {
		drop_npy_array_free(&a);
		return die(pb, drop_errmsg());
	}
	int rc = a.h.ndim != b.h.ndim ||
	         memcmp(a.h.shape, b.h.shape, (size_t)a.h.ndim * sizeof a.h.shape[0]);
	if (rc)
		fprintf(stderr, "drop-test-png: %s and %s differ in shape\n", pa, pb);
	for (size_t i = 0; i < a.h.count && !rc; i++) {
		double d = (double)((float *)a.data)[i] - ((float *)b.data)[i];
		if (d > tol || d < -tol) {
			fprintf(stderr, "drop-test-png: element %zu: %g vs %g\n", i,
			        (double)((float *)a.data)[i], (double)((float *)b.data)[i]);
			rc = 1;
		}
	}
	drop_npy_array_free(&a);
	drop_npy_array_free(&b);
	return rc;
}

/* (h, w, 3): red across, green down, blue constant. */
static uint8_t *gradient(int w, int h)
{
	uint8_t *rgb = drop_malloc((size_t)w * (size_t)h * 3);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			uint8_t *p = rgb + ((size_t)y * (size_t)w + (size_t)x) * 3;
			p[0] = (uint8_t)(255 * x / (w > 1 ? w - 1 : 1));
			p[1] = (uint8_t)(255 * y / (h > 1 ? h - 1 : 1));
			p[2] = 128;
		}
	return rgb;
}

static int write_jpeg(int w, int h, const char *path)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return die(path, "cannot create");
	uint8_t *rgb = gradient(w, h);
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	c.err = jpeg_std_error(&err);    /* errors exit: fine for a test tool */
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
		JSAMPROW row = rgb + (size_t)c.next_scanline * (size_t)w * 3;
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	free(rgb);
	return fclose(f) ? die(path, "write error") : 0;
}

static int write_png(int w, int h, const char *path)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return die(path, "cannot create");
	uint8_t *rgb = gradient(w, h);
	int rc = drop_png_write_rgb(f, rgb, w, h);
	free(rgb);
	if (fclose(f) || rc)
		return die(path, rc ? drop_errmsg() : "write error");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "info"))
		return info(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "pixel"))
		return pixel(argv[2], argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "cmp"))
		return cmp(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "npycmp"))
		return npycmp(argv[2], argv[3], atof(argv[4]));
	if (argc == 5 && (!strcmp(argv[1], "jpeg") || !strcmp(argv[1], "png"))) {
		int w = atoi(argv[2]), h = atoi(argv[3]);
		if (w < 1 || h < 1)
			return die(argv[1], "bad size");
		return argv[1][0] == 'j' ? write_jpeg(w, h, argv[4]) : write_png(w, h, argv[4]);
	}
	fprintf(stderr, "usage: drop-test-png info|pixel|cmp|npycmp|jpeg|png ...\n");
	return 2;
}

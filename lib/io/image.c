/*
 * image.c - JPEG decoding with libjpeg-turbo and format dispatch (see image.h).
 *
 * libjpeg reports fatal errors through error_exit, which we turn into a longjmp back to
 * read_jpeg(); the decoder is created before the setjmp and the pixel buffer lives in a
 * volatile pointer, so the error path frees everything. Warnings go to emit_message, which
 * prints nothing and remembers a premature end of file.
 */
#include "image.h"
#include "../core/drop.h"
#include "png.h"

#include <errno.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <pthread.h>
#include <stdarg.h>
#include <tiffio.h>

#define MAX_SIDE 65535
/* Scans of a JPEG: a progressive file has about ten; each one is a pass over the whole
 * image, so thousands of tiny ones are a way to make decoding last (libjpeg-turbo's own
 * fuzzers stop at 500 too). */
#define MAX_SCANS 500

/* Set once by the tool, before worker threads decode (--max-pixels). */
static _Atomic unsigned long long max_pixels = DROP_IMAGE_MAX_PIXELS;

void drop_image_set_max_pixels(unsigned long long n)
{
	max_pixels = n;
}

unsigned long long drop_image_max_pixels(void)
{
	return max_pixels;
}

int drop_image_check_pixels(unsigned long w, unsigned long h)
{
	unsigned long long limit = max_pixels;
	if ((unsigned long long)w * h > limit)
		return drop_fail("image of %lu x %lu pixels, more than the limit of %llu "
		                 "(--max-pixels)", w, h, limit);
	return 0;
}

struct jpeg_err {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	int truncated;          /* a JWRN_JPEG_EOF warning was seen */
};

static void jpeg_on_error(j_common_ptr c)
{
	struct jpeg_err *e = (struct jpeg_err *)c->err;
	char msg[JMSG_LENGTH_MAX];
	c->err->format_message(c, msg);
	drop_fail("JPEG: %s", msg);
	longjmp(e->jb, 1);
}

static void jpeg_on_message(j_common_ptr c, int level)
{
	struct jpeg_err *e = (struct jpeg_err *)c->err;
	if (level >= 0)
		return;         /* trace messages */
	c->err->num_warnings++;
	if (c->err->msg_code == JWRN_JPEG_EOF)
		e->truncated = 1;
}

/* Called by libjpeg at each scan it takes in: a file of too many scans is an error. */
static void jpeg_on_progress(j_common_ptr c)
{
	j_decompress_ptr d = (j_decompress_ptr)c;
	if (d->input_scan_number > MAX_SCANS) {
		drop_fail("JPEG: more than %d scans", MAX_SCANS);
		longjmp(((struct jpeg_err *)c->err)->jb, 1);
	}
}

static int read_jpeg(FILE *f, struct drop_image *im)
{
	struct jpeg_decompress_struct cinfo;
	struct jpeg_progress_mgr progress = { .progress_monitor = jpeg_on_progress };
	struct jpeg_err err;
	uint8_t *volatile pix = NULL;
	memset(&cinfo, 0, sizeof cinfo);
	cinfo.err = jpeg_std_error(&err.pub);
	err.pub.error_exit = jpeg_on_error;
	err.pub.emit_message = jpeg_on_message;
	err.truncated = 0;
	if (setjmp(err.jb)) {
		jpeg_destroy_decompress(&cinfo);
		free(pix);
		return -1;
	}
	jpeg_create_decompress(&cinfo);
	cinfo.progress = &progress;
	jpeg_stdio_src(&cinfo, f);
	jpeg_read_header(&cinfo, TRUE);
	if (cinfo.image_width > MAX_SIDE || cinfo.image_height > MAX_SIDE)
		ERREXIT(&cinfo, JERR_IMAGE_TOO_BIG);
	/* Before jpeg_start_decompress, which allocates the whole image for a progressive
	 * file: a 1.6 kB file may declare 65500 x 65500. */
	if (drop_image_check_pixels(cinfo.image_width, cinfo.image_height)) {
		jpeg_destroy_decompress(&cinfo);
		return -1;
	}
	cinfo.out_color_space = JCS_RGB;
	jpeg_start_decompress(&cinfo);
	if (cinfo.output_components != 3)
		ERREXIT(&cinfo, JERR_CONVERSION_NOTIMPL);
	size_t w = cinfo.output_width, h = cinfo.output_height, stride = w * 3;
	pix = malloc(stride * h);
	if (!pix)
		ERREXIT1(&cinfo, JERR_OUT_OF_MEMORY, 0);
	while (cinfo.output_scanline < cinfo.output_height) {
		JSAMPROW row = pix + (size_t)cinfo.output_scanline * stride;
		jpeg_read_scanlines(&cinfo, &row, 1);
	}
	jpeg_finish_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	if (err.truncated) {
		free(pix);
		return drop_fail("JPEG: Premature end of JPEG file");
	}
	im->w = (int)w;
	im->h = (int)h;
	im->rgb = pix;
	return 0;
}

/* ---- TIFF -------------------------------------------------------------------------------- */

static _Thread_local char tiff_msg[256];
static pthread_once_t tiff_once = PTHREAD_ONCE_INIT;

static void tiff_on_error(const char *module, const char *fmt, va_list ap)
{
	if (!tiff_msg[0])
		vsnprintf(tiff_msg, sizeof tiff_msg, fmt, ap);
}

static void tiff_on_warning(const char *module, const char *fmt, va_list ap)
{
}

static void tiff_init(void)
{
	TIFFSetErrorHandler(tiff_on_error);
	TIFFSetWarningHandler(tiff_on_warning);
}

static int read_tiff(const char *path, struct drop_image *im)
{
	pthread_once(&tiff_once, tiff_init);
	tiff_msg[0] = '\0';
	TIFF *t = TIFFOpen(path, "r");
	if (!t)
		return drop_fail("TIFF: %s", tiff_msg[0] ? tiff_msg : "cannot open");
	uint32_t w = 0, h = 0;
	TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
	TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
	if (w < 1 || h < 1 || w > 65535 || h > 65535) {
		TIFFClose(t);
		return drop_fail("TIFF: bad image size %ux%u", (unsigned)w, (unsigned)h);
	}
	if (drop_image_check_pixels(w, h)) {
		TIFFClose(t);
		return -1;
	}
	uint32_t *raster = drop_malloc((size_t)w * h * sizeof *raster);
	if (!TIFFReadRGBAImageOriented(t, w, h, raster, ORIENTATION_TOPLEFT, 1)) {
		free(raster);
		TIFFClose(t);
		return drop_fail("TIFF: %s", tiff_msg[0] ? tiff_msg : "cannot decode the image");
	}
	TIFFClose(t);
	im->w = (int)w;
	im->h = (int)h;
	im->rgb = drop_malloc((size_t)w * h * 3);
	for (size_t i = 0; i < (size_t)w * h; i++) {
		im->rgb[3 * i] = (uint8_t)TIFFGetR(raster[i]);
		im->rgb[3 * i + 1] = (uint8_t)TIFFGetG(raster[i]);
		im->rgb[3 * i + 2] = (uint8_t)TIFFGetB(raster[i]);
	}
	free(raster);
	return 0;
}

int drop_image_read(const char *path, struct drop_image *im)
{
	memset(im, 0, sizeof *im);
	FILE *f = fopen(path, "rb");
	if (!f)
		return drop_fail("cannot open: %s", strerror(errno));
	unsigned char magic[8];
	size_t n = fread(magic, 1, sizeof magic, f);
	int rc;
	if (fseek(f, 0, SEEK_SET) != 0) {
		rc = drop_fail("cannot seek: %s", strerror(errno));
	} else if (n == 0) {
		rc = drop_fail("empty file");
	} else if (n >= 3 && magic[0] == 0xff && magic[1] == 0xd8 && magic[2] == 0xff) {
		rc = read_jpeg(f, im);
	} else if (n >= 4 && (!memcmp(magic, "II*\0", 4) || !memcmp(magic, "MM\0*", 4))) {
		rc = read_tiff(path, im);
	} else if (n == 8 && !memcmp(magic, "\x89PNG\r\n\x1a\n", 8)) {
		struct drop_png_image p;
		rc = drop_png_read_rgb(f, &p);
		if (rc == 0) {
			im->w = p.w;
			im->h = p.h;
			im->rgb = p.pix;
		}
	} else {
		rc = drop_fail("not a JPEG, PNG or TIFF image");
	}
	fclose(f);
	return rc;
}

void drop_image_free(struct drop_image *im)
{
	free(im->rgb);
	im->rgb = NULL;
}

/*
 * png.c - PNG reading and writing with libpng's classic API (see png.h).
 *
 * libpng reports errors by longjmp to the setjmp of the calling function. Each function
 * below creates its libpng structures before its setjmp and keeps every buffer it
 * allocates afterwards in a volatile pointer, so the error path frees all of it.
 */
#include "png.h"
#include "../core/drop.h"
#include "image.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIDE 65535   /* widest and tallest image read or written */

static void on_error(png_structp png, png_const_charp msg)
{
	drop_fail("PNG: %s", msg);
	png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void read_data(png_structp png, png_bytep data, size_t n)
{
	FILE *f = png_get_io_ptr(png);
	if (fread(data, 1, n, f) != n)
		png_error(png, ferror(f) ? "read error" : "truncated file");
}

static void write_data(png_structp png, png_bytep data, size_t n)
{
	if (fwrite(data, 1, n, png_get_io_ptr(png)) != n) {
		char msg[128]; /* on_error copies it before the longjmp */
		snprintf(msg, sizeof msg, "write error: %s", strerror(errno));
		png_error(png, msg);
	}
}

static void flush_data(png_structp png)
{
	(void)png;
}

/* Write rows of w * channels bytes; palette (n, 3) for an indexed image, else NULL. */
static int write_png(FILE *f, const uint8_t *pix, int w, int h, int channels,
                     const uint8_t (*palette)[3], int n, const char *key, const char *text)
{
	if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE)
		return drop_fail("PNG: bad image size %d x %d", w, h);
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, on_error,
	                                          on_warning);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!info) {
		png_destroy_write_struct(&png, NULL);
		return drop_fail("PNG: out of memory");
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		return -1;
	}
	png_set_write_fn(png, f, write_data, flush_data);
	png_set_compression_level(png, 6);
	png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
	             palette ? PNG_COLOR_TYPE_PALETTE : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
	             PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (palette) {
		png_color colors[256];
		for (int i = 0; i < n; i++) {
			colors[i].red = palette[i][0];
			colors[i].green = palette[i][1];
			colors[i].blue = palette[i][2];
		}
		png_set_PLTE(png, info, colors, n);
		/* Indices compress best unfiltered (the PNG specification's advice). */
		png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
	}
	if (key) {
		png_text t = { .compression = PNG_TEXT_COMPRESSION_NONE,
		               .key = (png_charp)key, .text = (png_charp)text,
		               .text_length = strlen(text) };
		png_set_text(png, info, &t, 1);
	}
	png_write_info(png, info);
	for (int y = 0; y < h; y++)
		png_write_row(png, pix + (size_t)y * (size_t)w * (size_t)channels);
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	return 0;
}

int drop_png_write_indexed(FILE *f, const uint8_t *pix, int w, int h,
                           const uint8_t (*palette)[3], int n, const char *key,
                           const char *text)
{
	if (n < 1 || n > 256)
		return drop_fail("PNG: bad palette size %d", n);
	for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
		if (pix[i] >= n)
			return drop_fail("PNG: index %d past the palette (%d entries)", pix[i], n);
	return write_png(f, pix, w, h, 1, palette, n, key, text);
}

int drop_png_write_rgb(FILE *f, const uint8_t *rgb, int w, int h)
{
	return write_png(f, rgb, w, h, 3, NULL, 0, NULL, NULL);
}

/* Read a PNG; `rgb` selects the conversion to RGB, else indices or grey levels as stored. */
static int read_png(FILE *f, struct drop_png_image *im, int rgb)
{
	memset(im, 0, sizeof *im);
	unsigned char sig[8];
	if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8))
		return drop_fail("not a PNG file");
	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, on_error,
	                                         on_warning);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!info) {
		png_destroy_read_struct(&png, NULL, NULL);
		return drop_fail("PNG: out of memory");
	}
	uint8_t *volatile pix = NULL;
	png_bytep *volatile rows = NULL;
	if (setjmp(png_jmpbuf(png))) {
		free(pix);
		free(rows);
		png_destroy_read_struct(&png, &info, NULL);
		return -1;
	}
	png_set_read_fn(png, f, read_data);
	png_set_sig_bytes(png, 8);
	png_set_user_limits(png, MAX_SIDE, MAX_SIDE);
	/* libpng allocates (and clears) an ancillary chunk whole from its declared length
	 * before reading it, its own chunk size limit being only a warning: a 143-byte file
	 * declaring a 738 MB tEXt took 738 MB. None of those chunks is used here: skip them
	 * all, unread, as unknown ones are. */
	static const png_byte skip[] = "tEXt\0zTXt\0iTXt\0iCCP\0sPLT\0eXIf\0pCAL\0sCAL\0";
	png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
	png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, skip, 8);
	png_read_info(png, info);
	/* Before any row is allocated or inflated: a 1 MB file may declare 20000 x 20000. */
	if (drop_image_check_pixels(png_get_image_width(png, info), png_get_image_height(png, info)))
		png_longjmp(png, 1);
	int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
	int channels = 3, npalette = 0;
	if (rgb) {
		png_set_expand(png);
		png_set_strip_16(png);
		png_set_strip_alpha(png);
		png_set_gray_to_rgb(png);
	} else {
		if ((type != PNG_COLOR_TYPE_PALETTE && type != PNG_COLOR_TYPE_GRAY) || depth > 8)
			png_error(png, "not an indexed or 8-bit grey-level image");
		if (type == PNG_COLOR_TYPE_PALETTE) {
			png_colorp colors;
			png_get_PLTE(png, info, &colors, &npalette);
		}
		png_set_packing(png);
		channels = 1;
	}
	png_set_interlace_handling(png);
	png_read_update_info(png, info);
	size_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
	if (png_get_rowbytes(png, info) != w * (size_t)channels)
		png_error(png, "unexpected row size after conversion");
	pix = malloc(w * h * (size_t)channels);
	rows = malloc(h * sizeof *rows);
	if (!pix || !rows)
		png_error(png, "out of memory");
	for (size_t y = 0; y < h; y++)
		rows[y] = pix + y * w * (size_t)channels;
	png_read_image(png, rows);
	png_read_end(png, NULL);
	png_destroy_read_struct(&png, &info, NULL);
	free(rows);
	im->w = (int)w;
	im->h = (int)h;
	im->channels = channels;
	im->npalette = npalette;
	im->pix = pix;
	return 0;
}

int drop_png_read_indexed(FILE *f, struct drop_png_image *im)
{
	return read_png(f, im, 0);
}

int drop_png_read_rgb(FILE *f, struct drop_png_image *im)
{
	return read_png(f, im, 1);
}

void drop_png_image_free(struct drop_png_image *im)
{
	free(im->pix);
	im->pix = NULL;
}

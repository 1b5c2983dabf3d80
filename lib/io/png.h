/*
 * png.h - PNG files through libpng: 8-bit indexed (palette) images for label maps, RGB
 * images for overlays, and reading either back.
 *
 * Every function works on an open FILE and reports a failure (a libpng error, a short
 * read or write) as -1 with drop_errmsg() set; libpng's longjmp never leaves the module
 * and nothing it allocated is leaked. The output is deterministic for a given libpng and
 * zlib: fixed compression level, fixed filters, no time stamp.
 * Not here: opening or naming files (the caller), JPEG (lib/io/image.h), 16-bit output.
 */
#ifndef DROP_PNG_H
#define DROP_PNG_H

#include <stdint.h>
#include <stdio.h>

/* Write an 8-bit palette PNG of w x h indices. pix (h, w), palette (n, 3) RGB with
 * 1 <= n <= 256; every index must be < n. `key`/`text` add one tEXt chunk unless key is
 * NULL (key: 1-79 Latin-1 characters). */
int drop_png_write_indexed(FILE *f, const uint8_t *pix, int w, int h,
                           const uint8_t (*palette)[3], int n, const char *key,
                           const char *text);

/* Write an 8-bit RGB PNG. rgb (h, w, 3). */
int drop_png_write_rgb(FILE *f, const uint8_t *rgb, int w, int h);

/* A decoded image: `channels` 1 (indices or grey levels) or 3 (RGB), 8 bits each. */
struct drop_png_image {
	int w, h;
	int channels;
	int npalette;     /* palette entries of an indexed PNG, 0 for a grey-level one */
	uint8_t *pix;     /* (h, w, channels), malloc'd */
};

/* Read the indices of an 8-bit-or-less palette PNG, or the grey levels of an 8-bit-or-less
 * grey-level PNG, as they are (no palette lookup): channels = 1. Other PNGs are an error. */
int drop_png_read_indexed(FILE *f, struct drop_png_image *im);

/* Read any PNG as 8-bit RGB: palettes looked up, grey expanded, 16-bit channels reduced to
 * their high byte, alpha dropped. channels = 3. */
int drop_png_read_rgb(FILE *f, struct drop_png_image *im);

void drop_png_image_free(struct drop_png_image *im);

#endif

/*
 * image.h - reading images (JPEG through libjpeg-turbo, PNG through lib/io/png.h, TIFF through
 * libtiff, for Occluded-REID) into 8-bit
 * RGB, for overlays (drop-labels) and the image pipeline (drop-train, drop-embed).
 *
 * The format is recognised by the first bytes of the file, not by its name. A corrupt or
 * truncated file is an error with a one-line reason ("JPEG: Premature end of JPEG file",
 * "PNG: truncated file"), never a grey-filled image; other recoverable JPEG warnings
 * (extraneous bytes between markers) are tolerated as libjpeg tolerates them. libjpeg's and
 * libpng's longjmps stay inside the module and leak nothing.
 * Not here: resizing, colour normalisation, other formats (BMP), EXIF orientation.
 */
#ifndef DROP_IMAGE_H
#define DROP_IMAGE_H

#include <stdint.h>

struct drop_image {
	int w, h;
	uint8_t *rgb;     /* (h, w, 3), malloc'd */
};

/* Read a JPEG, PNG or TIFF file as RGB (alpha dropped). Returns -1 with drop_errmsg() set (without the path). */
int drop_image_read(const char *path, struct drop_image *im);

/* The most pixels (width x height) an image may have to be decoded, JPEG, PNG (label maps
 * too) or TIFF: checked against the size the file declares, before any pixel is allocated
 * or decoded, so a small file cannot make a decoder take gigabytes ("image of 65500 x
 * 65500 pixels, more than the limit of 16000000 (--max-pixels)"). Person crops are small:
 * the default is DROP_IMAGE_MAX_PIXELS. Tools set it from --max-pixels before decoding
 * starts; each side is also limited to 65535. */
#define DROP_IMAGE_MAX_PIXELS 16000000ull
void drop_image_set_max_pixels(unsigned long long n);
unsigned long long drop_image_max_pixels(void);
/* 0, or -1 with the message above when w x h is over the limit. */
int drop_image_check_pixels(unsigned long w, unsigned long h);

void drop_image_free(struct drop_image *im);

#endif

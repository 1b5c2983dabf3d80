/*
 * fuzz_image - lib/io/image.c, the loader's decoder: JPEG (libjpeg-turbo), PNG and TIFF
 * (libtiff) recognised by their first bytes, read from a regular file as drop-embed and
 * drop-train read images, under a pixel limit of 1 megapixel.
 */
#include "fuzz.h"
#include "../../lib/io/image.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	drop_image_set_max_pixels(1 << 20);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = fuzz_memfile(data, size, path, sizeof path);
	if (fd < 0)
		return 0;
	struct drop_image im;
	if (drop_image_read(path, &im) == 0) {
		FUZZ_ASSERT(im.w >= 1 && im.h >= 1 && (size_t)im.w * im.h <= (1u << 20));
		/* Every pixel is there: the augmenter reads them all. */
		unsigned sum = 0;
		for (size_t i = 0; i < (size_t)im.w * im.h * 3; i++)
			sum += im.rgb[i];
		(void)sum;
		drop_image_free(&im);
	}
	close(fd);
	return 0;
}

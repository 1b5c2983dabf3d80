/*
 * fuzz_png - lib/io/png.c reading label maps as drop-train does (the indices of a palette
 * or grey-level PNG) and PNGs as RGB (overlays, sheets), from a memory stream, under a
 * pixel limit of 1 megapixel.
 */
#include "fuzz.h"
#include "../../lib/io/image.h"
#include "../../lib/io/png.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	drop_image_set_max_pixels(1 << 20);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	for (int rgb = 0; rgb < 2; rgb++) {
		FILE *f = fmemopen((void *)data, size, "rb");
		if (!f)
			return 0;
		struct drop_png_image im;
		int rc = rgb ? drop_png_read_rgb(f, &im) : drop_png_read_indexed(f, &im);
		fclose(f);
		if (rc)
			continue;
		FUZZ_ASSERT(im.w >= 1 && im.h >= 1 && (size_t)im.w * im.h <= (1u << 20));
		FUZZ_ASSERT(im.channels == (rgb ? 3 : 1));
		/* What drop-train's loader does with a label map: every index read. */
		unsigned max = 0;
		for (size_t i = 0; i < (size_t)im.w * im.h * im.channels; i++)
			max = im.pix[i] > max ? im.pix[i] : max;
		(void)max;
		drop_png_image_free(&im);
	}
	return 0;
}

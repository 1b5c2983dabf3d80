/*
 * canvas.h - an RGB raster to draw on before writing it as a PNG (lib/io/png.h): filled
 * rectangles, lines, and text in a small bitmap font (printable ASCII in 5x8 cells, at any
 * integer scale). Every drawing call clips to the canvas.
 * Used by the contact sheets of drop-match (lib/reid/sheet.h) and the ROC plot of
 * drop-score (lib/reid/roc.h). Not here: anti-aliasing, images (lib/io/image.h).
 */
#ifndef DROP_CANVAS_H
#define DROP_CANVAS_H

#include <stdint.h>

/* The font's cell: glyphs DROP_GLYPH_W x DROP_GLYPH_H pixels, DROP_GLYPH_ADVANCE apart. */
enum { DROP_GLYPH_W = 5, DROP_GLYPH_H = 8, DROP_GLYPH_ADVANCE = DROP_GLYPH_W + 1 };

/* Pixels (h, w, 3), row-major. */
struct drop_canvas {
	int w, h;
	uint8_t *rgb;
};

/* Fill the rectangle of w x h pixels whose top-left corner is (x, y) with colour c. */
void drop_canvas_fill(const struct drop_canvas *cv, int x, int y, int w, int h,
                      const uint8_t c[3]);
/* A line from (x0, y0) to (x1, y1), both ends included, `thick` pixels wide. */
void drop_canvas_line(const struct drop_canvas *cv, int x0, int y0, int x1, int y1, int thick,
                      const uint8_t c[3]);
/* Width in pixels of n characters at `scale`. */
int drop_canvas_text_width(int n, int scale);
/* Draw str with its top-left corner at (x, y), each font pixel scale x scale; characters
 * outside printable ASCII show as '?'. */
void drop_canvas_text(const struct drop_canvas *cv, int x, int y, int scale, const char *str,
                      const uint8_t c[3]);

#endif

/*
 * sheet.c - contact sheets drawn into an RGB canvas (see sheet.h): layout, frames, and
 * image resizing; text in lib/io/canvas.h's font.
 */
#include "sheet.h"
#include "../core/drop.h"
#include "../io/canvas.h"
#include "../io/image.h"
#include "../io/png.h"
#include "../io/walk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- Layout ------------------------------------------------------------------------------- */

enum {
	CELL_W = DROP_SHEET_IMG_W + 2 * DROP_SHEET_FRAME,
	CELL_H = DROP_SHEET_IMG_H + 2 * DROP_SHEET_FRAME,
	TEXT_H = DROP_GLYPH_H * DROP_SHEET_TEXT,
	TEXT_PAD = 5,                                 /* between a frame and its text */
	HEADER_H = TEXT_H + 8,                        /* the column names and space below */
	ROW_H = CELL_H + TEXT_PAD + TEXT_H,
};

static const uint8_t white[3] = { 255, 255, 255 };
static const uint8_t ink[3] = { 40, 40, 40 };
static const uint8_t rule[3] = { 215, 215, 215 };
static const uint8_t c_query[3] = { DROP_SHEET_QUERY };
static const uint8_t c_same[3] = { DROP_SHEET_SAME };
static const uint8_t c_other[3] = { DROP_SHEET_OTHER };
static const uint8_t c_unknown[3] = { DROP_SHEET_UNKNOWN };

/* Left edge of column c: 0 the query, 1.. the matches. */
static int col_x(int c)
{
	if (c == 0)
		return DROP_SHEET_MARGIN;
	return DROP_SHEET_MARGIN + CELL_W + DROP_SHEET_SEP + (c - 1) * (CELL_W + DROP_SHEET_GAP);
}

/* Top edge of row r's frames. */
static int row_y(int r)
{
	return DROP_SHEET_MARGIN + HEADER_H + r * (ROW_H + DROP_SHEET_ROW_GAP);
}

int drop_sheet_height(const struct drop_sheet *s, int n)
{
	(void)s;
	return row_y(n) - (n > 0 ? DROP_SHEET_ROW_GAP : 0) + DROP_SHEET_MARGIN;
}

/* ---- Drawing ------------------------------------------------------------------------------ */

/* The sheet's canvas: its whole height, rows not drawn yet included. */
static struct drop_canvas canvas(const struct drop_sheet *s)
{
	return (struct drop_canvas){ s->w, drop_sheet_height(s, s->rows), s->rgb };
}

static void fill(struct drop_sheet *s, int x, int y, int w, int h, const uint8_t c[3])
{
	struct drop_canvas cv = canvas(s);
	drop_canvas_fill(&cv, x, y, w, h, c);
}

/* Draw `text` centred on x, its top at y: at the sheet's text scale when it fits in
 * `room` pixels, else at scale 1; clipped to the canvas. Characters outside printable
 * ASCII show as '?'. */
static void text(struct drop_sheet *s, int x, int y, int room, const char *str,
                 const uint8_t c[3])
{
	int n = (int)strlen(str);
	int scale = DROP_SHEET_TEXT;
	if (drop_canvas_text_width(n, scale) > room)
		scale = 1;
	struct drop_canvas cv = canvas(s);
	drop_canvas_text(&cv, x - drop_canvas_text_width(n, scale) / 2,
	                 y + (TEXT_H - DROP_GLYPH_H * scale) / 2, scale, str, c);
}

/* Bilinear sample of channel ch of im at (fx, fy), pixel centres at integers, edges
 * clamped. */
static float sample(const struct drop_image *im, float fx, float fy, int ch)
{
	fx = fx < 0 ? 0 : fx > (float)(im->w - 1) ? (float)(im->w - 1) : fx;
	fy = fy < 0 ? 0 : fy > (float)(im->h - 1) ? (float)(im->h - 1) : fy;
	int x0 = (int)fx, y0 = (int)fy;
	int x1 = x0 + 1 < im->w ? x0 + 1 : x0, y1 = y0 + 1 < im->h ? y0 + 1 : y0;
	float tx = fx - (float)x0, ty = fy - (float)y0;
	const uint8_t *p = im->rgb;
	size_t w = (size_t)im->w;
	float a = p[(y0 * w + x0) * 3 + ch], b = p[(y0 * w + x1) * 3 + ch];
	float c = p[(y1 * w + x0) * 3 + ch], d = p[(y1 * w + x1) * 3 + ch];
	return (a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty;
}

/* Resize im into the IMG_W x IMG_H box at (x, y): each pixel the mean of nx x ny bilinear
 * samples spread over its footprint (one sample when enlarging), so that shrinking a large
 * image does not alias. */
static void draw_image(struct drop_sheet *s, int x, int y, const struct drop_image *im)
{
	enum { W = DROP_SHEET_IMG_W, H = DROP_SHEET_IMG_H };
	float sx = (float)im->w / W, sy = (float)im->h / H;
	int nx = (im->w + W - 1) / W, ny = (im->h + H - 1) / H;
	for (int j = 0; j < H; j++)
		for (int i = 0; i < W; i++) {
			float acc[3] = { 0, 0, 0 };
			for (int b = 0; b < ny; b++)
				for (int a = 0; a < nx; a++) {
					float fx = ((float)i + ((float)a + 0.5f) / (float)nx) * sx - 0.5f;
					float fy = ((float)j + ((float)b + 0.5f) / (float)ny) * sy - 0.5f;
					for (int ch = 0; ch < 3; ch++)
						acc[ch] += sample(im, fx, fy, ch);
				}
			uint8_t *p = s->rgb + ((size_t)(y + j) * (size_t)s->w + (size_t)(x + i)) * 3;
			for (int ch = 0; ch < 3; ch++)
				p[ch] = (uint8_t)(acc[ch] / (float)(nx * ny) + 0.5f);
		}
}

/* Read it->path (under the root when relative) and draw it framed in colour c, its top
 * left corner at (x, y). */
static int draw_cell(struct drop_sheet *s, int x, int y, const struct drop_sheet_item *it,
                     const uint8_t c[3])
{
	char *path = s->root && it->path[0] != '/' ? drop_path_join(s->root, it->path)
	                                          : drop_strdup(it->path);
	struct drop_image im;
	if (drop_image_read(path, &im)) {
		free(s->bad);
		s->bad = path;
		return -1;
	}
	free(path);
	fill(s, x, y, CELL_W, CELL_H, c);
	draw_image(s, x + DROP_SHEET_FRAME, y + DROP_SHEET_FRAME, &im);
	drop_image_free(&im);
	return 0;
}

/* ---- The sheet ---------------------------------------------------------------------------- */

int drop_sheet_init(struct drop_sheet *s, int rows, int cols, const char *root)
{
	memset(s, 0, sizeof *s);
	if (rows < 1 || rows > DROP_SHEET_MAX_ROWS || cols < 1 || cols > DROP_SHEET_MAX_TOP)
		return drop_fail("contact sheet of %d x %d images (at most %d x %d)", rows, cols,
		                 DROP_SHEET_MAX_ROWS, DROP_SHEET_MAX_TOP);
	s->rows = rows;
	s->cols = cols;
	s->w = col_x(cols) + CELL_W + DROP_SHEET_MARGIN;
	int h = drop_sheet_height(s, rows);
	s->rgb = drop_malloc((size_t)s->w * (size_t)h * 3);
	fill(s, 0, 0, s->w, h, white);
	s->root = root ? drop_strdup(root) : NULL;

	char num[16];
	int room = CELL_W + DROP_SHEET_GAP;
	text(s, col_x(0) + CELL_W / 2, DROP_SHEET_MARGIN, room, "query", ink);
	for (int c = 1; c <= cols; c++) {
		snprintf(num, sizeof num, "%d", c);
		text(s, col_x(c) + CELL_W / 2, DROP_SHEET_MARGIN, room, num, ink);
	}
	return 0;
}

int drop_sheet_add(struct drop_sheet *s, const struct drop_sheet_item *query,
                   const struct drop_sheet_item *matches, int n)
{
	if (s->nrows == s->rows)
		return 1;
	int y = row_y(s->nrows), ty = y + CELL_H + TEXT_PAD;
	int room = CELL_W + DROP_SHEET_GAP;
	char label[32];
	if (draw_cell(s, col_x(0), y, query, c_query))
		return -1;
	if (query->pid == -1)
		snprintf(label, sizeof label, "id ?");
	else
		snprintf(label, sizeof label, "id %d", (int)query->pid);
	text(s, col_x(0) + CELL_W / 2, ty, CELL_W + DROP_SHEET_SEP, label, ink);
	/* A thin rule between the query and its matches, across the row and the gap above. */
	int rx = col_x(1) - DROP_SHEET_SEP / 2, top = s->nrows ? y - DROP_SHEET_ROW_GAP : y;
	fill(s, rx, top, 1, y + ROW_H - top, rule);
	for (int r = 0; r < n && r < s->cols; r++) {
		const struct drop_sheet_item *m = &matches[r];
		const uint8_t *c = query->pid == -1 || m->pid == -1 ? c_unknown
		                   : query->pid == m->pid           ? c_same
		                                                    : c_other;
		if (draw_cell(s, col_x(r + 1), y, m, c))
			return -1;
		snprintf(label, sizeof label, "%.3f", (double)m->dist);
		text(s, col_x(r + 1) + CELL_W / 2, ty, room, label, ink);
	}
	s->nrows++;
	return 0;
}

int drop_sheet_write(const struct drop_sheet *s, FILE *f)
{
	return drop_png_write_rgb(f, s->rgb, s->w, drop_sheet_height(s, s->nrows));
}

void drop_sheet_free(struct drop_sheet *s)
{
	free(s->rgb);
	free(s->root);
	free(s->bad);
	memset(s, 0, sizeof *s);
}

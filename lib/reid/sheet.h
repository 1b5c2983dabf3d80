/*
 * sheet.h - contact sheets of ranked lists (the paper's Fig. 3), as RGB PNG images.
 *
 * One row per query: the query's image, then the images of its nearest gallery items,
 * nearest first. Each image is resized to a fixed cell (bilinear, averaging several
 * samples per pixel when it shrinks) and framed: blue for the query; for a gallery item
 * green when it has the query's identity, red when it has another, grey when either
 * identity is unknown (pid -1). Under each gallery image its distance ("0.734"), under the
 * query its identity ("id 17"); a header line names the columns ("query", "1", "2", ...).
 * Text uses a built-in 5x7 bitmap font (with descenders) of printable ASCII.
 *
 *   +--------------------------------------------------------------+
 *   | query  |  1       2       3                                  |  header
 *   | [q]    | [g1]    [g2]    [g3]   ...                          |  frames, images
 *   | id 17  | 0.412   0.530   0.611                               |  text
 *   | ...                                                          |  next row
 *
 * Rows are drawn as they are added, into a canvas sized for the most rows asked for, so
 * memory is that canvas (about 40 kB per image) whatever the number of queries; images are
 * read one at a time and freed. The output is deterministic.
 * Not here: ranking (lib/reid/match.h), choosing the queries (the caller adds the rows it
 * wants), opening or naming the output file (lib/io/outfile.h).
 */
#ifndef DROP_SHEET_H
#define DROP_SHEET_H

#include <stdint.h>
#include <stdio.h>

/* Limits of a sheet (its canvas stays below about 200 MB). */
#define DROP_SHEET_MAX_ROWS 100
#define DROP_SHEET_MAX_TOP 50

/* Geometry, in pixels: each image is IMG_W x IMG_H inside a FRAME-wide frame. */
enum {
	DROP_SHEET_IMG_W = 64,
	DROP_SHEET_IMG_H = 128,
	DROP_SHEET_FRAME = 3,
	DROP_SHEET_MARGIN = 12,      /* around the whole sheet */
	DROP_SHEET_GAP = 8,          /* between two gallery columns */
	DROP_SHEET_SEP = 24,         /* between the query column and the first match */
	DROP_SHEET_TEXT = 2,         /* font scale: 5x8 glyph cells drawn 10x16 */
	DROP_SHEET_ROW_GAP = 12,     /* between two rows */
};

/* Frame colours (RGB). */
#define DROP_SHEET_QUERY 31, 119, 180   /* blue */
#define DROP_SHEET_SAME 44, 160, 44     /* green */
#define DROP_SHEET_OTHER 214, 39, 40    /* red */
#define DROP_SHEET_UNKNOWN 150, 150, 150 /* grey */

/* One image of a row. */
struct drop_sheet_item {
	const char *path;    /* as recorded; relative paths are taken under the root */
	int32_t pid;         /* -1 = unknown */
	float dist;          /* distance to the query (ignored for the query) */
};

struct drop_sheet {
	int rows, cols;      /* rows the canvas holds, gallery columns per row */
	int nrows;           /* rows drawn so far */
	int w;               /* canvas width */
	uint8_t *rgb;        /* (drop_sheet_height(rows), w, 3) canvas */
	char *root;          /* prefix of relative paths, or NULL */
	char *bad;           /* after a failure to read an image: its path as opened */
};

/* Start a sheet of at most `rows` rows (1..DROP_SHEET_MAX_ROWS) of `cols` matches each
 * (1..DROP_SHEET_MAX_TOP); relative image paths are read under `root` (NULL: the current
 * folder). Returns -1 with drop_errmsg() on bad sizes. */
int drop_sheet_init(struct drop_sheet *s, int rows, int cols, const char *root);

/* Draw the next row: the query, then its n matches (n <= cols; fewer leave blank cells),
 * nearest first. Returns 0, 1 when the sheet was already full (nothing drawn), or -1 when
 * an image cannot be read: s->bad names it and drop_errmsg() says why ("cannot open: No
 * such file or directory", "JPEG: ..."). */
int drop_sheet_add(struct drop_sheet *s, const struct drop_sheet_item *query,
                   const struct drop_sheet_item *matches, int n);

/* Height of a sheet of n rows, in pixels. */
int drop_sheet_height(const struct drop_sheet *s, int n);

/* Write the rows drawn so far (the header alone if none) as an RGB PNG to f. */
int drop_sheet_write(const struct drop_sheet *s, FILE *f);

void drop_sheet_free(struct drop_sheet *s);

#endif

/*
 * progress.h - a progress line on stderr for long runs over many items:
 *   "drop-labels: 12000/35000 files (34%), 5120 files/s, ETA 0:04"
 * redrawn in place (at most ten times a second) on a terminal, or printed as a new line
 * every few seconds when stderr is a file (--progress). Updates come from any thread.
 * A run may name its stage before the count and add its own figures after it:
 *   "drop-train: epoch 3/120: 768/12936 images (5%), 180 images/s, ETA 1:07, loss 6.1"
 * The tool decides whether to show it (drop_progress_wanted() in lib/run/cli.h); a disabled
 * progress accepts every call and prints nothing. Error messages printed through
 * drop_progress_error() erase the line first, so the two never mix.
 * Not here: nested bars, byte counts, colours.
 */
#ifndef DROP_PROGRESS_H
#define DROP_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

struct drop_progress;

/* Start counting towards `total` items named `unit` ("files"); total 0 = unknown (no
 * percentage, no ETA). Never returns NULL. */
struct drop_progress *drop_progress_start(const char *unit, size_t total, bool enabled);

/* Count n more items done. Thread-safe; draws when the last drawing is old enough. */
void drop_progress_add(struct drop_progress *p, size_t n);

/* The stage drawn before the count ("epoch 3/120"), at most 63 bytes; set it before the
 * first update. */
void drop_progress_label(struct drop_progress *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Figures drawn at the end of the line ("loss 6.1"), at most 255 bytes, in place of the
 * previous ones from the next drawing on. Thread-safe. */
void drop_progress_detail(struct drop_progress *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Make drop_progress_end draw the final line even on a terminal after a run too short to
 * have shown it: a summary the run always leaves (one line per epoch). */
void drop_progress_keep_summary(struct drop_progress *p);

/* Print "PROG: message" on stderr as drop_error() does, erasing the progress line first;
 * the line is drawn again by the next update. Thread-safe; works with p == NULL too. */
void drop_progress_error(struct drop_progress *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Draw the final count (on a terminal only if the line was shown or a summary is kept:
 * runs shorter than half a second leave nothing otherwise), end the line, and free p. */
void drop_progress_end(struct drop_progress *p);

#endif

/*
 * outfile.h - outputs that appear whole or not at all.
 *
 * A named output is written to a temporary file beside it ("NAME.tmp.XXXXXX") and renamed
 * over NAME by drop_out_commit(); drop_out_abort(), an error exit or SIGINT/SIGTERM removes
 * the temporary, so a failed run never leaves a half-written file. "-" is stdout: when
 * stdout is a regular file (`> out.npy`), an abort truncates it back to where this run
 * started, so nothing half-written stays there either.
 */
#ifndef DROP_OUTFILE_H
#define DROP_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct drop_out {
	FILE *f;
	char *path;      /* the final name ("-" for stdout) */
	char *tmp;       /* the temporary name, NULL for stdout */
	off_t start;     /* stdout as a regular file: its size when we started, else -1 */
};

/* Open `path` for writing ("-" = stdout). With `binary`, refuse a terminal on stdout.
 * Returns -1 with drop_errmsg() set on failure. */
int drop_out_open(struct drop_out *o, const char *path, bool binary);
/* Flush, close and rename into place. Returns -1 (and removes the temporary) on error. */
int drop_out_commit(struct drop_out *o);
/* Discard everything written. */
void drop_out_abort(struct drop_out *o);

#endif

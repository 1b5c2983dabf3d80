/*
 * outfile.h - outputs that appear whole or not at all.
 *
 * A named output is written to a temporary file beside it and renamed over NAME by
 * drop_out_commit(); drop_out_abort(), an error exit or SIGINT/SIGTERM/SIGHUP removes the
 * temporary, so a failed run never leaves a half-written file. Where the file system
 * allows it (O_TMPFILE: ext4, XFS, Btrfs, tmpfs) the temporary has no name until it is
 * complete, so not even SIGKILL leaves one behind. Elsewhere it is "NAME.tmp.XXXXXX",
 * locked (flock) while it is open; the first output a process writes into a folder then
 * removes from that folder the temporaries killed runs left: files of that pattern, of
 * the same user, older than an hour and locked by no live process. Readers ignore such
 * names anyway (no tool reads *.tmp.* as data). An existing
 * path that is no regular file (/dev/null, a FIFO) is written in place. "-" is stdout:
 * when stdout is a regular file (`> out.npy`), an abort truncates it back to where this
 * run started, so nothing half-written stays there either.
 *
 * Any number of threads may write named outputs at once (tools that write many files from
 * worker threads use drop_write_file()); stdout is one stream, for one writer. The signal
 * handler is installed on the first named output and chains to the handler found there;
 * signals that were ignored stay ignored. Files get mode 0666 less the umask.
 * Not here: creating folders (lib/io/walk.h), naming outputs after inputs.
 */
#ifndef DROP_OUTFILE_H
#define DROP_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct drop_out {
	FILE *f;
	char *path;      /* the final name ("-" for stdout) */
	char *tmp;       /* the temporary name, NULL for stdout, in-place and unnamed outputs */
	bool anonymous;  /* the temporary has no name yet (O_TMPFILE), one at commit */
	bool in_place;   /* an existing device or FIFO (/dev/null), written directly */
	off_t start;     /* stdout as a regular file: its size when we started, else -1 */
};

/* Open `path` for writing ("-" = stdout). With `binary`, refuse a terminal on stdout.
 * Returns -1 with drop_errmsg() set on failure. */
int drop_out_open(struct drop_out *o, const char *path, bool binary);
/* Flush, close and rename into place. Returns -1 (and removes the temporary) on error. */
int drop_out_commit(struct drop_out *o);
/* Discard everything written. */
void drop_out_abort(struct drop_out *o);

/* Hand SIGINT/SIGTERM/SIGHUP to `handler` instead: it runs in signal context (set a
 * flag), temporaries are not removed and the signal is not re-raised, so a tool can finish
 * its step, commit what it is writing and exit (drop-train saves a checkpoint on Ctrl-C).
 * Temporaries still pending at exit are removed then. NULL restores the default. */
void drop_out_on_interrupt(void (*handler)(int));

/* Write the file `path` whole or not at all: fill(f, ctx) writes into a temporary beside
 * it, which is then renamed over path ("-" is a file of that name here, not stdout). fill
 * returns 0, or -1 with drop_errmsg() set. Every failure, fill's included, returns -1 with
 * drop_errmsg() naming path ("PATH: cannot create: REASON", "PATH: write error: REASON",
 * "PATH: " and fill's reason). The temporary is gone either way. Thread-safe. */
int drop_write_file(const char *path, int (*fill)(FILE *f, void *ctx), void *ctx);

/* Tests only: named temporaries (mkstemp and flock) even where unnamed ones would do, to
 * exercise the path other file systems take. */
void drop_out_named_temporaries(bool on);

#endif

/*
 * outfile.c - temporary-file-and-rename outputs (see outfile.h).
 */
#include "outfile.h"
#include "drop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Temporaries still open, removed by the signal handler (async-signal-safe unlink). */
#define MAX_PENDING 64
static char *volatile pending[MAX_PENDING];

static void on_signal(int sig)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (pending[i])
			unlink(pending[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void track(char *tmp, bool add)
{
	static bool installed;
	if (!installed) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		signal(SIGHUP, on_signal);
		installed = true;
	}
	for (int i = 0; i < MAX_PENDING; i++)
		if (add ? !pending[i] : pending[i] == tmp) {
			pending[i] = add ? tmp : NULL;
			return;
		}
}

int drop_out_open(struct drop_out *o, const char *path, bool binary)
{
	memset(o, 0, sizeof *o);
	o->start = -1;
	o->path = xstrdup(path);
	if (!strcmp(path, "-")) {
		if (binary && isatty(STDOUT_FILENO)) {
			free(o->path);
			return drop_fail("refusing to write binary data to a terminal "
			                 "(redirect stdout or use -o FILE)");
		}
		struct stat st;
		if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode))
			o->start = lseek(STDOUT_FILENO, 0, SEEK_CUR);
		o->f = stdout;
		return 0;
	}
	size_t n = strlen(path) + 16;
	o->tmp = xmalloc(n);
	snprintf(o->tmp, n, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(o->tmp);
	if (fd < 0 || !(o->f = fdopen(fd, "wb"))) {
		int e = errno;
		if (fd >= 0) {
			close(fd);
			unlink(o->tmp);
		}
		free(o->tmp);
		free(o->path);
		return drop_fail("cannot create: %s", strerror(e));
	}
	/* mkstemp makes the file 0600; give it the usual umask-governed mode. */
	mode_t um = umask(0);
	umask(um);
	fchmod(fd, 0666 & ~um);
	track(o->tmp, true);
	return 0;
}

static void release(struct drop_out *o)
{
	if (o->tmp)
		track(o->tmp, false);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof *o);
}

int drop_out_commit(struct drop_out *o)
{
	if (!o->tmp) {
		if (fflush(stdout) == 0 && !ferror(stdout)) {
			release(o);
			return 0;
		}
		int e = errno;
		drop_out_abort(o);
		return drop_fail("write error: %s", strerror(e));
	}
	int bad = fflush(o->f) != 0 || ferror(o->f);
	int e = errno;
	if (fclose(o->f) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	o->f = NULL;
	if (!bad && rename(o->tmp, o->path) != 0) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		unlink(o->tmp);
		release(o);
		return drop_fail("write error: %s", strerror(e));
	}
	release(o);
	return 0;
}

void drop_out_abort(struct drop_out *o)
{
	if (!o->path)
		return;
	if (o->tmp) {
		if (o->f)
			fclose(o->f);
		unlink(o->tmp);
	} else if (o->start >= 0) {
		/* stdout is a regular file: take back what this run wrote. */
		fflush(stdout);
		if (ftruncate(STDOUT_FILENO, o->start) == 0)
			lseek(STDOUT_FILENO, o->start, SEEK_SET);
	}
	release(o);
}

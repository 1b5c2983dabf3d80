/*
 * outfile.c - temporary-file-and-rename outputs (see outfile.h).
 *
 * Every temporary being written sits in a slot of a fixed table that the signal handler
 * walks and unlinks (unlink is async-signal-safe). Slots are taken and given back with
 * atomics, and the handlers and the file mode are set up once (pthread_once), so any
 * number of threads may write files at once.
 */
#include "outfile.h"
#include "../core/drop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Temporaries removed on a signal ----------------------------------------------------- */

#define SLOTS 1024
static char *_Atomic pending[SLOTS];
static const int caught[3] = { SIGINT, SIGTERM, SIGHUP };
static struct sigaction old_actions[3];
static mode_t file_mode = 0644;     /* 0666 less the umask: what open(2) would have made */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static void (*volatile interrupt_handler)(int); /* drop_out_on_interrupt() */

static void remove_pending(void)
{
	for (int i = 0; i < SLOTS; i++) {
		char *p = atomic_load(&pending[i]);
		if (p)
			unlink(p);
	}
}

static void on_signal(int sig)
{
	if (interrupt_handler) { /* the tool stops cleanly itself (drop-train saves first) */
		interrupt_handler(sig);
		return;
	}
	remove_pending();
	for (int i = 0; i < 3; i++)
		if (caught[i] == sig && old_actions[i].sa_handler != SIG_DFL &&
		    old_actions[i].sa_handler != SIG_IGN && !(old_actions[i].sa_flags & SA_SIGINFO))
			old_actions[i].sa_handler(sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* The umask, read without changing it (/proc: setting and restoring it would race with
 * other threads creating files), else by the set-and-restore dance. */
static mode_t current_umask(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned mask;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "Umask: %o", &mask) == 1) {
			fclose(f);
			return (mode_t)mask;
		}
	if (f)
		fclose(f);
	mode_t m = umask(022);
	umask(m);
	return m;
}

/* Read the umask and catch the signals, chaining to the handlers found there; signals that
 * were ignored stay ignored. */
static void init_once(void)
{
	file_mode = 0666 & ~current_umask();
	atexit(remove_pending); /* an error exit (drop_die) leaves no temporary behind */
	for (int i = 0; i < 3; i++) {
		struct sigaction sa;
		sigaction(caught[i], NULL, &old_actions[i]);
		if (old_actions[i].sa_handler == SIG_IGN)
			continue;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(caught[i], &sa, NULL);
	}
}

void drop_out_on_interrupt(void (*handler)(int))
{
	pthread_once(&once, init_once);
	interrupt_handler = handler;
}

static void track(char *tmp)
{
	for (int i = 0; i < SLOTS; i++) {
		char *expected = NULL;
		if (atomic_compare_exchange_strong(&pending[i], &expected, tmp))
			return;
	}
	/* more writers than slots: this temporary is not removed on a signal */
}

static void untrack(char *tmp)
{
	for (int i = 0; i < SLOTS; i++) {
		char *expected = tmp;
		if (atomic_compare_exchange_strong(&pending[i], &expected, NULL))
			return;
	}
}

/* ---- Outputs ----------------------------------------------------------------------------- */

/* Create o's temporary beside `path`, mode 0666 less the umask. o is zeroed but for start.
 * An existing path that is no regular file (/dev/null, a FIFO, a terminal) is opened and
 * written in place: renaming over it would replace the device. Returns -1 with
 * "cannot create: REASON" (o zeroed again). */
static int open_temp(struct drop_out *o, const char *path)
{
	pthread_once(&once, init_once);
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode))
			return drop_fail("cannot create: %s", strerror(EISDIR));
		if (!(o->f = fopen(path, "wb")))
			return drop_fail("cannot open: %s", strerror(errno));
		o->path = drop_strdup(path);
		o->in_place = true;
		return 0;
	}
	size_t n = strlen(path) + 16;
	o->tmp = drop_malloc(n);
	snprintf(o->tmp, n, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(o->tmp);
	if (fd >= 0)
		track(o->tmp);
	if (fd < 0 || !(o->f = fdopen(fd, "wb"))) {
		int e = errno;
		if (fd >= 0) {
			close(fd);
			unlink(o->tmp);
			untrack(o->tmp);
		}
		free(o->tmp);
		o->tmp = NULL;
		return drop_fail("cannot create: %s", strerror(e));
	}
	/* mkstemp makes the file 0600; give it the usual umask-governed mode. */
	fchmod(fd, file_mode);
	o->path = drop_strdup(path);
	return 0;
}

int drop_out_open(struct drop_out *o, const char *path, bool binary)
{
	memset(o, 0, sizeof *o);
	o->start = -1;
	if (strcmp(path, "-"))
		return open_temp(o, path);
	if (binary && isatty(STDOUT_FILENO))
		return drop_fail("refusing to write binary data to a terminal "
		                 "(redirect stdout or use -o FILE)");
	struct stat st;
	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode))
		o->start = lseek(STDOUT_FILENO, 0, SEEK_CUR);
	o->path = drop_strdup(path);
	o->f = stdout;
	return 0;
}

static void release(struct drop_out *o)
{
	if (o->tmp)
		untrack(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof *o);
}

int drop_out_commit(struct drop_out *o)
{
	if (o->f == stdout) {
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
	if (!bad && o->tmp && rename(o->tmp, o->path) != 0) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		if (o->tmp)
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
	if (o->f == stdout) {
		/* Drop what stdio still holds, so an error exit flushes no half document. */
		__fpurge(stdout);
		clearerr(stdout);
		if (o->start >= 0 && ftruncate(STDOUT_FILENO, o->start) == 0)
			lseek(STDOUT_FILENO, o->start, SEEK_SET); /* stdout is a regular file */
	} else {
		if (o->f)
			fclose(o->f);
		if (o->tmp)
			unlink(o->tmp);
	}
	release(o);
}

int drop_write_file(const char *path, int (*fill)(FILE *f, void *ctx), void *ctx)
{
	struct drop_out o;
	memset(&o, 0, sizeof o);
	o.start = -1;
	if (open_temp(&o, path) == 0) {
		if (fill(o.f, ctx))
			drop_out_abort(&o); /* its reason (a write error) is about path too */
		else if (drop_out_commit(&o) == 0)
			return 0;
	}
	return drop_fail("%s: %s", path, drop_errmsg());
}

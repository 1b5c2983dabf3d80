/*
 * outfile.c - temporary-file-and-rename outputs (see outfile.h).
 *
 * A temporary is an unnamed file (O_TMPFILE) that gets its name only when it is complete:
 * linked as NAME.tmp.XXXXXX and renamed over NAME at once, so a run killed with SIGKILL
 * leaves nothing. Where the file system cannot make one, it is a named mkstemp file,
 * locked (flock) for as long as it is open; such names of killed runs are swept later
 * (sweep_stale). Every named temporary sits in a slot of a fixed table that the signal
 * handler walks and unlinks (unlink is async-signal-safe). Slots are taken and given
 * back with atomics, and the handlers and the file mode are set up once (pthread_once),
 * so any number of threads may write files at once.
 */
#include "outfile.h"
#include "../core/drop.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A named temporary this much older than now, that no process holds locked, is what a
 * killed run left behind. */
#define STALE_SECONDS 3600

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

/* ---- Temporaries of killed runs ---------------------------------------------------------- */

/* "NAME.tmp.XXXXXX": our temporaries' pattern (mkstemp's six letters or digits). */
static bool temp_name(const char *name)
{
	size_t n = strlen(name);
	if (n < 12 || memcmp(name + n - 11, ".tmp.", 5))
		return false;
	for (size_t i = n - 6; i < n; i++)
		if (!isalnum((unsigned char)name[i]))
			return false;
	return true;
}

static pthread_mutex_t swept_mu = PTHREAD_MUTEX_INITIALIZER;
static char **swept;               /* folders already swept by this process */
static size_t nswept;

/* Remove from `dir` (once per process) the temporaries that runs killed with SIGKILL left
 * there: a regular file of our pattern, ours (same user), untouched for STALE_SECONDS and
 * locked by no one. A live writer of this code holds its temporary locked, so it is never
 * taken, whatever its age; the age spares the moment between mkstemp and flock, and
 * writers that do not lock (an older drop) unless they have stalled for an hour. */
static void sweep_stale(const char *dir)
{
	pthread_mutex_lock(&swept_mu);
	for (size_t i = 0; i < nswept; i++)
		if (!strcmp(swept[i], dir)) {
			pthread_mutex_unlock(&swept_mu);
			return;
		}
	swept = drop_realloc(swept, (nswept + 1) * sizeof *swept);
	swept[nswept++] = drop_strdup(dir);
	pthread_mutex_unlock(&swept_mu);

	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	time_t now = time(NULL);
	struct dirent *e;
	while ((e = readdir(d))) {
		struct stat st, st2;
		if (!temp_name(e->d_name) || fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode) || st.st_uid != geteuid() || now - st.st_mtime < STALE_SECONDS)
			continue;
		int fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st2) == 0 &&
		    st2.st_dev == st.st_dev && st2.st_ino == st.st_ino)
			unlinkat(dfd, e->d_name, 0);
		close(fd);
	}
	closedir(d);
}

/* The folder of path ("." for a bare name), malloc'd. */
static char *folder_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return drop_strdup(".");
	if (slash == path)
		return drop_strdup("/");
	char *d = drop_strdup(path);
	d[slash - path] = '\0';
	return d;
}

static atomic_bool named_only; /* drop_out_named_temporaries() */

void drop_out_named_temporaries(bool on)
{
	named_only = on;
}

/* An unnamed temporary in `dir` (O_TMPFILE), locked; -1 where the file system or the
 * kernel has none, or /proc is missing (linking it at commit needs /proc/self/fd). */
static int open_anonymous(const char *dir)
{
#ifdef O_TMPFILE
	if (named_only || access("/proc/self/fd", X_OK) != 0)
		return -1;
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, file_mode);
	if (fd >= 0)
		flock(fd, LOCK_EX);
	return fd;
#else
	(void)dir;
	return -1;
#endif
}

/* Give o's unnamed temporary (flushed) the name o->path: linked as PATH.tmp.XXXXXX, then
 * renamed over path, so the file appears whole. -1 with errno on failure. */
static int link_anonymous(struct drop_out *o)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fileno(o->f));
	size_t n = strlen(o->path) + 16;
	char *tmp = drop_malloc(n);
	int rc = -1;
	for (unsigned tries = 0; tries < 100 && rc; tries++) {
		unsigned char r[6];
		if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
			unsigned long x = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16) ^
			                  tries * 2654435761u;
			for (int i = 0; i < 6; i++, x >>= 5)
				r[i] = (unsigned char)x;
		}
		snprintf(tmp, n, "%s.tmp.%c%c%c%c%c%c", o->path, set[r[0] % 62], set[r[1] % 62],
		         set[r[2] % 62], set[r[3] % 62], set[r[4] % 62], set[r[5] % 62]);
		track(tmp);
		rc = linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW);
		if (rc) {
			int e = errno;
			untrack(tmp);
			errno = e;
			if (e != EEXIST)
				break;
		}
	}
	if (rc == 0) {
		rc = rename(tmp, o->path);
		int e = errno;
		if (rc)
			unlink(tmp);
		untrack(tmp);
		errno = e;
	}
	free(tmp);
	return rc;
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
	char *dir = folder_of(path);
	sweep_stale(dir);
	int fd = open_anonymous(dir);
	free(dir);
	if (fd >= 0) {
		if (!(o->f = fdopen(fd, "wb"))) {
			int e = errno;
			close(fd);
			return drop_fail("cannot create: %s", strerror(e));
		}
		o->path = drop_strdup(path);
		o->anonymous = true;
		return 0;
	}
	size_t n = strlen(path) + 16;
	o->tmp = drop_malloc(n);
	snprintf(o->tmp, n, "%s.tmp.XXXXXX", path);
	fd = mkstemp(o->tmp);
	if (fd >= 0) {
		track(o->tmp);
		flock(fd, LOCK_EX); /* held while it is open: sweep_stale leaves it alone */
	}
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
	/* An unnamed temporary is named while it is still open (and locked). */
	if (!bad && o->anonymous && link_anonymous(o) != 0) {
		bad = 1;
		e = errno;
	}
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

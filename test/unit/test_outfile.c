/*
 * tests: lib/io/outfile.c's temporaries - unnamed while written where the file system
 * allows it, so a process killed with SIGKILL leaves nothing; named and locked elsewhere,
 * and then swept by a later run only when they are ours, stale and locked by no one.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/core/drop.h"
#include "../../lib/io/outfile.h"
#include "tap.h"

static char root[] = "/tmp/test_outfile.XXXXXX";

/* A fresh folder under root. */
static char *folder(const char *name)
{
	char *p = malloc(strlen(root) + strlen(name) + 2);
	sprintf(p, "%s/%s", root, name);
	mkdir(p, 0755);
	return p;
}

static char *join(const char *dir, const char *name)
{
	char *p = malloc(strlen(dir) + strlen(name) + 2);
	sprintf(p, "%s/%s", dir, name);
	return p;
}

/* Entries of dir whose name contains ".tmp.", and the last one in *last (caller frees). */
static int temporaries(const char *dir, char **last)
{
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strstr(e->d_name, ".tmp.")) {
			n++;
			if (last) {
				free(*last);
				*last = join(dir, e->d_name);
			}
		}
	if (d)
		closedir(d);
	return n;
}

/* Whether someone holds path locked (flock). */
static int locked(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	int busy = flock(fd, LOCK_EX | LOCK_NB) != 0;
	close(fd);
	return busy;
}

/* A file at path, its modification time `age` seconds ago. */
static void touch_aged(const char *path, int age)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	struct timespec t[2];
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= age;
	t[1] = t[0];
	futimens(fd, t);
	close(fd);
}

/* A child opens `path` as an output, writes to it, says so and waits to be killed with
 * SIGKILL. Returns what stayed in the folder: the number of temporaries. */
static int killed_writer(const char *dir, const char *path, char **left)
{
	int p[2];
	if (pipe(p))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		struct drop_out o;
		if (drop_out_open(&o, path, true))
			_exit(1);
		fputs("half", o.f);
		fflush(o.f);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	char c;
	int ok = read(p[0], &c, 1) == 1;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(p[0]);
	close(p[1]);
	return ok ? temporaries(dir, left) : -1;
}

static void test_unnamed(void)
{
	char *dir = folder("unnamed"), *out = join(dir, "a.npy");
	struct drop_out o;
	CHECK(drop_out_open(&o, out, true) == 0, "open an output");
	fputs("data", o.f);
	CHECK(temporaries(dir, NULL) == 0 && o.anonymous, "while it is written, no name in the folder");
	CHECK(drop_out_commit(&o) == 0 && access(out, F_OK) == 0, "commit names it");
	CHECK(temporaries(dir, NULL) == 0, "and leaves no temporary");
	char *b = join(dir, "b.npy");
	CHECK(killed_writer(dir, b, NULL) == 0 && access(b, F_OK), "a writer killed with SIGKILL "
	      "leaves nothing");
	free(b);
	free(out);
	free(dir);
}

static void test_named(void)
{
	drop_out_named_temporaries(true);
	char *dir = folder("named"), *out = join(dir, "a.npy"), *tmp = NULL;
	struct drop_out o;
	CHECK(drop_out_open(&o, out, true) == 0 && !o.anonymous, "a named temporary");
	CHECK(temporaries(dir, &tmp) == 1 && locked(tmp) == 1, "locked while it is written: %s", tmp);
	CHECK(drop_out_commit(&o) == 0 && temporaries(dir, NULL) == 0, "renamed at commit");

	/* A killed writer leaves its temporary, unlocked once it is dead. */
	free(tmp);
	tmp = NULL;
	char *b = join(dir, "b.npy");
	CHECK(killed_writer(dir, b, &tmp) == 1 && locked(tmp) == 0,
	      "SIGKILL leaves an unlocked temporary here");
	free(b);

	/* A later run writing into the folder sweeps what is stale and no one's. The sweep
	 * happens once per process and folder: a fresh folder for it. */
	char *d2 = folder("sweep");
	char *stale = join(d2, "x.npy.tmp.AbC123"), *fresh = join(d2, "y.npy.tmp.Fre5h0"),
	     *held = join(d2, "z.npy.tmp.Lck999"), *other = join(d2, "notes.tmp.abc"),
	     *dirlike = join(d2, "w.tmp.Dir123");
	touch_aged(stale, 7200);
	touch_aged(fresh, 60);
	touch_aged(held, 7200);
	touch_aged(other, 7200);
	mkdir(dirlike, 0755);
	int hfd = open(held, O_RDONLY);
	flock(hfd, LOCK_EX); /* a live writer's lock */
	char *out2 = join(d2, "new.npy");
	CHECK(drop_out_open(&o, out2, true) == 0, "open an output in the folder");
	CHECK(access(stale, F_OK) != 0, "a stale, unlocked temporary is removed");
	CHECK(access(fresh, F_OK) == 0, "a recent one is kept");
	CHECK(access(held, F_OK) == 0, "a locked one is kept, however old");
	CHECK(access(other, F_OK) == 0, "a name off the pattern is kept");
	CHECK(access(dirlike, F_OK) == 0, "a folder of the pattern is kept");
	drop_out_abort(&o);
	close(hfd);
	drop_out_named_temporaries(false);
	free(stale);
	free(fresh);
	free(held);
	free(other);
	free(dirlike);
	free(out2);
	free(d2);
	free(tmp);
	free(out);
	free(dir);
}

int main(void)
{
	if (!mkdtemp(root))
		return 1;
	test_unnamed();
	test_named();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	if (system(cmd))
		return 1;
	return tap_done();
}

/*
 * replay.c - the fuzz harnesses without the fuzzer, in the normal test suite: built as
 * build/test/test_fuzz_NAME with the harness fuzz_NAME.c, it runs the harness on every
 * file of test/fuzz/corpus/NAME and test/fuzz/regress/NAME (or of the folders and files
 * given as arguments), each in a child process, and prints one TAP line per file: ok when
 * the child ends normally, not ok on a crash, an abort (a broken promise, a sanitizer
 * report under `make asan`), an exit (out of memory) or a time-out. Outside the
 * sanitizers a child has 1 GiB of address space and must stay under 256 MiB resident, so
 * an allocation the input does not back fails the test too.
 */
#include "fuzz.h"

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define MAX_RSS_KB (256 * 1024)
#define SECONDS_EACH 60

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int tests, failed;

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run the harness on `path` in a child and print its TAP line. */
static void replay(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("not ok %d - %s: cannot open\n", ++tests, path);
		failed++;
		return;
	}
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	rewind(f);
	uint8_t *data = malloc(size > 0 ? (size_t)size : 1);
	size_t got = fread(data, 1, (size_t)size, f);
	fclose(f);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (!UNDER_ASAN) {
			struct rlimit as = { (rlim_t)1 << 30, (rlim_t)1 << 30 };
			setrlimit(RLIMIT_AS, &as);
		}
		alarm(SECONDS_EACH);
		LLVMFuzzerTestOneInput(data, got);
		free(data);
		exit(0); /* exit, not _exit: LeakSanitizer checks at exit */
	}
	free(data);
	int status;
	struct rusage ru;
	wait4(pid, &status, 0, &ru);
	char why[128] = "";
	if (WIFSIGNALED(status))
		snprintf(why, sizeof why, "killed by signal %d (%s)", WTERMSIG(status),
		         strsignal(WTERMSIG(status)));
	else if (WEXITSTATUS(status))
		snprintf(why, sizeof why, "exit status %d", WEXITSTATUS(status));
	else if (!UNDER_ASAN && ru.ru_maxrss > MAX_RSS_KB)
		snprintf(why, sizeof why, "peak memory %ld KiB", ru.ru_maxrss);
	tests++;
	if (why[0]) {
		failed++;
		printf("not ok %d - %s (%ld bytes): %s\n", tests, path, size, why);
	} else {
		printf("ok %d - %s (%ld bytes)\n", tests, path, size);
	}
}

/* Every regular file of `dir`, sorted; a file is replayed itself. Missing: nothing. */
static void replay_all(const char *dir)
{
	struct stat st;
	if (stat(dir, &st))
		return;
	if (!S_ISDIR(st.st_mode)) {
		replay(dir);
		return;
	}
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof *names);
		names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
		sprintf(names[n++], "%s/%s", dir, e->d_name);
	}
	if (d)
		closedir(d);
	qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; i < n; i++) {
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			replay(names[i]);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			replay_all(argv[i]);
	} else {
		/* test_fuzz_NAME: the corpus and the regression cases of NAME. */
		const char *base = strrchr(argv[0], '/');
		base = base ? base + 1 : argv[0];
		const char *name = strncmp(base, "test_fuzz_", 10) ? base : base + 10;
		char dir[512];
		snprintf(dir, sizeof dir, "test/fuzz/corpus/%s", name);
		replay_all(dir);
		snprintf(dir, sizeof dir, "test/fuzz/regress/%s", name);
		replay_all(dir);
	}
	printf("1..%d\n", tests);
	if (tests == 0)
		fprintf(stderr, "%s: no input to replay\n", argv[0]);
	return failed || tests == 0 ? 1 : 0;
}

/*
 * fuzz.h - what the fuzz harnesses of test/fuzz share. Each fuzz_NAME.c defines
 * LLVMFuzzerTestOneInput (and may define LLVMFuzzerInitialize); `make fuzz` links it with
 * libFuzzer (clang -fsanitize=fuzzer,address,undefined), and `make test` with replay.c,
 * a plain driver that runs it on every file of test/fuzz/corpus/NAME and
 * test/fuzz/regress/NAME (gcc, and under `make asan` the sanitizers).
 *
 * A harness feeds its input to a reader the way a tool would: as a regular file (a memfd,
 * named /proc/self/fd/N, so the size checks of regular files run), as a pipe (the bounded
 * reads), or as a memory stream (fmemopen: no file descriptor at all). It must not leak,
 * and it checks what the reader promises (sizes within the data, round trips); a broken
 * promise is abort(), which the fuzzer reports as a crash.
 */
#ifndef DROP_FUZZ_H
#define DROP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../lib/core/drop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The input as a file: a memfd holding it, its name in *path (/proc/self/fd/N). Returns
 * the descriptor to close afterwards, or -1. */
static inline int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t cap)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t done = 0;
	while (done < size) {
		ssize_t k = write(fd, data + done, size - done);
		if (k <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)k;
	}
	snprintf(path, cap, "/proc/self/fd/%d", fd);
	return fd;
}

/* The input as a pipe already closed at the writing end (inputs up to the pipe's 64 KiB:
 * larger ones return -1), its reading end named in *path. Returns that descriptor. */
static inline int fuzz_pipe(const uint8_t *data, size_t size, char *path, size_t cap)
{
	int p[2];
	if (size > 65536 || pipe(p))
		return -1;
	size_t done = 0;
	while (done < size) {
		ssize_t k = write(p[1], data + done, size - done);
		if (k <= 0) {
			close(p[0]);
			close(p[1]);
			return -1;
		}
		done += (size_t)k;
	}
	close(p[1]);
	snprintf(path, cap, "/proc/self/fd/%d", p[0]);
	return p[0];
}

/* Stop the fuzzer when a promise is broken: a crash it keeps as an artifact. */
#define FUZZ_ASSERT(cond)                                                              \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "fuzz: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                       \
		}                                                                      \
	} while (0)

#endif

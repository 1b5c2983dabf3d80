/*
 * fuzz_npy - lib/io/npy.c: the header parser, and documents and streams of documents read
 * from a memory stream (no file descriptor: the bounded reads of pipes), from a pipe and
 * from a regular file (the size checks), then every field of every record converted.
 */
#include "fuzz.h"
#include "../../lib/io/npy.h"

/* Convert each field of each of the n records at recs, as the readers of records do. */
static void touch_fields(const struct drop_npy_header *h, const char *recs, size_t n)
{
	char s[64];
	for (size_t r = 0; r < n && r < 64; r++) {
		const char *rec = recs + r * h->itemsize;
		for (int i = 0; i < h->nfields; i++) {
			const struct drop_npy_field *f = &h->fields[i];
			FUZZ_ASSERT(f->offset + f->size * f->count <= h->itemsize);
			if (f->type == NPY_S) {
				FUZZ_ASSERT(drop_npy_get_bytes(f, rec, s, sizeof s) < sizeof s);
				continue;
			}
			(void)drop_npy_get_int(f, rec);
			if (f->count <= 4096) {
				double *d = drop_malloc(f->count * sizeof *d);
				float *x = drop_malloc(f->count * sizeof *x);
				drop_npy_get_f64(f, rec, d);
				drop_npy_get_f32(f, rec, x);
				free(d);
				free(x);
			}
			(void)drop_npy_find_nonfinite(f, rec, h->itemsize, 1);
		}
	}
}

/* Read the stream f to its end, at most `max` rows a call, in a buffer grown as read.
 * Rows of 0 bytes (shape (N, 0)) are taken all at once: there may be 10^11 of them in no
 * data, and no tool reads such rows a few at a time. */
static void read_stream(FILE *f, size_t max)
{
	struct drop_npy_reader r;
	int rc = drop_npy_reader_attach(&r, f, "fuzz");
	if (rc == 0 && drop_npy_header_rowsize(&r.h) == 0)
		max = SIZE_MAX;
	if (rc == 0) {
		char d[256];
		drop_npy_header_describe(&r.h, d, sizeof d);
		void *buf = NULL;
		size_t cap = 0;
		long got;
		while ((got = drop_npy_reader_read_alloc(&r, &buf, &cap, max)) > 0) {
			size_t row = drop_npy_header_rowsize(&r.h);
			FUZZ_ASSERT(cap >= (size_t)got * row);
			if (r.h.nfields && r.h.ndim == 1)
				touch_fields(&r.h, buf, (size_t)got);
		}
		free(buf);
	}
	drop_npy_reader_close(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	drop_verbosity = 0;
	/* The header text alone. */
	struct drop_npy_header h = { 0 };
	if (drop_npy_parse_header_text((const char *)data, size, &h) == 0) {
		char d[256];
		drop_npy_header_describe(&h, d, sizeof d);
		size_t nbytes;
		FUZZ_ASSERT(drop_npy_header_nbytes(&h, &nbytes) == 0);
	}

	/* A memory stream: one row at a time, then all rows at once. */
	FILE *m = fmemopen((void *)data, size ? size : 1, "rb");
	if (m && size) {
		read_stream(m, 1);
		rewind(m);
		read_stream(m, SIZE_MAX);
	}
	if (m)
		fclose(m);

	/* A pipe, then a regular file, loaded whole (drop_npy_load and its float32 form). */
	char path[64];
	int fd = fuzz_pipe(data, size, path, sizeof path);
	if (fd >= 0) {
		struct drop_npy_array a;
		if (drop_npy_load(path, &a) == 0) {
			size_t nbytes;
			FUZZ_ASSERT(drop_npy_header_nbytes(&a.h, &nbytes) == 0 && nbytes <= size);
			drop_npy_array_free(&a);
		}
		close(fd);
	}
	fd = fuzz_memfile(data, size, path, sizeof path);
	if (fd >= 0) {
		struct drop_npy_array a;
		if (drop_npy_load_f32(path, &a) == 0)
			drop_npy_array_free(&a);
		if (drop_npy_load(path, &a) == 0) {
			if (a.h.nfields && a.h.ndim == 1)
				touch_fields(&a.h, a.data, a.h.count);
			drop_npy_array_free(&a);
		}
		close(fd);
	}
	return 0;
}

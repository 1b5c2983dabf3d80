/*
 * tests: lib/io/npy.c - every dtype NumPy writes (fixtures from scripts/make-npy-fixtures),
 * records with sub-arrays and padding, format 2.0, streams of documents, the stream
 * writer on files and pipes, and the errors for what drop rejects.
 * also requires: test/fixtures/npy (committed)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/core/drop.h"
#include "../../lib/io/npy.h"
#include "tap.h"

#define FIX "test/fixtures/npy/"

static void test_plain_dtypes(void)
{
	static const char *types[] = { "f2", "f4", "f8", "i1", "i2", "i4", "i8",
	                               "u1", "u2", "u4", "b1", "f4_v2" };
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		char path[128];
		snprintf(path, sizeof path, FIX "arange_%s.npy", types[t]);
		struct drop_npy_array a;
		int rc = drop_npy_load_f32(path, &a);
		CHECK(rc == 0, "load %s (%s)", types[t], rc ? drop_errmsg() : "ok");
		if (rc)
			continue;
		CHECK(a.h.ndim == 2 && a.h.shape[0] == 2 && a.h.shape[1] == 3, "%s shape (2, 3)",
		      types[t]);
		int same = 1;
		for (int i = 0; i < 6; i++)
			same &= ((float *)a.data)[i] == (float)(strcmp(types[t], "b1") ? i : i % 2);
		CHECK(same, "%s values equal arange(6)", types[t]);
		drop_npy_array_free(&a);
	}
}

static void test_records(void)
{
	struct drop_npy_array a;
	int rc = drop_npy_load(FIX "records.npy", &a);
	CHECK(rc == 0, "load records (%s)", rc ? drop_errmsg() : "ok");
	if (rc)
		return;
	CHECK(a.h.nfields == 6 && a.h.count == 3, "6 fields, 3 records");
	const struct drop_npy_field *path = drop_npy_field_find(&a.h, "path"),
	                       *pid = drop_npy_field_find(&a.h, "pid"),
	                       *cam = drop_npy_field_find(&a.h, "camid"),
	                       *fg = drop_npy_field_find(&a.h, "fg"),
	                       *parts = drop_npy_field_find(&a.h, "parts"),
	                       *vis = drop_npy_field_find(&a.h, "vis");
	CHECK(path && pid && cam && fg && parts && vis, "every field found by name");
	CHECK(!drop_npy_field_find(&a.h, "global"), "a missing field is NULL");
	if (!(path && pid && cam && fg && parts && vis))
		return;
	CHECK(a.h.itemsize == 12 + 4 + 2 + 16 + 64 + 4, "packed itemsize %zu", a.h.itemsize);
	CHECK(parts->ndim == 2 && parts->shape[0] == 2 && parts->shape[1] == 4 &&
	      parts->count == 8, "sub-array shape (2, 4)");
	int ok = 1;
	for (int r = 0; r < 3; r++) {
		const char *rec = (const char *)a.data + r * a.h.itemsize;
		char s[32], want[32];
		drop_npy_get_bytes(path, rec, s, sizeof s);
		snprintf(want, sizeof want, "img%d.jpg", r);
		ok &= !strcmp(s, want);
		ok &= drop_npy_get_int(pid, rec) == 10 + r && drop_npy_get_int(cam, rec) == -r;
		float f[8];
		drop_npy_get_f32(fg, rec, f);
		for (int i = 0; i < 4; i++)
			ok &= f[i] == (float)(i + r);
		drop_npy_get_f32(parts, rec, f);
		for (int i = 0; i < 8; i++)
			ok &= f[i] == (float)(i * (r + 1));
		drop_npy_get_f32(vis, rec, f);
		ok &= f[0] == 0.5f && f[1] == 0.25f * (float)r;
	}
	CHECK(ok, "record values (bytes, i4, i2, f4/f8/f2 sub-arrays)");
	drop_npy_array_free(&a);

	rc = drop_npy_load(FIX "records_aligned.npy", &a);
	CHECK(rc == 0 && a.h.nfields == 2 && a.h.fields[1].offset == 4 && a.h.itemsize == 8,
	      "padding fields of an aligned dtype are skipped (%s)", rc ? drop_errmsg() : "ok");
	if (!rc)
		drop_npy_array_free(&a);
	rc = drop_npy_load(FIX "scalar_f8.npy", &a);
	CHECK(rc == 0 && a.h.count == 1 && ((double *)a.data)[0] == 2.5, "0-d array");
	if (!rc)
		drop_npy_array_free(&a);
}

static void test_stream(void)
{
	struct drop_npy_array a;
	int rc = drop_npy_load(FIX "stream_f4.npy", &a);
	CHECK(rc == 0 && a.h.shape[0] == 4 && a.h.shape[1] == 3, "two documents load as (4, 3)");
	int ok = rc == 0;
	for (int i = 0; ok && i < 12; i++)
		ok &= ((float *)a.data)[i] == (float)i;
	CHECK(ok, "stream values in order");
	if (!rc)
		drop_npy_array_free(&a);
}

static void test_rejects(void)
{
	static const struct {
		const char *file, *msg;
	} bad[] = {
		{ "bad_fortran.npy", "Fortran-order" },
		{ "bad_bigendian.npy", "big-endian" },
		{ "bad_object.npy", "object arrays" },
		{ "bad_unicode.npy", "unicode" },
		{ "bad_truncated.npy", "truncated data" },
		{ "bad_magic.npy", "not a .npy file" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char path[128];
		struct drop_npy_array a;
		snprintf(path, sizeof path, FIX "%s", bad[i].file);
		int rc = drop_npy_load(path, &a);
		CHECK(rc == -1 && strstr(drop_errmsg(), bad[i].msg), "%s rejected: %s", bad[i].file,
		      drop_errmsg());
	}
}

/* Write records with the stream writer, read them back. On a pipe: one document per
 * write; on a file: one document whose length is patched at the end. */
static void roundtrip(bool use_pipe)
{
	struct drop_npy_field f[3];
	size_t shape[2] = { 2, 3 };
	f[0] = drop_npy_field_make("path", NPY_S, 8, 0, NULL);
	f[1] = drop_npy_field_make("pid", NPY_I4, 0, 0, NULL);
	f[2] = drop_npy_field_make("parts", NPY_F4, 0, 2, shape);
	struct drop_npy_header h;
	drop_npy_header_records(&h, f, 3, 0);
	CHECK(h.itemsize == 8 + 4 + 24, "record itemsize");
	char *recs = calloc(5, h.itemsize);
	for (int r = 0; r < 5; r++) {
		char *rec = recs + r * h.itemsize;
		rec[0] = 'p';
		rec[1] = (char)('0' + r);
		int32_t pid = r * 7;
		memcpy(rec + 8, &pid, 4);
		for (int i = 0; i < 6; i++) {
			float v = (float)(r * 10 + i);
			memcpy(rec + 12 + 4 * i, &v, 4);
		}
	}
	/* A memory stream has no file descriptor, so the writer treats it as a pipe. */
	FILE *w, *rd;
	char tmp[] = "/tmp/drop-npy-XXXXXX", *mem = NULL;
	size_t memlen = 0;
	if (use_pipe)
		w = open_memstream(&mem, &memlen);
	else
		w = fdopen(mkstemp(tmp), "w+b");
	struct drop_npy_writer nw;
	int rc = drop_npy_writer_open(&nw, w, &h);
	rc |= drop_npy_writer_write(&nw, recs, 2);
	rc |= drop_npy_writer_write(&nw, recs + 2 * h.itemsize, 3);
	rc |= drop_npy_writer_close(&nw);
	CHECK(rc == 0 && nw.seekable == !use_pipe, "%s: writer (%s)", use_pipe ? "pipe" : "file",
	      rc ? drop_errmsg() : "ok");
	fclose(w);
	rd = use_pipe ? fmemopen(mem, memlen, "rb") : fopen(tmp, "rb");
	/* A file holds one document of 5, a pipe two documents of 2 and 3. */
	struct drop_npy_header first;
	int hr = drop_npy_read_header(rd, &first);
	CHECK(hr == 1 && first.shape[0] == (use_pipe ? 2u : 5u), "%s: first document length %zu",
	      use_pipe ? "pipe" : "file", first.shape[0]);
	rewind(rd);
	struct drop_npy_reader r;
	rc = drop_npy_reader_attach(&r, rd, "roundtrip");
	char *back = calloc(8, h.itemsize);
	long n = rc ? -1 : drop_npy_reader_read(&r, back, 8);
	CHECK(n == 5 && !memcmp(back, recs, 5 * h.itemsize), "%s: 5 records read back equal",
	      use_pipe ? "pipe" : "file");
	CHECK(drop_npy_header_compatible(&r.h, &h), "%s: same dtype", use_pipe ? "pipe" : "file");
	drop_npy_reader_close(&r);

	/* Skipping: 1 record, then 2 read (across the pipe's documents), then 2 skipped of the
	 * 5 asked, then the end. A file is seeked, the memory stream (no descriptor) read. */
	const char *how = use_pipe ? "pipe" : "file";
	rewind(rd);
	rc = drop_npy_reader_attach(&r, rd, "skip");
	long s1 = rc ? -1 : drop_npy_reader_skip(&r, 1);
	n = s1 == 1 ? drop_npy_reader_read(&r, back, 2) : -1;
	CHECK(n == 2 && !memcmp(back, recs + h.itemsize, 2 * h.itemsize),
	      "%s: skip 1, then records 1 and 2 read", how);
	long s2 = drop_npy_reader_skip(&r, 5), s3 = drop_npy_reader_skip(&r, 5);
	CHECK(s2 == 2 && s3 == 0 && r.eof, "%s: skip 5 passes the last 2, then the end (%ld, %ld)",
	      how, s2, s3);
	drop_npy_reader_close(&r);
	fclose(rd);
	if (!use_pipe) {
		/* a file cut short: the seek would pass its end; the header's check or the
		 * skip's says so */
		struct stat st;
		stat(tmp, &st);
		CHECK(truncate(tmp, st.st_size - 5) == 0, "file: truncated");
		rd = fopen(tmp, "rb");
		rc = drop_npy_reader_attach(&r, rd, "skip");
		long s4 = rc ? -1 : drop_npy_reader_skip(&r, 5);
		CHECK(s4 == -1 && strstr(drop_errmsg(), "truncated data"),
		      "file: a truncated end stops the skip, at the header or the seek (%s)",
		      drop_errmsg());
		drop_npy_reader_close(&r);
		fclose(rd);
		unlink(tmp);
	}
	free(recs);
	free(back);
	free(mem);
}

static void test_header_text(void)
{
	struct drop_npy_header h = { 0 };
	const char *t = "{'descr': [('a', '<f4', (2, 3)), ('s', '|S5')], "
	                "'fortran_order': False, 'shape': (7,), }";
	int rc = drop_npy_parse_header_text(t, strlen(t), &h);
	CHECK(rc == 0 && h.nfields == 2 && h.fields[0].count == 6 && h.fields[1].offset == 24 &&
	      h.itemsize == 29 && h.shape[0] == 7, "parse a record header");
	t = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
	rc = drop_npy_parse_header_text(t, strlen(t), &h);
	CHECK(rc == 0 && h.ndim == 2 && h.count == 12, "parse a plain header");
	t = "{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }";
	CHECK(drop_npy_parse_header_text(t, strlen(t), &h) == -1 && strstr(drop_errmsg(), "c8"),
	      "complex dtype rejected: %s", drop_errmsg());
	t = "{'descr': [('a', [('b', '<f4')])], 'fortran_order': False, 'shape': (3,), }";
	CHECK(drop_npy_parse_header_text(t, strlen(t), &h) == -1 && strstr(drop_errmsg(), "nested"),
	      "nested records rejected: %s", drop_errmsg());
}

/* Headers whose sizes are negative or wrap: rejected by the parser, whatever reads them. */
static void test_hostile_headers(void)
{
	static const struct {
		const char *descr, *shape, *msg;
	} bad[] = {
		{ "[('path', '|S-1'), ('pid', '<i4')]", "(2,)", "unsupported dtype 'S-1'" },
		{ "[('path', '|S-4'), ('pid', '<i4')]", "(2,)", "unsupported dtype 'S-4'" },
		{ "[('path', '|S+4'), ('pid', '<i4')]", "(2,)", "unsupported dtype 'S+4'" },
		{ "[('path', '|S 4'), ('pid', '<i4')]", "(2,)", "unsupported dtype 'S 4'" },
		{ "[('path', '|S18446744073709551615')]", "(2,)", "unsupported dtype" },
		{ "[('pad', '|V-8'), ('pid', '<i4')]", "(2,)", "unsupported dtype 'V-8'" },
		{ "[('a', '<f8', (4294967296, 4294967296))]", "(1,)", "field 'a'" },
		{ "[('a', '<f8', (2305843009213693952,)), ('b', '<f8', (2305843009213693952,))]",
		  "(1,)", "record size overflow" },
		{ "[('a', '<f4', (0,))]", "(1099511627776,)", "record dtype of 0 bytes" },
		{ "'<f8'", "(4294967296, 4294967296)", "overflow" },
		{ "'<f8'", "(0, 4294967296, 4294967296)", "row size overflow" },
		{ "'<f8'", "(1152921504606846976, 8)", "data size overflow" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char t[256];
		struct drop_npy_header h = { 0 };
		snprintf(t, sizeof t, "{'descr': %s, 'fortran_order': False, 'shape': %s, }",
		         bad[i].descr, bad[i].shape);
		int rc = drop_npy_parse_header_text(t, strlen(t), &h);
		CHECK(rc == -1 && strstr(drop_errmsg(), bad[i].msg), "%s %s rejected: %s",
		      bad[i].descr, bad[i].shape, rc ? drop_errmsg() : "accepted");
	}
	/* A second descr would give the first one's fields the second one's itemsize. */
	const char *twice = "{'descr': [('path', '|S12'), ('fg', '<f4', (4,))], "
	                    "'fortran_order': False, 'shape': (3,), 'descr': '<f4'}";
	struct drop_npy_header h2 = { 0 };
	int rc2 = drop_npy_parse_header_text(twice, strlen(twice), &h2);
	CHECK(rc2 == -1 && strstr(drop_errmsg(), "key 'descr' given twice"), "descr twice: %s",
	      rc2 ? drop_errmsg() : "accepted");
}

/* A .npy of header text `dict` and `data` zero bytes of data at `path`. */
static void write_raw(const char *path, const char *dict, size_t data)
{
	char h[512];
	size_t n = (size_t)snprintf(h, sizeof h, "%s", dict);
	while ((10 + n + 1) % 64)
		h[n++] = ' ';
	h[n++] = '\n';
	FILE *f = fopen(path, "wb");
	fwrite("\x93NUMPY\x01\x00", 1, 8, f);
	fputc((int)(n & 0xff), f);
	fputc((int)(n >> 8), f);
	fwrite(h, 1, n, f);
	for (size_t i = 0; i < data; i++)
		fputc(0, f);
	fclose(f);
}

/* Sizes a header declares beyond the data: refused before any allocation on a file (the
 * file's size), read in bounded steps from a pipe (what arrives), never trusted. */
static void test_declared_sizes(void)
{
	char path[] = "/tmp/drop-npy-XXXXXX";
	close(mkstemp(path));
	write_raw(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }", 16);
	struct drop_npy_array a;
	int rc = drop_npy_load(path, &a);
	CHECK(rc == -1 && strstr(drop_errmsg(), "truncated data: the header declares "
	                                        "4398046511104 bytes, the file holds 16"),
	      "file: 2^40 floats declared, 16 bytes held: %s", rc ? drop_errmsg() : "loaded");

	/* The same through a pipe: a child writes it, the reader sees no file size. */
	int fd[2];
	CHECK(pipe(fd) == 0, "pipe");
	pid_t pid = fork();
	if (pid == 0) {
		close(fd[0]);
		FILE *in = fopen(path, "rb");
		char buf[4096];
		size_t k;
		while ((k = fread(buf, 1, sizeof buf, in)) > 0)
			if (write(fd[1], buf, k) < 0)
				_exit(1);
		_exit(0);
	}
	close(fd[1]);
	FILE *p = fdopen(fd[0], "rb");
	struct drop_npy_reader r;
	rc = drop_npy_reader_attach(&r, p, "pipe");
	void *buf = NULL;
	size_t cap = 0;
	long got = rc ? -1 : drop_npy_reader_read_alloc(&r, &buf, &cap, SIZE_MAX);
	CHECK(got == -1 && strstr(drop_errmsg(), "truncated data") && cap <= (1u << 20),
	      "pipe: truncated after the 16 bytes, buffer %zu bytes: %s", cap, drop_errmsg());
	free(buf);
	drop_npy_reader_close(&r);
	fclose(p);
	waitpid(pid, NULL, 0);

	/* A record of 1 GB declared with 64 bytes: bounded steps, whatever the row size. */
	write_raw(path, "{'descr': [('path', '|S1000000000')], 'fortran_order': False, "
	          "'shape': (1,), }", 64);
	FILE *f = fopen(path, "rb");
	struct drop_npy_header h;
	rc = drop_npy_read_header(f, &h);
	CHECK(rc == -1 && strstr(drop_errmsg(), "declares 1000000000 bytes"),
	      "file: a 1 GB record in 64 bytes: %s", rc == 1 ? "accepted" : drop_errmsg());
	rewind(f);
	char h10[10];
	CHECK(fread(h10, 1, 10, f) == 10, "preamble");
	char *text = malloc(128);
	size_t tl = (size_t)(unsigned char)h10[8] | (size_t)(unsigned char)h10[9] << 8;
	CHECK(tl <= 128 && fread(text, 1, tl, f) == tl, "header text");
	rc = drop_npy_parse_header_text(text, tl, &h);
	buf = NULL;
	cap = 0;
	rc = rc ? -1 : drop_npy_read_rows_alloc(f, &h, &buf, &cap, 1);
	CHECK(rc == -1 && strstr(drop_errmsg(), "truncated") && cap <= (1u << 20),
	      "rows: read in bounded steps (%zu bytes held): %s", cap, drop_errmsg());
	free(buf);
	free(text);
	fclose(f);
	unlink(path);
}

/* drop_npy_get_int of values without an int64 value: no undefined conversion. */
static void test_get_int(void)
{
	struct drop_npy_field f8 = drop_npy_field_make("x", NPY_F8, 0, 0, NULL);
	struct drop_npy_field u8 = drop_npy_field_make("x", NPY_U8, 0, 0, NULL);
	double v[] = { NAN, 1e300, -1e300, -7.9 };
	int64_t want[] = { INT64_MIN, INT64_MAX, INT64_MIN, -7 };
	for (int i = 0; i < 4; i++)
		CHECK(drop_npy_get_int(&f8, &v[i]) == want[i], "get_int(%g) = %lld", v[i],
		      (long long)drop_npy_get_int(&f8, &v[i]));
	uint64_t big = UINT64_MAX;
	CHECK(drop_npy_get_int(&u8, &big) == INT64_MAX, "get_int(u8 max) saturates");
	size_t none[2] = { 0, 4 };
	struct drop_npy_field empty = drop_npy_field_make("e", NPY_F8, 0, 2, none);
	CHECK(drop_npy_get_int(&empty, "") == 0, "get_int of a field of no scalars reads nothing");
	struct drop_npy_field nostr = drop_npy_field_make("s", NPY_S, 8, 2, none);
	char got[16] = "x";
	CHECK(drop_npy_get_bytes(&nostr, "", got, sizeof got) == 0 && !got[0],
	      "get_bytes of a field of no strings reads nothing");
	struct drop_npy_header h;
	size_t shape[1] = { 3 };
	drop_npy_header_plain(&h, NPY_F4, 1, shape);
	char d[64];
	drop_npy_header_describe(&h, d, sizeof d);
	CHECK(!strcmp(d, "'<f4' (3,)"), "describe: %s", d);
}

int main(void)
{
	test_plain_dtypes();
	test_records();
	test_stream();
	test_rejects();
	roundtrip(false);
	roundtrip(true);
	test_header_text();
	test_hostile_headers();
	test_declared_sizes();
	test_get_int();
	return tap_done();
}

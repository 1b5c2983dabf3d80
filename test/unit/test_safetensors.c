/*
 * tests: lib/io/safetensors.c and lib/model/checkpoint.c - reading PyTorch-written files of every
 * dtype (values as PyTorch converts them, from scripts/make-safetensors-fixtures), the
 * exact message for each kind of broken file, reading from a pipe, the writer's layout
 * (exact header bytes, order, padding), write -> read round trips, atomic commits (a
 * failing write leaves no file and keeps the old one), drop checkpoints (metadata,
 * version, shape checks) and importing weights by name with prefix rules.
 * also requires: test/fixtures/safetensors (committed)
 *
 * `test_safetensors --keep FILE` also writes the round-trip file to FILE, for the by-hand
 * check that Python reads what drop writes:
 *   scripts/make-safetensors-fixtures --check FILE
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/model/checkpoint.h"
#include "../../lib/core/drop.h"
#include "../../lib/io/npy.h"
#include "../../lib/io/safetensors.h"
#include "tap.h"

#define FIX "test/fixtures/safetensors/"

static char dir[64];   /* scratch folder, removed at the end */

static const char *tmp(const char *name)
{
	static char buf[4][256];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

/* Files in the scratch folder whose name contains `part`. */
static int count_files(const char *part)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)))
		n += strstr(e->d_name, part) != NULL;
	if (d)
		closedir(d);
	return n;
}

/* A file: 8-byte length of `header`, the header, `data_len` bytes of `fill`. */
static void write_raw(const char *path, const char *header, size_t data_len, int fill)
{
	FILE *f = fopen(path, "wb");
	uint64_t n = strlen(header);
	fwrite(&n, 8, 1, f);
	fwrite(header, 1, n, f);
	for (size_t i = 0; i < data_len; i++)
		fputc(fill, f);
	fclose(f);
}

static void expect_open_error(const char *path, const char *msg, const char *what)
{
	struct drop_sft_file f;
	int rc = drop_sft_open(&f, path);
	int ok = rc == -1 && !strcmp(drop_errmsg(), msg);
	CHECK(ok, "%s: %s", what, msg);
	if (!ok)
		printf("#   got rc %d: %s\n", rc, rc ? drop_errmsg() : "(opened)");
	if (rc == 0)
		drop_sft_close(&f);
}

/* ---- Reading PyTorch-written files ------------------------------------------------------ */

/* drop_npy_load reads a 0-d array as shape (1,) (documents concatenate along axis 0). */
static bool same_shape_npy(const struct drop_sft_tensor *t, const struct drop_npy_array *a)
{
	if (t->ndim == 0)
		return a->h.count == 1;
	if ((int)a->h.ndim != t->ndim)
		return false;
	for (int i = 0; i < t->ndim; i++)
		if ((int64_t)a->h.shape[i] != t->shape[i])
			return false;
	return true;
}

static void test_good(void)
{
	struct drop_sft_file f;
	int rc = drop_sft_open(&f, FIX "good.safetensors");
	CHECK(rc == 0, "open good.safetensors (%s)", rc ? drop_errmsg() : "ok");
	if (rc)
		return;
	CHECK(f.ntensors == 10 && f.nmeta == 3, "10 tensors, 3 metadata entries");
	int sorted = 1;
	for (size_t i = 1; i < f.ntensors; i++)
		sorted &= strcmp(f.tensors[i - 1].name, f.tensors[i].name) < 0;
	CHECK(sorted, "tensors sorted by name");
	CHECK(f.header_len % 8 == 0 && f.mapped, "header length %zu (a multiple of 8), mapped",
	      f.header_len);
	const char *note = drop_sft_meta_get(&f, "note");
	CHECK(note && !strcmp(note, "h\xc3\xa9llo \"quoted\"\n\ttab"), "metadata with escapes");
	CHECK(!strcmp(drop_sft_meta_get(&f, "format"), "pt") && !strcmp(drop_sft_meta_get(&f, "epoch"), "7")
	      && !drop_sft_meta_get(&f, "nope"), "metadata lookups");
	CHECK(drop_sft_find(&f, "nope") == NULL, "a missing tensor is NULL");

	/* Floats: bit-identical to PyTorch's .float() (signed zero, subnormals, inf, rounding). */
	static const char *floats[] = { "a", "half", "bf", "dbl", "empty",
	                                "model.layer1.0.conv1.weight" };
	static const enum drop_sft_dtype ftypes[] = { SFT_F32, SFT_F16, SFT_BF16, SFT_F64, SFT_F32,
	                                         SFT_F32 };
	for (size_t k = 0; k < sizeof floats / sizeof floats[0]; k++) {
		char path[256];
		snprintf(path, sizeof path, FIX "good.%s.npy", floats[k]);
		struct drop_npy_array ref;
		const struct drop_sft_tensor *t = drop_sft_find(&f, floats[k]);
		if (!t || drop_npy_load(path, &ref)) {
			CHECK(0, "%s: tensor and reference (%s)", floats[k], drop_errmsg());
			continue;
		}
		float *got = drop_calloc(t->count + 1, sizeof *got);
		rc = drop_sft_read_f32(&f, t, got);
		CHECK(rc == 0 && t->dtype == ftypes[k] && same_shape_npy(t, &ref) &&
		      t->count == ref.h.count && !memcmp(got, ref.data, t->count * 4),
		      "%s (%s): shape and values bit-identical to torch", floats[k],
		      drop_sft_dtype_name(ftypes[k]));
		free(got);
		drop_npy_array_free(&ref);
	}
	/* Integers: exact as int64, and as float. */
	static const char *ints[] = { "n", "i", "u8", "flags" };
	for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++) {
		char path[256];
		snprintf(path, sizeof path, FIX "good.%s.npy", ints[k]);
		struct drop_npy_array ref;
		const struct drop_sft_tensor *t = drop_sft_find(&f, ints[k]);
		if (!t || drop_npy_load(path, &ref)) {
			CHECK(0, "%s: tensor and reference (%s)", ints[k], drop_errmsg());
			continue;
		}
		int64_t got[8];
		float gotf[8];
		const int64_t *want = ref.data;
		rc = drop_sft_read_i64(&f, t, got) | drop_sft_read_f32(&f, t, gotf);
		int same = rc == 0 && same_shape_npy(t, &ref);
		for (size_t i = 0; same && i < t->count; i++)
			same = got[i] == want[i] && gotf[i] == (float)want[i];
		CHECK(same, "%s (%s): exact as int64, nearest as float", ints[k],
		      drop_sft_dtype_name(t->dtype));
		drop_npy_array_free(&ref);
	}
	const struct drop_sft_tensor *n = drop_sft_find(&f, "n");
	CHECK(n && n->ndim == 0 && n->count == 1, "0-d tensor: ndim 0, one element");
	const struct drop_sft_tensor *e = drop_sft_find(&f, "empty");
	CHECK(e && e->ndim == 2 && e->shape[0] == 0 && e->shape[1] == 3 && e->count == 0,
	      "empty tensor (0, 3)");
	int64_t junk[8];
	CHECK(drop_sft_read_i64(&f, drop_sft_find(&f, "a"), junk) == -1 &&
	      !strcmp(drop_errmsg(), "tensor \"a\": dtype F32 cannot be read as int64"),
	      "float tensor as int64: %s", drop_errmsg());
	drop_sft_close(&f);
	CHECK(f.ntensors == 0 && f.base == NULL, "sft_close zeroes the struct");
}

static void test_pipe(void)
{
	FILE *src = fopen(FIX "good.safetensors", "rb");
	char buf[4096];
	size_t n = fread(buf, 1, sizeof buf, src);
	fclose(src);
	int p[2], saved = dup(STDIN_FILENO);
	if (pipe(p) || write(p[1], buf, n) != (ssize_t)n) {
		CHECK(0, "pipe set up");
		return;
	}
	close(p[1]);
	dup2(p[0], STDIN_FILENO);
	close(p[0]);
	struct drop_sft_file f;
	int rc = drop_sft_open(&f, "-");
	dup2(saved, STDIN_FILENO);
	close(saved);
	float a[6];
	CHECK(rc == 0 && !f.mapped && f.ntensors == 10 &&
	      drop_sft_read_f32(&f, drop_sft_find(&f, "a"), a) == 0 && a[0] == -1 && a[5] == 1.5f,
	      "\"-\" reads a pipe into memory (%s)", rc ? drop_errmsg() : "ok");
	if (rc == 0)
		drop_sft_close(&f);
}

/* ---- Broken files ---------------------------------------------------------------------- */

static void test_broken_fixtures(void)
{
	char msg[256];
	expect_open_error(FIX "nope.safetensors", "cannot open: No such file or directory",
	                  "missing file");
	expect_open_error(FIX "bad_short.safetensors",
	                  "file too short for a safetensors header (3 bytes)", "3-byte file");
	expect_open_error(FIX "bad_truncated.safetensors",
	                  "tensor \"y\": data_offsets [16, 32] run past the end of the data "
	                  "(26 bytes): truncated file?", "truncated data");
	expect_open_error(FIX "bad_trailing.safetensors",
	                  "4 bytes after the last tensor's data (the data holds 36 bytes, the "
	                  "tensors 32)", "trailing bytes");
	expect_open_error(FIX "bad_overlap.safetensors",
	                  "tensor \"y\": data_offsets [8, 24] overlap tensor \"x\" [0, 16]",
	                  "overlapping offsets");
	expect_open_error(FIX "bad_hole.safetensors",
	                  "bytes 8 to 12 of the data belong to no tensor (a hole before tensor "
	                  "\"y\")", "a hole");
	expect_open_error(FIX "bad_json.safetensors",
	                  "bad header: line 1, column 62: expected a string key, found '}'",
	                  "trailing comma in the header");
	/* The header length of these is whatever their first 8 bytes say. */
	static const char *past[] = { "bad_header_past_end.safetensors", "not_safetensors.pth" };
	for (int k = 0; k < 2; k++) {
		char path[256];
		uint64_t len;
		struct stat st;
		snprintf(path, sizeof path, FIX "%s", past[k]);
		FILE *f = fopen(path, "rb");
		if (!f || fread(&len, 8, 1, f) != 1 || stat(path, &st)) {
			CHECK(0, "read %s", path);
			if (f)
				fclose(f);
			continue;
		}
		fclose(f);
		snprintf(msg, sizeof msg, "header length %llu runs past the end of the file (%lld "
		         "bytes): not a safetensors file?", (unsigned long long)len,
		         (long long)st.st_size);
		expect_open_error(path, msg, past[k]);
	}
}

static void test_broken_headers(void)
{
	static const struct { const char *header; size_t data; const char *msg; } cases[] = {
		{ "[1]", 0, "bad header: it does not start with '{'" },
		{ " {}", 0, "bad header: it does not start with '{'" },
		{ "{\"x\":5}", 0, "tensor \"x\": a number instead of an object" },
		{ "{\"x\":{\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
		  "tensor \"x\": unknown dtype \"F7\"" },
		{ "{\"x\":{\"dtype\":3,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
		  "tensor \"x\": \"dtype\" is a number, not a string" },
		{ "{\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}", 0, "tensor \"x\": no \"data_offsets\"" },
		{ "{\"x\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor \"x\": no \"dtype\"" },
		{ "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", 4,
		  "tensor \"x\": unknown key \"extra\"" },
		{ "{\"x\":{\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]}}", 4,
		  "tensor \"x\": \"shape\" is not an array of non-negative integers" },
		{ "{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
		  "tensor \"x\": \"shape\" is not an array of non-negative integers" },
		{ "{\"x\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4,
		  "tensor \"x\": \"shape\" is not an array of non-negative integers" },
		{ "{\"x\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
		  "tensor \"x\": 9 dimensions (at most 8)" },
		{ "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4,
		  "tensor \"x\": \"data_offsets\" is not [BEGIN, END] (two non-negative integers)" },
		{ "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,-4]}}", 4,
		  "tensor \"x\": \"data_offsets\" is not [BEGIN, END] (two non-negative integers)" },
		{ "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4,
		  "tensor \"x\": data_offsets [4, 0] end before they begin" },
		{ "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20,
		  "tensor \"x\": data_offsets [0, 20] hold 20 bytes, F32 (2, 3) takes 24" },
		{ "{\"x\":{\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[0,4]}}", 4,
		  "tensor \"x\": data_offsets [0, 4] hold 4 bytes, F16 () takes 2" },
		{ "{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],"
		  "\"data_offsets\":[0,4]}}", 4, "tensor \"x\": shape too large" },
		{ "{\"x\":{\"dtype\":\"U8\",\"shape\":[18446744073709551615],\"data_offsets\":[0,4]}}",
		  4, "tensor \"x\": shape too large" },
		{ "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		  "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8,
		  "tensor \"z\": data_offsets [4, 4] overlap tensor \"x\" [0, 8]" },
		{ "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
		  "bytes 0 to 4 of the data belong to no tensor (a hole before tensor \"x\")" },
		{ "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
		  "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
		  "bad header: line 1, column 55: duplicate key \"x\"" },
		{ "{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
		  "bad header: a tensor name holds a NUL character" },
		{ "{\"__metadata__\":[1]}", 0, "bad header: \"__metadata__\" is an array, not an object" },
		{ "{\"__metadata__\":{\"k\":1}}", 0,
		  "bad header: \"__metadata__\" value of \"k\" is a number, not a string" },
		{ "{\"__metadata__\":{\"k\":\"a\\u0000\"}}", 0,
		  "bad header: \"__metadata__\" entry \"k\" holds a NUL character" },
		{ "{}", 4, "4 bytes after the last tensor's data (the data holds 4 bytes, the "
		  "tensors 0)" },
		{ "{\"x\":\xff}", 0, "bad header: line 1, column 6: expected a value, found byte 0xff" },
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		char what[32];
		snprintf(what, sizeof what, "header case %zu", k);
		write_raw(tmp("h.safetensors"), cases[k].header, cases[k].data, 0);
		expect_open_error(tmp("h.safetensors"), cases[k].msg, what);
	}

	/* Valid edge cases: no tensors, metadata only, trailing spaces in the header. */
	static const char *fine[] = { "{}", "{\"__metadata__\":{}}",
	                              "{\"__metadata__\":{\"a\":\"b\"}}    ",
	                              "{\"x\":{\"dtype\":\"F32\",\"shape\":[0],"
	                              "\"data_offsets\":[0,0]}}" };
	for (size_t k = 0; k < 4; k++) {
		struct drop_sft_file f;
		write_raw(tmp("h.safetensors"), fine[k], 0, 0);
		int rc = drop_sft_open(&f, tmp("h.safetensors"));
		CHECK(rc == 0, "valid: %s (%s)", fine[k], rc ? drop_errmsg() : "ok");
		if (rc == 0)
			drop_sft_close(&f);
	}

	/* Values that cannot be converted. */
	struct drop_sft_file f;
	float x[2];
	int64_t v;
	write_raw(tmp("h.safetensors"),
	          "{\"x\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2, 0);
	int rc = drop_sft_open(&f, tmp("h.safetensors"));
	CHECK(rc == 0 && drop_sft_read_f32(&f, &f.tensors[0], x) == -1 &&
	      !strcmp(drop_errmsg(), "tensor \"x\": dtype F8_E4M3 cannot be read as float32"),
	      "F8 opens but does not convert: %s", drop_errmsg());
	if (rc == 0)
		drop_sft_close(&f);
	write_raw(tmp("h.safetensors"),
	          "{\"x\":{\"dtype\":\"U64\",\"shape\":[],\"data_offsets\":[0,8]}}", 8, 0xff);
	rc = drop_sft_open(&f, tmp("h.safetensors"));
	CHECK(rc == 0 && drop_sft_read_i64(&f, &f.tensors[0], &v) == -1 &&
	      !strcmp(drop_errmsg(), "tensor \"x\": value 18446744073709551615 does not fit in "
	              "int64"), "U64 above INT64_MAX: %s", drop_errmsg());
	if (rc == 0)
		drop_sft_close(&f);

	/* A header past the 100 MB limit (a sparse file: no disk is used). */
	int fd = open(tmp("big.safetensors"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	uint64_t n = SFT_MAX_HEADER + 1;
	int ok = fd >= 0 && write(fd, &n, 8) == 8 && ftruncate(fd, (off_t)(8 + n)) == 0;
	if (fd >= 0)
		close(fd);
	CHECK(ok, "sparse file made");
	expect_open_error(tmp("big.safetensors"),
	                  "header length 100000001 is too large (at most 100000000 bytes)",
	                  "header over the limit");
	unlink(tmp("big.safetensors"));
}

/* ---- Writing --------------------------------------------------------------------------- */

/* The round-trip file: its tensors and metadata (values known here). */
static float rt_w[24], rt_b[3];
static void round_trip_writer(struct drop_sft_writer *w)
{
	for (int i = 0; i < 24; i++)
		rt_w[i] = i * 0.25f - 3;
	rt_b[0] = -0.0f;
	rt_b[1] = 1e-40f;   /* subnormal */
	rt_b[2] = 3.4e38f;
	int64_t step = 42;
	uint16_t half[2] = { 0x3c00, 0xc000 };   /* 1, -2 */
	drop_sft_writer_init(w);
	drop_sft_writer_add(w, "w", SFT_F32, 3, (int64_t[]){ 2, 3, 4 }, rt_w, false);
	drop_sft_writer_add(w, "b", SFT_F32, 1, (int64_t[]){ 3 }, rt_b, false);
	drop_sft_writer_add(w, "step", SFT_I64, 0, NULL, &step, true);
	drop_sft_writer_add(w, "empty", SFT_F32, 1, (int64_t[]){ 0 }, NULL, false);
	drop_sft_writer_add(w, "half", SFT_F16, 1, (int64_t[]){ 2 }, half, true);
	drop_sft_writer_meta(w, "zz", "old");
	drop_sft_writer_meta(w, "zz", "\xc3\xbc\n");
	drop_sft_writer_meta(w, "config", "{\"parts\": 5}");
	drop_sft_writer_meta(w, "epoch", "3");
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = drop_malloc(1 << 16);
	*n = fread(buf, 1, 1 << 16, f);
	fclose(f);
	return buf;
}

static void test_round_trip(const char *keep)
{
	struct drop_sft_writer w;
	round_trip_writer(&w);
	int rc = drop_sft_writer_commit(&w, tmp("rt.safetensors"));
	CHECK(rc == 0, "commit (%s)", rc ? drop_errmsg() : "ok");
	if (keep)
		CHECK(drop_sft_writer_commit(&w, keep) == 0, "kept a copy at %s", keep);
	drop_sft_writer_free(&w);
	CHECK(w.n == 0 && w.t == NULL, "writer freed");

	/* The exact bytes: compact header, metadata sorted first, larger dtypes first then by
	 * name, padded with spaces to a multiple of 8. */
	const char *want = "{\"__metadata__\":{\"config\":\"{\\\"parts\\\": 5}\",\"epoch\":\"3\","
	                   "\"zz\":\"\xc3\xbc\\n\"},"
	                   "\"step\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
	                   "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[8,20]},"
	                   "\"empty\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[20,20]},"
	                   "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3,4],\"data_offsets\":[20,116]},"
	                   "\"half\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[116,120]}}";
	size_t n, wl = strlen(want), padded = (wl + 7) / 8 * 8;
	char *buf = slurp(tmp("rt.safetensors"), &n);
	uint64_t hl = 0;
	if (buf)
		memcpy(&hl, buf, 8);
	int spaces = buf && hl == padded && n == 8 + padded + 120;
	for (size_t i = wl; spaces && i < padded; i++)
		spaces = buf[8 + i] == ' ';
	CHECK(buf && !memcmp(buf + 8, want, wl) && spaces,
	      "header bytes exact, padded with %zu spaces to %zu", padded - wl, padded);
	CHECK(buf && !memcmp(buf + 8 + padded + 8, rt_b, 12) &&
	      !memcmp(buf + 8 + padded + 20, rt_w, 96), "data bytes in file order");
	free(buf);

	struct drop_sft_file f;
	rc = drop_sft_open(&f, tmp("rt.safetensors"));
	CHECK(rc == 0, "reopen (%s)", rc ? drop_errmsg() : "ok");
	if (rc)
		return;
	float got[24];
	int64_t step;
	const struct drop_sft_tensor *t = drop_sft_find(&f, "w");
	CHECK(t && t->ndim == 3 && t->shape[2] == 4 && drop_sft_read_f32(&f, t, got) == 0 &&
	      !memcmp(got, rt_w, sizeof rt_w), "w (2, 3, 4) round-trips bit for bit");
	t = drop_sft_find(&f, "b");
	CHECK(t && drop_sft_read_f32(&f, t, got) == 0 && !memcmp(got, rt_b, sizeof rt_b),
	      "-0, a subnormal and 3.4e38 round-trip bit for bit");
	CHECK(drop_sft_read_i64(&f, drop_sft_find(&f, "step"), &step) == 0 && step == 42, "I64 scalar");
	CHECK(drop_sft_read_f32(&f, drop_sft_find(&f, "half"), got) == 0 && got[0] == 1 && got[1] == -2,
	      "F16 written raw reads back converted");
	CHECK(!strcmp(drop_sft_meta_get(&f, "zz"), "\xc3\xbc\n") &&
	      !strcmp(drop_sft_meta_get(&f, "config"), "{\"parts\": 5}"),
	      "metadata round-trips, a repeated key keeps the last value");
	drop_sft_close(&f);
}

static void test_writer_errors(void)
{
	struct drop_sft_writer w;
	float x[4] = { 0 };
	drop_sft_writer_init(&w);
	CHECK(drop_sft_writer_add(&w, "", SFT_F32, 1, (int64_t[]){ 4 }, x, false) == -1 &&
	      !strcmp(drop_errmsg(), "tensor name \"\" is reserved"), "empty name refused");
	CHECK(drop_sft_writer_add(&w, "__metadata__", SFT_F32, 1, (int64_t[]){ 4 }, x, false) == -1 &&
	      !strcmp(drop_errmsg(), "tensor name \"__metadata__\" is reserved"),
	      "\"__metadata__\" refused");
	CHECK(drop_sft_writer_add(&w, "x", SFT_F32, 9, (int64_t[9]){ 0 }, x, false) == -1 &&
	      !strcmp(drop_errmsg(), "tensor \"x\": 9 dimensions (at most 8)"), "9 dimensions");
	CHECK(drop_sft_writer_add(&w, "x", SFT_F32, 2, (int64_t[]){ 2, -2 }, x, false) == -1 &&
	      !strcmp(drop_errmsg(), "tensor \"x\": negative dimension -2"), "negative dimension");
	CHECK(drop_sft_writer_add(&w, "x", SFT_F32, 3, (int64_t[]){ INT64_MAX, INT64_MAX, 2 }, x,
	                     false) == -1 &&
	      !strcmp(drop_errmsg(), "tensor \"x\": shape too large"), "size overflow");
	CHECK(w.n == 0, "nothing added by failed calls");
	/* A duplicate name, even across dtypes, is caught at commit; no file appears. */
	drop_sft_writer_add(&w, "x", SFT_F32, 1, (int64_t[]){ 4 }, x, false);
	drop_sft_writer_add(&w, "m", SFT_F32, 1, (int64_t[]){ 4 }, x, false);
	drop_sft_writer_add(&w, "x", SFT_I64, 0, NULL, x, false);
	int rc = drop_sft_writer_commit(&w, tmp("dup.safetensors"));
	CHECK(rc == -1 && !strcmp(drop_errmsg(), "duplicate tensor name \"x\"") &&
	      access(tmp("dup.safetensors"), F_OK) != 0 && count_files("dup.") == 0,
	      "duplicate name: %s, no file, no temporary", drop_errmsg());
	drop_sft_writer_free(&w);
}

static void test_atomic(void)
{
	/* An old file at the path, then a commit that fails half-way (file size limit). */
	FILE *f = fopen(tmp("ck.safetensors"), "w");
	fputs("OLD", f);
	fclose(f);
	size_t big = 1 << 16;
	float *x = drop_calloc(big, sizeof *x);
	struct drop_sft_writer w;
	drop_sft_writer_init(&w);
	drop_sft_writer_add(&w, "x", SFT_F32, 1, (int64_t[]){ (int64_t)big }, x, false);
	struct rlimit old, lim;
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 4096;
	void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &lim);
	int rc = drop_sft_writer_commit(&w, tmp("ck.safetensors"));
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, prev);
	size_t n;
	char *buf = slurp(tmp("ck.safetensors"), &n);
	CHECK(rc == -1 && !strcmp(drop_errmsg(), "write error: File too large"),
	      "a write that fails half-way: %s", drop_errmsg());
	CHECK(buf && n == 3 && !memcmp(buf, "OLD", 3) && count_files("ck.safetensors.tmp") == 0,
	      "the old file is untouched and no temporary is left");
	free(buf);
	rc = drop_sft_writer_commit(&w, tmp("nodir/ck.safetensors"));
	CHECK(rc == -1 && !strcmp(drop_errmsg(), "cannot create: No such file or directory"),
	      "missing folder: %s", drop_errmsg());
	/* The same writer succeeds once the limit is gone. */
	rc = drop_sft_writer_commit(&w, tmp("ck.safetensors"));
	struct stat st;
	CHECK(rc == 0 && stat(tmp("ck.safetensors"), &st) == 0 && st.st_size > 4 * (off_t)big,
	      "then it commits over the old file");
	drop_sft_writer_free(&w);
	free(x);
	unlink(tmp("ck.safetensors"));
}

/* A few MB: exercises the mapping over many pages; the times are for information. */
static void test_large(void)
{
	size_t n = 2 << 20;   /* 8 MB of float32 */
	float *x = drop_malloc(n * sizeof *x), *y = drop_malloc(n * sizeof *y);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)i * 0.5f;
	struct drop_sft_writer w;
	drop_sft_writer_init(&w);
	drop_sft_writer_add(&w, "x", SFT_F32, 2, (int64_t[]){ (int64_t)n / 1024, 1024 }, x, false);
	struct timespec t0, t1, t2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = drop_sft_writer_commit(&w, tmp("large.safetensors"));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	struct drop_sft_file f;
	rc |= drop_sft_open(&f, tmp("large.safetensors"));
	rc |= rc ? 0 : drop_sft_read_f32(&f, &f.tensors[0], y);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	CHECK(rc == 0 && !memcmp(x, y, n * sizeof *x), "8 MB tensor round-trips");
	printf("# 8 MB: commit %.1f ms, open + read %.1f ms\n",
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6,
	       (t2.tv_sec - t1.tv_sec) * 1e3 + (t2.tv_nsec - t1.tv_nsec) / 1e6);
	if (rc == 0)
		drop_sft_close(&f);
	drop_sft_writer_free(&w);
	free(x);
	free(y);
	unlink(tmp("large.safetensors"));
}

/* ---- Checkpoints ----------------------------------------------------------------------- */

static void test_checkpoint(void)
{
	float conv[4 * 3 * 3 * 3], scratch[108];
	for (int i = 0; i < 108; i++)
		conv[i] = scratch[i] = (float)i / 7;
	struct drop_ckpt_writer w;
	drop_ckpt_writer_init(&w);
	const int64_t shape[] = { 4, 3, 3, 3 };
	int rc = drop_ckpt_add(&w, "model.conv.weight", 4, shape, conv);
	rc |= drop_ckpt_add_copy(&w, "optim.m.model.conv.weight", 4, shape, scratch);
	for (int i = 0; i < 108; i++)
		scratch[i] = -1;   /* the copy must not see this */
	rc |= drop_ckpt_add_i64(&w, "optim.step", 1234567890123);
	rc |= drop_ckpt_set_meta(&w, "config", "{\"backbone\":\"hrnet-tiny\",\"parts\":5}");
	rc |= drop_ckpt_set_meta(&w, "epoch", "12");
	CHECK(rc == 0, "checkpoint built");
	CHECK(drop_ckpt_set_meta(&w, "format", "x") == -1 &&
	      !strcmp(drop_errmsg(), "metadata key \"format\" is reserved") &&
	      drop_ckpt_set_meta(&w, "version", "9") == -1, "format and version are reserved");
	rc = drop_ckpt_commit(&w, tmp("model.safetensors"));
	CHECK(rc == 0, "commit (%s)", rc ? drop_errmsg() : "ok");
	drop_ckpt_writer_free(&w);

	struct drop_ckpt_reader r;
	rc = drop_ckpt_open(&r, tmp("model.safetensors"));
	CHECK(rc == 0, "ckpt_open (%s)", rc ? drop_errmsg() : "ok");
	if (rc)
		return;
	CHECK(drop_ckpt_version(&r) == 1 && !strcmp(drop_ckpt_meta(&r, "format"), "drop-checkpoint") &&
	      !strcmp(drop_ckpt_meta(&r, "version"), "1") && !strcmp(drop_ckpt_meta(&r, "epoch"), "12") &&
	      !strcmp(drop_ckpt_meta(&r, "config"), "{\"backbone\":\"hrnet-tiny\",\"parts\":5}"),
	      "metadata: format, version 1, the caller's keys");
	CHECK(drop_ckpt_count(&r) == 3 && !strcmp(drop_ckpt_name(&r, 0), "model.conv.weight") &&
	      !strcmp(drop_ckpt_name(&r, 1), "optim.m.model.conv.weight") &&
	      !strcmp(drop_ckpt_name(&r, 2), "optim.step"), "three tensors, sorted by name");
	float got[108];
	CHECK(drop_ckpt_read(&r, "model.conv.weight", 4, shape, got) == 0 &&
	      !memcmp(got, conv, sizeof conv), "parameter read back");
	int same = drop_ckpt_read(&r, "optim.m.model.conv.weight", 4, shape, got) == 0;
	for (int i = 0; same && i < 108; i++)
		same = got[i] == (float)i / 7;
	CHECK(same, "ckpt_add_copy kept the values of the moment it was called");
	CHECK(drop_ckpt_read(&r, "model.conv.weight", 4, (int64_t[]){ 64, 3, 3, 3 }, got) == -1 &&
	      !strcmp(drop_errmsg(), "model.conv.weight: expected shape (64, 3, 3, 3), file has "
	              "(4, 3, 3, 3)"), "wrong shape: %s", drop_errmsg());
	CHECK(drop_ckpt_read(&r, "model.conv.weight", 1, (int64_t[]){ 108 }, got) == -1 &&
	      !strcmp(drop_errmsg(), "model.conv.weight: expected shape (108,), file has "
	              "(4, 3, 3, 3)"), "same size, other shape: %s", drop_errmsg());
	CHECK(drop_ckpt_read(&r, "model.nope", 1, (int64_t[]){ 1 }, got) == -1 &&
	      !strcmp(drop_errmsg(), "model.nope: not in the checkpoint"), "missing tensor");
	int64_t step;
	CHECK(drop_ckpt_read_i64(&r, "optim.step", &step) == 0 && step == 1234567890123,
	      "int64 scalar exact");
	CHECK(drop_ckpt_read_i64(&r, "model.conv.weight", &step) == -1 &&
	      !strcmp(drop_errmsg(), "model.conv.weight: expected shape (), file has (4, 3, 3, 3)"),
	      "int64 of a non-scalar: %s", drop_errmsg());
	CHECK(drop_ckpt_has(&r, "optim.step") && !drop_ckpt_has(&r, "optim.v.x"), "ckpt_has");
	drop_ckpt_close(&r);

	/* What is not a drop checkpoint, or not one this drop reads. */
	static const struct { const char *format, *version, *msg; } bad[] = {
		{ NULL, NULL, "not a drop checkpoint (no \"format\": \"drop-checkpoint\" in its "
		  "metadata)" },
		{ "pt", NULL, "not a drop checkpoint (its metadata says \"format\": \"pt\")" },
		{ "drop-checkpoint", NULL, "bad checkpoint version \"(none)\"" },
		{ "drop-checkpoint", "abc", "bad checkpoint version \"abc\"" },
		{ "drop-checkpoint", "0", "bad checkpoint version \"0\"" },
		{ "drop-checkpoint", "2", "checkpoint version 2 is newer than this drop reads (1): "
		  "use a newer drop" },
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		struct drop_sft_writer sw;
		drop_sft_writer_init(&sw);
		if (bad[k].format)
			drop_sft_writer_meta(&sw, "format", bad[k].format);
		if (bad[k].version)
			drop_sft_writer_meta(&sw, "version", bad[k].version);
		drop_sft_writer_commit(&sw, tmp("bad.safetensors"));
		drop_sft_writer_free(&sw);
		rc = drop_ckpt_open(&r, tmp("bad.safetensors"));
		CHECK(rc == -1 && !strcmp(drop_errmsg(), bad[k].msg), "ckpt_open: %s", bad[k].msg);
		if (rc == 0)
			drop_ckpt_close(&r);
	}
	rc = drop_ckpt_open(&r, FIX "bad_hole.safetensors");
	CHECK(rc == -1 && !strncmp(drop_errmsg(), "bytes 8 to 12", 13),
	      "ckpt_open passes safetensors errors on");
}

/* ---- Importing by name ----------------------------------------------------------------- */

static void write_import_file(const char *path)
{
	static const float conv[2] = { 1, 2 }, fc[1] = { 9 }, cls[3] = { 7, 8, 9 };
	static const uint16_t bn[2] = { 0x3800, 0x3400 };   /* F16 0.5, 0.25 */
	int64_t nbt = 7;
	struct drop_sft_writer w;
	drop_sft_writer_init(&w);
	const char *p = "module.backbone_appearance_feature_extractor.";
	char name[128];
	snprintf(name, sizeof name, "%sconv1.weight", p);
	drop_sft_writer_add(&w, name, SFT_F32, 4, (int64_t[]){ 2, 1, 1, 1 }, conv, false);
	snprintf(name, sizeof name, "%sbn1.weight", p);
	drop_sft_writer_add(&w, name, SFT_F16, 1, (int64_t[]){ 2 }, bn, false);
	snprintf(name, sizeof name, "%sbn1.num_batches_tracked", p);
	drop_sft_writer_add(&w, name, SFT_I64, 0, NULL, &nbt, false);
	snprintf(name, sizeof name, "%sfc.weight", p);
	drop_sft_writer_add(&w, name, SFT_F32, 1, (int64_t[]){ 1 }, fc, false);
	drop_sft_writer_add(&w, "module.classifier.weight", SFT_F32, 1, (int64_t[]){ 3 }, cls, false);
	drop_sft_writer_commit(&w, path);
	drop_sft_writer_free(&w);
}

static void test_import(void)
{
	char buf[64];
	const struct drop_ckpt_rename strip = { drop_ckpt_common_prefixes, NULL },
	                         into = { drop_ckpt_common_prefixes, "backbone." };
	CHECK(drop_ckpt_map_name("module.backbone.model.x.weight", &strip, buf, sizeof buf) == 0 &&
	      !strcmp(buf, "x.weight"), "prefixes stripped repeatedly, in any order");
	CHECK(drop_ckpt_map_name("layer.module.x", &strip, buf, sizeof buf) == 0 &&
	      !strcmp(buf, "layer.module.x"), "only at the front");
	CHECK(drop_ckpt_map_name("module.x", &into, buf, sizeof buf) == 0 &&
	      !strcmp(buf, "backbone.x"), "then `add` in front");
	CHECK(drop_ckpt_map_name("module.x", NULL, buf, sizeof buf) == 0 && !strcmp(buf, "module.x"),
	      "no rule: names as they are");
	CHECK(drop_ckpt_map_name("module.x", &into, buf, 8) == -1 &&
	      !strcmp(drop_errmsg(), "tensor name too long: module.x"), "too long");

	write_import_file(tmp("imagenet.safetensors"));
	struct drop_sft_file f;
	int rc = drop_sft_open(&f, tmp("imagenet.safetensors"));
	CHECK(rc == 0, "open import file (%s)", rc ? drop_errmsg() : "ok");
	if (rc)
		return;
	float conv[2] = { 0 }, bn[2] = { 0 }, nbt = 0, head[5] = { 0 }, l1[1] = { 0 };
	struct drop_ckpt_want want[] = {
		{ "conv1.weight", 4, { 2, 1, 1, 1 }, conv },
		{ "bn1.weight", 1, { 2 }, bn },
		{ "bn1.num_batches_tracked", 0, { 0 }, &nbt },
		{ "cls_head.weight", 1, { 5 }, head },
		{ "layer1.weight", 1, { 1 }, l1 },
	};
	struct drop_ckpt_import_report rep;
	rc = drop_ckpt_import(&f, want, 5, &strip, &rep);
	CHECK(rc == 0, "import (%s)", rc ? drop_errmsg() : "ok");
	if (rc == 0) {
		CHECK(rep.nloaded == 3 && conv[0] == 1 && conv[1] == 2 && bn[0] == 0.5f &&
		      bn[1] == 0.25f && nbt == 7, "3 loaded, F16 and I64 converted");
		CHECK(rep.nmissing == 2 && rep.missing[0] == 3 && rep.missing[1] == 4,
		      "missing: cls_head.weight, layer1.weight");
		CHECK(rep.nunused == 2 &&
		      !strcmp(rep.unused[0], "module.backbone_appearance_feature_extractor.fc.weight") &&
		      !strcmp(rep.unused[1], "module.classifier.weight"),
		      "unused: the file's fc and classifier, under their file names");
		drop_ckpt_import_report_free(&rep);
	}
	/* With a model-side prefix. */
	struct drop_ckpt_want want2[] = { { "backbone.conv1.weight", 4, { 2, 1, 1, 1 }, conv } };
	conv[0] = 0;
	rc = drop_ckpt_import(&f, want2, 1, &into, &rep);
	CHECK(rc == 0 && rep.nloaded == 1 && rep.nunused == 4 && conv[0] == 1,
	      "add \"backbone.\": loaded under the model's name");
	if (rc == 0)
		drop_ckpt_import_report_free(&rep);
	/* A shape that differs is an error naming both names. */
	struct drop_ckpt_want want3[] = { { "conv1.weight", 4, { 2, 1, 3, 3 }, conv } };
	rc = drop_ckpt_import(&f, want3, 1, &strip, &rep);
	CHECK(rc == -1 && !strcmp(drop_errmsg(), "conv1.weight (file: module.backbone_appearance_"
	      "feature_extractor.conv1.weight): expected shape (2, 1, 3, 3), file has (2, 1, 1, 1)"),
	      "shape mismatch: %s", drop_errmsg());
	/* Without stripping, nothing matches. */
	rc = drop_ckpt_import(&f, want, 5, NULL, &rep);
	CHECK(rc == 0 && rep.nloaded == 0 && rep.nmissing == 5 && rep.nunused == 5,
	      "no rule: nothing loaded, everything missing and unused");
	if (rc == 0)
		drop_ckpt_import_report_free(&rep);
	drop_sft_close(&f);

	/* Two file tensors mapping to one wanted name. */
	static const float one[1] = { 1 };
	struct drop_sft_writer w;
	drop_sft_writer_init(&w);
	drop_sft_writer_add(&w, "conv1.weight", SFT_F32, 1, (int64_t[]){ 1 }, one, false);
	drop_sft_writer_add(&w, "module.conv1.weight", SFT_F32, 1, (int64_t[]){ 1 }, one, false);
	drop_sft_writer_add(&w, "fc.weight", SFT_F32, 1, (int64_t[]){ 1 }, one, false);
	drop_sft_writer_add(&w, "module.fc.weight", SFT_F32, 1, (int64_t[]){ 1 }, one, false);
	drop_sft_writer_commit(&w, tmp("twice.safetensors"));
	drop_sft_writer_free(&w);
	rc = drop_sft_open(&f, tmp("twice.safetensors"));
	struct drop_ckpt_want want4[] = { { "conv1.weight", 1, { 1 }, conv } };
	int irc = rc ? 0 : drop_ckpt_import(&f, want4, 1, &strip, &rep);
	CHECK(rc == 0 && irc == -1 && !strcmp(drop_errmsg(), "conv1.weight: the file has both "
	      "\"conv1.weight\" and \"module.conv1.weight\""), "ambiguous: %s", drop_errmsg());
	struct drop_ckpt_want want5[] = { { "bn.weight", 1, { 1 }, conv } };
	irc = rc ? -1 : drop_ckpt_import(&f, want5, 1, &strip, &rep);
	CHECK(irc == 0 && rep.nunused == 4, "a clash among unwanted names is no error");
	if (irc == 0)
		drop_ckpt_import_report_free(&rep);
	if (rc == 0)
		drop_sft_close(&f);
	unlink(tmp("twice.safetensors"));
	unlink(tmp("imagenet.safetensors"));
}

int main(int argc, char **argv)
{
	const char *keep = argc == 3 && !strcmp(argv[1], "--keep") ? argv[2] : NULL;
	snprintf(dir, sizeof dir, "/tmp/test_safetensors.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_good();
	test_pipe();
	test_broken_fixtures();
	test_broken_headers();
	test_round_trip(keep);
	test_writer_errors();
	test_atomic();
	test_large();
	test_checkpoint();
	test_import();
	static const char *made[] = { "h.safetensors", "rt.safetensors", "model.safetensors",
	                              "bad.safetensors" };
	for (size_t i = 0; i < sizeof made / sizeof made[0]; i++)
		unlink(tmp(made[i]));
	CHECK(rmdir(dir) == 0, "scratch folder empty at the end");
	return tap_done();
}

/*
 * safetensors.c - .safetensors reading (validated, mapped) and writing (see safetensors.h).
 *
 * Reading happens in three steps: load (map the file, or read a pipe), parse (header JSON
 * into drop_sft_tensor entries, each checked on its own) and check the layout (the ranges,
 * sorted by offset, must tile the data buffer). Values are converted only when asked for,
 * one tensor at a time, straight from the mapping.
 */
#include "safetensors.h"
#include "../core/drop.h"
#include "json.h"
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c reads and writes little-endian data in place: little-endian hosts only"
#endif

static const char *const dtype_names[SFT_NDTYPES] = {
	"BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32",
	"F32", "F64", "I64", "U64",
};
static const unsigned char dtype_sizes[SFT_NDTYPES] = { 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4,
                                                        4, 8, 8, 8 };

size_t drop_sft_dtype_size(enum drop_sft_dtype t) { return dtype_sizes[t]; }
const char *drop_sft_dtype_name(enum drop_sft_dtype t) { return dtype_names[t]; }

int drop_sft_dtype_parse(const char *name)
{
	for (int t = 0; t < SFT_NDTYPES; t++)
		if (!strcmp(name, dtype_names[t]))
			return t;
	return -1;
}

void drop_sft_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap, "(");
	for (int i = 0; i < ndim && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%" PRId64, i ? ", " : "", shape[i]);
	if (n < cap)
		snprintf(buf + n, cap - n, ndim == 1 ? ",)" : ")");
}

/* ---- Loading ---------------------------------------------------------------------------- */

/* Read all of fd into a growing buffer (pipes, and files that cannot be mapped). */
static int read_all(struct drop_sft_file *f, int fd)
{
	size_t cap = 1 << 16, n = 0;
	unsigned char *buf = drop_malloc(cap);
	for (;;) {
		if (n == cap)
			buf = drop_realloc(buf, cap *= 2);
		ssize_t k = read(fd, buf + n, cap - n);
		if (k == 0)
			break;
		if (k < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			return drop_fail("read error: %s", strerror(e));
		}
		n += (size_t)k;
	}
	f->base = buf;
	f->size = n;
	return 0;
}

static int load(struct drop_sft_file *f, const char *path)
{
	bool is_stdin = !strcmp(path, "-");
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return drop_fail("cannot open: %s", strerror(errno));
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 8) {
		f->size = (size_t)st.st_size;
		void *p = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p != MAP_FAILED) {
			f->base = p;
			f->mapped = true;
		}
	}
	if (!f->mapped)
		rc = read_all(f, fd);
	if (!is_stdin)
		close(fd);
	return rc;
}

/* ---- Parsing the header ----------------------------------------------------------------- */

/* A JSON array of at most `max` non-negative integers into out; the count, or -1. */
static int uint_array(const struct drop_json *v, uint64_t *out, size_t max)
{
	if (!v || v->type != JSON_ARRAY || v->len > max)
		return -1;
	for (size_t i = 0; i < v->len; i++)
		if (drop_json_u64(&v->items[i], &out[i]))
			return -1;
	return (int)v->len;
}

/* Fill t from the header entry `name`: {"dtype", "shape", "data_offsets"}. */
static int parse_entry(struct drop_sft_tensor *t, const struct drop_json *name, const struct drop_json *v,
                       size_t data_len)
{
	const char *n = name->str;
	if (strlen(n) != name->len)
		return drop_fail("bad header: a tensor name holds a NUL character");
	if (v->type != JSON_OBJECT)
		return drop_fail("tensor \"%s\": %s instead of an object", n, drop_json_type_name(v->type));
	for (size_t i = 0; i < v->len; i++) {
		const char *k = v->keys[i].str;
		if (strcmp(k, "dtype") && strcmp(k, "shape") && strcmp(k, "data_offsets"))
			return drop_fail("tensor \"%s\": unknown key \"%s\"", n, k);
	}
	const struct drop_json *dtype = drop_json_get(v, "dtype"), *shape = drop_json_get(v, "shape"),
	                  *offsets = drop_json_get(v, "data_offsets");
	if (!dtype || !shape || !offsets)
		return drop_fail("tensor \"%s\": no \"%s\"", n,
		                 !dtype ? "dtype" : !shape ? "shape" : "data_offsets");
	if (dtype->type != JSON_STRING)
		return drop_fail("tensor \"%s\": \"dtype\" is %s, not a string", n,
		                 drop_json_type_name(dtype->type));
	int d = drop_sft_dtype_parse(dtype->str);
	if (d < 0)
		return drop_fail("tensor \"%s\": unknown dtype \"%s\"", n, dtype->str);
	if (shape->type == JSON_ARRAY && shape->len > SFT_MAXDIM)
		return drop_fail("tensor \"%s\": %zu dimensions (at most %d)", n, shape->len,
		                 SFT_MAXDIM);
	uint64_t dims[SFT_MAXDIM], off[2];
	int ndim = uint_array(shape, dims, SFT_MAXDIM);
	if (ndim < 0)
		return drop_fail("tensor \"%s\": \"shape\" is not an array of non-negative integers",
		                 n);
	if (uint_array(offsets, off, 2) != 2)
		return drop_fail("tensor \"%s\": \"data_offsets\" is not [BEGIN, END] "
		                 "(two non-negative integers)", n);
	t->name = drop_strdup(n);
	t->dtype = (enum drop_sft_dtype)d;
	t->ndim = ndim;
	uint64_t count = 1;
	bool overflow = false;
	for (int i = 0; i < ndim; i++) {
		overflow |= dims[i] > INT64_MAX || __builtin_mul_overflow(count, dims[i], &count);
		t->shape[i] = (int64_t)dims[i];
	}
	uint64_t nbytes;
	overflow |= __builtin_mul_overflow(count, (uint64_t)drop_sft_dtype_size(t->dtype), &nbytes) ||
	            nbytes > SIZE_MAX;
	if (overflow)
		return drop_fail("tensor \"%s\": shape too large", n);
	char sh[128];
	drop_sft_shape_str(ndim, t->shape, sh, sizeof sh);
	if (off[1] < off[0])
		return drop_fail("tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64 "] end before "
		                 "they begin", n, off[0], off[1]);
	if (off[1] - off[0] != nbytes)
		return drop_fail("tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64 "] hold %"
		                 PRIu64 " bytes, %s %s takes %" PRIu64, n, off[0], off[1],
		                 off[1] - off[0], dtype_names[d], sh, nbytes);
	if (off[1] > data_len)
		return drop_fail("tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64 "] run past "
		                 "the end of the data (%zu bytes): truncated file?", n, off[0],
		                 off[1], data_len);
	t->count = (size_t)count;
	t->begin = (size_t)off[0];
	t->end = (size_t)off[1];
	return 0;
}

static int parse_metadata(struct drop_sft_file *f, const struct drop_json *v)
{
	if (v->type != JSON_OBJECT)
		return drop_fail("bad header: \"__metadata__\" is %s, not an object",
		                 drop_json_type_name(v->type));
	f->meta = drop_calloc(v->len ? v->len : 1, sizeof *f->meta);
	for (size_t i = 0; i < v->len; i++) {
		const struct drop_json *k = &v->keys[i], *s = &v->items[i];
		if (s->type != JSON_STRING)
			return drop_fail("bad header: \"__metadata__\" value of \"%s\" is %s, not a "
			                 "string", k->str, drop_json_type_name(s->type));
		if (strlen(k->str) != k->len || strlen(s->str) != s->len)
			return drop_fail("bad header: \"__metadata__\" entry \"%s\" holds a NUL "
			                 "character", k->str);
		f->meta[i].key = drop_strdup(k->str);
		f->meta[i].value = drop_strdup(s->str);
		f->nmeta++;
	}
	return 0;
}

static int by_offset(const void *a, const void *b)
{
	const struct drop_sft_tensor *x = *(const struct drop_sft_tensor *const *)a,
	                        *y = *(const struct drop_sft_tensor *const *)b;
	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return (x->end > y->end) - (x->end < y->end);
}

/* The ranges must tile [0, data_len): sorted by offset, each starts where the last ended. */
static int check_layout(const struct drop_sft_file *f)
{
	const struct drop_sft_tensor **order = drop_malloc((f->ntensors + 1) * sizeof *order);
	for (size_t i = 0; i < f->ntensors; i++)
		order[i] = &f->tensors[i];
	qsort(order, f->ntensors, sizeof *order, by_offset);
	size_t at = 0;                        /* where the next range must begin */
	const struct drop_sft_tensor *prev = NULL; /* the tensor that ends at `at` */
	int rc = 0;
	for (size_t i = 0; i < f->ntensors && !rc; i++) {
		const struct drop_sft_tensor *t = order[i];
		if (t->begin < at)
			rc = drop_fail("tensor \"%s\": data_offsets [%zu, %zu] overlap tensor \"%s\" "
			               "[%zu, %zu]", t->name, t->begin, t->end, prev->name,
			               prev->begin, prev->end);
		else if (t->begin > at)
			rc = drop_fail("bytes %zu to %zu of the data belong to no tensor (a hole before "
			               "tensor \"%s\")", at, t->begin, t->name);
		at = t->end;
		prev = t;
	}
	free(order);
	if (!rc && at != f->data_len)
		rc = drop_fail("%zu bytes after the last tensor's data (the data holds %zu bytes, "
		               "the tensors %zu)", f->data_len - at, f->data_len, at);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct drop_sft_tensor *)a)->name, ((const struct drop_sft_tensor *)b)->name);
}

static int meta_by_key(const void *a, const void *b)
{
	return strcmp(((const struct drop_sft_meta *)a)->key, ((const struct drop_sft_meta *)b)->key);
}

static int parse(struct drop_sft_file *f)
{
	const unsigned char *b = f->base;
	if (f->size < 8)
		return drop_fail("file too short for a safetensors header (%zu bytes)", f->size);
	uint64_t n;
	memcpy(&n, b, 8);
	if (n > f->size - 8)
		return drop_fail("header length %" PRIu64 " runs past the end of the file (%zu "
		                 "bytes): not a safetensors file?", n, f->size);
	if (n > SFT_MAX_HEADER)
		return drop_fail("header length %" PRIu64 " is too large (at most %u bytes)", n,
		                 SFT_MAX_HEADER);
	if (n == 0 || b[8] != '{')
		return drop_fail("bad header: it does not start with '{'");
	f->header_len = (size_t)n;
	f->data = b + 8 + n;
	f->data_len = f->size - 8 - (size_t)n;

	struct drop_json root;
	if (drop_json_parse((const char *)b + 8, (size_t)n, &root))
		return drop_fail("bad header: %s", drop_errmsg());
	int rc = 0;
	f->tensors = drop_calloc(root.len ? root.len : 1, sizeof *f->tensors);
	for (size_t i = 0; i < root.len && !rc; i++) {
		if (!strcmp(root.keys[i].str, "__metadata__"))
			rc = parse_metadata(f, &root.items[i]);
		else {
			rc = parse_entry(&f->tensors[f->ntensors], &root.keys[i], &root.items[i],
			                 f->data_len);
			/* count it even on failure: its name, if set, is then freed by drop_sft_close */
			f->ntensors++;
		}
	}
	drop_json_free(&root);
	if (rc || (rc = check_layout(f)))
		return rc;
	qsort(f->tensors, f->ntensors, sizeof *f->tensors, by_name);
	if (f->nmeta)
		qsort(f->meta, f->nmeta, sizeof *f->meta, meta_by_key);
	return 0;
}

int drop_sft_open(struct drop_sft_file *f, const char *path)
{
	memset(f, 0, sizeof *f);
	if (load(f, path))
		return -1;
	if (parse(f)) {
		drop_sft_close(f);
		return -1;
	}
	return 0;
}

void drop_sft_close(struct drop_sft_file *f)
{
	for (size_t i = 0; i < f->ntensors; i++)
		free(f->tensors[i].name);
	for (size_t i = 0; i < f->nmeta; i++) {
		free(f->meta[i].key);
		free(f->meta[i].value);
	}
	free(f->tensors);
	free(f->meta);
	if (f->mapped)
		munmap(f->base, f->size);
	else
		free(f->base);
	memset(f, 0, sizeof *f);
}

const struct drop_sft_tensor *drop_sft_find(const struct drop_sft_file *f, const char *name)
{
	struct drop_sft_tensor key = { .name = (char *)name };
	if (!f->ntensors)
		return NULL;
	return bsearch(&key, f->tensors, f->ntensors, sizeof key, by_name);
}

const char *drop_sft_meta_get(const struct drop_sft_file *f, const char *key)
{
	struct drop_sft_meta k = { .key = (char *)key };
	const struct drop_sft_meta *m = f->nmeta ? bsearch(&k, f->meta, f->nmeta, sizeof k, meta_by_key)
	                                    : NULL;
	return m ? m->value : NULL;
}

const void *drop_sft_raw(const struct drop_sft_file *f, const struct drop_sft_tensor *t)
{
	return f->data + t->begin;
}

/* ---- Converting values ------------------------------------------------------------------ */

/* IEEE half to float: exact (every half is a float). */
static float half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = h >> 10 & 0x1f, man = h & 0x3ff;
	uint32_t bits;
	if (exp == 0x1f)
		bits = sign | 0x7f800000u | man << 13;          /* infinity, NaN (payload kept) */
	else if (exp)
		bits = sign | (exp + 112) << 23 | man << 13;    /* normal: rebias 15 -> 127 */
	else {
		float v = (float)man * 0x1p-24f;                /* zero and subnormals, exact */
		memcpy(&bits, &v, 4);
		bits |= sign;
	}
	float f;
	memcpy(&f, &bits, 4);
	return f;
}

/* Element i of raw little-endian data at p; the data is not aligned in general. */
#define LOADER(fn, type)                                                          \
	static type fn(const void *p, size_t i)                                   \
	{                                                                         \
		type v;                                                           \
		memcpy(&v, (const unsigned char *)p + i * sizeof v, sizeof v);    \
		return v;                                                         \
	}
LOADER(ld_u8, uint8_t)
LOADER(ld_i8, int8_t)
LOADER(ld_u16, uint16_t)
LOADER(ld_i16, int16_t)
LOADER(ld_u32, uint32_t)
LOADER(ld_i32, int32_t)
LOADER(ld_u64, uint64_t)
LOADER(ld_i64, int64_t)
LOADER(ld_f64, double)

static bool is_float(enum drop_sft_dtype t)
{
	return t == SFT_F16 || t == SFT_BF16 || t == SFT_F32 || t == SFT_F64 ||
	       t == SFT_F8_E4M3 || t == SFT_F8_E5M2;
}

/* Integer element i of an integer or BOOL tensor (U64 values above INT64_MAX wrap). */
static int64_t int_at(enum drop_sft_dtype t, const void *p, size_t i)
{
	switch (t) {
	case SFT_BOOL: return ld_u8(p, i) != 0;
	case SFT_U8: return ld_u8(p, i);
	case SFT_I8: return ld_i8(p, i);
	case SFT_I16: return ld_i16(p, i);
	case SFT_U16: return ld_u16(p, i);
	case SFT_I32: return ld_i32(p, i);
	case SFT_U32: return ld_u32(p, i);
	case SFT_I64: return ld_i64(p, i);
	default: return (int64_t)ld_u64(p, i);
	}
}

int drop_sft_read_f32(const struct drop_sft_file *f, const struct drop_sft_tensor *t, float *dst)
{
	const void *p = drop_sft_raw(f, t);
	size_t n = t->count;
	switch (t->dtype) {
	case SFT_F32:
		if (n)
			memcpy(dst, p, n * 4);
		return 0;
	case SFT_F16:
		for (size_t i = 0; i < n; i++)
			dst[i] = half_to_float(ld_u16(p, i));
		return 0;
	case SFT_BF16:
		for (size_t i = 0; i < n; i++) {
			uint32_t bits = (uint32_t)ld_u16(p, i) << 16;
			memcpy(&dst[i], &bits, 4);
		}
		return 0;
	case SFT_F64:
		for (size_t i = 0; i < n; i++)
			dst[i] = (float)ld_f64(p, i);
		return 0;
	case SFT_F8_E4M3:
	case SFT_F8_E5M2:
		return drop_fail("tensor \"%s\": dtype %s cannot be read as float32", t->name,
		                 dtype_names[t->dtype]);
	case SFT_U64:
		for (size_t i = 0; i < n; i++)
			dst[i] = (float)ld_u64(p, i);
		return 0;
	default:
		for (size_t i = 0; i < n; i++)
			dst[i] = (float)int_at(t->dtype, p, i);
		return 0;
	}
}

int drop_sft_read_i64(const struct drop_sft_file *f, const struct drop_sft_tensor *t, int64_t *dst)
{
	const void *p = drop_sft_raw(f, t);
	if (is_float(t->dtype))
		return drop_fail("tensor \"%s\": dtype %s cannot be read as int64", t->name,
		                 dtype_names[t->dtype]);
	for (size_t i = 0; i < t->count; i++) {
		if (t->dtype == SFT_U64 && ld_u64(p, i) > INT64_MAX)
			return drop_fail("tensor \"%s\": value %" PRIu64 " does not fit in int64",
			                 t->name, ld_u64(p, i));
		dst[i] = int_at(t->dtype, p, i);
	}
	return 0;
}

/* ---- Writing ---------------------------------------------------------------------------- */

void drop_sft_writer_init(struct drop_sft_writer *w)
{
	memset(w, 0, sizeof *w);
}

int drop_sft_writer_add(struct drop_sft_writer *w, const char *name, enum drop_sft_dtype dtype, int ndim,
                   const int64_t *shape, const void *data, bool copy)
{
	if (!*name || !strcmp(name, "__metadata__"))
		return drop_fail("tensor name \"%s\" is reserved", name);
	if (ndim < 0 || ndim > SFT_MAXDIM)
		return drop_fail("tensor \"%s\": %d dimensions (at most %d)", name, ndim, SFT_MAXDIM);
	size_t nbytes = drop_sft_dtype_size(dtype);
	for (int i = 0; i < ndim; i++) {
		if (shape[i] < 0)
			return drop_fail("tensor \"%s\": negative dimension %" PRId64, name, shape[i]);
		if (drop_mul_size(nbytes, (size_t)shape[i], &nbytes))
			return drop_fail("tensor \"%s\": shape too large", name);
	}
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 64;
		w->t = drop_realloc(w->t, w->cap * sizeof *w->t);
	}
	struct drop_sft_wtensor *t = &w->t[w->n++];
	memset(t, 0, sizeof *t);
	t->name = drop_strdup(name);
	t->dtype = dtype;
	t->ndim = ndim;
	if (ndim)
		memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
	t->nbytes = nbytes;
	t->data = data;
	if (copy) {
		t->owned = drop_malloc(nbytes ? nbytes : 1);
		if (nbytes)
			memcpy(t->owned, data, nbytes);
		t->data = t->owned;
	}
	return 0;
}

void drop_sft_writer_meta(struct drop_sft_writer *w, const char *key, const char *value)
{
	for (size_t i = 0; i < w->nmeta; i++)
		if (!strcmp(w->meta[i].key, key)) {
			free(w->meta[i].value);
			w->meta[i].value = drop_strdup(value);
			return;
		}
	if (w->nmeta == w->metacap) {
		w->metacap = w->metacap ? 2 * w->metacap : 16;
		w->meta = drop_realloc(w->meta, w->metacap * sizeof *w->meta);
	}
	w->meta[w->nmeta].key = drop_strdup(key);
	w->meta[w->nmeta++].value = drop_strdup(value);
}

/* File order: larger elements first, then by name (every tensor aligned to its size). */
static int write_order(const void *a, const void *b)
{
	const struct drop_sft_wtensor *x = *(const struct drop_sft_wtensor *const *)a,
	                         *y = *(const struct drop_sft_wtensor *const *)b;
	size_t sx = drop_sft_dtype_size(x->dtype), sy = drop_sft_dtype_size(y->dtype);
	if (sx != sy)
		return sx > sy ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int meta_order(const void *a, const void *b)
{
	return strcmp((*(const struct drop_sft_meta *const *)a)->key,
	              (*(const struct drop_sft_meta *const *)b)->key);
}

/* The header text, padded with spaces to a multiple of 8 bytes, tensors in `order`. */
static char *header_text(const struct drop_sft_writer *w, const struct drop_sft_wtensor **order,
                         size_t *len)
{
	struct drop_json_writer j;
	drop_json_writer_init(&j);
	drop_json_begin_object(&j);
	if (w->nmeta) {
		const struct drop_sft_meta **m = drop_malloc(w->nmeta * sizeof *m);
		for (size_t i = 0; i < w->nmeta; i++)
			m[i] = &w->meta[i];
		qsort(m, w->nmeta, sizeof *m, meta_order);
		drop_json_key(&j, "__metadata__");
		drop_json_begin_object(&j);
		for (size_t i = 0; i < w->nmeta; i++) {
			drop_json_key(&j, m[i]->key);
			drop_json_string(&j, m[i]->value);
		}
		drop_json_end_object(&j);
		free(m);
	}
	size_t at = 0;
	for (size_t i = 0; i < w->n; i++) {
		const struct drop_sft_wtensor *t = order[i];
		drop_json_key(&j, t->name);
		drop_json_begin_object(&j);
		drop_json_key(&j, "dtype");
		drop_json_string(&j, drop_sft_dtype_name(t->dtype));
		drop_json_key(&j, "shape");
		drop_json_begin_array(&j);
		for (int d = 0; d < t->ndim; d++)
			drop_json_int(&j, t->shape[d]);
		drop_json_end_array(&j);
		drop_json_key(&j, "data_offsets");
		drop_json_begin_array(&j);
		drop_json_uint(&j, at);
		drop_json_uint(&j, at + t->nbytes);
		drop_json_end_array(&j);
		drop_json_end_object(&j);
		at += t->nbytes;
	}
	drop_json_end_object(&j);
	while (j.len % 8)
		drop_json_append(&j, " ", 1);
	return drop_json_writer_take(&j, len);
}

static int name_order(const void *a, const void *b)
{
	return strcmp((*(const struct drop_sft_wtensor *const *)a)->name,
	              (*(const struct drop_sft_wtensor *const *)b)->name);
}

int drop_sft_writer_write(const struct drop_sft_writer *w, FILE *f)
{
	const struct drop_sft_wtensor **order = drop_malloc((w->n + 1) * sizeof *order);
	for (size_t i = 0; i < w->n; i++)
		order[i] = &w->t[i];
	qsort(order, w->n, sizeof *order, name_order);
	int rc = 0;
	for (size_t i = 1; i < w->n && !rc; i++)
		if (!strcmp(order[i - 1]->name, order[i]->name))
			rc = drop_fail("duplicate tensor name \"%s\"", order[i]->name);
	qsort(order, w->n, sizeof *order, write_order);
	size_t len;
	char *header = rc ? NULL : header_text(w, order, &len);
	if (header) {
		uint64_t n = len;
		bool ok = fwrite(&n, 8, 1, f) == 1 && fwrite(header, 1, len, f) == len;
		for (size_t i = 0; i < w->n && ok; i++)
			ok = !order[i]->nbytes || fwrite(order[i]->data, 1, order[i]->nbytes, f) ==
			                          order[i]->nbytes;
		if (!ok)
			rc = drop_fail("write error: %s", strerror(errno));
	}
	free(header);
	free(order);
	return rc;
}

int drop_sft_writer_commit(const struct drop_sft_writer *w, const char *path)
{
	struct drop_out o;
	if (drop_out_open(&o, path, true))
		return -1;
	if (drop_sft_writer_write(w, o.f)) {
		drop_out_abort(&o);
		return -1;
	}
	/* A checkpoint must survive a crash right after the rename: data on disk first. */
	if ((o.tmp || o.anonymous) && (fflush(o.f) || fsync(fileno(o.f)))) {
		int e = errno;
		drop_out_abort(&o);
		return drop_fail("write error: %s", strerror(e));
	}
	return drop_out_commit(&o);
}

void drop_sft_writer_free(struct drop_sft_writer *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->t[i].name);
		free(w->t[i].owned);
	}
	for (size_t i = 0; i < w->nmeta; i++) {
		free(w->meta[i].key);
		free(w->meta[i].value);
	}
	free(w->t);
	free(w->meta);
	drop_sft_writer_init(w);
}

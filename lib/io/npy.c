/*
 * npy.c - NumPy .npy reading and writing (see npy.h for the format and the stream rule).
 * Not here: memory mapping, Fortran order, big-endian data, object arrays (all rejected).
 */
#include "npy.h"
#include "../core/drop.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char magic[6] = { '\x93', 'N', 'U', 'M', 'P', 'Y' };

/* A header dict longer than this is not something drop writes or needs to read. */
#define MAX_HEADER_LEN (1u << 20)
/* The largest string ('S') or padding ('V') size a header may declare, so that every
 * size derived from it (plus a NUL, times a count) is checked arithmetic, not a wrap. */
#define NPY_MAX_SCALAR ((1ul << 31) - 1)

static const struct {
	const char *name;
	size_t size;
	bool numeric;
} type_info[] = {
	[NPY_B1] = { "b1", 1, true }, [NPY_I1] = { "i1", 1, true }, [NPY_I2] = { "i2", 2, true },
	[NPY_I4] = { "i4", 4, true }, [NPY_I8] = { "i8", 8, true }, [NPY_U1] = { "u1", 1, true },
	[NPY_U2] = { "u2", 2, true }, [NPY_U4] = { "u4", 4, true }, [NPY_U8] = { "u8", 8, true },
	[NPY_F2] = { "f2", 2, true }, [NPY_F4] = { "f4", 4, true }, [NPY_F8] = { "f8", 8, true },
	[NPY_S] = { "S", 1, false },
};

size_t drop_npy_type_size(enum drop_npy_type type) { return type_info[type].size; }
const char *drop_npy_type_name(enum drop_npy_type type) { return type_info[type].name; }
bool drop_npy_type_is_numeric(enum drop_npy_type type) { return type_info[type].numeric; }

/* ---- Building headers ------------------------------------------------------------------ */

struct drop_npy_field drop_npy_field_make(const char *name, enum drop_npy_type type, size_t size, int ndim,
                                const size_t *shape)
{
	struct drop_npy_field f = { .type = type, .ndim = ndim, .count = 1 };
	snprintf(f.name, sizeof f.name, "%s", name);
	f.size = type == NPY_S ? size : drop_npy_type_size(type);
	for (int i = 0; i < ndim; i++) {
		f.shape[i] = shape[i];
		f.count *= shape[i];
	}
	return f;
}

static int set_shape(struct drop_npy_header *h, int ndim, const size_t *shape)
{
	if (ndim < 0 || ndim > NPY_MAXDIM)
		return drop_fail("too many dimensions (%d, at most %d)", ndim, NPY_MAXDIM);
	h->ndim = ndim;
	h->count = 1;
	for (int i = 0; i < ndim; i++) {
		h->shape[i] = shape[i];
		if (drop_mul_size(h->count, shape[i], &h->count))
			return -1;
	}
	return 0;
}

int drop_npy_header_plain(struct drop_npy_header *h, enum drop_npy_type type, int ndim, const size_t *shape)
{
	memset(h, 0, sizeof *h);
	h->version = 1;
	h->base = drop_npy_field_make("", type, 1, 0, NULL);
	h->itemsize = h->base.size;
	return set_shape(h, ndim, shape);
}

int drop_npy_header_records(struct drop_npy_header *h, const struct drop_npy_field *fields, int nfields,
                       size_t count)
{
	memset(h, 0, sizeof *h);
	h->version = 1;
	if (nfields < 1 || nfields > NPY_MAXFIELDS)
		return drop_fail("bad number of record fields (%d)", nfields);
	h->nfields = nfields;
	size_t off = 0;
	for (int i = 0; i < nfields; i++) {
		h->fields[i] = fields[i];
		h->fields[i].offset = off;
		off += fields[i].size * fields[i].count;
	}
	h->itemsize = off;
	return set_shape(h, 1, &count);
}

void drop_npy_header_set_len(struct drop_npy_header *h, size_t n)
{
	if (h->ndim == 0)
		h->ndim = 1;
	h->shape[0] = n;
	h->count = 1;
	for (int i = 0; i < h->ndim; i++)
		h->count *= h->shape[i];
}

int drop_npy_header_nbytes(const struct drop_npy_header *h, size_t *out)
{
	return drop_mul_size(h->count, h->itemsize, out);
}

const struct drop_npy_field *drop_npy_field_find(const struct drop_npy_header *h, const char *name)
{
	for (int i = 0; i < h->nfields; i++)
		if (!strcmp(h->fields[i].name, name))
			return &h->fields[i];
	return NULL;
}

static bool same_field(const struct drop_npy_field *a, const struct drop_npy_field *b)
{
	if (strcmp(a->name, b->name) || a->type != b->type || a->size != b->size ||
	    a->ndim != b->ndim || a->offset != b->offset)
		return false;
	for (int i = 0; i < a->ndim; i++)
		if (a->shape[i] != b->shape[i])
			return false;
	return true;
}

bool drop_npy_header_compatible(const struct drop_npy_header *a, const struct drop_npy_header *b)
{
	if (a->nfields != b->nfields || a->itemsize != b->itemsize || a->ndim != b->ndim)
		return false;
	if (a->nfields == 0 && !same_field(&a->base, &b->base))
		return false;
	for (int i = 0; i < a->nfields; i++)
		if (!same_field(&a->fields[i], &b->fields[i]))
			return false;
	for (int i = 1; i < a->ndim; i++)
		if (a->shape[i] != b->shape[i])
			return false;
	return true;
}

/* ---- Header text: writing ---------------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	if (!b->p) { /* vsnprintf(NULL + 0, 0, ...) would be arithmetic on a null pointer */
		b->cap = 256;
		b->p = drop_malloc(b->cap);
	}
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = 2 * b->cap + (size_t)n + 64;
		b->p = drop_realloc(b->p, b->cap);
	}
}

static void sb_descr(struct sbuf *b, const struct drop_npy_field *f)
{
	if (f->type == NPY_S)
		sb_printf(b, "'|S%zu'", f->size);
	else
		sb_printf(b, "'%c%s'", f->size == 1 ? '|' : '<', drop_npy_type_name(f->type));
}

static void sb_shape(struct sbuf *b, int ndim, const size_t *shape)
{
	sb_printf(b, "(");
	for (int i = 0; i < ndim; i++)
		sb_printf(b, ndim == 1 ? "%zu," : i ? ", %zu" : "%zu", shape[i]);
	sb_printf(b, ")");
}

static void sb_dtype(struct sbuf *b, const struct drop_npy_header *h)
{
	if (h->nfields == 0) {
		sb_descr(b, &h->base);
		return;
	}
	sb_printf(b, "[");
	for (int i = 0; i < h->nfields; i++) {
		const struct drop_npy_field *f = &h->fields[i];
		sb_printf(b, "%s('%s', ", i ? ", " : "", f->name);
		sb_descr(b, f);
		if (f->ndim > 0) {
			sb_printf(b, ", ");
			sb_shape(b, f->ndim, f->shape);
		}
		sb_printf(b, ")");
	}
	sb_printf(b, "]");
}

void drop_npy_header_describe(const struct drop_npy_header *h, char *buf, size_t cap)
{
	struct sbuf b = { 0 };
	sb_dtype(&b, h);
	sb_printf(&b, " ");
	sb_shape(&b, h->ndim, h->shape);
	snprintf(buf, cap, "%s", b.p);
	free(b.p);
}

int drop_npy_write_header(FILE *f, const struct drop_npy_header *h, size_t min_len)
{
	struct sbuf b = { 0 };
	sb_printf(&b, "{'descr': ");
	sb_dtype(&b, h);
	sb_printf(&b, ", 'fortran_order': False, 'shape': ");
	sb_shape(&b, h->ndim, h->shape);
	sb_printf(&b, ", }");

	/* Preamble + text + '\n' padded with spaces to a multiple of 64 and to min_len. */
	int version = h->version >= 2 ? h->version : 1;
	size_t pre = 10;
	if (version == 1 && b.len + 1 + pre > 65535)
		version = 2;
	if (version >= 2)
		pre = 12;
	size_t total = (pre + b.len + 1 + 63) / 64 * 64;
	while (total < min_len)
		total += 64;
	size_t hlen = total - pre;
	while (b.len < hlen - 1)
		sb_printf(&b, " ");
	sb_printf(&b, "\n");

	unsigned char p[12];
	memcpy(p, magic, 6);
	p[6] = (unsigned char)version;
	p[7] = 0;
	for (size_t i = 0; i < pre - 8; i++)
		p[8 + i] = (unsigned char)(hlen >> (8 * i));
	int ok = fwrite(p, 1, pre, f) == pre && fwrite(b.p, 1, b.len, f) == b.len;
	free(b.p);
	if (!ok)
		return drop_fail("write error: %s", strerror(errno));
	return 0;
}

int drop_npy_write(FILE *f, const struct drop_npy_header *h, const void *data)
{
	size_t nbytes;
	if (drop_npy_header_nbytes(h, &nbytes) || drop_npy_write_header(f, h, 0))
		return -1;
	if (nbytes && fwrite(data, 1, nbytes, f) != nbytes)
		return drop_fail("write error: %s", strerror(errno));
	return 0;
}

/* ---- Header text: parsing ----------------------------------------------------------------
 * A small reader for the Python literals numpy writes: dicts, lists, tuples, quoted
 * strings, integers, True/False. */

struct lex {
	const char *p, *end;
};

static void skip_ws(struct lex *l)
{
	while (l->p < l->end && isspace((unsigned char)*l->p))
		l->p++;
}

static bool eat(struct lex *l, char c)
{
	skip_ws(l);
	if (l->p < l->end && *l->p == c) {
		l->p++;
		return true;
	}
	return false;
}

static bool peek(struct lex *l, char c)
{
	skip_ws(l);
	return l->p < l->end && *l->p == c;
}

static int parse_string(struct lex *l, char *out, size_t cap)
{
	skip_ws(l);
	if (l->p >= l->end || (*l->p != '\'' && *l->p != '"'))
		return drop_fail("bad header: expected a string");
	char q = *l->p++;
	size_t n = 0;
	while (l->p < l->end && *l->p != q) {
		if (n + 1 >= cap)
			return drop_fail("bad header: string too long");
		out[n++] = *l->p++;
	}
	if (l->p >= l->end)
		return drop_fail("bad header: unterminated string");
	l->p++;
	out[n] = 0;
	return 0;
}

static int parse_uint(struct lex *l, size_t *v)
{
	skip_ws(l);
	if (l->p >= l->end || !isdigit((unsigned char)*l->p))
		return drop_fail("bad header: expected a non-negative integer");
	size_t x = 0;
	while (l->p < l->end && isdigit((unsigned char)*l->p)) {
		if (x > (SIZE_MAX - 9) / 10)
			return drop_fail("bad header: integer too large");
		x = 10 * x + (size_t)(*l->p++ - '0');
	}
	if (l->p < l->end && *l->p == 'L') /* Python 2 long */
		l->p++;
	*v = x;
	return 0;
}

/* A shape: "(3, 4)", "(3,)", "()" or a bare integer. */
static int parse_shape(struct lex *l, int *ndim, size_t *shape)
{
	*ndim = 0;
	if (!eat(l, '(')) {
		*ndim = 1;
		return parse_uint(l, &shape[0]);
	}
	while (!eat(l, ')')) {
		if (*ndim == NPY_MAXDIM)
			return drop_fail("too many dimensions (at most %d)", NPY_MAXDIM);
		if (parse_uint(l, &shape[(*ndim)++]))
			return -1;
		if (!eat(l, ',') && !peek(l, ')'))
			return drop_fail("bad header: malformed shape");
	}
	return 0;
}

/* A numpy type string such as "<f4", "|S12", "|b1", "|V4". void_size gets the size of
 * padding ('V') fields, which have no type. */
static int parse_typestr(const char *s, struct drop_npy_field *f, size_t *void_size)
{
	char order = *s;
	if (order == '<' || order == '>' || order == '|' || order == '=')
		s++;
	else
		order = '|';
	char kind = *s++;
	if (kind == 'O')
		return drop_fail("object arrays are not supported");
	if (kind == 'U')
		return drop_fail("unicode strings (dtype 'U') are not supported: store paths as bytes ('S')");
	char *end = (char *)s;
	unsigned long size = 0;
	errno = 0;
	/* Digits only: strtoul would take "-1" (as ULONG_MAX), " 4" and "+4". */
	if (isdigit((unsigned char)*s))
		size = strtoul(s, &end, 10);
	if (kind == '?' && *s == 0) /* '?' is numpy's bool */
		kind = 'b', size = 1, end = (char *)s;
	else if (end == s || *end || errno || size == 0 || size > NPY_MAX_SCALAR)
		return drop_fail("unsupported dtype '%s'", s - 1);
	*void_size = 0;
	switch (kind) {
	case 'V':
		*void_size = size;
		return 0;
	case 'S':
		f->type = NPY_S;
		f->size = size;
		return 0;
	}
	if (order == '>' && size > 1)
		return drop_fail("big-endian data is not supported: convert with .astype('<%c%lu')",
		                 kind, size);
	static const struct {
		char kind;
		unsigned long size;
		enum drop_npy_type type;
	} map[] = {
		{ 'b', 1, NPY_B1 }, { 'i', 1, NPY_I1 }, { 'i', 2, NPY_I2 }, { 'i', 4, NPY_I4 },
		{ 'i', 8, NPY_I8 }, { 'u', 1, NPY_U1 }, { 'u', 2, NPY_U2 }, { 'u', 4, NPY_U4 },
		{ 'u', 8, NPY_U8 }, { 'f', 2, NPY_F2 }, { 'f', 4, NPY_F4 }, { 'f', 8, NPY_F8 },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (map[i].kind == kind && map[i].size == size) {
			f->type = map[i].type;
			f->size = size;
			return 0;
		}
	return drop_fail("unsupported dtype '%c%c%lu'", order, kind, size);
}

/* descr: a type string, or a list of (name, type[, shape]) tuples. */
static int parse_descr(struct lex *l, struct drop_npy_header *h)
{
	char s[NPY_NAMELEN];
	size_t void_size = 0;
	if (!eat(l, '[')) {
		if (parse_string(l, s, sizeof s) || parse_typestr(s, &h->base, &void_size))
			return -1;
		if (void_size)
			return drop_fail("unsupported dtype '%s'", s);
		h->base.count = 1;
		h->itemsize = h->base.size;
		return 0;
	}
	size_t off = 0;
	while (!eat(l, ']')) {
		struct drop_npy_field f = { .count = 1 };
		if (!eat(l, '('))
			return peek(l, '{') ? drop_fail("dtypes with explicit offsets are not supported")
			                    : drop_fail("bad header: malformed record field");
		if (peek(l, '('))
			return drop_fail("record fields with titles are not supported");
		if (parse_string(l, f.name, sizeof f.name) || !eat(l, ','))
			return drop_fail("bad header: malformed record field");
		if (peek(l, '['))
			return drop_fail("field '%s': nested records are not supported", f.name);
		if (parse_string(l, s, sizeof s) || parse_typestr(s, &f, &void_size))
			return drop_fail("field '%s': %s", f.name, drop_errmsg());
		if (eat(l, ',') && !peek(l, ')')) {
			if (parse_shape(l, &f.ndim, f.shape))
				return -1;
			for (int i = 0; i < f.ndim; i++)
				if (drop_mul_size(f.count, f.shape[i], &f.count))
					return drop_fail("field '%s': %s", f.name, drop_errmsg());
		}
		if (!eat(l, ')'))
			return drop_fail("bad header: malformed record field");
		eat(l, ',');
		size_t bytes;
		if (drop_mul_size(void_size ? void_size : f.size, f.count, &bytes) ||
		    __builtin_add_overflow(off, bytes, &bytes))
			return drop_fail("field '%s': record size overflow", f.name);
		if (void_size) { /* padding between fields */
			off = bytes;
			continue;
		}
		if (h->nfields == NPY_MAXFIELDS)
			return drop_fail("too many record fields (at most %d)", NPY_MAXFIELDS);
		if (drop_npy_field_find(h, f.name))
			return drop_fail("duplicate field name '%s'", f.name);
		f.offset = off;
		off = bytes;
		h->fields[h->nfields++] = f;
	}
	if (h->nfields == 0)
		return drop_fail("record dtype without fields");
	if (off == 0) /* records of no bytes: any count of them in no data */
		return drop_fail("record dtype of 0 bytes");
	h->itemsize = off;
	return 0;
}

int drop_npy_parse_header_text(const char *text, size_t len, struct drop_npy_header *h)
{
	struct lex l = { text, text + len };
	bool have_descr = false, have_order = false, have_shape = false;
	int version = h->version;
	memset(h, 0, sizeof *h);
	h->version = version;
	if (!eat(&l, '{'))
		return drop_fail("bad header: not a dict");
	while (!eat(&l, '}')) {
		char key[32];
		if (parse_string(&l, key, sizeof key) || !eat(&l, ':'))
			return drop_fail("bad header: malformed dict");
		/* A key given twice would leave the fields of one dtype with the size of another. */
		if ((!strcmp(key, "descr") && have_descr) || (!strcmp(key, "shape") && have_shape) ||
		    (!strcmp(key, "fortran_order") && have_order))
			return drop_fail("bad header: key '%s' given twice", key);
		if (!strcmp(key, "descr")) {
			if (parse_descr(&l, h))
				return -1;
			have_descr = true;
		} else if (!strcmp(key, "fortran_order")) {
			skip_ws(&l);
			if (l.end - l.p >= 4 && !memcmp(l.p, "True", 4))
				return drop_fail("Fortran-order arrays are not supported: save with "
				                 "np.ascontiguousarray()");
			if (l.end - l.p < 5 || memcmp(l.p, "False", 5))
				return drop_fail("bad header: fortran_order is not True or False");
			l.p += 5;
			have_order = true;
		} else if (!strcmp(key, "shape")) {
			size_t shape[NPY_MAXDIM];
			int ndim;
			if (parse_shape(&l, &ndim, shape) || set_shape(h, ndim, shape))
				return -1;
			have_shape = true;
		} else {
			return drop_fail("bad header: unknown key '%s'", key);
		}
		if (!eat(&l, ',') && !peek(&l, '}'))
			return drop_fail("bad header: malformed dict");
	}
	if (!have_descr || !have_order || !have_shape)
		return drop_fail("bad header: missing %s", !have_descr ? "descr"
		                 : !have_order ? "fortran_order" : "shape");
	/* Every size the readers derive from the header, checked once here: the data of the
	 * document and one row of it (which may overflow on its own when shape[0] is 0). */
	size_t nbytes, row = h->itemsize;
	for (int i = 1; i < h->ndim; i++)
		if (__builtin_mul_overflow(row, h->shape[i], &row))
			return drop_fail("bad header: row size overflow");
	if (drop_npy_header_nbytes(h, &nbytes) || nbytes > (size_t)PTRDIFF_MAX ||
	    row > (size_t)PTRDIFF_MAX)
		return drop_fail("bad header: data size overflow");
	return 0;
}

/* ---- Reading ------------------------------------------------------------------------------ */

/* The bytes of f after its position, or -1 when f is not a regular file (a pipe). */
static long long bytes_left(FILE *f)
{
	struct stat st;
	int fd = fileno(f);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode))
		return -1;
	long pos = ftell(f);
	if (pos < 0)
		return -1;
	return st.st_size > pos ? (long long)(st.st_size - pos) : 0;
}

int drop_npy_read_header(FILE *f, struct drop_npy_header *h)
{
	unsigned char pre[12];
	size_t n = fread(pre, 1, 8, f);
	if (n == 0 && !ferror(f))
		return 0;
	if (n < 6 || memcmp(pre, magic, 6))
		return ferror(f) ? drop_fail("read error: %s", strerror(errno))
		                 : drop_fail("not a .npy file (bad magic)");
	if (n < 8)
		return drop_fail("truncated header");
	int major = pre[6];
	if (major < 1 || major > 3)
		return drop_fail("unsupported .npy format version %d.%d", major, pre[7]);
	size_t lenbytes = major == 1 ? 2 : 4;
	if (fread(pre + 8, 1, lenbytes, f) != lenbytes)
		return drop_fail("truncated header");
	size_t hlen = 0;
	for (size_t i = 0; i < lenbytes; i++)
		hlen |= (size_t)pre[8 + i] << (8 * i);
	if (hlen > MAX_HEADER_LEN)
		return drop_fail("header too long (%zu bytes)", hlen);
	char *text = drop_malloc(hlen + 1);
	if (fread(text, 1, hlen, f) != hlen) {
		free(text);
		return drop_fail("truncated header");
	}
	h->version = major;
	int rc = drop_npy_parse_header_text(text, hlen, h);
	free(text);
	if (rc)
		return -1;
	/* A regular file says how much data it holds: a document declaring more is truncated,
	 * said before anyone allocates for it (pipes: drop_npy_reader_read_alloc). */
	size_t nbytes;
	long long left = bytes_left(f);
	if (drop_npy_header_nbytes(h, &nbytes) == 0 && left >= 0 && nbytes > (unsigned long long)left)
		return drop_fail("truncated data: the header declares %zu bytes, the file holds %lld "
		                 "after it", nbytes, left);
	return 1;
}

size_t drop_npy_header_rowsize(const struct drop_npy_header *h)
{
	size_t n = h->itemsize;
	for (int i = 1; i < h->ndim; i++)
		n *= h->shape[i];
	return n;
}

int drop_npy_read_rows(FILE *f, const struct drop_npy_header *h, void *buf, size_t n)
{
	size_t nbytes;
	if (drop_mul_size(n, drop_npy_header_rowsize(h), &nbytes))
		return -1;
	size_t got = nbytes ? fread(buf, 1, nbytes, f) : 0;
	if (got != nbytes)
		return ferror(f) ? drop_fail("read error: %s", strerror(errno))
		                 : drop_fail("truncated data: expected %zu more bytes, got %zu",
		                             nbytes, got);
	return 0;
}

/* Bytes a bounded read adds to its buffer at first; later steps double it. */
#define READ_CHUNK ((size_t)1 << 20)

/* Read n bytes of f into (*buf)[at .. at + n), growing *buf (*cap bytes) as the bytes
 * arrive, never to more than twice what it holds plus READ_CHUNK: a header may declare
 * any size, and a pipe cannot be measured beforehand. at + n must not overflow. */
static int read_grow(FILE *f, char **buf, size_t *cap, size_t at, size_t n)
{
	size_t got = 0;
	while (got < n) {
		size_t end = at + got;
		if (*cap <= end) {
			size_t want = end < READ_CHUNK ? READ_CHUNK : 2 * end;
			if (want > at + n)
				want = at + n;
			*buf = drop_realloc(*buf, want);
			*cap = want;
		}
		size_t room = *cap - end, k = fread(*buf + end, 1, room < n - got ? room : n - got, f);
		if (k == 0)
			return ferror(f) ? drop_fail("read error: %s", strerror(errno))
			                 : drop_fail("truncated data: expected %zu more bytes, got %zu",
			                             n, got);
		got += k;
	}
	return 0;
}

int drop_npy_read_rows_alloc(FILE *f, const struct drop_npy_header *h, void **buf, size_t *cap,
                             size_t n)
{
	size_t nbytes;
	if (drop_mul_size(n, drop_npy_header_rowsize(h), &nbytes))
		return -1;
	char *b = *buf;
	int rc = read_grow(f, &b, cap, 0, nbytes);
	*buf = b;
	return rc;
}

static FILE *open_input(const char *path)
{
	if (!strcmp(path, "-"))
		return stdin;
	FILE *f = fopen(path, "rb");
	if (!f)
		drop_fail("%s", strerror(errno));
	return f;
}

int drop_npy_reader_attach(struct drop_npy_reader *r, FILE *f, const char *name)
{
	memset(r, 0, sizeof *r);
	r->f = f;
	r->name = drop_strdup(name);
	int rc = drop_npy_read_header(f, &r->h);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		r->eof = true;
		return 1;
	}
	r->left = r->h.ndim ? r->h.shape[0] : 1;
	if (r->h.ndim == 0) /* a 0-d array is one item */
		drop_npy_header_set_len(&r->h, 1);
	return 0;
}

int drop_npy_reader_open(struct drop_npy_reader *r, const char *path)
{
	FILE *f = open_input(path);
	if (!f)
		return -1;
	int rc = drop_npy_reader_attach(r, f, path);
	r->owns = f != stdin;
	if (rc == 1)
		rc = drop_fail("empty input");
	if (rc)
		drop_npy_reader_close(r);
	return rc;
}

/* Pass over n bytes of f: seek where f is a regular file (the size checked first, as a seek
 * past the end does not fail), read and drop them where it is not (a pipe). */
static int skip_bytes(FILE *f, size_t n)
{
	struct stat st;
	off_t at = ftello(f);
	if (at >= 0 && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
		if ((uintmax_t)n > (uintmax_t)(st.st_size - at))
			return drop_fail("truncated data: expected %zu more bytes, got %jd", n,
			                 (intmax_t)(st.st_size - at));
		if (fseeko(f, (off_t)n, SEEK_CUR) == 0)
			return 0;
	}
	char buf[4096];
	while (n) {
		size_t want = n < sizeof buf ? n : sizeof buf, got = fread(buf, 1, want, f);
		if (got != want)
			return ferror(f) ? drop_fail("read error: %s", strerror(errno))
			                 : drop_fail("truncated data: %zu bytes missing", n - got);
		n -= got;
	}
	return 0;
}

/* Up to max rows into `fixed` (sized by the caller), or when it is NULL into *gbuf grown
 * by read_grow, or when both are NULL nowhere (skip_bytes). */
static long reader_read(struct drop_npy_reader *r, char *fixed, char **gbuf, size_t *gcap,
                        size_t max)
{
	size_t got = 0, row = drop_npy_header_rowsize(&r->h);
	if (max > LONG_MAX)
		max = LONG_MAX;
	while (got < max && !r->eof) {
		if (r->left == 0) {
			struct drop_npy_header next;
			int rc = drop_npy_read_header(r->f, &next);
			if (rc < 0)
				return -1;
			if (rc == 0) {
				r->eof = true;
				break;
			}
			if (!drop_npy_header_compatible(&r->h, &next)) {
				char a[256], b[256];
				drop_npy_header_describe(&r->h, a, sizeof a);
				drop_npy_header_describe(&next, b, sizeof b);
				return drop_fail("stream documents differ: %s, then %s", a, b);
			}
			r->left = next.shape[0];
			continue;
		}
		size_t n = r->left < max - got ? r->left : max - got, nbytes;
		/* `got * row` cannot overflow: the caller sized `fixed`, or read_grow holds it. */
		if (fixed  ? drop_npy_read_rows(r->f, &r->h, fixed + got * row, n)
		    : gbuf ? drop_mul_size(n, row, &nbytes) || read_grow(r->f, gbuf, gcap, got * row, nbytes)
		           : drop_mul_size(n, row, &nbytes) || skip_bytes(r->f, nbytes))
			return -1;
		got += n;
		r->left -= n;
	}
	return (long)got;
}

long drop_npy_reader_read(struct drop_npy_reader *r, void *buf, size_t max)
{
	return reader_read(r, buf, NULL, NULL, max);
}

long drop_npy_reader_read_alloc(struct drop_npy_reader *r, void **buf, size_t *cap, size_t max)
{
	char *b = *buf;
	long got = reader_read(r, NULL, &b, cap, max);
	*buf = b;
	return got;
}

long drop_npy_reader_skip(struct drop_npy_reader *r, size_t max)
{
	return reader_read(r, NULL, NULL, NULL, max);
}

void drop_npy_reader_close(struct drop_npy_reader *r)
{
	if (r->owns && r->f)
		fclose(r->f);
	free(r->name);
	memset(r, 0, sizeof *r);
}

int drop_npy_load(const char *path, struct drop_npy_array *a)
{
	struct drop_npy_reader r;
	memset(a, 0, sizeof *a);
	if (drop_npy_reader_open(&r, path))
		return -1;
	/* Every document, the buffer growing with the bytes read (not with what the headers
	 * declare); the first header gives the dtype. */
	size_t cap = 0;
	long n = drop_npy_reader_read_alloc(&r, &a->data, &cap, LONG_MAX);
	if (n >= 0 && !r.eof)
		n = drop_fail("more than %ld items", LONG_MAX);
	if (n < 0) {
		drop_npy_reader_close(&r);
		drop_npy_array_free(a);
		return -1;
	}
	if (!a->data)
		a->data = drop_malloc(1);
	a->h = r.h;
	drop_npy_header_set_len(&a->h, (size_t)n);
	drop_npy_reader_close(&r);
	return 0;
}

int drop_npy_load_f32(const char *path, struct drop_npy_array *a)
{
	if (drop_npy_load(path, a))
		return -1;
	if (a->h.nfields || !drop_npy_type_is_numeric(a->h.base.type)) {
		char d[256];
		drop_npy_header_describe(&a->h, d, sizeof d);
		drop_npy_array_free(a);
		return drop_fail("expected a numeric array, got %s", d);
	}
	if (a->h.base.type != NPY_F4) {
		size_t bytes;
		if (drop_mul_size(a->h.count, sizeof(float), &bytes)) {
			drop_npy_array_free(a);
			return -1;
		}
		float *out = drop_malloc(bytes);
		struct drop_npy_field f = a->h.base;
		f.count = a->h.count;
		drop_npy_get_f32(&f, a->data, out);
		free(a->data);
		a->data = out;
		a->h.base = drop_npy_field_make("", NPY_F4, 0, 0, NULL);
		a->h.itemsize = 4;
	}
	return 0;
}

void drop_npy_array_free(struct drop_npy_array *a)
{
	free(a->data);
	a->data = NULL;
}

/* ---- Field access --------------------------------------------------------------------------- */

/* IEEE 754 binary16 to binary32 (subnormals, infinities and NaN included). */
static float half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
	uint32_t bits;
	if (exp == 0x1f) {
		bits = sign | 0x7f800000u | (man << 13);
	} else if (exp == 0) {
		float v = ldexpf((float)man, -24);
		return sign ? -v : v;
	} else {
		bits = sign | ((exp + 112) << 23) | (man << 13);
	}
	float v;
	memcpy(&v, &bits, sizeof v);
	return v;
}

/* Element i of a numeric field as double; every supported integer fits (u8/i8 lose bits
 * past 2^53, which no drop field needs). */
static double get_scalar(enum drop_npy_type t, const unsigned char *p)
{
	union {
		int8_t i1; int16_t i2; int32_t i4; int64_t i8;
		uint8_t u1; uint16_t u2; uint32_t u4; uint64_t u8;
		float f4; double f8;
	} v;
	memcpy(&v, p, drop_npy_type_size(t));
	switch (t) {
	case NPY_B1: return v.u1 != 0;
	case NPY_I1: return v.i1;
	case NPY_I2: return v.i2;
	case NPY_I4: return v.i4;
	case NPY_I8: return (double)v.i8;
	case NPY_U1: return v.u1;
	case NPY_U2: return v.u2;
	case NPY_U4: return v.u4;
	case NPY_U8: return (double)v.u8;
	case NPY_F2: return half_to_float(v.u2);
	case NPY_F4: return v.f4;
	case NPY_F8: return v.f8;
	case NPY_S: break;
	}
	return 0;
}

void drop_npy_get_f32(const struct drop_npy_field *f, const void *rec, float *dst)
{
	const unsigned char *p = (const unsigned char *)rec + f->offset;
	if (f->type == NPY_F4) {
		memcpy(dst, p, f->count * sizeof *dst);
		return;
	}
	for (size_t i = 0; i < f->count; i++)
		dst[i] = (float)get_scalar(f->type, p + i * f->size);
}

void drop_npy_get_f64(const struct drop_npy_field *f, const void *rec, double *dst)
{
	const unsigned char *p = (const unsigned char *)rec + f->offset;
	for (size_t i = 0; i < f->count; i++)
		dst[i] = get_scalar(f->type, p + i * f->size);
}

int64_t drop_npy_get_int(const struct drop_npy_field *f, const void *rec)
{
	const unsigned char *p = (const unsigned char *)rec + f->offset;
	if (f->count == 0) /* a sub-array of shape (0, ...): no first scalar to read */
		return 0;
	if (f->type == NPY_I8) {
		int64_t v;
		memcpy(&v, p, sizeof v);
		return v;
	}
	/* Converting NaN, or a double beyond int64, to int64 is undefined behaviour. */
	double v = get_scalar(f->type, p);
	if (isnan(v) || v < -0x1p63)
		return INT64_MIN;
	if (v >= 0x1p63)
		return INT64_MAX;
	return (int64_t)v;
}

size_t drop_npy_get_bytes(const struct drop_npy_field *f, const void *rec, char *dst, size_t cap)
{
	const char *p = (const char *)rec + f->offset;
	size_t n = 0;
	while (f->count && n < f->size && n + 1 < cap && p[n]) /* count 0: no string there */
		n++;
	memcpy(dst, p, n);
	dst[n] = 0;
	return n;
}

long drop_npy_find_nonfinite(const struct drop_npy_field *f, const void *recs, size_t itemsize, size_t n)
{
	if (f->type != NPY_F2 && f->type != NPY_F4 && f->type != NPY_F8)
		return -1;
	for (size_t r = 0; r < n; r++) {
		const unsigned char *p = (const unsigned char *)recs + r * itemsize + f->offset;
		for (size_t i = 0; i < f->count; i++)
			if (!isfinite(get_scalar(f->type, p + i * f->size)))
				return (long)r;
	}
	return -1;
}

/* ---- Stream writer -------------------------------------------------------------------------- */

int drop_npy_writer_open(struct drop_npy_writer *w, FILE *f, const struct drop_npy_header *h)
{
	struct stat st;
	memset(w, 0, sizeof *w);
	w->f = f;
	w->h = *h;
	w->seekable = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && ftell(f) >= 0;
	if (!w->seekable)
		return 0;
	/* Reserve room for the largest count the header can ever need (20 digits). */
	w->header_pos = ftell(f);
	drop_npy_header_set_len(&w->h, SIZE_MAX);
	long before = ftell(f);
	if (drop_npy_write_header(f, &w->h, 0))
		return -1;
	w->header_len = (size_t)(ftell(f) - before);
	drop_npy_header_set_len(&w->h, 0);
	return 0;
}

int drop_npy_writer_write(struct drop_npy_writer *w, const void *items, size_t n)
{
	size_t nbytes;
	if (drop_mul_size(n, drop_npy_header_rowsize(&w->h), &nbytes))
		return -1;
	if (!w->seekable) {
		if (n == 0)
			return 0;
		drop_npy_header_set_len(&w->h, n);
		if (drop_npy_write_header(w->f, &w->h, 0))
			return -1;
		w->any_document = true;
	}
	if (nbytes && fwrite(items, 1, nbytes, w->f) != nbytes)
		return drop_fail("write error: %s", strerror(errno));
	w->written += n;
	return 0;
}

int drop_npy_writer_close(struct drop_npy_writer *w)
{
	if (!w->seekable) {
		if (w->any_document)
			return 0;
		drop_npy_header_set_len(&w->h, 0);
		return drop_npy_write_header(w->f, &w->h, 0);
	}
	long end = ftell(w->f);
	drop_npy_header_set_len(&w->h, w->written);
	if (fseek(w->f, w->header_pos, SEEK_SET) || drop_npy_write_header(w->f, &w->h, w->header_len) ||
	    fseek(w->f, end, SEEK_SET))
		return drop_fail("cannot rewrite the header: %s", strerror(errno));
	return 0;
}

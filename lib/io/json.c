/*
 * json.c - strict JSON reading into a tree, and writing (see json.h).
 *
 * The reader is a recursive-descent parser over a byte span with an explicit depth limit,
 * so hostile input (a safetensors header is read before anything else is known about the
 * file) can neither overflow the stack nor read past the span. Line and column are kept
 * while skipping whitespace: strings cannot hold raw newlines, so that is the only place
 * where lines change.
 */
#include "json.h"
#include "../core/drop.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 ------------------------------------------------------------------------------ */

/* Length of the well-formed UTF-8 sequence at s (at most `avail` bytes), or 0 if it is not
 * one: overlong forms, surrogates and code points past U+10FFFF are rejected (RFC 3629). */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;  /* allowed range of the second byte */
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

static size_t utf8_put(char *dst, uint32_t cp)
{
	if (cp < 0x80) {
		dst[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		dst[0] = (char)(0xc0 | cp >> 6);
		dst[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		dst[0] = (char)(0xe0 | cp >> 12);
		dst[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		dst[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	dst[0] = (char)(0xf0 | cp >> 18);
	dst[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	dst[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	dst[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* ---- Reading ---------------------------------------------------------------------------- */

struct parser {
	const unsigned char *s;
	size_t len, pos;
	size_t line, line_start;   /* current line (1-based) and the offset where it starts */
	int depth;
};

/* Fail with "line L, column C: ..." for the byte at `pos` (on the current line). */
__attribute__((format(printf, 3, 4)))
static int fail_at(const struct parser *p, size_t pos, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return drop_fail("line %zu, column %zu: %s", p->line, pos - p->line_start + 1, what);
}

/* Describe the byte at pos for messages: "'x'", "byte 0x00" or "end of input". */
static const char *found(const struct parser *p, size_t pos, char *buf, size_t cap)
{
	if (pos >= p->len)
		return "end of input";
	unsigned char c = p->s[pos];
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, cap, "'%c'", c);
	else
		snprintf(buf, cap, "byte 0x%02x", c);
	return buf;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		unsigned char c = p->s[p->pos];
		if (c == '\n') {
			p->line++;
			p->line_start = p->pos + 1;
		} else if (c != ' ' && c != '\t' && c != '\r')
			return;
		p->pos++;
	}
}

static int parse_value(struct parser *p, struct drop_json *v);

static int hex4(const unsigned char *s, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0'
		      : c >= 'a' && c <= 'f' ? c - 'a' + 10
		      : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return 0;
}

/* A \uXXXX escape at s[pos] (pointing at the backslash), with a following low surrogate
 * when the first is a high one. Sets *cp and *used (6 or 12 bytes). */
static int parse_u_escape(const struct parser *p, size_t pos, uint32_t *cp, size_t *used)
{
	uint32_t hi, lo;
	if (pos + 6 > p->len || hex4(p->s + pos + 2, &hi))
		return fail_at(p, pos, "invalid \\u escape (4 hex digits expected)");
	*used = 6;
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return fail_at(p, pos, "lone low surrogate \\u%04" PRIx32 " in a string", hi);
	if (hi >= 0xd800 && hi <= 0xdbff) {
		if (pos + 12 > p->len || p->s[pos + 6] != '\\' || p->s[pos + 7] != 'u' ||
		    hex4(p->s + pos + 8, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return fail_at(p, pos, "lone high surrogate \\u%04" PRIx32 " in a string",
			               hi);
		*cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
		*used = 12;
		return 0;
	}
	*cp = hi;
	return 0;
}

/* A string at p->pos (the opening quote): validated and decoded into v. */
static int parse_string(struct parser *p, struct drop_json *v)
{
	size_t start = ++p->pos, end = start;
	/* First pass: find the closing quote so the decoded text can be allocated once. */
	for (;;) {
		if (end >= p->len)
			return fail_at(p, start - 1, "unterminated string");
		if (p->s[end] == '"')
			break;
		end += p->s[end] == '\\' ? 2 : 1;
	}
	char *out = drop_malloc(end - start + 1);
	size_t n = 0, i = start;
	while (i < end) {
		unsigned char c = p->s[i];
		if (c < 0x20) {
			free(out);
			return fail_at(p, i, "control character 0x%02x in a string (escape it)", c);
		}
		if (c == '\\') {
			unsigned char e = p->s[i + 1];
			static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
			const char *k = e ? strchr(from, e) : NULL;
			if (k) {
				out[n++] = to[k - from];
				i += 2;
			} else if (e == 'u') {
				uint32_t cp = 0;
				size_t used;
				if (parse_u_escape(p, i, &cp, &used)) {
					free(out);
					return -1;
				}
				n += utf8_put(out + n, cp);
				i += used;
			} else {
				char buf[16];
				free(out);
				return fail_at(p, i, "invalid escape: backslash followed by %s",
				               found(p, i + 1, buf, sizeof buf));
			}
			continue;
		}
		size_t k = utf8_seq(p->s + i, end - i);
		if (!k) {
			free(out);
			return fail_at(p, i, "invalid UTF-8 byte 0x%02x in a string", c);
		}
		memcpy(out + n, p->s + i, k);
		n += k;
		i += k;
	}
	out[n] = 0;
	v->type = JSON_STRING;
	v->str = out;
	v->len = n;
	p->pos = end + 1;
	return 0;
}

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* A number at p->pos: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_number(struct parser *p, struct drop_json *v)
{
	size_t i = p->pos;
	const unsigned char *s = p->s;
	char buf[16];
	if (i < p->len && s[i] == '-')
		i++;
	if (i >= p->len || !is_digit(s[i]))
		return fail_at(p, i, "digit expected in a number, found %s",
		               found(p, i, buf, sizeof buf));
	if (s[i] == '0' && i + 1 < p->len && is_digit(s[i + 1]))
		return fail_at(p, i, "leading zero in a number");
	while (i < p->len && is_digit(s[i]))
		i++;
	if (i < p->len && s[i] == '.') {
		i++;
		if (i >= p->len || !is_digit(s[i]))
			return fail_at(p, i, "digit expected after '.' in a number, found %s",
			               found(p, i, buf, sizeof buf));
		while (i < p->len && is_digit(s[i]))
			i++;
	}
	if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < p->len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= p->len || !is_digit(s[i]))
			return fail_at(p, i, "digit expected in an exponent, found %s",
			               found(p, i, buf, sizeof buf));
		while (i < p->len && is_digit(s[i]))
			i++;
	}
	size_t n = i - p->pos;
	v->type = JSON_NUMBER;
	v->str = drop_malloc(n + 1);
	memcpy(v->str, s + p->pos, n);
	v->str[n] = 0;
	v->len = n;
	v->num = strtod(v->str, NULL);
	p->pos = i;
	return 0;
}

static int parse_literal(struct parser *p, struct drop_json *v, const char *word, enum drop_json_type t)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n))
		return fail_at(p, p->pos, "invalid literal (expected %s)", word);
	v->type = t;
	p->pos += n;
	return 0;
}

/* Order of keys for the duplicate check: bytes, then length, then input position. */
static int key_cmp(const void *a, const void *b, void *ctx)
{
	const struct drop_json *keys = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct drop_json *x = &keys[i], *y = &keys[j];
	int c = memcmp(x->str, y->str, x->len < y->len ? x->len : y->len);
	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return i < j ? -1 : i > j;
}

static bool same_key(const struct drop_json *a, const struct drop_json *b)
{
	return a->len == b->len && !memcmp(a->str, b->str, a->len);
}

/* Reject duplicate member names, naming the earliest repetition in input order. Small
 * objects are checked pairwise, large ones (a safetensors header) through a sorted index. */
static int check_duplicates(const struct drop_json *keys, size_t n)
{
	size_t dup = n;   /* index of the earliest key equal to an earlier one */
	if (n <= 16) {
		for (size_t j = 1; j < n && dup == n; j++)
			for (size_t i = 0; i < j; i++)
				if (same_key(&keys[i], &keys[j])) {
					dup = j;
					break;
				}
	} else {
		size_t *idx = drop_malloc(n * sizeof *idx);
		for (size_t i = 0; i < n; i++)
			idx[i] = i;
		qsort_r(idx, n, sizeof *idx, key_cmp, (void *)keys);
		for (size_t i = 1; i < n; i++)
			if (same_key(&keys[idx[i - 1]], &keys[idx[i]]) && idx[i] < dup)
				dup = idx[i];
		free(idx);
	}
	if (dup == n)
		return 0;
	return drop_fail("line %zu, column %zu: duplicate key \"%s\"", keys[dup].line,
	                 keys[dup].column, keys[dup].str);
}

/* Grow a vector of values to hold one more. */
static void push(struct drop_json **items, size_t n, size_t *cap)
{
	if (n == *cap) {
		*cap = *cap ? 2 * *cap : 4;
		*items = drop_realloc(*items, *cap * sizeof **items);
	}
}

/* An array or object at p->pos (the opening bracket). */
static int parse_container(struct parser *p, struct drop_json *v, bool object)
{
	char close = object ? '}' : ']';
	char buf[16];
	if (++p->depth > JSON_MAXDEPTH)
		return fail_at(p, p->pos, "nesting deeper than %d arrays/objects", JSON_MAXDEPTH);
	v->type = object ? JSON_OBJECT : JSON_ARRAY;
	p->pos++;
	skip_ws(p);
	size_t cap = 0, kcap = 0;
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		p->depth--;
		return 0;
	}
	for (;;) {
		if (object) {
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return fail_at(p, p->pos, "expected a string key, found %s",
				               found(p, p->pos, buf, sizeof buf));
			push(&v->keys, v->len, &kcap);
			struct drop_json *k = &v->keys[v->len];
			memset(k, 0, sizeof *k);
			k->line = p->line;
			k->column = p->pos - p->line_start + 1;
			if (parse_string(p, k))
				return -1;
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':') {
				free(k->str);
				return fail_at(p, p->pos, "expected ':' after an object key, found %s",
				               found(p, p->pos, buf, sizeof buf));
			}
			p->pos++;
		}
		push(&v->items, v->len, &cap);
		if (parse_value(p, &v->items[v->len])) {
			drop_json_free(&v->items[v->len]);
			if (object)
				free(v->keys[v->len].str);
			return -1;
		}
		v->len++;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			break;
		}
		return fail_at(p, p->pos, "expected ',' or '%c' after %s, found %s", close,
		               object ? "an object member" : "an array item",
		               found(p, p->pos, buf, sizeof buf));
	}
	p->depth--;
	return object ? check_duplicates(v->keys, v->len) : 0;
}

static int parse_value(struct parser *p, struct drop_json *v)
{
	char buf[16];
	memset(v, 0, sizeof *v);
	skip_ws(p);
	v->line = p->line;
	v->column = p->pos - p->line_start + 1;
	if (p->pos >= p->len)
		return fail_at(p, p->pos, "expected a value, found end of input");
	switch (p->s[p->pos]) {
	case '{': return parse_container(p, v, true);
	case '[': return parse_container(p, v, false);
	case '"': return parse_string(p, v);
	case 't': return parse_literal(p, v, "true", JSON_TRUE);
	case 'f': return parse_literal(p, v, "false", JSON_FALSE);
	case 'n': return parse_literal(p, v, "null", JSON_NULL);
	default:
		if (p->s[p->pos] == '-' || is_digit(p->s[p->pos]))
			return parse_number(p, v);
		return fail_at(p, p->pos, "expected a value, found %s",
		               found(p, p->pos, buf, sizeof buf));
	}
}

int drop_json_parse(const char *text, size_t len, struct drop_json *out)
{
	struct parser p = { (const unsigned char *)text, len, 0, 1, 0, 0 };
	char buf[16];
	if (parse_value(&p, out) == 0) {
		skip_ws(&p);
		if (p.pos == p.len)
			return 0;
		fail_at(&p, p.pos, "unexpected %s after the JSON value",
		        found(&p, p.pos, buf, sizeof buf));
	}
	drop_json_free(out);
	return -1;
}

void drop_json_free(struct drop_json *v)
{
	if (v->type == JSON_ARRAY || v->type == JSON_OBJECT) {
		/* A container that failed half-way holds `len` complete items. */
		for (size_t i = 0; i < v->len; i++) {
			drop_json_free(&v->items[i]);
			if (v->keys)
				free(v->keys[i].str);
		}
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	memset(v, 0, sizeof *v);
}

const struct drop_json *drop_json_get(const struct drop_json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	size_t n = strlen(key);
	for (size_t i = 0; i < obj->len; i++)
		if (obj->keys[i].len == n && !memcmp(obj->keys[i].str, key, n))
			return &obj->items[i];
	return NULL;
}

/* The digits of an integer literal (after an optional '-'), or NULL if it is not one. */
static const char *int_digits(const struct drop_json *v, bool allow_minus, bool *neg)
{
	if (!v || v->type != JSON_NUMBER)
		return NULL;
	const char *s = v->str;
	*neg = *s == '-';
	if (*neg && !allow_minus)
		return NULL;
	s += *neg;
	if (s[strspn(s, "0123456789")])
		return NULL;
	return s;
}

int drop_json_u64(const struct drop_json *v, uint64_t *out)
{
	bool neg;
	const char *s = int_digits(v, false, &neg);
	if (!s)
		return -1;
	uint64_t x = 0;
	for (; *s; s++)
		if (__builtin_mul_overflow(x, 10, &x) || __builtin_add_overflow(x, *s - '0', &x))
			return -1;
	*out = x;
	return 0;
}

int drop_json_i64(const struct drop_json *v, int64_t *out)
{
	bool neg;
	const char *s = int_digits(v, true, &neg);
	if (!s)
		return -1;
	uint64_t x = 0;
	for (; *s; s++)
		if (__builtin_mul_overflow(x, 10, &x) || __builtin_add_overflow(x, *s - '0', &x))
			return -1;
	if (x > (uint64_t)INT64_MAX + neg)
		return -1;
	*out = neg ? (int64_t)(0 - x) : (int64_t)x;
	return 0;
}

const char *drop_json_type_name(enum drop_json_type t)
{
	static const char *names[] = { "null", "false", "true", "a number", "a string",
	                               "an array", "an object" };
	return names[t];
}

/* ---- Writing ---------------------------------------------------------------------------- */

void drop_json_writer_init(struct drop_json_writer *w)
{
	memset(w, 0, sizeof *w);
}

void drop_json_writer_free(struct drop_json_writer *w)
{
	free(w->data);
	drop_json_writer_init(w);
}

char *drop_json_writer_take(struct drop_json_writer *w, size_t *len)
{
	char *s = w->data ? w->data : drop_strdup("");
	if (len)
		*len = w->len;
	drop_json_writer_init(w);
	return s;
}

void drop_json_append(struct drop_json_writer *w, const char *s, size_t n)
{
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 64;
		while (cap < w->len + n + 1)
			cap *= 2;
		w->data = drop_realloc(w->data, cap);
		w->cap = cap;
	}
	memcpy(w->data + w->len, s, n);
	w->len += n;
	w->data[w->len] = 0;
}

static void misuse(const char *what)
{
	DROP_BUG("json writer misuse: %s", what);
}

/* Before any value: the comma between items; a value inside an object needs its key. */
static void before_value(struct drop_json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth == 0)
		return;
	if (w->in_object[w->depth - 1])
		misuse("value without a key inside an object");
	if (w->has_items[w->depth - 1])
		drop_json_append(w, ",", 1);
	w->has_items[w->depth - 1] = true;
}

static void escaped(struct drop_json_writer *w, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	drop_json_append(w, "\"", 1);
	size_t run = 0;   /* start of the pending stretch copied as is */
	for (size_t i = 0; i < n;) {
		unsigned char c = u[i];
		size_t k = c < 0x20 || c == '"' || c == '\\' ? 0 : utf8_seq(u + i, n - i);
		if (k) {
			i += k;
			continue;
		}
		drop_json_append(w, s + run, i - run);
		char esc[8];
		const char *e = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n"
		              : c == '\t' ? "\\t" : c == '\r' ? "\\r" : c == '\b' ? "\\b"
		              : c == '\f' ? "\\f" : NULL;
		if (!e && c < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			e = esc;
		} else if (!e)
			e = "\\ufffd";   /* not UTF-8: the replacement character */
		drop_json_append(w, e, strlen(e));
		run = ++i;
	}
	drop_json_append(w, s + run, n - run);
	drop_json_append(w, "\"", 1);
}

void drop_json_begin_object(struct drop_json_writer *w)
{
	before_value(w);
	if (w->depth == JSON_MAXDEPTH)
		misuse("nesting too deep");
	w->in_object[w->depth] = true;
	w->has_items[w->depth++] = false;
	drop_json_append(w, "{", 1);
}

void drop_json_begin_array(struct drop_json_writer *w)
{
	before_value(w);
	if (w->depth == JSON_MAXDEPTH)
		misuse("nesting too deep");
	w->in_object[w->depth] = false;
	w->has_items[w->depth++] = false;
	drop_json_append(w, "[", 1);
}

static void end(struct drop_json_writer *w, bool object)
{
	if (w->depth == 0 || w->in_object[w->depth - 1] != object || w->after_key)
		misuse("unbalanced end");
	w->depth--;
	drop_json_append(w, object ? "}" : "]", 1);
}

void drop_json_end_object(struct drop_json_writer *w) { end(w, true); }
void drop_json_end_array(struct drop_json_writer *w) { end(w, false); }

void drop_json_key(struct drop_json_writer *w, const char *key)
{
	if (w->depth == 0 || !w->in_object[w->depth - 1] || w->after_key)
		misuse("key outside an object");
	if (w->has_items[w->depth - 1])
		drop_json_append(w, ",", 1);
	w->has_items[w->depth - 1] = true;
	escaped(w, key, strlen(key));
	drop_json_append(w, ":", 1);
	w->after_key = true;
}

void drop_json_string_n(struct drop_json_writer *w, const char *s, size_t n)
{
	before_value(w);
	escaped(w, s, n);
}

void drop_json_string(struct drop_json_writer *w, const char *s) { drop_json_string_n(w, s, strlen(s)); }

void drop_json_raw(struct drop_json_writer *w, const char *text, size_t n)
{
	before_value(w);
	drop_json_append(w, text, n);
}

void drop_json_int(struct drop_json_writer *w, int64_t v)
{
	char buf[32];
	drop_json_raw(w, buf, (size_t)snprintf(buf, sizeof buf, "%" PRId64, v));
}

void drop_json_uint(struct drop_json_writer *w, uint64_t v)
{
	char buf[32];
	drop_json_raw(w, buf, (size_t)snprintf(buf, sizeof buf, "%" PRIu64, v));
}

void drop_json_double(struct drop_json_writer *w, double v)
{
	char buf[40];
	if (!isfinite(v)) {
		drop_json_null(w);
		return;
	}
	/* The fewest significant digits that read back to v (at most 17 are needed). */
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	drop_json_raw(w, buf, strlen(buf));
}

void drop_json_bool(struct drop_json_writer *w, bool v) { drop_json_raw(w, v ? "true" : "false", v ? 4 : 5); }
void drop_json_null(struct drop_json_writer *w) { drop_json_raw(w, "null", 4); }

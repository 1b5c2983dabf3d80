/*
 * json.h - a small strict JSON (RFC 8259) reader into a tree, and a writer.
 *
 * Enough for safetensors headers, checkpoint metadata (the model configuration) and the
 * JSON lines of logs. The reader accepts exactly RFC 8259 text and nothing else: no
 * comments, no trailing commas, no single quotes, no NaN/Infinity, no leading zeros, no
 * control characters or invalid UTF-8 in strings, no lone surrogates, no duplicate keys in
 * an object, at most JSON_MAXDEPTH nested arrays/objects. A rejected text gives one line
 * "line L, column C: what is wrong" (C counts bytes from 1). Numbers keep their literal
 * text next to their double value, so integers up to 2^64 - 1 read back exactly.
 *
 * The writer builds text in a growing buffer (the caller writes it out), inserts commas
 * itself, escapes strings (invalid UTF-8 becomes U+FFFD, so the output is always valid
 * JSON) and writes doubles in the shortest form that reads back to the same value.
 *
 * Not here: streaming parsers, pretty-printing, schemas, locales (strtod/snprintf assume
 * the "C" locale, which drop's tools never change).
 */
#ifndef DROP_JSON_H
#define DROP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAXDEPTH 64

enum drop_json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY,
                 JSON_OBJECT };

/* One value of a parsed document. The tree owns all its memory (drop_json_free). */
struct drop_json {
	enum drop_json_type type;
	size_t len;          /* STRING: bytes of str; ARRAY/OBJECT: number of items */
	char *str;           /* STRING: decoded UTF-8, NUL-terminated (may hold "\u0000");
	                        NUMBER: the literal as written ("-1.5e3") */
	double num;          /* NUMBER: its value (strtod) */
	struct drop_json *items;  /* ARRAY: the len values; OBJECT: the len member values */
	struct drop_json *keys;   /* OBJECT: the len member names (STRING values), in input order */
	size_t line, column; /* where the value starts in the text (1-based), for messages */
};

/* Parse `len` bytes of `text` (no NUL needed) as one JSON value, surrounded only by
 * whitespace. Returns 0 and fills *out, or -1 with drop_errmsg() "line L, column C: ..."
 * (*out is then empty and needs no drop_json_free). */
int drop_json_parse(const char *text, size_t len, struct drop_json *out);
/* Free a parsed tree (a zeroed struct drop_json is fine too). */
void drop_json_free(struct drop_json *v);

/* The value of member `key` of an object, or NULL (not an object, or no such key). */
const struct drop_json *drop_json_get(const struct drop_json *obj, const char *key);
/* A NUMBER written as a non-negative integer (no sign, fraction or exponent) that fits in
 * uint64: 0 and *out set, else -1 (no message: the caller says what was expected). */
int drop_json_u64(const struct drop_json *v, uint64_t *out);
/* A NUMBER written as an integer (optional '-', no fraction or exponent) in int64 range. */
int drop_json_i64(const struct drop_json *v, int64_t *out);
/* "null", "false", "true", "a number", "a string", "an array", "an object". */
const char *drop_json_type_name(enum drop_json_type t);

/* ---- Writing ------------------------------------------------------------------------- */

/* Text being built: data[0 .. len) (always NUL-terminated after len). Commas between items
 * and after keys are inserted by the calls; the caller only says what comes next. */
struct drop_json_writer {
	char *data;
	size_t len, cap;
	int depth;                        /* open arrays/objects */
	bool in_object[JSON_MAXDEPTH];    /* per open level: object (true) or array */
	bool has_items[JSON_MAXDEPTH];    /* per open level: a comma is needed before the next */
	bool after_key;                   /* a key was written; its value comes next */
};

void drop_json_writer_init(struct drop_json_writer *w);
/* Release the buffer (w is then empty again). */
void drop_json_writer_free(struct drop_json_writer *w);
/* Take the text (NUL-terminated, caller frees); w is empty afterwards. */
char *drop_json_writer_take(struct drop_json_writer *w, size_t *len);

/* Structure. Keys go only inside objects, values anywhere a value is due; nesting deeper
 * than JSON_MAXDEPTH or unbalanced calls are programming errors (abort). */
void drop_json_begin_object(struct drop_json_writer *w);
void drop_json_end_object(struct drop_json_writer *w);
void drop_json_begin_array(struct drop_json_writer *w);
void drop_json_end_array(struct drop_json_writer *w);
void drop_json_key(struct drop_json_writer *w, const char *key);
/* Values. */
void drop_json_string(struct drop_json_writer *w, const char *s);
void drop_json_string_n(struct drop_json_writer *w, const char *s, size_t n);
void drop_json_int(struct drop_json_writer *w, int64_t v);
void drop_json_uint(struct drop_json_writer *w, uint64_t v);
/* Shortest round-trip form ("0.1", "1e-07", "3"); NaN and infinities become null. */
void drop_json_double(struct drop_json_writer *w, double v);
void drop_json_bool(struct drop_json_writer *w, bool v);
void drop_json_null(struct drop_json_writer *w);
/* A value given as JSON text that the caller knows is valid (e.g. a stored config). */
void drop_json_raw(struct drop_json_writer *w, const char *text, size_t n);
/* Append `n` bytes verbatim with no comma logic (padding, newlines between documents). */
void drop_json_append(struct drop_json_writer *w, const char *s, size_t n);

#endif

/*
 * tests: lib/io/json.c - parsing every kind of value (escapes, surrogate pairs, exact 64-bit
 * integers, positions), the exact message for each kind of malformed input, the depth and
 * duplicate-key limits, and the writer (commas, escaping, shortest doubles, round trip).
 * also requires: nothing (the expected values are written out here, from RFC 8259)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/core/drop.h"
#include "../../lib/io/json.h"
#include "tap.h"

static int parse(const char *text, struct drop_json *v)
{
	return drop_json_parse(text, strlen(text), v);
}

static void test_values(void)
{
	const char *text = " {\"a\": [1, -2.5e3, 0, true, false, null],\n"
	                   "  \"s\": \"q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\",\n"
	                   "  \"nul\": \"x\\u0000y\", \"e\": {}, \"z\": [], \"\": \"empty key\"}\n ";
	struct drop_json v;
	int rc = parse(text, &v);
	CHECK(rc == 0, "a document with every kind of value parses (%s)", rc ? drop_errmsg() : "ok");
	if (rc)
		return;
	CHECK(v.type == JSON_OBJECT && v.len == 6, "top level: object of 6 members");
	CHECK(!strcmp(v.keys[0].str, "a") && !strcmp(v.keys[5].str, ""), "keys in input order");
	const struct drop_json *a = drop_json_get(&v, "a");
	CHECK(a && a->type == JSON_ARRAY && a->len == 6, "\"a\" is an array of 6");
	if (a && a->len == 6) {
		CHECK(a->items[0].type == JSON_NUMBER && a->items[0].num == 1 &&
		      !strcmp(a->items[0].str, "1"), "1: number, literal kept");
		CHECK(a->items[1].num == -2500 && !strcmp(a->items[1].str, "-2.5e3"),
		      "-2.5e3 = -2500, literal kept");
		CHECK(a->items[3].type == JSON_TRUE && a->items[4].type == JSON_FALSE &&
		      a->items[5].type == JSON_NULL, "true, false, null");
		CHECK(a->items[1].line == 1 && a->items[1].column == 12, "position of -2.5e3: "
		      "line %zu, column %zu", a->items[1].line, a->items[1].column);
	}
	const struct drop_json *s = drop_json_get(&v, "s");
	const char *want = "q\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80";
	CHECK(s && s->type == JSON_STRING && s->len == strlen(want) && !strcmp(s->str, want),
	      "every escape decodes, \\u00e9 to UTF-8, a surrogate pair to U+1F600");
	CHECK(s && s->line == 2 && s->column == 8, "the value on line 2 starts at column 8");
	const struct drop_json *nul = drop_json_get(&v, "nul");
	CHECK(nul && nul->len == 3 && !memcmp(nul->str, "x\0y", 3), "\\u0000 kept, length 3");
	CHECK(drop_json_get(&v, "e")->type == JSON_OBJECT && drop_json_get(&v, "e")->len == 0 &&
	      drop_json_get(&v, "z")->type == JSON_ARRAY && drop_json_get(&v, "z")->len == 0,
	      "empty object and array");
	CHECK(drop_json_get(&v, "missing") == NULL && drop_json_get(a, "a") == NULL,
	      "json_get: missing key and non-object give NULL");
	drop_json_free(&v);

	/* Raw UTF-8 is kept as it is. */
	rc = parse("\"\xe2\x82\xac \xf4\x8f\xbf\xbf\"", &v);
	CHECK(rc == 0 && v.len == 8, "raw UTF-8 (U+20AC, U+10FFFF) accepted");
	drop_json_free(&v);
	rc = parse("  42  ", &v);
	CHECK(rc == 0 && v.type == JSON_NUMBER && v.num == 42, "a bare number is a document");
	drop_json_free(&v);
}

static void test_integers(void)
{
	static const struct { const char *text; int u_ok; uint64_t u; int i_ok; int64_t i; } cases[] = {
		{ "0", 1, 0, 1, 0 },
		{ "-0", 0, 0, 1, 0 },
		{ "18446744073709551615", 1, UINT64_MAX, 0, 0 },
		{ "18446744073709551616", 0, 0, 0, 0 },
		{ "9223372036854775807", 1, INT64_MAX, 1, INT64_MAX },
		{ "9223372036854775808", 1, 9223372036854775808u, 0, 0 },
		{ "-9223372036854775808", 0, 0, 1, INT64_MIN },
		{ "-9223372036854775809", 0, 0, 0, 0 },
		{ "1.0", 0, 0, 0, 0 },
		{ "1e3", 0, 0, 0, 0 },
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct drop_json v;
		uint64_t u = 7;
		int64_t i = 7;
		if (parse(cases[k].text, &v)) {
			CHECK(0, "%s parses (%s)", cases[k].text, drop_errmsg());
			continue;
		}
		int ur = drop_json_u64(&v, &u), ir = drop_json_i64(&v, &i);
		CHECK((ur == 0) == cases[k].u_ok && (!cases[k].u_ok || u == cases[k].u),
		      "json_u64(%s) %s", cases[k].text, cases[k].u_ok ? "exact" : "refused");
		CHECK((ir == 0) == cases[k].i_ok && (!cases[k].i_ok || i == cases[k].i),
		      "json_i64(%s) %s", cases[k].text, cases[k].i_ok ? "exact" : "refused");
		drop_json_free(&v);
	}
	struct drop_json v;
	uint64_t u;
	parse("\"1\"", &v);
	CHECK(drop_json_u64(&v, &u) == -1 && drop_json_u64(NULL, &u) == -1, "json_u64 of a string, NULL: -1");
	drop_json_free(&v);
}

static void test_errors(void)
{
	static const struct { const char *text; const char *msg; } cases[] = {
		{ "", "line 1, column 1: expected a value, found end of input" },
		{ "   \n  ", "line 2, column 3: expected a value, found end of input" },
		{ "{\"a\" 1}", "line 1, column 6: expected ':' after an object key, found '1'" },
		{ "{\"a\": 1,}", "line 1, column 9: expected a string key, found '}'" },
		{ "{'a': 1}", "line 1, column 2: expected a string key, found '''" },
		{ "[1, 2,]", "line 1, column 7: expected a value, found ']'" },
		{ "[1 2]", "line 1, column 4: expected ',' or ']' after an array item, found '2'" },
		{ "{\"a\": 1 \"b\": 2}",
		  "line 1, column 9: expected ',' or '}' after an object member, found '\"'" },
		{ "[1,\n 2", "line 2, column 3: expected ',' or ']' after an array item, "
		  "found end of input" },
		{ "{} x", "line 1, column 4: unexpected 'x' after the JSON value" },
		{ "{}\n{}", "line 2, column 1: unexpected '{' after the JSON value" },
		{ "tru", "line 1, column 1: invalid literal (expected true)" },
		{ "nul", "line 1, column 1: invalid literal (expected null)" },
		{ "NaN", "line 1, column 1: expected a value, found 'N'" },
		{ "-Infinity", "line 1, column 2: digit expected in a number, found 'I'" },
		{ "012", "line 1, column 1: leading zero in a number" },
		{ "-012", "line 1, column 2: leading zero in a number" },
		{ "1.", "line 1, column 3: digit expected after '.' in a number, found end of input" },
		{ ".5", "line 1, column 1: expected a value, found '.'" },
		{ "+1", "line 1, column 1: expected a value, found '+'" },
		{ "1e", "line 1, column 3: digit expected in an exponent, found end of input" },
		{ "1e+x", "line 1, column 4: digit expected in an exponent, found 'x'" },
		{ "\"abc", "line 1, column 1: unterminated string" },
		{ "\"a\\\"", "line 1, column 1: unterminated string" },
		{ "\"a\tb\"", "line 1, column 3: control character 0x09 in a string (escape it)" },
		{ "\"a\\qb\"", "line 1, column 3: invalid escape: backslash followed by 'q'" },
		{ "\"\\u12\"", "line 1, column 2: invalid \\u escape (4 hex digits expected)" },
		{ "\"\\u12g4\"", "line 1, column 2: invalid \\u escape (4 hex digits expected)" },
		{ "\"\\udc00\"", "line 1, column 2: lone low surrogate \\udc00 in a string" },
		{ "\"\\ud800x\"", "line 1, column 2: lone high surrogate \\ud800 in a string" },
		{ "\"\\ud800\\u0041\"", "line 1, column 2: lone high surrogate \\ud800 in a string" },
		{ "\"\xff\"", "line 1, column 2: invalid UTF-8 byte 0xff in a string" },
		{ "\"\xc0\xaf\"", "line 1, column 2: invalid UTF-8 byte 0xc0 in a string" },
		{ "\"\xed\xa0\x80\"", "line 1, column 2: invalid UTF-8 byte 0xed in a string" },
		{ "\"\xe2\x82\"", "line 1, column 2: invalid UTF-8 byte 0xe2 in a string" },
		{ "\"\xf4\x90\x80\x80\"", "line 1, column 2: invalid UTF-8 byte 0xf4 in a string" },
		{ "[\x01]", "line 1, column 2: expected a value, found byte 0x01" },
		{ "{\"a\": 1, \"b\": 2,\n \"a\": 3}", "line 2, column 2: duplicate key \"a\"" },
		{ "{\"a\": [}", "line 1, column 8: expected a value, found '}'" },
		{ "{\"a\": {\"b\": [1, {\"c\"}]}}", "line 1, column 21: expected ':' after an object "
		  "key, found '}'" },
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct drop_json v;
		int rc = parse(cases[k].text, &v);
		CHECK(rc == -1 && !strcmp(drop_errmsg(), cases[k].msg), "error %zu: %s", k,
		      cases[k].msg);
		if (rc == 0)
			drop_json_free(&v);
		else if (strcmp(drop_errmsg(), cases[k].msg))
			printf("#   got: %s\n", drop_errmsg());
	}
	/* A NUL byte inside the span is just a bad byte, and the span's end is respected. */
	struct drop_json v;
	CHECK(drop_json_parse("[1]\0", 4, &v) == -1 &&
	      !strcmp(drop_errmsg(), "line 1, column 4: unexpected byte 0x00 after the JSON value"),
	      "a NUL byte inside the span: %s", drop_errmsg());
	CHECK(drop_json_parse("[1] trailing", 3, &v) == 0 && v.len == 1,
	      "only `len` bytes are read");
	drop_json_free(&v);
}

static void test_limits(void)
{
	char deep[2 * JSON_MAXDEPTH + 8];
	struct drop_json v;
	memset(deep, '[', JSON_MAXDEPTH);
	memset(deep + JSON_MAXDEPTH, ']', JSON_MAXDEPTH);
	CHECK(drop_json_parse(deep, 2 * JSON_MAXDEPTH, &v) == 0, "%d nested arrays parse",
	      JSON_MAXDEPTH);
	drop_json_free(&v);
	memset(deep, '[', JSON_MAXDEPTH + 1);
	memset(deep + JSON_MAXDEPTH + 1, ']', JSON_MAXDEPTH + 1);
	CHECK(drop_json_parse(deep, 2 * JSON_MAXDEPTH + 2, &v) == -1 &&
	      !strcmp(drop_errmsg(), "line 1, column 65: nesting deeper than 64 arrays/objects"),
	      "%d nested arrays: %s", JSON_MAXDEPTH + 1, drop_errmsg());

	/* A large object (sorted duplicate check): the earliest repetition is named. */
	struct drop_json_writer w;
	drop_json_writer_init(&w);
	drop_json_begin_object(&w);
	for (int i = 0; i < 200; i++) {
		char key[16];
		snprintf(key, sizeof key, "k%d", i == 150 ? 7 : i == 120 ? 42 : i);
		drop_json_key(&w, key);
		drop_json_int(&w, i);
	}
	drop_json_end_object(&w);
	int rc = drop_json_parse(w.data, w.len, &v);
	const char *col = strstr(w.data, "\"k42\":120");
	char want[64];
	snprintf(want, sizeof want, "line 1, column %zu: duplicate key \"k42\"",
	         (size_t)(col - w.data) + 1);
	CHECK(rc == -1 && !strcmp(drop_errmsg(), want), "200 keys, two repeated: %s",
	      drop_errmsg());
	drop_json_writer_free(&w);

	drop_json_writer_init(&w);
	drop_json_begin_object(&w);
	for (int i = 0; i < 300; i++) {
		char key[16];
		snprintf(key, sizeof key, "k%d", i);
		drop_json_key(&w, key);
		drop_json_int(&w, i);
	}
	drop_json_end_object(&w);
	rc = drop_json_parse(w.data, w.len, &v);
	CHECK(rc == 0 && v.len == 300 && drop_json_get(&v, "k299")->num == 299,
	      "300 distinct keys parse");
	drop_json_free(&v);
	drop_json_writer_free(&w);
}

static void test_writer(void)
{
	struct drop_json_writer w;
	drop_json_writer_init(&w);
	drop_json_begin_object(&w);
	drop_json_key(&w, "s");
	drop_json_string(&w, "q\"\\/\n\t\x01\x7f\xc3\xa9");
	drop_json_key(&w, "bad");
	drop_json_string(&w, "a\xff" "b\xc3");
	drop_json_key(&w, "n");
	drop_json_begin_array(&w);
	drop_json_int(&w, INT64_MIN);
	drop_json_uint(&w, UINT64_MAX);
	drop_json_double(&w, 0.1);
	drop_json_double(&w, 1e-7);
	drop_json_double(&w, 3.0);
	drop_json_double(&w, 1.0 / 3);
	drop_json_double(&w, -0.0);
	drop_json_double(&w, NAN);
	drop_json_double(&w, INFINITY);
	drop_json_end_array(&w);
	drop_json_key(&w, "o");
	drop_json_begin_object(&w);
	drop_json_end_object(&w);
	drop_json_key(&w, "raw");
	drop_json_raw(&w, "{\"x\":[1]}", 9);
	drop_json_key(&w, "b");
	drop_json_begin_array(&w);
	drop_json_bool(&w, true);
	drop_json_bool(&w, false);
	drop_json_null(&w);
	drop_json_begin_array(&w);
	drop_json_end_array(&w);
	drop_json_end_array(&w);
	drop_json_end_object(&w);
	const char *want = "{\"s\":\"q\\\"\\\\/\\n\\t\\u0001\x7f\xc3\xa9\",\"bad\":\"a\\ufffdb\\ufffd\","
	                   "\"n\":[-9223372036854775808,18446744073709551615,0.1,1e-07,3,"
	                   "0.3333333333333333,-0,null,null],\"o\":{},\"raw\":{\"x\":[1]},"
	                   "\"b\":[true,false,null,[]]}";
	CHECK(!strcmp(w.data, want), "writer output exact");
	if (strcmp(w.data, want))
		printf("#   got: %s\n", w.data);

	/* What it writes reads back to the same values. */
	struct drop_json v;
	int rc = drop_json_parse(w.data, w.len, &v);
	CHECK(rc == 0, "writer output parses (%s)", rc ? drop_errmsg() : "ok");
	if (rc == 0) {
		const struct drop_json *n = drop_json_get(&v, "n");
		int64_t i;
		uint64_t u;
		CHECK(drop_json_i64(&n->items[0], &i) == 0 && i == INT64_MIN &&
		      drop_json_u64(&n->items[1], &u) == 0 && u == UINT64_MAX, "64-bit integers round trip");
		CHECK(n->items[2].num == 0.1 && n->items[3].num == 1e-7 &&
		      n->items[5].num == 1.0 / 3, "shortest doubles read back exactly");
		CHECK(!strcmp(drop_json_get(&v, "s")->str, "q\"\\/\n\t\x01\x7f\xc3\xa9"),
		      "escaped string reads back");
		drop_json_free(&v);
	}
	size_t len;
	char *text = drop_json_writer_take(&w, &len);
	CHECK(len == strlen(want) && w.data == NULL && w.len == 0, "take: text out, writer empty");
	free(text);

	/* Doubles: every float32 value of a sweep reads back exactly. */
	int bad = 0;
	for (int k = -300; k <= 300; k += 7) {
		double d = (double)(float)(1.2345678 * pow(10, k / 10.0));
		drop_json_writer_init(&w);
		drop_json_double(&w, d);
		bad += strtod(w.data, NULL) != d;
		drop_json_writer_free(&w);
	}
	CHECK(bad == 0, "double sweep round-trips (%d bad)", bad);
}

int main(void)
{
	test_values();
	test_integers();
	test_errors();
	test_limits();
	test_writer();
	return tap_done();
}

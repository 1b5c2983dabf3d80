/*
 * fuzz_json - lib/io/json.c: the strict parser (safetensors headers, checkpoint
 * metadata), the accessors, and a round trip: a parsed tree written back with the writer
 * must parse again to the same shape.
 */
#include "fuzz.h"
#include "../../lib/io/json.h"

#include <stdbool.h>

/* Write v with w; false when a key holds a NUL (the writer takes C strings). */
static bool write_value(struct drop_json_writer *w, const struct drop_json *v)
{
	switch (v->type) {
	case JSON_NULL: drop_json_null(w); return true;
	case JSON_FALSE: drop_json_bool(w, false); return true;
	case JSON_TRUE: drop_json_bool(w, true); return true;
	case JSON_NUMBER: {
		uint64_t u;
		int64_t i;
		(void)drop_json_u64(v, &u);
		(void)drop_json_i64(v, &i);
		drop_json_raw(w, v->str, strlen(v->str));
		return true;
	}
	case JSON_STRING: drop_json_string_n(w, v->str, v->len); return true;
	case JSON_ARRAY:
		drop_json_begin_array(w);
		for (size_t i = 0; i < v->len; i++)
			if (!write_value(w, &v->items[i]))
				return false;
		drop_json_end_array(w);
		return true;
	case JSON_OBJECT:
		drop_json_begin_object(w);
		for (size_t i = 0; i < v->len; i++) {
			if (strlen(v->keys[i].str) != v->keys[i].len)
				return false;
			FUZZ_ASSERT(drop_json_get(v, v->keys[i].str) != NULL);
			drop_json_key(w, v->keys[i].str);
			if (!write_value(w, &v->items[i]))
				return false;
		}
		drop_json_end_object(w);
		return true;
	}
	return false;
}

/* Same types and lengths all the way down. */
static bool same_shape(const struct drop_json *a, const struct drop_json *b)
{
	if (a->type != b->type || a->len != b->len)
		return false;
	if (a->type == JSON_STRING && memcmp(a->str, b->str, a->len))
		return false;
	for (size_t i = 0; (a->type == JSON_ARRAY || a->type == JSON_OBJECT) && i < a->len; i++)
		if (!same_shape(&a->items[i], &b->items[i]))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drop_json v;
	if (drop_json_parse((const char *)data, size, &v))
		return 0;
	struct drop_json_writer w;
	drop_json_writer_init(&w);
	if (write_value(&w, &v)) {
		size_t n;
		char *text = drop_json_writer_take(&w, &n);
		struct drop_json back;
		int rc = drop_json_parse(text, n, &back);
		if (rc)
			fprintf(stderr, "fuzz: round trip: %s\n%.*s\n", drop_errmsg(), (int)n, text);
		FUZZ_ASSERT(rc == 0);
		FUZZ_ASSERT(same_shape(&v, &back));
		drop_json_free(&back);
		free(text);
	}
	drop_json_writer_free(&w);
	drop_json_free(&v);
	return 0;
}

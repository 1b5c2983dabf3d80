/*
 * embedding.h - the embedding stream (man/drop-formats.5): one record per image,
 *
 *   path 'S' (bytes), pid i4 (-1 = unknown), camid i4 (-1 = unknown),
 *   global f4 [D], fg f4 [D], parts f4 [K, D], vis f4 [K] (max part probability),
 *
 * written by drop-embed and read by drop-match. K and D come from the records. Readers
 * accept any integer type for pid/camid and f2/f4/f8 for the vectors (converted to
 * float32), and only require the fields the caller asks for (a gallery matched with
 * --use F needs no 'parts'). Non-finite values are an error naming the record.
 *
 * Here: the record layout, a buffered writer, a reader that appends records to an
 * in-memory drop_embedding_set (the whole gallery, or one block of queries at a time).
 * Not here: normalisation and distances (match.h).
 */
#ifndef DROP_EMBEDDING_H
#define DROP_EMBEDDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../io/npy.h"

/* Which embeddings a reader extracts (bits). */
enum {
	EMB_GLOBAL = 1, /* 'global' */
	EMB_FG = 2,     /* 'fg' */
	EMB_PARTS = 4,  /* 'parts' and 'vis' */
};

/* Vector slots of an drop_embedding_set: vec[EMB_VEC_GLOBAL], vec[EMB_VEC_FG], then the K parts
 * at vec[EMB_VEC_PART + k]. */
enum { EMB_VEC_GLOBAL = 0, EMB_VEC_FG = 1, EMB_VEC_PART = 2 };

/* Embeddings in memory, one contiguous float matrix per vector slot. */
struct drop_embedding_set {
	size_t n, cap;       /* records held, records there is room for */
	size_t K, D;         /* parts and dimension (K = 0 when parts were not read) */
	unsigned kinds;      /* EMB_* bits: the embeddings read */
	size_t nvec;         /* 2 + K */
	char **path;         /* (n,) */
	int32_t *pid;        /* (n,) */
	int32_t *camid;      /* (n,) */
	float **vec;         /* (nvec,) each (n, D), or NULL for a slot not read */
	float *vis;          /* (n, K), or NULL without EMB_PARTS */
};

/* Forget the records of s (n = 0) but keep its buffers for the next block. */
void drop_embedding_set_clear(struct drop_embedding_set *s);
void drop_embedding_set_free(struct drop_embedding_set *s);
/* A view of records [i0, i0 + n) of s in v: v shares s's records and buffers (only its
 * array of vector pointers is its own); release it with drop_embedding_view_free, never
 * with drop_embedding_set_free or _clear. */
void drop_embedding_view(struct drop_embedding_set *v, const struct drop_embedding_set *s,
                         size_t i0, size_t n);
void drop_embedding_view_free(struct drop_embedding_set *v);

/* ---- Reading ------------------------------------------------------------------------------ */

struct drop_embedding_reader {
	struct drop_npy_reader r;
	unsigned kinds;                   /* EMB_* requested */
	size_t K, D;                      /* from the header (K = 0 without EMB_PARTS) */
	struct drop_npy_field path, pid, camid, global, fg, parts, vis; /* copies of r.h's */
	char *buf;                        /* raw records, grown as they are read */
	size_t cap;                       /* bytes of buf */
	size_t nread;                     /* records read so far, for messages */
};

/* Open an embedding stream ("-" = stdin) and check its layout: a record array with the
 * fields path, pid, camid and those `kinds` needs, of the right types and shapes, D (and
 * K) the same in every field. Errors name the field: "missing field 'fg' (needed by ...)". */
int drop_embedding_reader_open(struct drop_embedding_reader *er, const char *path, unsigned kinds);
/* Read up to `max` records and append them to s (grown as needed; s must be empty or hold
 * records of the same reader). Returns the number appended, 0 at the end of the stream,
 * -1 on error (truncated data, non-finite value: "record 12 ('a.jpg'): non-finite value
 * in 'fg'"). */
long drop_embedding_reader_read(struct drop_embedding_reader *er, struct drop_embedding_set *s, size_t max);
/* Pass over up to `max` records without reading them where the stream is a regular file
 * (drop_npy_reader_skip): the number passed, 0 at the end, -1 on error. Their values are
 * not checked. */
long drop_embedding_reader_skip(struct drop_embedding_reader *er, size_t max);
void drop_embedding_reader_close(struct drop_embedding_reader *er);
/* Give the empty set s the layout (K, D, kinds) of er's stream without reading records,
 * as drop_embedding_reader_read does on its first call. */
void drop_embedding_set_layout(struct drop_embedding_set *s, const struct drop_embedding_reader *er);

/* Read a whole stream into s (a gallery). An empty stream gives s->n = 0, not an error. */
int drop_embedding_load(const char *path, unsigned kinds, struct drop_embedding_set *s);

/* Check that queries and a gallery can be matched: same D, and same K when both hold
 * parts. The message says both: "K = 6 parts of D = 512, the gallery has K = 8 ...". */
int drop_embedding_check_compatible(const struct drop_embedding_set *q, const struct drop_embedding_set *g);

/* ---- Writing ------------------------------------------------------------------------------ */

/* One record to write; vectors are float32. */
struct drop_embedding_record {
	const char *path;
	int32_t pid, camid;
	const float *global;  /* (D,) */
	const float *fg;      /* (D,) */
	const float *parts;   /* (K, D) */
	const float *vis;     /* (K,) */
};

#define EMBEDDING_NFIELDS 7

/* The fields of the stream in order (path, pid, camid, global, fg, parts, vis) for K parts
 * of D values and paths of at most pathlen bytes (0 is taken as 1). */
void drop_embedding_fields(struct drop_npy_field fields[EMBEDDING_NFIELDS], size_t K, size_t D,
                      size_t pathlen);
/* The record header of `n` records of that layout. */
int drop_embedding_header(struct drop_npy_header *h, size_t K, size_t D, size_t pathlen, size_t n);
/* Pack e into one record of h (h->itemsize bytes at rec). Fields h lacks are skipped, so a
 * header built from a subset of drop_embedding_fields() works too. Fails if the path is longer
 * than h's 'path' field. */
int drop_embedding_pack(const struct drop_npy_header *h, const struct drop_embedding_record *e, void *rec);

/* Buffered writer: one document on a regular file, a document per block on a pipe. */
struct drop_embedding_writer {
	struct drop_npy_writer w;
	char *block;          /* (cap, itemsize) packed records */
	size_t n, cap;
};
/* Start a stream of records laid out by `h` (from drop_embedding_header, any count). */
int drop_embedding_writer_open(struct drop_embedding_writer *ew, FILE *f, const struct drop_npy_header *h);
int drop_embedding_writer_add(struct drop_embedding_writer *ew, const struct drop_embedding_record *e);
/* Write what is buffered and finish the stream (an empty document if nothing was added);
 * frees the writer, does not close f. */
int drop_embedding_writer_close(struct drop_embedding_writer *ew);

#endif
